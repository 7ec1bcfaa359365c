import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RegisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { cloudWatchClient, documentClient, ecsClient, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, logGroupFor, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { DeploymentRefusedError, InvalidInputError } from '#commons/errors';
import { requireConfiguredOrigin, requireManaged } from '#commons/incident';
import { IncidentStore } from '#commons/incidents';
import { createLogger } from '#commons/logger';
import type { Incident } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { Backups } from '#deployments/backups';
import { holdService } from '#deployments/hold';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { containerOf, describeRevision, nextRevision, parseRevision } from '#deployments/revisions';
import { alarmsOf } from './watch-alarms.ts';
import { deployInputSchema, type DeploymentPlan, type DeployInput } from '#deployments/schemas';

export interface PrepareDeployDeps {
  config: Pick<Config, 'defaultCluster' | 'managedServices' | 'serviceSettings' | 'logGroupPattern' | 'expectedStartSeconds' | 'lockSeconds'>;
  ecs: ECSClient;
  cloudwatch: CloudWatchClient;
  sfn: SFNClient;
  incidents: IncidentStore;
  backups: Backups;
  clock: Clock;
}

export interface PreparedChange {
  /** The service as the shared steps (wait until stable, verify, approval) read it. */
  incident: Incident;
  deployment: DeploymentPlan;
  /** The service already runs what was asked: nothing to do. */
  noChange: boolean;
}

const eventSchema = z
  .object({
    input: z.unknown(),
    execution: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be the execution ARN ($$.Execution.Id)'),
  })
  .strict();

/**
 * Runbook › Standard Deployment, up to the update: check everything the start input names (before
 * anything is touched), take the service (one deployment or incident at a time), write the
 * pre-deployment backup, and register the new revision from the current one with the new image.
 */
export async function prepareDeploy(event: unknown, deps: PrepareDeployDeps): Promise<PreparedChange> {
  const { input: raw, execution } = parseInput(eventSchema, event, 'prepare-deploy input');
  const input = parseInput(deployInputSchema, raw, 'start input');
  const cluster = clusterOf(input.cluster, deps.config);
  requireManaged(deps.config, input.service);
  const settings = deps.config.serviceSettings[input.service] ?? {};
  checkUrls(input, settings.healthUrl);

  const service = await describeService(deps.ecs, cluster, input.service);
  // The bake watches these: a misspelt alarm name would bake in silence.
  if (input.alarms) await alarmsOf(deps.cloudwatch, input.service, input.alarms);
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller !== 'ECS') {
    throw new DeploymentRefusedError(`${input.service} uses the ${controller} deployment controller: ECS refuses a new task definition through UpdateService there — deploy it with ${controller === 'CODE_DEPLOY' ? 'CodeDeploy' : 'its own deployer'}. Nothing was changed.`);
  }
  const currentArn = service.taskDefinition ?? '';
  const current = await describeRevision(deps.ecs, currentArn, 'service');
  const family = current.definition.family ?? parseRevision(currentArn).family;

  let to: DeploymentPlan['to'];
  let register: ReturnType<typeof nextRevision> | undefined;
  if (input.taskDefinition) {
    const target = await describeRevision(deps.ecs, input.taskDefinition, 'taskDefinition');
    if (target.definition.status !== 'ACTIVE') throw new InvalidInputError(`field "taskDefinition": ${input.taskDefinition} is ${target.definition.status} (deregistered) — ECS runs no new tasks from it; name an ACTIVE revision`);
    if (target.definition.family !== family) throw new InvalidInputError(`field "taskDefinition": ${input.taskDefinition} is of family "${target.definition.family}", but ${input.service} runs family "${family}" — name a revision of "${family}"`);
    to = { taskDefinition: target.definition.taskDefinitionArn!, image: imageOf(target.definition, undefined) };
  } else {
    const container = containerOf(current.definition, input.container);
    to = { taskDefinition: '(registered at deploy)', image: input.image! };
    if (container.image !== input.image) register = nextRevision(current.definition, current.tags, container.name, input.image!);
  }
  const from = { taskDefinition: current.definition.taskDefinitionArn!, image: imageOf(current.definition, input.container), desiredCount: service.desiredCount ?? 0, ...(service.deploymentConfiguration ? { deploymentConfiguration: service.deploymentConfiguration as Record<string, unknown> } : {}) };
  const noChange = input.taskDefinition ? to.taskDefinition === from.taskDefinition : register === undefined;
  if (noChange) to = { taskDefinition: from.taskDefinition, ...(from.image ? { image: from.image } : {}) };
  const deploymentName = execution.slice(execution.lastIndexOf(':') + 1);
  const plan = (target: DeploymentPlan['to'], registered = false): PreparedChange => ({
    incident: incidentOf(input, cluster, deps.config),
    deployment: {
      kind: 'deploy',
      service: input.service,
      cluster,
      holder: execution,
      from,
      to: target,
      backup: deploymentName,
      environment: input.environment,
      needsApproval: input.requireApproval,
      bakeMinutes: input.bakeMinutes,
      ...(input.alarms ? { alarms: input.alarms } : {}),
      ...((input.healthUrl ?? settings.healthUrl) ? { healthUrl: input.healthUrl ?? settings.healthUrl } : {}),
      smokeChecks: input.smokeChecks,
      dryRun: input.dryRun,
      ...(registered ? { registered } : {}),
    },
    noChange,
  });
  if (input.dryRun || noChange) return plan(to);

  // One change at a time per service: a deploy takes the service like an incident does, at P0's
  // rank, so an alarm while it runs joins it (the bake watches the alarms) instead of opening a P0.
  await holdService(deps, input.service, execution, 'deploy');
  const backup = await deps.backups.save({ cluster, service: input.service, deployment: deploymentName, executionArn: execution, takenAt: deps.clock.now().toISOString(), ...from });
  if (register) {
    // A retried step whose first try registered the revision uses that one.
    let arn = backup.newRevision;
    if (!arn) {
      const out = await deps.ecs.send(new RegisterTaskDefinitionCommand(register));
      arn = out.taskDefinition?.taskDefinitionArn;
      if (!arn) throw new Error('RegisterTaskDefinition answered without a task definition ARN');
      await deps.backups.noteRevision(cluster, input.service, deploymentName, arn);
    }
    return plan({ taskDefinition: arn, image: input.image! }, true);
  }
  // A quick rollback finds this deployment's backup by the revision it moved the service to.
  await deps.backups.noteRevision(cluster, input.service, deploymentName, to.taskDefinition);
  return plan(to);
}

function clusterOf(cluster: string | undefined, config: Pick<Config, 'defaultCluster'>): string {
  const resolved = cluster ?? config.defaultCluster;
  if (!resolved) throw new InvalidInputError('invalid start input: field "cluster" is required — name the ECS cluster, or configure DEFAULT_CLUSTER');
  return resolved;
}

/** The verify step fetches only from the configured health URL's origin (handlers/commons/incident.ts). */
export function checkUrls(input: Pick<DeployInput, 'service' | 'healthUrl' | 'smokeChecks'>, configured: string | undefined): void {
  if (input.healthUrl) requireConfiguredOrigin(input.service, input.healthUrl, configured);
  input.smokeChecks.forEach((check, i) => requireConfiguredOrigin(input.service, check.url, configured, `smokeChecks.${i}.url`));
}

function imageOf(definition: Parameters<typeof containerOf>[0], container: string | undefined): string | undefined {
  try {
    return containerOf(definition, container).image;
  } catch {
    return undefined;
  }
}

/** The shape the shared steps (watch-stability, verify, request-approval) take. */
export function incidentOf(
  input: { service: string; expectedStartSeconds?: number | undefined; dryRun: boolean; requireApproval: boolean; reason?: string | undefined; trigger?: Incident['trigger'] | undefined },
  cluster: string,
  config: Pick<Config, 'logGroupPattern' | 'serviceSettings' | 'expectedStartSeconds'>,
): Incident {
  const settings = config.serviceSettings[input.service] ?? {};
  return {
    service: input.service,
    cluster,
    logGroup: logGroupFor(config, input.service),
    restartMode: 'force-new-deployment',
    lookbackMinutes: 60,
    expectedStartSeconds: input.expectedStartSeconds ?? settings.expectedStartSeconds ?? config.expectedStartSeconds,
    dryRun: input.dryRun,
    requireApproval: input.requireApproval,
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.trigger ? { trigger: input.trigger } : {}),
  };
}

const defaults = once(() => {
  const config = configFromEnv();
  return { config, ecs: ecsClient(), cloudwatch: cloudWatchClient(), sfn: sfnClient(), incidents: new IncidentStore(documentClient(), config.incidentsTable), backups: new Backups(documentClient(), config.incidentsTable), clock: systemClock };
});
const log = once(() => createLogger('prepare-deploy'));
export const handler = step('prepare-deploy', log, (event) => prepareDeploy(event, defaults()));
