import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, test } from 'vitest';
import { documentClient, ecsClient } from '#commons/clients';
import type { Config } from '#commons/config';
import { resolveIncident } from '#commons/incident';
import { RestorePoints } from '#safety/restore-points';
import { restoreDesiredCount } from '../../handlers/restore-desired-count.ts';
import type { ScenarioInput } from '#sandbox/scenario';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import { mutatingCalls, withSandbox } from '../support/p0.ts';

const executions = (sandbox: Sandbox) => sandbox.sfn.listExecutionRecords();

/**
 * "A service is never left with fewer desired tasks than before the incident" on the endings that
 * run no Catch: StopExecution and the execution's timeout (Step Functions Developer Guide, "Error
 * handling"), and when the end's event never arrives (EventBridge delivers Step Functions status
 * changes best effort).
 */

const SERVICE = 'acme-axon';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:x';
const sandboxConfig: Config = {
  defaultCluster: 'acme-cluster',
  managedServices: [SERVICE],
  logGroupPattern: '/ecs/{service}',
  serviceSettings: {},
  expectedStartSeconds: 30,
  healthRequestTimeoutMs: 2000,
  incidentsTable: 'incident-flows-incidents',
  approvalsTable: 'incident-flows-approvals',
  watchesTable: 'incident-flows-stability-watches',
  lockSeconds: 7200,
};
// Tasks that run but fail their container health check: the scale-in has running tasks to stop (10 s drain).
const UNHEALTHY: ScenarioInput = { faults: [{ service: SERVICE, kind: 'failing-health-check' }] };

/** Starts P0 and stops it (StopExecution, through the sandbox's API) the moment it enters `state`. */
async function stopWhenEntering(sandbox: Sandbox, input: unknown, state: string): Promise<{ executionArn: string }> {
  const sfn = new SFNClient(sandbox.clientOptions());
  let executionArn = '';
  const unsubscribe = sandbox.sfn.onEvent((event, record) => {
    if (record.executionArn === executionArn && event.stateEnteredEventDetails?.name === state) {
      unsubscribe();
      sandbox.sfn.handle('StopExecution', { executionArn, error: 'Operator', cause: 'stopped by a person from the console' });
    }
  });
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn('p0-system-down'), input: JSON.stringify(input) }));
  executionArn = started.executionArn!;
  await sandbox.sfn.wait(executionArn);
  return { executionArn };
}

describe('a restart stopped mid-way is put back', () => {
  test('StopExecution while the service is scaled to zero: record-incident restores the recorded count and pages', async () => {
    await withSandbox(UNHEALTHY, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      const { executionArn } = await stopWhenEntering(sandbox, { service: SERVICE, restartMode: 'scale-to-zero' }, 'Wait until the scale-in is stable');
      expect(sandbox.sfn.execution(executionArn).status).toBe('ABORTED');
      await eventBridge.settled();
      expect(mutatingCalls(sandbox).map((c) => c.params.desiredCount)).toEqual([0, 2]);
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
      const page = sandbox.sns.published.find((p) => p.subject?.includes('desired count restored 0 -> 2'));
      expect(page).toBeDefined();
      expect(JSON.parse(page!.message)).toMatchObject({ service: SERVICE, executionArn });
    });
  });

  test('StopExecution and the end\'s event lost: the reconciler restores the count, closes the incident and pages', async () => {
    // Every execution status-change event is lost.
    await withSandbox({ ...UNHEALTHY, faults: [...UNHEALTHY.faults!, { events: 'states', kind: 'lose', rate: 1 }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      // The alarm path, so there is an incident holding the service.
      const started = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-unhealthy-hosts` });
      expect(started.outcome).toBe('started');
      const arn = started.outcome === 'started' ? started.executionArn : '';
      await new Promise<void>((resolve) => {
        const off = sandbox.sfn.onEvent((event, record) => {
          if (record.executionArn === arn && event.stateEnteredEventDetails?.name === 'Wait until the restart is stable') {
            off();
            // Someone scales the service down by hand, then stops the automation.
            void ecsClient(sandbox.clientOptions())
              .send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 0 }))
              .then(() => sandbox.sfn.handle('StopExecution', { executionArn: arn }))
              .then(() => resolve());
          }
        });
      });
      await sandbox.sfn.wait(arn);
      await eventBridge.settled();
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(0);
      expect(eventBridge.recorded).toEqual([]);
      // Five minutes on, the scheduled reconciler runs (past the grace it leaves to the end's own event).
      sandbox.clock.advance(300);
      await eventBridge.schedulesIdle();
      const done = eventBridge.reconciliations.reduce((n, r) => ({ restored: n.restored + r.restorePoints.restored, closed: n.closed + r.locks.closed }), { restored: 0, closed: 0 });
      expect(done).toEqual({ restored: 1, closed: 1 });
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
      const incident = await eventBridge.incident(started.outcome === 'started' ? started.incidentId : '');
      expect(incident).toMatchObject({ status: 'closed', outcome: 'aborted' });
      const subjects = sandbox.sns.published.map((p) => p.subject ?? '');
      expect(subjects.filter((s) => s.includes('desired count restored 0 -> 2'))).toHaveLength(1);
      expect(subjects.filter((s) => s.includes('closed by the reconciler'))).toHaveLength(1);
      // A second pass finds nothing left to do.
      expect(await eventBridge.runReconciler()).toMatchObject({ restorePoints: { checked: 0 }, locks: { checked: 0 } });
    });
  });

  test('putting the count back fails: people are paged at once, the incident is still recorded, and the reconciler restores it when ECS answers again', async () => {
    // The scale-in goes through; the next three UpdateService calls (the settlement and its SDK retries) fail.
    const outage: ScenarioInput = { faults: [...UNHEALTHY.faults!, { api: 'ecs', kind: 'server-error', rate: 1, operations: ['UpdateService'], afterCalls: 1, maxFailures: 3 }] };
    await withSandbox(outage, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      const { executionArn } = await stopWhenEntering(sandbox, { service: SERVICE, restartMode: 'scale-to-zero' }, 'Wait until the scale-in is stable');
      await eventBridge.settled();
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(0);
      const subjects = () => sandbox.sns.published.map((p) => p.subject ?? '');
      expect(subjects().filter((s) => s.includes('desired count could NOT be restored to 2 - check NOW'))).toHaveLength(1);
      const failed = JSON.parse(sandbox.sns.published.find((p) => p.subject?.includes('could NOT'))!.message) as { details: string };
      expect(failed.details).toContain(`aws ecs update-service --cluster acme-cluster --service ${SERVICE} --desired-count 2`);
      // The execution's end is recorded all the same, and its page says the count was not put back.
      expect(eventBridge.recorded.map((r) => (r.outcome === 'recorded' ? r.result : r.outcome))).toEqual(['aborted']);
      const end = sandbox.sns.published.find((p) => p.subject?.includes('people must take over'));
      expect(JSON.parse(end!.message).details).toContain('Putting the desired count back FAILED');
      // The point is still pending, its lease dropped: the next scheduled run puts the count back.
      expect(await new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents').get('acme-cluster', SERVICE)).toMatchObject({ desiredCount: 2 });
      sandbox.clock.advance(300);
      await eventBridge.schedulesIdle();
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
      expect(subjects().filter((s) => s.includes('desired count restored 0 -> 2'))).toHaveLength(1);
      expect(eventBridge.reconciliations.reduce((n, r) => n + r.restorePoints.restored, 0)).toBe(1);
      expect(executionArn).toBeTruthy();
    });
  });

  test('the fail-safe comes back to the count recorded before the change, not the assessment\'s, when autoscaling raised it in between', async () => {
    await withSandbox({}, async (sandbox) => {
      const clients = sandbox.clientOptions();
      const points = new RestorePoints(documentClient(clients), 'incident-flows-incidents');
      const ecs = ecsClient(clients);
      // Assessed at 2; autoscaling raised the service to 3; the restart recorded 3 before scaling in.
      await points.record({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 3, executionArn: EXECUTION, at: sandbox.clock.now() });
      await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 0 }));
      const incident = resolveIncident({ service: SERVICE }, { ...sandboxConfig });
      const restored = await restoreDesiredCount({ incident, desiredCount: 2 }, { ecs, clock: sandbox.clock, points, config: sandboxConfig });
      expect(restored).toMatchObject({ restored: true, from: 0, to: 3 });
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(3);
    });
  });

  test('a second execution, or a retried scale-in that reads 0, never lowers the recorded count', async () => {
    await withSandbox({}, async (sandbox) => {
      const points = new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
      const at = sandbox.clock.now();
      expect(await points.record({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 2, executionArn: EXECUTION, at })).toBe(2);
      expect(await points.record({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 0, executionArn: `${EXECUTION}-2`, at })).toBe(2);
      expect(await points.record({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 4, executionArn: `${EXECUTION}-3`, at })).toBe(4);
      await points.release('acme-cluster', SERVICE, EXECUTION);
      expect((await points.get('acme-cluster', SERVICE))?.holders).toEqual(new Set([`${EXECUTION}-2`, `${EXECUTION}-3`]));
      await points.release('acme-cluster', SERVICE, `${EXECUTION}-2`);
      await points.release('acme-cluster', SERVICE, `${EXECUTION}-3`);
      expect(await points.get('acme-cluster', SERVICE)).toBeUndefined();
    });
  });
});

describe('an incident whose end was never recorded does not lock its service out', () => {
  test('the next alarm finds the execution ended and opens a new incident at once; the reconciler records the old one', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, { events: 'states', kind: 'lose', rate: 1 }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      const first = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-unhealthy-hosts` });
      expect(first.outcome).toBe('started');
      await eventBridge.drain();
      // The execution recovered the service, but nobody heard it end: the incident is still open.
      expect(await eventBridge.incident(first.outcome === 'started' ? first.incidentId : '')).toMatchObject({ status: 'open' });
      // Past the two minutes its own end event gets to be recorded.
      sandbox.clock.advance(150);
      const next = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-5xx-rate` });
      expect(next.outcome).toBe('started');
      expect(next.outcome === 'started' && first.outcome === 'started' && next.incidentId !== first.incidentId).toBe(true);
      await eventBridge.drain();
      sandbox.clock.advance(300);
      await eventBridge.schedulesIdle();
      expect(await eventBridge.incident(first.outcome === 'started' ? first.incidentId : '')).toMatchObject({ status: 'closed', outcome: 'recovered' });
    });
  });
});

describe('an alarm that stays in ALARM is not forgotten', () => {
  test('the incident closed as recovered while its alarm never went back to OK: after the cool-down the reconciler opens a new incident', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      // The alarm goes into ALARM through CloudWatch itself, and stays there (it is never set back to OK).
      const cloudwatch = new CloudWatchClient(sandbox.clientOptions());
      await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: `${SERVICE}-unhealthy-hosts`, StateValue: 'ALARM', StateReason: 'hosts unhealthy' }));
      await eventBridge.settled();
      await eventBridge.drain();
      const first = eventBridge.recorded[0]!;
      expect(first).toMatchObject({ result: 'recovered' });
      expect(executions(sandbox)).toHaveLength(1);
      // Cool-down (300 s) over, the next scheduled reconcile looks at the alarm again.
      sandbox.clock.advance(600);
      await eventBridge.schedulesIdle();
      await eventBridge.settled();
      expect(eventBridge.reconciliations.reduce((n, r) => n + r.rechecks.reopened, 0)).toBe(1);
      expect(executions(sandbox)).toHaveLength(2);
      // The reopened incident finds the service fine again, the alarm still in ALARM: people are paged, no third incident.
      await eventBridge.drain();
      sandbox.clock.advance(600);
      await eventBridge.schedulesIdle();
      await eventBridge.settled();
      expect(executions(sandbox)).toHaveLength(2);
      expect(sandbox.sns.published.filter((p) => p.subject?.includes('stays in ALARM, the service looks healthy'))).toHaveLength(1);
    });
  });
});

describe('an alarm whose procedure could not be started is not dropped', () => {
  test('StartExecution failed on every delivery: the reconciler starts the recorded incident\'s procedure and it recovers the service', async () => {
    // Step Functions refuses the first three StartExecution calls: start-incident's one delivery (with its SDK retries) fails.
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, { api: 'sfn', kind: 'server-error', rate: 1, operations: ['StartExecution'], maxFailures: 3 }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      await expect(eventBridge.fireAlarm({ alarmName: `${SERVICE}-unhealthy-hosts` })).rejects.toThrow(/internal error/);
      expect(executions(sandbox)).toHaveLength(0);
      // Five minutes on (past the time Lambda's own retries would take), the reconciler starts it.
      sandbox.clock.advance(300);
      await eventBridge.schedulesIdle();
      expect(eventBridge.reconciliations.reduce((n, r) => n + r.locks.started, 0)).toBe(1);
      expect(executions(sandbox)).toHaveLength(1);
      await eventBridge.drain();
      expect(eventBridge.recorded.map((r) => (r.outcome === 'recorded' ? r.result : r.outcome))).toEqual(['recovered']);
      const recorded = eventBridge.recorded[0]!;
      expect(executions(sandbox)[0]!.name).toBe(`${recorded.outcome === 'recorded' ? recorded.incidentId : '?'}--p0`);
      expect(sandbox.sns.published.filter((p) => p.subject?.includes('could not be started'))).toHaveLength(0);
    });
  });

  test('Step Functions stays down: after ten minutes people are paged to take over', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, { api: 'sfn', kind: 'server-error', rate: 1, operations: ['StartExecution'] }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      await expect(eventBridge.fireAlarm({ alarmName: `${SERVICE}-unhealthy-hosts` })).rejects.toThrow(/internal error/);
      sandbox.clock.advance(300);
      await eventBridge.schedulesIdle();
      expect(sandbox.sns.published.filter((p) => p.subject?.includes('could not be started'))).toHaveLength(0);
      sandbox.clock.advance(600);
      await eventBridge.schedulesIdle();
      const pages = sandbox.sns.published.filter((p) => p.subject?.includes('its procedure could not be started - take over'));
      expect(pages.length).toBeGreaterThanOrEqual(1);
      expect(new Set(pages.map((p) => JSON.parse(p.message).dedupKey as string)).size).toBe(1);
      expect(executions(sandbox)).toHaveLength(0);
      expect(eventBridge.failures.some((f) => f.rule === 'schedule' && f.error.startsWith('ReconcileError'))).toBe(true);
    });
  });
});
