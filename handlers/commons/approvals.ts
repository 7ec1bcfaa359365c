import { createHash, randomUUID } from 'node:crypto';
import { GetExecutionHistoryCommand, SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Clock } from './clock.ts';
import { IncidentFlowsError } from './errors.ts';
import { writeIf } from './dynamo.ts';

/**
 * Approvals: a person decides a risky step exactly once. The task token of the waiting Step
 * Functions task is stored here, server-side, under an approval id; Slack buttons and the CLI only
 * ever carry the id. Deciding is one conditional write (pending → approved/rejected, before the
 * expiry) — the decision is then recorded for good — and delivering it is SendTaskSuccess/
 * SendTaskFailure with the stored token, checked against the execution's history whenever the
 * answer leaves any doubt.
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
  constructor(
    message: string,
    /** The approval as found decided (no token): lets a caller push a decision that is stuck. */
    readonly approval?: ApprovalView,
  ) {
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
  /** When Step Functions had the decision (accepted, or found in the execution's history). */
  deliveredAt?: string;
  /** The clicker's response_url (Slack keeps it valid 30 min), for what the delivery has to tell them. */
  responseUrl?: string;
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
  /** Where the clicker can still be told something after the acknowledgement (already checked against the allowed prefixes). */
  responseUrl?: string;
}

/** Recording a decision (step 1 of 2): the conditional write, nothing sent yet. */
export type ClaimResult =
  | { kind: 'claimed'; approval: ApprovalView }
  /** The same click (or the same CLI decider's same decision) again: nothing new recorded. */
  | { kind: 'duplicate'; approval: ApprovalView };

/** Telling the workflow (step 2 of 2): what Step Functions did with the recorded decision. */
export type DeliveryResult =
  /** Step Functions has the decision: accepted now, or (after an ambiguous failure) its history shows it. */
  | { kind: 'delivered'; approval: ApprovalView; already: boolean }
  /** The task was gone before the decision reached it (timed out, execution ended): recorded expired. */
  | { kind: 'too-late'; approval: ApprovalView; cause: string }
  /** Nothing to deliver: the approval is pending or expired. */
  | { kind: 'not-decided'; approval: ApprovalView };

export type DecisionResult =
  | { kind: 'decided'; approval: ApprovalView }
  /** The same click delivered again: nothing new decided, the recorded decision returned. */
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

/** Step Functions' answers when the token no longer closes a task: it timed out, closed, or the execution ended. */
const TOKEN_GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * A decision is recorded but Step Functions could not be told yet, and it is not known to have
 * applied. The decision stays recorded — it is never rolled back — and delivering it again is
 * safe: Step Functions closes a task once, and a second attempt that finds the token gone checks
 * the execution's history before calling anything expired.
 */
export class DecisionNotDeliveredError extends ApprovalDecisionError {
  constructor(record: Pick<ApprovalRecord, 'id' | 'status'>, detail: string) {
    super(
      `approval ${record.id} is recorded as ${record.status}, but the workflow could not be told yet (${detail}); delivery is retried — or run the same decision again`,
      503,
      'decision_not_delivered',
    );
  }
}

/**
 * The one decide path for callers that wait for the whole decision (the CLI): record it exactly
 * once, then tell the workflow. The Slack callback runs the same two steps apart — it records and
 * acknowledges within Slack's 3 seconds, and the delivery follows (docs/approvals.md).
 */
export async function decideApproval(
  request: DecisionRequest,
  deps: DecideDeps,
  authorise: (approval: ApprovalView) => Promise<void> | void = () => undefined,
): Promise<DecisionResult> {
  const claim = await claimDecision(request, deps, authorise);
  if (claim.kind === 'duplicate' && claim.approval.deliveredAt) return claim;
  const delivery = await deliverDecision(claim.approval.id, deps);
  if (delivery.kind === 'too-late') throw new ApprovalExpiredError(tooLateMessage(delivery.approval, delivery.cause));
  if (delivery.kind === 'not-decided') throw new ApprovalAlreadyDecidedError(`approval ${claim.approval.id} changed while deciding (now ${delivery.approval.status}); look again`);
  return { kind: claim.kind === 'claimed' ? 'decided' : 'duplicate', approval: delivery.approval };
}

/**
 * Records a decision exactly once: load → authorise → check state and expiry → one conditional
 * write (`status = pending AND expiresAtMs > now`). Concurrent clicks race on that write and only
 * the winner is recorded; nothing is sent to Step Functions here.
 */
export async function claimDecision(
  request: DecisionRequest,
  deps: DecideDeps,
  authorise: (approval: ApprovalView) => Promise<void> | void = () => undefined,
): Promise<ClaimResult> {
  const record = await getApproval(deps, request.approvalId);
  if (!record || !APPROVAL_ID_PATTERN.test(record.id)) throw new ApprovalNotFoundError(request.approvalId);
  await authorise(viewOf(record));
  const settled = settledAnswer(record, request, deps.clock);
  if (settled) return settled;

  const now = deps.clock.now();
  const fields: Record<string, unknown> = {
    status: request.decision,
    decidedBy: request.by,
    decidedAt: now.toISOString(),
    decisionId: randomUUID(),
    ...(request.reason ? { reason: request.reason } : {}),
    ...(request.clickId ? { clickId: request.clickId } : {}),
    ...(request.responseUrl ? { responseUrl: request.responseUrl } : {}),
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
  return { kind: 'claimed', approval: viewOf({ ...record, ...(fields as Partial<ApprovalRecord>) }) };
}

/**
 * Tells the waiting task the recorded decision (SendTaskSuccess / SendTaskFailure with the stored
 * token), at most once in effect however often it runs. When the call fails — even after the SDK's
 * retries, even with TaskTimedOut after a 5xx that was in fact applied — the execution's history
 * decides what happened: the decision is there → delivered; the token is gone and the decision is
 * not there → too late (expired); otherwise it stays recorded and DecisionNotDeliveredError asks
 * for another attempt.
 */
export async function deliverDecision(approvalId: string, deps: DecideDeps): Promise<DeliveryResult> {
  const record = await getApproval(deps, approvalId);
  if (!record) throw new ApprovalNotFoundError(approvalId);
  if (record.status !== 'approved' && record.status !== 'rejected') return { kind: 'not-decided', approval: viewOf(record) };
  if (record.deliveredAt) return { kind: 'delivered', approval: viewOf(record), already: true };
  try {
    await sendDecision(deps.sfn, record);
  } catch (err) {
    const name = (err as Error).name;
    let received: boolean;
    try {
      received = await workflowReceived(deps.sfn, record);
    } catch (historyErr) {
      throw new DecisionNotDeliveredError(record, `${name}, and the execution's history could not be read (${(historyErr as Error).name})`);
    }
    if (!received) {
      if (!TOKEN_GONE.has(name)) throw new DecisionNotDeliveredError(record, name);
      return { kind: 'too-late', approval: await recordTooLate(deps, record), cause: name };
    }
  }
  const deliveredAt = deps.clock.now().toISOString();
  await writeIf(
    deps.dynamo.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { id: record.id },
        UpdateExpression: 'SET deliveredAt = :at',
        ConditionExpression: 'decisionId = :decisionId AND attribute_not_exists(deliveredAt)',
        ExpressionAttributeValues: { ':at': deliveredAt, ':decisionId': record.decisionId },
      }),
    ),
  );
  return { kind: 'delivered', approval: viewOf({ ...record, deliveredAt }), already: false };
}

/** What a person is told when their decision reached the workflow after it had stopped waiting. */
export function tooLateMessage(approval: Pick<ApprovalView, 'id' | 'tier'>, cause: string): string {
  return `approval ${approval.id} came too late: the workflow stopped waiting for the ${TIER_LABEL[approval.tier]} (${cause}); nothing was decided`;
}

async function sendDecision(sfn: SFNClient, record: ApprovalRecord): Promise<void> {
  const by = record.decidedBy ?? { id: 'unknown', name: 'unknown', via: 'cli' as const };
  const at = record.decidedAt ?? '?';
  if (record.status === 'approved') {
    const output: ApprovalOutput = { decision: 'approved', approvalId: record.id, tier: record.tier, by, at, ...(record.reason ? { reason: record.reason } : {}) };
    await sfn.send(new SendTaskSuccessCommand({ taskToken: record.token, output: JSON.stringify(output) }));
    return;
  }
  const reason = record.reason ? `: ${record.reason.slice(0, 500)}` : '';
  await sfn.send(
    new SendTaskFailureCommand({
      taskToken: record.token,
      error: APPROVAL_REJECTED,
      // The approval id in brackets lets the history show whose rejection closed the task.
      cause: `${TIER_LABEL[record.tier]} approval rejected by ${by.name} (${by.via}) at ${at}${reason} [${record.id}]`,
    }),
  );
}

/**
 * Did Step Functions take this approval's decision? Its history, newest first, has the task
 * closed with our output (TaskSucceeded carrying the approval id) or our rejection (TaskFailed
 * ApprovalRejected naming it). Events older than the task's own TaskScheduled (the one whose
 * parameters carry this token) cannot close it, so the search stops there.
 */
export async function workflowReceived(sfn: SFNClient, record: Pick<ApprovalRecord, 'id' | 'token' | 'execution'>): Promise<boolean> {
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn: record.execution, reverseOrder: true, maxResults: 1000, nextToken }));
    for (const event of page.events ?? []) {
      if (event.type === 'TaskSucceeded' && outputApprovalId(event.taskSucceededEventDetails?.output) === record.id) return true;
      const failed = event.taskFailedEventDetails;
      if (event.type === 'TaskFailed' && failed?.error === APPROVAL_REJECTED && failed.cause?.endsWith(`[${record.id}]`)) return true;
      if (event.type === 'TaskScheduled' && event.taskScheduledEventDetails?.parameters?.includes(record.token)) return false;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return false;
}

function outputApprovalId(output: string | undefined): string | undefined {
  if (!output) return undefined;
  try {
    const parsed = JSON.parse(output) as { approvalId?: unknown } | null;
    return typeof parsed?.approvalId === 'string' ? parsed.approvalId : undefined;
  } catch {
    return undefined;
  }
}

/** The decision reached a task that was already gone: the approval is expired, the decider kept for the record. */
async function recordTooLate(deps: DecideDeps, record: ApprovalRecord): Promise<ApprovalView> {
  const applied = await writeIf(
    deps.dynamo.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { id: record.id },
        UpdateExpression: 'SET #status = :expired',
        ConditionExpression: 'decisionId = :decisionId AND attribute_not_exists(deliveredAt)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':expired': 'expired', ':decisionId': record.decisionId },
      }),
    ),
  );
  if (applied) return viewOf({ ...record, status: 'expired' });
  return viewOf((await getApproval(deps, record.id)) ?? record);
}

/** The answer for an approval that is no longer open, or undefined when it may be decided now. */
function settledAnswer(record: ApprovalRecord, request: DecisionRequest, clock: Clock): ClaimResult | undefined {
  if (record.status === 'approved' || record.status === 'rejected') {
    const sameDecision = record.decidedBy?.id === request.by.id && record.status === request.decision;
    const sameClick = request.clickId !== undefined && record.clickId === request.clickId;
    // The CLI has no click id: the same person's same decision, not yet delivered, is delivered again.
    const sameCliDecision = request.by.via === 'cli' && record.decidedBy?.via === 'cli' && !record.deliveredAt;
    if (sameDecision && (sameClick || sameCliDecision)) return { kind: 'duplicate', approval: viewOf(record) };
    throw new ApprovalAlreadyDecidedError(
      `approval ${record.id} was already ${record.status} by ${record.decidedBy?.name ?? 'someone'} (${record.decidedBy?.via ?? '?'}) at ${record.decidedAt ?? '?'}; nothing changed`,
      viewOf(record),
    );
  }
  if (record.status === 'expired' || record.expiresAtMs <= clock.now().getTime()) {
    throw new ApprovalExpiredError(
      `approval ${record.id} expired at ${record.expiresAt}: the ${TIER_LABEL[record.tier]} did not answer in time and the workflow moved on; nothing changed`,
    );
  }
  return undefined;
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
