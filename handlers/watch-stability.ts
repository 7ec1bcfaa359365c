import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { documentClient, ecsClient, elbv2Client, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { requireManaged } from '#commons/incident';
import { createLogger, type Logger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { waitPlanSchema } from '#stability/bounds';
import { readStability } from '#stability/reading';
import { release, resultOf, type WatchResult } from '#stability/release';
import { judge, progressSignature } from '#stability/verdict';
import { serviceKey, WatchStore, type Watch } from '#stability/watches';
import * as z from 'zod';

export interface WatchStabilityDeps {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  sfn: SFNClient;
  watches: WatchStore;
  clock: Clock;
  log: Logger;
  /**
   * The allow-list: a watch is stored (with its task token) only for a managed service. Optional
   * for callers built before it (handlers/registry.ts); the Lambda always passes it.
   */
  config?: Pick<Config, 'managedServices'>;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    change: z
      .object({
        startedAt: z.iso.datetime().describe('when the change being watched was made (ISO 8601)'),
        deploymentId: z.string().min(1).optional(),
        goal: z.enum(['serving', 'stopped']).default('serving'),
        wait: waitPlanSchema,
      })
      .loose(),
    watch: z.enum(['restart', 'redeploy', 'scale-in', 'scale-out', 'deploy', 'rollback']).describe('which wait of the workflow this is'),
    execution: z.string().min(1).describe('the execution ARN ($$.Execution.Id)'),
    taskToken: z.string().min(1).describe('$$.Task.Token'),
  })
  .strict();

export type WatchOutcome = { outcome: 'released'; result: WatchResult } | { outcome: 'waiting'; reason: string; polls: number };

/**
 * `aws ecs wait services-stable`, done the way the service deserves: a callback step that ends when
 * an ECS event (deployment completed or failed, steady state) says so, or when this safety-net poll
 * does — the step is re-entered each time its timeout (the plan's cadence) passes without news.
 *
 * Race-free by order: the token is stored before the service is read, so an event arriving after
 * the store finds it, and one that arrived before is reflected in the read. Nothing is stored for a
 * service that is not managed or does not exist: the first poll looks it up before its store.
 */
export async function watchStability(event: unknown, deps: WatchStabilityDeps): Promise<WatchOutcome> {
  const input = parseInput(inputSchema, event, 'watch-stability input');
  const { incident, change } = input;
  if (deps.config) requireManaged(deps.config, incident.service);
  const key = serviceKey(incident.cluster, incident.service);
  const watchId = `${input.execution}#${input.watch}`;
  const previous = await deps.watches.get(key, watchId);
  // A first poll checks the service exists (ClusterNotFoundError, ServiceNotFoundError) before it
  // stores a token; the read that judges stability still comes after the store, below.
  if (!previous) await describeService(deps.ecs, incident.cluster, incident.service);
  const nowMs = deps.clock.now().getTime();
  const watch: Watch = {
    service: key,
    watchId,
    taskToken: input.taskToken,
    cluster: incident.cluster,
    serviceName: incident.service,
    ...(change.deploymentId ? { deploymentId: change.deploymentId } : {}),
    goal: change.goal,
    sinceMs: Date.parse(change.startedAt),
    lastProgressMs: previous?.lastProgressMs ?? nowMs,
    signature: previous?.signature ?? '',
    polls: (previous?.polls ?? 0) + 1,
    plan: change.wait,
    // Outlives the step's longest wait; DynamoDB's TTL removes what a vanished execution left.
    expiresAt: Math.ceil(nowMs / 1000) + change.wait.maxSeconds + 3600,
  };
  await deps.watches.put(watch);

  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const reading = await readStability(deps, service, readOptions(watch));
  const signature = progressSignature(reading);
  const moved = signature !== watch.signature;
  const progress = { sinceMs: watch.sinceMs, lastProgressMs: moved ? nowMs : watch.lastProgressMs };
  const judgement = judge(reading, change.wait, progress, nowMs);
  if (judgement.verdict === 'waiting') {
    if (moved) await deps.watches.noteProgress({ ...watch, signature, lastProgressMs: nowMs });
    return { outcome: 'waiting', reason: judgement.reason, polls: watch.polls };
  }
  const result = resultOf(watch, reading, judgement, nowMs, { by: 'poll' });
  await release(deps, watch, result);
  return { outcome: 'released', result };
}

/** A change that created a deployment is judged by it; one that did not, by the tasks it launched. */
export function readOptions(watch: Pick<Watch, 'deploymentId' | 'goal' | 'sinceMs'>): { deploymentId?: string; failuresSince?: number } {
  if (watch.deploymentId) return { deploymentId: watch.deploymentId };
  return watch.goal === 'serving' ? { failuresSince: watch.sinceMs } : {};
}

const defaults = once(() => {
  const config = configFromEnv();
  return {
    ecs: ecsClient(),
    elbv2: elbv2Client(),
    sfn: sfnClient(),
    watches: new WatchStore(documentClient(), config.watchesTable),
    clock: systemClock,
    log: createLogger('watch-stability'),
    config,
  };
});
const log = once(() => createLogger('watch-stability'));
export const handler = step('watch-stability', log, (event) => watchStability(event, defaults()));
