import { ListTasksCommand, type Service } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import type { ScenarioInput } from '#sandbox/scenario';
import { AXON, bootFleet, buildFleet, caught } from '../support/fleet.ts';

/**
 * The ECS behaviours the workflows rely on, as AWS documents them — each one a way the sandbox
 * must be no kinder than AWS (sandbox/ecs.ts cites the documents).
 */

/** `aws ecs wait services-stable`'s success condition (botocore waiters-2.json, ServicesStable). */
const waiterStable = (svc: Service) => svc.deployments!.length === 1 && svc.runningCount === svc.desiredCount;

const behindAlb = (extra: Partial<NonNullable<ScenarioInput['services']>[number]> = {}): ScenarioInput => ({
  services: [{ name: AXON, desiredCount: 2, loadBalancer: true, healthCheckGracePeriodSeconds: 60, ...extra }],
});

describe('the ECS scheduler acts after UpdateService returns, on its own cadence', () => {
  it('desired 0 then 2 in the same second stops no task: the two updates collapse', async () => {
    const sb = await bootFleet();
    const before = (await sb.ecs.send(new ListTasksCommand({ cluster: 'acme-cluster', serviceName: AXON }))).taskArns!;
    await sb.update({ desiredCount: 0 });
    await sb.update({ desiredCount: 2 });
    sb.clock.advance(60);
    const after = (await sb.ecs.send(new ListTasksCommand({ cluster: 'acme-cluster', serviceName: AXON }))).taskArns!;
    expect(after.sort()).toEqual([...before].sort());
    expect(await sb.stoppedTasks()).toEqual([]);
  });

  it('a collapsed scale-to-zero leaves a crash loop running; one the scheduler saw at 0 clears it', async () => {
    const sb = await bootFleet({ faults: [{ service: AXON, kind: 'crash-loop' }] });
    sb.clock.advance(120);
    await sb.update({ desiredCount: 0 });
    await sb.update({ desiredCount: 2 });
    expect(await sb.settle(120)).toBeUndefined();
    await sb.update({ desiredCount: 0 });
    sb.clock.advance(20);
    expect((await sb.describe()).runningCount).toBe(0);
    await sb.update({ desiredCount: 2 });
    expect(await sb.settle(120)).toBeDefined();
  });

  it('the answer to UpdateService lists the new deployment at once, with no task started yet', async () => {
    const sb = await bootFleet();
    const { service } = await sb.update({ forceNewDeployment: true });
    expect(service!.deployments![0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 0 });
    expect(service!.deployments![0]!.rolloutStateReason).toBe(`ECS deployment ${service!.deployments![0]!.id} in progress.`);
    sb.clock.advance(4);
    expect((await sb.describe()).deployments![0]!.pendingCount).toBe(2);
  });
});

describe('behind an Application Load Balancer', () => {
  it('old tasks drain for the 300 s deregistration delay: two deployments listed, services-stable false meanwhile', async () => {
    const sb = await bootFleet(behindAlb());
    expect((await sb.describe()).loadBalancers![0]!.targetGroupArn).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/acme-axon-tg\/[0-9a-f]{16}$/);
    const updatedAt = sb.clock.nowMs();
    await sb.update({ forceNewDeployment: true });
    // New targets: 20 s start, 10 s warm-up, then one passing check (registration 5 s + 30 s interval).
    sb.clock.advance(120);
    let svc = await sb.describe();
    expect(svc.deployments).toHaveLength(2);
    expect(waiterStable(svc)).toBe(false);
    const targets = sb.fleet.targetHealth(svc.loadBalancers![0]!.targetGroupArn!)!;
    expect(targets.filter((t) => t.state === 'healthy')).toHaveLength(2);
    expect(targets.filter((t) => t.state === 'draining')).toEqual([
      expect.objectContaining({ reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' }),
      expect.objectContaining({ reason: 'Target.DeregistrationInProgress' }),
    ]);
    const stable = await sb.settle(600);
    svc = await sb.describe();
    expect(waiterStable(svc)).toBe(true);
    expect(svc.deployments![0]!.rolloutState).toBe('COMPLETED');
    // Not before the old targets' 300 s of draining, which began once the new tasks were healthy.
    expect(sb.clock.nowMs() - updatedAt).toBeGreaterThan(300_000);
    expect(stable).toBeDefined();
    const messages = svc.events!.map((e) => e.message!);
    expect(messages.some((m) => /^\(service acme-axon\) registered 2 targets in \(target-group arn:aws:elasticloadbalancing:[^)]+\)$/.test(m))).toBe(true);
    expect(messages.some((m) => /^\(service acme-axon, taskSet ecs-svc\/\d{19}\) has begun draining connections on 2 tasks\.$/.test(m))).toBe(true);
  });

  it('new tasks RUNNING but failing their target health checks are not counted healthy, and are kept during the grace period', async () => {
    const sb = await bootFleet({
      ...behindAlb({ healthCheckGracePeriodSeconds: 900, containerHealthCheck: false }),
      faults: [{ service: AXON, kind: 'failing-health-check', survivesRestarts: 'always' }],
    });
    await sb.update({ forceNewDeployment: true });
    sb.clock.advance(300);
    const svc = await sb.describe();
    const fresh = svc.deployments![0]!;
    expect(fresh).toMatchObject({ runningCount: 2, rolloutState: 'IN_PROGRESS' });
    const targets = sb.fleet.targetHealth(svc.loadBalancers![0]!.targetGroupArn!)!.filter((t) => t.state !== 'draining');
    expect(targets.map((t) => [t.state, t.reason])).toEqual([
      ['unhealthy', 'Target.ResponseCodeMismatch'],
      ['unhealthy', 'Target.ResponseCodeMismatch'],
    ]);
    expect(sb.fleet.snapshot(AXON)!.healthyCount).toBe(0);
    expect((await sb.stoppedTasks()).filter((t) => t.startedBy === fresh.id)).toEqual([]);
  });

  it('after the grace period ECS stops tasks that fail ELB health checks, with AWS\'s stop reason', async () => {
    const sb = await bootFleet({ ...behindAlb({ healthCheckGracePeriodSeconds: 30, containerHealthCheck: false }), faults: [{ service: AXON, kind: 'failing-health-check' }] });
    sb.clock.advance(200);
    const stopped = await sb.stoppedTasks();
    const svc = await sb.describe();
    const arn = svc.loadBalancers![0]!.targetGroupArn!;
    expect(stopped.length + (svc.deployments![0]!.runningCount! < 2 ? 1 : 0)).toBeGreaterThan(0);
    const all = [...stopped];
    expect(all.every((t) => t.stopCode === 'ServiceSchedulerInitiated' && t.stoppedReason === `Task failed ELB health checks in (target-group ${arn})`)).toBe(true);
    expect(svc.events!.some((e) => e.message!.includes(`is unhealthy in (target-group ${arn}) due to (reason Health checks failed`))).toBe(true);
  });

  it('a warm-up longer than the grace period gets tasks killed over and over: never stable', async () => {
    const sb = await bootFleet(behindAlb({ healthCheckSeconds: 300, healthCheckGracePeriodSeconds: 60 }));
    await sb.update({ forceNewDeployment: true });
    expect(await sb.settle(900, 30)).toBeUndefined();
    expect((await sb.stoppedTasks()).some((t) => t.stoppedReason?.startsWith('Task failed ELB health checks'))).toBe(true);
  });
});

describe('the deployment circuit breaker', () => {
  const badImage = (rollback: boolean): ScenarioInput => ({
    services: [{ name: AXON, desiredCount: 2, circuitBreaker: { enable: true, rollback } }],
    // The image the forced deployment pulls is broken; the circuit breaker's rollback (a second restart) clears it.
    faults: [{ service: AXON, kind: 'bad-image', survivesRestarts: 1 }],
  });

  it('without rollback: the deployment turns FAILED after 3 failed tasks and launches nothing more', async () => {
    const sb = await bootFleet(badImage(false));
    await sb.update({ forceNewDeployment: true });
    sb.clock.advance(600);
    const svc = await sb.describe();
    const failed = svc.deployments![0]!;
    expect(failed).toMatchObject({ status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' });
    // Tasks launch two at a time: the verdict comes at the third failure, a fourth may already be pulling.
    expect(failed.failedTasks).toBeGreaterThanOrEqual(3);
    expect(svc.events!.some((e) => e.message === `(service ${AXON}) (deployment ${failed.id}) deployment failed: tasks failed to start.`)).toBe(true);
    const failures = (await sb.stoppedTasks()).filter((t) => t.stopCode === 'TaskFailedToStart' && t.startedBy === failed.id);
    expect(failures.length).toBeLessThanOrEqual(4);
    sb.clock.advance(600);
    expect((await sb.stoppedTasks()).filter((t) => t.startedBy === failed.id)).toHaveLength(failures.length);
    const verdict = sb.events.find((e) => e.detail.eventName === 'SERVICE_DEPLOYMENT_FAILED')!;
    expect(verdict).toMatchObject({ detailType: 'ECS Deployment State Change', detail: { eventType: 'ERROR', deploymentId: failed.id } });
  });

  it('with rollback: a new deployment of the last completed revision takes over and completes', async () => {
    const sb = await bootFleet(badImage(true));
    const before = (await sb.describe()).deployments![0]!;
    await sb.update({ forceNewDeployment: true });
    sb.clock.advance(600);
    const svc = await sb.describe();
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments![0]).toMatchObject({ rolloutState: 'COMPLETED', taskDefinition: before.taskDefinition });
    const names = sb.events.filter((e) => e.detailType === 'ECS Deployment State Change').map((e) => e.detail.eventName);
    expect(names).toEqual(['SERVICE_DEPLOYMENT_IN_PROGRESS', 'SERVICE_DEPLOYMENT_FAILED', 'SERVICE_DEPLOYMENT_IN_PROGRESS', 'SERVICE_DEPLOYMENT_COMPLETED']);
    const rollback = sb.events.filter((e) => e.detail.eventName === 'SERVICE_DEPLOYMENT_IN_PROGRESS')[1]!;
    expect(rollback.detail.reason).toBe(`ECS deployment circuit breaker: rolling back to deploymentId ${before.id}.`);
  });
});

describe('deployment controllers', () => {
  it('a CODE_DEPLOY service refuses a forced deployment and a new task definition, with AWS\'s messages; the desired count still changes', async () => {
    const sb = await bootFleet({ services: [{ name: AXON, deploymentController: 'CODE_DEPLOY' }] });
    const force = await caught(sb.update({ forceNewDeployment: true }));
    expect(force.name).toBe('InvalidParameterException');
    expect(force.message).toBe('Cannot force a new deployment on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.');
    const td = await caught(sb.update({ taskDefinition: 'acme-axon:1' }));
    expect(td.message).toBe('Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.');
    const { service } = await sb.update({ desiredCount: 3 });
    expect(service).toMatchObject({ desiredCount: 3, deploymentController: { type: 'CODE_DEPLOY' } });
    expect(sb.trail.mutatingEvents()).toHaveLength(1);
  });
});

describe('events to EventBridge, on the clock', () => {
  it('a forced deployment sends IN_PROGRESS, COMPLETED and SERVICE_STEADY_STATE when they happen, with nobody calling the API', async () => {
    const { clock, fleet, events } = buildFleet({});
    const start = clock.nowMs();
    fleet.handle('UpdateService', { cluster: 'acme-cluster', service: AXON, forceNewDeployment: true });
    // Only a clock participant sleeping moves time; the fleet's own stops fire on the way.
    clock.enter();
    await clock.sleep(120);
    clock.leave();
    const kinds = events.filter((e) => e.detailType !== 'ECS Task State Change').map((e) => String(e.detail.eventName));
    expect(kinds).toEqual(['SERVICE_DEPLOYMENT_IN_PROGRESS', 'SERVICE_DEPLOYMENT_COMPLETED', 'SERVICE_STEADY_STATE']);
    const steady = events.find((e) => e.detail.eventName === 'SERVICE_STEADY_STATE')!;
    expect(steady.at).toBe(fleet.steadySince(AXON));
    expect(steady.at - start).toBeGreaterThan(30_000);
    const tasks = events.filter((e) => e.detailType === 'ECS Task State Change');
    expect(tasks.map((e) => e.detail.lastStatus)).toEqual(expect.arrayContaining(['PROVISIONING', 'PENDING', 'RUNNING', 'DEACTIVATING', 'STOPPED']));
    expect(tasks.every((e) => typeof e.detail.version === 'number' && typeof e.detail.updatedAt === 'string')).toBe(true);
  });

  it('an idle sandbox keeps its time: queued task steps do not move the clock by themselves', async () => {
    const { clock, fleet } = buildFleet({ faults: [{ service: AXON, kind: 'crash-loop' }] });
    const start = clock.nowMs();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(clock.nowMs()).toBe(start);
    expect(fleet.snapshot(AXON)!.runningCount).toBe(2);
  });
});
