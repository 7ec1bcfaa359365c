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
  /** The call failed (CloudTrail records refused calls too, e.g. AccessDenied): it changed nothing. */
  errorCode?: string;
  /**
   * An AWS service made the call through its service-linked role (`username`), e.g.
   * "ecs.application-autoscaling.amazonaws.com": CloudTrail's `userIdentity.invokedBy`.
   */
  invokedBy?: string;
}

/**
 * Application Auto Scaling's service-linked role for ECS, and the principal CloudTrail names as
 * `invokedBy` on the calls it makes with it (AAS User Guide, "Service-linked roles").
 */
export const AAS_ECS_ROLE = 'AWSServiceRoleForApplicationAutoScaling_ECSService';
export const AAS_ECS_PRINCIPAL = 'ecs.application-autoscaling.amazonaws.com';

export type TrailRecord = Omit<TrailEvent, 'eventId' | 'eventTime' | 'seeded'> & { eventTime?: Date; seeded?: boolean };

/**
 * How closely the trail follows AWS's documented limits. The bare store is lenient (the fleet's
 * unit tests look up what they just did, several times in one virtual instant); the sandbox, and
 * any test that wants AWS's behaviour, sets `AWS_CLOUDTRAIL`.
 */
export interface CloudTrailBehaviour {
  /**
   * LookupEvents calls answered in any one second of sandbox time, per account and region; the
   * next one gets ThrottlingException "Rate exceeded". AWS: 2 ("CloudTrail quotas", LookupEvents).
   */
  lookupsPerSecond: number;
  /**
   * Seconds from an event to the moment LookupEvents returns it. AWS: "CloudTrail typically
   * delivers events within an average of about 5 minutes of an API call" — none is kinder.
   */
  deliverySeconds: number;
}

export const AWS_CLOUDTRAIL: CloudTrailBehaviour = { lookupsPerSecond: 2, deliverySeconds: 300 };
const LENIENT: CloudTrailBehaviour = { lookupsPerSecond: Number.POSITIVE_INFINITY, deliverySeconds: 0 };

const MAX_RESULTS = 50;
const LOOKUP_KEYS = {
  EventId: (e: TrailEvent) => [e.eventId],
  EventName: (e: TrailEvent) => [e.eventName],
  ReadOnly: (e: TrailEvent) => [String(e.readOnly)],
  ResourceType: (e: TrailEvent) => e.resources.map((r) => r.resourceType),
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
  private behaviour: CloudTrailBehaviour;
  /** Sandbox times (ms) of the LookupEvents calls answered in the last second. */
  private recentLookups: number[] = [];
  /** LookupEvents calls answered and refused for rate, since the store was made: what tests count. */
  readonly lookups = { answered: 0, throttled: 0 };

  constructor(opts: { clock: SimClock; region: string; accountId: string; behaviour?: Partial<CloudTrailBehaviour> }) {
    this.clock = opts.clock;
    this.region = opts.region;
    this.accountId = opts.accountId;
    this.behaviour = { ...LENIENT, ...opts.behaviour };
  }

  /** Switches to AWS's limits (`AWS_CLOUDTRAIL`) or back; applies to the calls that follow. */
  setBehaviour(behaviour: Partial<CloudTrailBehaviour>): void {
    this.behaviour = { ...this.behaviour, ...behaviour };
  }

  record(e: TrailRecord): TrailEvent {
    const eventTime = e.eventTime ?? this.clock.now();
    const event: TrailEvent = { ...e, eventTime, seeded: e.seeded ?? false, eventId: this.nextId(e.eventName, eventTime) };
    // Almost every event is recorded as it happens, so the search from the newest end is short.
    let at = this.list.length;
    while (at > 0 && this.list[at - 1]!.eventTime.getTime() > eventTime.getTime()) at -= 1;
    this.list.splice(at, 0, event);
    return event;
  }

  /**
   * Bulk history (a busy account, a scenario): many events at once, kept in time order. Marked
   * seeded unless a record says otherwise, so `mutatingEvents` still lists only what the drill did.
   */
  seed(records: TrailRecord[]): void {
    for (const r of records) {
      const eventTime = r.eventTime ?? this.clock.now();
      this.list.push({ ...r, eventTime, seeded: r.seeded ?? true, eventId: this.nextId(r.eventName, eventTime) });
    }
    // Stable: events of the same instant keep the order they were recorded in.
    this.list.sort((a, b) => a.eventTime.getTime() - b.eventTime.getTime());
  }

  /**
   * A busy account's trail around one service: dashboards, pollers and automation reading all
   * day (Describe*, List*, Get* on ECS, ELB, CloudWatch, Step Functions, EC2), other services of
   * the cluster changed by deploys and autoscaling, same-named services in other clusters
   * changed too, other families' task definitions registered — spread evenly over [from, to],
   * deterministically. Cluster and service appear as names or ARNs, as callers send them.
   * Returns how many events were added.
   */
  simulateBusyAccount(opts: BusyAccount): number {
    const records = busyAccountTraffic({ ...opts, region: this.region, accountId: this.accountId });
    this.seed(records);
    return records.length;
  }

  /**
   * Records a read-only call the sandbox answered, as CloudTrail records management read events
   * (the workflows' own Describe* polling fills the trail as it does on AWS). Mutating ECS calls
   * are recorded by the fleet itself, so only reads are taken here.
   */
  recordApiCall(call: { api: string; operation: string; body: Record<string, unknown>; errorCode?: string }): void {
    const source = EVENT_SOURCES[call.api];
    if (!source || !READ_ONLY.test(call.operation)) return;
    const requestParameters: Record<string, unknown> = {};
    for (const key of ['cluster', 'services', 'tasks', 'serviceName', 'logGroupName', 'executionArn', 'alarmNames']) {
      if (call.body[key] !== undefined) requestParameters[key] = call.body[key];
    }
    this.record({ eventName: call.operation, username: 'incident-flows', eventSource: source, readOnly: true, resources: [], requestParameters, ...(call.errorCode ? { errorCode: call.errorCode } : {}) });
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
    const now = this.clock.nowMs();
    this.admitLookup(now);
    const start = epochSeconds(body, 'StartTime') ?? 0;
    const end = epochSeconds(body, 'EndTime') ?? now;
    if (start > end) throw new AwsServiceError('InvalidTimeRangeException', 'Start time must be before end time.');
    const max = maxResults(body);
    const matchesAttribute = lookupAttributeFilter(body);
    // Only what CloudTrail has delivered by now: an event from the last minutes may not be there yet.
    const deliveredBy = now - this.behaviour.deliverySeconds * 1000;
    const newestFirst = this.list
      .filter((e) => e.eventTime.getTime() >= start && e.eventTime.getTime() <= end && e.eventTime.getTime() <= deliveredBy && matchesAttribute(e))
      .reverse();
    const from = pageStart(newestFirst, body.NextToken);
    const page = newestFirst.slice(from, from + max);
    const last = page.at(-1);
    const more = from + max < newestFirst.length && last !== undefined;
    return { Events: page.map((e) => this.toApi(e)), ...(more ? { NextToken: encodeToken(last.eventId) } : {}) };
  }

  /** LookupEvents' account-wide rate, on the sandbox clock: refused calls do not count against it. */
  private admitLookup(now: number): void {
    this.recentLookups = this.recentLookups.filter((t) => t > now - 1000);
    if (this.recentLookups.length >= this.behaviour.lookupsPerSecond) {
      this.lookups.throttled += 1;
      throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
    }
    this.recentLookups.push(now);
    this.lookups.answered += 1;
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
    // A service-linked role lives under aws-service-role/<service principal>/ (IAM User Guide, "Using service-linked roles").
    const role = e.invokedBy ? `arn:aws:iam::${this.accountId}:role/aws-service-role/${e.invokedBy}/${e.username}` : `arn:aws:iam::${this.accountId}:role/${e.username}`;
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
        // A call an AWS service made for the account names that service (CloudTrail userIdentity element, invokedBy).
        ...(e.invokedBy ? { invokedBy: e.invokedBy } : {}),
      },
      eventTime: e.eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: e.eventSource,
      eventName: e.eventName,
      awsRegion: this.region,
      sourceIPAddress: e.invokedBy ?? '10.0.0.10',
      userAgent: e.invokedBy ?? 'aws-sdk-js/3 incident-flows-sandbox',
      requestParameters: e.requestParameters,
      responseElements: null,
      ...(e.errorCode ? { errorCode: e.errorCode, errorMessage: `${e.errorCode} (sandbox)` } : {}),
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

/** Where each sandbox API's calls come from in CloudTrail. */
const EVENT_SOURCES: Record<string, string> = {
  ecs: 'ecs.amazonaws.com',
  elbv2: 'elasticloadbalancing.amazonaws.com',
  cloudwatch: 'monitoring.amazonaws.com',
  logs: 'logs.amazonaws.com',
  sfn: 'states.amazonaws.com',
  cloudtrail: 'cloudtrail.amazonaws.com',
  'application-autoscaling': 'application-autoscaling.amazonaws.com',
};
const READ_ONLY = /^(Describe|List|Get|Lookup|Filter)/;

export interface BusyAccount {
  /** The cluster the incident is about: its other services get changed too. */
  cluster: string;
  /** The traffic is spread evenly over this window, oldest first. */
  from: Date;
  to: Date;
  /** Read-only calls (Describe*, List*, Get*) from dashboards, pollers and automation. */
  reads: number;
  /** Mutating calls on `others` (UpdateService by deploys and autoscaling, RegisterTaskDefinition). */
  changes?: number;
  /** Services those changes touch: other services of the cluster, same-named ones in other clusters. */
  others?: { cluster: string; service: string }[];
}

const READS: { eventName: string; eventSource: string; username: string }[] = [
  { eventName: 'DescribeServices', eventSource: 'ecs.amazonaws.com', username: 'grafana' },
  { eventName: 'ListTasks', eventSource: 'ecs.amazonaws.com', username: 'incident-flows' },
  { eventName: 'DescribeTasks', eventSource: 'ecs.amazonaws.com', username: 'incident-flows' },
  { eventName: 'DescribeServices', eventSource: 'ecs.amazonaws.com', username: 'incident-flows' },
  { eventName: 'DescribeTargetHealth', eventSource: 'elasticloadbalancing.amazonaws.com', username: 'incident-flows' },
  { eventName: 'DescribeAlarms', eventSource: 'monitoring.amazonaws.com', username: 'grafana' },
  { eventName: 'GetMetricData', eventSource: 'monitoring.amazonaws.com', username: 'grafana' },
  { eventName: 'ListServices', eventSource: 'ecs.amazonaws.com', username: 'backstage' },
  { eventName: 'DescribeTaskDefinition', eventSource: 'ecs.amazonaws.com', username: 'backstage' },
  { eventName: 'DescribeExecution', eventSource: 'states.amazonaws.com', username: 'incident-flows' },
  { eventName: 'DescribeInstances', eventSource: 'ec2.amazonaws.com', username: 'inventory' },
  { eventName: 'DescribeClusters', eventSource: 'ecs.amazonaws.com', username: 'grafana' },
];

/** The events `simulateBusyAccount` adds (exported for tests that want to look at them first). */
export function busyAccountTraffic(opts: BusyAccount & { region: string; accountId: string }): TrailRecord[] {
  const reads = Math.max(0, Math.floor(opts.reads));
  const others = opts.others ?? [];
  const changes = others.length ? Math.max(0, Math.floor(opts.changes ?? 0)) : 0;
  const total = reads + changes;
  const from = opts.from.getTime();
  const span = Math.max(0, opts.to.getTime() - from);
  const clusterArn = (c: string) => `arn:aws:ecs:${opts.region}:${opts.accountId}:cluster/${c}`;
  const serviceArn = (c: string, s: string) => `arn:aws:ecs:${opts.region}:${opts.accountId}:service/${c}/${s}`;
  const records: TrailRecord[] = [];
  let readIndex = 0;
  let changeIndex = 0;
  for (let i = 0; i < total; i += 1) {
    const eventTime = new Date(from + (total === 1 ? span : Math.round((span * i) / (total - 1))));
    // Changes interleaved evenly among the reads, so both kinds cover the whole window.
    const isChange = Math.floor(((i + 1) * changes) / total) > Math.floor((i * changes) / total);
    if (isChange) {
      const target = others[changeIndex % others.length]!;
      const n = changeIndex;
      changeIndex += 1;
      if (n % 5 === 4) {
        records.push({
          eventName: 'RegisterTaskDefinition',
          username: 'deploy-bot',
          eventSource: 'ecs.amazonaws.com',
          readOnly: false,
          resources: [],
          requestParameters: { family: `${target.service}-${target.cluster}`, containerDefinitions: [{ name: target.service, image: `registry.example/${target.service}:${n}` }] },
          eventTime,
        });
        continue;
      }
      // Callers name clusters and services either way: plain names, ARNs, or an ARN only for the service.
      const style = n % 3;
      const cluster = style === 1 ? clusterArn(target.cluster) : target.cluster;
      const service = style === 2 ? serviceArn(target.cluster, target.service) : target.service;
      const byAutoscaling = n % 2 === 0;
      records.push({
        eventName: 'UpdateService',
        // Application Auto Scaling's changes read as the sandbox's own scaler records them (sandbox/autoscaling.ts).
        ...(byAutoscaling ? { username: AAS_ECS_ROLE, invokedBy: AAS_ECS_PRINCIPAL } : { username: 'deploy-bot' }),
        eventSource: 'ecs.amazonaws.com',
        readOnly: false,
        resources: [{ resourceType: 'AWS::ECS::Service', resourceName: target.service }],
        requestParameters: byAutoscaling ? { cluster, service, desiredCount: 2 + (n % 4) } : { cluster, service, taskDefinition: `${target.service}:${10 + n}` },
        eventTime,
      });
      continue;
    }
    const read = READS[readIndex % READS.length]!;
    readIndex += 1;
    const requestParameters: Record<string, unknown> = read.eventSource === 'ecs.amazonaws.com' ? { cluster: opts.cluster } : {};
    records.push({ ...read, readOnly: true, resources: [], requestParameters, eventTime });
  }
  return records;
}
