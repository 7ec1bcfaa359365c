import { describe, expect, test } from 'vitest';
import type { ScenarioInput } from '#sandbox/scenario';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { mutatingCalls, runP0, stateOutputs, withSandbox } from '../support/p0.ts';

/**
 * P0 against ECS as AWS runs it (sandbox/ecs.ts): an asynchronous scheduler, load balancers that
 * judge targets on their own cycle, a circuit breaker, controllers that refuse a restart, and
 * events that arrive late, twice or never.
 */

const SERVICE = 'acme-axon';
const alarmInput = (extra: Record<string, unknown> = {}) => ({ service: SERVICE, trigger: { kind: 'alarm', alarmName: `${SERVICE}-unhealthy-hosts` }, ...extra });

/** A service behind an ALB whose tasks take up to 15 minutes to become healthy: (60 s start + 660 s warm-up) × up to 1.25. */
export const SLOW_ALB: ScenarioInput = {
  services: [
    {
      name: SERVICE,
      desiredCount: 2,
      healthPath: '/health',
      startSeconds: 60,
      healthCheckSeconds: 660,
      loadBalancer: { deregistrationDelaySeconds: 300 },
      healthCheckGracePeriodSeconds: 960,
    },
  ],
  faults: [{ service: SERVICE, kind: 'crash-loop' }],
  cloudTrail: [{ eventName: 'UpdateService', service: SERVICE, minutesAgo: 90 }],
};

describe('P0 waits as long as the service deserves, and no longer', () => {
  test('slow-starting service behind an ALB (up to 15 min to healthy, 300 s deregistration delay): recovers with no redeploy and no escalation', async () => {
    await withSandbox(SLOW_ALB, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.path).not.toContain('Force a new deployment');
      expect(mutatingCalls(sandbox)).toHaveLength(1);
      expect(run.output.restartStability).toMatchObject({ verdict: 'stable', targets: { healthy: 2, total: 2 } });
      // The wait was sized from the service: grace period 960 s → no-progress bound 1,440 s.
      expect(run.output.restart.wait).toMatchObject({ stallSeconds: 1440, basis: { healthCheckGracePeriodSeconds: 960, deregistrationDelaySeconds: 300 } });
      expect(run.path.length).toBeLessThanOrEqual(30);
      const after = sandbox.fleet.snapshot(SERVICE)!;
      expect(after).toMatchObject({ desiredCount: 2, runningCount: 2, healthyCount: 2, targets: { healthy: 2 } });
      expect(after.deployments).toHaveLength(1);
    });
  });

  test('a deployment the circuit breaker fails is given up on within 2 minutes of the verdict; the fail-safe escalates', async () => {
    const scenario: ScenarioInput = {
      services: [{ name: SERVICE, desiredCount: 2, circuitBreaker: { enable: true, rollback: false } }],
      faults: [{ service: SERVICE, kind: 'bad-image' }],
    };
    await withSandbox(scenario, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('IncidentEscalated');
      const verdicts = eventBridgeOf(sandbox).ecsDeliveries.filter((d) => d.eventName === 'SERVICE_DEPLOYMENT_FAILED');
      expect(verdicts).toHaveLength(2);
      const givenUp = [
        stateOutputs(run, 'Wait until the restart is stable').at(-1)!.restartStability,
        stateOutputs(run, 'Wait until the redeployment is stable').at(-1)!.redeployStability,
      ];
      expect(givenUp[0]).toMatchObject({ verdict: 'failed' });
      expect(givenUp[0].reason).toMatch(/circuit breaker: tasks failed to start/);
      expect(givenUp[1]).toMatchObject({ verdict: 'failed' });
      // Each verdict noticed well within 2 minutes of ECS's.
      for (const [i, wait] of givenUp.entries()) {
        const verdictAt = Date.parse(verdicts[i]!.at);
        expect(Date.parse(wait.checkedAt) - verdictAt).toBeLessThan(120_000);
      }
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
    });
  });

  test('a CODE_DEPLOY service is handed to people with a clear reason, and nothing is changed', async () => {
    const scenario: ScenarioInput = { services: [{ name: SERVICE, deploymentController: 'CODE_DEPLOY' }], faults: [{ service: SERVICE, kind: 'crash-loop' }] };
    await withSandbox(scenario, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('IncidentEscalated');
      expect(run.cause).toMatch(/CODE_DEPLOY or EXTERNAL deployment controller.*Nothing was changed/);
      expect(run.path.at(-1)).toBe('Hand over: the deployment controller refuses a restart');
      expect(run.path).not.toContain('Restart the service');
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('RUNNING tasks whose ALB targets are unhealthy are not "recovered"', async () => {
    const scenario: ScenarioInput = {
      services: [{ name: SERVICE, desiredCount: 2, loadBalancer: true, healthCheckGracePeriodSeconds: 3600, containerHealthCheck: false }],
      faults: [{ service: SERVICE, kind: 'failing-health-check', survivesRestarts: 'always' }],
    };
    await withSandbox(scenario, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('FAILED');
      expect(run.output.outcome).toBeUndefined();
      expect(run.path).not.toContain('Record: recovered');
      const snapshot = sandbox.fleet.snapshot(SERVICE)!;
      // What services-stable alone would have accepted: one deployment, 2/2 RUNNING.
      expect(snapshot).toMatchObject({ runningCount: 2, healthyCount: 0 });
      expect(snapshot.desiredCount).toBe(2);
    });
  });

  test('the runbook\'s scale-to-zero restart waits until every task has stopped before scaling back, and recovers', async () => {
    // Tasks that run but fail their container health check: some are always RUNNING, so the scale-in has work to do.
    await withSandbox({ faults: [{ service: SERVICE, kind: 'failing-health-check' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput({ restartMode: 'scale-to-zero' }));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.output.scaleInStability).toMatchObject({ verdict: 'stable', runningCount: 0, desiredCount: 0 });
      const calls = mutatingCalls(sandbox);
      expect(calls.map((c) => c.params.desiredCount)).toEqual([0, 2]);
      // The scale back came only after the scale-in was seen complete.
      const [scaleIn, scaleOut] = sandbox.trail.mutatingEvents();
      expect(scaleOut!.eventTime.getTime() - scaleIn!.eventTime.getTime()).toBeGreaterThan(5_000);
      expect(sandbox.fleet.snapshot(SERVICE)).toMatchObject({ desiredCount: 2, runningCount: 2, healthyCount: 2 });
    });
  });
});

describe('events arrive late, twice, or never: the wait still ends right', () => {
  test('every ECS event lost: the safety-net poll notices the recovery within one cadence', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, { events: 'ecs', kind: 'lose', rate: 1 }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.restartStability).toMatchObject({ verdict: 'stable', noticedBy: 'poll' });
      expect(eventBridgeOf(sandbox).ecsDeliveries.filter((d) => d.fate === 'delivered')).toEqual([]);
      const steadyAt = sandbox.fleet.steadySince(SERVICE)!;
      expect(Date.parse(run.output.restartStability.checkedAt) - steadyAt).toBeLessThanOrEqual(run.output.restart.wait.checkEverySeconds * 1000);
    });
  });

  test('every ECS event delivered twice: one release, the duplicate finds nothing to release', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, { events: 'ecs', kind: 'duplicate', rate: 1 }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.restartStability.noticedBy).toBe('event');
      const released = eventBridgeOf(sandbox).ecsDeliveries.reduce((n, d) => n + (d.result?.outcome === 'handled' ? d.result.released : 0), 0);
      expect(released).toBe(1);
    });
  });

  test('every ECS event 10 minutes late: the poll ends the wait; the late events release nothing', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, { events: 'ecs', kind: 'delay', rate: 1, delaySeconds: 600 }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.restartStability.noticedBy).toBe('poll');
      const late = eventBridgeOf(sandbox).ecsDeliveries.filter((d) => d.fate === 'delivered');
      expect(late.every((d) => d.result?.outcome !== 'handled' || d.result.released === 0)).toBe(true);
    });
  });
});
