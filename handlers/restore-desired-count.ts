import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { documentClient, ecsClient, once } from '#commons/clients';
import { configFromEnv, type Config } from '#commons/config';
import { requireManaged } from '#commons/incident';
import { RestorePoints } from '#safety/restore-points';
import { systemClock, type Clock } from '#commons/clock';
import { describeService } from '#commons/ecs';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface RestoreDeps {
  config: Pick<Config, 'managedServices'>;
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
    desiredCount: z.number().int().min(0).optional().describe('the assessment\'s desired count, for the record: the count restored is the restore point\'s'),
  })
  .strict();

/**
 * The fail-safe every failure path goes through: put the desired count back to what the restore
 * point says it was before the workflow's first change (handlers/safety/restore-points.ts) — never
 * a count from the input, so a hand-made invocation cannot scale a service up. No point: the
 * workflow changed nothing, or the point is already settled. Idempotent, and it never lowers a
 * count someone raised since.
 */
export async function restoreDesiredCount(event: unknown, deps: RestoreDeps): Promise<Restoration> {
  const { incident } = parseInput(inputSchema, event, 'restore-desired-count input');
  requireManaged(deps.config, incident.service);
  const point = await deps.points.get(incident.cluster, incident.service);
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const desiredCount = point?.desiredCount ?? service.desiredCount ?? 0;
  const current = service.desiredCount ?? 0;
  const needed = current < desiredCount;
  if (needed && !incident.dryRun) {
    await deps.ecs.send(new UpdateServiceCommand({ cluster: incident.cluster, service: incident.service, desiredCount }));
  }
  return { restored: needed, from: current, to: needed ? desiredCount : current, dryRun: incident.dryRun, checkedAt: deps.clock.now().toISOString() };
}

const defaults = once(() => ({ config: configFromEnv(), ecs: ecsClient(), clock: systemClock, points: new RestorePoints(documentClient(), configFromEnv().incidentsTable) }));
const log = once(() => createLogger('restore-desired-count'));
export const handler = step('restore-desired-count', log, (event) => restoreDesiredCount(event, defaults()));
