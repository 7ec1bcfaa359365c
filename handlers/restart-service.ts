import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ecsClient, once } from '#commons/clients';
import { describeService } from '#commons/ecs';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { InvalidInputError } from '#commons/errors';
import * as z from 'zod';

export interface RestartDeps {
  ecs: ECSClient;
  clock: Clock;
}

export interface PlannedChange {
  call: 'UpdateService';
  cluster: string;
  service: string;
  desiredCount?: number;
  forceNewDeployment?: boolean;
}

export interface RestartResult {
  attempt: 'restart' | 'redeploy';
  mode: 'force-new-deployment' | 'scale-to-zero';
  /** Desired count recorded before anything was touched; every failure path restores it. */
  desiredBefore: number;
  startedAt: string;
  /** Sizes the first wait of the stability loop. */
  firstWaitSeconds: number;
  dryRun: boolean;
  changes: PlannedChange[];
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    desiredCount: z.number().int().min(1).describe('the desired count recorded by the assessment'),
    attempt: z.enum(['restart', 'redeploy']).describe('"restart" uses the incident\'s restartMode, "redeploy" forces a new deployment'),
  })
  .strict();

/**
 * Restart the service. The desired count to come back to is the larger of the assessment's
 * (taken before any change, so a retried scale-to-zero that finds 0 cannot record 0 as "before")
 * and the service's current one (autoscaling or a person may have raised it while an approval
 * waited): a restart never leaves fewer desired tasks than either.
 */
export async function restartService(event: unknown, deps: RestartDeps): Promise<RestartResult> {
  const { incident, desiredCount: assessed, attempt } = parseInput(inputSchema, event, 'restart-service input');
  if (assessed < 1) throw new InvalidInputError('field "desiredCount" must be at least 1');
  const mode = attempt === 'redeploy' ? 'force-new-deployment' : incident.restartMode;
  const base = { cluster: incident.cluster, service: incident.service };
  const desiredCount =
    mode === 'scale-to-zero' ? Math.max(assessed, (await describeService(deps.ecs, incident.cluster, incident.service)).desiredCount ?? 0) : assessed;
  const changes: PlannedChange[] =
    mode === 'scale-to-zero'
      ? [
          { call: 'UpdateService', ...base, desiredCount: 0 },
          { call: 'UpdateService', ...base, desiredCount },
        ]
      : [{ call: 'UpdateService', ...base, forceNewDeployment: true }];

  const startedAt = deps.clock.now().toISOString();
  if (!incident.dryRun) {
    for (const change of changes) await apply(deps.ecs, change);
  }
  return {
    attempt,
    mode,
    desiredBefore: desiredCount,
    startedAt,
    firstWaitSeconds: incident.expectedStartSeconds,
    dryRun: incident.dryRun,
    changes,
  };
}

async function apply(ecs: ECSClient, change: PlannedChange): Promise<void> {
  await ecs.send(
    new UpdateServiceCommand({
      cluster: change.cluster,
      service: change.service,
      ...(change.desiredCount !== undefined ? { desiredCount: change.desiredCount } : {}),
      ...(change.forceNewDeployment ? { forceNewDeployment: true } : {}),
    }),
  );
}

const defaults = once(() => ({ ecs: ecsClient(), clock: systemClock }));
const log = once(() => createLogger('restart-service'));
export const handler = step('restart-service', log, (event) => restartService(event, defaults()));
