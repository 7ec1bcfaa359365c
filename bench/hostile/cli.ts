/**
 * Entry point: the `incident-flows` command line, run as a user runs it (`node
 * bin/incident-flows.mjs …`, a new process each), against a live sandbox (`--endpoint`) or an
 * endpoint where nothing answers. A bad command line must exit 2 with one line
 * `incident-flows…: …` on stderr; an AWS failure must exit 1 with one line naming the error — never
 * a stack trace, never a hang — and nothing may change in the sandbox.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { hasStackTrace, MutationProbe, outcome, truncate, type EntryPoint, type EntryReport, type Outcome, type Verdict } from './harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliCtx {
  /** A running sandbox. */
  endpoint: string;
  /** A port where nothing listens. */
  dead: string;
  /** An HTTP server that answers every request with an HTML page (a proxy, a captive portal). */
  html: string;
  /** Writes a scenario file, returns its path. */
  file(name: string, content: string | Buffer): string;
  dir: string;
}

export interface CliCase {
  name: string;
  args: (x: CliCtx) => string[];
  /** 2: bad usage or input; 1: AWS or the workflow said no. */
  exit: 1 | 2;
  /** When the answer is a report on stdout (a drill that could not run with --json, a failed --wait). */
  stdout?: RegExp;
  env?: Record<string, string>;
  /** Part of the fast CI subset. */
  ci?: boolean;
  /** Long-running (a drill that boots a sandbox). */
  slow?: boolean;
}

const ID = 'apr-0123456789abcdef0123';
const E = (x: CliCtx) => ['--endpoint', x.endpoint];

export const CLI_CASES: CliCase[] = [
  // the command itself
  { name: 'an unknown command', exit: 2, ci: true, args: () => ['bogus'] },
  { name: 'an unknown option as the command', exit: 2, args: () => ['--bogus'] },
  { name: 'an empty command', exit: 2, args: () => [''] },
  { name: 'a command with an escape sequence', exit: 2, args: () => ['\u001b[2J\u001b[31mbogus'] },
  // drill p0
  { name: 'drill of an unknown workflow', exit: 2, args: () => ['drill', 'p9'] },
  { name: 'drill with an unknown fault', exit: 2, ci: true, args: () => ['drill', 'p0', '--fault', 'meteor'] },
  { name: 'drill with an unknown approval', exit: 2, args: () => ['drill', 'p0', '--approval', 'maybe'] },
  { name: 'drill of a service not in the scenario', exit: 2, args: () => ['drill', 'p0', '--service', 'nope'] },
  { name: 'drill with an unknown option', exit: 2, args: () => ['drill', 'p0', '--bogus-flag'] },
  { name: 'drill with a value for a flag', exit: 2, args: () => ['drill', 'p0', '--json=yes'] },
  { name: 'drill --scenario without a file', exit: 2, args: () => ['drill', 'p0', '--scenario'] },
  { name: 'drill with an extra argument', exit: 2, args: () => ['drill', 'p0', 'now'] },
  // drill storm
  { name: 'storm with 0 services', exit: 2, args: () => ['drill', 'storm', '--services', '0'] },
  { name: 'storm with 1e9 services', exit: 2, args: () => ['drill', 'storm', '--services', '1e9'] },
  { name: 'storm with NaN events', exit: 2, args: () => ['drill', 'storm', '--events', 'NaN'] },
  { name: 'storm over 0 seconds', exit: 2, args: () => ['drill', 'storm', '--seconds', '0'] },
  { name: 'storm with 99 alarms per service', exit: 2, args: () => ['drill', 'storm', '--alarms-per-service', '99'] },
  // sandbox
  { name: 'sandbox at speed 0', exit: 2, args: () => ['sandbox', '--speed', '0'] },
  { name: 'sandbox at speed "fast"', exit: 2, args: () => ['sandbox', '--speed', 'fast'] },
  { name: 'sandbox on port 70000', exit: 2, args: () => ['sandbox', '--port', '70000'] },
  { name: 'sandbox on an empty port', exit: 2, args: () => ['sandbox', '--port='] },
  { name: 'sandbox on a port already in use', exit: 2, args: (x) => ['sandbox', '--port', new URL(x.endpoint).port] },
  { name: 'sandbox with a missing scenario', exit: 2, args: () => ['sandbox', '--scenario', 'no-such-scenario.json'] },
  // start
  { name: 'start with nothing', exit: 2, args: () => ['start'] },
  { name: 'start without a service', exit: 2, args: (x) => ['start', 'p0', ...E(x)] },
  { name: 'start of an unknown workflow', exit: 2, args: (x) => ['start', 'p9', '--service', 'acme-axon', ...E(x)] },
  { name: 'start of a service with a space', exit: 2, ci: true, args: (x) => ['start', 'p0', '--service', 'acme axon', ...E(x)] },
  { name: 'start of a service with path traversal', exit: 2, args: (x) => ['start', 'p0', '--service', '../etc/passwd', ...E(x)] },
  { name: 'start with an unknown restart mode', exit: 2, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--restart-mode', 'kill', ...E(x)] },
  { name: 'start with a 2,000-character reason', exit: 2, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--reason', 'r'.repeat(2000), ...E(x)] },
  { name: 'start --local without AWS_ENDPOINT_URL', exit: 2, args: () => ['start', 'p0', '--service', 'acme-axon', '--local'] },
  { name: 'start with an endpoint that is not a URL', exit: 2, ci: true, args: () => ['start', 'p0', '--service', 'acme-axon', '--endpoint', 'not a url'] },
  { name: 'start with an ftp endpoint', exit: 2, args: () => ['start', 'p0', '--service', 'acme-axon', '--endpoint', 'ftp://127.0.0.1/'] },
  { name: 'start in region "mars-1"', exit: 2, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--region', 'mars 1', ...E(x)] },
  { name: 'start with a second workflow', exit: 2, args: (x) => ['start', 'p0', 'p1', '--service', 'acme-axon', ...E(x)] },
  { name: 'start with a prefix with path traversal', exit: 2, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--prefix', '../x', ...E(x)] },
  { name: 'start under a prefix with no state machine', exit: 2, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--prefix', 'nope', '--dry-run', ...E(x)] },
  // status, list
  { name: 'status of an execution that does not exist', exit: 2, args: (x) => ['status', 'no-such-execution', ...E(x)] },
  { name: 'status of two executions', exit: 2, args: (x) => ['status', 'a', 'b', ...E(x)] },
  { name: 'list --limit abc', exit: 2, args: (x) => ['list', '--limit', 'abc', ...E(x)] },
  { name: 'list --limit 0', exit: 2, args: (x) => ['list', '--limit', '0', ...E(x)] },
  { name: 'list --limit 1e9', exit: 2, args: (x) => ['list', '--limit', '1e9', ...E(x)] },
  { name: 'list --status BOGUS', exit: 2, args: (x) => ['list', '--status', 'BOGUS', ...E(x)] },
  // alarm
  { name: 'alarm without a name', exit: 2, args: (x) => ['alarm', ...E(x)] },
  { name: 'alarm to state "red"', exit: 2, args: (x) => ['alarm', 'acme-axon-unhealthy-hosts', '--state', 'red', ...E(x)] },
  { name: 'alarm with a 300-character name', exit: 2, args: (x) => ['alarm', 'a'.repeat(300), ...E(x)] },
  { name: 'alarm with a 2,000-character reason', exit: 2, args: (x) => ['alarm', 'acme-orbit-unhealthy-hosts', '--state', 'OK', '--reason', 'r'.repeat(2000), ...E(x)] },
  // approve, reject
  { name: 'approve without an id', exit: 2, args: () => ['approve'] },
  { name: 'approve a malformed id', exit: 2, ci: true, args: (x) => ['approve', 'not-an-id', ...E(x)] },
  { name: 'approve an id with an escape sequence', exit: 2, args: (x) => ['approve', 'apr-\u001b[31mred\nsecond line', ...E(x)] },
  { name: 'reject without a reason', exit: 2, args: (x) => ['reject', ID, ...E(x)] },
  { name: 'reject with a blank reason', exit: 2, args: (x) => ['reject', ID, '--reason', '   ', ...E(x)] },
  { name: 'approve two ids', exit: 2, args: (x) => ['approve', ID, ID, ...E(x)] },
  { name: 'approve --reason without a value', exit: 2, args: () => ['approve', ID, '--reason'] },
  { name: 'approve with a table name that is not one', exit: 2, args: (x) => ['approve', ID, '--table', 'bad table!', ...E(x)] },
  { name: 'approve with an endpoint that is not a URL', exit: 2, args: () => ['approve', ID, '--endpoint', '127.0.0.1:4566'] },
  // AWS says no, or nothing answers: exit 1, one line
  { name: 'approve with the endpoint down', exit: 1, ci: true, args: (x) => ['approve', ID, '--endpoint', x.dead] },
  { name: 'reject with the endpoint down', exit: 1, args: (x) => ['reject', ID, '--reason', 'draining anyway', '--endpoint', x.dead] },
  { name: 'approve against an HTML page', exit: 1, args: (x) => ['approve', ID, '--endpoint', x.html] },
  { name: 'approve an approval that does not exist', exit: 1, ci: true, args: (x) => ['approve', ID, ...E(x)] },
  { name: 'approve in a table that does not exist', exit: 1, args: (x) => ['approve', ID, '--table', 'no-such-table', ...E(x)] },
  { name: 'start with the endpoint down', exit: 1, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--endpoint', x.dead] },
  { name: 'start against an HTML page', exit: 1, args: (x) => ['start', 'p0', '--service', 'acme-axon', '--dry-run', '--endpoint', x.html] },
  { name: 'status with the endpoint down', exit: 1, args: (x) => ['status', '--endpoint', x.dead] },
  { name: 'status of an ARN that does not exist', exit: 1, args: (x) => ['status', 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:nope', ...E(x)] },
  { name: 'list with the endpoint down', exit: 1, args: (x) => ['list', '--endpoint', x.dead] },
  { name: 'alarm with the endpoint down', exit: 1, args: (x) => ['alarm', 'acme-axon-unhealthy-hosts', '--endpoint', x.dead] },
  { name: 'alarm that does not exist', exit: 1, args: (x) => ['alarm', 'no-such-alarm', ...E(x)] },
  { name: 'start --wait of an unmanaged service', exit: 1, stdout: /status: FAILED — ServiceNotManagedError/, args: (x) => ['start', 'p0', '--service', 'acme-nope', '--wait', ...E(x)] },
  // the drill when the sandbox's own APIs are down (the scenario takes them down)
  {
    name: 'drill with StartExecution down',
    exit: 1,
    slow: true,
    ci: true,
    // The drill's report (FAILED, with what ran) on stdout; the one line naming the error on stderr.
    stdout: /Drill FAILED/,
    args: (x) => ['drill', 'p0', '--scenario', x.file('sfn-down.json', JSON.stringify({ faults: [{ api: 'sfn', kind: 'server-error', rate: 1, operations: ['StartExecution'] }] }))],
  },
  {
    name: 'drill --json with StartExecution down',
    exit: 1,
    slow: true,
    stdout: /"passed": false/,
    args: (x) => ['drill', 'p0', '--json', '--scenario', x.file('sfn-down.json', JSON.stringify({ faults: [{ api: 'sfn', kind: 'server-error', rate: 1, operations: ['StartExecution'] }] }))],
  },
  {
    name: 'drill --json with DynamoDB down',
    exit: 1,
    slow: true,
    stdout: /"passed": false/,
    args: (x) => ['drill', 'p0', '--json', '--scenario', x.file('ddb-down.json', JSON.stringify({ faults: [{ api: 'dynamodb', kind: 'server-error', rate: 1 }] }))],
  },
];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs the real binary in a clean environment: no AWS profile, no endpoint, dummy credentials — nothing can reach AWS. */
export function runCliProcess(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliRun> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && k !== 'INCIDENT_FLOWS_DEBUG' && k !== 'INCIDENT_FLOWS_SANDBOX') clean[k] = v;
  Object.assign(clean, {
    AWS_ACCESS_KEY_ID: 'hostile',
    AWS_SECRET_ACCESS_KEY: 'hostile',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '2',
    ...env,
  });
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['bin/incident-flows.mjs', ...args], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}

/** One line on stderr naming what went wrong, the expected exit code, no stack trace. */
export function judgeCli(run: CliRun, expect: { exit: number; stdout?: RegExp }): { verdict: Verdict; name?: string; detail: string } {
  if (run.timedOut) return { verdict: 'hang', name: 'timeout', detail: `no exit within the time limit; stderr: ${truncate(run.stderr, 200)}` };
  const all = `${run.stderr}\n${run.stdout}`;
  if (hasStackTrace(all)) return { verdict: 'stack-trace', name: `exit ${run.code}`, detail: truncate(run.stderr || run.stdout, 300) };
  const lines = run.stderr.trim().split('\n').filter((l) => l.trim() !== '');
  if (expect.stdout) {
    if (run.code !== expect.exit || !expect.stdout.test(run.stdout)) return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `expected exit ${expect.exit} and ${expect.stdout}; stdout ${truncate(run.stdout, 200)} stderr ${truncate(run.stderr, 200)}` };
    if (lines.length > 1) return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `${lines.length} lines on stderr: ${truncate(run.stderr, 300)}` };
    return { verdict: 'named-error', name: `exit ${run.code}`, detail: truncate(lines[0] ?? run.stdout, 300) };
  }
  if (run.code === 0) return { verdict: 'accepted', name: 'exit 0', detail: truncate(run.stdout || run.stderr, 300) };
  if (lines.length !== 1) return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `${lines.length} lines on stderr: ${truncate(run.stderr, 300)}` };
  const line = lines[0]!;
  if (!/^incident-flows( [a-z]+)?: \S/.test(line)) return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `not an "incident-flows: …" line: ${truncate(line, 300)}` };
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line)) return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `control characters echoed to the terminal: ${JSON.stringify(line).slice(0, 300)}` };
  if (run.code !== expect.exit) return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `expected exit ${expect.exit}: ${truncate(line, 300)}` };
  if (run.stdout.trim() !== '') return { verdict: 'unnamed-error', name: `exit ${run.code}`, detail: `also wrote to stdout: ${truncate(run.stdout, 200)}` };
  return { verdict: 'named-error', name: `exit ${run.code}`, detail: truncate(line, 300) };
}

/** An HTTP server that answers everything with a 200 HTML page. */
async function htmlServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Please log in to the Wi-Fi</body></html>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A port that was free a moment ago: nothing listens there. */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Runs CLI cases (up to `parallel` processes at a time) against a sandbox; mutations are checked over the whole run, then per case where they can be told apart. */
export async function runCliCases(entry: EntryPoint, cases: CliCase[], opts: { parallel?: number; ctx?: Partial<CliCtx> } = {}): Promise<EntryReport> {
  const wall = performance.now();
  const sandbox = await Sandbox.start(parseScenario({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }));
  const html = await htmlServer();
  const dir = mkdtempSync(join(tmpdir(), 'incident-flows-hostile-'));
  const outcomes: Outcome[] = [];
  try {
    sandbox.playOut();
    const ctx: CliCtx = {
      endpoint: sandbox.url,
      dead: await deadEndpoint(),
      html: html.url,
      dir,
      file: (name, content) => {
        const path = join(dir, name);
        writeFileSync(path, content);
        return path;
      },
      ...opts.ctx,
    };
    const probe = new MutationProbe(sandbox);
    const eventBridge = eventBridgeOf(sandbox);
    // Cases that only parse arguments run side by side; those that talk to the sandbox one at a
    // time, so each one's mutations are its own.
    const touches = (c: CliCase) => c.args(ctx).some((a) => a === ctx.endpoint);
    const quiet = cases.filter((c) => !touches(c));
    const talking = cases.filter(touches);
    const results = new Map<CliCase, Outcome>();
    const queue = [...quiet];
    const parallel = opts.parallel ?? 3;
    const before = await probe.snapshot();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          const run = await runCliProcess(c.args(ctx), c.env);
          results.set(c, outcome(entry, c.name, judgeCli(run, c), [], [], run.ms));
        }
      }),
    );
    // None of these reach the sandbox: anything it recorded meanwhile would be theirs together.
    const quietDiff = probe.diff(before, await probe.snapshot());
    if (quietDiff.mutations.length) for (const c of quiet) results.get(c)!.mutations.push(...quietDiff.mutations.map((m) => `(one of the offline cases) ${m}`));
    for (const c of talking) {
      const b = await probe.snapshot();
      const run = await runCliProcess(c.args(ctx), c.env);
      await eventBridge.drain();
      // A --wait start is allowed its own StartExecution; the execution it starts must change nothing.
      const { mutations, records } = probe.diff(b, await probe.snapshot(), (op) => op === 'StartExecution' && c.args(ctx).includes('--wait'));
      results.set(c, outcome(entry, c.name, judgeCli(run, c), mutations, records, run.ms));
    }
    for (const c of cases) outcomes.push(results.get(c)!);
  } finally {
    await html.close();
    await sandbox.stop();
  }
  return { entry, outcomes, wallMs: performance.now() - wall };
}

export function runCliArguments(opts: { cases?: CliCase[]; parallel?: number } = {}): Promise<EntryReport> {
  return runCliCases('CLI arguments', opts.cases ?? CLI_CASES, opts);
}
