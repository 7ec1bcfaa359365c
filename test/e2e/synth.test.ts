import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('`cdk synth` bundles every handler offline with the local esbuild (what `npm run synth` and `cdk deploy` do)', () => {
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
}, 300_000);
