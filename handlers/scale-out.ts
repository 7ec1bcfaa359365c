import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { type ECSClient, type Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as z from 'zod';
import { autoScalingClient, documentClient, ecsClient, elbv2Client, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, scalingPolicyFor, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { InvalidInputError, ServiceBusyError } from '#commons/errors';
import { requireManaged } from '#commons/incident';
import { IncidentStore, incidentIdOf } from '#commons/incidents';
import { createLogger } from '#commons/logger';
import { sleepOn, type SleepingClock } from '#commons/pacing';
import { capOf, scalableTargetOf, setMinimumCapacity } from '#commons/scaling';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { RestorePoints } from '#safety/restore-points';
import { ScaleBacks } from '#safety/scale-backs';
import type { WaitPlan } from '#stability/bounds';
import { waitPlanFor } from '#stability/plan';

export interface ScaleOutDeps {
  config: Pick<Config, 'managedServices' | 'lockSeconds' | 'serviceSettings'>;
  incidents: IncidentStore;
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  autoscaling: ApplicationAutoScalingClient;
  clock: Clock | SleepingClock;
  points: RestorePoints;
  scaleBacks: ScaleBacks;
}

export interface ScaleOutChange {
  call: 'UpdateService' | 'RegisterScalableTarget';
  cluster: string;
  service: string;
  desiredCount?: number;
  minCapacity?: number;
  maxCapacity?: number;
}

export interface ScaleOutResult {
  scaledFrom: number;
  scaledTo: number;
  via: 'desired' | 'autoscaling-minimum';
  /** Desired count before the change (the fail-safe's floor), as restart-service names it. */
  desiredBefore: number;
  startedAt: string;
  goal: 'serving';
  wait: WaitPlan;
  dryRun: boolean;
  changes: ScaleOutChange[];
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    to: z.number().int().min(1).max(1000).describe('the desired count the plan chose (assess-load): re-checked against the caps here'),
    execution: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be the execution ARN ($$.Execution.Id)'),
  })
  .strict();

/** Application Auto Scaling acts on a new minimum within seconds; this long is enough to see it start. */
const AUTOSCALING_SETTLE_POLLS = 6;
const AUTOSCALING_POLL_SECONDS = 5;

/**
 * Runbook › P1 › "Scale Resources": desired 2 → 4. Never above the policy's, the start input's or
 * autoscaling's maximum (re-read here, whatever the input says), never a scale-in. Before the
 * change it records the count to come back to twice: the restore point (no ending leaves fewer
 * tasks than before) and the scale-back (what to return to once the load is gone).
 */
export async function scaleOut(event: unknown, deps: ScaleOutDeps): Promise<ScaleOutResult> {
  const { incident, to, execution } = parseInput(inputSchema, event, 'scale-out input');
  requireManaged(deps.config, incident.service);
  const policy = scalingPolicyFor(deps.config, incident.service);
  const startedAt = deps.clock.now().toISOString();
  const current = await describeService(deps.ecs, incident.cluster, incident.service);
  const desired = current.desiredCount ?? 0;
  const target = await scalableTargetOf(deps.autoscaling, incident.cluster, incident.service);
  const cap = capOf(policy.maxCount, incident.scaling?.maxCount, target);
  if (to > cap.maxCount) throw new InvalidInputError(`field "to": ${to} is above ${incident.service}'s maximum of ${cap.maxCount} (${cap.cappedBy}) — P1 never scales past it`);
  const base = { cluster: incident.cluster, service: incident.service };
  const via = target ? 'autoscaling-minimum' : 'desired';
  const change: ScaleOutChange = target
    ? { call: 'RegisterScalableTarget', ...base, minCapacity: to, maxCapacity: target.max }
    : { call: 'UpdateService', ...base, desiredCount: to };
  const result = async (service: Service, from: number, changes: ScaleOutChange[]): Promise<ScaleOutResult> => ({
    scaledFrom: from,
    scaledTo: to,
    via,
    desiredBefore: from,
    startedAt,
    goal: 'serving',
    wait: await waitPlanFor(deps.elbv2, service, incident.expectedStartSeconds),
    dryRun: incident.dryRun,
    changes,
  });
  if (incident.dryRun) return result(current, desired, [change]);

  // One change loop per service, as restart-service: only the execution holding the service changes it.
  if (!(await deps.incidents.holdForChange({ service: incident.service, executionArn: execution, now: deps.clock.now(), lockSeconds: deps.config.lockSeconds, severity: 'P1' }))) {
    throw new ServiceBusyError(`${incident.service} is being remediated by another execution (see \`incident-flows status\`): this one changed nothing`);
  }
  // Already there — a retry of this step whose first try applied, or autoscaling got there first.
  const reached = target ? target.min >= to : desired >= to;
  const existing = await deps.scaleBacks.get(incident.cluster, incident.service);
  // A retry of this step: its first try recorded both points before changing anything. Recording
  // the restore point again would raise it to the count the first try set.
  const retried = existing?.executionArn === execution;
  const from = reached && retried ? existing.original : desired;
  if (!retried) await deps.points.record({ ...base, desiredCount: desired, executionArn: execution, at: deps.clock.now() });
  await deps.scaleBacks.record({
    ...base,
    via,
    original: target ? target.min : desired,
    scaledTo: to,
    incidentId: incidentIdOf(execution.slice(execution.lastIndexOf(':') + 1)),
    executionArn: execution,
    recordedAt: startedAt,
    quietMinutes: policy.quietMinutes,
    belowPercent: policy.scaleBackBelowPercent,
    thresholdPercent: incident.scaling?.thresholdPercent ?? policy.thresholdPercent,
  });
  if (reached) return result(current, from, []);

  if (!target) {
    const out = await deps.ecs.send(new UpdateServiceCommand({ ...base, desiredCount: to }));
    return result(out.service ?? current, desired, [change]);
  }
  await setMinimumCapacity(deps.autoscaling, target, to);
  // The scaler raises the desired count a moment after the call (asynchronously, like every
  // Application Auto Scaling action): wait briefly so the wait that follows sees the new goal.
  let service = current;
  for (let i = 0; i < AUTOSCALING_SETTLE_POLLS && (service.desiredCount ?? 0) < to; i++) {
    await sleepOn(deps.clock, AUTOSCALING_POLL_SECONDS);
    service = await describeService(deps.ecs, incident.cluster, incident.service);
  }
  return result(service, desired, [change]);
}

const defaults = once(() => {
  const config = configFromEnv();
  return {
    config,
    incidents: new IncidentStore(documentClient(), config.incidentsTable),
    ecs: ecsClient(),
    elbv2: elbv2Client(),
    autoscaling: autoScalingClient(),
    clock: systemClock,
    points: new RestorePoints(documentClient(), config.incidentsTable),
    scaleBacks: new ScaleBacks(documentClient(), config.incidentsTable),
  };
});
const log = once(() => createLogger('scale-out'));
export const handler = step('scale-out', log, (event) => scaleOut(event, defaults()));
