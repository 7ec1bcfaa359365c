import { describe, expect, test } from 'vitest';
import { deployCommand } from '../../cli/deploy.ts';
import { cli } from '../support/cli.ts';
import { withSandbox } from '../support/p0.ts';
import { imageOf, SERVICE, serviceState } from './support.ts';

const capture = () => {
  let text = '';
  return { out: (t: string) => void (text += t), text: () => text };
};

describe('incident-flows deploy and rollback: what a CI pipeline runs', () => {
  test('deploy --wait against a running sandbox: exit 0 when deployed, 1 when the image was rolled back, the JSON says which', async () => {
    const bad = '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v4-bad';
    await withSandbox({ images: [{ service: SERVICE, image: bad, kind: 'bad-image' }] }, async (sandbox) => {
      const endpoint = ['--endpoint', sandbox.url];
      const good = capture();
      expect(await deployCommand('deploy', ['--service', SERVICE, '--image', imageOf(sandbox, 'v3'), '--environment', 'staging', '--bake-minutes', '0', '--wait', '--json', ...endpoint], good.out)).toBe(0);
      expect(JSON.parse(good.text())).toMatchObject({ status: 'SUCCEEDED', outcome: 'deployed', input: { service: SERVICE, trigger: { kind: 'cli' } } });
      const rolled = capture();
      expect(await deployCommand('deploy', ['--service', SERVICE, '--image', bad, '--environment', 'staging', '--wait', '--json', ...endpoint], rolled.out)).toBe(1);
      expect(JSON.parse(rolled.text())).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack', outcome: 'rolled-back' });
      expect(await serviceState(sandbox)).toMatchObject({ revision: 3, image: imageOf(sandbox, 'v3'), running: 2 });
    });
  });

  test('bad flags and bad input are refused before anything starts, naming the flag or field', async () => {
    await withSandbox({}, async (sandbox) => {
      const endpoint = ['--endpoint', sandbox.url];
      await expect(deployCommand('deploy', ['--image', 'x/acme-axon:v3', ...endpoint], () => {})).rejects.toThrow(/--service is required/);
      await expect(deployCommand('deploy', ['--service', SERVICE, '--image', 'acme axon:v3', ...endpoint], () => {})).rejects.toThrow(/field "image": is not a container image URI/);
      await expect(deployCommand('deploy', ['--service', SERVICE, '--image', 'x/acme-axon:v3', '--bake-minutes', 'abc', ...endpoint], () => {})).rejects.toThrow(/--bake-minutes "abc" is not a number/);
      await expect(deployCommand('deploy', ['--service', SERVICE, '--image', 'x/acme-axon:v3', '--environment', 'prod', ...endpoint], () => {})).rejects.toThrow(/field "environment"/);
      await expect(deployCommand('rollback', ['--service', SERVICE, '--mode', 'fast', ...endpoint], () => {})).rejects.toThrow(/field "mode"/);
      await expect(deployCommand('rollback', ['--service', SERVICE, '--wait-minutes', '0', ...endpoint], () => {})).rejects.toThrow(/--wait-minutes "0"/);
      expect(sandbox.sfn.listExecutionRecords()).toEqual([]);
    });
  });
});

describe('incident-flows drill deploy and drill rollback, end to end through the CLI', () => {
  test('drill deploy (bad image by default): rolled back on its own, exit 0, the service on its previous revision, the drill report shape', () => {
    const r = cli('drill', 'deploy', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ workflow: 'deploy', fault: 'bad-image', outcome: 'rolled-back', expectedOutcome: 'rolled-back', passed: true, revisionBefore: 'acme-axon:2', revisionAfter: 'acme-axon:2', desiredAfter: 2, runningAfter: 2, failure: 'the deployment did not stabilise', approvalsAsked: 1 });
    expect(report.failureToRollbackSeconds).toBeGreaterThan(0);
    expect(report.failureToRollbackSeconds).toBeLessThan(120);
    for (const key of ['executionArn', 'transitions', 'simulatedSeconds', 'wallMillis', 'timeline', 'report', 'slack']) expect(report).toHaveProperty(key);
  });

  test('drill rollback --mode full: the backup restored, revision and desired count, exit 0', () => {
    const r = cli('drill', 'rollback', '--mode', 'full', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ workflow: 'rollback', outcome: 'rolled-back', passed: true, revisionBefore: 'acme-axon:3', revisionAfter: 'acme-axon:2', desiredBefore: 3, desiredAfter: 2 });
  });

  test('bad drill options exit 2 with one line naming the option', () => {
    const fault = cli('drill', 'deploy', '--fault', 'nope');
    expect(fault.code).toBe(2);
    expect(fault.stderr).toMatch(/--fault "nope" is not a deploy drill fault — use one of: none, bad-image, failing-health, alarm-during-bake/);
    const mode = cli('drill', 'rollback', '--mode', 'slow');
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/--mode "slow" — use quick or full/);
    expect(cli('drill', 'p0', '--mode', 'quick').code).toBe(2);
  });
});
