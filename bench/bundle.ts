import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BundleFigure {
  handler: string;
  bytes: number;
  /** Median wall time for a fresh Node process to import the bundle, minus an empty import. */
  initMillis: number;
}

/** Bundles a handler exactly as the stack does (infra/handler-function.ts): ESM, module-first, minified. */
export async function bundleHandler(handler: string, outDir: string): Promise<string> {
  const outfile = join(outDir, `${handler}.mjs`);
  await build({
    entryPoints: [join(ROOT, 'handlers', `${handler}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    outfile,
    logLevel: 'error',
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  });
  return outfile;
}

function importMillis(file: string, runs: number): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const t=performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now()-t)`], {
      encoding: 'utf8',
      env: { ...process.env, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    samples.push(Number(r.stdout.trim()));
  }
  return median(samples);
}

export async function measureBundles(handlers: readonly string[], runs = 5): Promise<BundleFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'incident-flows-bundles-'));
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  const baseline = importMillis(empty, runs);
  const figures: BundleFigure[] = [];
  for (const handler of handlers) {
    const file = await bundleHandler(handler, dir);
    figures.push({ handler, bytes: statSync(file).size, initMillis: Math.max(0, Math.round((importMillis(file, runs) - baseline) * 10) / 10) });
  }
  return figures;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
