import type { ECSClient } from '@aws-sdk/client-ecs';
import { InvalidInputError, NoRollbackTargetError } from '#commons/errors';
import type { Backup } from './backups.ts';
import { containerOf, describeRevision, parseRevision, previousActiveRevision } from './revisions.ts';
import type { DeploymentPlan, RollbackInput } from './schemas.ts';

/**
 * Where a rollback goes (the rollback workflow, and P0 when the evidence points at a deployment):
 * never an unknown or INACTIVE revision.
 */

export interface Target {
  to: DeploymentPlan['to'];
  backup?: string;
  why: string;
}

export async function quickTarget(ecs: ECSClient, input: Pick<RollbackInput, 'service' | 'toRevision'>, currentArn: string, backup: Backup | undefined, nested: boolean): Promise<Target> {
  const current = parseRevision(currentArn);
  if (input.toRevision) {
    const { definition } = await describeRevision(ecs, input.toRevision, 'toRevision');
    if (definition.status !== 'ACTIVE') throw new InvalidInputError(`field "toRevision": ${input.toRevision} is ${definition.status} (deregistered) — ECS runs no new tasks from it; name an ACTIVE revision`);
    if (definition.family !== current.family) throw new InvalidInputError(`field "toRevision": ${input.toRevision} is of family "${definition.family}", but ${input.service} runs "${current.family}"`);
    if (definition.taskDefinitionArn === currentArn) throw new InvalidInputError(`field "toRevision": ${input.service} already runs ${input.toRevision}`);
    return { to: { taskDefinition: definition.taskDefinitionArn!, ...imageOf(definition) }, why: `${input.toRevision}, as asked` };
  }
  // The backup belongs to the current deployment if that deployment moved the service to what it runs now
  // (a nested rollback restores its parent's backup whatever the service runs: the update may not have applied).
  let skipped = '';
  if (backup && (nested || backup.newRevision === currentArn) && backup.taskDefinition !== currentArn) {
    const { definition } = await describeRevision(ecs, backup.taskDefinition, 'deployment');
    if (definition.status === 'ACTIVE') return { to: { taskDefinition: backup.taskDefinition, ...(backup.image ? { image: backup.image } : {}) }, backup: backup.deployment, why: `the revision before deployment ${backup.deployment} (backup taken ${backup.takenAt})` };
    skipped = ` (the backup's ${backup.taskDefinition} is ${definition.status})`;
  } else if (backup && nested && backup.taskDefinition === currentArn) {
    return { to: { taskDefinition: currentArn, ...(backup.image ? { image: backup.image } : {}) }, backup: backup.deployment, why: `the service still runs ${currentArn}, the revision before deployment ${backup.deployment}` };
  }
  const previous = await previousActiveRevision(ecs, current.family, current.revision);
  if (!previous) {
    throw new NoRollbackTargetError(`no previous revision of ${input.service} to roll back to: no backup of its current deployment${skipped} and no ACTIVE revision of "${current.family}" below ${current.revision} — nothing was changed`);
  }
  const { definition } = await describeRevision(ecs, previous, 'service');
  return { to: { taskDefinition: previous, ...imageOf(definition) }, why: `the newest ACTIVE revision of ${current.family} below ${current.revision}${skipped}` };
}

export async function fullTarget(ecs: ECSClient, input: RollbackInput, backup: Backup | undefined): Promise<Target> {
  if (!backup) throw new NoRollbackTargetError(`no pre-deployment backup of ${input.service}: nothing to restore — use "mode": "quick" (the previous revision). Nothing was changed.`);
  const { definition } = await describeRevision(ecs, backup.taskDefinition, 'deployment');
  if (definition.status !== 'ACTIVE') throw new NoRollbackTargetError(`the backup of deployment ${backup.deployment} names ${backup.taskDefinition}, which is ${definition.status}: a full rollback cannot restore it — use "mode": "quick". Nothing was changed.`);
  return {
    to: {
      taskDefinition: backup.taskDefinition,
      ...(backup.image ? { image: backup.image } : {}),
      ...(backup.desiredCount !== undefined ? { desiredCount: backup.desiredCount } : {}),
      ...(backup.deploymentConfiguration ? { deploymentConfiguration: backup.deploymentConfiguration } : {}),
    },
    backup: backup.deployment,
    why: `the backup taken ${backup.takenAt} before deployment ${backup.deployment}`,
  };
}

export function imageOf(definition: Parameters<typeof containerOf>[0]): { image?: string } {
  try {
    return { image: containerOf(definition, undefined).image };
  } catch {
    return {};
  }
}

