import type { Clients } from '#commons/clients';
import type { Clock } from '#commons/clock';
import type { Config } from '#commons/config';
import type { Logger } from '#commons/logger';
import type { StepFunction } from '#commons/step';
import type { ApprovalHandlerDeps } from './registry.ts';
import { checkFunctions } from './check-functions.ts';
import { checkMetrics } from './check-metrics.ts';
import { checkServices } from './check-services.ts';
import { checkTables } from './check-tables.ts';
import { planHealthCheck } from './plan-health-check.ts';
import { raiseHealthIncidents } from './raise-health-incidents.ts';
import { reportHealth } from './report-health.ts';
import { scheduleFix } from './schedule-fix.ts';
import { summarizeWarnings } from './summarize-warnings.ts';
import type { StartIncidentDeps } from './start-incident.ts';

/**
 * The handlers of P2 "Minor Issues" and of the daily health check. The stack builds their functions
 * in infra/checks.ts, each with its own environment and only the rights it needs — unlike
 * HANDLER_NAMES, which all share P0's environment and read access to the services.
 */
export const P2_HANDLER_NAMES = ['summarize-warnings', 'schedule-fix'] as const;
export const HEALTH_CHECK_HANDLER_NAMES = [
  'plan-health-check',
  'check-services',
  'check-functions',
  'check-tables',
  'check-metrics',
  'report-health',
  'raise-health-incidents',
] as const;
export type P2HandlerName = (typeof P2_HANDLER_NAMES)[number];
export type HealthCheckHandlerName = (typeof HEALTH_CHECK_HANDLER_NAMES)[number];
export type CheckHandlerName = P2HandlerName | HealthCheckHandlerName;

export interface CheckHandlerDeps {
  clients: Clients;
  clock: Clock;
  config: Config;
  logger: (handler: string) => Logger;
  /** Slack as the approvals have it (the sandbox's fake, or the real one). */
  approvals?: ApprovalHandlerDeps;
  /** start-incident's dependencies, for the failing lines that open an incident. */
  incidents?: () => StartIncidentDeps;
}

export function createCheckHandlers(deps: CheckHandlerDeps, wrap: (name: CheckHandlerName, run: (event: unknown) => Promise<unknown>) => StepFunction): Record<CheckHandlerName, StepFunction> {
  const { clients, clock, config } = deps;
  const slack = async () => {
    if (!deps.approvals) throw new Error('Slack is not configured for this runtime (no approvals deps)');
    return deps.approvals.slack();
  };
  const channel = deps.approvals?.config.channel ?? '#incidents';
  return {
    'summarize-warnings': wrap('summarize-warnings', (e) => summarizeWarnings(e, { logs: clients.logs, clock })),
    'schedule-fix': wrap('schedule-fix', (e) => scheduleFix(e, { dynamo: clients.dynamo, incidentsTable: config.incidentsTable, clock, slack, channel, log: deps.logger('schedule-fix') })),
    'plan-health-check': wrap('plan-health-check', async (e) => planHealthCheck(e)),
    'check-services': wrap('check-services', (e) => checkServices(e, { ecs: clients.ecs, clock })),
    'check-functions': wrap('check-functions', (e) => checkFunctions(e, { lambda: clients.lambda, clock })),
    'check-tables': wrap('check-tables', (e) => checkTables(e, { dynamo: clients.dynamo, clock })),
    'check-metrics': wrap('check-metrics', (e) => checkMetrics(e, { cloudwatch: clients.cloudwatch, clock })),
    'report-health': wrap('report-health', (e) => reportHealth(e, { clock, slack, channel, log: deps.logger('report-health') })),
    'raise-health-incidents': wrap('raise-health-incidents', (e) => {
      if (!deps.incidents) throw new Error('raise-health-incidents needs the incident deps (the incidents table and the procedures)');
      return raiseHealthIncidents(e, deps.incidents());
    }),
  };
}
