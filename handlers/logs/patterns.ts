import type { FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';

/**
 * Log lines grouped by message pattern (P0's ERROR lines, P2's WARN lines): what differs from one
 * occurrence to the next (timestamps, UUIDs, IP addresses, hex ids, numbers) is folded to a
 * placeholder, so "Slow response: 1840 ms" and "Slow response: 2210 ms" are one pattern with a
 * count. Order matters: a timestamp or a UUID is folded whole before its digits would be.
 */
const FOLDS: [RegExp, string][] = [
  // ISO 8601 and "2026-11-28 03:04:05,123"-style timestamps.
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b/g, '<ip>'],
  // Hex ids (task ids, request ids, hashes): 8+ hex digits with at least one digit, so words like "deadbeefcafe" stay words only if they have none.
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<id>'],
  // Ids that mix letters and digits with a separator, e.g. "req-7f3a9", "pol_42".
  [/\b[A-Za-z]+[-_](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{3,}\b/g, '<id>'],
  [/\b\d+(\.\d+)?\b/g, '<n>'],
];

/** The pattern of one message (at most 200 characters). */
export function patternOf(message: string): string {
  let out = message.trim();
  for (const [re, placeholder] of FOLDS) out = out.replace(re, placeholder);
  return out.slice(0, 200);
}

export interface PatternGroup {
  /** The message with its varying parts folded, e.g. "WARN Slow response from <n> ms (request <uuid>)". */
  pattern: string;
  count: number;
  firstAt: string;
  lastAt: string;
  /** One occurrence as it was written (at most 500 characters). */
  sample: string;
}

/** Matching lines counted by pattern, with first and last seen; bounded in the groups it keeps. */
export class PatternTally {
  count = 0;
  first: number | undefined;
  last: number | undefined;
  /** Lines whose pattern was not kept (more than `maxGroups` patterns): counted, not grouped. */
  ungrouped = 0;
  private readonly groups = new Map<string, { count: number; first: number; last: number; sample: string }>();

  constructor(private readonly maxGroups = 200) {}

  add(events: FilteredLogEvent[]): void {
    for (const e of events) {
      this.count += 1;
      const ts = e.timestamp ?? 0;
      this.first = this.first === undefined ? ts : Math.min(this.first, ts);
      this.last = this.last === undefined ? ts : Math.max(this.last, ts);
      const message = (e.message ?? '').trim();
      const key = patternOf(message);
      const g = this.groups.get(key);
      if (g) {
        g.count += 1;
        g.first = Math.min(g.first, ts);
        g.last = Math.max(g.last, ts);
      } else if (this.groups.size < this.maxGroups) {
        this.groups.set(key, { count: 1, first: ts, last: ts, sample: message.slice(0, 500) });
      } else {
        this.ungrouped += 1;
      }
    }
  }

  /** The most frequent patterns first (ties: the most recent first). */
  top(n: number): PatternGroup[] {
    return [...this.groups.entries()]
      .sort((a, b) => b[1].count - a[1].count || b[1].last - a[1].last)
      .slice(0, n)
      .map(([pattern, g]) => ({ pattern, count: g.count, firstAt: new Date(g.first).toISOString(), lastAt: new Date(g.last).toISOString(), sample: g.sample }));
  }

  get patterns(): number {
    return this.groups.size;
  }
}

/** A log review's most frequent patterns as the incident report and the approval request read them: message, count, example. */
export type TopPattern = { message: string; count: number; example: string };

export function topPatterns(groups: PatternGroup[]): TopPattern[] {
  return groups.map((g) => ({ message: g.pattern, count: g.count, example: g.sample }));
}
