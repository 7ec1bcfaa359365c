import { DescribeExecutionCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { fullHistory } from '#commons/execution-history';
import * as z from 'zod';
import { documentClient, ecsClient, once, sfnClient, snsClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { IncidentStore, incidentIdOf, incidentSettingsFromEnv, type IncidentRecord, type IncidentSettings } from '#commons/incidents';
import { createLogger, type Logger } from '#commons/logger';
import { changeKindOf, headline, renderReport, summariseExecution, type ExecutionFacts, type ExecutionSummary, type ReportPoster } from '#commons/report';
import { escapeSlackText, fetchSlackApi, loadSlackSecrets, onceAsync, type SlackApi } from '#commons/slack';
import { severitySchema } from '#commons/alarms';
import { step } from '#commons/step';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { logPager, snsPager, type Pager } from '#commons/paging';
import { RestorePoints, settleRestorePoint, type Settlement } from '#safety/restore-points';

export interface RecordIncidentDeps {
  store: IncidentStore;
  sfn: SFNClient;
  clock: Clock;
  settings: Pick<IncidentSettings, 'cooldownSeconds' | 'cluster'>;
  poster: ReportPoster;
  log: Logger;
  /** Settles the restore point the execution held: a stopped or timed-out restart is put back. */
  ecs: ECSClient;
  points: RestorePoints;
  pager: Pager;
}

export const EXECUTION_DETAIL_TYPE = 'Step Functions Execution Status Change';
const TERMINAL = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

const statusChangeSchema = z.object({
  'detail-type': z.literal(EXECUTION_DETAIL_TYPE),
  detail: z.object({
    executionArn: z.string().min(1),
    status: z.string(),
  }),
});

export type RecordIncidentResult =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'recorded'; incidentId: string; service: string; result: string; posted: boolean; released: boolean; report: string; first: boolean };

/**
 * An execution of ours ended, however it ended: write the incident record from the execution
 * itself (history and step results), store the post-incident report, post it to Slack, and let go
 * of the service. Failed, timed-out and aborted executions are reported the same way, so no
 * incident ends silently.
 */
export async function recordIncident(event: unknown, deps: RecordIncidentDeps): Promise<RecordIncidentResult> {
  const parsed = statusChangeSchema.safeParse(event);
  if (!parsed.success) return ignore(deps.log, `not a "${EXECUTION_DETAIL_TYPE}" event with detail.executionArn`);
  const { executionArn, status } = parsed.data.detail;
  if (!(TERMINAL as readonly string[]).includes(status)) return ignore(deps.log, `execution ${executionArn} is ${status}, not finished`);

  const facts = await describe(deps.sfn, executionArn);
  // A redriven execution keeps its ARN and history (Step Functions Developer Guide, "Redriving
  // executions"): each attempt's end is recorded, reported and paged on its own, under its own key,
  // and summarised from its own part of the history.
  const attempt = facts.redriveCount ? `${executionArn}#redrive-${facts.redriveCount}` : executionArn;
  const fullLog = await fullHistory(deps.sfn, executionArn);
  const redriven = fullLog.findLastIndex((e) => e.type === 'ExecutionRedriven');
  const history = redriven >= 0 ? fullLog.slice(redriven) : fullLog;
  const summary = summariseExecution(facts, history);
  const input = facts.input as { service?: unknown; cluster?: unknown; trigger?: IncidentRecord['trigger']; dryRun?: unknown };
  // A workflow about no one service (the daily health check) is recorded under its state machine's name.
  const service = typeof input.service === 'string' ? input.service : (executionArn.split(':')[6] ?? 'unknown-service');
  const cluster = typeof input.cluster === 'string' ? input.cluster : deps.settings.cluster;
  // First the service: whatever else fails below, a restart stopped mid-way is put back.
  // Settling pages on its own when it fails; the point stays pending for the reconciler's retry, and
  // the incident is still recorded and its people paged below.
  const settlement = cluster
    ? await settlePoint(deps, cluster, service, executionArn, facts.status).catch((err: Error) => {
        deps.log.error('restore point not settled; the reconciler retries', { service, executionArn, error: err.message });
        return 'failed' as const;
      })
    : undefined;
  // An execution belongs to an alarm's incident only if that incident lists it: a console start
  // named "<someone else's incident>--p1" is an incident of its own, not theirs to overwrite.
  const claimed = incidentIdOf(facts.name);
  const claimedRecord = claimed !== facts.name ? await deps.store.get(claimed) : undefined;
  const belongs = claimed === facts.name || claimedRecord?.executions?.[facts.name]?.executionArn === executionArn;
  const incidentId = belongs ? claimed : facts.name;
  // The health check is no incident of a service: recorded at the lowest severity, not as a P0.
  const severity = typeof input.service !== 'string' ? 'P2' : belongs ? severitySchema.catch('P0').parse(/--(p[0-2])$/.exec(facts.name)?.[1]?.toUpperCase()) : 'P0';
  const known = belongs ? (claimedRecord ?? (await deps.store.get(incidentId))) : await deps.store.get(incidentId);

  // Release the service only if this incident holds it and no newer execution of it is running.
  const lock = await deps.store.lock(service);
  const holds = lock?.incidentId === incidentId;
  const newerRunning = holds && lock.executionArn !== undefined && lock.executionArn !== executionArn;
  const released = holds && !newerRunning && (await deps.store.release(service, incidentId, executionArn, new Date(deps.clock.now().getTime() + deps.settings.cooldownSeconds * 1000)));

  const openedAt = known?.openedAt ?? facts.startDate.toISOString();
  const timeToMitigate = summary.mitigatedAt ? Math.max(0, Math.round((Date.parse(summary.mitigatedAt) - Date.parse(openedAt)) / 1000)) : undefined;
  const closedAt = (facts.stopDate ?? deps.clock.now()).toISOString();
  const record = await deps.store.close(
    incidentId,
    {
      executionName: facts.name,
      execution: { executionArn, severity, startedAt: facts.startDate.toISOString(), status: facts.status },
      service,
      ...(typeof input.cluster === 'string' ? { cluster: input.cluster } : {}),
      severity,
      trigger: input.trigger ?? { kind: 'manual' },
      openedAt,
      status: newerRunning ? 'open' : 'closed',
      ...(newerRunning ? {} : { closedAt }),
      // An alarm that stays in ALARM sends no further event: look at the alarms again after the cool-down.
      // A deploy or rollback recorded the alarms of its time on itself instead of opening a P0: look again whatever its end.
      ...(!newerRunning && (RECHECKED.has(summary.outcome) || changeKindOf(executionArn) !== undefined) ? { recheckAt: new Date(Date.parse(closedAt) + deps.settings.cooldownSeconds * 1000).toISOString() } : {}),
      outcome: summary.outcome,
      actions: summary.actions,
      approvals: summary.approvals,
      durations: summary.durations,
      ...(timeToMitigate !== undefined ? { timeToMitigateSeconds: timeToMitigate } : {}),
    },
    attempt,
    [...summary.steps, { at: closedAt, kind: 'closed', what: `${facts.name}${facts.redriveCount ? ` (redrive ${facts.redriveCount})` : ''} ended ${facts.status}: ${summary.outcome}` }],
  );

  const report = renderReport({ incident: { ...record, timeline: record.timeline ?? [] }, execution: facts, summary });
  const first = await deps.store.saveReport(incidentId, attempt, report);
  // The whole history, not this attempt's: a redrive resuming after earlier changes is no refused start.
  const refused = refusedStart(facts, fullLog, summary, settlement, known?.trigger ?? input.trigger);
  const text = refused
    ? `:information_source: ${changeKindOf(executionArn) ?? severity} ${service}: start input refused (${facts.error}), nothing changed, nobody paged (incident ${incidentId})`
    : headline(record, summary.outcome, timeToMitigate, changeKindOf(executionArn));
  let posted = false;
  if (first) {
    try {
      await deps.poster.post({ incidentId, service, outcome: summary.outcome, text, markdown: report });
      posted = true;
    } catch (err) {
      // Give the claim back so the retry (Lambda's async retries, then the dead-letter queue) posts it; the record itself is already written.
      await deps.store.unmarkNotified(incidentId, attempt);
      throw err;
    }
  }
  if (first && needsPeople(facts) && !refused) {
    await deps.pager.page({
      summary: `${service}: ${summary.outcome} - people must take over`,
      service,
      ...(cluster ? { cluster } : {}),
      incidentId,
      executionArn,
      severity,
      details: `${facts.name} ended ${facts.status}${facts.error ? ` (${facts.error})` : ''}: ${facts.cause ?? summary.outcome}.${settlement === 'failed' ? ' Putting the desired count back FAILED: see the page about it.' : settlement?.restored ? ` The desired count was restored ${settlement.from} → ${settlement.to}.` : ''}${changeKindOf(executionArn) === 'deploy' ? ` A deploy stopped or escalated may leave ECS rolling out its new revision: check the service, and to restore the backup taken before it (revision, desired count, deployment configuration) run \`incident-flows rollback --service ${service} --mode full --deployment ${facts.name}\`.` : ''}`,
      dedupKey: `end:${attempt}`,
    });
  }
  const log = facts.status === 'SUCCEEDED' ? deps.log.info : deps.log.warn;
  log('incident recorded', { incidentId, service, executionArn, status: facts.status, outcome: summary.outcome, released, posted, paged: first && needsPeople(facts) && !refused, ...(timeToMitigate !== undefined ? { timeToMitigateSeconds: timeToMitigate } : {}) });
  return { outcome: 'recorded', incidentId, service, result: summary.outcome, posted, released, report, first };
}

/**
 * Outcomes that claim the service is fine: their alarms must agree, or a new incident opens. An
 * alarm while a deployment held the service was recorded on the deployment, not opened as a P0: a
 * deployed or rolled-back service is looked at again after the cool-down too.
 */
const RECHECKED = new Set(['recovered', 'no-action', 'deployed', 'rolled-back']);

/**
 * When people must take over: an escalation (including nobody approving), a timeout, an abort, a
 * failure of any kind — but not a rejection, which a person decided.
 */
function needsPeople(facts: ExecutionFacts): boolean {
  if (facts.status === 'SUCCEEDED') return false;
  // A nested execution (the deploy's own rollback) ends inside its parent, which pages if it must.
  if (typeof facts.input.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID === 'string') return false;
  // A deployment that failed and was rolled back left the service as it was: the team is told, nobody is woken.
  return !(facts.status === 'FAILED' && (facts.error === 'ApprovalRejected' || facts.error === 'DeploymentRolledBack'));
}

/**
 * What the first state answers a start input it refuses (handlers/commons/incident.ts
 * resolveIncident), and a cluster or service that does not exist (handlers/commons/ecs.ts).
 */
const REFUSED_INPUT = new Set(['InvalidInputError', 'ServiceNotManagedError', 'ClusterNotFoundError', 'ServiceNotFoundError', 'NoRollbackTargetError', 'DeploymentRefusedError', 'ServiceBusyError']);

/**
 * A start the first state refused before anything was done — a typo at the console, a hostile
 * input — is recorded and reported but pages nobody: whoever started it sees the error, and no
 * service was touched. An alarm's start is paged all the same: the alarm is real and nothing is
 * acting on it. Anything more than one state entered, an action or a restore point settled, pages.
 */
function refusedStart(facts: ExecutionFacts, events: HistoryEvent[], summary: ExecutionSummary, settlement: Settlement | 'failed' | undefined, trigger: unknown): boolean {
  if (facts.status !== 'FAILED' || !REFUSED_INPUT.has(facts.error ?? '')) return false;
  if ((trigger as { kind?: unknown } | null | undefined)?.kind === 'alarm') return false;
  const statesEntered = events.filter((e) => e.type?.endsWith('StateEntered')).length;
  return statesEntered <= 1 && summary.actions.length === 0 && settlement === undefined;
}

async function settlePoint(deps: RecordIncidentDeps, cluster: string, service: string, executionArn: string, status: string): Promise<Settlement | undefined> {
  const point = await deps.points.get(cluster, service);
  if (!point?.holders?.has(executionArn)) return undefined;
  return settleRestorePoint(deps, point, executionArn, status);
}

export { incidentIdOf } from '#commons/incidents';

async function describe(sfn: SFNClient, executionArn: string): Promise<ExecutionFacts> {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const obj = (text: string | undefined) => {
    try {
      const v = text ? (JSON.parse(text) as unknown) : undefined;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    executionArn,
    name: d.name ?? executionArn.split(':').pop() ?? executionArn,
    status: d.status ?? 'UNKNOWN',
    startDate: d.startDate ?? new Date(0),
    ...(d.stopDate ? { stopDate: d.stopDate } : {}),
    input: obj(d.input) ?? {},
    ...(obj(d.output) ? { output: obj(d.output) } : {}),
    ...(d.error ? { error: d.error } : {}),
    ...(d.cause ? { cause: d.cause } : {}),
    ...(d.redriveCount ? { redriveCount: d.redriveCount } : {}),
  };
}

function ignore(log: Logger, reason: string): RecordIncidentResult {
  log.info('event ignored: nothing recorded', { reason });
  return { outcome: 'ignored', reason };
}

/**
 * Posts the report to a Slack channel: the headline, then the report (Slack caps a block at 3,000
 * characters). The report quotes log lines, alarm reasons and CloudTrail users: escaped, so a
 * `<!channel>` in a log line pings nobody and no disguised link reaches the channel.
 */
export function slackReportPoster(slack: Pick<SlackApi, 'postMessage'>, channel: string): ReportPoster {
  return {
    async post(message) {
      const escaped = escapeSlackText(message.markdown);
      const body = escaped.length > 2800 ? `${escaped.slice(0, 2800)}\n…(full report in the incidents table)` : escaped;
      const text = escapeSlackText(message.text);
      await slack.postMessage({
        channel,
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text } },
          { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${body}\`\`\`` } },
        ],
      });
    },
  };
}

/** Slack when configured (SLACK_CHANNEL and the secret), else a log line saying where the report is. */
export function posterFromEnv(log: Logger): ReportPoster {
  const channel = process.env.SLACK_CHANNEL;
  if (!channel || (!process.env.SLACK_SECRET_ARN && !process.env.SLACK_BOT_TOKEN)) {
    return {
      async post(message) {
        log.warn('report not posted: Slack is not configured (SLACK_CHANNEL and SLACK_SECRET_ARN)', { incidentId: message.incidentId, outcome: message.outcome });
      },
    };
  }
  // The Secrets Manager client loads only when a report is posted (a lighter cold start), and a
  // secret that could not be read is not kept: the next report tries again.
  const slack = onceAsync(async () => {
    const secrets = await loadSlackSecrets(process.env, async (secretId) => {
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      return (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    });
    return fetchSlackApi({ token: secrets.botToken, apiUrl: process.env.SLACK_API_URL ?? 'https://slack.com/api/', timeoutMs: 5000 });
  });
  return { post: async (message) => slackReportPoster(await slack(), channel).post(message) };
}

const defaults = once(() => {
  const settings = incidentSettingsFromEnv();
  const log = createLogger('record-incident');
  return {
    store: new IncidentStore(documentClient(), settings.incidentsTable),
    sfn: sfnClient(),
    clock: systemClock,
    settings,
    poster: posterFromEnv(log),
    log,
    ecs: ecsClient(),
    points: new RestorePoints(documentClient(), settings.incidentsTable),
    pager: pagerFromEnv(log),
  };
});

/** The paging topic the stack creates (PAGING_TOPIC_ARN); without it, a loud log line. */
export function pagerFromEnv(log: Logger): Pager {
  const topic = process.env.PAGING_TOPIC_ARN;
  return topic ? snsPager(snsClient(), topic) : logPager(log);
}
export const handler = step('record-incident', () => defaults().log, (event) => recordIncident(event, defaults()));
