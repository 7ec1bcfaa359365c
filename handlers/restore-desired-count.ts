import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { documentClient, ecsClient, once } from '#commons/clients';
import { configFromEnv } from '#commons/config';
import { RestorePoints } from '#safety/restore-points';
import { systemClock, type Clock } from '#commons/clock';
import { describeService } from '#commons/ecs';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface RestoreDeps {
  ecs: ECSClient;
  clock: Clock;
  points: RestorePoints;
}

export interface Restoration {
  restored: boolean;
  from: number;
  to: number;
  dryRun: boolean;
  checkedAt: string;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    desiredCount: z.number().int().min(0).describe('the desired count recorded before the incident\'s first change'),
  })
  .strict();

/**
 * The fail-safe every failure path goes through: put the desired count back to what it was before
 * the workflow touched the service. Idempotent, and it never lowers a count someone raised since.
 */
export async function restoreDesiredCount(event: unknown, deps: RestoreDeps): Promise<Restoration> {
  const input = parseInput(inputSchema, event, 'restore-desired-count input');
  const { incident } = input;
  // The restore point may hold more than the assessment saw (autoscaling raised it before the change).
  const point = await deps.points.get(incident.cluster, incident.service);
  const desiredCount = Math.max(input.desiredCount, point?.desiredCount ?? 0);
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const current = service.desiredCount ?? 0;
  const needed = current < desiredCount;
  if (needed && !incident.dryRun) {
    await deps.ecs.send(new UpdateServiceCommand({ cluster: incident.cluster, service: incident.service, desiredCount }));
  }
  return { restored: needed, from: current, to: needed ? desiredCount : current, dryRun: incident.dryRun, checkedAt: deps.clock.now().toISOString() };
}

const defaults = once(() => ({ ecs: ecsClient(), clock: systemClock, points: new RestorePoints(documentClient(), configFromEnv().incidentsTable) }));
const log = once(() => createLogger('restore-desired-count'));
export const handler = step('restore-desired-count', log, (event) => restoreDesiredCount(event, defaults()));
