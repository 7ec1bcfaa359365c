import type { SFNClient } from '@aws-sdk/client-sfn';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  APPROVAL_ID_PATTERN,
  ApprovalAlreadyDecidedError,
  ApprovalDecisionError,
  ApproverNotAuthorisedError,
  approvalsConfigFromEnv,
  claimDecision,
  deliverDecision,
  mayApprove,
  rememberRequest,
  TIER_LABEL,
  tooLateMessage,
  type ApprovalsConfig,
  type ApprovalView,
} from '#commons/approvals';
import { documentClient, getSecretString, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { writeIf } from '#commons/dynamo';
import { createLogger, type Logger } from '#commons/logger';
import { cachedGroupMembers, escapeSlackText, fetchSlackApi, loadSlackSecrets, onceAsync, type CallOptions, type SlackApi, type SlackSecrets } from '#commons/slack';
import { decidedMessage, lateDecisionMessage } from '#commons/slack-messages';
import {
  MAX_BODY_BYTES,
  MAX_SKEW_SECONDS,
  MalformedPayloadError,
  parseInteraction,
  PayloadTooLargeError,
  ReplayedRequestError,
  requestDigest,
  SlackRequestError,
  UnsupportedContentTypeError,
  UnsupportedMethodError,
  verifySlackSignature,
  type BlockActions,
} from '#commons/slack-request';

/**
 * The Slack callback: a person clicked Approve or Reject. Behind an API Gateway HTTP API route.
 * Checks, cheapest first: method, content type, size, freshness, signature (constant time),
 * replay, payload shape; then the approval: exists, the clicker may approve its tier, still open;
 * then records the decision exactly once and acknowledges — inside Slack's 3 seconds, whatever
 * Step Functions or Slack are doing. Telling the workflow (SendTask*) and replacing the message
 * (chat.update) come after, from the approvals table's stream: the recorded decision is the
 * hand-off, so it cannot be lost between the two (docs/approvals.md). Every refusal is a 4xx with
 * a message saying what was wrong, and nothing is decided or sent.
 */

export interface HttpRequest {
  method: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** Set when the event could not be read as an HTTP request at all: refused 400 before any other check. */
  malformed?: string;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface SlackInteractionsDeps {
  dynamo: DynamoDBDocumentClient;
  sfn: SFNClient;
  clock: Clock;
  config: ApprovalsConfig;
  secrets: () => Promise<SlackSecrets>;
  slack: () => Promise<SlackApi>;
  /** User-group membership (cached); defaults to asking Slack each time. */
  groupMembers?: (group: string, options?: CallOptions) => Promise<string[]>;
  log: Logger;
  /**
   * Called once a decision is recorded (or pushed again), after which it must reach the workflow.
   * On AWS nothing is needed: the approvals table's stream carries every recorded decision to
   * `deliverRecordedDecisions` (this same function). The sandbox has no streams and passes its
   * stand-in (sandbox/slack.ts).
   */
  handOff?: (approvalId: string) => void;
}

/** Slack waits 3 s for the acknowledgement; Slack calls made before it share what is left of this. */
export const ACK_BUDGET_MS = 2000;
/** A Slack call made before the acknowledgement never takes longer than this. */
const ACK_SLACK_CALL_MS = 1000;
/** A decision recorded this long ago and still not delivered is pushed again by the next click on it. */
export const STUCK_DELIVERY_MS = 30_000;

export async function handleSlackInteraction(request: HttpRequest, deps: SlackInteractionsDeps): Promise<HttpResponse> {
  const startedMs = Date.now();
  // Real time, not the (possibly simulated) clock: this is about Slack's patience.
  const slackCall = (): CallOptions => ({ timeoutMs: Math.max(0, Math.min(ACK_SLACK_CALL_MS, startedMs + ACK_BUDGET_MS - Date.now())) });
  let payload: BlockActions | undefined;
  try {
    payload = await authenticate(request, deps);
    return await recordDecision(payload, request, deps, slackCall);
  } catch (err) {
    if (err instanceof SlackRequestError || err instanceof ApprovalDecisionError) {
      deps.log.warn('Slack interaction refused', {
        status: err.status,
        code: err.code,
        ...(payload ? { user: payload.user.id, approvalId: payload.actions[0]?.value } : {}),
      });
      // Only a request proven to come from Slack earns an answer in Slack itself.
      if (payload && err instanceof ApprovalDecisionError) await tellClicker(payload.response_url, err.message, deps, slackCall());
      if (err instanceof ApprovalAlreadyDecidedError && err.approval) await pushIfStuck(err.approval, deps);
      return answer(err.status, err.code, err.message);
    }
    deps.log.error('Slack interaction failed', { error: (err as Error).name, message: (err as Error).message });
    return answer(500, 'internal_error', 'the approval could not be recorded; nothing was decided — try again or use the CLI fallback');
  }
}

/** Everything before the payload may be trusted: a request that fails here changes nothing and calls nobody. */
async function authenticate(request: HttpRequest, deps: SlackInteractionsDeps): Promise<BlockActions> {
  if (request.malformed) throw new MalformedPayloadError(request.malformed);
  if (request.method !== 'POST') throw new UnsupportedMethodError(request.method);
  const contentType = request.headers['content-type'];
  if (contentType?.split(';')[0]?.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw new UnsupportedContentTypeError(contentType);
  }
  if (request.body.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(request.body.length);
  const { signingSecret } = await deps.secrets();
  const timestamp = request.headers['x-slack-request-timestamp'];
  const signature = request.headers['x-slack-signature'];
  const seconds = verifySlackSignature({ timestamp, signature, rawBody: request.body }, signingSecret.reveal(), deps.clock.now().getTime());
  const payload = parseInteraction(request.body);
  // A signed request is accepted once. Slack's own redeliveries say so (X-Slack-Retry-Num) and go
  // on to the decision, which is idempotent for the same click.
  const first = await rememberRequest({ dynamo: deps.dynamo, table: deps.config.table }, requestDigest(timestamp!, signature!), seconds + 2 * MAX_SKEW_SECONDS);
  if (!first && !request.headers['x-slack-retry-num']) throw new ReplayedRequestError();
  return payload;
}

/** Authorise and record the decision (one conditional write), hand it off, acknowledge. Nothing here waits on Step Functions. */
async function recordDecision(payload: BlockActions, request: HttpRequest, deps: SlackInteractionsDeps, slackCall: () => CallOptions): Promise<HttpResponse> {
  const action = payload.actions[0]!;
  const user = payload.user;
  const groupMembers = deps.groupMembers ?? (async (group: string, options?: CallOptions) => (await deps.slack()).groupMembers(group, options));
  const responseUrl = allowedResponseUrl(payload.response_url, deps.config);
  const result = await claimDecision(
    {
      approvalId: action.value,
      decision: action.action_id === 'approve' ? 'approved' : 'rejected',
      by: { id: user.id, name: user.username ?? user.name ?? user.id, via: 'slack' },
      ...(action.action_id === 'reject' ? { reason: 'rejected in Slack' } : {}),
      clickId: `${user.id}:${action.action_ts}`,
      ...(responseUrl ? { responseUrl } : {}),
    },
    { dynamo: deps.dynamo, sfn: deps.sfn, clock: deps.clock, table: deps.config.table },
    async (approval) => {
      if (!(await mayApprove(deps.config.approvers, approval.tier, user.id, (group) => groupMembers(group, slackCall())))) {
        throw new ApproverNotAuthorisedError(
          `Slack user ${user.id} may not decide ${approval.severity} ${approval.action} approvals at the ${TIER_LABEL[approval.tier]} tier; nothing changed`,
        );
      }
    },
  );
  if (result.kind === 'duplicate') {
    deps.log.info('Slack redelivered a click already recorded', { approvalId: action.value, retry: request.headers['x-slack-retry-num'] ?? '0' });
    await pushIfStuck(result.approval, deps);
    return answer(200, 'already_recorded', `already recorded: ${result.approval.status} by ${result.approval.decidedBy?.name ?? '?'}`);
  }
  deps.log.info('approval decided', { approvalId: action.value, decision: result.approval.status, by: user.id, tier: result.approval.tier });
  deps.handOff?.(result.approval.id);
  return answer(200, result.approval.status, `${result.approval.status}: recorded; the workflow is being told and this message will show it`);
}

/**
 * A recorded decision still undelivered well after it was recorded (the stream's retries ran out,
 * say) is pushed again by the next click on the approval — Slack's own retry of the click, or
 * anyone clicking after it: touching the row puts it on the table's stream once more.
 */
async function pushIfStuck(approval: ApprovalView, deps: SlackInteractionsDeps): Promise<void> {
  if (approval.deliveredAt || !approval.decidedAt || !approval.decisionId) return;
  const now = deps.clock.now();
  if (now.getTime() - Date.parse(approval.decidedAt) < STUCK_DELIVERY_MS) return;
  try {
    const touched = await writeIf(
      deps.dynamo.send(
        new UpdateCommand({
          TableName: deps.config.table,
          Key: { id: approval.id },
          UpdateExpression: 'SET deliveryPushedAt = :now',
          ConditionExpression: 'decisionId = :decisionId AND attribute_not_exists(deliveredAt)',
          ExpressionAttributeValues: { ':now': now.toISOString(), ':decisionId': approval.decisionId },
        }),
      ),
    );
    if (!touched) return;
    deps.log.warn('a recorded decision was still undelivered: pushed again', { approvalId: approval.id, decidedAt: approval.decidedAt });
    deps.handOff?.(approval.id);
  } catch (err) {
    deps.log.warn('could not push an undelivered decision again', { approvalId: approval.id, error: (err as Error).name });
  }
}

// ------------------------------------------------------------------ delivery (DynamoDB stream of the approvals table)

/** The parts of a DynamoDB Streams record the delivery reads: the approval id. */
export interface ApprovalStreamRecord {
  eventSource?: string;
  eventName?: string;
  dynamodb?: { Keys?: { id?: { S?: string } }; SequenceNumber?: string };
}

export interface ApprovalStreamEvent {
  Records: ApprovalStreamRecord[];
}

/** Lambda's partial batch response: the records to hand back for another attempt. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export function isApprovalStreamEvent(event: unknown): event is ApprovalStreamEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.every((r) => (r as ApprovalStreamRecord | null)?.eventSource === 'aws:dynamodb');
}

/**
 * Delivers recorded decisions: invoked by the approvals table's stream (filtered to decided,
 * undelivered rows) — on AWS with retries, a partial batch response and a dead-letter queue.
 * Delivering twice is safe; a decision that cannot be delivered yet is handed back for a retry.
 */
export async function deliverRecordedDecisions(event: ApprovalStreamEvent, deps: SlackInteractionsDeps): Promise<BatchResponse> {
  const failures: BatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const id = record.dynamodb?.Keys?.id?.S;
    if (!id || !APPROVAL_ID_PATTERN.test(id)) continue; // replay-guard rows and anything else on the table
    try {
      await deliverAndShow(id, deps);
    } catch (err) {
      deps.log.warn('decision not delivered yet: retried', { approvalId: id, error: (err as Error).name, message: (err as Error).message });
      failures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? id });
    }
  }
  return { batchItemFailures: failures };
}

/** Tell the workflow, then show people what it now knows: the message replaced, the clicker told if it came too late. */
async function deliverAndShow(approvalId: string, deps: SlackInteractionsDeps): Promise<void> {
  const result = await deliverDecision(approvalId, { dynamo: deps.dynamo, sfn: deps.sfn, clock: deps.clock, table: deps.config.table });
  if (result.kind === 'delivered') {
    if (!result.already) deps.log.info('decision delivered to the workflow', { approvalId, decision: result.approval.status });
    await showDecision(result.approval, deps);
  } else if (result.kind === 'too-late') {
    deps.log.warn('decision came too late: the workflow had stopped waiting', { approvalId, cause: result.cause });
    await showLate(result.approval, deps);
    await tellClicker(result.approval.responseUrl, tooLateMessage(result.approval, result.cause), deps);
  }
}

/** Replaces the request in Slack with who decided and when. Cosmetic: a failure is logged, never fatal. */
async function showDecision(approval: ApprovalView, deps: SlackInteractionsDeps): Promise<void> {
  if (!approval.channel || !approval.messageTs) return;
  try {
    const slack = await deps.slack();
    await slack.update({ ...decidedMessage(approval.channel, approval, approval.what), ts: approval.messageTs });
  } catch (err) {
    deps.log.warn('could not update the Slack message', { approvalId: approval.id, error: (err as Error).message });
  }
}

/** Replaces the request: its decision came too late, nothing was decided, no buttons left. */
async function showLate(approval: ApprovalView, deps: SlackInteractionsDeps): Promise<void> {
  if (!approval.channel || !approval.messageTs) return;
  try {
    await (await deps.slack()).update({ ...lateDecisionMessage(approval.channel, approval), ts: approval.messageTs });
  } catch (err) {
    deps.log.warn('could not update the Slack message', { approvalId: approval.id, error: (err as Error).message });
  }
}

function allowedResponseUrl(url: string | undefined, config: ApprovalsConfig): string | undefined {
  return url && config.responseUrlPrefixes.some((prefix) => url.startsWith(prefix)) ? url : undefined;
}

/** Ephemeral: only the clicker sees it. The text is ours but quotes names people chose, so it is escaped. */
async function tellClicker(responseUrl: string | undefined, text: string, deps: SlackInteractionsDeps, options?: CallOptions): Promise<void> {
  const url = allowedResponseUrl(responseUrl, deps.config);
  if (!url || options?.timeoutMs === 0) return;
  try {
    await (await deps.slack()).respond(url, { response_type: 'ephemeral', replace_original: false, text: escapeSlackText(text) }, options);
  } catch (err) {
    deps.log.warn('could not answer the clicker in Slack', { error: (err as Error).message });
  }
}

/** Every answer is JSON shaped like a Slack ephemeral message, so it reads well wherever it lands. */
function answer(status: number, code: string, text: string): HttpResponse {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({ ok: status < 300, code, response_type: 'ephemeral', replace_original: false, text }),
  };
}

// ------------------------------------------------------------------ API Gateway HTTP API (payload v2.0)

export interface HttpApiEvent {
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string } };
}

/**
 * The request API Gateway hands over. The function can be invoked with anything (a person with
 * lambda:InvokeFunction, a misrouted rule): an event that is not an HTTP API request never throws
 * here — it comes back marked `malformed`, and handleSlackInteraction answers 400 saying why.
 */
export function requestFromHttpApi(event: unknown): HttpRequest {
  const refuse = (why: string): HttpRequest => ({ method: 'POST', headers: {}, body: Buffer.alloc(0), malformed: `the event is not an API Gateway HTTP API request: ${why}` });
  if (!isObject(event)) return refuse(`it is ${kindOf(event)}, not an object`);
  const e = event as Record<string, unknown>;
  if (e.headers !== undefined && e.headers !== null && !isObject(e.headers)) return refuse(`"headers" is ${kindOf(e.headers)}, not an object`);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((e.headers ?? {}) as Record<string, unknown>)) {
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return refuse(`header "${k.slice(0, 40)}" is ${kindOf(v)}, not a string`);
    headers[k.toLowerCase()] = v;
  }
  if (e.body !== undefined && e.body !== null && typeof e.body !== 'string') return refuse(`"body" is ${kindOf(e.body)}, not a string`);
  const method = (e.requestContext as HttpApiEvent['requestContext'] | null | undefined)?.http?.method ?? 'POST';
  if (typeof method !== 'string' || !/^[A-Za-z]{1,16}$/.test(method)) return refuse('"requestContext.http.method" is not an HTTP method');
  return { method, headers, body: Buffer.from(e.body ?? '', e.isBase64Encoded === true ? 'base64' : 'utf8') };
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a value is, for a refusal: never the value itself (it may be huge, or anything). */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const log = once(() => createLogger('slack-interactions'));
const defaults = once((): SlackInteractionsDeps => {
  const config = approvalsConfigFromEnv();
  const secrets = onceAsync(() => loadSlackSecrets(process.env, (idOrArn) => getSecretString(idOrArn)));
  const slack = onceAsync(async () => fetchSlackApi({ token: (await secrets()).botToken, apiUrl: config.slackApiUrl }));
  const groupMembers = cachedGroupMembers({ groupMembers: async (group, options) => (await slack()).groupMembers(group, options) }, () => Date.now());
  return { dynamo: documentClient(), sfn: sfnClient(), clock: systemClock, config, secrets, slack, groupMembers, log: log() };
});

// Fetch the secrets while the container initialises, not on the first click's clock.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) void defaults().secrets().catch(() => undefined);

/** One function, two doors: API Gateway (a click, acknowledged within Slack's 3 s) and the approvals table's stream (delivery). */
export function handler(event: ApprovalStreamEvent): Promise<BatchResponse>;
export function handler(event: HttpApiEvent): Promise<HttpResponse>;
export function handler(event: HttpApiEvent | ApprovalStreamEvent): Promise<HttpResponse | BatchResponse> {
  return isApprovalStreamEvent(event) ? deliverRecordedDecisions(event, defaults()) : handleSlackInteraction(requestFromHttpApi(event as HttpApiEvent), defaults());
}
