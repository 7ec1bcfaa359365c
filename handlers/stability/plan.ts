import type { Service } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { planWait, type WaitPlan } from './bounds.ts';

/**
 * The wait a change to this service deserves, read off AWS: the health-check grace period and the
 * last deployment's duration from DescribeServices (UpdateService answers with it), and each
 * target group's health-check cycle and deregistration delay from ELBv2.
 */
export async function waitPlanFor(elbv2: ElasticLoadBalancingV2Client, service: Service, expectedStartSeconds: number): Promise<WaitPlan> {
  const groups = (service.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter((arn): arn is string => Boolean(arn));
  let deregistrationDelaySeconds: number | undefined;
  let targetHealthySeconds: number | undefined;
  if (groups.length > 0) {
    const described = await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: groups }));
    for (const tg of described.TargetGroups ?? []) {
      const cycle = (tg.HealthCheckIntervalSeconds ?? 30) * (tg.HealthyThresholdCount ?? 5);
      targetHealthySeconds = Math.max(targetHealthySeconds ?? 0, cycle);
    }
    for (const TargetGroupArn of groups) {
      const attrs = await elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn }));
      const raw = attrs.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
      // ELBv2's default when the attribute is absent.
      const delay = raw === undefined ? 300 : Number(raw);
      if (Number.isFinite(delay)) deregistrationDelaySeconds = Math.max(deregistrationDelaySeconds ?? 0, delay);
    }
  }
  return planWait({
    expectedStartSeconds,
    ...(service.healthCheckGracePeriodSeconds ? { healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds } : {}),
    ...(deregistrationDelaySeconds !== undefined ? { deregistrationDelaySeconds } : {}),
    ...(targetHealthySeconds !== undefined ? { targetHealthySeconds } : {}),
    ...lastDeployment(service),
  });
}

/** The newest COMPLETED deployment other than a new PRIMARY: how long the service took last time. */
function lastDeployment(service: Service): { lastDeploymentSeconds?: number } {
  const done = (service.deployments ?? [])
    .filter((d) => d.rolloutState === 'COMPLETED' && d.createdAt && d.updatedAt)
    .sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime())[0];
  if (!done) return {};
  const seconds = Math.round((done.updatedAt!.getTime() - done.createdAt!.getTime()) / 1000);
  return seconds > 0 ? { lastDeploymentSeconds: seconds } : {};
}
