import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService, recentEvents, summariseDeployments, type DeploymentSummary, type ServiceEventSummary } from '#commons/ecs';
import { resolveIncident } from '#commons/incident';
import { createLogger } from '#commons/logger';
import type { Incident, Verdict } from '#commons/schemas';
import { step } from '#commons/step';

export interface AssessDeps {
  ecs: ECSClient;
  clock: Clock;
  config: Config;
}

export interface Assessment {
  verdict: Verdict;
  reasons: string[];
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  taskDefinition: string | undefined;
  /** ECS, CODE_DEPLOY or EXTERNAL: only ECS takes the restart incident-flows makes (a forced deployment). */
  deploymentController: string;
  deployments: DeploymentSummary[];
  recentEvents: ServiceEventSummary[];
  checkedAt: string;
}

/** Assess impact: validate the start input, then read the service as `describe-services` would. */
export async function assessImpact(event: unknown, deps: AssessDeps): Promise<{ incident: Incident; assessment: Assessment }> {
  const incident = resolveIncident(event, deps.config);
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const now = deps.clock.now();
  return { incident, assessment: judge(service, now) };
}

const FAILING_EVENT = /unable to consistently start tasks|is unhealthy|failed (container )?health checks/i;
const STEADY_EVENT = /has reached a steady state/i;

/** The verdict on one service (exported: the health check judges every service the same way). */
export function judge(service: Service, now: Date): Assessment {
  const desired = service.desiredCount ?? 0;
  const running = service.runningCount ?? 0;
  const pending = service.pendingCount ?? 0;
  const deployments = summariseDeployments(service);
  const events = recentEvents(service, now.getTime() - 15 * 60_000);
  const reasons: string[] = [];
  let verdict: Verdict = 'healthy';
  if (desired === 0) {
    verdict = 'scaled-to-zero';
    reasons.push('desired count is 0: the service is scaled to zero on purpose, nothing to restart');
  } else if (running === 0) {
    verdict = 'down';
    reasons.push(`0 of ${desired} tasks running`);
  } else {
    if (running < desired) reasons.push(`${running} of ${desired} tasks running`);
    if (pending > 0) reasons.push(`${pending} task(s) pending`);
    if (deployments.some((d) => d.rolloutState === 'FAILED')) reasons.push('a deployment rollout FAILED');
    // Events are newest first: a failure ECS reported before its latest steady state is history.
    const steadyAt = events.findIndex((e) => STEADY_EVENT.test(e.message));
    const failingAt = events.findIndex((e) => FAILING_EVENT.test(e.message));
    const failing = failingAt >= 0 && (steadyAt < 0 || failingAt < steadyAt) ? events[failingAt] : undefined;
    if (failing) reasons.push(`ECS reports: ${failing.message}`);
    if (reasons.length > 0) verdict = 'degraded';
  }
  if (verdict === 'healthy') reasons.push(`${running}/${desired} tasks running, ${deployments.length} deployment(s)`);
  return {
    verdict,
    reasons,
    desiredCount: desired,
    runningCount: running,
    pendingCount: pending,
    taskDefinition: service.taskDefinition,
    deploymentController: service.deploymentController?.type ?? 'ECS',
    deployments,
    recentEvents: events,
    checkedAt: now.toISOString(),
  };
}

const defaults = once(() => ({ ecs: ecsClient(), clock: systemClock, config: configFromEnv() }));
const log = once(() => createLogger('assess'));
export const handler = step('assess', log, (event) => assessImpact(event, defaults()));
