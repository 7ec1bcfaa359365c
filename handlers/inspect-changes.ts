import { type CloudTrailClient, LookupEventsCommand, type LookupEventsCommandOutput, type Event as TrailEvent } from '@aws-sdk/client-cloudtrail';
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { cloudTrailClient, ecsClient, once } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { pacer, sleepOn, type SleepingClock } from '#commons/pacing';
import { describeService, recentEvents, summariseDeployments, type DeploymentSummary, type ServiceEventSummary } from '#commons/ecs';
import { isTransientAwsError } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface InspectChangesDeps {
  ecs: ECSClient;
  cloudtrail: CloudTrailClient;
  /** Paces LookupEvents: `sleep` when the clock has one (the sandbox's, on virtual time), a timer otherwise. */
  clock: SleepingClock;
}

export interface Change {
  at: string;
  eventName: string;
  by: string;
  summary: string;
  eventId?: string;
  /** The revision an UpdateService (or CreateService) set, as the request named it. */
  taskDefinition?: string;
}

/** One lookup (one attribute, as LookupEvents takes): how far back it read, and whether it had to stop before the window's start. */
export interface LookupRead {
  /** e.g. "ReadOnly=false" (every write), "EventName=UpdateService". */
  lookup: string;
  pages: number;
  events: number;
  /** Events about this service and cluster (or this task definition family). */
  matched: number;
  /** Every event of this lookup in the window was read. */
  complete: boolean;
  /** When not complete: the oldest event read; older ones in the window were not. */
  readBackTo?: string;
}

export interface ChangesFound {
  since: string;
  /** Changes to this service in this cluster (and its task definition family), newest first. */
  changes: Change[];
  /** The service's own deployments: CloudTrail delivers minutes late, these are immediate. */
  deployments: DeploymentSummary[];
  recentEvents: ServiceEventSummary[];
  /** The newest change that altered what runs, the usual suspect, in one sentence. */
  suspect: string | undefined;
  /** The lookups stopped before covering the window: more changes may exist. */
  truncated: boolean;
  lookups: LookupRead[];
  /** Calls made to LookupEvents, answered ThrottlingException (after the SDK's own retries), and the time it took. */
  calls: number;
  throttled: number;
  elapsedSeconds: number;
  /** Changes after this time may not be delivered to CloudTrail yet (~5 minutes late). */
  deliveredUntil: string;
  /** What people should know about the evidence: gaps, delays, early stops. */
  notes: string[];
}

const inputSchema = z.object({ incident: incidentSchema }).strict();

/**
 * ECS calls that change what runs, and how each names what it changed. LookupEvents takes ONE
 * lookup attribute: one `ReadOnly=false` page (every write in the account) answers a quiet
 * account in a single call. In a busy one that page is full of other services' writes, and an
 * EventSource lookup would be mostly Describe and List reads (the workflows' own polling among
 * them), so each change is then looked up by its EventName, most telling first, each with a page cap.
 */
interface ChangeKind {
  eventName: string;
  pages: number;
  about: 'service' | 'family' | 'cluster';
  /** Only for services on these deployment controllers (task sets exist for CODE_DEPLOY and EXTERNAL). */
  controllers?: string[];
}
const CHANGE_KINDS: ChangeKind[] = [
  { eventName: 'UpdateService', pages: 10, about: 'service' },
  { eventName: 'RegisterTaskDefinition', pages: 2, about: 'family' },
  { eventName: 'CreateService', pages: 1, about: 'service' },
  { eventName: 'DeleteService', pages: 1, about: 'service' },
  { eventName: 'UpdateServicePrimaryTaskSet', pages: 1, about: 'service', controllers: ['CODE_DEPLOY', 'EXTERNAL'] },
  { eventName: 'CreateTaskSet', pages: 1, about: 'service', controllers: ['CODE_DEPLOY', 'EXTERNAL'] },
  { eventName: 'DeleteTaskSet', pages: 1, about: 'service', controllers: ['CODE_DEPLOY', 'EXTERNAL'] },
  { eventName: 'PutClusterCapacityProviders', pages: 1, about: 'cluster' },
];
const KIND_BY_NAME = new Map(CHANGE_KINDS.map((k) => [k.eventName, k]));
/** Changes that alter what runs (a registered revision does not, until a deployment uses it). */
const DEPLOYING = new Set(['UpdateService', 'CreateService', 'UpdateServicePrimaryTaskSet', 'CreateTaskSet', 'DeleteTaskSet', 'PutClusterCapacityProviders']);

interface Lookup {
  key: 'ReadOnly' | 'EventName';
  value: string;
  pages: number;
}

const PAGE_SIZE = 50;
/** LookupEvents allows 2 requests/s per account and region: at most 2 calls in any 1.2 s from here. */
const PACE = { calls: 2, seconds: 1.2 };
/** Of the Lambda's 30 s: DescribeServices, a cold start and the last call's latency fit in the rest. */
const BUDGET_SECONDS = 20;
/** Waits after a throttled (or 5xx) call, at most 50 % shorter; after the last, the lookups stop. */
const BACKOFF_SECONDS = [1, 2, 4];
/** "CloudTrail typically delivers events within an average of about 5 minutes of an API call." */
const DELIVERY_DELAY_MINUTES = 5;

/** Inspect recent changes: `cloudtrail lookup-events` for the lookback window, plus ECS's own deployment record. */
export async function inspectChanges(event: unknown, deps: InspectChangesDeps): Promise<ChangesFound> {
  const { incident } = parseInput(inputSchema, event, 'inspect-changes input');
  const now = deps.clock.now();
  const since = new Date(now.getTime() - incident.lookbackMinutes * 60_000);
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const target: Target = { cluster: incident.cluster, service: incident.service, family: familyOf(service.taskDefinition) };
  const controller = service.deploymentController?.type ?? 'ECS';
  const trail = new TrailReader(deps, { since, until: now, target });

  // Every write in the window: one call when the account is quiet. In a busy one, change by change.
  const writes = await trail.read({ key: 'ReadOnly', value: 'false', pages: 1 });
  const kinds = CHANGE_KINDS.filter((k) => !k.controllers || k.controllers.includes(controller));
  const byName = writes.complete ? [] : await trail.readEach(kinds.map((k) => ({ key: 'EventName', value: k.eventName, pages: k.pages })));
  const truncated = !writes.complete && byName.some((r) => !r.complete);

  const changes = trail.changes();
  const deliveredUntil = new Date(now.getTime() - DELIVERY_DELAY_MINUTES * 60_000);
  const notes: string[] = [];
  if (trail.stoppedBecause) notes.push(`${trail.stoppedBecause}: more changes may exist`);
  for (const r of truncated ? byName : []) {
    if (r.pages === 0) notes.push(`${r.lookup}: not looked up`);
    else if (!r.complete && r.readBackTo) {
      notes.push(`${r.lookup}: read the newest ${r.events} events back to ${hhmm(r.readBackTo)}; more changes may exist between ${hhmm(since.toISOString())} and ${hhmm(r.readBackTo)}`);
    }
  }
  notes.push(`CloudTrail delivers events about ${DELIVERY_DELAY_MINUTES} minutes late: a change after ${hhmm(deliveredUntil.toISOString())} may not be listed yet (ECS's deployments below are current)`);
  const unseen = undeliveredDeployment(service, changes, deliveredUntil);
  if (unseen) notes.push(unseen);

  const suspect = changes.find((c) => DEPLOYING.has(c.eventName)) ?? changes[0];
  return {
    since: since.toISOString(),
    changes,
    deployments: summariseDeployments(service),
    recentEvents: recentEvents(service, since.getTime(), 10),
    suspect: suspect ? `${suspect.eventName} by ${suspect.by} at ${suspect.at}: ${suspect.summary}` : undefined,
    truncated,
    lookups: [writes, ...byName],
    calls: trail.calls,
    throttled: trail.throttled,
    elapsedSeconds: Math.round(trail.elapsedSeconds() * 10) / 10,
    deliveredUntil: deliveredUntil.toISOString(),
    notes,
  };
}

/**
 * LookupEvents for one incident: paced under the account's rate on the clock, bounded by pages and
 * by the time budget, backing off when throttled; keeps the changes about the target.
 */
class TrailReader {
  calls = 0;
  throttled = 0;
  private pagesRead = 0;
  /** Set once the budget ran out or LookupEvents kept failing: later lookups are not made. */
  stoppedBecause: string | undefined;
  private readonly found = new Map<string, Change>();
  private readonly pace: () => Promise<void>;
  private readonly started: number;

  constructor(
    private readonly deps: InspectChangesDeps,
    private readonly window: { since: Date; until: Date; target: Target },
  ) {
    this.pace = pacer(deps.clock, PACE.calls, PACE.seconds);
    this.started = deps.clock.now().getTime();
  }

  elapsedSeconds(): number {
    return (this.deps.clock.now().getTime() - this.started) / 1000;
  }

  /** Newest first. */
  changes(): Change[] {
    return [...this.found.values()].sort((a, b) => b.at.localeCompare(a.at));
  }

  async readEach(lookups: Lookup[]): Promise<LookupRead[]> {
    const reads: LookupRead[] = [];
    for (const lookup of lookups) reads.push(await this.read(lookup));
    return reads;
  }

  /** Pages through one lookup until it is done, its page cap, the time budget, or a failure that outlasts the backoff. */
  async read(lookup: Lookup): Promise<LookupRead> {
    const read: LookupRead = { lookup: `${lookup.key}=${lookup.value}`, pages: 0, events: 0, matched: 0, complete: false };
    let nextToken: string | undefined;
    let failedInARow = 0;
    // A retry after a throttled call goes round again without a new page.
    while (!this.stoppedBecause && read.pages < lookup.pages) {
      if (this.elapsedSeconds() + PACE.seconds > BUDGET_SECONDS) {
        this.stoppedBecause = `stopped after ${Math.round(this.elapsedSeconds())} s (time budget ${BUDGET_SECONDS} s)`;
        break;
      }
      await this.pace();
      let out: LookupEventsCommandOutput;
      try {
        this.calls += 1;
        out = await this.deps.cloudtrail.send(
          new LookupEventsCommand({
            StartTime: this.window.since,
            EndTime: this.window.until,
            LookupAttributes: [{ AttributeKey: lookup.key, AttributeValue: lookup.value }],
            MaxResults: PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
      } catch (err) {
        if (!isTransientAwsError(err)) throw err;
        if (isThrottling(err)) this.throttled += 1;
        // Other callers share the account's rate: back off (jittered per service, so incidents spread out).
        const base = BACKOFF_SECONDS[failedInARow];
        failedInARow += 1;
        const wait = base === undefined ? undefined : base * (0.5 + 0.5 * spread(`${this.window.target.service}/${this.calls}`));
        if (wait === undefined || this.elapsedSeconds() + wait + PACE.seconds > BUDGET_SECONDS) {
          // Nothing read at all: the step fails (retried by the workflow, then noted as unavailable).
          if (this.pagesRead === 0) throw err;
          this.stoppedBecause = `LookupEvents kept failing (${(err as Error).name}) after ${Math.round(this.elapsedSeconds())} s`;
          break;
        }
        await sleepOn(this.deps.clock, wait);
        continue;
      }
      failedInARow = 0;
      read.pages += 1;
      this.pagesRead += 1;
      for (const e of out.Events ?? []) {
        read.events += 1;
        if (e.EventTime) read.readBackTo = e.EventTime.toISOString();
        const change = toChange(e, this.window.target);
        if (!change) continue;
        read.matched += 1;
        this.found.set(change.eventId ?? `${change.at}/${change.eventName}/${this.found.size}`, change);
      }
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
    read.complete = read.pages > 0 && !nextToken;
    if (read.complete) delete read.readBackTo;
    return read;
  }
}

interface Target {
  cluster: string;
  service: string;
  family: string | undefined;
}

function familyOf(taskDefinitionArn: string | undefined): string | undefined {
  const last = taskDefinitionArn?.split('/').pop();
  return last?.split(':')[0];
}

/** The change, when the event is a change that matters and is about this service in this cluster (or this task definition family). */
function toChange(e: TrailEvent, target: Target): Change | undefined {
  const kind = KIND_BY_NAME.get(e.EventName ?? '');
  if (!kind) return undefined;
  const record = cloudTrailRecord(e);
  // A call that failed (AccessDenied, a validation error) changed nothing.
  if (record.errorCode) return undefined;
  const params = record.requestParameters ?? {};
  if (!isAbout(kind.about, params, target)) return undefined;
  return {
    at: e.EventTime?.toISOString() ?? '',
    eventName: kind.eventName,
    by: e.Username ?? 'unknown',
    summary: summarise(kind.eventName, params),
    ...(e.EventId ? { eventId: e.EventId } : {}),
    ...(typeof params.taskDefinition === 'string' ? { taskDefinition: params.taskDefinition } : {}),
  };
}

function isAbout(about: ChangeKind['about'], p: Record<string, unknown>, target: Target): boolean {
  if (about === 'family') return target.family !== undefined && p.family === target.family;
  const service = parseService(p.service ?? p.serviceName);
  // ECS's rule: no cluster parameter means the cluster named "default"; a service ARN of the new format names its cluster.
  const cluster = clusterName(p.cluster) ?? service?.cluster ?? 'default';
  if (cluster !== target.cluster) return false;
  if (about === 'cluster') return true;
  return service !== undefined && service.name === target.service && (service.cluster === undefined || service.cluster === target.cluster);
}

/** "name" or "arn:aws:ecs:region:account:cluster/name". */
function clusterName(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.startsWith('arn:') ? v.slice(v.indexOf(':cluster/') + ':cluster/'.length) : v;
}

/** "name", "arn:…:service/name" (old format) or "arn:…:service/cluster/name". */
function parseService(v: unknown): { name: string; cluster?: string } | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  if (!v.startsWith('arn:')) return { name: v };
  const parts = v.slice(v.indexOf(':service/') + ':service/'.length).split('/');
  return parts.length >= 2 ? { cluster: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

function cloudTrailRecord(e: TrailEvent): { requestParameters?: Record<string, unknown>; errorCode?: string } {
  try {
    const parsed = JSON.parse(e.CloudTrailEvent ?? '{}') as { requestParameters?: Record<string, unknown> | null; errorCode?: string };
    return { ...(parsed.requestParameters ? { requestParameters: parsed.requestParameters } : {}), ...(parsed.errorCode ? { errorCode: parsed.errorCode } : {}) };
  } catch {
    return {};
  }
}

function summarise(name: string, p: Record<string, unknown>): string {
  const parts: string[] = [];
  if (p.taskDefinition) parts.push(`task definition → ${String(p.taskDefinition)}`);
  if (p.desiredCount !== undefined) parts.push(`desired count → ${String(p.desiredCount)}`);
  if (p.forceNewDeployment) parts.push('forced new deployment');
  if (p.family) parts.push(`family ${String(p.family)}`);
  if (name === 'PutClusterCapacityProviders') parts.push('cluster capacity providers changed (every service in the cluster)');
  return parts.length ? parts.join(', ') : name;
}

/** ECS started a deployment in the last minutes that no delivered UpdateService explains yet. */
function undeliveredDeployment(service: Service, changes: Change[], deliveredUntil: Date): string | undefined {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const at = primary?.createdAt?.getTime();
  if (at === undefined || at <= deliveredUntil.getTime()) return undefined;
  if (changes.some((c) => DEPLOYING.has(c.eventName) && Date.parse(c.at) >= at - 60_000)) return undefined;
  return `ECS started deployment ${primary!.id ?? ''} at ${hhmm(new Date(at).toISOString())}; CloudTrail has not delivered the call behind it yet`;
}

function isThrottling(err: unknown): boolean {
  const e = err as { name?: string; $retryable?: { throttling?: boolean } };
  return e.name === 'ThrottlingException' || e.$retryable?.throttling === true;
}

/** A number in [0, 1) from a string: jitter that replays identically in a drill. */
function spread(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i += 1) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

function hhmm(iso: string): string {
  return iso.slice(11, 16);
}

const defaults = once(() => ({ ecs: ecsClient(), cloudtrail: cloudTrailClient(), clock: systemClock }));
const log = once(() => createLogger('inspect-changes'));
export const handler = step('inspect-changes', log, (event) => inspectChanges(event, defaults()));
