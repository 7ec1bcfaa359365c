import { describe, expect, test } from 'vitest';
import { cli } from '../support/cli.ts';

describe('incident-flows drill p2 and drill health-check, end to end through the CLI', () => {
  test('drill p2: the WARN flood ends in a fix scheduled for the maintenance window, nothing changed, exit 0, the P0 report shape', () => {
    const r = cli('drill', 'p2', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      workflow: 'p2-minor',
      service: 'acme-axon',
      fault: 'warn-flood',
      status: 'SUCCEEDED',
      outcome: 'scheduled-fix',
      expectedOutcome: 'scheduled-fix',
      passed: true,
      desiredBefore: 2,
      desiredAfter: 2,
      mutatingCalls: 0,
      approvals: [],
      alarmName: 'acme-axon-p2-warn-lines',
    });
    for (const key of ['executionArn', 'transitions', 'simulatedSeconds', 'wallMillis', 'runningAfter', 'timeline', 'incidentId', 'report']) expect(report).toHaveProperty(key);
    expect(report.executionArn).toContain(':incident-flows-p2-minor:acme-axon-');
    expect(report.warnings.groups[0].pattern).toBe('WARN Slow response from governance Lambda: <n> ms (request <uuid>)');
    expect(report.slack[0]).toMatch(/^P2 acme-axon: \d+ WARN line\(s\), fix scheduled for Sunday 2026-11-29 02:00–04:00 UTC$/);
    expect(report.report).toMatch(/## Scheduled fix[\s\S]*Sunday 2026-11-29/);
  });

  test('drill p2 --fault none: no WARN line, no action, exit 0; the human-readable form says so', () => {
    const r = cli('drill', 'p2', '--fault', 'none', '--service', 'orbit');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Verdict: NO-ACTION/);
    expect(r.stdout).toMatch(/Drill PASSED: "none" calls for no-action/);
  });

  test('drill health-check: all green by default, red for the fault\'s component', () => {
    const green = cli('drill', 'health-check', '--json');
    expect(green.code).toBe(0);
    expect(JSON.parse(green.stdout)).toMatchObject({ workflow: 'health-check', outcome: 'healthy', passed: true, mutatingCalls: 0 });
    const lambda = cli('drill', 'health-check', '--fault', 'lambda-down');
    expect(lambda.code).toBe(0);
    expect(lambda.stdout).toMatch(/❌ acme-governance \(Lambda\): Active, but the test invoke failed \(Unhandled\)/);
    expect(lambda.stdout).toMatch(/✅ acme-axon: 2\/2 tasks healthy/);
    expect(lambda.stdout).toMatch(/Drill PASSED: "lambda-down" calls for unhealthy/);
    const table = cli('drill', 'health-check', '--fault', 'table-missing', '--json');
    expect(table.code).toBe(0);
    expect(JSON.parse(table.stdout).lines.find((l: { kind: string }) => l.kind === 'table')).toMatchObject({ ok: false, figure: 'not found (ResourceNotFoundException)' });
  });

  test('bad usage exits 2 with one line naming the option', () => {
    const fault = cli('drill', 'p2', '--fault', 'meteor');
    expect(fault.code).toBe(2);
    expect(fault.stderr).toMatch(/--fault "meteor" is not a P2 drill fault — use one of: warn-flood, none/);
    const health = cli('drill', 'health-check', '--fault', 'cpu-saturation');
    expect(health.code).toBe(2);
    expect(health.stderr).toMatch(/is not a health-check drill fault — use one of: none, service-down, lambda-down, table-missing, cpu-high/);
    const approval = cli('drill', 'p2', '--approval', 'approve');
    expect(approval.code).toBe(2);
  });
});
