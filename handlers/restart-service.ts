import { type ECSClient, type Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { documentClient, ecsClient, elbv2Client, once } from '#commons/clients';
import { describeService } from '#commons/ecs';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { InvalidInputError, ServiceBusyError } from '#commons/errors';
import { IncidentStore } from '#commons/incidents';
import { RestorePoints } from '#safety/restore-points';
import { configFromEnv, type Config } from '#commons/config';
import { requireManaged } from '#commons/incident';
import type { WaitPlan } from '#stability/bounds';
import { waitPlanFor } from '#stability/plan';
import * as z from 'zod';

export interface RestartDeps {
  config: Pick<Config, 'managedServices' | 'lockSeconds'>;
  /** The service's lock: only the execution holding it may change the service. */
  incidents: IncidentStore;
  ecs: ECSClient;
  /** ECS without SDK retries, for the change itself: its retry must go through forceOnce's check. */
  ecsOnce: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  clock: Clock;
  /** Where the count to come back to is written before the first change (handlers/safety/restore-points.ts). */
  points: RestorePoints;
}

export interface PlannedChange {
  call: 'UpdateService';
  cluster: string;
  service: string;
  desiredCount?: number;
  forceNewDeployment?: boolean;
}

export interface RestartResult {
  attempt: 'restart' | 'redeploy' | 'scale-out';
  mode: 'force-new-deployment' | 'scale-to-zero';
  /** What this step did: a forced deployment, the scale-in to 0, or the scale back out. */
  phase: 'force' | 'scale-in' | 'scale-out';
  /** Desired count recorded before anything was touched; every failure path restores it. */
  desiredBefore: number;
  startedAt: string;
  /** The deployment the change created (forced deployments), as UpdateService answered. */
  deploymentId?: string;
  /** What the wait that follows waits for: tasks serving, or every task stopped. */
  goal: 'serving' | 'stopped';
  /** How long the wait may take, derived from this service (handlers/stability/bounds.ts). */
  wait: WaitPlan;
  dryRun: boolean;
  changes: PlannedChange[];
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    desiredCount: z.number().int().min(0).optional().describe('the assessment\'s desired count, for the record: the count to come back to is read from ECS and the restore point, never taken from the input'),
    attempt: z
      .enum(['restart', 'redeploy', 'scale-out'])
      .describe('"restart" uses the incident\'s restartMode, "redeploy" forces a new deployment, "scale-out" ends a scale-to-zero restart'),
    execution: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be the execution ARN ($$.Execution.Id)').describe('the execution making the change, which holds the restore point'),
  })
  .strict();

/**
 * Restart the service, one UpdateService per step. ECS's scheduler acts after the call returns, so
 * the runbook's stop-then-start is two steps with a wait between them: desired 0 and N sent
 * back-to-back collapse and may stop nothing (docs/decisions/0007). The count to come back to is
 * the larger of the assessment's (taken before any change, so a retried scale-in that finds 0
 * cannot record 0 as "before") and the current one (autoscaling or a person may have raised it
 * while an approval waited): a restart never leaves fewer desired tasks than either.
 */
export async function restartService(event: unknown, deps: RestartDeps): Promise<RestartResult> {
  const { incident, attempt, execution } = parseInput(inputSchema, event, 'restart-service input');
  requireManaged(deps.config, incident.service);
  const mode = attempt === 'redeploy' ? 'force-new-deployment' : incident.restartMode;
  const base = { cluster: incident.cluster, service: incident.service };
  const startedAt = deps.clock.now().toISOString();

  const point = await deps.points.get(incident.cluster, incident.service);
  if (attempt === 'scale-out') {
    // Back to what was recorded before the scale-in, and nothing else: never a count from the input.
    if (!point) throw new InvalidInputError(`no restore point for ${incident.service}: a scale-out only ends a scale-in this workflow made`);
    const change: PlannedChange = { call: 'UpdateService', ...base, desiredCount: point.desiredCount };
    const service = incident.dryRun ? await describeService(deps.ecs, incident.cluster, incident.service) : await apply(deps.ecsOnce, change);
    return { attempt, mode, phase: 'scale-out', desiredBefore: point.desiredCount, startedAt, goal: 'serving', wait: await plan(deps, service, incident.expectedStartSeconds), dryRun: incident.dryRun, changes: [change] };
  }

  // The service is read before anything is claimed: a wrong cluster or service (or nothing to
  // restart) is refused with no lock held — a lock taken here for a made-up execution would refuse
  // the next real incident. The count to come back to is what ECS says now, or what an earlier try
  // already recorded (a retried scale-in finds 0 and must not record 0).
  const current = await describeService(deps.ecs, incident.cluster, incident.service);
  const before = Math.max(point?.desiredCount ?? 0, current.desiredCount ?? 0);
  if (before < 1) throw new InvalidInputError(`${incident.service} has a desired count of 0: nothing to restart`);

  // One restart loop per service: this execution must hold the service (a redriven or console-started
  // run takes a free lock; another live holder means another loop is running — change nothing).
  // Claimed right before the first write (the restore point), so every refusal above leaves nothing held.
  if (!incident.dryRun && !(await deps.incidents.holdForChange({ service: incident.service, executionArn: execution, now: deps.clock.now(), lockSeconds: deps.config.lockSeconds }))) {
    throw new ServiceBusyError(`${incident.service} is being remediated by another execution (see \`incident-flows status\`): this one changed nothing`);
  }

  // Before any change, the count to come back to is written where it outlives this execution.
  const remember = (desiredCount: number) =>
    incident.dryRun ? Promise.resolve(desiredCount) : deps.points.record({ cluster: incident.cluster, service: incident.service, desiredCount, executionArn: execution, at: deps.clock.now() });

  if (mode === 'scale-to-zero') {
    const desiredBefore = await remember(before);
    const changes: PlannedChange[] = [
      { call: 'UpdateService', ...base, desiredCount: 0 },
      { call: 'UpdateService', ...base, desiredCount: desiredBefore },
    ];
    const service = incident.dryRun ? current : await apply(deps.ecsOnce, changes[0]!);
    // Stopping takes the deregistration delay behind a load balancer: the scale-in gets its own plan.
    return { attempt, mode, phase: 'scale-in', desiredBefore, startedAt, goal: 'stopped', wait: await plan(deps, service, 0), dryRun: incident.dryRun, changes };
  }

  const desiredBefore = await remember(before);
  const change: PlannedChange = { call: 'UpdateService', ...base, forceNewDeployment: true };
  const service = incident.dryRun ? current : await forceOnce(deps, incident, change, execution, attempt);
  const deploymentId = incident.dryRun ? undefined : service.deployments?.find((d) => d.status === 'PRIMARY')?.id;
  return {
    attempt,
    mode,
    phase: 'force',
    desiredBefore,
    startedAt,
    ...(deploymentId ? { deploymentId } : {}),
    goal: 'serving',
    wait: await plan(deps, service, incident.expectedStartSeconds),
    dryRun: incident.dryRun,
    changes: [change],
  };
}

/** ECS timestamps and the Lambda's clock may disagree by a moment. */
const CLOCK_SKEW_MS = 5_000;

/**
 * A forced deployment, asked for once per step even when the step is retried: UpdateService takes
 * no idempotency token, and an answer lost on the way back (a 5xx or a timeout after ECS applied
 * it) would otherwise start a second deployment on the retry. The intent is noted before the call;
 * a retry of the same step that finds a PRIMARY deployment created since then adopts it.
 */
async function forceOnce(deps: RestartDeps, incident: { cluster: string; service: string }, change: PlannedChange, execution: string, attempt: string): Promise<Service> {
  const prior = (await deps.points.get(incident.cluster, incident.service))?.lastForce;
  if (prior && prior.execution === execution && prior.attempt === attempt) {
    const service = await describeService(deps.ecs, incident.cluster, incident.service);
    const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
    if (primary?.createdAt && primary.createdAt.getTime() >= prior.at - CLOCK_SKEW_MS) return service;
  } else {
    await deps.points.noteForce(incident.cluster, incident.service, { execution, attempt, at: deps.clock.now().getTime() });
  }
  return apply(deps.ecsOnce, change);
}

function plan(deps: RestartDeps, service: Service, expectedStartSeconds: number): Promise<WaitPlan> {
  return waitPlanFor(deps.elbv2, service, expectedStartSeconds);
}

/** UpdateService answers with the service as ECS now records it (the new deployment listed, no task started yet). */
async function apply(ecs: ECSClient, change: PlannedChange): Promise<Service> {
  const out = await ecs.send(
    new UpdateServiceCommand({
      cluster: change.cluster,
      service: change.service,
      ...(change.desiredCount !== undefined ? { desiredCount: change.desiredCount } : {}),
      ...(change.forceNewDeployment ? { forceNewDeployment: true } : {}),
    }),
  );
  if (!out.service) throw new Error(`UpdateService answered without the service ${change.service}`);
  return out.service;
}

// No SDK retries for the changes: a retry must go through forceOnce's check, so it is the workflow's (TransientAwsError).
const defaults = once(() => {
  const config = configFromEnv();
  return {
    config,
    incidents: new IncidentStore(documentClient(), config.incidentsTable),
    ecs: ecsClient(),
    ecsOnce: ecsClient({ maxAttempts: 1 }),
    elbv2: elbv2Client(),
    clock: systemClock,
    points: new RestorePoints(documentClient(), config.incidentsTable),
  };
});
const log = once(() => createLogger('restart-service'));
export const handler = step('restart-service', log, (event) => restartService(event, defaults()));
