import type { CloudWatchLogsClient, FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { logsClient, once } from '#commons/clients';
import { systemClock } from '#commons/clock';
import type { SleepingClock } from '#commons/pacing';
import { LogSearch, readNewestFirst, slices, stoppedNote, type StoppedBecause } from './logs/search.ts';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface ReviewLogsDeps {
  logs: CloudWatchLogsClient;
  /** Paces FilterLogEvents and keeps the budget: `sleep` when the clock has one (the sandbox's), a timer otherwise. */
  clock: SleepingClock;
}

export type { StoppedBecause };

export interface LogReview {
  logGroup: string;
  pattern: string;
  available: boolean;
  note?: string;
  count: number;
  /** True when the review stopped before the window did: count is a lower bound. */
  truncated: boolean;
  top: { message: string; count: number; example: string }[];
  firstAt?: string;
  lastAt?: string;
  /** Why it stopped early, when it did. */
  stoppedBecause?: StoppedBecause;
  /** Every matching line from this time to the window's end was read (newest first, so the latest errors are never the ones missed). */
  readFrom?: string;
  /** FilterLogEvents calls answered, how many came back empty with a nextToken, how many were throttled, and the time taken. */
  pages: number;
  emptyPages: number;
  throttled: number;
  elapsedSeconds: number;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    pattern: z.string().min(1).max(1024).default('ERROR').describe('a CloudWatch Logs filter pattern, e.g. "ERROR"'),
  })
  .strict();

const TOP = 5;

/** Review logs: `logs filter-log-events --filter-pattern ERROR` for the lookback window, grouped by message shape. */
export async function reviewLogs(event: unknown, deps: ReviewLogsDeps): Promise<LogReview> {
  const { incident, pattern } = parseInput(inputSchema, event, 'review-logs input');
  const end = deps.clock.now().getTime();
  const start = end - incident.lookbackMinutes * 60_000;
  const search = new LogSearch(deps, { logGroupName: incident.logGroup, filterPattern: pattern });
  const tally = new Tally();
  /** Start of the newest stretch read to its end. */
  let readFrom: number | undefined;
  try {
    // One call reads a quiet window whole. A large group answers with a nextToken: then the window
    // is read again newest first, slice by slice, so that the latest lines are never the ones missed.
    const whole = await search.page({ from: start, to: end }, undefined);
    if (whole && !whole.nextToken) {
      tally.add(whole.events ?? []);
      readFrom = start;
    } else if (whole) {
      readFrom = await readNewestFirst(search, tally, slices(start, end));
    }
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    const note = `log group ${incident.logGroup} does not exist`;
    return { logGroup: incident.logGroup, pattern, available: false, note, count: 0, truncated: false, top: [], ...search.figures() };
  }
  const stopped = search.stoppedBecause;
  return {
    logGroup: incident.logGroup,
    pattern,
    available: true,
    ...(stopped ? { note: stoppedNote(stopped, { ...search.figures(), readFrom, end, count: tally.count, pattern }) } : {}),
    count: tally.count,
    truncated: stopped !== undefined,
    top: tally.top(TOP),
    ...(tally.first !== undefined ? { firstAt: new Date(tally.first).toISOString() } : {}),
    ...(tally.last !== undefined ? { lastAt: new Date(tally.last).toISOString() } : {}),
    ...(stopped ? { stoppedBecause: stopped } : {}),
    ...(readFrom !== undefined ? { readFrom: new Date(readFrom).toISOString() } : {}),
    ...search.figures(),
  };
}

/** Matching lines counted by message shape, with the first and last time seen. */
class Tally {
  count = 0;
  first: number | undefined;
  last: number | undefined;
  private readonly groups = new Map<string, { count: number; example: string }>();

  add(events: FilteredLogEvent[]): void {
    for (const e of events) {
      this.count += 1;
      const ts = e.timestamp ?? 0;
      this.first = this.first === undefined ? ts : Math.min(this.first, ts);
      this.last = this.last === undefined ? ts : Math.max(this.last, ts);
      const message = (e.message ?? '').trim();
      const key = shapeOf(message);
      const g = this.groups.get(key);
      if (g) g.count += 1;
      else this.groups.set(key, { count: 1, example: message.slice(0, 500) });
    }
  }

  top(n: number): LogReview['top'] {
    return [...this.groups.entries()]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, n)
      .map(([message, g]) => ({ message, count: g.count, example: g.example }));
  }
}

/** Groups lines that differ only in numbers, ids, addresses and timestamps. */
export function shapeOf(message: string): string {
  return message
    .replace(/\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?/g, '<time>')
    .replace(/\b[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/\b\d+(\.\d+)*\b/g, '<n>')
    .slice(0, 200);
}

const defaults = once(() => ({ logs: logsClient(), clock: systemClock }));
const log = once(() => createLogger('review-logs'));
export const handler = step('review-logs', log, (event) => reviewLogs(event, defaults()));
