import {
  type ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';

/**
 * A service's Application Auto Scaling target, when it has one. Where autoscaling manages the
 * desired count, P1 raises the target's minimum instead of calling UpdateService: a desired count
 * set by hand is undone by the next scale-in of a target-tracking policy (Application Auto Scaling
 * User Guide, "Amazon ECS and Application Auto Scaling"), and raising the minimum makes the scaler
 * itself scale out to it.
 */
export interface ScalableTarget {
  resourceId: string;
  min: number;
  max: number;
}

export const resourceIdOf = (cluster: string, service: string) => `service/${cluster}/${service}`;
const DIMENSION = 'ecs:service:DesiredCount';

export async function scalableTargetOf(aas: ApplicationAutoScalingClient, cluster: string, service: string): Promise<ScalableTarget | undefined> {
  const resourceId = resourceIdOf(cluster, service);
  const out = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId], ScalableDimension: DIMENSION }));
  const t = out.ScalableTargets?.find((x) => x.ResourceId === resourceId);
  if (!t || t.MinCapacity === undefined || t.MaxCapacity === undefined) return undefined;
  return { resourceId, min: t.MinCapacity, max: t.MaxCapacity };
}

/** Sets the target's minimum (the maximum unchanged): RegisterScalableTarget updates an existing target. */
export async function setMinimumCapacity(aas: ApplicationAutoScalingClient, target: ScalableTarget, min: number): Promise<void> {
  await aas.send(new RegisterScalableTargetCommand({ ServiceNamespace: 'ecs', ResourceId: target.resourceId, ScalableDimension: DIMENSION, MinCapacity: min, MaxCapacity: target.max }));
}

/** What the plan may scale to, and what capped it: the policy, the start input, autoscaling. */
export interface ScaleCap {
  maxCount: number;
  cappedBy: 'policy' | 'start input' | 'autoscaling maximum';
}

export function capOf(policyMax: number, inputMax: number | undefined, target: ScalableTarget | undefined): ScaleCap {
  const caps: [number, ScaleCap['cappedBy']][] = [[policyMax, 'policy']];
  if (inputMax !== undefined) caps.push([inputMax, 'start input']);
  if (target) caps.push([target.max, 'autoscaling maximum']);
  const [maxCount, cappedBy] = caps.reduce((a, b) => (b[0] < a[0] ? b : a));
  return { maxCount, cappedBy };
}
