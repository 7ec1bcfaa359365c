import type { TargetState } from '../fleet-views.ts';
import type { LoadBalancerSpec } from '../scenario.ts';
import { SECOND, type LoadBalancing } from './model.ts';

/**
 * How an Application Load Balancer judges one ip target (ELBv2 User Guide, "Health checks for
 * target groups"): a new target is `initial` while registration and the first checks run, and
 * "must pass one health check to be considered healthy"; `unhealthyThreshold` consecutive failures
 * make it unhealthy, and an unhealthy target needs `healthyThreshold` consecutive passes to come
 * back. Checks run every `interval`. A target deregistered is `draining` for the deregistration
 * delay before it goes away.
 */

export interface TargetStep {
  at: number;
  state: TargetState;
  reason?: string;
  description?: string;
}

/** Registration itself takes a few seconds before the first check. */
const REGISTRATION_MS = 5 * SECOND;

export const REASONS = {
  registering: { reason: 'Elb.RegistrationInProgress', description: 'Target registration is in progress' },
  initial: { reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' },
  failing: { reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [503]' },
  refused: { reason: 'Target.FailedHealthChecks', description: 'Health checks failed' },
  draining: { reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' },
} as const;

export function loadBalancing(spec: LoadBalancerSpec, names: { region: string; accountId: string; service: string; ids: [string, string] }): LoadBalancing {
  const { region, accountId, service, ids } = names;
  // Target group names are at most 32 characters.
  const targetGroupName = `${service}-tg`.slice(-32).replace(/^-+/, '');
  const loadBalancerName = `${service}-alb`.slice(-32).replace(/^-+/, '');
  return {
    loadBalancerArn: `arn:aws:elasticloadbalancing:${region}:${accountId}:loadbalancer/app/${loadBalancerName}/${ids[0]}`,
    loadBalancerName,
    targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${accountId}:targetgroup/${targetGroupName}/${ids[1]}`,
    targetGroupName,
    ...spec,
  };
}

/**
 * The target's states from registration on, for an application that answers its health check
 * from `readyAt` (undefined: never). Until then it answers 503 (`failing`, it runs but cannot
 * serve) or nothing at all (`refused`, it crashed). Results are monotone (failing until ready,
 * passing after), so the whole timeline is known at registration.
 */
export function planTarget(lb: LoadBalancing, registeredAt: number, readyAt: number | undefined, until: 'failing' | 'refused' = 'failing'): TargetStep[] {
  const interval = lb.intervalSeconds * SECOND;
  const steps: TargetStep[] = [
    { at: registeredAt, state: 'initial', ...REASONS.registering },
    { at: registeredAt + REGISTRATION_MS, state: 'initial', ...REASONS.initial },
  ];
  const firstCheck = registeredAt + REGISTRATION_MS + interval;
  const checkAt = (k: number) => firstCheck + (k - 1) * interval;
  // The first check the application passes.
  const firstPass = readyAt === undefined ? Infinity : Math.max(1, Math.ceil((readyAt - firstCheck) / interval) + 1);
  if (firstPass <= lb.unhealthyThreshold) {
    steps.push({ at: checkAt(firstPass), state: 'healthy' });
    return steps;
  }
  steps.push({ at: checkAt(lb.unhealthyThreshold), state: 'unhealthy', ...REASONS[until] });
  if (Number.isFinite(firstPass)) steps.push({ at: checkAt(firstPass + lb.healthyThreshold - 1), state: 'healthy' });
  return steps;
}
