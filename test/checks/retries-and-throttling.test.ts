import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, test } from 'vitest';
import { documentClient } from '#commons/clients';
import { IncidentStore } from '#commons/incidents';
import { silentLogger } from '#commons/logger';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { checkMetrics } from '../../handlers/check-metrics.ts';
import { healthPlanSchema } from '../../handlers/health/plan.ts';
import { incidentsToRaise } from '../../handlers/health/report.ts';
import { raiseHealthIncidents } from '../../handlers/raise-health-incidents.ts';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import { slackOf } from '../../sandbox/slack.ts';
import { withSandbox } from '../support/p0.ts';
import { runMachine } from './support.ts';

const SCHEDULED = { trigger: { kind: 'schedule' } };

function incidentDeps(sandbox: Sandbox) {
  const options = sandbox.clientOptions();
  return { store: new IncidentStore(documentClient(options), 'incident-flows-incidents'), sfn: new SFNClient(options), clock: sandbox.clock, settings: eventBridgeOf(sandbox).settings, log: silentLogger };
}

async function p0Executions(sandbox: Sandbox): Promise<string[]> {
  const sfn = new SFNClient(sandbox.clientOptions());
  const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sandbox.stateMachineArn('p0-system-down') }));
  return (out.executions ?? []).map((e) => e.name ?? '');
}

describe('the health check as AWS runs it: retried steps, overlapping runs, throttled reads', () => {
  test('"Open incidents" run again with the same input (its first answer lost) opens nothing twice, however late the retry', async () => {
    await withSandbox({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runMachine(sandbox, 'health-check', SCHEDULED);
      const [first] = run.output.incidents.incidents;
      expect(first).toMatchObject({ service: 'acme-axon', severity: 'P0', outcome: 'started' });
      // The retry comes seconds later (the house retry policy), while the P0 it opened still runs…
      sandbox.clock.advance(7);
      const soon = await raiseHealthIncidents({ toRaise: run.output.report.toRaise }, incidentDeps(sandbox));
      expect(soon.incidents).toEqual([expect.objectContaining({ service: 'acme-axon', incidentId: first.incidentId })]);
      // …or after the P0 recovered the service and closed the incident: still the same event, nothing new.
      await eventBridgeOf(sandbox).drain();
      sandbox.clock.advance(120);
      const late = await raiseHealthIncidents({ toRaise: run.output.report.toRaise }, incidentDeps(sandbox));
      expect(late.incidents).toEqual([expect.objectContaining({ outcome: 'duplicate', incidentId: first.incidentId })]);
      expect(await p0Executions(sandbox)).toHaveLength(1);
    });
    // The P0 it opened runs to its end (drained): slow on a loaded machine.
  }, 180_000);

  test('two runs overlapping (the schedule and a person): the second joins the first one\'s incident', async () => {
    await withSandbox({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const [a, b] = await Promise.all([runMachine(sandbox, 'health-check', SCHEDULED), runMachine(sandbox, 'health-check', { trigger: { kind: 'manual', by: 'jane' } })]);
      const ids = [a, b].map((r) => r.output.incidents.incidents[0].incidentId);
      expect(ids[0]).toBe(ids[1]);
      await eventBridgeOf(sandbox).drain();
      expect(await p0Executions(sandbox)).toHaveLength(1);
    });
  });

  test('GetMetricData throttled for minutes: one red line saying so, and no incident for a healthy service', async () => {
    const throttled = { faults: [{ api: 'cloudwatch' as const, kind: 'throttle' as const, rate: 1, operations: ['GetMetricData'] }] };
    await withSandbox(throttled, async (sandbox) => {
      sandbox.playOut();
      const run = await runMachine(sandbox, 'health-check', SCHEDULED);
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('unhealthy');
      const red = (run.output.report.lines as { ok: boolean; component: string; figure: string }[]).filter((l) => !l.ok);
      expect(red).toEqual([expect.objectContaining({ component: 'metrics', figure: expect.stringMatching(/^could not be checked: .*Throttling/) })]);
      expect(run.path).not.toContain('Open incidents for failing checks');
      expect(await p0Executions(sandbox)).toEqual([]);
      expect(slackOf(sandbox).messages.map((m) => m.text)).toEqual(['Daily health check: 1 of 5 checks FAILING']);
    });
  });

  test('a CPU query CloudWatch fails (InternalError) or answers empty: red lines that say so, and no P1 for either service', async () => {
    const plan = healthPlanSchema.parse({ cluster: 'acme-cluster', services: ['acme-axon', 'acme-orbit'], errorRates: [] });
    const answers: Record<string, { StatusCode: string; Values: number[]; Messages?: { Code: string; Value: string }[] }> = {
      cpu0: { StatusCode: 'InternalError', Values: [], Messages: [{ Code: 'InternalError', Value: 'An internal error occurred' }] },
      cpu1: { StatusCode: 'Complete', Values: [] },
    };
    const cloudwatch = { send: async () => ({ MetricDataResults: Object.entries(answers).map(([Id, r]) => ({ Id, ...r })) }) } as unknown as CloudWatchClient;
    const clock = { now: () => new Date('2026-11-28T07:00:00Z') };
    const { lines } = await checkMetrics({ plan }, { cloudwatch, clock });
    expect(lines).toEqual([
      expect.objectContaining({ component: 'acme-axon CPU', ok: false, figure: 'CloudWatch could not answer the query (InternalError: An internal error occurred): not measured' }),
      expect.objectContaining({ component: 'acme-orbit CPU', ok: false, figure: 'no CPUUtilization datapoints in the last hour (no task running?)' }),
    ]);
    expect(incidentsToRaise(lines, { openIncidents: { service: 'P0', cpu: 'P1' } }, 'run-1', '2026-11-28T07:00:00.000Z')).toEqual([]);
  });
});
