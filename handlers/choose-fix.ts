import { DescribeTasksCommand, ListTasksCommand, type ECSClient, type Service, type Task } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { documentClient, ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { requireManaged } from '#commons/incident';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { Backups } from '#deployments/backups';
import { IncidentStore } from '#commons/incidents';
import { describeRevision, parseRevision } from '#deployments/revisions';
import { quickTarget } from '#deployments/targets';

export interface ChooseFixDeps {
  ecs: ECSClient;
  backups: Backups;
  incidents: IncidentStore;
  clock: Clock;
  config: Pick<Config, 'managedServices' | 'lockSeconds'>;
}

export interface FixDecision {
  fix: 'rollback' | 'restart';
  /** Why, one line each, in the order they were weighed: shown in the timeline, the approval request and the report. */
  reasons: string[];
  /** The revision a rollback goes back to. */
  rollbackTo?: string;
  /** The change that brought in the failing revision. */
  change?: { at: string; revision: string; by?: string; source: 'CloudTrail' | 'ECS' };
  changeAgeMinutes?: number;
  /** A rollback older than the policy's window (or a start that asked) waits for a person. */
  needsApproval: boolean;
  checkedAt: string;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    assessment: z.object({ verdict: z.string() }).loose(),
    investigation: z.object({ changes: z.unknown().optional() }).loose().optional(),
    /** The policy's window (handlers/commons/policy.ts): a rollback of a younger change runs on its own. */
    autoRollbackWithinMinutes: z.number().int().min(0).max(7 * 24 * 60),
    execution: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be the execution ARN ($$.Execution.Id)'),
  })
  .strict();

/** A new revision that ran stable this long after its deployment before failing is not the suspect. */
const HELD_MINUTES = 15;
const STEADY = /has reached a steady state/;
const UNSTABLE = /unable to consistently start tasks/;
/** Stop codes of tasks ECS stopped on its own for a reason in the task (ECS API Reference, Task.stopCode). */
const FAILED_STOPS = new Set(['TaskFailedToStart', 'EssentialContainerExited']);

const changeSchema = z.object({ at: z.string(), eventName: z.string(), by: z.string().optional(), taskDefinition: z.string().optional() }).loose();

/**
 * Restart or roll back, from what AWS says — as an SRE reads the evidence before picking the fix.
 * Roll back only when all of these hold, else restart as before:
 * 1. a recent change brought in the revision the service runs (CloudTrail's UpdateService naming
 *    it, or — CloudTrail delivers ~5 minutes late — ECS's PRIMARY deployment of a revision registered
 *    within the lookback);
 * 2. that revision is failing since the change: tasks stopped on failure (CannotPullContainerError,
 *    an essential container exiting, failed health checks), and it did not run stable for
 *    HELD_MINUTES after the change first (then the change is not the suspect);
 * 3. a known, ACTIVE previous revision exists, and the service's events show it reached a steady
 *    state before the change with no "unable to consistently start tasks" after.
 */
export async function chooseFix(event: unknown, deps: ChooseFixDeps): Promise<FixDecision> {
  const { incident, assessment, investigation, autoRollbackWithinMinutes, execution } = parseInput(inputSchema, event, 'choose-fix input');
  requireManaged(deps.config, incident.service);
  const now = deps.clock.now();
  const reasons: string[] = [];
  const restart = (why: string): FixDecision => ({ fix: 'restart', reasons: [...reasons, why], needsApproval: false, checkedAt: now.toISOString() });
  if (assessment.verdict !== 'down' && assessment.verdict !== 'degraded') return restart(`the service is ${assessment.verdict}: nothing points at a deployment`);

  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const current = service.taskDefinition ?? '';
  const change = await recentChange(deps, service, current, investigation?.changes, now.getTime() - incident.lookbackMinutes * 60_000);
  if (!change) return restart(`no change to ${shortRevision(current)} in the last ${incident.lookbackMinutes} min (CloudTrail, ECS deployments): the revision is not new`);
  reasons.push(`${shortRevision(current)} came in at ${change.at.slice(11, 16)}${change.by ? ` by ${change.by}` : ''} (${change.source})`);

  const changeMs = Date.parse(change.at);
  const events = (service.events ?? []).map((e) => ({ at: e.createdAt?.getTime() ?? 0, message: e.message ?? '' }));
  const failures = await failedTasksOf(deps.ecs, incident.cluster, incident.service, current);
  // When it failed: a task still draining behind a load balancer has no stoppedAt yet, only stoppingAt;
  // one with neither failed within ECS's retention of stopped tasks, i.e. by now.
  const firstFailure = Math.min(now.getTime(), ...failures.map((t) => (t.stoppedAt ?? t.executionStoppedAt ?? t.stoppingAt)?.getTime() ?? now.getTime()));
  const failedCount = Math.max(failures.length, service.deployments?.find((d) => d.status === 'PRIMARY')?.failedTasks ?? 0);
  if (failedCount === 0) return restart(`${shortRevision(current)} has no failed tasks: the failure is not the revision's`);
  reasons.push(`${failedCount} task(s) of ${shortRevision(current)} failed${failures[0] ? ` (${oneReason(failures[0])})` : ''}`);
  const steadyAfter = events.filter((e) => e.at >= changeMs && STEADY.test(e.message)).map((e) => e.at).sort((a, b) => a - b)[0];
  if (steadyAfter !== undefined && Number.isFinite(firstFailure) && firstFailure - steadyAfter > HELD_MINUTES * 60_000) {
    return restart(`${shortRevision(current)} ran stable for ${Math.round((firstFailure - steadyAfter) / 60_000)} min before failing: the change is not the suspect`);
  }

  let target;
  try {
    const backup = await deps.backups.get(incident.cluster, incident.service);
    target = await quickTarget(deps.ecs, { service: incident.service }, current, backup, false);
  } catch (err) {
    if ((err as Error).name === 'NoRollbackTargetError') return restart('no known ACTIVE previous revision to roll back to');
    throw err;
  }
  const before = events.filter((e) => e.at < changeMs).sort((a, b) => b.at - a.at);
  const lastSteady = before.find((e) => STEADY.test(e.message));
  const unstableSince = lastSteady ? before.find((e) => e.at > lastSteady.at && UNSTABLE.test(e.message)) : before.find((e) => UNSTABLE.test(e.message));
  if (!lastSteady || unstableSince) {
    return restart(`${shortRevision(target.to.taskDefinition)} did not run stable before the change${unstableSince ? ' (ECS: unable to consistently start tasks)' : ' (no steady state in the service\'s events)'}: rolling back would not help`);
  }
  reasons.push(`${shortRevision(target.to.taskDefinition)} ran stable before it (steady state at ${new Date(lastSteady.at).toISOString().slice(11, 16)}): ${target.why}`);
  const age = Math.max(0, Math.round((now.getTime() - changeMs) / 60_000));
  const needsApproval = incident.requireApproval === true || age > autoRollbackWithinMinutes;
  reasons.push(needsApproval ? `the change is ${age} min old (automatic within ${autoRollbackWithinMinutes} min): a person decides` : `the change is ${age} min old: rolling back on its own`);
  // The nested rollback acts under this execution's hold on the service (a console start has not taken it yet).
  if (!incident.dryRun && !(await deps.incidents.holdForChange({ service: incident.service, executionArn: execution, now, lockSeconds: deps.config.lockSeconds }))) {
    return restart('another execution holds the service: no rollback from here');
  }
  return { fix: 'rollback', reasons, rollbackTo: target.to.taskDefinition, change, changeAgeMinutes: age, needsApproval, checkedAt: now.toISOString() };
}

async function recentChange(deps: ChooseFixDeps, service: Service, current: string, found: unknown, sinceMs: number): Promise<FixDecision['change']> {
  const changes = z.object({ changes: z.array(changeSchema) }).loose().safeParse(found);
  const named = changes.success
    ? changes.data.changes.find((c) => c.eventName === 'UpdateService' && c.taskDefinition !== undefined && sameRevision(c.taskDefinition, current) && Date.parse(c.at) >= sinceMs)
    : undefined;
  if (named) return { at: named.at, revision: current, ...(named.by ? { by: named.by } : {}), source: 'CloudTrail' };
  // CloudTrail may not have it yet: ECS's own record of the deployment is immediate.
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const { definition } = await describeRevision(deps.ecs, current, 'service');
  const registered = definition.registeredAt?.getTime() ?? 0;
  const deployed = primary?.createdAt?.getTime() ?? 0;
  if (registered >= sinceMs && deployed >= sinceMs) return { at: new Date(deployed).toISOString(), revision: current, source: 'ECS' };
  return undefined;
}

/** Stopped tasks of this revision that ECS stopped for a failure (ListTasks keeps stopped tasks about an hour). */
async function failedTasksOf(ecs: ECSClient, cluster: string, service: string, revision: string): Promise<Task[]> {
  const listed = await ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'STOPPED', maxResults: 100 }));
  const arns = listed.taskArns ?? [];
  if (arns.length === 0) return [];
  const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
  return (described.tasks ?? [])
    .filter((t) => t.taskDefinitionArn !== undefined && sameRevision(t.taskDefinitionArn, revision))
    .filter((t) => FAILED_STOPS.has(t.stopCode ?? '') || /CannotPullContainer|health check|exited/i.test(t.stoppedReason ?? ''))
    .sort((a, b) => (a.stoppedAt?.getTime() ?? 0) - (b.stoppedAt?.getTime() ?? 0));
}

function oneReason(task: Task): string {
  return (task.stoppedReason ?? task.stopCode ?? 'stopped').slice(0, 120);
}

function sameRevision(a: string, b: string): boolean {
  const x = parseRevision(a);
  const y = parseRevision(b);
  return x.family === y.family && x.revision === y.revision;
}

function shortRevision(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

const defaults = once(() => {
  const config = configFromEnv();
  return { ecs: ecsClient(), backups: new Backups(documentClient(), config.incidentsTable), incidents: new IncidentStore(documentClient(), config.incidentsTable), clock: systemClock, config };
});
const log = once(() => createLogger('choose-fix'));
export const handler = step('choose-fix', log, (event) => chooseFix(event, defaults()));
