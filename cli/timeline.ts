import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describeStepResult, failureText, parseObject } from '#commons/report';

export interface TimelineEntry {
  /** Simulated wall-clock time (ISO 8601). */
  at: string;
  /** Simulated seconds since the execution started. */
  t: number;
  state: string;
  kind: string;
  /** What was done and why, in one line. */
  detail: string;
  /** AWS calls the step made, e.g. "ecs:UpdateService". */
  calls: string[];
}

// A plain Lambda ARN as Resource reports LambdaFunction* events; service integrations report Task*.
const TASK_ENDS = new Set(['TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'LambdaFunctionSucceeded', 'LambdaFunctionFailed', 'LambdaFunctionTimedOut']);

export interface Invocation {
  handler: string;
  calls: string[];
}

/**
 * Turns an execution history into the drill's story: one line per state, saying what the step
 * saw or did, with the AWS calls it made. Calls are matched to Task states by handler, in order.
 */
export function buildTimeline(history: HistoryEvent[], invocations: Invocation[], startedMs: number): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const pending = new Map<string, Invocation[]>();
  for (const inv of invocations) pending.set(inv.handler, [...(pending.get(inv.handler) ?? []), inv]);
  const open = new Map<string, { entry: TimelineEntry; handler?: string }>();
  const at = (e: HistoryEvent) => e.timestamp ?? new Date(startedMs);
  const byId = new Map(history.map((e) => [e.id, e]));
  // Real histories chain each task event to its state's entry through previousEventId; parallel
  // branches interleave, so follow the chain rather than trusting order.
  const taskOf = (e: HistoryEvent) => {
    let cur: HistoryEvent | undefined = e;
    for (let hops = 0; cur && hops < 10; hops++) {
      if (cur.type?.endsWith('StateEntered')) return open.get(cur.stateEnteredEventDetails?.name ?? '');
      cur = cur.previousEventId !== undefined ? byId.get(cur.previousEventId) : undefined;
    }
    return lastOpenTask(open);
  };

  for (const e of history) {
    const type = e.type ?? '';
    if (type.endsWith('StateEntered')) {
      const name = e.stateEnteredEventDetails?.name ?? '?';
      const entry: TimelineEntry = {
        at: at(e).toISOString(),
        t: Math.round((at(e).getTime() - startedMs) / 1000),
        state: name,
        kind: type.replace('StateEntered', '').toLowerCase(),
        detail: '',
        calls: [],
      };
      entries.push(entry);
      open.set(name, { entry });
    } else if (type === 'TaskScheduled' || type === 'LambdaFunctionScheduled') {
      const handler = (e.taskScheduledEventDetails?.resource ?? e.lambdaFunctionScheduledEventDetails?.resource)?.split(':').pop();
      const current = taskOf(e);
      if (current && handler) current.handler = handler;
    } else if (TASK_ENDS.has(type)) {
      const current = taskOf(e);
      if (!current) continue;
      const inv = current.handler ? pending.get(current.handler)?.shift() : undefined;
      if (inv) current.entry.calls.push(...inv.calls);
      if (type.endsWith('Succeeded')) {
        current.entry.detail = describeStepResult(parseObject((e.taskSucceededEventDetails ?? e.lambdaFunctionSucceededEventDetails)?.output) ?? {});
      } else {
        const d = e.taskFailedEventDetails ?? e.taskTimedOutEventDetails ?? e.lambdaFunctionFailedEventDetails ?? e.lambdaFunctionTimedOutEventDetails;
        current.entry.detail = appendDetail(current.entry.detail, failureText(current.entry.state, d?.error, d?.cause));
      }
    } else if (type.endsWith('StateExited')) {
      const name = e.stateExitedEventDetails?.name ?? '?';
      const current = open.get(name);
      if (current && current.entry.kind === 'wait') {
        current.entry.detail = `waited ${Math.round((at(e).getTime() - Date.parse(current.entry.at)) / 1000)} s`;
      }
      open.delete(name);
    } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      const d = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
      const last = entries[entries.length - 1];
      if (last && !last.detail) last.detail = `${d?.error ?? type}: ${d?.cause ?? ''}`.trim();
      else entries.push({ at: at(e).toISOString(), t: Math.round((at(e).getTime() - startedMs) / 1000), state: type, kind: 'execution', detail: `${d?.error ?? ''} ${d?.cause ?? ''}`.trim(), calls: [] });
    }
  }
  // A Choice's story is where it went: the next entry's state; a Parallel's is its branches.
  entries.forEach((entry, i) => {
    if (entry.kind === 'choice' && !entry.detail) entry.detail = `→ ${entries[i + 1]?.state ?? '?'}`;
    if (entry.kind === 'parallel' && !entry.detail) entry.detail = 'branches run side by side:';
  });
  return entries;
}

function lastOpenTask(open: Map<string, { entry: TimelineEntry; handler?: string }>) {
  let found: { entry: TimelineEntry; handler?: string } | undefined;
  for (const v of open.values()) if (v.entry.kind === 'task') found = v;
  return found;
}

function appendDetail(a: string, b: string): string {
  return a ? `${a}; ${b}` : b;
}
