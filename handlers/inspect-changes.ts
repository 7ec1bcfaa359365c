import { type CloudTrailClient, LookupEventsCommand, type Event as TrailEvent } from '@aws-sdk/client-cloudtrail';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { cloudTrailClient, ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { describeService, recentEvents, summariseDeployments, type DeploymentSummary, type ServiceEventSummary } from '#commons/ecs';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface InspectChangesDeps {
  ecs: ECSClient;
  cloudtrail: CloudTrailClient;
  clock: Clock;
}

export interface Change {
  at: string;
  eventName: string;
  by: string;
  summary: string;
}

export interface ChangesFound {
  since: string;
  changes: Change[];
  /** The service's own deployments: CloudTrail delivers minutes late, these are immediate. */
  deployments: DeploymentSummary[];
  recentEvents: ServiceEventSummary[];
  /** The newest change, the usual suspect, in one sentence. */
  suspect: string | undefined;
  truncated: boolean;
}

const inputSchema = z.object({ incident: incidentSchema }).strict();

/** ECS calls that change what runs; anything else in the trail is noise during an incident. */
const CHANGE_EVENTS = new Set([
  'UpdateService',
  'CreateService',
  'DeleteService',
  'RegisterTaskDefinition',
  'DeregisterTaskDefinition',
  'UpdateServicePrimaryTaskSet',
  'CreateTaskSet',
  'DeleteTaskSet',
  'UpdateCapacityProvider',
  'PutClusterCapacityProviders',
  'StopTask',
]);
const MAX_PAGES = 5;

/** Inspect recent changes: `cloudtrail lookup-events` for the lookback window, plus ECS's own deployment record. */
export async function inspectChanges(event: unknown, deps: InspectChangesDeps): Promise<ChangesFound> {
  const { incident } = parseInput(inputSchema, event, 'inspect-changes input');
  const now = deps.clock.now();
  const since = new Date(now.getTime() - incident.lookbackMinutes * 60_000);
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const family = familyOf(service.taskDefinition);

  const changes: Change[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const out = await deps.cloudtrail.send(
      new LookupEventsCommand({
        StartTime: since,
        EndTime: now,
        LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'ecs.amazonaws.com' }],
        MaxResults: 50,
        NextToken: nextToken,
      }),
    );
    for (const e of out.Events ?? []) {
      const change = toChange(e, incident.service, family);
      if (change) changes.push(change);
    }
    nextToken = out.NextToken;
    pages += 1;
  } while (nextToken && pages < MAX_PAGES);

  const newest = changes[0];
  return {
    since: since.toISOString(),
    changes,
    deployments: summariseDeployments(service),
    recentEvents: recentEvents(service, since.getTime(), 10),
    suspect: newest ? `${newest.eventName} by ${newest.by} at ${newest.at}: ${newest.summary}` : undefined,
    truncated: Boolean(nextToken),
  };
}

function familyOf(taskDefinitionArn: string | undefined): string | undefined {
  const last = taskDefinitionArn?.split('/').pop();
  return last?.split(':')[0];
}

function toChange(e: TrailEvent, service: string, family: string | undefined): Change | undefined {
  const name = e.EventName ?? '';
  if (!CHANGE_EVENTS.has(name)) return undefined;
  const params = requestParameters(e);
  const names = [...(e.Resources ?? []).map((r) => r.ResourceName ?? ''), String(params.service ?? ''), String(params.family ?? '')];
  const aboutService = names.some((n) => n === service || n.endsWith(`/${service}`));
  const aboutFamily = family !== undefined && names.some((n) => n === family || n.includes(`/${family}:`) || n.startsWith(`${family}:`));
  if (!aboutService && !aboutFamily) return undefined;
  return {
    at: e.EventTime?.toISOString() ?? '',
    eventName: name,
    by: e.Username ?? 'unknown',
    summary: summarise(name, params),
  };
}

function requestParameters(e: TrailEvent): Record<string, unknown> {
  try {
    const parsed = JSON.parse(e.CloudTrailEvent ?? '{}') as { requestParameters?: Record<string, unknown> };
    return parsed.requestParameters ?? {};
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
  return parts.length ? parts.join(', ') : name;
}

const defaults = once(() => ({ ecs: ecsClient(), cloudtrail: cloudTrailClient(), clock: systemClock }));
const log = once(() => createLogger('inspect-changes'));
export const handler = step('inspect-changes', log, (event) => inspectChanges(event, defaults()));
