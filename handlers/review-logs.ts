import { type CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { logsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface ReviewLogsDeps {
  logs: CloudWatchLogsClient;
  clock: Clock;
}

export interface LogReview {
  logGroup: string;
  pattern: string;
  available: boolean;
  note?: string;
  count: number;
  /** True when the page budget ran out before the window did: count is a lower bound. */
  truncated: boolean;
  top: { message: string; count: number; example: string }[];
  firstAt?: string;
  lastAt?: string;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    pattern: z.string().min(1).max(1024).default('ERROR').describe('a CloudWatch Logs filter pattern, e.g. "ERROR"'),
  })
  .strict();

const MAX_PAGES = 10;
const TOP = 5;

/** Review logs: `logs filter-log-events --filter-pattern ERROR` for the lookback window, grouped by message shape. */
export async function reviewLogs(event: unknown, deps: ReviewLogsDeps): Promise<LogReview> {
  const { incident, pattern } = parseInput(inputSchema, event, 'review-logs input');
  const end = deps.clock.now().getTime();
  const start = end - incident.lookbackMinutes * 60_000;
  const groups = new Map<string, { count: number; example: string }>();
  let count = 0;
  let first: number | undefined;
  let last: number | undefined;
  let nextToken: string | undefined;
  let pages = 0;
  try {
    do {
      const out = await deps.logs.send(
        new FilterLogEventsCommand({ logGroupName: incident.logGroup, filterPattern: pattern, startTime: start, endTime: end, nextToken }),
      );
      for (const e of out.events ?? []) {
        count += 1;
        const ts = e.timestamp ?? 0;
        first = first === undefined ? ts : Math.min(first, ts);
        last = last === undefined ? ts : Math.max(last, ts);
        const message = (e.message ?? '').trim();
        const key = shapeOf(message);
        const g = groups.get(key);
        if (g) g.count += 1;
        else groups.set(key, { count: 1, example: message.slice(0, 500) });
      }
      nextToken = out.nextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    return { logGroup: incident.logGroup, pattern, available: false, note: `log group ${incident.logGroup} does not exist`, count: 0, truncated: false, top: [] };
  }
  const top = [...groups.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, TOP)
    .map(([message, g]) => ({ message, count: g.count, example: g.example }));
  return {
    logGroup: incident.logGroup,
    pattern,
    available: true,
    count,
    truncated: Boolean(nextToken),
    top,
    ...(first !== undefined ? { firstAt: new Date(first).toISOString() } : {}),
    ...(last !== undefined ? { lastAt: new Date(last).toISOString() } : {}),
  };
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
