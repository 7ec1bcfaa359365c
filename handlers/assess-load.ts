import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { autoScalingClient, cloudWatchClient, ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, scalingPolicyFor, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { InvalidInputError } from '#commons/errors';
import { resolveIncident } from '#commons/incident';
import { describeLoad, readLoad, type LoadReading } from '#commons/load';
import { createLogger } from '#commons/logger';
import { capOf, scalableTargetOf, type ScalableTarget, type ScaleCap } from '#commons/scaling';
import type { Incident } from '#commons/schemas';
import { step } from '#commons/step';

export interface AssessLoadDeps {
  ecs: ECSClient;
  cloudwatch: CloudWatchClient;
  autoscaling: ApplicationAutoScalingClient;
  clock: Clock;
  config: Config;
}

/** saturated: scale out; normal: no action; unknown: no recent datapoints; down / scaled-to-zero: not P1's to fix. */
export type LoadVerdict = 'saturated' | 'normal' | 'unknown' | 'down' | 'scaled-to-zero';

export interface ScalePlan extends ScaleCap {
  from: number;
  to: number;
  /** UpdateService, or the scalable target's minimum where Application Auto Scaling manages the service. */
  via: 'desired' | 'autoscaling-minimum';
  autoscaling?: ScalableTarget;
  /** The service is at its maximum already: scaling cannot help, people must. */
  atMaximum: boolean;
  /** The step is larger than the policy lets P1 take alone, or the start input asks for a person. */
  needsApproval: boolean;
}

export interface LoadAssessment {
  incident: Incident;
  /** The counts the fail-safe and the reports read, as P0's assessment has them. */
  assessment: { verdict: LoadVerdict; reasons: string[]; desiredCount: number; runningCount: number; checkedAt: string };
  load: LoadReading & { thresholdPercent: number };
  plan?: ScalePlan;
}

/**
 * Runbook › P1 › Investigation: "Check Metrics" — CPU and memory, average and maximum over the last
 * hour — and the scale-out the policy allows. Bad start input (a maximum below the current count,
 * a "scale out" to fewer tasks) is refused here, before anything is touched.
 */
export async function assessLoad(event: unknown, deps: AssessLoadDeps): Promise<LoadAssessment> {
  const incident = resolveIncident(event, deps.config);
  const policy = scalingPolicyFor(deps.config, incident.service);
  const override = incident.scaling ?? {};
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const desired = service.desiredCount ?? 0;
  const running = service.runningCount ?? 0;
  if (override.maxCount !== undefined && override.maxCount < desired) {
    throw new InvalidInputError(
      `field "scaling.maxCount": ${override.maxCount} is below ${incident.service}'s current desired count ${desired} — P1 never scales in; raise it or omit it`,
    );
  }
  if (override.desiredCount !== undefined && override.desiredCount <= desired) {
    throw new InvalidInputError(
      `field "scaling.desiredCount": ${override.desiredCount} is not above ${incident.service}'s current desired count ${desired} — P1 only scales out; omit it to use the policy (×${policy.scaleOutFactor})`,
    );
  }
  const now = deps.clock.now();
  const thresholdPercent = override.thresholdPercent ?? policy.thresholdPercent;
  const load = { ...(await readLoad(deps.cloudwatch, { cluster: incident.cluster, service: incident.service, now, minutes: incident.lookbackMinutes })), thresholdPercent };
  const { verdict, reasons } = judge(desired, running, load);
  const assessment = { verdict, reasons, desiredCount: desired, runningCount: running, checkedAt: now.toISOString() };
  if (verdict !== 'saturated') return { incident, assessment, load };

  const target = await scalableTargetOf(deps.autoscaling, incident.cluster, incident.service);
  const cap = capOf(policy.maxCount, override.maxCount, target);
  const wanted = override.desiredCount ?? Math.ceil(desired * policy.scaleOutFactor);
  const to = Math.max(desired, Math.min(wanted, cap.maxCount));
  const plan: ScalePlan = {
    from: desired,
    to,
    ...cap,
    via: target ? 'autoscaling-minimum' : 'desired',
    ...(target ? { autoscaling: target } : {}),
    atMaximum: to <= desired,
    needsApproval: to - desired > policy.approvalAboveStep || incident.requireApproval === true,
  };
  reasons.push(plan.atMaximum ? `already at its maximum of ${cap.maxCount} (${cap.cappedBy}): scaling out cannot help` : `scale out ${desired} → ${to}${to < wanted ? ` (capped by the ${cap.cappedBy} at ${cap.maxCount})` : ''}`);
  return { incident, assessment, load, plan };
}

function judge(desired: number, running: number, load: LoadReading & { thresholdPercent: number }): { verdict: LoadVerdict; reasons: string[] } {
  if (desired === 0) return { verdict: 'scaled-to-zero', reasons: ['desired count is 0: scaled to zero on purpose, nothing to scale'] };
  if (running === 0) return { verdict: 'down', reasons: [`0 of ${desired} tasks running: the service is down, not degraded — a P0`] };
  const figures = describeLoad(load);
  const over = (['cpu', 'memory'] as const).filter((m) => (load[m].recent ?? 0) > load.thresholdPercent);
  if (over.length > 0) return { verdict: 'saturated', reasons: [`${over.map((m) => (m === 'cpu' ? 'CPU' : 'memory')).join(' and ')} above ${load.thresholdPercent} %: ${figures}`] };
  // No datapoint is not "fine": ECS publishes nothing for a service whose tasks do not run long enough.
  if (load.cpu.recentPoints === 0 && load.memory.recentPoints === 0) return { verdict: 'unknown', reasons: [`no CPU or memory datapoints in the last 10 minutes: nothing to act on (${running}/${desired} running)`] };
  return { verdict: 'normal', reasons: [`under ${load.thresholdPercent} %: ${figures}`] };
}

const defaults = once(() => ({ ecs: ecsClient(), cloudwatch: cloudWatchClient(), autoscaling: autoScalingClient(), clock: systemClock, config: configFromEnv() }));
const log = once(() => createLogger('assess-load'));
export const handler = step('assess-load', log, (event) => assessLoad(event, defaults()));
