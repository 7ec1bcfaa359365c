import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { countsOf, describeService, readStability, type StabilityReading } from '#commons/ecs';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface CheckStabilityDeps {
  ecs: ECSClient;
  clock: Clock;
}

export interface StabilityCheck extends StabilityReading {
  /** True once the loop's budget (attempts or time) is spent without stability: stop polling. */
  exhausted: boolean;
  /** Tasks of the deployment under watch that failed to start or crashed, when it is new since the change. */
  failedTasks: number;
  /** The new deployment keeps failing tasks: waiting longer will not help (like ECS's circuit breaker). */
  failing: boolean;
  attempts: number;
  elapsedSeconds: number;
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
  const reading: StabilityReading = input.incident.dryRun
    ? { ...countsOf(service), stable: true, healthyCount: undefined }
    : await readStability(deps.ecs, service);
  const { failedTasks, failing } = failureSignal(service, Date.parse(input.since));
  return {
    ...reading,
    exhausted: !reading.stable && (failing || attempts >= input.maxAttempts || elapsedSeconds >= input.maxSeconds),
    failedTasks,
    failing: !reading.stable && failing,
    attempts,
    elapsedSeconds,
    checkedAt: now.toISOString(),
  };
}

/**
 * Only a deployment created by the change counts (a scale-to-zero restart keeps the old one, whose
 * earlier failures say nothing about the restart). Twice the desired count, at least 3, failed
 * tasks means the fault survived the change.
 */
function failureSignal(service: Service, sinceMs: number): { failedTasks: number; failing: boolean } {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  if (!primary || (primary.createdAt?.getTime() ?? 0) < sinceMs) return { failedTasks: 0, failing: false };
  const failedTasks = primary.failedTasks ?? 0;
  return { failedTasks, failing: failedTasks >= Math.max(3, 2 * (service.desiredCount ?? 0)) };
}

const defaults = once(() => ({ ecs: ecsClient(), clock: systemClock }));
const log = once(() => createLogger('check-stability'));
export const handler = step('check-stability', log, (event) => checkStability(event, defaults()));
