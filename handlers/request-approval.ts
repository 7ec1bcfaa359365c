import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  approvalIdFor,
  approvalsConfigFromEnv,
  approversFor,
  markExpired,
  putPendingApproval,
  recordSlackMessage,
  tierSchema,
  viewOf,
  type ApprovalsConfig,
  type Tier,
} from '#commons/approvals';
import { documentClient, getSecretString, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { requireManaged } from '#commons/incident';
import { createLogger, type Logger } from '#commons/logger';
import { incidentSchema, type Incident } from '#commons/schemas';
import { loadSlackSecrets, onceAsync, type SlackApi } from '#commons/slack';
import { approvalRequestMessage, expiredMessage, type ApprovalEvidence } from '#commons/slack-messages';
import { webApiSlack } from '#commons/slack-web-api';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';

export interface RequestApprovalDeps {
  dynamo: DynamoDBDocumentClient;
  /** Built on first use: it needs the bot token from Secrets Manager (or the sandbox's env). */
  slack: () => Promise<SlackApi>;
  clock: Clock;
  config: ApprovalsConfig;
  log: Logger;
  /**
   * The allow-list: nobody is asked about a service incident-flows does not manage. Optional for
   * callers built before it (handlers/registry.ts); the Lambda passes what its environment says.
   */
  managed?: Pick<Config, 'managedServices'>;
}

/** A Step Functions execution ARN ($$.Execution.Id): region, account, state machine, name (1-80, no colon or space). */
const EXECUTION_ARN = /^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:execution:[^:\s]{1,80}:[^:\s]{1,80}$/;

const tierStepSchema = z.object({ tier: tierSchema, timeoutMinutes: z.number().int().min(1) }).strict();

/** What the workflow's approval task passes (lambda:invoke.waitForTaskToken). */
export const requestApprovalInputSchema = z
  .object({
    taskToken: z.string().min(1).max(2048),
    execution: z
      .string()
      .max(2048)
      .regex(EXECUTION_ARN, 'must be a Step Functions execution ARN')
      .describe('pass the execution ARN ($$.Execution.Id), e.g. "arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:<name>"'),
    request: z
      .object({
        workflow: z.string().min(1).max(80),
        action: z.string().min(1).max(80),
        severity: z.string().min(1).max(10).default('P0'),
        tier: tierSchema,
        timeoutSeconds: z.number().int().min(1),
        /** The tier asked if this one does not answer. */
        next: tierStepSchema.optional(),
        /** The tier that did not answer, when this is an escalation. */
        previous: tierStepSchema.optional(),
      })
      .strict(),
    incident: incidentSchema,
    /** The evidence gathered so far ($.assessment, $.investigation): summarised for people. */
    evidence: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export interface ApprovalRequested {
  approvalId: string;
  tier: Tier;
  expiresAt: string;
  /** False when Slack could not be reached: the CLI fallback still works with the id. */
  posted: boolean;
}

/**
 * Request approval: store the task token server-side under an approval id, close the previous
 * tier's request if this is an escalation, and post the request to Slack. A Slack failure does
 * not fail the step — the approval stays open for the CLI fallback — and is recorded on the row.
 */
export async function requestApproval(event: unknown, deps: RequestApprovalDeps): Promise<ApprovalRequested> {
  const input = parseInput(requestApprovalInputSchema, event, 'approval request');
  const { request: r, incident } = input;
  // Before anything is stored or posted: a person is asked only about a service the workflows may touch.
  if (deps.managed) requireManaged(deps.managed, incident.service);
  const store = { dynamo: deps.dynamo, table: deps.config.table };
  const now = deps.clock.now();
  const id = approvalIdFor(input.execution, r.action, r.tier);
  const what = describeAction(r.action, incident);
  const { record, existing } = await putPendingApproval(store, {
    id,
    token: input.taskToken,
    execution: input.execution,
    workflow: r.workflow,
    action: r.action,
    what,
    severity: r.severity,
    service: incident.service,
    cluster: incident.cluster,
    tier: r.tier,
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + r.timeoutSeconds * 1000).toISOString(),
  });

  const slack = await deps.slack().catch((err: Error) => {
    deps.log.warn('Slack unavailable: approval stays open for the CLI', { approvalId: id, error: err.name, message: err.message });
    return err;
  });

  if (r.previous) {
    const previous = await markExpired(store, approvalIdFor(input.execution, r.action, r.previous.tier));
    if (previous?.messageTs && previous.channel && !(slack instanceof Error)) {
      await slack.update({ ...expiredMessage(previous.channel, viewOf(previous), r.tier), ts: previous.messageTs }).catch((err: Error) =>
        deps.log.warn('could not mark the previous request expired in Slack', { approvalId: previous.id, error: err.message }),
      );
    }
  }

  let posted = Boolean(existing?.messageTs);
  if (!posted) {
    if (slack instanceof Error) {
      await recordSlackMessage(store, id, { error: slack.message });
    } else {
      const message = approvalRequestMessage(deps.config.channel, {
        approval: viewOf(record),
        what,
        evidence: summariseEvidence(input.evidence, incident),
        approvers: approversFor(deps.config.approvers, r.tier),
        ...(r.next ? { next: r.next } : {}),
        ...(r.previous ? { escalatedFrom: { tier: r.previous.tier, minutes: r.previous.timeoutMinutes } } : {}),
      });
      try {
        const sent = await slack.postMessage(message);
        await recordSlackMessage(store, id, sent);
        posted = true;
      } catch (err) {
        deps.log.warn('could not post the approval request to Slack: use the CLI fallback', { approvalId: id, error: (err as Error).message });
        await recordSlackMessage(store, id, { error: (err as Error).message });
      }
    }
  }
  deps.log.info('approval requested', { approvalId: id, tier: r.tier, service: incident.service, action: r.action, expiresAt: record.expiresAt, posted });
  return { approvalId: id, tier: r.tier, expiresAt: record.expiresAt, posted };
}

/** The action in the runbook's words. */
export function describeAction(action: string, incident: Incident): string {
  if (action === 'restart') {
    return incident.restartMode === 'scale-to-zero'
      ? `restart ${incident.service} (scale to 0, then back to its desired count)`
      : `restart ${incident.service} (force a new deployment)`;
  }
  if (action === 'scale-out') return `scale ${incident.service} out (more tasks, within its maximum; scaled back after a quiet period)`;
  if (action === 'deploy') return `deploy a new revision of ${incident.service} (rolled back on its own if it fails to stabilise, to verify, or an alarm fires while baking)`;
  if (action === 'rollback') return `roll ${incident.service} back to an earlier revision`;
  return `${action} ${incident.service}`;
}

type Loose = Record<string, unknown> | undefined;

function summariseEvidence(evidence: Record<string, unknown>, incident: Incident): ApprovalEvidence {
  const assessment = evidence.assessment as Loose;
  const investigation = evidence.investigation as Loose;
  const changes = investigation?.changes as Loose;
  const logs = investigation?.logs as Loose;
  const summary: ApprovalEvidence = { reasons: Array.isArray(assessment?.reasons) ? (assessment.reasons as unknown[]).map(String).slice(0, 5) : [] };
  if (typeof assessment?.verdict === 'string') summary.verdict = assessment.verdict;
  const deployment = evidence.deployment as Loose;
  if (deployment) summary.reasons.push(...deploymentLines(deployment));
  // P0's choice between a rollback and a restart (handlers/choose-fix.ts): Reject means "restart instead".
  const decision = evidence.decision as Loose;
  if (decision && Array.isArray(decision.reasons)) {
    summary.reasons.push(`evidence points to a ${String(decision.fix)}${typeof decision.rollbackTo === 'string' ? ` to ${decision.rollbackTo.slice(decision.rollbackTo.lastIndexOf('/') + 1)}` : ''}:`, ...(decision.reasons as unknown[]).map(String).slice(0, 5), 'Approve: roll back. Reject: restart instead.');
  }
  if (incident.reason) summary.reason = incident.reason;
  if (changes?.unavailable) summary.changes = 'unavailable (CloudTrail could not be read)';
  else if (Array.isArray(changes?.changes)) {
    summary.changes = `${changes.changes.length} change(s) in the lookback window${typeof changes.suspect === 'string' ? `; newest: ${changes.suspect}` : ''}`;
  }
  if (logs?.unavailable || logs?.available === false) summary.errors = 'unavailable';
  else if (typeof logs?.count === 'number') {
    const top = (logs.top as { count?: number; example?: string }[] | undefined)?.[0];
    summary.errors = `${logs.count} ${String(logs.pattern ?? 'ERROR')} line(s)${top ? `; most frequent ×${top.count}: ${String(top.example ?? '').slice(0, 200)}` : ''}`;
  }
  return summary;
}

/** From → to, in revisions and images, and why this target (a rollback's choice). */
function deploymentLines(d: Record<string, unknown>): string[] {
  const side = (x: unknown) => {
    const r = (x ?? {}) as { taskDefinition?: unknown; image?: unknown; desiredCount?: unknown };
    const rev = String(r.taskDefinition ?? '?');
    return `${rev.slice(rev.lastIndexOf('/') + 1)}${typeof r.image === 'string' ? ` (${r.image})` : ''}${typeof r.desiredCount === 'number' ? `, ${r.desiredCount} tasks` : ''}`;
  };
  const lines = [`from ${side(d.from)}`, `to ${side(d.to)}`];
  if (typeof d.why === 'string') lines.push(`why this revision: ${d.why}`);
  if (typeof d.environment === 'string') lines.push(`environment: ${d.environment}`);
  return lines;
}

const defaults = once(() => {
  const config = approvalsConfigFromEnv();
  const slack = onceAsync(async () => {
    const secrets = await loadSlackSecrets(process.env, (idOrArn) => getSecretString(idOrArn));
    return webApiSlack({ token: secrets.botToken, apiUrl: config.slackApiUrl });
  });
  return { dynamo: documentClient(), slack, clock: systemClock, config, log: log(), managed: configFromEnv() };
});
const log = once(() => createLogger('request-approval'));
export const handler = step('request-approval', log, (event) => requestApproval(event, defaults()));
