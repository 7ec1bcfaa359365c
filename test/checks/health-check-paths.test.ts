import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, test } from 'vitest';
import { IncidentStore } from '#commons/incidents';
import { documentClient } from '#commons/clients';
import { HEALTH_CHECK_HANDLER_NAMES } from '../../handlers/registry-checks.ts';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { slackOf } from '../../sandbox/slack.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';
import { withSandbox } from '../support/p0.ts';
import { ecsChanges, runMachine } from './support.ts';

type Line = { kind: string; component: string; ok: boolean; figure: string };
const SCHEDULED = { trigger: { kind: 'schedule' } };
/** Reports only: these path tests look at the lines, not at the incidents a red line would open. */
const NO_INCIDENTS: ScenarioInput = { healthCheck: { openIncidents: {} } };

async function check(scenario: ScenarioInput, input: unknown = SCHEDULED, before?: (s: Parameters<Parameters<typeof withSandbox>[1]>[0]) => void) {
  return withSandbox(scenario, async (sandbox) => {
    before?.(sandbox);
    sandbox.playOut();
    const run = await runMachine(sandbox, 'health-check', input);
    await eventBridgeOf(sandbox).drain();
    const lines: Line[] = run.output.report?.lines ?? [];
    const checkers: ReadonlySet<string> = new Set(HEALTH_CHECK_HANDLER_NAMES);
    const own = sandbox.invocations.filter((i) => checkers.has(i.handler)).flatMap((i) => i.calls.filter((c) => /^ecs:(Update|Register|Create|Delete)/.test(c)));
    return { run, lines, red: lines.filter((l) => !l.ok), slack: slackOf(sandbox).messages, own, restarts: ecsChanges(sandbox), posts: eventBridgeOf(sandbox).posts };
  });
}

describe('the daily health check: health-check.sh and the Monitoring Review, one line per component', () => {
  test('all green: services, the governance Lambda, its table, CPU and error rates — shaped like the runbook, posted to Slack', async () => {
    const { run, lines, slack, own, posts } = await check({ ...NO_INCIDENTS, leadSeconds: 180 });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output.outcome).toBe('healthy');
    expect(lines.map((l) => `${l.ok ? '✅' : '❌'} ${l.component}`)).toEqual([
      '✅ acme-axon',
      '✅ acme-orbit',
      '✅ acme-governance (Lambda)',
      '✅ acme-governance-policies (DynamoDB)',
      '✅ acme-axon CPU',
      '✅ acme-orbit CPU',
      '✅ Axon error rate',
      '✅ Orbit error rate',
    ]);
    expect(run.output.report.text).toMatch(/^Daily health check 2026-11-28 03:03 UTC: all 8 checks pass\n✅ acme-axon: 2\/2 tasks healthy\n✅ acme-orbit: 2\/2 tasks healthy\n✅ acme-governance \(Lambda\): Active, responding/);
    expect(lines.find((l) => l.kind === 'cpu')!.figure).toMatch(/^\d+\.\d % average over the last hour \(< 70 %\)$/);
    expect(lines.find((l) => l.kind === 'errorRate')!.figure).toMatch(/^0\.\d\d % \(\d+ of [\d,]+ requests in the last hour, < 1 %\)$/);
    expect(slack.map((m) => m.text)).toEqual(['Daily health check: all 8 checks pass']);
    expect(own).toEqual([]);
    // record-incident records the end under the state machine's name, at the lowest severity, with the report's lines.
    const [end] = posts;
    expect(end).toMatchObject({ service: 'incident-flows-health-check', outcome: 'healthy' });
    expect(end!.markdown).toMatch(/^# Incident .*: incident-flows-health-check \(P2\) — HEALTHY/);
    expect(end!.markdown).toMatch(/## Health check\n\n- ✅ acme-axon: 2\/2 tasks healthy/);
  });

  test('service down (crash loop): its line red with the figure, the error rate rises, a P0 incident is opened for it (configured default)', async () => {
    const { run, red, slack, own, restarts } = await check({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] });
    expect(run.output.outcome).toBe('unhealthy');
    expect(red.map((l) => l.component)).toEqual(expect.arrayContaining(['acme-axon', 'Axon error rate']));
    expect(red.find((l) => l.component === 'acme-axon')!.figure).toMatch(/^\d\/2 tasks running — /);
    expect(run.path).toContain('Open incidents for failing checks');
    const [incident] = run.output.incidents.incidents;
    expect(incident).toMatchObject({ service: 'acme-axon', severity: 'P0', outcome: 'started' });
    expect(incident.executionArn).toContain(':incident-flows-p0-system-down:');
    expect(slack[0]!.text).toMatch(/^Daily health check: \d of 8 checks FAILING$/);
    expect(JSON.stringify(slack[0]!.blocks)).toContain('incident opened for `acme-axon (P0)`');
    // The health check changed nothing itself; the P0 it opened restarted the service.
    expect(own).toEqual([]);
    expect(restarts).toContain('ecs:UpdateService');
  });

  test('the incident opened by a red line is start-incident\'s: one per service, recorded with the health check as its trigger', async () => {
    await withSandbox({ faults: [{ service: 'acme-orbit', kind: 'bad-image' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runMachine(sandbox, 'health-check', SCHEDULED);
      const [incident] = run.output.incidents.incidents;
      expect(incident).toMatchObject({ service: 'acme-orbit', severity: 'P0', outcome: 'started' });
      const record = await new IncidentStore(documentClient(sandbox.clientOptions()), 'incident-flows-incidents').get(incident.incidentId);
      expect(record?.timeline?.[0]?.what).toMatch(/^incident-flows\/health-check .*daily health check: acme-orbit: 0\/2 tasks running/);
      expect(record?.timeline?.[0]?.what).toContain('via health-check');
      await eventBridgeOf(sandbox).drain();
    });
  });

  test('lambda down: the test invoke answers FunctionError Unhandled — red, with the function\'s error; a failed function state too', async () => {
    const unhandled = await check({ ...NO_INCIDENTS, functions: [{ name: 'acme-governance', fault: 'unhandled-error' }] });
    expect(unhandled.run.output.outcome).toBe('unhealthy');
    expect(unhandled.red).toEqual([expect.objectContaining({ kind: 'function', figure: 'Active, but the test invoke failed (Unhandled): Error: Policy store unreachable: connect ETIMEDOUT 10.0.2.41:443' })]);
    const failed = await check({ ...NO_INCIDENTS, functions: [{ name: 'acme-governance', state: 'Failed' }] });
    expect(failed.red).toEqual([expect.objectContaining({ kind: 'function', figure: expect.stringMatching(/^state Failed: /) })]);
    const missing = await check({ ...NO_INCIDENTS, functions: [{ name: 'acme-other' }], healthCheck: { openIncidents: {}, functions: ['acme-governance'] } });
    expect(missing.red).toEqual([expect.objectContaining({ kind: 'function', figure: 'not found (ResourceNotFoundException)' })]);
  });

  test('table missing: DescribeTable answers ResourceNotFoundException — red', async () => {
    const { run, red } = await check({ ...NO_INCIDENTS, tables: [{ name: 'acme-governance-policies', missing: true }] });
    expect(run.output.outcome).toBe('unhealthy');
    expect(red).toEqual([expect.objectContaining({ kind: 'table', component: 'acme-governance-policies (DynamoDB)', figure: 'not found (ResourceNotFoundException)' })]);
  });

  test('CPU high for the hour (cpu-saturation): the CPU line red with its average; incidents only where configured', async () => {
    const { run, red } = await check({ ...NO_INCIDENTS, leadSeconds: 3600, faults: [{ service: 'acme-orbit', kind: 'cpu-saturation' }] });
    expect(run.output.outcome).toBe('unhealthy');
    expect(red).toEqual([expect.objectContaining({ kind: 'cpu', component: 'acme-orbit CPU', figure: expect.stringMatching(/^(7\d|8\d|9\d)\.\d % average over the last hour \(≥ 70 %\)$/) })]);
    expect(run.path).not.toContain('Open incidents for failing checks');
  });

  test('error rate high: over the threshold a start asks for — red with errors and requests', async () => {
    const { run, red } = await check(NO_INCIDENTS, { errorRateThresholdPercent: 0.05 });
    expect(run.output.outcome).toBe('unhealthy');
    expect(red.map((l) => l.kind)).toEqual(['errorRate', 'errorRate']);
    expect(red[0]!.figure).toMatch(/^0\.\d\d % \(\d+ of [\d,]+ requests in the last hour, ≥ 0\.05 %\)$/);
  });

  test('a metric the configuration names: its own namespace, statistic, threshold and comparison', async () => {
    const metrics = [
      { label: 'acme-axon running tasks', namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: { ClusterName: 'acme-cluster', ServiceName: 'acme-axon' }, stat: 'Maximum', threshold: 2, comparison: 'LessThanThreshold' },
      { label: 'acme-orbit memory', namespace: 'AWS/ECS', metricName: 'MemoryUtilization', dimensions: { ClusterName: 'acme-cluster', ServiceName: 'acme-orbit' }, stat: 'Maximum', threshold: 10 },
    ];
    const { lines } = await check({ healthCheck: { openIncidents: {}, metrics } });
    expect(lines.filter((l) => l.kind === 'metric')).toEqual([
      expect.objectContaining({ component: 'acme-axon running tasks', ok: true, figure: 'Maximum 2 over the last hour (fails when < 2)' }),
      expect.objectContaining({ component: 'acme-orbit memory', ok: false, figure: expect.stringMatching(/^Maximum \d+(\.\d+)? over the last hour \(fails when > 10\)$/) }),
    ]);
  });

  test.each([
    [{ services: ['acme-unknown'] }, 'ServiceNotManagedError', /field "services": "acme-unknown" is not managed/],
    [{ cpuThresholdPercent: 700 }, 'InvalidInputError', /field "cpuThresholdPercent"/],
    [{ errorRateThresholdPercent: -1 }, 'InvalidInputError', /field "errorRateThresholdPercent"/],
    [{ lookbackMinutes: 'an hour' }, 'InvalidInputError', /field "lookbackMinutes"/],
    [{ services: 'acme-axon' }, 'InvalidInputError', /field "services"/],
    [{ servics: ['acme-axon'] }, 'InvalidInputError', /unknown field "servics"/],
  ])('bad start input %j fails at the first state naming the field, with no call made', async (input, error, message) => {
    await withSandbox({ leadSeconds: 0 }, async (sandbox) => {
      const run = await runMachine(sandbox, 'health-check', input);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(error);
      expect(run.message).toMatch(message);
      expect(run.path).toEqual(['Plan the health check']);
      expect(sandbox.invocations.flatMap((i) => i.calls)).toEqual([]);
      expect(slackOf(sandbox).messages).toEqual([]);
    });
  });

  test('the sandbox\'s Lambda answers GetFunction as AWS does: ResourceNotFoundException for an unknown function', async () => {
    await withSandbox({ leadSeconds: 0 }, async (sandbox) => {
      const lambda = new LambdaClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
      const out = await lambda.send(new GetFunctionCommand({ FunctionName: 'acme-governance' }));
      expect(out.Configuration).toMatchObject({ FunctionName: 'acme-governance', State: 'Active', FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:acme-governance' });
      const err = await lambda.send(new GetFunctionCommand({ FunctionName: 'nope' })).catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
      expect(err).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    });
  });
});
