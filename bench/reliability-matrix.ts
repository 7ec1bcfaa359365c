/**
 * The reliability fault matrix (issue 8, "Must show"): P0 incidents run end to end in the sandbox
 * (alarm → EventBridge → start-incident → P0 → record-incident, the reconciler on its 5-minute
 * schedule) under drill faults, API faults, lost/late/duplicate events, aborts and timeouts at
 * every state, and a 50-incident storm — each judged against what the product documents.
 *
 * Used by `npm run bench:reliability` (bench/reliability.ts, the whole matrix) and by the CI subset
 * (test/reliability/fault-matrix.test.ts, a few rows).
 *
 * What a "right ending" is, from the documented promises:
 * - docs/workflows/p0-system-down.md "Outcomes": healthy → SUCCEEDED no-action; a restart (or the
 *   forced redeployment after it) that stabilises and verifies → SUCCEEDED recovered; nothing
 *   stabilises, verify fails or any step fails → FAILED IncidentEscalated, desired count restored.
 *   The drill's own table (cli/drill-scenario.ts DRILL_FAULTS) says which fault calls for which.
 * - docs/decisions/0008 and docs/architecture.md "Invariants": StopExecution and the execution's
 *   own timeout run no Catch; the incident is still recorded and closed (record-incident, or the
 *   reconciler when the end's event is lost) and the service is put back to at least the count it
 *   had before the incident — "at worst 5 minutes late".
 * - docs/operations.md "Paging": whenever people must take over (escalation, timeout, abort,
 *   failure, a count restored, an incident the reconciler had to close) a page goes to SNS.
 * - docs/incidents.md / docs/architecture.md: one incident and one execution per service; every
 *   execution end is recorded and the incident closed.
 * - A "recovered" claim must be true: the service serves (every desired task running and the
 *   health check answering) when the execution ends.
 *
 * AWS behaviour the bench plays that the sandbox's EventBridge does not: Lambda's asynchronous
 * retries of start-incident (infra/incidents.ts `configureAsyncInvoke({ retryAttempts: 2 })`:
 * the same event again after about 1 and 2 more minutes), so an outage of StartExecution or
 * DynamoDB at the alarm is met as it would be on AWS. record-incident's failures are left to the
 * reconciler (the product's own answer to a lost or failed end).
 *
 * The sandbox's outages are counts of failures (`maxFailures`), not durations: once the workflow
 * has ended, a failing call is only retried by the 5-minute reconciler, so a large count outlasts
 * the reconciler's window. The rows say which phase each outage is meant to cover.
 */
import { createHash } from 'node:crypto';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { documentClient } from '#commons/clients';
import { IncidentStore, type IncidentRecord } from '#commons/incidents';
import { DRILL_FAULTS, type DrillFault } from '../cli/drill-scenario.ts';
import { eventBridgeOf, type EventBridgeEmulator } from '../sandbox/eventbridge.ts';
import { Sandbox, type SandboxOptions } from '../sandbox/index.ts';
import { parseScenario, type ScenarioInput } from '../sandbox/scenario.ts';

export type RestartMode = 'force-new-deployment' | 'scale-to-zero';

export interface Interrupt {
  /** StopExecution (a person in the console) or the execution's own timeout. */
  kind: 'stop' | 'timeout';
  /** Fired the first time the execution enters this state… */
  state?: string;
  /** …or the moment ECS receives this call from the execution, while its handler is in flight (the call still applies, and the Lambda runs on, as on AWS). */
  call?: { operation: 'UpdateService'; desiredCount?: number; forceNewDeployment?: boolean };
}

/** Where an interrupt fires, in words. */
export function interruptPoint(i: Interrupt): string {
  if (i.state !== undefined) return `"${i.state}"`;
  const c = i.call!;
  const what = [c.desiredCount !== undefined ? `desiredCount=${c.desiredCount}` : '', c.forceNewDeployment ? 'forceNewDeployment' : ''].filter(Boolean).join(' ');
  return `${c.operation}(${what}) in flight`;
}

export interface Row {
  id: string;
  group: string;
  about: string;
  scenario: ScenarioInput;
  service: string;
  restartMode: RestartMode;
  interrupt?: Interrupt;
  /** Endings the documented promises allow (an interrupt makes it "aborted" / "timed-out"). */
  accept: string[];
  /** Why those endings, in a few words. */
  why: string;
}

export interface RunResult {
  id: string;
  group: string;
  about: string;
  service: string;
  restartMode: RestartMode;
  seed: number;
  accept: string[];
  why: string;
  /** Execution status as Step Functions reports it, or NONE when no execution was started. */
  status: string;
  error?: string;
  cause?: string;
  /** recovered, no-action, escalated, aborted, timed-out, failed (Error), no-execution, running. */
  ending: string;
  executions: number;
  executionArn?: string;
  /** States entered, consecutive repeats folded ("Wait … ⟲3"). */
  path: string[];
  interrupt?: Interrupt & { landed: boolean; at?: string };
  incident?: { id: string; status: string; outcome?: string; closedBy?: string };
  desiredBefore: number;
  /** Desired count the moment the execution ended (before record-incident or the reconciler). */
  desiredAtEnd?: number;
  /** Desired count after the reconciler's window (the figure that must not be below "before"). */
  desiredAfter: number;
  /** When the count was still below "before" after the reconciler's window: simulated seconds from the execution's end until it was back (or until the bench gave up). */
  secondsBelowAfterEnd?: number;
  runningAfter: number;
  /** Serving when the execution ended: every desired task running and the health check answering. */
  servingAtEnd?: boolean;
  servingAfter: boolean;
  /** Who put the count back, when it was below "before" at the end. */
  restoredBy: string[];
  /** Changes that took effect on the service (CloudTrail's UpdateService records), the fail-safe's and settlers' included. */
  changes: string[];
  /** The last UpdateService the sandbox answered (a failing one means ECS was still refusing changes). */
  lastUpdateService?: { at: string; status: number; errorCode?: string };
  /** SNS subjects paged for the service. */
  pages: string[];
  /** start-incident deliveries (the first and Lambda's retries): outcome or error. */
  deliveries: string[];
  /** Deliveries and scheduled runs that threw (kept as a dead-letter queue would keep them). */
  failures: string[];
  reconcilerRuns: number;
  right: boolean;
  /** Right, but not the row's first-choice ending (an escalation the docs allow under an outage). */
  degraded: boolean;
  /** Empty when right; otherwise each broken promise. */
  problems: string[];
  /** The bench could not exercise the row as designed (an interrupt's state never entered). */
  notExercised?: string;
  simulatedSeconds: number;
  wallMs: number;
  repro: { scenario: ScenarioInput; sandboxOptions: SandboxOptions; alarm: { alarmName: string; eventId: string }; startInput?: unknown; interrupt?: Interrupt; command: string };
}

export const SERVICE = 'acme-axon';
const P0 = 'p0-system-down';
const TERMINAL = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);
const FINE = new Set(['recovered', 'no-action', 'dry-run']);
/** Simulated seconds given to the reconciler after the incident: two of its 5-minute runs. */
export const RECONCILER_WINDOW_SECONDS = 600;
/**
 * While the service is still below its count after that window (ECS refusing UpdateService through
 * the outage), the bench keeps the reconciler running, a minute at a time, up to this long: the
 * promise is that the count goes back the first run after ECS answers again.
 */
export const OUTAGE_WINDOW_SECONDS = 2 * 3600;
/** Lambda's asynchronous retries of a failed start-incident (about 1, then 2 more minutes). */
const LAMBDA_ASYNC_RETRY_SECONDS = [60, 120];

// ------------------------------------------------------------------ one run

/** Boots a sandbox, lets the fault play out, fires the alarm through EventBridge, runs P0 to its end and the reconciler's window, and judges the ending. */
export async function runRow(row: Row): Promise<RunResult> {
  const wall = performance.now();
  const scenario = parseScenario(row.scenario);
  const sandboxOptions: SandboxOptions = { incidents: { serviceInputs: { [row.service]: { restartMode: row.restartMode } } } };
  const sandbox = await Sandbox.start(scenario, sandboxOptions);
  try {
    sandbox.playOut();
    const eventBridge = eventBridgeOf(sandbox);
    const watch = watchExecutions(sandbox, [row.service], row.interrupt);
    const desiredBefore = sandbox.fleet.snapshot(row.service)!.desiredCount;
    const started = sandbox.clock.nowMs();
    const alarm = { alarmName: `${row.service}-unhealthy-hosts`, eventId: eventIdFor(row.id) };
    const deliveries = await deliverAlarm(eventBridge, alarm);
    await eventBridge.drain();
    const endedAt = sandbox.clock.nowMs();
    await reconcilerWindow(sandbox, eventBridge);
    let below = 0;
    const isBelow = () => (sandbox.fleet.snapshot(row.service)?.desiredCount ?? 0) < desiredBefore;
    if (isBelow()) {
      below = await reconcilerWindow(sandbox, eventBridge, OUTAGE_WINDOW_SECONDS - RECONCILER_WINDOW_SECONDS, () => !isBelow());
      below = isBelow() ? Math.round((sandbox.clock.nowMs() - endedAt) / 1000) : RECONCILER_WINDOW_SECONDS + below;
    }
    watch.stop();
    const { startInput, ...observed } = await observe(sandbox, eventBridge, row.service, watch, deliveries, desiredBefore);
    const interrupt = row.interrupt ? { ...row.interrupt, ...(watch.interrupted.get(row.service) ?? { landed: false }) } : undefined;
    const result: RunResult = {
      id: row.id,
      group: row.group,
      about: row.about,
      service: row.service,
      restartMode: row.restartMode,
      seed: scenario.seed,
      accept: acceptedEndings(row),
      why: row.why,
      ...observed,
      ...(below > 0 ? { secondsBelowAfterEnd: below } : {}),
      ...(interrupt ? { interrupt } : {}),
      right: false,
      degraded: false,
      problems: [],
      simulatedSeconds: Math.round((endedAt - started) / 1000),
      wallMs: 0,
      repro: {
        scenario: row.scenario,
        sandboxOptions,
        alarm,
        ...(startInput !== undefined ? { startInput } : {}),
        ...(row.interrupt ? { interrupt: row.interrupt } : {}),
        command: `BENCH_ONLY='${row.id}' npm run bench:reliability`,
      },
    };
    judge(result);
    result.wallMs = Math.round(performance.now() - wall);
    return result;
  } finally {
    await sandbox.stop();
  }
}

/** The endings a row allows: an interrupt that landed calls for aborted / timed-out. */
export function acceptedEndings(row: Pick<Row, 'accept' | 'interrupt'>): string[] {
  if (!row.interrupt) return row.accept;
  return [row.interrupt.kind === 'stop' ? 'aborted' : 'timed-out'];
}

/** Judges a run against the promises (see the top of this file); fills `right` and `problems`. */
export function judge(r: RunResult): void {
  const problems: string[] = [];
  if (r.interrupt && !r.interrupt.landed) {
    r.notExercised = `the execution never reached ${interruptPoint(r.interrupt)}, so it was never ${r.interrupt.kind === 'stop' ? 'stopped' : 'timed out'} there`;
  }
  const accept = r.interrupt && !r.interrupt.landed ? [] : r.accept;
  if (!r.notExercised && !accept.includes(r.ending)) problems.push(`ended ${r.ending}${r.error ? ` (${r.error}: ${short(r.cause)})` : ''}; the row calls for ${accept.join(' or ')}`);
  if (r.executions !== 1) problems.push(`${r.executions} executions for ${r.service} (one incident, one execution)`);
  if (!r.incident) problems.push(`no incident record for ${r.service}`);
  else {
    if (r.incident.status !== 'closed') problems.push(`incident ${r.incident.id} still ${r.incident.status} ${RECONCILER_WINDOW_SECONDS / 60} simulated minutes after the execution ended (reconciler included)`);
    else if (r.executions > 0 && r.incident.outcome !== r.ending) problems.push(`incident ${r.incident.id} records "${r.incident.outcome}" but the execution ended ${r.ending}`);
  }
  // Below the count while ECS still refuses every UpdateService is an outage no automation can fix:
  // the promise then is that people were told at once, with the command to run (an allowed, degraded
  // ending). Below the count with ECS answering, or without that page, is wrong.
  let outageTold = false;
  if (r.desiredAfter < r.desiredBefore) {
    const stillRefusing = r.lastUpdateService !== undefined && r.lastUpdateService.status >= 400;
    outageTold = stillRefusing && r.pages.some((p) => p.includes('could NOT be restored'));
    const refusing = stillRefusing ? ` (ECS was still refusing UpdateService: the last attempt, at ${r.lastUpdateService!.at.slice(11, 19)}, answered ${r.lastUpdateService!.status} ${r.lastUpdateService!.errorCode ?? ''})` : '';
    if (!outageTold) problems.push(`desired count ${r.desiredAfter} after the reconciler's window, ${r.desiredBefore} before the incident${refusing}${stillRefusing ? ', and nobody was paged that it could not be restored' : ''}`);
  }
  if (!FINE.has(r.ending) && r.pages.length === 0) problems.push(`ended ${r.ending}: people must take over, but nothing was paged`);
  if (r.ending === 'recovered' && r.servingAtEnd === false) problems.push('claimed recovered, but the service was not serving when the execution ended');
  if (r.ending === 'no-action' && r.changes.length > 0) problems.push(`ended no-action, but changed the service: ${r.changes.join(', ')}`);
  r.problems = problems;
  r.right = problems.length === 0 && !r.notExercised;
  r.degraded = r.right && (r.ending !== accept[0] || outageTold);
}

interface Watch {
  desiredAtEnd: Map<string, number>;
  servingAtEnd: Map<string, boolean>;
  interrupted: Map<string, { landed: boolean; at?: string }>;
  stop(): void;
}

/** Notes each P0 execution's end (desired count, serving) and fires the row's interrupt. */
function watchExecutions(sandbox: Sandbox, services: string[], interrupt: Interrupt | undefined): Watch {
  const p0 = sandbox.stateMachineArn(P0);
  const watched = new Set(services);
  const w: Watch = { desiredAtEnd: new Map(), servingAtEnd: new Map(), interrupted: new Map(), stop: () => {} };
  const serviceOf = new Map<string, string>();
  const fire = (executionArn: string, service: string) => {
    w.interrupted.set(service, { landed: true, at: sandbox.clock.now().toISOString() });
    if (interrupt!.kind === 'stop') {
      void Promise.resolve(
        sandbox.sfn.handle('StopExecution', { executionArn, error: 'Operator', cause: `reliability bench: stopped from the console at ${interruptPoint(interrupt!)}` }),
      ).catch(() => undefined);
    } else sandbox.sfn.timeOut(executionArn);
  };
  let active = true;
  const call = interrupt?.call;
  if (call) {
    sandbox.server.intercept((c) => {
      if (!active || c.api !== 'ecs' || c.operation !== call.operation) return;
      if (call.desiredCount !== undefined && c.body.desiredCount !== call.desiredCount) return;
      if (call.forceNewDeployment !== undefined && Boolean(c.body.forceNewDeployment) !== call.forceNewDeployment) return;
      const service = String(c.body.service ?? '').split('/').pop()!;
      if (!watched.has(service) || w.interrupted.has(service)) return;
      const running = sandbox.sfn.listExecutionRecords().find((r) => r.stateMachineArn === p0 && r.status === 'RUNNING' && serviceOf.get(r.executionArn) === service);
      if (running) fire(running.executionArn, service);
    });
  }
  const off = sandbox.sfn.onEvent((event, record) => {
    if (record.stateMachineArn !== p0) return;
    let service = serviceOf.get(record.executionArn);
    if (service === undefined) {
      service = String((JSON.parse(record.input) as { service?: unknown }).service ?? '');
      serviceOf.set(record.executionArn, service);
    }
    if (!watched.has(service)) return;
    if (TERMINAL.has(event.type ?? '') && !w.desiredAtEnd.has(service)) {
      const s = sandbox.fleet.snapshot(service);
      w.desiredAtEnd.set(service, s?.desiredCount ?? 0);
      w.servingAtEnd.set(service, !!s && s.runningCount >= s.desiredCount && s.desiredCount > 0 && sandbox.fleet.isHealthy(service));
    }
    if (interrupt?.state !== undefined && !w.interrupted.has(service) && event.stateEnteredEventDetails?.name === interrupt.state && record.status === 'RUNNING') {
      fire(record.executionArn, service);
    }
  });
  w.stop = () => {
    active = false;
    off();
  };
  return w;
}

/** The alarm's event to start-incident; when the function fails, Lambda's async retries deliver the same event again. */
async function deliverAlarm(eventBridge: EventBridgeEmulator, alarm: { alarmName: string; eventId: string }): Promise<string[]> {
  const attempts: string[] = [];
  for (let i = 0; i <= LAMBDA_ASYNC_RETRY_SECONDS.length; i++) {
    if (i > 0) await eventBridge.elapse(LAMBDA_ASYNC_RETRY_SECONDS[i - 1]!);
    try {
      const result = await eventBridge.fireAlarm({ ...alarm, reason: `Threshold Crossed: ${alarm.alarmName.replace(/-unhealthy-hosts$/, '')} has fewer healthy hosts than desired` });
      attempts.push(result.outcome);
      return attempts;
    } catch (err) {
      attempts.push(`threw ${(err as Error).name}: ${short((err as Error).message)}`);
    }
  }
  attempts.push('→ dead-letter queue');
  return attempts;
}

/** Lets the scheduled reconciler run (every 5 simulated minutes) and finish, then runs anything it started. */
async function reconcilerWindow(sandbox: Sandbox, eventBridge: EventBridgeEmulator, seconds = RECONCILER_WINDOW_SECONDS, done?: () => boolean): Promise<number> {
  let t = 0;
  for (; t < seconds && !done?.(); t += 60) {
    sandbox.clock.advance(60);
    await eventBridge.schedulesIdle();
    await eventBridge.settled();
    // An execution the reconciler started runs on the sandbox's own time: jumping the clock a
    // minute while its Lambda is mid-call would time that call out, which AWS would not do.
    await eventBridge.drain();
  }
  await eventBridge.drain();
  await eventBridge.settled();
  return t;
}

type Observed = Omit<RunResult, 'id' | 'group' | 'about' | 'service' | 'restartMode' | 'seed' | 'accept' | 'why' | 'right' | 'degraded' | 'problems' | 'simulatedSeconds' | 'wallMs' | 'repro' | 'interrupt'> & {
  startInput?: unknown;
};

async function observe(sandbox: Sandbox, eventBridge: EventBridgeEmulator, service: string, watch: Watch, deliveries: string[], desiredBefore: number): Promise<Observed> {
  const p0 = sandbox.stateMachineArn(P0);
  const records = sandbox.sfn
    .listExecutionRecords()
    .filter((r) => r.stateMachineArn === p0 && (JSON.parse(r.input) as { service?: unknown }).service === service)
    .sort((a, b) => a.startDate.getTime() - b.startDate.getTime());
  const first = records[0];
  const store = new IncidentStore(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
  const lock = await retrying(() => store.lock(service));
  const incident: IncidentRecord | undefined = lock ? await retrying(() => store.get(lock.incidentId)) : undefined;
  const after = sandbox.fleet.snapshot(service)!;
  const pages = sandbox.sns.published.filter((p) => pageService(p.message) === service).map((p) => p.subject ?? '(no subject)');
  const desiredAtEnd = watch.desiredAtEnd.get(service);
  const path = first ? fold(statesEntered(sandbox.sfn.history(first.executionArn))) : [];
  const restoredBy: string[] = [];
  for (const e of first ? sandbox.sfn.history(first.executionArn) : []) {
    if (e.stateExitedEventDetails?.name !== 'Restore the desired count') continue;
    const restoration = (JSON.parse(e.stateExitedEventDetails.output ?? '{}') as { restoration?: { restored?: boolean; from?: number; to?: number } }).restoration;
    if (restoration?.restored) restoredBy.push(`fail-safe ${restoration.from} -> ${restoration.to}`);
  }
  const restorePages = pages.filter((p) => p.includes('desired count restored'));
  const reconcilerRestored = eventBridge.reconciliations.reduce((n, r) => n + r.restorePoints.restored, 0);
  if (restorePages.length > 0) restoredBy.push(reconcilerRestored > 0 ? 'reconciler' : 'record-incident');
  else if (desiredAtEnd !== undefined && desiredAtEnd < desiredBefore && sandbox.fleet.snapshot(service)!.desiredCount >= desiredBefore) restoredBy.push('its own in-flight UpdateService');
  const lastUpdate = sandbox.calls.filter((c) => c.api === 'ecs' && c.operation === 'UpdateService' && String(c.params.service ?? '').split('/').pop() === service).at(-1);
  const closedByReconciler = pages.some((p) => p.includes('closed by the reconciler'));
  const changes = sandbox.trail
    .mutatingEvents()
    .filter((e) => String(e.requestParameters.service ?? '').split('/').pop() === service)
    .map((e) => `${e.eventName}(${Object.entries(e.requestParameters).filter(([k]) => k === 'desiredCount' || k === 'forceNewDeployment').map(([k, v]) => `${k}=${String(v)}`).join(' ')})`);
  return {
    status: first?.status ?? 'NONE',
    ...(first?.error ? { error: first.error } : {}),
    ...(first?.cause ? { cause: first.cause } : {}),
    ending: first ? endingOf(first) : 'no-execution',
    executions: records.length,
    ...(first ? { executionArn: first.executionArn, startInput: JSON.parse(first.input) as unknown } : {}),
    path,
    ...(incident
      ? { incident: { id: incident.id, status: incident.status, ...(incident.outcome ? { outcome: incident.outcome } : {}), ...(incident.status === 'closed' ? { closedBy: closedByReconciler ? 'reconciler' : 'record-incident' } : {}) } }
      : {}),
    desiredBefore,
    ...(desiredAtEnd !== undefined ? { desiredAtEnd } : {}),
    desiredAfter: after.desiredCount,
    runningAfter: after.runningCount,
    ...(watch.servingAtEnd.has(service) ? { servingAtEnd: watch.servingAtEnd.get(service)! } : {}),
    servingAfter: after.runningCount >= after.desiredCount && after.desiredCount > 0 && sandbox.fleet.isHealthy(service),
    restoredBy,
    changes,
    ...(lastUpdate ? { lastUpdateService: { at: lastUpdate.at, status: lastUpdate.status, ...(lastUpdate.errorCode ? { errorCode: lastUpdate.errorCode } : {}) } } : {}),
    pages,
    deliveries,
    failures: eventBridge.failures.map((f) => `${f.rule}: ${short(f.error, 160)}`),
    reconcilerRuns: eventBridge.reconciliations.length,
  };
}

/** The bench's own reads go through DynamoDB too: ride out the scenario's outage like a person retrying. */
async function retrying<T>(read: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await read();
    } catch (err) {
      if (i >= 20) throw err;
    }
  }
}

function endingOf(r: { status: string; output?: string; error?: string }): string {
  switch (r.status) {
    case 'SUCCEEDED': {
      const out = r.output ? (JSON.parse(r.output) as { outcome?: unknown }) : {};
      return typeof out.outcome === 'string' ? out.outcome : 'succeeded';
    }
    case 'FAILED':
      return r.error === 'IncidentEscalated' ? 'escalated' : `failed (${r.error ?? '?'})`;
    case 'TIMED_OUT':
      return 'timed-out';
    case 'ABORTED':
      return 'aborted';
    default:
      return r.status.toLowerCase();
  }
}

export function statesEntered(history: HistoryEvent[]): string[] {
  return history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name ?? '?');
}

/** Folds the waits' re-entries: A B A B A → "A ⟲3", "B ⟲2" when they alternate back to back. */
export function fold(path: string[]): string[] {
  const out: { name: string; n: number }[] = [];
  for (let i = 0; i < path.length; ) {
    const a = path[i]!;
    const b = path[i + 1];
    if (b !== undefined && path[i + 2] === a && path[i + 3] === b) {
      let n = 0;
      while (path[i] === a && path[i + 1] === b) {
        n += 1;
        i += 2;
      }
      out.push({ name: a, n }, { name: b, n });
      continue;
    }
    const last = out.at(-1);
    if (last && last.name === a) last.n += 1;
    else out.push({ name: a, n: 1 });
    i += 1;
  }
  return out.map((s) => (s.n > 1 ? `${s.name} ⟲${s.n}` : s.name));
}

function pageService(message: string): string | undefined {
  try {
    const s = (JSON.parse(message) as { service?: unknown }).service;
    return typeof s === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

function short(text: string | undefined, max = 120): string {
  if (!text) return '';
  let t = text;
  try {
    t = (JSON.parse(text) as { errorMessage?: string }).errorMessage ?? text;
  } catch {
    // not JSON
  }
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** uuid-shaped and deterministic per row, so a row replays with the same incident id. */
function eventIdFor(key: string): string {
  const h = createHash('sha256').update(`reliability:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

// ------------------------------------------------------------------ 50 simultaneous incidents

export interface StormOptions {
  services?: number;
  seed?: number;
}

/**
 * N services in one sandbox, half crash-looping (their restarts alternate force-new-deployment and
 * scale-to-zero), every alarm fired at once through EventBridge. One result per service, judged
 * like a single run: the right outcome, its count kept, one execution each.
 */
export async function runStorm(opts: StormOptions = {}): Promise<{ results: RunResult[]; wallMs: number; simulatedSeconds: number }> {
  const wall = performance.now();
  const n = opts.services ?? 50;
  const seed = opts.seed ?? 5050;
  const names = Array.from({ length: n }, (_, i) => `fleet-${String(i + 1).padStart(2, '0')}`);
  const crashing = new Set(names.filter((_, i) => i % 2 === 0));
  const modeOf = (name: string, i: number): RestartMode => (crashing.has(name) && i % 4 === 2 ? 'scale-to-zero' : 'force-new-deployment');
  const scenarioInput: ScenarioInput = {
    seed,
    services: names.map((name, i) => ({ name, healthPath: '/health', desiredCount: 1 + (i % 3) })),
    faults: [...crashing].map((service) => ({ service, kind: 'crash-loop' as const })),
  };
  const sandboxOptions: SandboxOptions = { incidents: { serviceInputs: Object.fromEntries(names.map((name, i) => [name, { restartMode: modeOf(name, i) }])) } };
  const sandbox = await Sandbox.start(parseScenario(scenarioInput), sandboxOptions);
  try {
    sandbox.playOut();
    const eventBridge = eventBridgeOf(sandbox);
    const watch = watchExecutions(sandbox, names, undefined);
    const before = new Map(names.map((name) => [name, sandbox.fleet.snapshot(name)!.desiredCount]));
    const started = sandbox.clock.nowMs();
    // All at once: the driver holds the clock so no time passes between the 50 deliveries.
    eventBridge.holdClock();
    const alarms = names.map((name) => ({ alarmName: `${name}-unhealthy-hosts`, eventId: eventIdFor(`storm:${seed}:${name}`) }));
    const deliveries = await Promise.all(
      alarms.map((a) =>
        eventBridge.fireAlarm(a).then(
          (r) => [r.outcome],
          (err: Error) => [`threw ${err.name}: ${short(err.message)}`],
        ),
      ),
    );
    await eventBridge.drain();
    eventBridge.releaseClock();
    const endedAt = sandbox.clock.nowMs();
    await reconcilerWindow(sandbox, eventBridge);
    watch.stop();
    const results: RunResult[] = [];
    for (const [i, name] of names.entries()) {
      const { startInput, ...observed } = await observe(sandbox, eventBridge, name, watch, deliveries[i]!, before.get(name)!);
      const mode = modeOf(name, i);
      const result: RunResult = {
        id: `storm-50/${name}`,
        group: 'storm-50',
        about: `${n} simultaneous incidents in one sandbox: ${crashing.has(name) ? `crash-loop, ${mode}` : 'healthy'}`,
        service: name,
        restartMode: mode,
        seed,
        accept: [crashing.has(name) ? 'recovered' : 'no-action'],
        why: crashing.has(name) ? 'DRILL_FAULTS crash-loop: a restart clears it' : 'DRILL_FAULTS none: look and do nothing',
        ...observed,
        right: false,
        degraded: false,
        problems: [],
        simulatedSeconds: Math.round((endedAt - started) / 1000),
        wallMs: 0,
        repro: {
          scenario: scenarioInput,
          sandboxOptions,
          alarm: alarms[i]!,
          ...(startInput !== undefined ? { startInput } : {}),
          command: `BENCH_ONLY='storm-50' npm run bench:reliability`,
        },
      };
      judge(result);
      results.push(result);
    }
    const wallMs = Math.round(performance.now() - wall);
    for (const r of results) r.wallMs = wallMs;
    return { results, wallMs, simulatedSeconds: Math.round((endedAt - started) / 1000) };
  } finally {
    await sandbox.stop();
  }
}

// ------------------------------------------------------------------ the matrix

const MODES: RestartMode[] = ['force-new-deployment', 'scale-to-zero'];
const modeTag = (m: RestartMode) => (m === 'scale-to-zero' ? 'scale0' : 'force');
const CRASH_LOOP = { service: SERVICE, kind: 'crash-loop' as const };
type Fault = NonNullable<ScenarioInput['faults']>[number];

const EXPECTED: Record<DrillFault, string> = Object.fromEntries(Object.entries(DRILL_FAULTS).map(([k, v]) => [k, v.expected])) as Record<DrillFault, string>;

/** Each drill fault × restart mode × seed: the ending cli/drill-scenario.ts says it calls for. */
export function drillRows(seeds = [11, 12, 13]): Row[] {
  return (Object.keys(DRILL_FAULTS) as DrillFault[]).flatMap((fault) =>
    MODES.flatMap((mode) =>
      seeds.map(
        (seed): Row => ({
          id: `drill/${fault}/${modeTag(mode)}/seed-${seed}`,
          group: 'drill-fault',
          about: DRILL_FAULTS[fault].about,
          scenario: { seed, faults: DRILL_FAULTS[fault].faults.map((f) => ({ ...f, service: SERVICE }) as Fault) },
          service: SERVICE,
          restartMode: mode,
          accept: [EXPECTED[fault]],
          why: `DRILL_FAULTS["${fault}"].expected`,
        }),
      ),
    ),
  );
}

const crashRow = (id: string, group: string, about: string, faults: Fault[], mode: RestartMode, seed: number, accept: string[], why: string, base: ScenarioInput = {}): Row => ({
  id,
  group,
  about,
  scenario: { ...base, seed, faults: [CRASH_LOOP, ...faults] },
  service: SERVICE,
  restartMode: mode,
  accept,
  why,
});

const RETRIED = 'every Task retries TransientAwsError (5 attempts, backoff) on top of 3 SDK attempts: a restart clears the crash loop';
const DEGRADED = 'an outage longer than the retries may fail a step: docs allow "any step failed → IncidentEscalated, desired count restored, paged"';

/** API faults: throttling, 5xx, slow answers, outages of CloudTrail, Logs, DynamoDB and StartExecution, a lost UpdateService answer. */
export function apiRows(): Row[] {
  const rows: Row[] = [];
  for (const mode of MODES) {
    for (const seed of [21, 22, 23]) {
      rows.push(crashRow(`api/ecs-throttle-30%/${modeTag(mode)}/seed-${seed}`, 'api-fault', 'ECS: 30 % of calls throttled', [{ api: 'ecs', kind: 'throttle', rate: 0.3 }], mode, seed, ['recovered'], RETRIED));
    }
    for (const seed of [31, 32]) {
      rows.push(crashRow(`api/ecs-5xx-10%/${modeTag(mode)}/seed-${seed}`, 'api-fault', 'ECS: 10 % of calls answer 5xx', [{ api: 'ecs', kind: 'server-error', rate: 0.1 }], mode, seed, ['recovered'], RETRIED));
    }
    rows.push(crashRow(`api/ecs-slow/${modeTag(mode)}`, 'api-fault', 'ECS: half the answers held 250 ms', [{ api: 'ecs', kind: 'slow-response', rate: 0.5, delayMs: 250 }], mode, 41, ['recovered'], 'slow is not failed'));
    rows.push(crashRow(`api/ecs-throttle+5xx+slow/${modeTag(mode)}`, 'api-fault', 'ECS: 30 % throttled, 10 % 5xx, 20 % held 100 ms, all at once', [
      { api: 'ecs', kind: 'throttle', rate: 0.3 },
      { api: 'ecs', kind: 'server-error', rate: 0.1 },
      { api: 'ecs', kind: 'slow-response', rate: 0.2, delayMs: 100 },
    ], mode, 42, ['recovered'], RETRIED));
    rows.push(crashRow(`api/update-service-lost-response/${modeTag(mode)}/first`, 'api-fault', 'UpdateService applied, its answer lost (5xx): the first change', [{ api: 'ecs', kind: 'lost-response', rate: 1, operations: ['UpdateService'], maxFailures: 1 }], mode, 51, ['recovered'], 'issue 8 #20: a retried change adopts what it made; a restart clears the crash loop'));
  }
  rows.push(crashRow('api/update-service-lost-response/scale0/scale-out', 'api-fault', 'UpdateService applied, its answer lost: the scale back out', [{ api: 'ecs', kind: 'lost-response', rate: 1, operations: ['UpdateService'], afterCalls: 1, maxFailures: 1 }], 'scale-to-zero', 52, ['recovered'], 'a retried scale-out finds the count it set'));
  rows.push(crashRow('api/update-service-lost-response/force/twice', 'api-fault', 'UpdateService applied, its answer lost twice in a row', [{ api: 'ecs', kind: 'lost-response', rate: 1, operations: ['UpdateService'], maxFailures: 2 }], 'force-new-deployment', 53, ['recovered'], 'a retried change adopts what it made'));
  // issue 8 #13: the scale back out failing again and again after the scale-in.
  for (const maxFailures of [18, 27, 40]) {
    rows.push(
      crashRow(`api/update-service-outage-after-scale-in/fail-${maxFailures}`, 'api-fault', `UpdateService down right after the scale-in: ${maxFailures} failures`, [{ api: 'ecs', kind: 'server-error', rate: 1, operations: ['UpdateService'], afterCalls: 1, maxFailures }], 'scale-to-zero', 54 + maxFailures, ['escalated', 'recovered'], 'p0-system-down.md: any step failed → IncidentEscalated, desired count restored (fail-safe, or record-incident / the reconciler once ECS answers)'),
    );
  }
  rows.push(crashRow('api/other-slow/force', 'api-fault', 'CloudTrail and Logs held 2 s, DynamoDB 30 % held 100 ms', [
    { api: 'cloudtrail', kind: 'slow-response', rate: 1, delayMs: 2000 },
    { api: 'logs', kind: 'slow-response', rate: 1, delayMs: 2000 },
    { api: 'dynamodb', kind: 'slow-response', rate: 0.3, delayMs: 100 },
  ], 'force-new-deployment', 43, ['recovered'], 'slow is not failed'));

  // Investigation outages: "failure → Note that … unavailable, remediation goes on".
  const investigation = 'p0-system-down.md: an investigation failure is noted and remediation goes on';
  for (const [api, label] of [['cloudtrail', 'CloudTrail'], ['logs', 'Logs']] as const) {
    rows.push(crashRow(`api/${api}-down/force`, 'api-fault', `${label} down for the whole incident (5xx)`, [{ api, kind: 'server-error', rate: 1 }], 'force-new-deployment', 61, ['recovered'], investigation));
    rows.push(crashRow(`api/${api}-down/scale0`, 'api-fault', `${label} down for the whole incident (5xx)`, [{ api, kind: 'server-error', rate: 1 }], 'scale-to-zero', 62, ['recovered'], investigation));
    rows.push(crashRow(`api/${api}-throttled/force`, 'api-fault', `${label} throttles 9 calls in a row`, [{ api, kind: 'throttle', rate: 1, maxFailures: 9 }], 'force-new-deployment', 63, ['recovered'], investigation));
    rows.push(crashRow(`api/${api}-outage-window/force`, 'api-fault', `${label}: first call through, then 6 failures`, [{ api, kind: 'server-error', rate: 1, afterCalls: 1, maxFailures: 6 }], 'force-new-deployment', 64, ['recovered'], investigation));
  }

  // DynamoDB outages at each phase (about 12 calls open the incident, ~40 more during the run, ~15 to record it).
  const dynamo: [string, number, number, RestartMode, string[], string][] = [
    ['at the alarm, within the SDK retries', 0, 2, 'force-new-deployment', ['recovered'], RETRIED],
    ['at the alarm, past one delivery (Lambda retries it)', 0, 6, 'force-new-deployment', ['recovered'], 'Lambda redelivers the alarm; the redelivery finishes what the first began'],
    ['at the alarm, mid-claim', 4, 6, 'force-new-deployment', ['recovered'], 'Lambda redelivers the alarm; the redelivery finishes what the first began'],
    ['during the restart (restore point, wait token)', 14, 6, 'force-new-deployment', ['recovered', 'escalated'], DEGRADED],
    ['during the restart (restore point, wait token)', 14, 6, 'scale-to-zero', ['recovered', 'escalated'], DEGRADED],
    ['during the waits, long', 20, 15, 'scale-to-zero', ['recovered', 'escalated'], DEGRADED],
    // An outage is a count of failures here, so it lasts until that many calls were made: the
    // recording rows end theirs within the reconciler's window (two runs, three SDK attempts each).
    ['when recording the end', 40, 3, 'force-new-deployment', ['recovered'], 'record-incident fails: the reconciler records it'],
    ['when recording the end and at the first reconciler run', 40, 6, 'force-new-deployment', ['recovered'], 'record-incident and one reconciler run fail: the next run records it'],
    ['late in the run and when recording the end', 48, 12, 'scale-to-zero', ['recovered', 'escalated'], DEGRADED],
  ];
  for (const [i, [what, afterCalls, maxFailures, mode, accept, why]] of dynamo.entries()) {
    rows.push(crashRow(`api/dynamodb-outage/${modeTag(mode)}/after-${afterCalls}-fail-${maxFailures}`, 'api-fault', `DynamoDB down ${what}: ${maxFailures} failures after ${afterCalls} calls`, [{ api: 'dynamodb', kind: 'server-error', rate: 1, afterCalls, maxFailures }], mode, 70 + i, accept, why));
  }

  // StartExecution outages: 3 SDK attempts per delivery, 3 deliveries (Lambda's 2 async retries).
  const sfnOutages: [number, string][] = [
    [2, 'within the SDK retries'],
    [3, 'past one delivery (Lambda retries it)'],
    [6, 'past two deliveries (the last Lambda retry gets through)'],
    [9, "past every delivery (the event goes to the dead-letter queue)"],
  ];
  for (const [maxFailures, what] of sfnOutages) {
    rows.push(
      crashRow(`api/sfn-start-execution-outage/fail-${maxFailures}`, 'api-fault', `Step Functions StartExecution down ${what}: ${maxFailures} failures`, [{ api: 'sfn', kind: 'server-error', rate: 1, operations: ['StartExecution'], maxFailures }], 'force-new-deployment', 80 + maxFailures, ['recovered'], 'an alarm opens an incident that runs (issue 8: "no incident lost, someone paged")'),
    );
  }
  rows.push(crashRow('api/sfn-start-execution-throttled-30%/scale0', 'api-fault', 'Step Functions StartExecution: 30 % throttled', [{ api: 'sfn', kind: 'throttle', rate: 0.3, operations: ['StartExecution'] }], 'scale-to-zero', 88, ['recovered'], RETRIED));
  rows.push(crashRow('api/sfn-send-task-success-outage/force', 'api-fault', 'Step Functions SendTaskSuccess: 6 failures (an event\'s release and its retries)', [{ api: 'sfn', kind: 'server-error', rate: 1, operations: ['SendTaskSuccess'], maxFailures: 6 }], 'force-new-deployment', 89, ['recovered', 'escalated'], DEGRADED));
  rows.push(crashRow('api/sfn-send-task-success-down/force', 'api-fault', 'Step Functions SendTaskSuccess down for the whole incident', [{ api: 'sfn', kind: 'server-error', rate: 1, operations: ['SendTaskSuccess'] }], 'force-new-deployment', 90, ['recovered', 'escalated'], DEGRADED));
  return rows;
}

/** ECS's events lost, repeated, or late: "a lost, late or duplicate event changes nothing". */
export function ecsEventRows(): Row[] {
  const faults: [string, Fault][] = [
    ['lose-all', { events: 'ecs', kind: 'lose', rate: 1 }],
    ['lose-half', { events: 'ecs', kind: 'lose', rate: 0.5 }],
    ['duplicate-all', { events: 'ecs', kind: 'duplicate', rate: 1 }],
    ['delay-all-600s', { events: 'ecs', kind: 'delay', rate: 1, delaySeconds: 600 }],
    ['delay-half-90s', { events: 'ecs', kind: 'delay', rate: 0.5, delaySeconds: 90 }],
  ];
  const rows = faults.flatMap(([label, fault], i) =>
    MODES.map((mode) => crashRow(`ecs-events/${label}/${modeTag(mode)}`, 'ecs-events', `ECS events: ${label}`, [fault], mode, 100 + i, ['recovered'], 'decision 0007: events are prompts, the poll is the safety net')),
  );
  rows.push({
    id: 'ecs-events/lose-half+duplicate-half/sticky/force',
    group: 'ecs-events',
    about: 'ECS events half lost, half repeated; the crash survives the first restart',
    scenario: { seed: 109, faults: [{ service: SERVICE, kind: 'crash-loop', survivesRestarts: 1 }, { events: 'ecs', kind: 'lose', rate: 0.5 }, { events: 'ecs', kind: 'duplicate', rate: 0.5 }] },
    service: SERVICE,
    restartMode: 'force-new-deployment',
    accept: ['recovered'],
    why: 'DRILL_FAULTS sticky-crash-loop: the forced redeployment clears it',
  });
  return rows;
}

/** A service behind an ALB (health-check grace period, 300 s deregistration delay) with a crash loop. */
export function albRows(): Row[] {
  const alb = (grace: number): ScenarioInput => ({
    services: [{ name: SERVICE, desiredCount: 2, healthPath: '/health', loadBalancer: true, healthCheckGracePeriodSeconds: grace }],
    cloudTrail: [{ eventName: 'UpdateService', service: SERVICE, minutesAgo: 30 }],
  });
  const rows: Row[] = [];
  for (const grace of [60, 180]) {
    for (const mode of MODES) {
      rows.push(crashRow(`alb/crash-loop/grace-${grace}/${modeTag(mode)}`, 'alb', `behind an ALB, grace period ${grace} s, crash loop`, [], mode, 120 + grace, ['recovered'], 'DRILL_FAULTS crash-loop; decision 0007: waits sized to the ALB', alb(grace)));
    }
  }
  rows.push({
    id: 'alb/sticky-crash-loop/grace-60/force',
    group: 'alb',
    about: 'behind an ALB, the crash survives the first restart',
    scenario: { ...alb(60), seed: 131, faults: [{ service: SERVICE, kind: 'crash-loop', survivesRestarts: 1 }] },
    service: SERVICE,
    restartMode: 'force-new-deployment',
    accept: ['recovered'],
    why: 'DRILL_FAULTS sticky-crash-loop',
  });
  rows.push({
    id: 'alb/bad-image/grace-60/scale0',
    group: 'alb',
    about: 'behind an ALB, the image cannot be pulled',
    scenario: { ...alb(60), seed: 132, faults: [{ service: SERVICE, kind: 'bad-image' }] },
    service: SERVICE,
    restartMode: 'scale-to-zero',
    accept: ['escalated'],
    why: 'DRILL_FAULTS bad-image',
  });
  return rows;
}

/** The scale-to-zero restarts of a crash-looping service whose normal runs, together, enter every state. */
export const REFERENCE: { id: string; survivesRestarts: number | 'always'; accept: string; seed: number }[] = [
  { id: 'reference/crash-loop/scale0', survivesRestarts: 0, accept: 'recovered', seed: 7 },
  { id: 'reference/sticky-crash-loop/scale0', survivesRestarts: 1, accept: 'recovered', seed: 7 },
  { id: 'reference/unclearable-crash-loop/scale0', survivesRestarts: 'always', accept: 'escalated', seed: 7 },
];

export function referenceRows(): Row[] {
  return REFERENCE.map((r) => ({
    id: r.id,
    group: 'reference',
    about: `normal run: crash loop surviving ${r.survivesRestarts} restart(s), scale-to-zero (enumerates the states)`,
    scenario: { seed: r.seed, faults: [{ service: SERVICE, kind: 'crash-loop', survivesRestarts: r.survivesRestarts }] },
    service: SERVICE,
    restartMode: 'scale-to-zero',
    accept: [r.accept],
    why: r.survivesRestarts === 'always' ? 'nothing clears it: escalated, count restored' : 'the restart (or the forced redeployment after it) clears it',
  }));
}

/**
 * StopExecution and the execution's own timeout at every state the reference runs enter (each on
 * the first reference scenario that enters it), on a scale-to-zero restart of a crash-looping
 * service; and the same with every execution status-change event lost (the reconciler's case).
 */
export function interruptRows(statesByReference: { row: Row; states: string[] }[], opts: { lostEndKinds?: Interrupt['kind'][]; lostEndStates?: (s: string) => boolean } = {}): Row[] {
  const seen = new Set<string>();
  const plan: { row: Row; state: string }[] = [];
  for (const ref of statesByReference) {
    for (const state of ref.states) {
      if (seen.has(state)) continue;
      seen.add(state);
      plan.push({ row: ref.row, state });
    }
  }
  const rows: Row[] = [];
  const lostKinds = opts.lostEndKinds ?? ['stop', 'timeout'];
  const lostStates = opts.lostEndStates ?? (() => true);
  for (const kind of ['stop', 'timeout'] as const) {
    for (const { row, state } of plan) {
      rows.push(interruptRow(row, { kind, state }));
      if (lostKinds.includes(kind) && lostStates(state)) rows.push(interruptRow(row, { kind, state }, { lostEnd: true }));
    }
  }
  return rows;
}

/** One reference run, interrupted: at a state's entry, or while an UpdateService is in flight; optionally with every execution status-change event lost. */
export function interruptRow(row: Row, interrupt: Interrupt, opts: { lostEnd?: boolean; label?: string } = {}): Row {
  const verb = interrupt.kind === 'stop' ? 'StopExecution' : 'execution timeout';
  const where = interrupt.state !== undefined ? `on entering "${interrupt.state}"` : `while ${interruptPoint(interrupt)}`;
  const base = interrupt.state !== undefined ? `${interrupt.kind}` : `${interrupt.kind}-in-flight`;
  const label = opts.label ?? interrupt.state ?? interruptPoint(interrupt);
  const group = `${interrupt.kind === 'stop' ? 'abort' : 'timeout'}${opts.lostEnd ? '+lost-end' : ''}`;
  const setting = row.about.replace(/^normal run: /, '').replace(/ \(enumerates the states\)$/, '');
  if (!opts.lostEnd) {
    return { ...row, id: `${base}/${label}`, group, about: `${verb} ${where} (${setting})`, interrupt, why: 'decision 0008: recorded and closed, count restored by record-incident, people paged' };
  }
  const lostEnd: Fault = { events: 'states', kind: 'lose', rate: 1 };
  return {
    ...row,
    id: `${base}+lost-end/${label}`,
    group,
    about: `${verb} ${where} (${setting}), every execution status-change event lost`,
    scenario: { ...row.scenario, faults: [...(row.scenario.faults ?? []), lostEnd] },
    interrupt,
    why: 'decision 0008: the reconciler restores the count, closes the incident and pages',
  };
}

/**
 * StopExecution or the timeout while restart-service's own UpdateService is in flight (the call
 * applies and the Lambda runs on after the execution ended, as on AWS): the scale-in, the scale
 * back out, and the forced redeployment after a restart that did not stabilise.
 */
export function inFlightRows(references: Row[]): Row[] {
  const [clears, sticky] = references;
  if (!clears || !sticky) return [];
  const points: [string, Row, NonNullable<Interrupt['call']>][] = [
    ['scale-in', clears, { operation: 'UpdateService', desiredCount: 0 }],
    ['scale-out', clears, { operation: 'UpdateService', desiredCount: 2 }],
    ['force-redeploy', sticky, { operation: 'UpdateService', forceNewDeployment: true }],
  ];
  const rows: Row[] = [];
  for (const kind of ['stop', 'timeout'] as const) {
    for (const [label, row, call] of points) {
      rows.push(interruptRow(row, { kind, call }, { label }));
      rows.push(interruptRow(row, { kind, call }, { label, lostEnd: true }));
    }
  }
  return rows;
}

/** Natural endings whose status-change event is lost: the reconciler records them. */
export function lostEndRows(): Row[] {
  const lostEnd: Fault = { events: 'states', kind: 'lose', rate: 1 };
  return [
    crashRow('lost-end/crash-loop/force', 'lost-end', 'crash loop, every execution status-change event lost', [lostEnd], 'force-new-deployment', 141, ['recovered'], 'the reconciler records and closes it'),
    crashRow('lost-end/crash-loop/scale0', 'lost-end', 'crash loop, every execution status-change event lost', [lostEnd], 'scale-to-zero', 142, ['recovered'], 'the reconciler records and closes it'),
    {
      id: 'lost-end/bad-image/scale0',
      group: 'lost-end',
      about: 'bad image, every execution status-change event lost',
      scenario: { seed: 143, faults: [{ service: SERVICE, kind: 'bad-image' }, lostEnd] },
      service: SERVICE,
      restartMode: 'scale-to-zero',
      accept: ['escalated'],
      why: 'escalated (fail-safe restores), the reconciler records it and pages',
    },
  ];
}
