/**
 * The hostile-input harness shared by `npm run bench:hostile` (bench/hostile-inputs.ts) and the CI
 * subset (test/hostile/): what counts as a clear, named error, and how mutating calls are counted.
 *
 * A hostile input passes when
 *  (a) it meets a clear, NAMED error — an error whose name says what went wrong (not Error,
 *      TypeError, InternalFailure, …), with a message and no stack trace — or a logged
 *      ignore-with-reason (start-incident, record-incident, ecs-events never throw on a bad event),
 *      or a declared no-op whose answer says nothing was done; and
 *  (b) it makes zero mutating calls: no ECS change (the sandbox's CloudTrail), no successful
 *      StartExecution/StopExecution/SendTask*, SetAlarmState, alarm or topic change, no Slack
 *      message posted or updated, no approval requested or decided, no service lock, budget,
 *      restore point or stability watch written.
 * It must also answer in time: a hang is a failure of both.
 */
import { createHash } from 'node:crypto';
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '#commons/clients';
import type { Sandbox } from '../../sandbox/index.ts';
import { slackOf } from '../../sandbox/slack.ts';

export type EntryPoint = 'alarm events' | 'console start input' | 'Slack requests' | 'handler events' | 'CLI arguments' | 'scenario files' | 'sandbox HTTP API';

export type Verdict =
  /** A named error with a message: what the promise asks for. */
  | 'named-error'
  /** Ignored, with the reason logged or answered. */
  | 'ignored'
  /** A declared no-op: the answer says nothing was done. */
  | 'no-op'
  /** An error without a useful name (Error, TypeError, InternalFailure …) or without a message. */
  | 'unnamed-error'
  | 'stack-trace'
  | 'hang'
  /** The input was taken as if it were valid. */
  | 'accepted';

export interface Outcome {
  entry: EntryPoint;
  case: string;
  verdict: Verdict;
  /** named-error, ignored or no-op. */
  clear: boolean;
  /** The error's name or code, the HTTP status, the exit code … */
  name?: string;
  detail: string;
  /** Mutating calls the input caused (empty when it passes). */
  mutations: string[];
  /** What was recorded or paged about it (incident records, reports, pages): reported, not counted. */
  records: string[];
  ms: number;
}

export interface EntryReport {
  entry: EntryPoint;
  outcomes: Outcome[];
  wallMs: number;
}

/** Names that say nothing about what went wrong. */
const UNNAMED = new Set(['', 'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError', 'InternalError', 'UnknownError', 'Unknown', 'InternalFailure', 'InternalServerError', 'internal_error', 'States.Runtime', 'undefined', 'null']);

export function isNamed(name: string | undefined): name is string {
  return typeof name === 'string' && !UNNAMED.has(name);
}

/** Longest error message still read as clear. */
export const MAX_CLEAR_MESSAGE = 2000;

/** A JavaScript stack frame ("    at fn (file.ts:12:3)") in text shown to a person. */
export const STACK_TRACE = /(^|\n)\s+at\s+(\S+\s+\()?(file:|node:|\/|[A-Za-z]:\\)[^\n]*:\d+/;

export function hasStackTrace(text: string): boolean {
  return STACK_TRACE.test(text);
}

/** Classifies a thrown error (in-process entry points). */
export function fromError(err: unknown): { verdict: Verdict; name: string; detail: string } {
  const e = err as Error & { code?: unknown };
  const name = err instanceof Error ? e.name : typeof err;
  let message = err instanceof Error ? e.message : String(err);
  // Lambda's answer for a failed handler: {"errorType","errorMessage"} (sandbox/sfn/errors.ts).
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not Lambda's JSON: the message as it is
  }
  if (hasStackTrace(message)) return { verdict: 'stack-trace', name, detail: message };
  // A message nobody can read at 3 a.m. (an input's 200 KB field name quoted back) is not clear.
  if (message.length > MAX_CLEAR_MESSAGE) return { verdict: 'unnamed-error', name, detail: `a message of ${message.length} characters: ${message}` };
  if (!isNamed(name) || message.trim().length === 0) return { verdict: 'unnamed-error', name, detail: message || '(no message)' };
  return { verdict: 'named-error', name, detail: message };
}

export function outcome(entry: EntryPoint, name: string, v: { verdict: Verdict; name?: string; detail: string }, mutations: string[], records: string[], ms: number): Outcome {
  const clear = v.verdict === 'named-error' || v.verdict === 'ignored' || v.verdict === 'no-op';
  return { entry, case: name, verdict: v.verdict, clear, ...(v.name !== undefined ? { name: v.name } : {}), detail: truncate(v.detail, 300), mutations, records, ms: Math.round(ms) };
}

export function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

export class TimeoutError extends Error {
  override name = 'HarnessTimeout';
}

/** Resolves with the work's value, or rejects with HarnessTimeout after `ms` of real time (the work is left running). */
export function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ mutating calls

/** API operations that change something (counted when answered 200). */
export const MUTATING_OPERATIONS = new Set([
  'UpdateService',
  'RegisterTaskDefinition',
  'DeregisterTaskDefinition',
  'CreateService',
  'DeleteService',
  'RunTask',
  'StopTask',
  'StartExecution',
  'StopExecution',
  'SendTaskSuccess',
  'SendTaskFailure',
  'SendTaskHeartbeat',
  'RedriveExecution',
  'SetAlarmState',
  'PutMetricAlarm',
  'DeleteAlarms',
  'TagResource',
  'UntagResource',
  'Publish',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

export interface Snapshot {
  trail: number;
  calls: number;
  executions: number;
  messages: number;
  updates: number;
  pages: number;
  /** key prefix → fingerprint of the rows under it */
  rows: Map<string, string>;
}

/** Rows that are state (mutations when they change) vs. records (reported only). */
function rowClass(table: string, key: string): 'state' | 'record' | 'ignored' {
  if (key.startsWith('seen-')) return 'ignored'; // the Slack replay guard: remembering a signed request is how replays are refused
  if (key.startsWith('INCIDENT#')) return 'record';
  return 'state';
}

/**
 * Counts what a sandbox was made to change between two snapshots. `allow` drops calls the entry
 * point itself is (the console start's own StartExecution).
 */
export class MutationProbe {
  private tables: string[] | undefined;
  private readonly db;

  constructor(private readonly sandbox: Sandbox) {
    this.db = dynamoClient(sandbox.clientOptions());
  }

  async snapshot(): Promise<Snapshot> {
    const fake = slackOf(this.sandbox);
    const rows = new Map<string, string>();
    this.tables ??= (await this.db.send(new ListTablesCommand({}))).TableNames ?? [];
    for (const table of this.tables) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(new ScanCommand({ TableName: table, ...(startKey ? { ExclusiveStartKey: startKey as never } : {}) }));
        for (const item of page.Items ?? []) {
          const key = String(item.pk?.S ?? item.id?.S ?? item.service?.S ?? JSON.stringify(Object.values(item)[0]));
          const cls = rowClass(table, key);
          if (cls === 'ignored') continue;
          // Bookkeeping that changes on every read would make every row look written: hash what is stored.
          rows.set(`${cls}:${table}:${key}`, createHash('sha1').update(JSON.stringify(item, Object.keys(item).sort())).digest('hex'));
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return {
      trail: this.sandbox.trail.mutatingEvents().length,
      calls: this.sandbox.calls.length,
      executions: this.sandbox.sfn.listExecutionRecords().length,
      messages: fake.messages.length,
      updates: fake.messages.reduce((n, m) => n + m.updates.length, 0),
      pages: this.sandbox.sns.published.length,
      rows,
    };
  }

  /** Mutations and records between two snapshots. */
  diff(before: Snapshot, after: Snapshot, allow: (op: string) => boolean = () => false): { mutations: string[]; records: string[] } {
    const mutations: string[] = [];
    const records: string[] = [];
    for (const e of this.sandbox.trail.mutatingEvents().slice(before.trail, after.trail)) mutations.push(`ECS ${e.eventName} ${JSON.stringify(e.requestParameters).slice(0, 120)}`);
    let allowed = 0;
    for (const c of this.sandbox.calls.slice(before.calls, after.calls)) {
      if (c.status !== 200 || !MUTATING_OPERATIONS.has(c.operation)) continue;
      if (c.api === 'ecs') continue; // counted from the trail
      if (c.api === 'sns' && c.operation === 'Publish') continue; // pages: reported below
      if (allow(c.operation) && allowed === 0) {
        allowed += 1;
        continue;
      }
      mutations.push(`${c.api}:${c.operation} ${JSON.stringify(c.params).slice(0, 120)}`);
    }
    const newExecutions = after.executions - before.executions - allowed;
    // Executions started in-process (start-incident through the SDK shows up in calls already).
    const startsSeen = this.sandbox.calls.slice(before.calls, after.calls).filter((c) => c.operation === 'StartExecution' && c.status === 200).length - allowed;
    if (newExecutions > startsSeen) mutations.push(`${newExecutions - startsSeen} execution(s) started`);
    if (after.messages > before.messages) mutations.push(`Slack chat.postMessage ×${after.messages - before.messages}`);
    if (after.updates > before.updates) mutations.push(`Slack chat.update ×${after.updates - before.updates}`);
    if (after.pages > before.pages) records.push(`paged ×${after.pages - before.pages}`);
    for (const [key, hash] of after.rows) {
      if (before.rows.get(key) === hash) continue;
      const [cls, table, row] = key.split(':', 3) as [string, string, string];
      const what = `${before.rows.has(key) ? 'changed' : 'wrote'} ${table} ${row}`;
      (cls === 'record' ? records : mutations).push(what);
    }
    for (const key of before.rows.keys()) if (!after.rows.has(key) && key.startsWith('state:')) mutations.push(`deleted ${key.slice(6)}`);
    return { mutations, records };
  }
}

// ------------------------------------------------------------------ the clock

/** The sandbox's virtual time still moves: nothing left holding it (the "froze the clock" failure). */
export async function clockMoves(sandbox: Sandbox, ms = 3000): Promise<boolean> {
  if (sandbox.clock.mode !== 'virtual') return true;
  try {
    await within(sandbox.clock.sleep(1), ms);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ summaries

export interface EntrySummary {
  entry: EntryPoint;
  inputs: number;
  clearNamed: number;
  clearPercent: number;
  mutatingCalls: number;
  hangs: number;
  stackTraces: number;
  wallMs: number;
}

export function summarise(report: EntryReport): EntrySummary {
  const o = report.outcomes;
  const clearNamed = o.filter((x) => x.clear).length;
  return {
    entry: report.entry,
    inputs: o.length,
    clearNamed,
    clearPercent: o.length ? Math.round((clearNamed / o.length) * 1000) / 10 : 100,
    mutatingCalls: o.reduce((n, x) => n + x.mutations.length, 0),
    hangs: o.filter((x) => x.verdict === 'hang').length,
    stackTraces: o.filter((x) => x.verdict === 'stack-trace').length,
    wallMs: Math.round(report.wallMs),
  };
}

export function failures(report: EntryReport): Outcome[] {
  return report.outcomes.filter((o) => !o.clear || o.mutations.length > 0);
}
