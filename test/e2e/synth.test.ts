import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { AwsServiceError, SandboxHttpServer } from '../../sandbox/http.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Handler = (event: unknown) => Promise<unknown>;

/** Loads the deployable bundle of one handler, as Lambda would. */
async function bundledHandler(out: string, template: { Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties?: { Tags?: { Key: string; Value: string }[] } }> }, name: string): Promise<Handler> {
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Tags?.some((t) => t.Value === name));
  const file = join(out, fn!.Metadata!['aws:asset:path']!, 'index.mjs');
  return ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler;
}

async function rejection(run: Promise<unknown>): Promise<Error> {
  try {
    await run;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the handler to fail');
}

test('`cdk synth` bundles every handler offline with the local esbuild (what `npm run synth` and `cdk deploy` do), and the bundles keep the error names Retry and Catch match on', async () => {
  const out = mkdtempSync(join(tmpdir(), 'incident-flows-synth-'));
  const r = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      ...process.env,
      CDK_DISABLE_VERSION_CHECK: '1',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      npm_config_update_notifier: 'false',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  expect(r.status, r.stderr).toBe(0);
  const template = JSON.parse(readFileSync(join(out, 'IncidentFlows.template.json'), 'utf8'));
  const functions = Object.values(template.Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>).filter(
    (res) => res.Type === 'AWS::Lambda::Function' && res.Metadata?.['aws:asset:path'],
  );
  expect(functions.length).toBeGreaterThanOrEqual(7);
  for (const fn of functions) {
    const bundle = join(out, fn.Metadata!['aws:asset:path']!, 'index.mjs');
    expect(existsSync(bundle), bundle).toBe(true);
    // Minified and self-contained, yet under the Lambda-friendly size we budget for.
    expect(statSync(bundle).size).toBeLessThan(1024 * 1024);
  }
  expect(readdirSync(out)).toContain('manifest.json');

  // What runs on AWS keeps the error names Retry and Catch match on (minified bundles once lost them).
  const throttled = new SandboxHttpServer();
  throttled.registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', () => {
    throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
  });
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ENDPOINT_URL: await throttled.listen(), AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', LOG_LEVEL: 'silent' });
  try {
    const assess = await bundledHandler(out, template, 'assess');
    expect((await rejection(assess({ sevice: 'typo' }))).name).toBe('InvalidInputError');
    // A throttled ECS answer reaches the workflow as the error name its Retry matches.
    const err = await rejection(assess({ service: 'acme-axon', cluster: 'acme-cluster' }));
    expect(err.name).toBe('TransientAwsError');
  } finally {
    process.env = saved;
    await throttled.close();
  }
}, 300_000);
