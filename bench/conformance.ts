/**
 * `npm run conformance [-- --speed N]`: the operations runbook's own `aws` commands, pasted as the
 * runbook writes them, against a real `incident-flows sandbox` server this script starts
 * (its clock follows wall time, N times faster; 1 by default, as a person at 3 a.m. would see it).
 *
 *  - Manual Verification: describe-services with the runbook's --query; a missing service
 *    (failures, MISSING) and update-service on one (ServiceNotFoundException).
 *  - Monitoring Review: get-metric-statistics AWS/ECS CPUUtilization, as written and per service.
 *  - P0 Investigation: cloudtrail lookup-events, logs filter-log-events ERROR (axon crash-loops in
 *    this scenario, so there are errors; orbit is healthy and has none), describe-services.
 *  - P0 Resolution on axon: update-service --force-new-deployment, then `aws ecs wait
 *    services-stable`, timed; then the runbook's back-to-back desired-count 0 and 2, then wait.
 *  - Standard Deployment on the healthy orbit: --force-new-deployment, then wait, timed, set against
 *    what the service really took (the server's own events and task times).
 *
 * Prints a table (result, seconds, command) and exits 1 if any check fails; writes
 * .bench/conformance.json. Without the AWS CLI it says so and exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROJECT = 'acme';
const CLUSTER = `${PROJECT}-cluster`;
const AXON = `${PROJECT}-axon`;
const ORBIT = `${PROJECT}-orbit`;
/** The runbook's system with axon crash-looping (the first restart clears it). */
const SCENARIO = { project: PROJECT, faults: [{ service: AXON, kind: 'crash-loop' }] };
/** Scenario defaults (sandbox/scenario.ts) and the fleet's fixed times (sandbox/ecs.ts). */
const FLEET = { startSeconds: 20, healthCheckSeconds: 10, drainSeconds: 10, stoppingSeconds: 2, schedulerSeconds: [1, 3], jitter: 0.25 } as const;
/** botocore's ECS ServicesStable waiter: DescribeServices every 15 s, 40 times. */
const CLI_WAITER = { delaySeconds: 15, maxAttempts: 40 };
const STARTUP_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------- setup

const { values: flags } = parseArgs({ options: { speed: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } } });
if (flags.help) {
  process.stdout.write('usage: npm run conformance [-- --speed N]   (N from 1 to 1000: the sandbox clock runs N times faster than wall time)\n');
  process.exit(0);
}
const SPEED = Number(flags.speed);
if (!Number.isFinite(SPEED) || SPEED < 1 || SPEED > 1000) {
  process.stderr.write(`conformance: --speed "${flags.speed}" must be a number from 1 to 1000\n`);
  process.exit(2);
}

const probe = spawnSync('aws', ['--version'], { encoding: 'utf8' });
if (probe.error) {
  process.stdout.write('conformance skipped: the AWS CLI is not installed (pip install awscli, or apt-get install awscli)\n');
  process.exit(0);
}
const AWS_VERSION = `${probe.stdout}${probe.stderr}`.trim().split(/\s+/)[0] ?? 'aws-cli/?';
/** The runbook computes its windows with GNU date; elsewhere the same instants are substituted. */
const GNU_DATE = spawnSync('date', ['-u', '-d', '1 hour ago', '+%s'], { encoding: 'utf8' }).status === 0;

const tmp = mkdtempSync(join(tmpdir(), 'incident-flows-conformance-'));
const scenarioFile = join(tmp, 'axon-crash-loop.json');
writeFileSync(scenarioFile, JSON.stringify(SCENARIO, null, 2));

interface Server {
  child: ChildProcess;
  url: string;
  startupMs: number;
}

/** `incident-flows sandbox --speed N --scenario FILE`, as a person starts it; resolves with its URL. */
function startServer(): Promise<Server> {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, ['bin/incident-flows.mjs', 'sandbox', '--speed', String(SPEED), '--scenario', scenarioFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let out = '';
  let err = '';
  // Drained for the server's whole life: it echoes EventBridge deliveries to stdout.
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not print its URL within ${STARTUP_TIMEOUT_MS / 1000} s`), STARTUP_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => fail(`exited (${code ?? signal}) before listening`);
    const onData = () => {
      const url = /sandbox listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (!url) return;
      done();
      resolve({ child, url, startupMs: Date.now() - spawnedAt });
    };
    function done() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(why: string) {
      done();
      child.kill('SIGKILL');
      reject(new Error(`the sandbox ${why}\nstdout: ${out}\nstderr: ${err}`));
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopServer(s: Server | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => s.child.once('exit', () => resolve()));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------- running commands

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

interface Row {
  section: string;
  command: string;
  ok: boolean;
  seconds: number;
  note: string;
}

const rows: Row[] = [];
let awsEnv: NodeJS.ProcessEnv = {};
let endpoint = '';

/** Runs one runbook command in bash, `aws` pointed at the sandbox with --endpoint-url. */
function sh(command: string, timeoutMs = 120_000): Promise<Result> {
  const actual = command.replace(/^aws /, `aws --endpoint-url ${endpoint} `);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', GNU_DATE ? actual : substituteDates(actual)], { env: awsEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs / 1000} s)`;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** Without GNU date: the instants the runbook's `$(date …)` stand for, as epoch seconds. */
function substituteDates(command: string): string {
  const now = Math.floor(Date.now() / 1000);
  return command.replace(/\$\(date -u -d '1 hour ago' \+%s\)/g, String(now - 3600)).replace(/\$\(date -u \+%s\)/g, String(now));
}

function json<T = any>(r: Result): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`exit ${r.code}, not JSON: ${(r.stdout || r.stderr).trim().slice(0, 300)}`);
  }
}

function ensure(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * One row of the table: runs `command` (again every 2 s while `retryForMs` lasts and the
 * verification fails — for what AWS delivers on its own time, like log events), then `verify`
 * returns the note to print or throws why the answer is not AWS's.
 */
async function check<T = string>(
  section: string,
  command: string,
  verify: (r: Result) => T,
  opts: { timeoutMs?: number; retryForMs?: number } = {},
): Promise<T | undefined> {
  const until = Date.now() + (opts.retryForMs ?? 0);
  let seconds = 0;
  for (let attempt = 1; ; attempt++) {
    const r = await sh(command, opts.timeoutMs);
    seconds += r.seconds;
    try {
      const value = verify(r);
      const note = typeof value === 'string' ? value : typeof value === 'object' && value !== null && 'note' in value ? String(value.note) : '';
      rows.push({ section, command, ok: true, seconds, note: attempt > 1 ? `${note} (attempt ${attempt})` : note });
      report(rows.at(-1)!);
      return value;
    } catch (e) {
      if (Date.now() < until) {
        await sleep(2_000);
        continue;
      }
      rows.push({ section, command, ok: false, seconds, note: (e as Error).message });
      report(rows.at(-1)!);
      return undefined;
    }
  }
}

function report(row: Row): void {
  process.stdout.write(`  ${row.ok ? 'PASS' : 'FAIL'}  ${row.seconds.toFixed(1).padStart(6)} s  ${oneLine(row.command)}\n`);
  if (row.note) process.stdout.write(`${' '.repeat(18)}${row.ok ? '' : '✗ '}${row.note}\n`);
}

function oneLine(command: string): string {
  return command.replace(/\s*\\\n\s*/g, ' ');
}

/** CLI v1 prints timestamps as epoch seconds, v2 as ISO 8601: epoch ms either way. */
function ms(t: unknown): number {
  return typeof t === 'number' ? t * 1000 : Date.parse(String(t));
}

// ---------------------------------------------------------------------------------------------- the checks

interface Restart {
  service: string;
  waitSeconds: number;
  /** Server-side seconds from the update (virtual, then wall = virtual / speed). */
  launchedAfter?: number;
  runningAfter?: number;
  oldStoppedAfter?: number;
  steadyAfter?: number;
  tasksReplaced: boolean;
}

async function manualVerification(): Promise<void> {
  const S = 'Manual Verification';
  await check(
    S,
    `aws ecs describe-services --cluster \${PROJECT_NAME}-cluster \\
    --services \${PROJECT_NAME}-axon \${PROJECT_NAME}-orbit \\
    --query 'services[*].{name:serviceName,running:runningCount,desired:desiredCount,status:status}'`,
    (r) => {
      const rowsOut = json<{ name: string; running: number; desired: number; status: string }[]>(r);
      ensure(r.code === 0, `exit ${r.code}`);
      ensure(rowsOut.length === 2 && rowsOut[0]!.name === AXON && rowsOut[1]!.name === ORBIT, `services: ${JSON.stringify(rowsOut)}`);
      ensure(rowsOut.every((s) => s.status === 'ACTIVE' && s.desired === 2), `not ACTIVE at 2: ${JSON.stringify(rowsOut)}`);
      ensure(rowsOut[1]!.running === 2, `orbit running ${rowsOut[1]!.running}/2`);
      return rowsOut.map((s) => `${s.name} ${s.running}/${s.desired} ${s.status}`).join(', ');
    },
  );
  await check(S, `aws ecs describe-services --cluster \${PROJECT_NAME}-cluster --services \${PROJECT_NAME}-nope`, (r) => {
    const out = json(r);
    ensure(r.code === 0, `exit ${r.code}: a missing service is a failure entry, not an error`);
    ensure(out.services.length === 0 && out.failures.length === 1 && out.failures[0].reason === 'MISSING', `answer: ${r.stdout.trim()}`);
    return `exit 0, failures: [{arn: …${String(out.failures[0].arn).slice(-30)}, reason: MISSING}]`;
  });
  await check(S, `aws ecs update-service --cluster \${PROJECT_NAME}-cluster --service \${PROJECT_NAME}-nope --force-new-deployment`, (r) => {
    ensure(r.code !== 0, 'exit 0 for a missing service');
    ensure(/ServiceNotFoundException/.test(r.stderr), `stderr: ${r.stderr.trim()}`);
    return `exit ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`;
  });
}

async function monitoringReview(): Promise<void> {
  const S = 'Monitoring Review';
  await check(
    S,
    `aws cloudwatch get-metric-statistics --namespace AWS/ECS \\
    --metric-name CPUUtilization --statistics Average \\
    --start-time $(date -u -d '1 hour ago' +%s) \\
    --end-time $(date -u +%s) --period 3600`,
    (r) => {
      const out = json(r);
      ensure(r.code === 0 && out.Label === 'CPUUtilization' && Array.isArray(out.Datapoints), `answer: ${r.stdout.trim()}`);
      // AWS/ECS publishes CPUUtilization per ClusterName (EC2 tasks only) and per ClusterName+ServiceName,
      // never without dimensions: the runbook's command, as written, reads nothing — on AWS too.
      ensure(out.Datapoints.length === 0, `expected no datapoints without --dimensions, got ${out.Datapoints.length}`);
      return 'Datapoints: [] — as on AWS: ECS publishes no dimensionless metric; the runbook needs --dimensions';
    },
  );
  for (const service of [AXON, ORBIT]) {
    await check(
      S,
      `aws cloudwatch get-metric-statistics --namespace AWS/ECS \\
    --metric-name CPUUtilization --statistics Average \\
    --start-time $(date -u -d '1 hour ago' +%s) \\
    --end-time $(date -u +%s) --period 3600 \\
    --dimensions Name=ClusterName,Value=\${PROJECT_NAME}-cluster Name=ServiceName,Value=${service.replace(PROJECT, '${PROJECT_NAME}')}`,
      (r) => {
        const out = json(r);
        ensure(r.code === 0 && out.Datapoints.length >= 1 && out.Datapoints.length <= 2, `answer: ${r.stdout.trim()}`);
        ensure(out.Datapoints.every((d: { Unit: string; Average: number }) => d.Unit === 'Percent' && d.Average >= 0 && d.Average <= 100), `datapoints: ${JSON.stringify(out.Datapoints)}`);
        return `Average ${out.Datapoints.map((d: { Average: number }) => d.Average.toFixed(1)).join(', ')} % (runbook: should be < 70 %)`;
      },
    );
  }
  await check(
    S,
    `aws cloudwatch get-metric-statistics \\
       --namespace AWS/ECS \\
       --metric-name CPUUtilization \\
       --statistics Maximum \\
       --start-time $(date -u -d '1 hour ago' +%s)`,
    (r) => {
      // The P1 section's form: the CLI itself refuses it before any request.
      ensure(r.code !== 0 && /--end-time/.test(r.stderr) && /--period/.test(r.stderr), `exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
      return `exit ${r.code} in the CLI, no request sent: ${r.stderr.trim().split('\n').at(-1)}`;
    },
  );
}

async function p0Investigation(): Promise<void> {
  const S = 'P0 Investigation';
  await check(
    S,
    `aws cloudtrail lookup-events \\
       --start-time $(date -u -d '1 hour ago' +%s) \\
       --lookup-attributes AttributeKey=EventName,AttributeValue=UpdateService`,
    (r) => {
      const out = json(r);
      ensure(r.code === 0, `exit ${r.code}`);
      const deploy = out.Events.find((e: { Username: string }) => e.Username === 'deploy-bot');
      ensure(deploy, `no UpdateService by deploy-bot in the last hour: ${r.stdout.trim().slice(0, 300)}`);
      ensure(out.Events.every((e: { EventName: string }) => e.EventName === 'UpdateService'), 'other events than UpdateService');
      ensure(deploy.Resources.some((x: { ResourceName: string }) => x.ResourceName === AXON), `resources: ${JSON.stringify(deploy.Resources)}`);
      const minutes = (Date.now() - ms(deploy.EventTime)) / 60_000;
      ensure(minutes >= 0 && minutes <= 60, `EventTime ${deploy.EventTime} is not within the last hour`);
      return `${out.Events.length} event(s); UpdateService ${AXON} by deploy-bot ${minutes.toFixed(0)} min ago (wall)`;
    },
  );
  // The runbook passes seconds where FilterLogEvents takes milliseconds: its window starts in
  // January 1970, so it returns every ERROR ever logged — on AWS too. The second form is what it means.
  const errors = (r: Result) => {
    const out = json(r);
    ensure(r.code === 0, `exit ${r.code}`);
    const lines = out.events as { message: string }[];
    ensure(lines.length > 0, 'no ERROR lines yet');
    ensure(lines.every((e) => e.message.includes('ERROR')), 'a line without ERROR');
    const exits = lines.filter((e) => e.message === 'ERROR Process exited with code 1').length;
    return `${lines.length} ERROR line(s), ${exits} "Process exited with code 1"`;
  };
  await check(
    S,
    `aws logs filter-log-events \\
       --log-group-name /ecs/\${PROJECT_NAME}-axon \\
       --filter-pattern "ERROR" \\
       --start-time $(date -u -d '1 hour ago' +%s)`,
    (r) => `${errors(r)} — start-time in seconds is read as ms (1970): everything`,
    // The crash loop's first exits come 8-11 s (simulated) after the server starts.
    { retryForMs: 30_000 },
  );
  await check(
    S,
    `aws logs filter-log-events \\
       --log-group-name /ecs/\${PROJECT_NAME}-axon \\
       --filter-pattern "ERROR" \\
       --start-time $(( $(date -u -d '1 hour ago' +%s) * 1000 ))`,
    (r) => `${errors(r)} — the last hour, in milliseconds`,
  );
  await check(
    S,
    `aws logs filter-log-events \\
       --log-group-name /ecs/\${PROJECT_NAME}-orbit \\
       --filter-pattern "ERROR" \\
       --start-time $(( $(date -u -d '1 hour ago' +%s) * 1000 ))`,
    (r) => {
      const out = json(r);
      ensure(r.code === 0 && out.events.length === 0, `healthy orbit has ERROR lines: ${r.stdout.trim().slice(0, 200)}`);
      return 'no ERROR lines (healthy)';
    },
  );
  await check(S, `aws ecs describe-services --cluster \${PROJECT_NAME}-cluster --services \${PROJECT_NAME}-axon`, (r) => {
    const s = json(r).services[0];
    ensure(r.code === 0 && s.status === 'ACTIVE' && s.desiredCount === 2, `answer: ${r.stdout.slice(0, 200)}`);
    ensure(s.deployments.length === 1 && s.deployments[0].status === 'PRIMARY' && s.deployments[0].rolloutState === 'COMPLETED', `deployments: ${JSON.stringify(s.deployments)}`);
    const crash = s.events.find((e: { message: string }) => /unable to consistently start tasks/.test(e.message));
    return `${s.runningCount}/${s.desiredCount} running, one PRIMARY deployment (COMPLETED)${crash ? '; events: "unable to consistently start tasks successfully"' : ''}`;
  });
}

async function runningTasks(service: string): Promise<string[]> {
  const r = await sh(`aws ecs list-tasks --cluster ${CLUSTER} --service-name ${service}`);
  return r.code === 0 ? (json(r).taskArns as string[]) : [];
}

async function describeService(service: string): Promise<any> {
  return json(await sh(`aws ecs describe-services --cluster ${CLUSTER} --services ${service}`)).services[0];
}

/** `aws ecs wait services-stable` as the runbook writes it, timed; resolves with its wall seconds when it exits 0. */
async function waitStable(section: string, service: string): Promise<number | undefined> {
  return check(
    section,
    `aws ecs wait services-stable --cluster \${PROJECT_NAME}-cluster --services ${service.replace(PROJECT, '${PROJECT_NAME}')}`,
    (r) => {
      ensure(r.code === 0, `exit ${r.code}: ${r.stderr.trim()}`);
      return { seconds: r.seconds, note: `exit 0 after ${r.seconds.toFixed(1)} s (botocore polls every ${CLI_WAITER.delaySeconds} s, ${CLI_WAITER.maxAttempts} times)` };
    },
    { timeoutMs: (CLI_WAITER.delaySeconds * CLI_WAITER.maxAttempts + 60) * 1000 },
  ).then((v) => v?.seconds);
}

/** Server-side times of a restart, from DescribeServices events and DescribeTasks (the server's clock). */
async function serverTimeline(service: string, updatedAtMs: number, newTasks: string[]): Promise<Omit<Restart, 'service' | 'waitSeconds' | 'tasksReplaced'>> {
  const s = await describeService(service);
  const after = (re: RegExp) => {
    const times = (s.events as { createdAt: unknown; message: string }[]).map((e) => ({ at: ms(e.createdAt), message: e.message })).filter((e) => e.at >= updatedAtMs && re.test(e.message));
    return times.length ? (Math.min(...times.map((e) => e.at)) - updatedAtMs) / 1000 : undefined;
  };
  let runningAfter: number | undefined;
  if (newTasks.length > 0) {
    const tasks = json(await sh(`aws ecs describe-tasks --cluster ${CLUSTER} --tasks ${newTasks.join(' ')}`)).tasks as { startedAt?: unknown }[];
    const started = tasks.map((t) => (t.startedAt === undefined ? Number.NaN : ms(t.startedAt)));
    if (started.every(Number.isFinite)) runningAfter = (Math.max(...started) - updatedAtMs) / 1000;
  }
  return {
    launchedAfter: after(/has started \d+ tasks/),
    runningAfter,
    oldStoppedAfter: after(/has stopped \d+ running tasks/),
    steadyAfter: after(/has reached a steady state/),
  };
}

/** update-service --force-new-deployment, wait services-stable (timed), then the answers AWS guarantees. */
async function forcedRestart(section: string, service: string): Promise<Restart | undefined> {
  const before = await runningTasks(service);
  const short = service.replace(PROJECT, '${PROJECT_NAME}');
  const primary = await check(
    section,
    `aws ecs update-service \\
       --cluster \${PROJECT_NAME}-cluster \\
       --service ${short} \\
       --force-new-deployment`,
    (r) => {
      const s = json(r).service;
      ensure(r.code === 0, `exit ${r.code}`);
      const p = s.deployments.find((d: { status: string }) => d.status === 'PRIMARY');
      ensure(p && p.rolloutState === 'IN_PROGRESS' && s.deployments.length === 2, `deployments right after: ${JSON.stringify(s.deployments)}`);
      return { id: p.id as string, createdAt: p.createdAt as unknown, note: `new PRIMARY deployment IN_PROGRESS, listed at once with the old one (${s.deployments.length} deployments)` };
    },
  );
  if (!primary) return undefined;
  const waited = await waitStable(section, service);
  if (waited === undefined) return undefined;
  const after = await runningTasks(service);
  const stable = await check(section, `aws ecs describe-services --cluster \${PROJECT_NAME}-cluster --services ${short}`, (r) => {
    const s = json(r).services[0];
    ensure(s.deployments.length === 1 && s.deployments[0].id === primary.id, `deployments: ${JSON.stringify(s.deployments.map((d: { id: string; status: string }) => [d.id, d.status]))}`);
    ensure(s.runningCount === 2 && s.desiredCount === 2, `${s.runningCount}/${s.desiredCount}`);
    ensure(after.length === 2 && after.every((t) => !before.includes(t)), `tasks before ${before.length}, after ${after.length}, kept ${after.filter((t) => before.includes(t)).length}`);
    return `2/2 running, one deployment (${s.deployments[0].rolloutState}), both tasks new (list-tasks before/after)`;
  });
  // rolloutState COMPLETED follows once the new tasks pass their health checks — possibly after the waiter returned.
  await check(
    section,
    `aws ecs describe-services --cluster \${PROJECT_NAME}-cluster --services ${short} --query 'services[0].deployments[*].rolloutState'`,
    (r) => {
      const states = json<string[]>(r);
      ensure(states.length === 1 && states[0] === 'COMPLETED', `rolloutState ${JSON.stringify(states)}`);
      return 'COMPLETED';
    },
    { retryForMs: (60 / SPEED + 10) * 1000 },
  );
  const timeline = await serverTimeline(service, ms(primary.createdAt), after);
  return { service, waitSeconds: waited, tasksReplaced: stable !== undefined, ...timeline };
}

async function p0Resolution(): Promise<{ forced?: Restart; scaled?: { waitSeconds: number; collapsed: boolean } }> {
  const S = 'P0 Resolution';
  // Force Redeployment, then Verify Recovery: the crash loop is cleared by the new deployment.
  const forced = await forcedRestart(S, AXON);
  // Restart Services: desired 0 then 2, back to back, then Verify Recovery.
  const before = await runningTasks(AXON);
  await check(
    S,
    `aws ecs update-service \\
       --cluster \${PROJECT_NAME}-cluster \\
       --service \${PROJECT_NAME}-axon \\
       --desired-count 0`,
    (r) => {
      ensure(r.code === 0 && json(r).service.desiredCount === 0, `exit ${r.code}: ${r.stderr.trim()}`);
      return 'desiredCount 0';
    },
  );
  await check(
    S,
    `aws ecs update-service \\
       --cluster \${PROJECT_NAME}-cluster \\
       --service \${PROJECT_NAME}-axon \\
       --desired-count 2`,
    (r) => {
      ensure(r.code === 0 && json(r).service.desiredCount === 2, `exit ${r.code}: ${r.stderr.trim()}`);
      return 'desiredCount 2';
    },
  );
  const waited = await waitStable(S, AXON);
  const after = await runningTasks(AXON);
  const collapsed = before.length === after.length && after.every((t) => before.includes(t));
  await check(S, `aws ecs describe-services --cluster \${PROJECT_NAME}-cluster --services \${PROJECT_NAME}-axon`, (r) => {
    const s = json(r).services[0];
    ensure(s.desiredCount === 2 && s.runningCount === 2 && s.deployments.length === 1, `${s.runningCount}/${s.desiredCount}, ${s.deployments.length} deployment(s)`);
    return `stable at 2/2 — ${collapsed ? 'the two updates collapsed: no task was stopped' : 'ECS saw 0: every task was replaced'} (either is AWS)`;
  });
  return { ...(forced ? { forced } : {}), ...(waited !== undefined ? { scaled: { waitSeconds: waited, collapsed } } : {}) };
}

// ---------------------------------------------------------------------------------------------- main

function expectedHealthyRestart(): { nominal: string; range: [number, number] } {
  const [sLo, sHi] = FLEET.schedulerSeconds;
  const start = FLEET.startSeconds;
  const warm = FLEET.healthCheckSeconds;
  // pass → launch; start + warm-up (each up to +25 %); pass → stop old; drain; STOPPING; pass → retire.
  const lo = sLo + start + warm + sLo + FLEET.drainSeconds + FLEET.stoppingSeconds + sLo;
  const hi = sHi + (start + warm) * (1 + FLEET.jitter) + sHi + FLEET.drainSeconds + FLEET.stoppingSeconds + sHi;
  return { nominal: `${start} s start + ${warm} s warm-up + ${FLEET.drainSeconds} s drain + ${sLo}–${sHi} s scheduler = ${start + warm + FLEET.drainSeconds + sLo}–${start + warm + FLEET.drainSeconds + sHi} s`, range: [lo, hi] };
}

function fmt(seconds: number | undefined): string {
  return seconds === undefined ? '?' : `${seconds.toFixed(1)} s`;
}

function describeRestart(r: Restart): string {
  const wall = (v: number | undefined) => (v === undefined ? '?' : SPEED === 1 ? fmt(v) : `${fmt(v)} (${fmt(v / SPEED)} wall)`);
  return [
    `    server clock after update-service: tasks launched ${wall(r.launchedAfter)}, RUNNING ${wall(r.runningAfter)}, old tasks stopped ${r.oldStoppedAfter === undefined ? 'none (none was running)' : wall(r.oldStoppedAfter)}, steady state ${wall(r.steadyAfter)}`,
    `    aws ecs wait services-stable returned after ${fmt(r.waitSeconds)} wall (it polls every ${CLI_WAITER.delaySeconds} s; first poll at once)`,
  ].join('\n');
}

async function main(): Promise<number> {
  process.stdout.write(`conformance: the runbook's aws commands against incident-flows sandbox --speed ${SPEED} (${AWS_VERSION}${GNU_DATE ? '' : ', no GNU date: $(date …) substituted'})\n`);
  const wallStart = Date.now();
  const server = await startServer();
  const stop = () => {
    void stopServer(server).then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  endpoint = server.url;
  const config = join(tmp, 'aws-config');
  writeFileSync(config, '');
  awsEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PROJECT_NAME: PROJECT,
    // Dummy credentials and a region; no profile or config of the user's can redirect a call.
    AWS_ACCESS_KEY_ID: 'sandbox',
    AWS_SECRET_ACCESS_KEY: 'sandbox',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: config,
    AWS_ENDPOINT_URL: server.url,
    AWS_DEFAULT_OUTPUT: 'json',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '3',
  };
  process.stdout.write(`sandbox at ${server.url} after ${(server.startupMs / 1000).toFixed(1)} s; scenario: ${AXON} crash-looping, ${ORBIT} healthy\n\n`);
  let p0: Awaited<ReturnType<typeof p0Resolution>> = {};
  let deploy: Restart | undefined;
  try {
    await manualVerification();
    await monitoringReview();
    await p0Investigation();
    p0 = await p0Resolution();
    // Standard Deployment on a healthy service: the restart whose length is the service's real start time.
    deploy = await forcedRestart('Standard Deployment', ORBIT);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await stopServer(server);
    rmSync(tmp, { recursive: true, force: true });
  }

  const failed = rows.filter((r) => !r.ok);
  const expected = expectedHealthyRestart();
  process.stdout.write(`\n${'result'.padEnd(6)} ${'seconds'.padStart(8)}  command\n`);
  for (const r of rows) process.stdout.write(`${(r.ok ? 'pass' : 'FAIL').padEnd(6)} ${r.seconds.toFixed(1).padStart(8)}  ${oneLine(r.command)}\n`);
  process.stdout.write('\nwait services-stable against what the services really took:\n');
  if (p0.forced) process.stdout.write(`  ${AXON} (crash-looping) --force-new-deployment:\n${describeRestart(p0.forced)}\n`);
  if (p0.scaled) process.stdout.write(`  ${AXON} desired-count 0 then 2: wait services-stable ${fmt(p0.scaled.waitSeconds)} wall (${p0.scaled.collapsed ? 'collapsed: nothing stopped' : 'tasks replaced'})\n`);
  if (deploy) {
    process.stdout.write(`  ${ORBIT} (healthy) --force-new-deployment:\n${describeRestart(deploy)}\n`);
    const [lo, hi] = expected.range;
    process.stdout.write(
      `    expected for a healthy service: ${expected.nominal} nominal; ${lo.toFixed(0)}–${hi.toFixed(1)} s with launch jitter and the 2 s STOPPING` +
        `${SPEED === 1 ? '' : ` (÷${SPEED}: ${(lo / SPEED).toFixed(1)}–${(hi / SPEED).toFixed(1)} s wall)`}; the waiter sees it at its first poll after that (polls at 0, 15, 30, … s)\n`,
    );
  }
  process.stdout.write(`\n${rows.length - failed.length}/${rows.length} checks passed in ${((Date.now() - wallStart) / 1000).toFixed(0)} s wall.\n`);
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  writeFileSync(
    join(ROOT, '.bench', 'conformance.json'),
    `${JSON.stringify({ speed: SPEED, awsCli: AWS_VERSION, startupSeconds: server.startupMs / 1000, checks: rows, p0, deploy, expectedHealthyRestart: expected }, null, 2)}\n`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`conformance: ${e.message}\n`);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  },
);
