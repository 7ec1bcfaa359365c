import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { cloudWatchClient, ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, scalingPolicyFor, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { requireManaged } from '#commons/incident';
import { describeLoad, readLoad, type LoadReading } from '#commons/load';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';

export interface MonitorLoadDeps {
  ecs: ECSClient;
  cloudwatch: CloudWatchClient;
  clock: Clock;
  config: Pick<Config, 'managedServices' | 'serviceSettings'>;
}

export interface LoadCheck {
  /** Tasks at the new count and the load back under the threshold on datapoints taken since. */
  recovered: boolean;
  /** Past the policy's recovery time: P0 takes over. */
  expired: boolean;
  reasons: string[];
  runningCount: number;
  desiredCount: number;
  load: LoadReading;
  checkedAt: string;
  /** Seconds until the recovery deadline (negative once past it). */
  secondsLeft: number;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    thresholdPercent: z.number().min(1).max(100),
    scaledTo: z.number().int().min(1).max(1000),
    /** When the scale-out was asked for: the deadline is counted from it. */
    startedAt: z.iso.datetime(),
  })
  .strict();

/** Datapoints after the new tasks run that must agree before "recovered": one minute can be noise. */
const POINTS_NEEDED = 2;
/** Datapoints at the new count, still saturated, after which scaling out has shown it is not enough. */
const STUCK_POINTS = 5;

/**
 * Runbook › P1 › "Monitor Recovery" (`watch -n 30 … runningCount`), bounded: the new tasks running,
 * and CPU and memory back under the threshold on datapoints published since they run — not on
 * the hour's average, which the saturated minutes before would keep high.
 */
export async function monitorLoad(event: unknown, deps: MonitorLoadDeps): Promise<LoadCheck> {
  const { incident, thresholdPercent, scaledTo, startedAt } = parseInput(inputSchema, event, 'monitor-load input');
  requireManaged(deps.config, incident.service);
  const policy = scalingPolicyFor(deps.config, incident.service);
  const now = deps.clock.now();
  const deadline = Date.parse(startedAt) + policy.recoveryMinutes * 60_000;
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const running = service.runningCount ?? 0;
  const desired = service.desiredCount ?? 0;
  const since = settledSince(service.events ?? [], startedAt);
  const load = await readLoad(deps.cloudwatch, { cluster: incident.cluster, service: incident.service, now, minutes: 15, ...(since ? { since } : { since: new Date(startedAt) }) });
  const reasons: string[] = [];
  let recovered = false;
  if (running < scaledTo) reasons.push(`${running} of ${scaledTo} tasks running (desired ${desired})`);
  else {
    const points = load.cpu.recentPoints;
    const under = (load.cpu.recent ?? 100) <= thresholdPercent && (load.memory.recent ?? 0) <= thresholdPercent;
    if (points < POINTS_NEEDED) reasons.push(`${running}/${scaledTo} running; ${points} datapoint(s) since, waiting for ${POINTS_NEEDED}`);
    else if (!under) reasons.push(`still above ${thresholdPercent} % with ${running} tasks: ${describeLoad(load, 'since the scale-out:')}`);
    else {
      recovered = true;
      reasons.push(`${running} tasks, back under ${thresholdPercent} %: ${describeLoad(load, 'since the scale-out:')}`);
    }
  }
  // Bounded by progress too: the new tasks have run long enough to show their effect and the load
  // is still over — waiting out the rest of the recovery time only keeps P0 from acting.
  const stuck = !recovered && running >= scaledTo && load.cpu.datapoints >= STUCK_POINTS && (load.cpu.recent ?? 0) > thresholdPercent;
  const expired = !recovered && (stuck || now.getTime() >= deadline);
  if (stuck) reasons.push(`${load.cpu.datapoints} datapoints with ${running} tasks and no recovery: scaling out is not enough`);
  else if (expired) reasons.push(`not recovered ${policy.recoveryMinutes} min after the scale-out`);
  return { recovered, expired, reasons, runningCount: running, desiredCount: desired, load, checkedAt: now.toISOString(), secondsLeft: Math.round((deadline - now.getTime()) / 1000) };
}

/** The moment ECS last said the service reached a steady state after the scale-out, if it did. */
function settledSince(events: { createdAt?: Date; message?: string }[], startedAt: string): Date | undefined {
  const after = events.filter((e) => e.createdAt && e.createdAt.getTime() >= Date.parse(startedAt) && /has reached a steady state/i.test(e.message ?? ''));
  const first = after.map((e) => e.createdAt!.getTime()).sort((a, b) => a - b)[0];
  return first === undefined ? undefined : new Date(first);
}

const defaults = once(() => ({ ecs: ecsClient(), cloudwatch: cloudWatchClient(), clock: systemClock, config: configFromEnv() }));
const log = once(() => createLogger('monitor-load'));
export const handler = step('monitor-load', log, (event) => monitorLoad(event, defaults()));
