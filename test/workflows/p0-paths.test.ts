import { describe, expect, test } from 'vitest';
import { mutatingCalls, runP0, withSandbox } from '../support/p0.ts';

const SERVICE = 'acme-axon';
const alarmInput = (extra: Record<string, unknown> = {}) => ({
  service: SERVICE,
  trigger: { kind: 'alarm', alarmName: `${SERVICE}-unhealthy-hosts` },
  ...extra,
});

describe('P0 System Down: every path through the state machine, against the sandbox', () => {
  test('healthy service: investigates, then takes no action and changes nothing', async () => {
    await withSandbox({}, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('no-action');
      expect(run.path).toContain('Inspect recent changes');
      expect(run.path).toContain('Review error logs');
      expect(run.path).not.toContain('Restart the service');
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('crash loop: one restart recovers it; the service ends 2/2 on one completed deployment', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      expect(sandbox.fleet.snapshot(SERVICE)!.runningCount).toBeLessThan(2);
      const run = await runP0(sandbox, alarmInput({ healthUrl: sandbox.healthUrl(SERVICE) }));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.output.assessment.verdict).not.toBe('healthy');
      expect(run.output.investigation.logs.count).toBeGreaterThan(0);
      expect(run.output.verification.health.status).toBe(200);
      expect(run.path).toContain('Restart the service');
      expect(run.path).not.toContain('Force a new deployment');
      const after = sandbox.fleet.snapshot(SERVICE)!;
      expect(after).toMatchObject({ desiredCount: 2, runningCount: 2 });
      expect(after.deployments).toHaveLength(1);
      expect(mutatingCalls(sandbox)).toEqual([{ eventName: 'UpdateService', params: expect.objectContaining({ forceNewDeployment: true }) }]);
    });
  });

  test('restart does not stabilise: a forced redeployment recovers it', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop', survivesRestarts: 1 }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.path).toContain('Force a new deployment');
      expect(run.output.restartStability.exhausted).toBe(true);
      expect(run.output.redeployStability.stable).toBe(true);
      expect(mutatingCalls(sandbox).map((c) => c.eventName)).toEqual(['UpdateService', 'UpdateService']);
      expect(sandbox.fleet.snapshot(SERVICE)).toMatchObject({ desiredCount: 2, runningCount: 2 });
    });
  });

  test('never stabilises: escalates through the fail-safe with the desired count where it was', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop', survivesRestarts: 'always' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput({ restartMode: 'scale-to-zero' }));
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('IncidentEscalated');
      expect(run.path.slice(-2)).toEqual(['Restore the desired count', 'Escalate to people']);
      expect(run.path).toContain('Force a new deployment');
      // The runbook's stop-then-start went through 0; the fail-safe leaves it at the recorded 2.
      expect(mutatingCalls(sandbox).some((c) => c.params.desiredCount === 0)).toBe(true);
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
      // Bounded: the two loops together stay within their time budgets.
      expect(run.simulatedSeconds).toBeLessThanOrEqual(2 * 300 + 2 * 60);
    });
  });

  test('bad image: nothing helps, escalated with the desired count intact', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'bad-image' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput());
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('IncidentEscalated');
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
    });
  });

  test('30% of ECS calls throttled: retried with backoff, still recovered', async () => {
    await withSandbox(
      { faults: [{ service: SERVICE, kind: 'crash-loop' }, { api: 'ecs', kind: 'throttle', rate: 0.3 }] },
      async (sandbox) => {
        sandbox.playOut();
        const run = await runP0(sandbox, alarmInput());
        expect(run.status).toBe('SUCCEEDED');
        expect(run.output.outcome).toBe('recovered');
        expect(sandbox.calls.filter((c) => c.errorCode === 'ThrottlingException').length).toBeGreaterThan(0);
        expect(sandbox.fleet.snapshot(SERVICE)).toMatchObject({ desiredCount: 2, runningCount: 2 });
      },
    );
  });
});

describe('P0 bad start input: fails at the first state, names the field, touches nothing', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['no service', { cluster: 'acme-cluster' }, 'InvalidInputError', /field "service" is required/],
    ['unknown cluster', { service: SERVICE, cluster: 'nope-cluster' }, 'ClusterNotFoundError', /field "cluster": no ECS cluster named "nope-cluster"/],
    ['unknown service', { service: 'acme-nope' }, 'ServiceNotManagedError', /field "service": "acme-nope" is not managed/],
    ['wrong type', { service: SERVICE, lookbackMinutes: 'sixty' }, 'InvalidInputError', /field "lookbackMinutes": expected number/],
    ['extra junk', { service: SERVICE, priority: 'P0', force: true }, 'InvalidInputError', /unknown fields "priority", "force"/],
    ['not an object', [SERVICE], 'InvalidInputError', /expected object/],
  ];
  test.each(cases)('%s', async (_name, input, error, message) => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, input);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(error);
      expect(run.message).toMatch(message);
      expect(run.path).toEqual(['Assess impact']);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });
});

describe('P0 dry run', () => {
  test('crash-looping service: reports the planned restart and makes no mutating call', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const before = sandbox.fleet.snapshot(SERVICE)!;
      const run = await runP0(sandbox, alarmInput({ dryRun: true, restartMode: 'scale-to-zero' }));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('dry-run');
      expect(run.output.restart.changes).toEqual([
        { call: 'UpdateService', cluster: 'acme-cluster', service: SERVICE, desiredCount: 0 },
        { call: 'UpdateService', cluster: 'acme-cluster', service: SERVICE, desiredCount: 2 },
      ]);
      expect(mutatingCalls(sandbox)).toEqual([]);
      expect(sandbox.fleet.snapshot(SERVICE)!.deployments.map((d) => d.id)).toEqual(before.deployments.map((d) => d.id));
    });
  });
});

describe('P0 fail-safe: no service left scaled down', () => {
  test('scale-to-zero restart fails after the scale-in: the fail-safe puts the desired count back', async () => {
    // The first UpdateService (desired 0) succeeds; the scale back up and all its retries fail
    // (3 SDK attempts × 6 workflow attempts); then the API recovers in time for the fail-safe.
    const outage = { api: 'ecs' as const, kind: 'server-error' as const, rate: 1, operations: ['UpdateService'], afterCalls: 1, maxFailures: 18 };
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, outage] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, alarmInput({ restartMode: 'scale-to-zero' }));
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('IncidentEscalated');
      expect(run.path).toEqual(expect.arrayContaining(['Restart the service', 'Restore the desired count', 'Escalate to people']));
      expect(run.path).not.toContain('Force a new deployment');
      const desiredCounts = mutatingCalls(sandbox).map((c) => c.params.desiredCount);
      expect(desiredCounts).toEqual([0, 2]);
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
    });
  });
});
