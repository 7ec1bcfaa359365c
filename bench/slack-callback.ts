/**
 * `npm run bench:slack`: the Slack callback against Slack's 3-second acknowledgement limit.
 *  1. minified bundle size of handlers/slack-interactions.ts, bundled as the stack bundles it
 *     (esbuild, ESM, mainFields module,main, minify);
 *  2. cold start in a fresh Node process: module initialisation (import of the bundle), then the
 *     first request — a real, signed Approve click on a real pending approval, answered once the
 *     decision is recorded (replay guard, approval read, user-group lookup, conditional write —
 *     DynamoDB and Slack against the local sandbox);
 *  3. warm requests: further clicks in the same process, each recording another decision;
 *  4. delivery, as the approvals table's stream invokes the same function after each answer:
 *     SendTaskSuccess and chat.update — not on Slack's clock, but every decision must arrive.
 * The same figures are written to .bench/slack-callback.json. Lambda adds its own runtime start
 * (~100–300 ms) and real network latency to AWS and Slack; see docs/approvals.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleHandler } from './bundle.ts';
import { getApproval } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import { Sandbox } from '../sandbox/index.ts';
import { parseScenario } from '../sandbox/scenario.ts';
import { approvalIdOf, blockActionsPayload, SLACK_APPROVERS, SLACK_USERS, signedInteraction, slackOf } from '../sandbox/slack.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROCESSES = Number(process.env.BENCH_COLD_RUNS ?? 5);
const WARM_PER_PROCESS = Number(process.env.BENCH_WARM_RUNS ?? 10);
const SLACK_LIMIT_MS = 3000;
const TABLE = 'incident-flows-approvals';

/** Bundled exactly as the stack bundles it (bench/bundle.ts mirrors infra/handler-function.ts). */
const bundle = (dir: string) => bundleHandler('slack-interactions', dir);

/**
 * Starts `count` P0 executions that stop at the on-call's approval, and keeps them waiting: time
 * runs while they get there (their steps pace themselves on the virtual clock), and stops — the
 * bench plays the people, no approval may time out under it — once the last request is posted.
 */
async function pendingApprovals(sandbox: Sandbox, count: number): Promise<string[]> {
  const fake = slackOf(sandbox);
  const ids: string[] = [];
  const stop = fake.onMessage((m) => {
    const id = approvalIdOf(m);
    if (!id) return;
    ids.push(id);
    if (ids.length === count) sandbox.clock.enter(); // synchronously, while request-approval still holds time
  });
  for (let i = 0; i < count; i++) {
    sandbox.sfn.start('incident-flows-p0-system-down', { service: 'acme-axon', requireApproval: true }, `bench-${i}`);
  }
  const dynamo = documentClient(sandbox.clientOptions());
  for (let i = 0; i < 6000; i++) {
    if (ids.length === count && (await Promise.all(ids.map((id) => getApproval({ dynamo, table: TABLE }, id)))).every((r) => r?.messageTs)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  stop();
  if (ids.length !== count) throw new Error(`only ${ids.length} of ${count} approval requests were posted`);
  return ids;
}

/**
 * The child: import the bundle, answer the given signed requests one after the other, then deliver
 * each recorded decision as the table's stream would invoke the function (one record per batch).
 */
const CHILD = `
const requests = JSON.parse(process.env.BENCH_REQUESTS);
const deliveries = JSON.parse(process.env.BENCH_DELIVERIES);
const t0 = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const t1 = performance.now();
const results = [];
for (const r of requests) {
  const s = performance.now();
  const res = await mod.handler({ version: '2.0', headers: r.headers, body: r.body, isBase64Encoded: false, requestContext: { http: { method: 'POST' } } });
  results.push({ ms: performance.now() - s, status: res.statusCode });
}
const delivered = [];
for (const [i, id] of deliveries.entries()) {
  const s = performance.now();
  const res = await mod.handler({ Records: [{ eventSource: 'aws:dynamodb', eventName: 'MODIFY', dynamodb: { Keys: { id: { S: id } }, SequenceNumber: String(i + 1) } }] });
  delivered.push({ ms: performance.now() - s, failed: res.batchItemFailures.length });
}
process.stdout.write('BENCH ' + JSON.stringify({ initMs: t1 - t0, results, delivered }) + '\\n');
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const round = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'incident-flows-slack-bench-'));
  const file = await bundle(dir);
  const bytes = statSync(file).size;

  // Real time for the sandbox's clock too: the bundled handler reads the system clock.
  const lead = 180;
  const sandbox = await Sandbox.start(
    parseScenario({ startTime: new Date(Date.now() - lead * 1000).toISOString(), leadSeconds: lead, faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }),
  );
  sandbox.playOut(); // the crash loop plays out, so every execution reaches the approval
  const fake = slackOf(sandbox);
  const cold: { initMs: number; firstMs: number }[] = [];
  const warm: number[] = [];
  const statuses: number[] = [];
  const deliveryMs: number[] = [];
  let undelivered = 0;
  let delivered = 0;
  let decisions = 0;
  try {
    const ids = await pendingApprovals(sandbox, PROCESSES * (1 + WARM_PER_PROCESS));
    const env = {
      ...process.env,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      AWS_ENDPOINT_URL: sandbox.url,
      AWS_LAMBDA_FUNCTION_NAME: 'incident-flows-slack-interactions',
      APPROVALS_TABLE: TABLE,
      SLACK_SIGNING_SECRET: fake.secrets.signingSecret.reveal(),
      SLACK_BOT_TOKEN: fake.secrets.botToken.reveal(),
      SLACK_API_URL: fake.apiUrl,
      SLACK_APPROVERS: JSON.stringify(SLACK_APPROVERS),
      SLACK_RESPONSE_URL_PREFIXES: fake.responseUrlPrefix,
      LOG_LEVEL: 'silent',
      BENCH_BUNDLE: file,
    };
    for (let p = 0; p < PROCESSES; p++) {
      const mine = ids.slice(p * (1 + WARM_PER_PROCESS), (p + 1) * (1 + WARM_PER_PROCESS));
      const now = Math.floor(Date.now() / 1000);
      const requests = mine.map((approvalId, i) =>
        signedInteraction(fake, blockActionsPayload(fake, { approvalId, action: 'approve', user: SLACK_USERS.onCall, actionTs: `${now}.${p}${i}` }), now),
      );
      // The child must not block this process: the sandbox answers its calls from here.
      const out = await runChild(env, requests, mine);
      cold.push({ initMs: out.initMs, firstMs: out.results[0]!.ms });
      warm.push(...out.results.slice(1).map((r) => r.ms));
      statuses.push(...out.results.map((r) => r.status));
      deliveryMs.push(...out.delivered.map((d) => d.ms));
      undelivered += out.delivered.filter((d) => d.failed > 0).length;
      decisions += mine.length;
    }
    // Delivered = Step Functions took it (the row says so only once SendTaskSuccess went through or the history showed it).
    const dynamo = documentClient(sandbox.clientOptions());
    const rows = await Promise.all(ids.map((id) => getApproval({ dynamo, table: TABLE }, id)));
    delivered = rows.filter((r) => r?.status === 'approved' && r.deliveredAt).length;
  } finally {
    sandbox.clock.leave();
    await sandbox.stop();
  }

  const initMs = median(cold.map((c) => c.initMs));
  const firstMs = median(cold.map((c) => c.firstMs));
  const figures = {
    handler: 'slack-interactions',
    bundleBytes: bytes,
    coldInitMillis: round(initMs),
    coldFirstRequestMillis: round(firstMs),
    coldTotalMillis: round(initMs + firstMs),
    warmMedianMillis: round(median(warm)),
    warmP95Millis: round(percentile(warm, 95)),
    deliveryMedianMillis: round(median(deliveryMs)),
    deliveryP95Millis: round(percentile(deliveryMs, 95)),
    slackLimitMillis: SLACK_LIMIT_MS,
    processes: PROCESSES,
    warmRequests: warm.length,
    allApproved: statuses.every((s) => s === 200),
    allDelivered: undelivered === 0 && delivered === decisions,
    node: process.version,
  };
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  writeFileSync(join(ROOT, '.bench', 'slack-callback.json'), `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(
    [
      'Slack callback (handlers/slack-interactions.ts) against the local sandbox',
      `  bundle (esbuild ESM, module-first, minified)  ${(bytes / 1024).toFixed(0)} KB`,
      `  cold: module initialisation                   ${round(initMs)} ms   (median of ${PROCESSES} fresh processes)`,
      `  cold: first click (recorded, answered)        ${round(firstMs)} ms`,
      `  cold total                                    ${round(initMs + firstMs)} ms   = ${((100 * (initMs + firstMs)) / SLACK_LIMIT_MS).toFixed(0)}% of Slack's 3 s`,
      `  warm click                                    ${round(median(warm))} ms median, ${round(percentile(warm, 95))} ms p95 (${warm.length} requests)`,
      `  every click recorded (HTTP 200)               ${figures.allApproved ? 'yes' : 'NO'}`,
      `  delivery after the answer (stream, warm)      ${round(median(deliveryMs))} ms median, ${round(percentile(deliveryMs, 95))} ms p95 — SendTaskSuccess + chat.update`,
      `  every decision reached its workflow           ${figures.allDelivered ? 'yes' : 'NO'} (${delivered} of ${decisions})`,
      '',
    ].join('\n'),
  );
  if (!figures.allApproved || !figures.allDelivered) process.exitCode = 1;
}

interface ChildFigures {
  initMs: number;
  results: { ms: number; status: number }[];
  delivered: { ms: number; failed: number }[];
}

function runChild(env: NodeJS.ProcessEnv, requests: unknown[], deliveries: string[]): Promise<ChildFigures> {
  return new Promise((resolve, reject) => {
    {
      const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
        env: { ...env, BENCH_REQUESTS: JSON.stringify(requests), BENCH_DELIVERIES: JSON.stringify(deliveries) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => {
        const line = out.split('\n').find((l) => l.startsWith('BENCH '));
        if (code !== 0 || !line) reject(new Error(`bench child failed (${code}): ${err.slice(0, 2000)}`));
        else resolve(JSON.parse(line.slice(6)) as ChildFigures);
      });
      child.on('error', reject);
    }
  });
}
await main();
