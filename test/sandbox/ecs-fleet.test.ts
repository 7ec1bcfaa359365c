import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import type { ScenarioInput } from '#sandbox/scenario';
import { AXON, CLUSTER, bootFleet, buildFleet, caught } from '../support/fleet.ts';

const GROUP = '/ecs/acme-axon';
const boot = (input: ScenarioInput = {}) => bootFleet(input);

const crashLoop = (survivesRestarts?: number | 'always'): ScenarioInput => ({
  faults: [{ service: AXON, kind: 'crash-loop', ...(survivesRestarts === undefined ? {} : { survivesRestarts }) }],
});

describe('ECS fleet simulator', () => {
  it('a healthy service reports 2/2 running, one COMPLETED deployment and a steady state', async () => {
    const sb = await boot();
    const svc = await sb.describe();
    expect(svc).toMatchObject({ serviceName: AXON, status: 'ACTIVE', desiredCount: 2, runningCount: 2, pendingCount: 0 });
    expect(svc.deployments).toHaveLength(1);
    expect(svc.deployments![0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 2 });
    expect(svc.deployments![0]!.id).toMatch(/^ecs-svc\/\d{19}$/);
    expect(svc.events![0]!.message).toBe(`(service ${AXON}) has reached a steady state.`);
    expect(svc.taskDefinition).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/acme-axon:2');
    const running = await sb.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: AXON }));
    expect(running.taskArns).toHaveLength(2);
    expect(running.taskArns![0]).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/acme-cluster\/[0-9a-f]{32}$/);
    expect(sb.fleet.isHealthy(AXON)).toBe(true);
    expect(sb.fleet.steadySince(AXON)).toBeLessThanOrEqual(sb.clock.nowMs());
  });

  it('forceNewDeployment rolls the tasks without dropping below desired healthy tasks, then completes', async () => {
    const sb = await boot();
    const before = (await sb.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: AXON }))).taskArns!;
    const updatedAt = sb.clock.nowMs();
    const { service } = await sb.update({ forceNewDeployment: true });
    expect(service!.deployments!.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    let completedAfter: number | undefined;
    for (let t = 2; t <= 90 && completedAfter === undefined; t += 2) {
      sb.clock.advance(2);
      const snap = sb.fleet.snapshot(AXON)!;
      expect(snap.healthyCount).toBeGreaterThanOrEqual(2);
      expect(snap.runningCount).toBeGreaterThanOrEqual(2);
      if (snap.deployments.length === 1 && snap.deployments[0]!.rolloutState === 'COMPLETED') completedAfter = t;
    }
    // start 20 s + health check 10 s + drain 10 s + stop 2 s, plus the scheduler's own cadence (1-3 s a pass)
    expect(completedAfter).toBeGreaterThanOrEqual(40);
    expect(completedAfter).toBeLessThanOrEqual(60);
    expect(sb.fleet.steadySince(AXON)).toBeGreaterThan(updatedAt);
    const svc = await sb.describe();
    expect(svc.events!.map((e) => e.message).slice(0, 2)).toEqual([
      `(service ${AXON}) has reached a steady state.`,
      `(service ${AXON}) (deployment ${svc.deployments![0]!.id}) deployment completed.`,
    ]);
    const stopped = await sb.stoppedTasks();
    expect(stopped.map((t) => t.taskArn).sort()).toEqual([...before].sort());
    expect(stopped.every((t) => t.stopCode === 'ServiceSchedulerInitiated' && t.lastStatus === 'STOPPED')).toBe(true);
  });

  it('a crash-looping service shows running below desired, stopped tasks and ERROR logs after 180 s', async () => {
    const sb = await boot(crashLoop());
    sb.clock.advance(180);
    const svc = await sb.describe();
    expect(svc.runningCount).toBeLessThan(2);
    // failedTasks stops counting once a deployment has run healthy tasks (ECS API Reference, Deployment).
    expect(svc.deployments![0]!.failedTasks).toBe(0);
    expect(svc.events!.some((e) => e.message!.includes('is unable to consistently start tasks successfully'))).toBe(true);
    const stopped = await sb.stoppedTasks();
    expect(stopped.length).toBeGreaterThanOrEqual(4);
    expect(stopped[0]).toMatchObject({ stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' });
    expect(stopped[0]!.containers![0]!.exitCode).toBe(1);
    const logs = await sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: 'ERROR' }));
    expect(logs.events!.length).toBeGreaterThanOrEqual(8);
    expect(logs.events!.map((e) => e.message)).toContain('ERROR Process exited with code 1');
    expect(sb.fleet.isHealthy(AXON)).toBe(false);
  });

  it('a forced deployment clears a crash loop that survives no restarts', async () => {
    const sb = await boot(crashLoop());
    sb.clock.advance(180);
    await sb.update({ forceNewDeployment: true });
    expect(await sb.settle(120)).toBeDefined();
    expect(await sb.describe()).toMatchObject({ runningCount: 2, desiredCount: 2, pendingCount: 0 });
  });

  it('a crash loop that survives one restart is cleared only by the second deployment', async () => {
    const sb = await boot(crashLoop(1));
    sb.clock.advance(180);
    await sb.update({ forceNewDeployment: true });
    expect(await sb.settle(120)).toBeUndefined();
    await sb.update({ forceNewDeployment: true });
    expect(await sb.settle(120)).toBeDefined();
  });

  it('a crash loop marked "always" survives deployments and scaling to zero', async () => {
    const sb = await boot(crashLoop('always'));
    sb.clock.advance(180);
    await sb.update({ forceNewDeployment: true });
    await sb.update({ desiredCount: 0 });
    sb.clock.advance(30);
    await sb.update({ desiredCount: 2 });
    expect(await sb.settle(300)).toBeUndefined();
  });

  it('bad-image tasks never run and stop with CannotPullContainerError', async () => {
    const sb = await boot({ faults: [{ service: AXON, kind: 'bad-image' }] });
    sb.clock.advance(20); // the tasks that were running when the fault began have exited by now
    await sb.update({ forceNewDeployment: true });
    for (let t = 0; t < 120; t += 3) {
      sb.clock.advance(3);
      expect(sb.fleet.snapshot(AXON)!.runningCount).toBe(0);
    }
    const pullFailures = (await sb.stoppedTasks()).filter((t) => t.stopCode === 'TaskFailedToStart');
    expect(pullFailures.length).toBeGreaterThanOrEqual(2);
    for (const task of pullFailures) {
      expect(task.stoppedReason).toMatch(/^CannotPullContainerError: .*manifest unknown/);
      expect(task.startedAt).toBeUndefined();
    }
  });

  it('scaling to zero stops every task and scaling back restores the desired tasks', async () => {
    const sb = await boot();
    await sb.update({ desiredCount: 0 });
    sb.clock.advance(30);
    expect(await sb.describe()).toMatchObject({ desiredCount: 0, runningCount: 0, pendingCount: 0 });
    expect((await sb.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: AXON }))).taskArns).toEqual([]);
    expect(sb.fleet.isHealthy(AXON)).toBe(false);
    await sb.update({ desiredCount: 2 });
    // The scheduler acts after the call returns, within a few seconds.
    expect(await sb.describe()).toMatchObject({ desiredCount: 2, runningCount: 0, pendingCount: 0 });
    sb.clock.advance(4);
    expect(await sb.describe()).toMatchObject({ desiredCount: 2, runningCount: 0, pendingCount: 2 });
    // 20 s start (+ up to 25% launch jitter) and a 10 s health check, from the scheduler's pass.
    const settled = await sb.settle(60);
    expect(settled).toBeGreaterThanOrEqual(30);
    expect(settled).toBeLessThanOrEqual(42);
    expect(await sb.describe()).toMatchObject({ runningCount: 2, pendingCount: 0 });
  });

  it('unknown clusters, services and task definitions and bad parameters fail with the ECS exception names', async () => {
    const sb = await boot();
    const noCluster = await caught(sb.ecs.send(new DescribeServicesCommand({ cluster: 'nope', services: [AXON] })));
    expect(noCluster.name).toBe('ClusterNotFoundException');
    expect(noCluster.message).toBe('Cluster not found.');
    const missing = await sb.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['ghost'] }));
    expect(missing.services).toEqual([]);
    expect(missing.failures).toEqual([{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/acme-cluster/ghost', reason: 'MISSING' }]);
    const noService = await caught(sb.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'ghost', desiredCount: 1 })));
    expect(noService.name).toBe('ServiceNotFoundException');
    expect((await caught(sb.update({ desiredCount: -1 }))).name).toBe('InvalidParameterException');
    expect((await caught(sb.update({ taskDefinition: 'acme-axon:99' }))).name).toBe('ClientException');
    const noImage = await caught(sb.ecs.send(new RegisterTaskDefinitionCommand({ family: 'x', containerDefinitions: [{ name: 'x' }] })));
    expect(noImage.name).toBe('ClientException');
  });

  it('a registered task definition becomes the next revision and can be rolled out', async () => {
    const sb = await boot();
    const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v3';
    const reg = await sb.ecs.send(new RegisterTaskDefinitionCommand({ family: 'acme-axon', containerDefinitions: [{ name: 'acme-axon', image }] }));
    expect(reg.taskDefinition).toMatchObject({ family: 'acme-axon', revision: 3, status: 'ACTIVE' });
    const list = await sb.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'acme-axon', sort: 'DESC' }));
    expect(list.taskDefinitionArns!.map((a) => a.split('/')[1])).toEqual(['acme-axon:3', 'acme-axon:2', 'acme-axon:1']);
    const latest = await sb.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'acme-axon' }));
    expect(latest.taskDefinition!.containerDefinitions![0]!.image).toBe(image);
    await sb.update({ taskDefinition: 'acme-axon:3' });
    expect(await sb.settle(90)).toBeDefined();
    expect((await sb.describe()).taskDefinition).toBe(reg.taskDefinition!.taskDefinitionArn);
  });

  it('CloudTrail records UpdateService at the virtual time and LookupEvents filters by name and time', async () => {
    const sb = await boot({ cloudTrail: [{ eventName: 'UpdateService', service: AXON, minutesAgo: 40 }] });
    const start = sb.clock.nowMs();
    sb.clock.advance(60);
    await sb.update({ forceNewDeployment: true });
    const lastHour = await sb.cloudtrail.send(
      new LookupEventsCommand({
        StartTime: new Date(sb.clock.nowMs() - 3600_000),
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateService' }],
      }),
    );
    expect(lastHour.Events!.map((e) => e.EventTime!.getTime())).toEqual([start + 60_000, start - 40 * 60_000]);
    const ours = lastHour.Events![0]!;
    expect(ours).toMatchObject({ EventName: 'UpdateService', EventSource: 'ecs.amazonaws.com', ReadOnly: 'false', Username: 'incident-flows' });
    expect(ours.Resources).toEqual([{ ResourceType: 'AWS::ECS::Service', ResourceName: AXON }]);
    expect(JSON.parse(ours.CloudTrailEvent!).requestParameters).toEqual({ cluster: CLUSTER, service: AXON, forceNewDeployment: true });
    const recent = await sb.cloudtrail.send(new LookupEventsCommand({ StartTime: new Date(start - 10 * 60_000) }));
    expect(recent.Events).toHaveLength(1);
    const firstPage = await sb.cloudtrail.send(new LookupEventsCommand({ MaxResults: 1 }));
    const secondPage = await sb.cloudtrail.send(new LookupEventsCommand({ MaxResults: 1, NextToken: firstPage.NextToken }));
    expect(secondPage.Events![0]!.EventTime!.getTime()).toBe(start - 40 * 60_000);
    expect(sb.trail.mutatingEvents().map((e) => e.eventName)).toEqual(['UpdateService']);
    const badKey = await caught(
      sb.cloudtrail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: 'x' }] })),
    );
    expect(badKey.name).toBe('InvalidLookupAttributesException');
  });

  it('FilterLogEvents matches terms and phrases, honours the time window, pages, and rejects unknown groups', async () => {
    const sb = await boot(crashLoop());
    const start = sb.clock.nowMs();
    sb.clock.advance(180);
    const filter = (input: Omit<ConstructorParameters<typeof FilterLogEventsCommand>[0], 'logGroupName'>) =>
      sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: GROUP, ...input }));
    const errors = (await filter({ filterPattern: 'ERROR', startTime: start })).events!;
    expect(errors.every((e) => e.message!.includes('ERROR') && e.logStreamName!.startsWith('ecs/acme-axon/'))).toBe(true);
    const exits = (await filter({ filterPattern: '"Process exited"', startTime: start })).events!;
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.length).toBeLessThan(errors.length);
    expect((await filter({ filterPattern: 'ERROR exited', startTime: start })).events).toHaveLength(exits.length);
    expect((await filter({ filterPattern: 'error', startTime: start })).events).toEqual([]);
    expect((await filter({ filterPattern: 'ERROR', startTime: start, endTime: start + 5_000 })).events).toEqual([]);
    const page1 = await filter({ filterPattern: 'ERROR', startTime: start, limit: 3 });
    const page2 = await filter({ filterPattern: 'ERROR', startTime: start, limit: 3, nextToken: page1.nextToken });
    expect([...page1.events!, ...page2.events!].map((e) => e.eventId)).toEqual(errors.slice(0, 6).map((e) => e.eventId));
    const unknown = await caught(sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: '/ecs/ghost' })));
    expect(unknown.name).toBe('ResourceNotFoundException');
  });

  it('replays identically for the same seed and plays a six-hour lead quickly', () => {
    const a = buildFleet(crashLoop());
    const b = buildFleet(crashLoop());
    for (const f of [a, b]) f.clock.advance(180);
    expect(a.fleet.snapshot(AXON)).toEqual(b.fleet.snapshot(AXON));
    const began = performance.now();
    a.clock.advance(6 * 3600);
    const snap = a.fleet.snapshot(AXON)!;
    // A generous bound for a shared CI box; it guards against stepping time in small increments.
    expect(performance.now() - began).toBeLessThan(2000);
    expect(snap.healthyCount).toBe(0);
    expect(a.fleet.snapshot('acme-orbit')!.healthyCount).toBe(2);
  });
});
