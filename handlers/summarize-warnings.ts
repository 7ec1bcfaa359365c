import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import * as z from 'zod';
import { logsClient, once } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import type { SleepingClock } from '#commons/pacing';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { PatternTally, type PatternGroup } from './logs/patterns.ts';
import { LogSearch, readNewestFirst, slices, stoppedNote, type StoppedBecause } from './logs/search.ts';

export interface SummarizeWarningsDeps {
  logs: CloudWatchLogsClient;
  clock: SleepingClock;
}

/** What P2 found in the service's logs: WARN lines grouped by pattern, newest window first. */
export interface WarningSummary {
  logGroup: string;
  pattern: string;
  available: boolean;
  note?: string;
  /** WARN lines read in the window; a lower bound when `truncated`. */
  count: number;
  truncated: boolean;
  windowStart: string;
  windowEnd: string;
  firstAt?: string;
  lastAt?: string;
  /** Distinct patterns seen (the summary lists the most frequent). */
  patterns: number;
  groups: PatternGroup[];
  /** The same groups in the shape the incident report reads for any log review (message, count, example). */
  top: { message: string; count: number; example: string }[];
  stoppedBecause?: StoppedBecause;
  readFrom?: string;
  pages: number;
  emptyPages: number;
  throttled: number;
  elapsedSeconds: number;
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
 * last hour (the incident's lookback), grouped by message pattern with counts and first/last seen.
 * Reads only: P2 changes nothing on the service.
 */
export async function summarizeWarnings(event: unknown, deps: SummarizeWarningsDeps): Promise<WarningSummary> {
  const { incident, pattern } = parseInput(inputSchema, event, 'summarize-warnings input');
  const end = deps.clock.now().getTime();
  const start = end - incident.lookbackMinutes * 60_000;
  const window = { windowStart: new Date(start).toISOString(), windowEnd: new Date(end).toISOString() };
  const search = new LogSearch(deps, { logGroupName: incident.logGroup, filterPattern: pattern });
  const tally = new PatternTally();
  let readFrom: number | undefined;
  try {
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
    return { logGroup: incident.logGroup, pattern, available: false, note, count: 0, truncated: false, ...window, patterns: 0, groups: [], top: [], ...search.figures() };
  }
  const stopped = search.stoppedBecause;
  const groups = tally.top(GROUPS);
  const notes = [
    ...(stopped ? [stoppedNote(stopped, { ...search.figures(), readFrom, end, count: tally.count, pattern })] : []),
    ...(tally.ungrouped ? [`${tally.ungrouped} line(s) beyond the first ${tally.patterns} patterns were counted but not grouped`] : []),
  ];
  return {
    logGroup: incident.logGroup,
    pattern,
    available: true,
    ...(notes.length ? { note: notes.join('; ') } : {}),
    count: tally.count,
    truncated: stopped !== undefined,
    ...window,
    ...(tally.first !== undefined ? { firstAt: new Date(tally.first).toISOString() } : {}),
    ...(tally.last !== undefined ? { lastAt: new Date(tally.last).toISOString() } : {}),
    patterns: tally.patterns,
    groups,
    top: groups.map((g) => ({ message: g.pattern, count: g.count, example: g.sample })),
    ...(stopped ? { stoppedBecause: stopped } : {}),
    ...(readFrom !== undefined ? { readFrom: new Date(readFrom).toISOString() } : {}),
    ...search.figures(),
  };
}

const defaults = once(() => ({ logs: logsClient(), clock: systemClock }));
const log = once(() => createLogger('summarize-warnings'));
export const handler = step('summarize-warnings', log, (event) => summarizeWarnings(event, defaults()));
