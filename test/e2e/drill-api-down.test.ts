import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { runDrill } from '../../cli/drill.ts';
import { parseScenario } from '../../sandbox/scenario.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_EXECUTION_DOWN = { api: 'sfn', kind: 'server-error', rate: 1, operations: ['StartExecution'] };

/** A crash-looping axon, as the default drill, with an API the scenario takes down. */
const plan = (fault: Record<string, unknown>) => ({
  scenario: parseScenario({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }, fault] }),
  service: 'acme-axon',
  fault: 'crash-loop' as const,
  expected: 'recovered' as const,
});

describe('a drill whose scenario takes an API down still ends in a report: outcome failed, the error named', () => {
  test('StartExecution answers 500: no execution, the trigger and its failed calls in the timeline, desired counts intact', async () => {
    const notices: string[] = [];
    const report = await runDrill(plan(START_EXECUTION_DOWN), { notice: (line) => notices.push(line) });
    expect(notices).toEqual([`incident-flows drill: the drill could not run to its end: ${report.cause}`]);
    expect(report).toMatchObject({
      workflow: 'p0-system-down',
      service: 'acme-axon',
      outcome: 'failed',
      expectedOutcome: 'recovered',
      passed: false,
      status: 'NOT_STARTED',
      executionArn: '',
      error: 'InternalFailure',
      incomplete: 'firing the alarm',
      desiredBefore: 2,
      desiredAfter: 2,
      transitions: 0,
      mutatingCalls: 0,
      alarmName: 'acme-axon-unhealthy-hosts',
      approvals: [],
    });
    expect(report.cause).toMatch(/^firing the alarm: InternalFailure \(HTTP 500\): .*StartExecution/);
    expect(report.timeline).toHaveLength(1);
    expect(report.timeline[0]).toMatchObject({ kind: 'trigger', state: 'Alarm acme-axon-unhealthy-hosts → start-incident' });
    expect(report.timeline[0]!.calls).toContain('sfn:StartExecution (InternalFailure)');
  }, 60_000);

  test('DynamoDB answers 500: the incident store cannot be read, the report still says failed and why', async () => {
    const report = await runDrill(plan({ api: 'dynamodb', kind: 'server-error', rate: 1 }), { notice: () => undefined });
    expect(report).toMatchObject({ outcome: 'failed', passed: false, status: 'NOT_STARTED', desiredBefore: 2, desiredAfter: 2 });
    expect(report.error).toBe('InternalFailure');
    expect(report.cause).toMatch(/dynamodb|GetItem|PutItem|Query/i);
    expect(report.timeline.at(-1)!.calls.some((c) => c.startsWith('dynamodb:'))).toBe(true);
  }, 60_000);

  describe('through the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drill-api-down-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('--json prints the whole report (not a stub) and exits 1', () => {
      const file = join(dir, 'sfn-down.json');
      writeFileSync(file, JSON.stringify({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }, START_EXECUTION_DOWN] }));
      const r = spawnSync(process.execPath, ['bin/incident-flows.mjs', 'drill', 'p0', '--scenario', file, '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      expect(r.status).toBe(1);
      // stdout is the report; stderr the one line saying the drill could not run to its end.
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^incident-flows drill: the drill could not run to its end: firing the alarm: InternalFailure/)]);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ outcome: 'failed', passed: false, status: 'NOT_STARTED', error: 'InternalFailure', desiredBefore: 2, desiredAfter: 2 });
      expect(report.timeline[0].calls).toContain('sfn:StartExecution (InternalFailure)');
    }, 130_000);
  });
});
