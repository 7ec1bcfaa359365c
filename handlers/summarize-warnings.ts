import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import * as z from 'zod';
import { logsClient, once } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import type { SleepingClock } from '#commons/pacing';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { topPatterns, type PatternGroup, type TopPattern } from './logs/patterns.ts';
import { readLogWindow, type LogWindow } from './logs/search.ts';

export interface SummarizeWarningsDeps {
  logs: CloudWatchLogsClient;
  clock: SleepingClock;
}

/** What P2 found in the service's logs: WARN lines grouped by pattern, newest window first. */
export interface WarningSummary extends LogWindow {
  /** Distinct patterns seen (the summary lists the most frequent). */
  patterns: number;
  groups: PatternGroup[];
  /** The same groups in the shape the incident report reads for any log review (message, count, example). */
  top: TopPattern[];
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    pattern: z.string().min(1).max(1024).default('WARN').describe('a CloudWatch Logs filter pattern, e.g. "WARN"'),
  })
  .strict();

/** Patterns listed in the summary; the rest are counted. */
const GROUPS = 10;

/**
 * Runbook › P2 Incident › Log Analysis: `aws logs filter-log-events --filter-pattern "WARN"` over the
 * last hour (the incident's lookback), grouped by message pattern with counts and first/last seen —
 * the same reader and grouping as P0's review-logs. Reads only: P2 changes nothing on the service.
 */
export async function summarizeWarnings(event: unknown, deps: SummarizeWarningsDeps): Promise<WarningSummary> {
  const { incident, pattern } = parseInput(inputSchema, event, 'summarize-warnings input');
  const { window, tally } = await readLogWindow(deps, { logGroup: incident.logGroup, pattern, lookbackMinutes: incident.lookbackMinutes });
  const groups = tally.top(GROUPS);
  return { ...window, patterns: tally.patterns, groups, top: topPatterns(groups) };
}

const defaults = once(() => ({ logs: logsClient(), clock: systemClock }));
const log = once(() => createLogger('summarize-warnings'));
export const handler = step('summarize-warnings', log, (event) => summarizeWarnings(event, defaults()));
