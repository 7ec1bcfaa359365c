import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { documentClient, ecsClient, elbv2Client, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv } from '#commons/config';
import { describeService } from '#commons/ecs';
import { createLogger, type Logger } from '#commons/logger';
import { step } from '#commons/step';
import { WATCHED_DETAIL_TYPES } from '#stability/events';
import { readStability } from '#stability/reading';
import { release, resultOf } from '#stability/release';
import { judge } from '#stability/verdict';
import { serviceKey, WatchStore } from '#stability/watches';
import { readOptions } from './watch-stability.ts';
import * as z from 'zod';

export interface EcsEventsDeps {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  sfn: SFNClient;
  watches: WatchStore;
  clock: Clock;
  log: Logger;
}


const eventSchema = z.object({
  'detail-type': z.enum(WATCHED_DETAIL_TYPES),
  resources: z.array(z.string()).min(1),
  detail: z.object({ eventName: z.string() }).loose(),
});

/** arn:aws:ecs:<region>:<account>:service/<cluster>/<service> */
const SERVICE_ARN = /^arn:aws[\w-]*:ecs:[^:]+:\d{12}:service\/([^/]+)\/([^/]+)$/;

export type EcsEventsResult =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'handled'; service: string; watches: number; released: number };

/**
 * ECS said something about a service (a deployment completed or failed, a steady state, tasks
 * failing to start): look at the service now and release every wait on it that this settles.
 * ECS sends events at least once and in no set order, and EventBridge may lose one: the event is
 * only a prompt to look, never trusted as the state — duplicates and stale events find nothing to
 * release, and a lost one leaves the wait to its own safety-net poll.
 */
export async function onEcsEvent(event: unknown, deps: EcsEventsDeps): Promise<EcsEventsResult> {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) return ignore(deps.log, 'not an ECS deployment or service-action event naming a service');
  const match = SERVICE_ARN.exec(parsed.data.resources[0]!);
  if (!match) return ignore(deps.log, `resource ${parsed.data.resources[0]} is not an ECS service ARN`);
  const [, cluster, serviceName] = match as unknown as [string, string, string];
  const key = serviceKey(cluster, serviceName);
  const watches = await deps.watches.forService(key);
  if (watches.length === 0) return { outcome: 'handled', service: key, watches: 0, released: 0 };

  const service = await describeService(deps.ecs, cluster, serviceName);
  const nowMs = deps.clock.now().getTime();
  const eventName = parsed.data.detail.eventName;
  let released = 0;
  for (const watch of watches) {
    const reading = await readStability(deps, service, readOptions(watch));
    const judgement = judge(reading, watch.plan, { sinceMs: watch.sinceMs, lastProgressMs: watch.lastProgressMs }, nowMs);
    // Stalls and time bounds are the poll's to decide; an event settles only success or failure.
    if (judgement.verdict !== 'stable' && judgement.verdict !== 'failed') continue;
    if (await release(deps, watch, resultOf(watch, reading, judgement, nowMs, { by: 'event', event: eventName }))) released += 1;
  }
  return { outcome: 'handled', service: key, watches: watches.length, released };
}

function ignore(log: Logger, reason: string): EcsEventsResult {
  log.info('event ignored', { reason });
  return { outcome: 'ignored', reason };
}

const defaults = once(() => ({
  ecs: ecsClient(),
  elbv2: elbv2Client(),
  sfn: sfnClient(),
  watches: new WatchStore(documentClient(), configFromEnv().watchesTable),
  clock: systemClock,
  log: createLogger('ecs-events'),
}));
const log = once(() => createLogger('ecs-events'));
export const handler = step('ecs-events', log, (event) => onEcsEvent(event, defaults()));
