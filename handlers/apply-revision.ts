import { UpdateServiceCommand, type DeploymentConfiguration, type ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as z from 'zod';
import { documentClient, ecsClient, elbv2Client, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { InvalidInputError, ServiceBusyError } from '#commons/errors';
import { requireManaged } from '#commons/incident';
import { IncidentStore } from '#commons/incidents';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { Backups } from '#deployments/backups';
import { deploymentPlanSchema } from '#deployments/schemas';
import type { WaitPlan } from '#stability/bounds';
import { waitPlanFor } from '#stability/plan';

export interface ApplyRevisionDeps {
  config: Pick<Config, 'managedServices' | 'lockSeconds'>;
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  incidents: IncidentStore;
  backups: Backups;
  clock: Clock;
}

/** What the wait until stable watches (the same shape restart-service gives it). */
export interface AppliedRevision {
  startedAt: string;
  deploymentId?: string;
  goal: 'serving';
  wait: WaitPlan;
  taskDefinition: string;
  desiredCount: number;
  changes: { call: 'UpdateService'; cluster: string; service: string; taskDefinition: string; desiredCount?: number }[];
}

const inputSchema = z.object({ incident: incidentSchema, deployment: deploymentPlanSchema }).strict();

/**
 * `aws ecs update-service --task-definition …`: the deploy's new revision, or the rollback's target
 * (a full rollback also puts back the backup's desired count and deployment configuration). Only
 * the execution that holds the service changes it. Repeating it is harmless: the same revision
 * again starts no second deployment.
 */
export async function applyRevision(event: unknown, deps: ApplyRevisionDeps): Promise<AppliedRevision> {
  const { incident, deployment: plan } = parseInput(inputSchema, event, 'apply-revision input');
  requireManaged(deps.config, plan.service);
  if (plan.dryRun) throw new InvalidInputError('field "deployment.dryRun": a dry run changes nothing — the workflow ends before this step');
  if (!(await deps.incidents.holdForChange({ service: plan.service, executionArn: plan.holder, now: deps.clock.now(), lockSeconds: deps.config.lockSeconds, severity: 'P0' }))) {
    throw new ServiceBusyError(`${plan.service} is no longer held by ${plan.holder}: this step changed nothing`);
  }
  // From now on the deploy's backup is the one a rollback restores.
  if (plan.kind === 'deploy' && plan.backup) await deps.backups.promote(plan.cluster, plan.service, plan.backup);
  const startedAt = deps.clock.now().toISOString();
  const full = plan.kind === 'rollback' && plan.mode === 'full';
  const desiredCount = full ? plan.to.desiredCount : undefined;
  const out = await deps.ecs.send(
    new UpdateServiceCommand({
      cluster: plan.cluster,
      service: plan.service,
      taskDefinition: plan.to.taskDefinition,
      ...(desiredCount !== undefined ? { desiredCount } : {}),
      ...(full && plan.to.deploymentConfiguration ? { deploymentConfiguration: plan.to.deploymentConfiguration as DeploymentConfiguration } : {}),
    }),
  );
  const service = out.service ?? (await describeService(deps.ecs, plan.cluster, plan.service));
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  return {
    startedAt,
    ...(primary?.id ? { deploymentId: primary.id } : {}),
    goal: 'serving',
    wait: await waitPlanFor(deps.elbv2, service, incident.expectedStartSeconds),
    taskDefinition: plan.to.taskDefinition,
    desiredCount: service.desiredCount ?? 0,
    changes: [{ call: 'UpdateService', cluster: plan.cluster, service: plan.service, taskDefinition: plan.to.taskDefinition, ...(desiredCount !== undefined ? { desiredCount } : {}) }],
  };
}

const defaults = once(() => {
  const config = configFromEnv();
  return { config, ecs: ecsClient(), elbv2: elbv2Client(), incidents: new IncidentStore(documentClient(), config.incidentsTable), backups: new Backups(documentClient(), config.incidentsTable), clock: systemClock };
});
const log = once(() => createLogger('apply-revision'));
export const handler = step('apply-revision', log, (event) => applyRevision(event, defaults()));
