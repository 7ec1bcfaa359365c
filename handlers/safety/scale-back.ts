import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { Clock } from '#commons/clock';
import { describeService } from '#commons/ecs';
import { IncidentStore } from '#commons/incidents';
import { readLoad } from '#commons/load';
import type { Logger } from '#commons/logger';
import { scalableTargetOf, setMinimumCapacity } from '#commons/scaling';
import type { ScaleBack, ScaleBacks } from './scale-backs.ts';

export interface ScaleBackDeps {
  scaleBacks: ScaleBacks;
  store: IncidentStore;
  ecs: ECSClient;
  cloudwatch: CloudWatchClient;
  autoscaling: ApplicationAutoScalingClient;
  clock: Clock;
  log: Logger;
}

export type ScaleBackOutcome = 'waiting' | 'incident-open' | 'load-returned' | 'no-data' | 'scaled-back' | 'changed-by-others';

/** The change itself, only if the count (or minimum) is still what P1 set. */
async function giveBack(deps: ScaleBackDeps, point: ScaleBack): Promise<ScaleBackOutcome> {
  if (point.via === 'autoscaling-minimum') {
    const target = await scalableTargetOf(deps.autoscaling, point.cluster, point.service);
    if (target?.min !== point.scaledTo) return 'changed-by-others';
    await setMinimumCapacity(deps.autoscaling, target, point.original);
    return 'scaled-back';
  }
  const service = await describeService(deps.ecs, point.cluster, point.service);
  if (service.desiredCount !== point.scaledTo) return 'changed-by-others';
  await deps.ecs.send(new UpdateServiceCommand({ cluster: point.cluster, service: point.service, desiredCount: point.original }));
  return 'scaled-back';
}

/** A quiet window needs most of its minutes published: missing data is not quiet. */
const MIN_COVERAGE = 0.8;
/** What one run reads (CloudWatch keeps 1-minute datapoints 15 days; a run needs only the recent ones). */
const WINDOW_MINUTES = 30;

/**
 * After P1's scale-out and a quiet period — the load under the lower threshold for every minute of
 * it — the service (or its scalable target's minimum) goes back to what it was. Never while an
 * incident is open for the service (its workflow owns it), and never over someone else's change:
 * a desired count or minimum that is no longer what P1 set was chosen by a person or autoscaling.
 */
export async function settleScaleBack(deps: ScaleBackDeps, point: ScaleBack): Promise<ScaleBackOutcome> {
  const now = deps.clock.now();
  const lock = await deps.store.lock(point.service);
  if (lock && IncidentStore.holds(lock, now) && lock.state === 'open') return 'incident-open';
  // Every run (every 5 minutes) looks at the last half hour, so each minute of the quiet period is
  // seen by several runs; a minute above the lower threshold starts the period over.
  const window = Math.min(point.quietMinutes, WINDOW_MINUTES);
  const load = await readLoad(deps.cloudwatch, { cluster: point.cluster, service: point.service, now, minutes: window });
  // CPU is the work spread over the tasks: after the scale-back each task carries scaledTo/original
  // times as much, so the peak is projected onto the original count. Memory is mostly per task (it
  // does not fall as tasks are added), so it only has to be clear of saturation.
  const peak = Math.round((load.cpu.maximum ?? 0) * (point.scaledTo / Math.max(1, point.original)) * 10) / 10;
  const memory = load.memory.maximum ?? 0;
  if (peak >= point.belowPercent || memory >= point.thresholdPercent) {
    await deps.scaleBacks.restartQuiet(point.cluster, point.service, now);
    deps.log.info('scale-back postponed: the load came back', { service: point.service, projectedCpu: peak, memory, belowPercent: point.belowPercent });
    return 'load-returned';
  }
  if (now.getTime() - Date.parse(point.quietSince) < point.quietMinutes * 60_000) return 'waiting';
  if (load.cpu.datapoints < window * MIN_COVERAGE) return 'no-data';
  // Claimed by deleting it first: two reconciler runs at once act once. Should the change below
  // fail (throttled, say), the point is put back for the next run; meanwhile the service only
  // keeps the larger count — the safe side.
  if (!(await deps.scaleBacks.settle(point))) return 'waiting';
  let outcome: ScaleBackOutcome;
  try {
    outcome = await giveBack(deps, point);
  } catch (err) {
    await deps.scaleBacks.reinstate(point);
    throw err;
  }
  const what =
    outcome === 'scaled-back'
      ? `scaled back ${point.scaledTo} → ${point.original} (${point.via === 'desired' ? 'desired count' : 'autoscaling minimum'}) after ${point.quietMinutes} min quiet (CPU peak ${peak} % projected on ${point.original} task(s), under ${point.belowPercent} %)`
      : `not scaled back: the ${point.via === 'desired' ? 'desired count' : 'autoscaling minimum'} is no longer the ${point.scaledTo} P1 set — left as people or autoscaling chose`;
  await deps.store.appendTimeline(point.incidentId, [{ at: now.toISOString(), kind: 'step', what }]).catch(() => undefined);
  deps.log.warn(outcome === 'scaled-back' ? 'scaled back after the quiet period' : 'scale-back dropped: changed by others', { service: point.service, what });
  return outcome;
}
