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
  // The service's configured settings apply to every start (alarm, console, CLI); the input may override.
  const settings = config.serviceSettings[input.service] ?? {};
  const healthUrl = input.healthUrl ?? settings.healthUrl;
  return {
    service: input.service,
    cluster,
    logGroup: input.logGroup ?? logGroupFor(config, input.service),
    restartMode: input.restartMode ?? settings.restartMode ?? 'force-new-deployment',
    lookbackMinutes: input.lookbackMinutes,
    expectedStartSeconds: input.expectedStartSeconds ?? settings.expectedStartSeconds ?? config.expectedStartSeconds,
    dryRun: input.dryRun,
    requireApproval: input.requireApproval,
    ...(healthUrl ? { healthUrl } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.trigger ? { trigger: input.trigger } : {}),
  };
}
