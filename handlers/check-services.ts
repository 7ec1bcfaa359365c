import { DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import { ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { ClusterNotFoundError } from '#commons/errors';
import { isSteady } from '#commons/ecs';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { judge } from './assess.ts';
import { checkInputSchema, type CheckResult, type HealthLine } from './health/plan.ts';

export interface CheckServicesDeps {
  ecs: ECSClient;
  clock: Clock;
}

/** DescribeServices takes at most 10 services per call (ECS API Reference). */
const PER_CALL = 10;

/**
 * Runbook › Health Checks › "Check ECS services": `describe-services` for every configured
 * service — healthy means running = desired, steady (one deployment, nothing pending, no failed
 * rollout) and no failure reported by ECS since its last steady state, as P0's assessment judges it.
 */
export async function checkServices(event: unknown, deps: CheckServicesDeps): Promise<CheckResult> {
  const { plan } = parseInput(checkInputSchema, event, 'check-services input');
  const now = deps.clock.now();
  const found = new Map<string, Service>();
  for (let i = 0; i < plan.services.length; i += PER_CALL) {
    const batch = plan.services.slice(i, i + PER_CALL);
    let out;
    try {
      out = await deps.ecs.send(new DescribeServicesCommand({ cluster: plan.cluster, services: batch }));
    } catch (err) {
      if ((err as Error).name === 'ClusterNotFoundException') throw new ClusterNotFoundError(`no ECS cluster named "${plan.cluster}" — check the stack configuration`);
      throw err;
    }
    for (const s of out.services ?? []) if (s.serviceName) found.set(s.serviceName, s);
  }
  const lines = plan.services.map((name): HealthLine => {
    const service = found.get(name);
    if (!service || service.status !== 'ACTIVE') return { kind: 'service', component: name, service: name, ok: false, figure: `not found in cluster ${plan.cluster}${service ? ` (${service.status})` : ''}` };
    const a = judge(service, now);
    const counts = `${a.runningCount}/${a.desiredCount}`;
    if (a.verdict === 'scaled-to-zero') return { kind: 'service', component: name, service: name, ok: true, figure: '0/0 tasks: scaled to zero on purpose', value: 0 };
    const steady = isSteady(service);
    if (a.verdict === 'healthy' && steady) return { kind: 'service', component: name, service: name, ok: true, figure: `${counts} tasks healthy`, value: a.runningCount };
    const why = a.verdict === 'healthy' ? [`${a.deployments.length} deployments: not steady yet`] : a.reasons;
    return { kind: 'service', component: name, service: name, ok: false, figure: `${counts} tasks running — ${why.join('; ')}`, value: a.runningCount };
  });
  return { lines, checkedAt: now.toISOString() };
}

const defaults = once(() => ({ ecs: ecsClient(), clock: systemClock }));
const log = once(() => createLogger('check-services'));
export const handler = step('check-services', log, (event) => checkServices(event, defaults()));
