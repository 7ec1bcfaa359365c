import type { ECSClient } from '@aws-sdk/client-ecs';
import { ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { describeService, readStability } from '#commons/ecs';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface CheckStabilityDeps {
  ecs: ECSClient;
  clock: Clock;
}

export interface StabilityCheck {
  stable: boolean;
  /** True once the loop's budget (attempts or time) is spent without stability: stop polling. */
  exhausted: boolean;
  attempts: number;
  elapsedSeconds: number;
  runningCount: number;
  desiredCount: number;
  pendingCount: number;
  healthyCount: number | undefined;
  deployments: number;
  rolloutState: string | undefined;
  checkedAt: string;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    since: z.iso.datetime().describe('when the change being watched was made (ISO 8601)'),
    attempts: z.number().int().min(0).describe('polls made so far'),
    maxAttempts: z.number().int().min(1).max(500),
    maxSeconds: z.number().int().min(1).max(24 * 3600),
  })
  .strict();

/** One poll of `aws ecs wait services-stable`; the state machine owns the loop and its bounds. */
export async function checkStability(event: unknown, deps: CheckStabilityDeps): Promise<StabilityCheck> {
  const input = parseInput(inputSchema, event, 'check-stability input');
  const service = await describeService(deps.ecs, input.incident.cluster, input.incident.service);
  const now = deps.clock.now();
  const attempts = input.attempts + 1;
  const elapsedSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(input.since)) / 1000));
  // A dry run changed nothing, so there is nothing to wait for.
  const reading = input.incident.dryRun ? undefined : await readStability(deps.ecs, service);
  const stable = reading?.stable ?? true;
  return {
    stable,
    exhausted: !stable && (attempts >= input.maxAttempts || elapsedSeconds >= input.maxSeconds),
    attempts,
    elapsedSeconds,
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    healthyCount: reading?.healthyCount,
    deployments: service.deployments?.length ?? 0,
    rolloutState: reading?.rolloutState,
    checkedAt: now.toISOString(),
  };
}

const defaults = once(() => ({ ecs: ecsClient(), clock: systemClock }));
const log = once(() => createLogger('check-stability'));
export const handler = step('check-stability', log, (event) => checkStability(event, defaults()));
