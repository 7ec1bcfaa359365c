import * as z from 'zod';
import { once } from '#commons/clients';
import { ServiceNotManagedError } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { healthCheckInputSchema, healthPlanSchema, type HealthCheckInput, type HealthPlan } from './health/plan.ts';

const eventSchema = z
  .object({
    /** The execution's input, as started by the schedule, the console or the CLI. */
    input: z.unknown(),
    /** The stack's plan, written into the definition. */
    configured: z.unknown(),
  })
  .strict();

export interface PlannedHealthCheck {
  plan: HealthPlan;
  request: HealthCheckInput;
}

/**
 * First state of the health check: validates the start input (a misspelt field, an absurd
 * threshold, a service the stack does not manage fail here, naming the field, before any call is
 * made) and narrows the configured plan by it.
 */
export function planHealthCheck(event: unknown): PlannedHealthCheck {
  const { input, configured } = parseInput(eventSchema, event, 'plan-health-check event');
  // Step Functions passes {} when the execution was started without input.
  const request = parseInput(healthCheckInputSchema, input ?? {}, 'start input');
  const plan = parseInput(healthPlanSchema, configured, 'health-check configuration');
  const unknown = (request.services ?? []).filter((s) => !plan.services.includes(s));
  if (unknown.length) {
    throw new ServiceNotManagedError(
      `field "services": ${unknown.map((s) => `"${s}"`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not managed by incident-flows (managed: ${plan.services.join(', ')}) — fix the name or add it to the stack configuration`,
    );
  }
  const only = request.services;
  // A stricter error-rate threshold applies to every rate; narrowed to some services, the others' rates and metrics are left out.
  const errorRates = plan.errorRates
    .map((r) => (request.errorRateThresholdPercent !== undefined ? { ...r, thresholdPercent: request.errorRateThresholdPercent } : r))
    .filter((r) => !only || !r.service || only.includes(r.service));
  return {
    request,
    plan: {
      ...plan,
      ...(only ? { services: only, metrics: plan.metrics.filter((m) => !m.service || only.includes(m.service)) } : {}),
      ...(request.lookbackMinutes !== undefined ? { lookbackMinutes: request.lookbackMinutes } : {}),
      ...(request.cpuThresholdPercent !== undefined ? { cpuThresholdPercent: request.cpuThresholdPercent } : {}),
      errorRates,
      ...(request.openIncidents ? {} : { openIncidents: {} }),
    },
  };
}

const log = once(() => createLogger('plan-health-check'));
export const handler = step('plan-health-check', log, async (event) => planHealthCheck(event));
