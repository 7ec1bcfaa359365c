import type { SimClock } from '#sandbox/clock';
import { AwsServiceError, type AwsJsonService } from '#sandbox/http';

interface StoredEvent {
  seq: number;
  logStreamName: string;
  timestamp: number;
  ingestionTime: number;
  message: string;
}

interface LogGroup {
  name: string;
  creationTime: number;
  /** Ordered by (timestamp, seq): the order FilterLogEvents returns. */
  events: StoredEvent[];
  storedBytes: number;
}

/**
 * How closely FilterLogEvents follows AWS. The bare store is lenient (one call finds every match,
 * any number of calls per second); the sandbox, and tests that want AWS's behaviour, set `AWS_LOGS`.
 */
export interface LogsBehaviour {
  /**
   * FilterLogEvents calls answered in any one second of sandbox time, per account and region; the
   * next one gets ThrottlingException "Rate exceeded". AWS: 5 ("CloudWatch Logs quotas").
   */
  filtersPerSecond: number;
  /**
   * Stored events one FilterLogEvents call looks through before it answers with what it found —
   * possibly nothing — and a nextToken to go on from. AWS searches a bounded slice of a group per
   * call, so a sparse pattern over a large group or many streams comes back in empty pages.
   */
  scanPerCall: number;
}

export const AWS_LOGS: LogsBehaviour = { filtersPerSecond: 5, scanPerCall: 10_000 };
const LENIENT: LogsBehaviour = { filtersPerSecond: Number.POSITIVE_INFINITY, scanPerCall: Number.POSITIVE_INFINITY };

/** FilterLogEvents' documented default and ceiling for `limit`. */
const MAX_FILTER_LIMIT = 10_000;
const DEFAULT_GROUP_LIMIT = 50;
/** The awslogs driver ships in batches: events land in the service a moment after they happen. */
const INGESTION_DELAY_MS = 400;

/** CloudWatch Logs for the sandbox: the ECS tasks write here, the investigation step reads ERROR lines back. */
export class LogStore {
  private readonly clock: SimClock;
  private readonly region: string;
  private readonly accountId: string;
  private readonly groups = new Map<string, LogGroup>();
  private seq = 0;
  private behaviour: LogsBehaviour;
  /** Sandbox times (ms) of the FilterLogEvents calls answered in the last second. */
  private recentFilters: number[] = [];
  /** FilterLogEvents calls answered (and how many of them came back empty with a nextToken) and refused for rate. */
  readonly filters = { answered: 0, emptyWithToken: 0, throttled: 0 };

  constructor(opts: { clock: SimClock; region?: string; accountId?: string; behaviour?: Partial<LogsBehaviour> }) {
    this.clock = opts.clock;
    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? '123456789012';
    this.behaviour = { ...LENIENT, ...opts.behaviour };
  }

  /** Switches to AWS's limits (`AWS_LOGS`) or back; applies to the calls that follow. */
  setBehaviour(behaviour: Partial<LogsBehaviour>): void {
    this.behaviour = { ...this.behaviour, ...behaviour };
  }

  /** Creates the group if needed (as the awslogs driver does with awslogs-create-group). */
  ensureGroup(logGroup: string): void {
    if (!this.groups.has(logGroup)) {
      this.groups.set(logGroup, { name: logGroup, creationTime: this.clock.nowMs(), events: [], storedBytes: 0 });
    }
  }

  write(logGroup: string, logStream: string, timeMs: number, message: string): void {
    this.ensureGroup(logGroup);
    const group = this.groups.get(logGroup)!;
    this.seq += 1;
    const event: StoredEvent = {
      seq: this.seq,
      logStreamName: logStream,
      timestamp: timeMs,
      ingestionTime: timeMs + INGESTION_DELAY_MS,
      message,
    };
    insertOrdered(group.events, event);
    group.storedBytes += Buffer.byteLength(message);
  }

  handle: AwsJsonService = (operation, body) => {
    if (operation === 'FilterLogEvents') return this.filterLogEvents(body);
    if (operation === 'DescribeLogGroups') return this.describeLogGroups(body);
    throw new AwsServiceError('UnknownOperationException', `sandbox CloudWatch Logs does not implement ${operation}`);
  };

  private filterLogEvents(body: Record<string, unknown>): unknown {
    this.admitFilter(this.clock.nowMs());
    const group = this.groups.get(requireGroupName(body));
    if (!group) throw new AwsServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    const start = optionalTimestamp(body, 'startTime') ?? 0;
    const end = optionalTimestamp(body, 'endTime') ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.min(optionalNumber(body, 'limit') ?? MAX_FILTER_LIMIT, MAX_FILTER_LIMIT);
    if (limit < 1) throw new AwsServiceError('InvalidParameterException', '1 validation error detected: Value at \'limit\' failed to satisfy constraint: Member must have value greater than or equal to 1');
    const matchesPattern = compileFilterPattern(body.filterPattern);
    const inStream = streamFilter(body);
    const after = cursor(body.nextToken);
    const events = group.events;
    // Resume just after the token's position, or at the window's start, whichever is later.
    const from = after.timestamp >= start ? after : { timestamp: start, seq: -1 };
    const page: StoredEvent[] = [];
    let scanned = 0;
    let stoppedAt: StoredEvent | undefined;
    let i = firstAfter(events, from);
    for (; i < events.length && events[i]!.timestamp <= end; i += 1) {
      const e = events[i]!;
      if (!inStream(e.logStreamName)) continue;
      scanned += 1;
      if (matchesPattern(e.message)) page.push(e);
      if (page.length === limit || scanned >= this.behaviour.scanPerCall) {
        stoppedAt = e;
        i += 1;
        break;
      }
    }
    // More to read: with a bounded scan, anything left in the window (the next page may be empty,
    // as on AWS); with an unbounded one, another match.
    let more = false;
    if (stoppedAt) {
      for (; i < events.length && events[i]!.timestamp <= end; i += 1) {
        const e = events[i]!;
        if (inStream(e.logStreamName) && (Number.isFinite(this.behaviour.scanPerCall) || matchesPattern(e.message))) {
          more = true;
          break;
        }
      }
    }
    if (more && page.length === 0) this.filters.emptyWithToken += 1;
    return {
      events: page.map(({ seq, ...e }) => ({ ...e, eventId: eventIdOf(e.timestamp, seq) })),
      searchedLogStreams: [],
      ...(more && stoppedAt ? { nextToken: encodeCursor(stoppedAt) } : {}),
    };
  }

  /** FilterLogEvents' account-wide rate, on the sandbox clock: refused calls do not count against it. */
  private admitFilter(now: number): void {
    this.recentFilters = this.recentFilters.filter((t) => t > now - 1000);
    if (this.recentFilters.length >= this.behaviour.filtersPerSecond) {
      this.filters.throttled += 1;
      throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
    }
    this.recentFilters.push(now);
    this.filters.answered += 1;
  }

  private describeLogGroups(body: Record<string, unknown>): unknown {
    const prefix = typeof body.logGroupNamePrefix === 'string' ? body.logGroupNamePrefix : '';
    const limit = optionalNumber(body, 'limit') ?? DEFAULT_GROUP_LIMIT;
    if (limit < 1 || limit > DEFAULT_GROUP_LIMIT) throw new AwsServiceError('InvalidParameterException', `limit must be between 1 and ${DEFAULT_GROUP_LIMIT}.`);
    const names = [...this.groups.keys()].filter((n) => n.startsWith(prefix)).sort();
    // The token is the last name returned; names are sorted, so the next page starts just after it.
    const token = body.nextToken;
    const from = typeof token === 'string' ? names.findIndex((n) => n > token) : 0;
    const page = from === -1 ? [] : names.slice(from, from + limit);
    const more = from !== -1 && from + limit < names.length;
    return {
      logGroups: page.map((name) => this.describeGroup(this.groups.get(name)!)),
      ...(more ? { nextToken: page.at(-1) } : {}),
    };
  }

  private describeGroup(g: LogGroup): unknown {
    const arn = `arn:aws:logs:${this.region}:${this.accountId}:log-group:${g.name}`;
    return {
      logGroupName: g.name,
      creationTime: g.creationTime,
      metricFilterCount: 0,
      arn: `${arn}:*`,
      logGroupArn: arn,
      storedBytes: g.storedBytes,
      logGroupClass: 'STANDARD',
    };
  }
}

/** Real ids are long decimal strings; this one is unique and sorts like the event (made when answered, not stored). */
function eventIdOf(timestamp: number, seq: number): string {
  return `${String(timestamp).padStart(16, '0')}${String(seq).padStart(20, '0')}`;
}

function insertOrdered(events: StoredEvent[], e: StoredEvent): void {
  // Writes arrive almost always in time order, so scanning from the end is O(1) in practice.
  let i = events.length;
  while (i > 0 && events[i - 1]!.timestamp > e.timestamp) i -= 1;
  events.splice(i, 0, e);
}

function requireGroupName(body: Record<string, unknown>): string {
  const name = body.logGroupName ?? body.logGroupIdentifier;
  if (typeof name !== 'string' || name === '') {
    throw new AwsServiceError('InvalidParameterException', 'Either logGroupName or logGroupIdentifier must be specified.');
  }
  // logGroupIdentifier may be an ARN; the group name follows "log-group:".
  return name.includes(':log-group:') ? name.split(':log-group:')[1]!.replace(/:\*$/, '') : name;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AwsServiceError('InvalidParameterException', `${key} must be a number.`);
  return v;
}

/**
 * The latest instant a timestamp can name: 8.64e15 ms after the epoch (ECMAScript's Date range,
 * year 275760). Past it there is no date to search from, and an ISO rendering of it throws.
 */
const MAX_TIMESTAMP_MS = 8.64e15;

/**
 * startTime / endTime: a Long of milliseconds since the epoch, minimum 0 (CloudWatch Logs API
 * Reference, FilterLogEvents). A negative number or one past any date is refused with AWS's
 * validation wording rather than searched as an empty window.
 */
function optionalTimestamp(body: Record<string, unknown>, key: string): number | undefined {
  const v = optionalNumber(body, key);
  if (v === undefined) return undefined;
  if (v < 0) throw validationError(key, 'Member must have value greater than or equal to 0');
  if (v > MAX_TIMESTAMP_MS) throw validationError(key, `Member must be a valid timestamp (at most ${MAX_TIMESTAMP_MS} ms since the epoch)`);
  // A fraction deserializes into the Long truncated, as the service's JSON reader coerces it.
  return Math.trunc(v);
}

/** CloudWatch Logs reports a model constraint as InvalidParameterException with the Coral validation text. */
function validationError(key: string, constraint: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', `1 validation error detected: Value at '${key}' failed to satisfy constraint: ${constraint}`);
}

/** filterPattern: "Length Constraints: Minimum length of 0. Maximum length of 1024." (API Reference, FilterLogEvents). */
const MAX_FILTER_PATTERN_LENGTH = 1024;

function streamFilter(body: Record<string, unknown>): (stream: string) => boolean {
  const names = Array.isArray(body.logStreamNames) ? (body.logStreamNames as unknown[]).map(String) : undefined;
  const prefix = typeof body.logStreamNamePrefix === 'string' ? body.logStreamNamePrefix : undefined;
  if (names && prefix) throw new AwsServiceError('InvalidParameterException', 'logStreamNames and logStreamNamePrefix are mutually exclusive.');
  if (names) return (s) => names.includes(s);
  if (prefix) return (s) => s.startsWith(prefix);
  return () => true;
}

/**
 * CloudWatch's term syntax for unstructured logs: each bare word or "quoted phrase" must appear
 * in the message, case-sensitively; an empty pattern matches everything. JSON (`{ $.x = … }`)
 * and space-delimited (`[a, b]`) patterns are rejected rather than silently mis-matched.
 */
export function compileFilterPattern(pattern: unknown): (message: string) => boolean {
  if (pattern === undefined || pattern === null) return () => true;
  if (typeof pattern !== 'string') throw new AwsServiceError('InvalidParameterException', 'filterPattern must be a string.');
  if (pattern.length > MAX_FILTER_PATTERN_LENGTH) throw validationError('filterPattern', `Member must have length less than or equal to ${MAX_FILTER_PATTERN_LENGTH}`);
  const trimmed = pattern.trim();
  if (/^[{[]/.test(trimmed) || /(^|\s)[?-]/.test(trimmed)) {
    throw new AwsServiceError('InvalidParameterException', `The sandbox supports plain terms and "quoted phrases" only, not: ${pattern}`);
  }
  const terms = [...trimmed.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '').filter((t) => t !== '');
  return (message) => terms.every((t) => message.includes(t));
}

interface Cursor {
  timestamp: number;
  seq: number;
}

/** The token carries the last event's position, so events written between pages are not skipped twice or repeated. */
function cursor(token: unknown): Cursor {
  if (token === undefined || token === null) return { timestamp: Number.NEGATIVE_INFINITY, seq: -1 };
  const [t, s] = typeof token === 'string' ? Buffer.from(token, 'base64url').toString('utf8').split('/') : [];
  const parsed = { timestamp: Number(t), seq: Number(s) };
  if (!Number.isFinite(parsed.timestamp) || !Number.isInteger(parsed.seq)) {
    throw new AwsServiceError('InvalidParameterException', 'The specified nextToken is invalid.');
  }
  return parsed;
}

function isAfter(e: StoredEvent, c: Cursor): boolean {
  return e.timestamp > c.timestamp || (e.timestamp === c.timestamp && e.seq > c.seq);
}

/** Index of the first event after the cursor (events are ordered by timestamp, then seq): a binary search. */
function firstAfter(events: StoredEvent[], c: Cursor): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isAfter(events[mid]!, c)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function encodeCursor(e: StoredEvent): string {
  return Buffer.from(`${e.timestamp}/${e.seq}`, 'utf8').toString('base64url');
}
