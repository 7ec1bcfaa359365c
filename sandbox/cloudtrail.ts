import { createHash } from 'node:crypto';
import type { SimClock } from '#sandbox/clock';
import { AwsServiceError, type AwsJsonService } from '#sandbox/http';

export interface TrailEvent {
  eventId: string;
  eventName: string;
  eventTime: Date;
  username: string;
  eventSource: string;
  readOnly: boolean;
  resources: { resourceType: string; resourceName: string }[];
  requestParameters: Record<string, unknown>;
  /** Scenario history written before the drill started (not something the workflow did). */
  seeded: boolean;
}

export type TrailRecord = Omit<TrailEvent, 'eventId' | 'eventTime' | 'seeded'> & { eventTime?: Date; seeded?: boolean };

const MAX_RESULTS = 50;
const LOOKUP_KEYS = {
  EventName: (e: TrailEvent) => [e.eventName],
  ResourceName: (e: TrailEvent) => e.resources.map((r) => r.resourceName),
  Username: (e: TrailEvent) => [e.username],
  EventSource: (e: TrailEvent) => [e.eventSource],
} as const;

/**
 * CloudTrail management events for the sandbox account: the ECS simulator records every
 * mutating call here, the scenario seeds the "recent changes" an investigator should find.
 */
export class CloudTrailStore {
  private readonly clock: SimClock;
  private readonly region: string;
  private readonly accountId: string;
  /** Oldest first; seeded events may be back-dated, so insertion keeps the order. */
  private readonly list: TrailEvent[] = [];
  private counter = 0;

  constructor(opts: { clock: SimClock; region: string; accountId: string }) {
    this.clock = opts.clock;
    this.region = opts.region;
    this.accountId = opts.accountId;
  }

  record(e: TrailRecord): TrailEvent {
    const eventTime = e.eventTime ?? this.clock.now();
    const event: TrailEvent = { ...e, eventTime, seeded: e.seeded ?? false, eventId: this.nextId(e.eventName, eventTime) };
    const at = this.list.findIndex((x) => x.eventTime.getTime() > eventTime.getTime());
    if (at === -1) this.list.push(event);
    else this.list.splice(at, 0, event);
    return event;
  }

  events(): TrailEvent[] {
    return [...this.list];
  }

  mutatingEvents(): TrailEvent[] {
    return this.list.filter((e) => !e.readOnly && !e.seeded);
  }

  handle: AwsJsonService = (operation, body) => {
    if (operation !== 'LookupEvents') throw new AwsServiceError('UnknownOperationException', `sandbox CloudTrail does not implement ${operation}`);
    return this.lookupEvents(body);
  };

  private lookupEvents(body: Record<string, unknown>): unknown {
    const start = epochSeconds(body, 'StartTime') ?? 0;
    const end = epochSeconds(body, 'EndTime') ?? this.clock.nowMs();
    if (start > end) throw new AwsServiceError('InvalidTimeRangeException', 'Start time must be before end time.');
    const max = maxResults(body);
    const matchesAttribute = lookupAttributeFilter(body);
    const newestFirst = this.list
      .filter((e) => e.eventTime.getTime() >= start && e.eventTime.getTime() <= end && matchesAttribute(e))
      .reverse();
    const from = pageStart(newestFirst, body.NextToken);
    const page = newestFirst.slice(from, from + max);
    const last = page.at(-1);
    const more = from + max < newestFirst.length && last !== undefined;
    return { Events: page.map((e) => this.toApi(e)), ...(more ? { NextToken: encodeToken(last.eventId) } : {}) };
  }

  private toApi(e: TrailEvent): unknown {
    return {
      EventId: e.eventId,
      EventName: e.eventName,
      ReadOnly: String(e.readOnly),
      AccessKeyId: 'ASIASANDBOXEXAMPLE01',
      EventTime: e.eventTime,
      EventSource: e.eventSource,
      Username: e.username,
      Resources: e.resources.map((r) => ({ ResourceType: r.resourceType, ResourceName: r.resourceName })),
      CloudTrailEvent: JSON.stringify(this.cloudTrailEvent(e)),
    };
  }

  /** The JSON document real CloudTrail stores per event (what `CloudTrailEvent` carries as a string). */
  private cloudTrailEvent(e: TrailEvent): Record<string, unknown> {
    const role = `arn:aws:iam::${this.accountId}:role/${e.username}`;
    return {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: `AROASANDBOXEXAMPLE01:${e.username}`,
        arn: `arn:aws:sts::${this.accountId}:assumed-role/${e.username}/${e.username}`,
        accountId: this.accountId,
        accessKeyId: 'ASIASANDBOXEXAMPLE01',
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: 'AROASANDBOXEXAMPLE01', arn: role, accountId: this.accountId, userName: e.username },
          attributes: { creationDate: e.eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'), mfaAuthenticated: 'false' },
        },
      },
      eventTime: e.eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: e.eventSource,
      eventName: e.eventName,
      awsRegion: this.region,
      sourceIPAddress: '10.0.0.10',
      userAgent: 'aws-sdk-js/3 incident-flows-sandbox',
      requestParameters: e.requestParameters,
      responseElements: null,
      requestID: e.eventId,
      eventID: e.eventId,
      readOnly: e.readOnly,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: this.accountId,
      eventCategory: 'Management',
    };
  }

  /** A UUID-shaped id derived from a counter, so ids are deterministic without drawing randomness. */
  private nextId(eventName: string, at: Date): string {
    this.counter += 1;
    const h = createHash('sha1').update(`${this.counter}:${eventName}:${at.getTime()}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** The SDK sends timestamps as epoch seconds; the CLI may send ISO strings. Returns epoch ms. */
function epochSeconds(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw new AwsServiceError('ValidationException', `${key} is not a valid timestamp.`);
  return ms;
}

function maxResults(body: Record<string, unknown>): number {
  const v = body.MaxResults;
  if (v === undefined) return MAX_RESULTS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_RESULTS) {
    throw new AwsServiceError('InvalidMaxResultsException', `MaxResults must be an integer from 1 to ${MAX_RESULTS}.`);
  }
  return v;
}

function lookupAttributeFilter(body: Record<string, unknown>): (e: TrailEvent) => boolean {
  const attrs = body.LookupAttributes;
  if (attrs === undefined || (Array.isArray(attrs) && attrs.length === 0)) return () => true;
  if (!Array.isArray(attrs) || attrs.length > 1) {
    throw new AwsServiceError('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.');
  }
  const { AttributeKey: key, AttributeValue: value } = (attrs[0] ?? {}) as Record<string, unknown>;
  if (typeof key !== 'string' || !(key in LOOKUP_KEYS)) {
    throw new AwsServiceError(
      'InvalidLookupAttributesException',
      `AttributeKey ${String(key)} is not supported; the sandbox supports ${Object.keys(LOOKUP_KEYS).join(', ')}.`,
    );
  }
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError('InvalidLookupAttributesException', 'AttributeValue must be a non-empty string.');
  }
  const values = LOOKUP_KEYS[key as keyof typeof LOOKUP_KEYS];
  return (e) => values(e).includes(value);
}

/** Tokens name the last event returned, so events recorded between pages do not shift the next page. */
function pageStart(events: TrailEvent[], token: unknown): number {
  if (token === undefined) return 0;
  const lastId = typeof token === 'string' ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const at = events.findIndex((e) => e.eventId === lastId);
  if (at === -1) throw new AwsServiceError('InvalidNextTokenException', 'Invalid NextToken.');
  return at + 1;
}

function encodeToken(eventId: string): string {
  return Buffer.from(eventId, 'utf8').toString('base64url');
}
