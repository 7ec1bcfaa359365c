import { describe, expect, test } from 'vitest';
import { cli } from '../support/cli.ts';

describe('incident-flows drill p0 (the README\'s main job), end to end through the CLI', () => {
  test('default drill: crash-looping axon is recovered, exit 0, JSON report complete', () => {
    const r = cli('drill', 'p0', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      workflow: 'p0-system-down',
      service: 'acme-axon',
      status: 'SUCCEEDED',
      outcome: 'recovered',
      desiredBefore: 2,
      desiredAfter: 2,
      runningAfter: 2,
    });
    expect(report.transitions).toBeGreaterThan(5);
    expect(report.simulatedSeconds).toBeGreaterThan(0);
    const states = report.timeline.map((e: { state: string }) => e.state);
    expect(states).toEqual(expect.arrayContaining(['Assess impact', 'Restart the service', 'Verify recovery']));
    const restart = report.timeline.find((e: { state: string }) => e.state === 'Restart the service');
    expect(restart.calls).toContain('ecs:UpdateService');
    // Started by the alarm through start-incident, and recorded when it ended.
    expect(report.alarmName).toBe('acme-axon-unhealthy-hosts');
    expect(report.executionArn).toContain(':incident-flows-p0-system-down:acme-axon-');
    expect(report.report).toMatch(/## Timeline[\s\S]*Restart the service[\s\S]*## Actions/);
  });

  test('human-readable drill prints the timeline and the verdict', () => {
    const r = cli('drill', 'p0', '--fault', 'sticky-crash-loop');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Force a new deployment/);
    expect(r.stdout).toMatch(/Verdict: RECOVERED/);
    expect(r.stdout).toMatch(/Drill PASSED/);
  });

  test('a bad image is escalated, which is what that fault calls for: exit 0, desired count intact', () => {
    const r = cli('drill', 'p0', '--fault', 'bad-image', '--service', 'orbit', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ service: 'acme-orbit', status: 'FAILED', outcome: 'escalated', desiredBefore: 2, desiredAfter: 2 });
  });

  test('a scenario file names any cluster and service: payments-prod/ledger at 3 tasks', () => {
    const r = cli('drill', 'p0', '--scenario', 'examples/ledger-crash-loop.json', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cluster: 'payments-prod', service: 'ledger', outcome: 'recovered', desiredBefore: 3, desiredAfter: 3 });
  });

  test('bad options get a one-line error naming the option and exit 2', () => {
    const bad = cli('drill', 'p0', '--fault', 'meteor');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--fault "meteor" is not a p0 drill fault — use one of: none, crash-loop/);
    const missing = cli('drill', 'p0', '--scenario', 'no-such-file.json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read scenario file no-such-file.json/);
  });
});
