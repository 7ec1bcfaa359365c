import type { Clients } from '#commons/clients';
import type { Clock } from '#commons/clock';
import type { Config } from '#commons/config';
import { createLogger, type Logger } from '#commons/logger';
import { step, type StepFunction } from '#commons/step';
import { assessImpact } from './assess.ts';
import { watchStability } from './watch-stability.ts';
import { WatchStore } from '#stability/watches';
import { RestorePoints } from '#safety/restore-points';
import { IncidentStore } from '#commons/incidents';
import { inspectChanges } from './inspect-changes.ts';
import { restartService } from './restart-service.ts';
import { restoreDesiredCount } from './restore-desired-count.ts';
import { reviewLogs } from './review-logs.ts';
import { verifyRecovery } from './verify.ts';
import { requestApproval } from './request-approval.ts';
import { assessLoad } from './assess-load.ts';
import { scaleOut } from './scale-out.ts';
import { monitorLoad } from './monitor-load.ts';
import { ScaleBacks } from '#safety/scale-backs';
import { Backups } from '#deployments/backups';
import { prepareDeploy } from './prepare-deploy.ts';
import { prepareRollback } from './prepare-rollback.ts';
import { applyRevision } from './apply-revision.ts';
import { verifyDeployment } from './verify-deployment.ts';
import { watchAlarms } from './watch-alarms.ts';
import { discardRevision } from './discard-revision.ts';
import { chooseFix } from './choose-fix.ts';
import type { ApprovalsConfig } from '#commons/approvals';
import type { SlackApi } from '#commons/slack';
import { createCheckHandlers, type CheckHandlerName } from './registry-checks.ts';
import type { StartIncidentDeps } from './start-incident.ts';

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
  'watch-stability',
  'verify',
  'restore-desired-count',
  // P1 "Degraded Performance" (workflows/p1-degraded.ts).
  'assess-load',
  'scale-out',
  'monitor-load',
  // Standard Deployment and Rollback (workflows/deploy.ts, workflows/rollback.ts).
  'prepare-deploy',
  'prepare-rollback',
  'apply-revision',
  'verify-deployment',
  'watch-alarms',
  'discard-revision',
  // P0 chooses between a restart and rolling back a bad deployment (handlers/choose-fix.ts).
  'choose-fix',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/**
 * Handlers of the approvals construct (infra/approvals.ts), which builds their functions with their
 * own environment and grants. request-approval is a workflow Task; slack-interactions sits behind
 * the HTTP API (in the sandbox, behind the route sandbox/slack.ts mounts).
 */
export const APPROVAL_HANDLER_NAMES = ['request-approval', 'slack-interactions'] as const;

/** What request-approval needs beyond the common deps: the Slack side of the approvals. */
export interface ApprovalHandlerDeps {
  config: ApprovalsConfig;
  slack: () => Promise<SlackApi>;
}

export interface HandlerDeps {
  clients: Clients;
  clock: Clock;
  config: Config;
  fetch: typeof fetch;
  logger?: (handler: string) => Logger;
  approvals?: ApprovalHandlerDeps;
  /** start-incident's dependencies, for the health check's failing lines that open an incident (handlers/registry-checks.ts). */
  incidents?: () => StartIncidentDeps;
}

export function createHandlers(deps: HandlerDeps): Record<HandlerName | 'request-approval' | CheckHandlerName, StepFunction> {
  const { clients, clock, config } = deps;
  const wrap = (name: HandlerName | 'request-approval' | CheckHandlerName, run: (event: unknown) => Promise<unknown>) => {
    const logger = (deps.logger ?? createLogger)(name);
    return step(name, () => logger, run);
  };
  const watches = new WatchStore(clients.dynamo, config.watchesTable);
  const points = new RestorePoints(clients.dynamo, config.incidentsTable);
  const scaleBacks = new ScaleBacks(clients.dynamo, config.incidentsTable);
  const incidents = new IncidentStore(clients.dynamo, config.incidentsTable);
  const backups = new Backups(clients.dynamo, config.incidentsTable);
  return {
    // P2 "Minor Issues" and the daily health check.
    ...createCheckHandlers({ ...deps, logger: deps.logger ?? createLogger }, wrap),
    assess: wrap('assess', (e) => assessImpact(e, { ecs: clients.ecs, clock, config })),
    'inspect-changes': wrap('inspect-changes', (e) => inspectChanges(e, { ecs: clients.ecs, cloudtrail: clients.cloudtrail, clock })),
    'review-logs': wrap('review-logs', (e) => reviewLogs(e, { logs: clients.logs, clock })),
    'restart-service': wrap('restart-service', (e) => restartService(e, { config, incidents, ecs: clients.ecs, ecsOnce: clients.ecsOnce, elbv2: clients.elbv2, clock, points })),
    'watch-stability': wrap('watch-stability', (e) =>
      watchStability(e, { ecs: clients.ecs, elbv2: clients.elbv2, sfn: clients.sfn, watches, clock, config, log: (deps.logger ?? createLogger)('watch-stability') }),
    ),
    verify: wrap('verify', (e) => verifyRecovery(e, { ecs: clients.ecs, elbv2: clients.elbv2, clock, config, fetch: deps.fetch })),
    'restore-desired-count': wrap('restore-desired-count', (e) => restoreDesiredCount(e, { config, ecs: clients.ecs, clock, points })),
    'assess-load': wrap('assess-load', (e) => assessLoad(e, { ecs: clients.ecs, cloudwatch: clients.cloudwatch, autoscaling: clients.autoscaling, clock, config })),
    'scale-out': wrap('scale-out', (e) =>
      scaleOut(e, { config, incidents, ecs: clients.ecs, elbv2: clients.elbv2, autoscaling: clients.autoscaling, clock, points, scaleBacks }),
    ),
    'monitor-load': wrap('monitor-load', (e) => monitorLoad(e, { ecs: clients.ecs, cloudwatch: clients.cloudwatch, clock, config })),
    'prepare-deploy': wrap('prepare-deploy', (e) => prepareDeploy(e, { config, ecs: clients.ecs, cloudwatch: clients.cloudwatch, sfn: clients.sfn, incidents, backups, clock })),
    'prepare-rollback': wrap('prepare-rollback', (e) => prepareRollback(e, { config, ecs: clients.ecs, sfn: clients.sfn, incidents, backups, clock })),
    'apply-revision': wrap('apply-revision', (e) => applyRevision(e, { config, ecs: clients.ecs, elbv2: clients.elbv2, incidents, backups, clock })),
    'verify-deployment': wrap('verify-deployment', (e) => verifyDeployment(e, { ecs: clients.ecs, elbv2: clients.elbv2, clock, config, fetch: deps.fetch })),
    'watch-alarms': wrap('watch-alarms', (e) => watchAlarms(e, { cloudwatch: clients.cloudwatch, ecs: clients.ecs, clock, config })),
    'discard-revision': wrap('discard-revision', (e) => discardRevision(e, { ecs: clients.ecs, config })),
    'choose-fix': wrap('choose-fix', (e) => chooseFix(e, { ecs: clients.ecs, backups, incidents, clock, config })),
    'request-approval': wrap('request-approval', (e) => {
      if (!deps.approvals) throw new Error('request-approval needs the approvals deps (Slack and the approvals table)');
      const log = (deps.logger ?? createLogger)('request-approval');
      return requestApproval(e, { dynamo: clients.dynamo, clock, config: deps.approvals.config, slack: deps.approvals.slack, log, managed: config });
    }),
  };
}
