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
  requireManaged(config, input.service);
  // The service's configured settings apply to every start (alarm, console, CLI); the input may override.
  const settings = config.serviceSettings[input.service] ?? {};
  const healthUrl = input.healthUrl ?? settings.healthUrl;
  if (input.healthUrl) requireConfiguredOrigin(input.service, input.healthUrl, settings.healthUrl);
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
    ...(input.scaling ? { scaling: input.scaling } : {}),
  };
}

/** Every step that changes a service checks it too: a handler invoked by hand gets no further than the workflow would. */
export function requireManaged(config: Pick<Config, 'managedServices'>, service: string): void {
  if (config.managedServices.length > 0 && !config.managedServices.includes(service)) {
    throw new ServiceNotManagedError(
      `field "service": "${service}" is not managed by incident-flows (managed: ${config.managedServices.join(', ')}) — add it to the stack configuration or fix the name`,
    );
  }
}

/**
 * The verify step fetches the health URL from inside the account's network: a start input may name
 * a path on the service's configured health URL's origin, never another host (an internal address
 * would make incident-flows a probe of the network, with the answer in the execution's output).
 */
export function requireConfiguredOrigin(service: string, url: string, configured: string | undefined, field = 'healthUrl'): void {
  if (!configured) {
    throw new InvalidInputError(
      `field "${field}": no health URL is configured for "${service}" — set services[].healthUrl in the stack configuration; the verify step fetches only configured hosts`,
    );
  }
  if (new URL(url).origin !== new URL(configured).origin) {
    throw new InvalidInputError(`field "${field}": ${new URL(url).origin} is not the configured health URL's origin for "${service}" (${new URL(configured).origin}) — use a path on it, or omit the field`);
  }
}
