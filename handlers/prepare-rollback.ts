import type { ECSClient } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { documentClient, ecsClient, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { DeploymentRefusedError, InvalidInputError } from '#commons/errors';
import { requireManaged } from '#commons/incident';
import { IncidentStore } from '#commons/incidents';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { Backups } from '#deployments/backups';
import { holdService, requireParentHolds } from '#deployments/hold';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { fullTarget, imageOf, quickTarget } from '#deployments/targets';
import { describeRevision } from '#deployments/revisions';
import { rollbackInputSchema, type DeploymentPlan } from '#deployments/schemas';
import { checkUrls, incidentOf, type PreparedChange } from './prepare-deploy.ts';

export interface PrepareRollbackDeps {
  config: Pick<Config, 'defaultCluster' | 'managedServices' | 'serviceSettings' | 'logGroupPattern' | 'expectedStartSeconds' | 'lockSeconds'>;
  ecs: ECSClient;
  sfn: SFNClient;
  incidents: IncidentStore;
  backups: Backups;
  clock: Clock;
}

const eventSchema = z
  .object({
    input: z.unknown(),
    execution: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be the execution ARN ($$.Execution.Id)'),
  })
  .strict();

/**
 * Runbook › Rollback Procedure, up to the update: where to go back to, decided from what AWS and the
 * backup say — never an unknown or INACTIVE revision.
 * - quick: the revision the service ran before its current deployment (that deployment's backup),
 *   else the newest ACTIVE revision of the family below the current one;
 * - full: the pre-deployment backup as it was (revision, desired count, deployment configuration).
 * A nested rollback (the deploy workflow's automatic one) acts under its parent's hold on the service.
 */
export async function prepareRollback(event: unknown, deps: PrepareRollbackDeps): Promise<PreparedChange> {
  const { input: raw, execution } = parseInput(eventSchema, event, 'prepare-rollback input');
  const input = parseInput(rollbackInputSchema, raw, 'start input');
  const cluster = input.cluster ?? deps.config.defaultCluster;
  if (!cluster) throw new InvalidInputError('invalid start input: field "cluster" is required — name the ECS cluster, or configure DEFAULT_CLUSTER');
  requireManaged(deps.config, input.service);
  const settings = deps.config.serviceSettings[input.service] ?? {};
  checkUrls(input, settings.healthUrl);
  const parent = input.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID;
  if (input.automatic && !parent) throw new InvalidInputError('field "automatic": only the deploy workflow\'s own rollback is automatic — remove the field; a rollback started by hand follows the approval policy');

  const service = await describeService(deps.ecs, cluster, input.service);
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller !== 'ECS') throw new DeploymentRefusedError(`${input.service} uses the ${controller} deployment controller: roll it back with ${controller === 'CODE_DEPLOY' ? 'CodeDeploy' : 'its own deployer'}. Nothing was changed.`);
  const currentArn = service.taskDefinition ?? '';
  const current = await describeRevision(deps.ecs, currentArn, 'service');
  const from = {
    taskDefinition: current.definition.taskDefinitionArn ?? currentArn,
    ...imageOf(current.definition),
    desiredCount: service.desiredCount ?? 0,
    ...(service.deploymentConfiguration ? { deploymentConfiguration: service.deploymentConfiguration as Record<string, unknown> } : {}),
  };
  const backup = await deps.backups.get(cluster, input.service, input.deployment);
  if (input.deployment && !backup) throw new InvalidInputError(`field "deployment": no backup of ${input.service} taken by deployment "${input.deployment}" — omit the field to use the latest backup`);
  const target = input.mode === 'full' ? await fullTarget(deps.ecs, input, backup) : await quickTarget(deps.ecs, input, from.taskDefinition, backup, Boolean(parent));

  const holder = parent ?? execution;
  const plan: DeploymentPlan = {
    kind: 'rollback',
    mode: input.mode,
    service: input.service,
    cluster,
    holder,
    from,
    to: target.to,
    ...(target.backup ? { backup: target.backup } : {}),
    needsApproval: input.requireApproval,
    ...(parent && input.automatic ? { automatic: true } : {}),
    bakeMinutes: 0,
    ...((input.healthUrl ?? settings.healthUrl) ? { healthUrl: input.healthUrl ?? settings.healthUrl } : {}),
    smokeChecks: input.smokeChecks,
    dryRun: input.dryRun,
    why: target.why,
  };
  const prepared = { incident: incidentOf(input, cluster, deps.config), deployment: plan, noChange: false };
  if (input.dryRun) return prepared;
  // A nested rollback acts under its parent's hold (a deploy or P0 holds the service until it ends); any other takes the service itself.
  if (parent) await requireParentHolds(deps, input.service, parent);
  else await holdService(deps, input.service, execution, 'rollback');
  return prepared;
}

const defaults = once(() => {
  const config = configFromEnv();
  return { config, ecs: ecsClient(), sfn: sfnClient(), incidents: new IncidentStore(documentClient(), config.incidentsTable), backups: new Backups(documentClient(), config.incidentsTable), clock: systemClock };
});
const log = once(() => createLogger('prepare-rollback'));
export const handler = step('prepare-rollback', log, (event) => prepareRollback(event, defaults()));
