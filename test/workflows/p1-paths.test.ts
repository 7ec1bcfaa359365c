import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { documentClient } from '#commons/clients';
import { IncidentStore } from '#commons/incidents';
import { RestorePoints } from '#safety/restore-points';
import { ScaleBacks } from '#safety/scale-backs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { describe, expect, test } from 'vitest';
import { finished, mutatingCalls, runWorkflow, stateOutputs, withSandbox } from '../support/p0.ts';
import type { Sandbox } from '../../sandbox/index.ts';

const SERVICE = 'acme-axon';
const P1 = 'p1-degraded';

async function desiredOf(sandbox: Sandbox, service = SERVICE): Promise<{ desired: number; running: number }> {
  const ecs = new ECSClient(sandbox.clientOptions());
  const s = (await ecs.send(new DescribeServicesCommand({ cluster: sandbox.scenario.cluster, services: [service] }))).services![0]!;
  return { desired: s.desiredCount ?? -1, running: s.runningCount ?? -1 };
}

describe('P1 "Degraded Performance" paths', () => {
  test('CPU under the threshold: no action, the figures in the output, nothing changed', async () => {
    await withSandbox({}, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE });
      expect(run).toMatchObject({ status: 'SUCCEEDED', path: ['Check metrics', 'Is the service saturated?', 'Record: no action needed', 'Load is normal: no action'] });
      expect(run.output.outcome).toBe('no-action');
      expect(run.output.assessment.verdict).toBe('normal');
      expect(run.output.load.cpu.recent).toBeLessThan(70);
      expect(run.output.load.cpu.datapoints).toBeGreaterThan(5);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('CPU saturated: scales 2 → 4 as the runbook does, waits until stable, sees the load fall, recovered', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.path).toContain('Scale the service out');
      expect(run.path).toContain('Monitor recovery');
      expect(run.output.plan).toMatchObject({ from: 2, to: 4, via: 'desired' });
      expect(await desiredOf(sandbox)).toEqual({ desired: 4, running: 4 });
      expect(mutatingCalls(sandbox)).toEqual([{ eventName: 'UpdateService', params: expect.objectContaining({ desiredCount: 4 }) }]);
      const last = stateOutputs(run, 'Monitor recovery').at(-1)!;
      expect(last.recovery.recovered).toBe(true);
      expect(last.recovery.load.cpu.recent).toBeLessThan(70);
    });
  });

  test('capped at the policy\'s maximum given in the start input: 2 → 3, never more', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE, scaling: { maxCount: 3 } });
      expect(run.output.plan).toMatchObject({ from: 2, to: 3, maxCount: 3, cappedBy: 'start input' });
      expect((await desiredOf(sandbox)).desired).toBe(3);
    });
  });

  test('a maximum below the current count is refused at the first state, naming the field; nothing changed', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation' }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE, scaling: { maxCount: 1 } });
      expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError', path: ['Check metrics'] });
      expect(run.message).toMatch(/field "scaling\.maxCount": 1 is below acme-axon's current desired count 2/);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test.each([
    ['a negative threshold', { thresholdPercent: -5 }, /scaling\.thresholdPercent/],
    ['an absurd desired count', { desiredCount: 100000 }, /scaling\.desiredCount/],
    ['a threshold of the wrong type', { thresholdPercent: 'high' }, /scaling\.thresholdPercent/],
    ['a misspelt field', { maxCnt: 4 }, /maxCnt/],
  ])('bad input — %s — is refused at the first state and changes nothing', async (_name, scaling, field) => {
    await withSandbox({}, async (sandbox) => {
      const run = await runWorkflow(sandbox, P1, { service: SERVICE, scaling });
      expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError', path: ['Check metrics'] });
      expect(run.message).toMatch(field);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('autoscaling manages the service: P1 raises the scalable target\'s minimum 2 → 4 instead of fighting it with UpdateService, and the scaler scales out', async () => {
    await withSandbox({ services: [{ name: SERVICE, autoScaling: { minCapacity: 2, maxCapacity: 6 } }, { name: 'acme-orbit' }], faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE });
      expect(run.output).toMatchObject({ outcome: 'recovered', plan: { from: 2, to: 4, via: 'autoscaling-minimum' } });
      const aas = new ApplicationAutoScalingClient(sandbox.clientOptions());
      const target = (await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [`service/${sandbox.scenario.cluster}/${SERVICE}`] }))).ScalableTargets![0]!;
      expect({ min: target.MinCapacity, max: target.MaxCapacity }).toEqual({ min: 4, max: 6 });
      expect(await desiredOf(sandbox)).toEqual({ desired: 4, running: 4 });
      // P1 itself never called UpdateService: the scaler did.
      expect(sandbox.calls.filter((c) => c.operation === 'UpdateService')).toEqual([]);
    });
  });

  test('capped by the autoscaling maximum: a target whose maximum is 3 is scaled 2 → 3', async () => {
    await withSandbox({ services: [{ name: SERVICE, autoScaling: { minCapacity: 2, maxCapacity: 3 } }, { name: 'acme-orbit' }], faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE });
      expect(run.output.plan).toMatchObject({ from: 2, to: 3, maxCount: 3, cappedBy: 'autoscaling maximum' });
      expect((await desiredOf(sandbox)).desired).toBe(3);
    });
  });

  test('a step larger than the policy allows alone waits for a person; nobody answers: fails closed, nothing changed', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      // 2 → 8 adds six tasks, over approvalAboveStep (4).
      const run = await runWorkflow(sandbox, P1, { service: SERVICE, scaling: { desiredCount: 8 } });
      expect(run).toMatchObject({ status: 'FAILED', error: 'IncidentEscalated' });
      expect(run.path).toEqual(expect.arrayContaining(['Does the scale-out need approval?', 'Ask the on-call engineer to approve the scale-out', 'Ask the VP engineering to approve the scale-out']));
      expect(run.path.at(-1)).toBe('Escalate: nobody approved the scale-out');
      expect(mutatingCalls(sandbox)).toEqual([]);
      expect((await desiredOf(sandbox)).desired).toBe(2);
    });
  });

  test('a scale-out step retried after its first try applied changes nothing more and keeps the count to come back to', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const { incident } = (await sandbox.sfn.invokeFunction('assess-load', { service: SERVICE })) as { incident: unknown };
      const execution = 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p1-degraded:retried';
      const first = (await sandbox.sfn.invokeFunction('scale-out', { incident, to: 4, execution })) as { scaledFrom: number; changes: unknown[] };
      const again = (await sandbox.sfn.invokeFunction('scale-out', { incident, to: 4, execution })) as { scaledFrom: number; changes: unknown[] };
      expect(first).toMatchObject({ scaledFrom: 2, changes: [expect.objectContaining({ desiredCount: 4 })] });
      expect(again).toMatchObject({ scaledFrom: 2, changes: [] });
      expect(mutatingCalls(sandbox)).toHaveLength(1);
      const points = new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
      expect((await points.get(sandbox.scenario.cluster, SERVICE))?.desiredCount).toBe(2);
    });
  });

  test('a service already at its maximum is never scaled further: escalated to people, nothing changed', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE, scaling: { maxCount: 2 } });
      expect(run).toMatchObject({ status: 'FAILED', error: 'IncidentEscalated' });
      expect(run.path.at(-1)).toBe('Escalate: already at its maximum');
      expect(mutatingCalls(sandbox)).toEqual([]);
      expect((await desiredOf(sandbox)).desired).toBe(2);
    });
  });

  test('not recovered in time: the same incident becomes a P0, which takes over', async () => {
    // Ten times the work: 4 tasks are still at 100 % CPU.
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 10 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const eventBridge = eventBridgeOf(sandbox);
      const opened = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-p1-cpu-high` });
      expect(opened).toMatchObject({ outcome: 'started' });
      const sfn = new SFNClient(sandbox.clientOptions());
      const run = await finished(sandbox, sfn, (opened as { executionArn: string }).executionArn);
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('escalated-to-p0');
      expect(run.output.escalation).toMatchObject({ escalated: true, outcome: 'escalated', incidentId: (opened as { incidentId: string }).incidentId });
      expect(run.path).toContain('Escalate the incident to P0');
      expect(run.output.recovery.expired).toBe(true);
      // The P0 of the same incident runs next (its restart cannot fix load, so it ends as P0 does).
      const p0 = await finished(sandbox, sfn, run.output.escalation.executionArn);
      expect(run.output.escalation.executionArn).toMatch(/--p0$/);
      expect(['SUCCEEDED', 'FAILED']).toContain(p0.status);
      await eventBridge.settled();
      const incident = await eventBridge.incident((opened as { incidentId: string }).incidentId);
      expect(incident?.severity).toBe('P0');
      expect(incident?.timeline.some((e) => e.kind === 'escalated' && /P1 → P0/.test(e.what))).toBe(true);
      // Never below the original count, whatever P0 did.
      expect((await desiredOf(sandbox)).desired).toBeGreaterThanOrEqual(2);
    });
  });

  test('the escalation step retried after its P0 started (its answer lost): the same P0, no second one, no page', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 10 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const eventBridge = eventBridgeOf(sandbox);
      const opened = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-p1-cpu-high` });
      const p1Arn = (opened as { executionArn: string }).executionArn;
      const run = await finished(sandbox, new SFNClient(sandbox.clientOptions()), p1Arn);
      expect(run.output.outcome).toBe('escalated-to-p0');
      const input = stateOutputs(run, 'Escalate the incident to P0')[0]!;
      const again = (await sandbox.sfn.invokeFunction('escalate-incident', { incident: input.incident, execution: p1Arn, at: input.assessment.checkedAt, reason: 'retried' })) as { escalated: boolean; executionArn?: string };
      expect(again).toMatchObject({ escalated: true, executionArn: run.output.escalation.executionArn });
      const p0s = sandbox.sfn.listExecutionRecords().filter((e) => e.name.endsWith('--p0'));
      expect(p0s).toHaveLength(1);
    });
  });

  test('started from the console, not recovered: its own incident becomes a P0, which takes over', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 10 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const run = await runWorkflow(sandbox, P1, { service: SERVICE, trigger: { kind: 'manual', by: 'jane' } }, 'jane-cpu-incident');
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('escalated-to-p0');
      expect(run.output.escalation).toMatchObject({ escalated: true, incidentId: 'jane-cpu-incident' });
      const p0 = await finished(sandbox, new SFNClient(sandbox.clientOptions()), run.output.escalation.executionArn);
      expect(run.output.escalation.executionArn).toMatch(/:jane-cpu-incident--p0$/);
      expect(p0.path[0]).toBe('Assess impact');
      expect((await desiredOf(sandbox)).desired).toBeGreaterThanOrEqual(2);
    });
  });
});

describe('P1 scale-back after the quiet period (the reconciler)', () => {
  test('the load gone for the quiet period: the reconciler puts the desired count back 4 → 2, once', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5, durationSeconds: 1800 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const eventBridge = eventBridgeOf(sandbox);
      const opened = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-p1-cpu-high` });
      const run = await finished(sandbox, new SFNClient(sandbox.clientOptions()), (opened as { executionArn: string }).executionArn);
      expect(run.output.outcome).toBe('recovered');
      await eventBridge.settled();
      expect((await desiredOf(sandbox)).desired).toBe(4);
      // An hour on (the load ended after 30 min): the quiet period (2 h) has not passed — still 4.
      sandbox.playOut(3600);
      expect((await eventBridge.runReconciler()).scaleBacks).toEqual({ checked: 1, scaledBack: 0 });
      expect((await desiredOf(sandbox)).desired).toBe(4);
      // Past it, the load long gone: back to 2 — by the scheduled runs or this one, exactly once.
      sandbox.playOut(2 * 3600);
      await eventBridge.runReconciler();
      await eventBridge.settled();
      expect((await desiredOf(sandbox)).desired).toBe(2);
      expect(eventBridge.reconciliations.reduce((n, r) => n + r.scaleBacks.scaledBack, 0)).toBe(1);
      expect((await eventBridge.runReconciler()).scaleBacks).toEqual({ checked: 0, scaledBack: 0 });
      const incident = await eventBridge.incident((opened as { incidentId: string }).incidentId);
      expect(incident?.timeline.some((e) => /scaled back 4 → 2/.test(e.what))).toBe(true);
    });
  });

  test('UpdateService throttled when the time comes: the scale-back is not lost, a later run gives the capacity back', async () => {
    // P1's own UpdateService goes through; the reconciler's first try is throttled through every SDK retry.
    const throttle = { api: 'ecs' as const, kind: 'throttle' as const, rate: 1, operations: ['UpdateService'], afterCalls: 1, maxFailures: 3 };
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5, durationSeconds: 1800 }, throttle] }, async (sandbox) => {
      sandbox.playOut(600);
      const eventBridge = eventBridgeOf(sandbox);
      const opened = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-p1-cpu-high` });
      await finished(sandbox, new SFNClient(sandbox.clientOptions()), (opened as { executionArn: string }).executionArn);
      await eventBridge.settled();
      expect((await desiredOf(sandbox)).desired).toBe(4);
      sandbox.playOut(3 * 3600);
      const scaleBacks = new ScaleBacks(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
      // Runs (scheduled or called) until one gets through; the SDK's own retries back off in real time.
      const errors: string[] = [];
      for (let i = 0; i < 20 && (await desiredOf(sandbox)).desired !== 2; i++) {
        await eventBridge.runReconciler().catch((err: Error) => errors.push(err.message));
        await eventBridge.settled();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      // The throttled run failed loudly (the Lambda's errors metric sees it) and kept the point.
      expect([...errors, ...eventBridge.failures.map((f) => f.error)].join(' ')).toMatch(/could not be reconciled/);
      expect(sandbox.calls.filter((c) => c.operation === 'UpdateService' && c.errorCode === 'ThrottlingException').length).toBeGreaterThan(0);
      expect((await desiredOf(sandbox)).desired).toBe(2);
      expect(await scaleBacks.get(sandbox.scenario.cluster, SERVICE)).toBeUndefined();
      expect(eventBridge.reconciliations.reduce((n, r) => n + r.scaleBacks.scaledBack, 0)).toBe(1);
    });
  });

  test('never while another incident is open for the service, nor over a count someone else set', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'cpu-saturation', loadFactor: 2.5, durationSeconds: 1800 }] }, async (sandbox) => {
      sandbox.playOut(600);
      const eventBridge = eventBridgeOf(sandbox);
      const opened = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-p1-cpu-high` });
      await finished(sandbox, new SFNClient(sandbox.clientOptions()), (opened as { executionArn: string }).executionArn);
      await eventBridge.settled();
      sandbox.playOut(1800);
      // A P2 incident is open for the service (its execution holds the lock): no scale-back.
      const store = new IncidentStore(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
      await store.open({
        lock: { service: SERVICE, incidentId: 'other', severity: 'P2', severityRank: 1, openingEventId: 'e-other', expiresAt: Math.floor(sandbox.clock.nowMs() / 1000) + 5 * 3600 },
        now: sandbox.clock.now(),
        entry: { at: sandbox.clock.now().toISOString(), kind: 'alarm', what: 'test', eventId: 'e-other' },
        record: { service: SERVICE, severity: 'P2', trigger: { kind: 'manual' }, openedAt: sandbox.clock.now().toISOString() },
      });
      sandbox.playOut(3 * 3600);
      await eventBridge.runReconciler();
      await eventBridge.settled();
      expect((await desiredOf(sandbox)).desired).toBe(4);
      expect(eventBridge.reconciliations.reduce((n, r) => n + r.scaleBacks.scaledBack, 0)).toBe(0);
      // That incident closes; meanwhile a person set 5 by hand: theirs, not P1's to undo.
      await store.release(SERVICE, 'other', undefined, sandbox.clock.now());
      await new ECSClient(sandbox.clientOptions()).send(new UpdateServiceCommand({ cluster: sandbox.scenario.cluster, service: SERVICE, desiredCount: 5 }));
      expect((await eventBridge.runReconciler()).scaleBacks).toEqual({ checked: 1, scaledBack: 0 });
      expect((await desiredOf(sandbox)).desired).toBe(5);
      expect((await eventBridge.runReconciler()).scaleBacks.checked).toBe(0);
    });
  });
});

