import type { Config } from './config.ts';
import { logGroupFor } from './config.ts';
import { InvalidInputError, ServiceNotManagedError } from './errors.ts';
import { incidentInputSchema, type Incident } from './schemas.ts';
import { parseInput } from './validation.ts';

/** Validates a workflow's start input and resolves the defaults that come from configuration. */
export function resolveIncident(event: unknown, config: Config): Incident {
  const input = parseInput(incidentInputSchema, event, 'start input');
  const cluster = input.cluster ?? config.defaultCluster;
  if (!cluster) {
    throw new InvalidInputError('invalid start input: field "cluster" is required — name the ECS cluster, or configure DEFAULT_CLUSTER');
  }
  if (config.managedServices.length > 0 && !config.managedServices.includes(input.service)) {
    throw new ServiceNotManagedError(
      `field "service": "${input.service}" is not managed by incident-flows (managed: ${config.managedServices.join(', ')}) — add it to the stack configuration or fix the name`,
    );
  }
  return {
    service: input.service,
    cluster,
    logGroup: input.logGroup ?? logGroupFor(config, input.service),
    restartMode: input.restartMode,
    lookbackMinutes: input.lookbackMinutes,
    expectedStartSeconds: input.expectedStartSeconds ?? config.expectedStartSeconds,
    dryRun: input.dryRun,
    requireApproval: input.requireApproval,
    ...(input.healthUrl ? { healthUrl: input.healthUrl } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.trigger ? { trigger: input.trigger } : {}),
  };
}
