import { createHash, randomUUID } from 'node:crypto';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Clock } from './clock.ts';
import { IncidentFlowsError } from './errors.ts';
import { writeIf } from './dynamo.ts';

/**
 * Approvals: a person decides a risky step exactly once. The task token of the waiting Step
 * Functions task is stored here, server-side, under an approval id; Slack buttons and the CLI only
 * ever carry the id. Deciding is one conditional write (pending → approved/rejected, before the
 * expiry), then SendTaskSuccess/SendTaskFailure with the stored token.
 */

// ------------------------------------------------------------------ tiers

/** The runbook's escalation path, most junior first. */
export const TIERS = ['on-call', 'team-lead', 'vp'] as const;
export const tierSchema = z.enum(TIERS);
export type Tier = z.infer<typeof tierSchema>;

export const TIER_LABEL: Record<Tier, string> = {
  'on-call': 'on-call engineer',
  'team-lead': 'team lead',
  vp: 'VP engineering',
};

/** Error name the workflows catch when a person rejects: part of the workflows' API. */
export const APPROVAL_REJECTED = 'ApprovalRejected';

// ------------------------------------------------------------------ errors

/** Every refusal of a decision carries the HTTP status the Slack callback answers with. */
export class ApprovalDecisionError extends IncidentFlowsError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export class ApprovalNotFoundError extends ApprovalDecisionError {
  constructor(id: string) {
    super(`no approval "${id}": check the id in the Slack message or the execution's history`, 404, 'approval_not_found');
  }
}

export class ApprovalExpiredError extends ApprovalDecisionError {
  constructor(message: string) {
    super(message, 410, 'approval_expired');
  }
}

export class ApprovalAlreadyDecidedError extends ApprovalDecisionError {
  constructor(message: string) {
    super(message, 409, 'approval_already_decided');
  }
}

export class ApproverNotAuthorisedError extends ApprovalDecisionError {
  constructor(message: string) {
    super(message, 403, 'approver_not_authorised');
  }
}

// ------------------------------------------------------------------ records

export const APPROVAL_ID_PATTERN = /^apr-[0-9a-f]{20}$/;
export const approvalIdSchema = z.string().regex(APPROVAL_ID_PATTERN, 'must look like apr- followed by 20 hex digits');

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';
export type Decision = 'approved' | 'rejected';

export interface Decider {
  /** Slack user id, or the caller's AWS ARN for the CLI. */
  id: string;
  name: string;
  via: 'slack' | 'cli';
}

/** One row of the approvals table. `token` never leaves the table and the decide path. */
export interface ApprovalRecord {
  id: string;
  token: string;
  execution: string;
  workflow: string;
  action: string;
  /** The action in people's words, e.g. "force a new deployment of acme-axon". */
  what: string;
  severity: string;
  service: string;
  cluster: string;
  tier: Tier;
  requestedAt: string;
  expiresAt: string;
  /** Epoch ms of expiresAt: what the conditional write compares. */
  expiresAtMs: number;
  status: ApprovalStatus;
  channel?: string;
  messageTs?: string;
  slackError?: string;
  decidedBy?: Decider;
  decidedAt?: string;
  reason?: string;
  /** Identity of the click (user + action_ts) that decided: a redelivery of it is idempotent. */
  clickId?: string;
  decisionId?: string;
  /** DynamoDB TTL, epoch seconds. */
  ttl: number;
}

/** What may be shown to people and logs: everything but the token. */
export type ApprovalView = Omit<ApprovalRecord, 'token'>;

export function viewOf(record: ApprovalRecord): ApprovalView {
  const { token: _token, ...view } = record;
  return view;
}

/**
 * Deterministic per execution, action and tier: a retried request-approval refreshes the same
 * approval instead of posting twice, and the next tier can close the previous one.
 */
export function approvalIdFor(execution: string, action: string, tier: Tier): string {
  return `apr-${createHash('sha256').update(`${execution}|${action}|${tier}`).digest('hex').slice(0, 20)}`;
}

const RETENTION_SECONDS = 30 * 24 * 3600;

export interface ApprovalStoreDeps {
  dynamo: DynamoDBDocumentClient;
  table: string;
}

export async function getApproval(deps: ApprovalStoreDeps, id: string): Promise<ApprovalRecord | undefined> {
  const out = await deps.dynamo.send(new GetCommand({ TableName: deps.table, Key: { id }, ConsistentRead: true }));
  return out.Item as ApprovalRecord | undefined;
}

export type NewApproval = Omit<ApprovalRecord, 'status' | 'ttl' | 'expiresAtMs'>;

/**
 * Stores a pending approval. A retry of the same request (same id, still pending) only refreshes
 * the token and times and keeps the Slack message; a decided approval is never reopened.
 */
export async function putPendingApproval(deps: ApprovalStoreDeps, approval: NewApproval): Promise<{ record: ApprovalRecord; existing?: ApprovalRecord }> {
  const existing = await getApproval(deps, approval.id);
  if (existing && existing.status !== 'pending') {
    throw new ApprovalAlreadyDecidedError(`approval ${approval.id} is already ${existing.status}; it cannot be requested again`);
  }
  const expiresAtMs = Date.parse(approval.expiresAt);
  const record: ApprovalRecord = {
    ...approval,
    ...(existing?.messageTs ? { channel: existing.channel, messageTs: existing.messageTs } : {}),
    expiresAtMs,
    status: 'pending',
    ttl: Math.floor(expiresAtMs / 1000) + RETENTION_SECONDS,
  };
  await deps.dynamo.send(
    new PutCommand({
      TableName: deps.table,
      Item: record,
      ConditionExpression: 'attribute_not_exists(id) OR #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'pending' },
    }),
  );
  return { record, ...(existing ? { existing } : {}) };
}

export async function recordSlackMessage(deps: ApprovalStoreDeps, id: string, message: { channel: string; ts: string } | { error: string }): Promise<void> {
  const set = 'channel' in message ? { channel: message.channel, messageTs: message.ts } : { slackError: message.error };
  const names = Object.keys(set);
  await deps.dynamo.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: { id },
      UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
      ExpressionAttributeValues: Object.fromEntries(Object.entries(set).map(([k, v]) => [`:${k}`, v])),
    }),
  );
}

/** Marks a still-pending approval expired (its tier did not answer); false if it was not pending. */
export async function markExpired(deps: ApprovalStoreDeps, id: string): Promise<ApprovalRecord | undefined> {
  try {
    const out = await deps.dynamo.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { id },
        UpdateExpression: 'SET #status = :expired',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':expired': 'expired', ':pending': 'pending' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes as ApprovalRecord;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw err;
  }
}

/** Every approval of one execution, oldest first (drills, tests, the CLI). */
export async function listApprovals(deps: ApprovalStoreDeps, execution: string): Promise<ApprovalView[]> {
  const items: ApprovalRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await deps.dynamo.send(
      new ScanCommand({
        TableName: deps.table,
        FilterExpression: '#execution = :execution',
        ExpressionAttributeNames: { '#execution': 'execution' },
        ExpressionAttributeValues: { ':execution': execution },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...((page.Items ?? []) as ApprovalRecord[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier)).map(viewOf);
}

/**
 * Replay guard: remembers a signed request (by a digest of its timestamp and signature) until it
 * could no longer pass the freshness check. Returns false when it was seen before.
 */
export async function rememberRequest(deps: ApprovalStoreDeps, digest: string, expiresAtSeconds: number): Promise<boolean> {
  return writeIf(
    deps.dynamo.send(
      new PutCommand({
        TableName: deps.table,
        Item: { id: `seen-${digest}`, ttl: expiresAtSeconds },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    ),
  );
}

// ------------------------------------------------------------------ deciding

export interface DecideDeps extends ApprovalStoreDeps {
  sfn: SFNClient;
  clock: Clock;
}

export interface DecisionRequest {
  approvalId: string;
  decision: Decision;
  by: Decider;
  reason?: string;
  /** Identity of the Slack click; a redelivery of the same click is answered idempotently. */
  clickId?: string;
}

export type DecisionResult =
  | { kind: 'decided'; approval: ApprovalView }
  /** The same click delivered again: nothing sent, the recorded decision returned. */
  | { kind: 'duplicate'; approval: ApprovalView };

/** What the waiting task receives on approval (under the workflow's result path). */
export interface ApprovalOutput {
  decision: 'approved';
  approvalId: string;
  tier: Tier;
  by: Decider;
  at: string;
  reason?: string;
}

/** Where the task token is gone: the task timed out or the execution ended. */
const TOKEN_GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * The one path every decision takes, from Slack or the CLI: load → authorise → check state and
 * expiry → conditional write (exactly once) → SendTaskSuccess/Failure. If the task is gone the
 * approval is marked expired; if sending fails otherwise the decision is rolled back so a retry
 * can decide again.
 */
export async function decideApproval(
  request: DecisionRequest,
  deps: DecideDeps,
  authorise: (approval: ApprovalView) => Promise<void> | void = () => undefined,
): Promise<DecisionResult> {
  const record = await getApproval(deps, request.approvalId);
  if (!record || !APPROVAL_ID_PATTERN.test(record.id)) throw new ApprovalNotFoundError(request.approvalId);
  await authorise(viewOf(record));
  const settled = settledAnswer(record, request, deps.clock);
  if (settled) return settled;

  const now = deps.clock.now();
  const decisionId = randomUUID();
  const decidedAt = now.toISOString();
  const fields: Record<string, unknown> = {
    status: request.decision,
    decidedBy: request.by,
    decidedAt,
    decisionId,
    ...(request.reason ? { reason: request.reason } : {}),
    ...(request.clickId ? { clickId: request.clickId } : {}),
  };
  const won = await writeIf(
    deps.dynamo.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { id: record.id },
        UpdateExpression: `SET ${Object.keys(fields).map((k) => `#${k} = :${k}`).join(', ')}`,
        ConditionExpression: '#status = :pending AND expiresAtMs > :now',
        ExpressionAttributeNames: Object.fromEntries(Object.keys(fields).map((k) => [`#${k}`, k])),
        ExpressionAttributeValues: { ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [`:${k}`, v])), ':pending': 'pending', ':now': now.getTime() },
      }),
    ),
  );
  if (!won) {
    // Someone (or this very click, delivered twice) got there first, or it just expired.
    const latest = (await getApproval(deps, record.id)) ?? record;
    const answer = settledAnswer(latest, request, deps.clock);
    if (answer) return answer;
    throw new ApprovalAlreadyDecidedError(`approval ${record.id} changed while deciding; look again`);
  }

  const decided: ApprovalRecord = { ...record, ...(fields as Partial<ApprovalRecord>) };
  try {
    if (request.decision === 'approved') {
      const output: ApprovalOutput = { decision: 'approved', approvalId: record.id, tier: record.tier, by: request.by, at: decidedAt, ...(request.reason ? { reason: request.reason } : {}) };
      await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: record.token, output: JSON.stringify(output) }));
    } else {
      const reason = request.reason ? `: ${request.reason.slice(0, 500)}` : '';
      await deps.sfn.send(
        new SendTaskFailureCommand({
          taskToken: record.token,
          error: APPROVAL_REJECTED,
          cause: `${TIER_LABEL[record.tier]} approval rejected by ${request.by.name} (${request.by.via}) at ${decidedAt}${reason}`,
        }),
      );
    }
  } catch (err) {
    const name = (err as Error).name;
    if (TOKEN_GONE.has(name)) {
      await setStatusIfDecision(deps, record.id, decisionId, 'expired');
      throw new ApprovalExpiredError(`approval ${record.id} came too late: the workflow stopped waiting for the ${TIER_LABEL[record.tier]} (${name}); nothing was decided`);
    }
    await setStatusIfDecision(deps, record.id, decisionId, 'pending');
    throw err;
  }
  return { kind: 'decided', approval: viewOf(decided) };
}

/** The answer for an approval that is no longer open, or undefined when it may be decided now. */
function settledAnswer(record: ApprovalRecord, request: DecisionRequest, clock: Clock): DecisionResult | undefined {
  if (record.status === 'approved' || record.status === 'rejected') {
    const sameClick =
      request.clickId !== undefined && record.clickId === request.clickId && record.decidedBy?.id === request.by.id && record.status === request.decision;
    if (sameClick) return { kind: 'duplicate', approval: viewOf(record) };
    throw new ApprovalAlreadyDecidedError(
      `approval ${record.id} was already ${record.status} by ${record.decidedBy?.name ?? 'someone'} (${record.decidedBy?.via ?? '?'}) at ${record.decidedAt ?? '?'}; nothing changed`,
    );
  }
  if (record.status === 'expired' || record.expiresAtMs <= clock.now().getTime()) {
    throw new ApprovalExpiredError(
      `approval ${record.id} expired at ${record.expiresAt}: the ${TIER_LABEL[record.tier]} did not answer in time and the workflow moved on; nothing changed`,
    );
  }
  return undefined;
}

async function setStatusIfDecision(deps: ApprovalStoreDeps, id: string, decisionId: string, status: 'pending' | 'expired'): Promise<void> {
  const reopen = status === 'pending';
  await writeIf(
    deps.dynamo.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { id },
        UpdateExpression: reopen ? 'SET #status = :status REMOVE decidedBy, decidedAt, decisionId, clickId, reason' : 'SET #status = :status',
        ConditionExpression: 'decisionId = :decisionId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':decisionId': decisionId },
      }),
    ),
  );
}

// ------------------------------------------------------------------ who may approve

/** Slack user ids (U…/W…) or user group ids (S…) per tier. */
export type Approvers = Record<Tier, string[]>;

export const approversSchema = z
  .object({
    'on-call': z.array(z.string().regex(/^[UWS][A-Z0-9]{2,20}$/, 'Slack user (U…/W…) or user group (S…) ids')).default([]),
    'team-lead': z.array(z.string().regex(/^[UWS][A-Z0-9]{2,20}$/, 'Slack user (U…/W…) or user group (S…) ids')).default([]),
    vp: z.array(z.string().regex(/^[UWS][A-Z0-9]{2,20}$/, 'Slack user (U…/W…) or user group (S…) ids')).default([]),
  })
  .strict();

/** Who may decide an approval of `tier`: that tier's approvers and every more senior tier's. */
export function approversFor(approvers: Approvers, tier: Tier): string[] {
  return TIERS.slice(TIERS.indexOf(tier)).flatMap((t) => approvers[t]);
}

/**
 * True when the Slack user is listed for the tier (or a more senior one), directly or through a
 * user group. Group membership is asked only when no direct entry matches.
 */
export async function mayApprove(approvers: Approvers, tier: Tier, userId: string, groupMembers: (group: string) => Promise<string[]>): Promise<boolean> {
  const allowed = approversFor(approvers, tier);
  if (allowed.includes(userId)) return true;
  for (const group of allowed.filter((a) => a.startsWith('S'))) {
    if ((await groupMembers(group)).includes(userId)) return true;
  }
  return false;
}

// ------------------------------------------------------------------ configuration

export interface ApprovalsConfig {
  table: string;
  /** Slack channel id or name the approval requests go to. */
  channel: string;
  approvers: Approvers;
  /** Slack Web API base URL; the sandbox points it at its fake. */
  slackApiUrl: string;
  /** response_url values from Slack must start with one of these (no requests to arbitrary hosts). */
  responseUrlPrefixes: string[];
}

const envSchema = z.object({
  APPROVALS_TABLE: z.string().min(1).default('incident-flows-approvals'),
  SLACK_CHANNEL: z.string().min(1).default('#incidents'),
  SLACK_APPROVERS: z.string().default('{}'),
  SLACK_API_URL: z.url().default('https://slack.com/api/'),
  SLACK_RESPONSE_URL_PREFIXES: z.string().default('https://hooks.slack.com/'),
});

export function approvalsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApprovalsConfig {
  const e = envSchema.parse(env);
  let raw: unknown;
  try {
    raw = JSON.parse(e.SLACK_APPROVERS);
  } catch {
    throw new IncidentFlowsError('SLACK_APPROVERS must be JSON like {"on-call": ["U012ABC"], "team-lead": ["S0LEADS"], "vp": ["U0VP"]}');
  }
  return {
    table: e.APPROVALS_TABLE,
    channel: e.SLACK_CHANNEL,
    approvers: approversSchema.parse(raw),
    slackApiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
    responseUrlPrefixes: e.SLACK_RESPONSE_URL_PREFIXES.split(',').map((s) => s.trim()).filter(Boolean),
  };
}
