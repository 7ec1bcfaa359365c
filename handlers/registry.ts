import type { Clients } from '#commons/clients';
import type { Clock } from '#commons/clock';
import type { Config } from '#commons/config';
import { createLogger, type Logger } from '#commons/logger';
import { step, type StepFunction } from '#commons/step';
import { assessImpact } from './assess.ts';
import { checkStability } from './check-stability.ts';
import { inspectChanges } from './inspect-changes.ts';
import { restartService } from './restart-service.ts';
import { restoreDesiredCount } from './restore-desired-count.ts';
import { reviewLogs } from './review-logs.ts';
import { verifyRecovery } from './verify.ts';

/**
 * Every handler by the name the stack tags its function with (`incident-flows:handler`).
 * The infra stack bundles one Lambda per name; the sandbox runs the same functions in-process
 * with clients pointed at it and its virtual clock.
 */
export const HANDLER_NAMES = [
  'assess',
  'inspect-changes',
  'review-logs',
  'restart-service',
  'check-stability',
  'verify',
  'restore-desired-count',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

export interface HandlerDeps {
  clients: Clients;
  clock: Clock;
  config: Config;
  fetch: typeof fetch;
  logger?: (handler: string) => Logger;
}

export function createHandlers(deps: HandlerDeps): Record<HandlerName, StepFunction> {
  const { clients, clock, config } = deps;
  const wrap = (name: HandlerName, run: (event: unknown) => Promise<unknown>) => {
    const logger = (deps.logger ?? createLogger)(name);
    return step(name, () => logger, run);
  };
  return {
    assess: wrap('assess', (e) => assessImpact(e, { ecs: clients.ecs, clock, config })),
    'inspect-changes': wrap('inspect-changes', (e) => inspectChanges(e, { ecs: clients.ecs, cloudtrail: clients.cloudtrail, clock })),
    'review-logs': wrap('review-logs', (e) => reviewLogs(e, { logs: clients.logs, clock })),
    'restart-service': wrap('restart-service', (e) => restartService(e, { ecs: clients.ecs, clock })),
    'check-stability': wrap('check-stability', (e) => checkStability(e, { ecs: clients.ecs, clock })),
    verify: wrap('verify', (e) => verifyRecovery(e, { ecs: clients.ecs, clock, config, fetch: deps.fetch })),
    'restore-desired-count': wrap('restore-desired-count', (e) => restoreDesiredCount(e, { ecs: clients.ecs, clock })),
  };
}
