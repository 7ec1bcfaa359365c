import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { logsClient, once } from '#commons/clients';
import { systemClock } from '#commons/clock';
import type { SleepingClock } from '#commons/pacing';
import { topPatterns, type TopPattern } from './logs/patterns.ts';
import { readLogWindow, type LogWindow } from './logs/search.ts';
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

export interface LogReview extends LogWindow {
  /** The most frequent patterns, e.g. "ERROR connection refused to db-<n>:<n>" ×7. */
  top: TopPattern[];
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    pattern: z.string().min(1).max(1024).default('ERROR').describe('a CloudWatch Logs filter pattern, e.g. "ERROR"'),
  })
  .strict();

const TOP = 5;

/** Review logs: `logs filter-log-events --filter-pattern ERROR` for the lookback window, grouped by pattern. */
export async function reviewLogs(event: unknown, deps: ReviewLogsDeps): Promise<LogReview> {
  const { incident, pattern } = parseInput(inputSchema, event, 'review-logs input');
  const { window, tally } = await readLogWindow(deps, { logGroup: incident.logGroup, pattern, lookbackMinutes: incident.lookbackMinutes });
  return { ...window, top: topPatterns(tally.top(TOP)) };
}

const defaults = once(() => ({ logs: logsClient(), clock: systemClock }));
const log = once(() => createLogger('review-logs'));
export const handler = step('review-logs', log, (event) => reviewLogs(event, defaults()));
