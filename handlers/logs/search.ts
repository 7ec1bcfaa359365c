import { type CloudWatchLogsClient, type FilteredLogEvent, FilterLogEventsCommand, type FilterLogEventsCommandOutput } from '@aws-sdk/client-cloudwatch-logs';
import { isTransientAwsError } from '#commons/errors';
import { pacer, sleepOn, type SleepingClock } from '#commons/pacing';
import { PatternTally } from './patterns.ts';

/**
 * FilterLogEvents as the log reviews use it (review-logs for ERROR, summarize-warnings for WARN),
 * through `readLogWindow`: paced under the account's 5 requests/s, bounded in pages and in time, empty pages with a
 * nextToken followed (normal on a large group: CloudWatch Logs API Reference, FilterLogEvents), and
 * the window read newest first so that the latest lines are never the ones missed.
 */

export interface LogSearchDeps {
  logs: CloudWatchLogsClient;
  /** Paces FilterLogEvents and keeps the budget: `sleep` when the clock has one (the sandbox's), a timer otherwise. */
  clock: SleepingClock;
}

export type StoppedBecause = 'page-limit' | 'time-budget' | 'throttled' | 'failing';

/** FilterLogEvents calls at most, whatever the log volume (empty pages included). */
const MAX_PAGES = 40;
/** Of the Lambda's 30 s timeout: the last call's latency and the answer fit in the rest. */
const BUDGET_SECONDS = 20;
/** FilterLogEvents allows 5 requests/s per account and region: at most 4 in any second from here. */
const PACE = { calls: 4, seconds: 1 };
/** Waits after a throttled (or 5xx) call, at most 50 % shorter; after the last, the review stops. */
const BACKOFF_SECONDS = [0.5, 1, 2];
/** The window is read newest first: the last 5 minutes, then back to 15, 60, 240 and 1440 minutes before its end. */
const SLICE_MINUTES = [5, 15, 60, 240, 1440];

/**
 * FilterLogEvents for one review: paced under the account's rate on the clock, bounded by pages
 * and by the time budget, backing off when throttled. `page` answers undefined once it stopped.
 */
class LogSearch {
  stoppedBecause: StoppedBecause | undefined;
  private pages = 0;
  private emptyPages = 0;
  private throttled = 0;
  private calls = 0;
  private slowestCall = 0;
  private readonly started: number;
  private readonly pace: () => Promise<void>;

  constructor(
    private readonly deps: LogSearchDeps,
    private readonly query: { logGroupName: string; filterPattern: string },
  ) {
    this.started = deps.clock.now().getTime();
    this.pace = pacer(deps.clock, PACE.calls, PACE.seconds);
  }

  elapsedSeconds(): number {
    return (this.deps.clock.now().getTime() - this.started) / 1000;
  }

  figures(): { pages: number; emptyPages: number; throttled: number; elapsedSeconds: number } {
    return { pages: this.pages, emptyPages: this.emptyPages, throttled: this.throttled, elapsedSeconds: Math.round(this.elapsedSeconds() * 10) / 10 };
  }

  async page(slice: { from: number; to: number }, nextToken: string | undefined): Promise<FilterLogEventsCommandOutput | undefined> {
    let failedInARow = 0;
    for (;;) {
      if (this.pages >= MAX_PAGES) this.stoppedBecause = 'page-limit';
      else if (this.elapsedSeconds() + Math.max(PACE.seconds / PACE.calls, this.slowestCall) > BUDGET_SECONDS) this.stoppedBecause = 'time-budget';
      if (this.stoppedBecause) return undefined;
      await this.pace();
      const callStarted = this.deps.clock.now().getTime();
      try {
        this.calls += 1;
        const out = await this.deps.logs.send(new FilterLogEventsCommand({ ...this.query, startTime: slice.from, endTime: slice.to, nextToken }));
        this.slowestCall = Math.max(this.slowestCall, (this.deps.clock.now().getTime() - callStarted) / 1000);
        this.pages += 1;
        if ((out.events ?? []).length === 0 && out.nextToken) this.emptyPages += 1;
        return out;
      } catch (err) {
        if (!isTransientAwsError(err)) throw err;
        const throttling = (err as Error).name === 'ThrottlingException';
        if (throttling) this.throttled += 1;
        // Other callers share the account's rate: back off, jittered so that incidents spread out.
        const base = BACKOFF_SECONDS[failedInARow];
        failedInARow += 1;
        const wait = base === undefined ? undefined : base * (0.5 + 0.5 * spread(`${this.query.logGroupName}/${this.calls}`));
        if (wait === undefined || this.elapsedSeconds() + wait > BUDGET_SECONDS) {
          // Nothing read at all: the step fails (retried by the workflow, then noted as unavailable).
          if (this.pages === 0) throw err;
          this.stoppedBecause = throttling ? 'throttled' : 'failing';
          return undefined;
        }
        await sleepOn(this.deps.clock, wait);
      }
    }
  }
}

/** What one read of the lookback window found: the part every log review shares (P0's ERROR lines, P2's WARN lines). */
export interface LogWindow {
  logGroup: string;
  pattern: string;
  available: boolean;
  note?: string;
  /** Matching lines read in the window; a lower bound when `truncated`. */
  count: number;
  /** True when the review stopped before the window did. */
  truncated: boolean;
  windowStart: string;
  windowEnd: string;
  firstAt?: string;
  lastAt?: string;
  /** Why it stopped early, when it did. */
  stoppedBecause?: StoppedBecause;
  /** Every matching line from this time to the window's end was read (newest first, so the latest lines are never the ones missed). */
  readFrom?: string;
  /** FilterLogEvents calls answered, how many came back empty with a nextToken, how many were throttled, and the time taken. */
  pages: number;
  emptyPages: number;
  throttled: number;
  elapsedSeconds: number;
}

/**
 * `logs filter-log-events --filter-pattern PATTERN` over the last `lookbackMinutes`, the matching
 * lines grouped by pattern (handlers/logs/patterns.ts). One call reads a quiet window whole; a large
 * group answers with a nextToken, and the window is then read again newest first, slice by slice.
 * A log group that does not exist is a finding (`available: false`), not a failure.
 */
export async function readLogWindow(deps: LogSearchDeps, q: { logGroup: string; pattern: string; lookbackMinutes: number }): Promise<{ window: LogWindow; tally: PatternTally }> {
  const end = deps.clock.now().getTime();
  const start = end - q.lookbackMinutes * 60_000;
  const base = { logGroup: q.logGroup, pattern: q.pattern, windowStart: new Date(start).toISOString(), windowEnd: new Date(end).toISOString() };
  const search = new LogSearch(deps, { logGroupName: q.logGroup, filterPattern: q.pattern });
  const tally = new PatternTally();
  /** Start of the newest stretch read to its end. */
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
    const window = { ...base, available: false, note: `log group ${q.logGroup} does not exist`, count: 0, truncated: false, ...search.figures() };
    return { window, tally };
  }
  const stopped = search.stoppedBecause;
  const notes = [
    ...(stopped ? [stoppedNote(stopped, { ...search.figures(), readFrom, end, count: tally.count, pattern: q.pattern })] : []),
    ...(tally.ungrouped ? [`${tally.ungrouped} line(s) beyond the first ${tally.patterns} patterns were counted but not grouped`] : []),
  ];
  const window: LogWindow = {
    ...base,
    available: true,
    ...(notes.length ? { note: notes.join('; ') } : {}),
    count: tally.count,
    truncated: stopped !== undefined,
    ...(tally.first !== undefined ? { firstAt: new Date(tally.first).toISOString() } : {}),
    ...(tally.last !== undefined ? { lastAt: new Date(tally.last).toISOString() } : {}),
    ...(stopped ? { stoppedBecause: stopped } : {}),
    ...(readFrom !== undefined ? { readFrom: new Date(readFrom).toISOString() } : {}),
    ...search.figures(),
  };
  return { window, tally };
}

/** Reads each slice to its end, newest first, until the search stops; returns the start of what was read whole. */
async function readNewestFirst(search: LogSearch, tally: { add(events: FilteredLogEvent[]): void }, windowSlices: { from: number; to: number }[]): Promise<number | undefined> {
  let readFrom: number | undefined;
  for (const slice of windowSlices) {
    let nextToken: string | undefined;
    do {
      const out = await search.page(slice, nextToken);
      if (!out) return readFrom;
      tally.add(out.events ?? []);
      // Empty pages with a nextToken are normal (the search goes on through the group): follow them.
      // The same token twice would loop for ever: that ends the slice.
      nextToken = out.nextToken && out.nextToken !== nextToken ? out.nextToken : undefined;
    } while (nextToken);
    readFrom = slice.from;
  }
  return readFrom;
}

/** The lookback window as [from, to] slices (ms, inclusive, not overlapping), newest first. */
function slices(start: number, end: number): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let to = end;
  for (const minutes of SLICE_MINUTES) {
    const from = Math.max(start, end - minutes * 60_000);
    if (from <= to) out.push({ from, to });
    to = from - 1;
    if (from === start) break;
  }
  if (to >= start) out.push({ from: start, to });
  return out;
}

function stoppedNote(why: StoppedBecause, s: { pages: number; elapsedSeconds: number; readFrom: number | undefined; end: number; count: number; pattern: string }): string {
  const reason = {
    'page-limit': `stopped after ${s.pages} pages (the limit)`,
    'time-budget': `stopped after ${Math.round(s.elapsedSeconds)} s (time budget ${BUDGET_SECONDS} s of the 30 s timeout)`,
    throttled: 'stopped: FilterLogEvents kept answering ThrottlingException',
    failing: 'stopped: FilterLogEvents kept failing',
  }[why];
  const read = s.readFrom !== undefined ? `every ${s.pattern} line from ${hhmmss(s.readFrom)} to ${hhmmss(s.end)} was read, earlier ones only in part` : 'the newest lines were read only in part';
  return `${reason}: ${read}; ${s.count} is a lower bound`;
}

function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** A number in [0, 1) from a string: jitter that replays identically in a drill. */
function spread(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i += 1) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

