import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  ApprovalDecisionError,
  ApproverNotAuthorisedError,
  approvalsConfigFromEnv,
  decideApproval,
  mayApprove,
  rememberRequest,
  TIER_LABEL,
  type ApprovalsConfig,
  type ApprovalView,
} from '#commons/approvals';
import { documentClient, getSecretString, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger, type Logger } from '#commons/logger';
import { cachedGroupMembers, fetchSlackApi, loadSlackSecrets, onceAsync, type SlackApi, type SlackSecrets } from '#commons/slack';
import { decidedMessage } from '#commons/slack-messages';
import {
  MAX_BODY_BYTES,
  MAX_SKEW_SECONDS,
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
 * then decides exactly once (docs/approvals.md). Every refusal is a 4xx with a message saying
 * what was wrong, and nothing is decided or sent.
 */

export interface HttpRequest {
  method: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
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
  groupMembers?: (group: string) => Promise<string[]>;
  log: Logger;
}

export async function handleSlackInteraction(request: HttpRequest, deps: SlackInteractionsDeps): Promise<HttpResponse> {
  let payload: BlockActions | undefined;
  try {
    payload = await authenticate(request, deps);
    return await decide(payload, request, deps);
  } catch (err) {
    if (err instanceof SlackRequestError || err instanceof ApprovalDecisionError) {
      deps.log.warn('Slack interaction refused', {
        status: err.status,
        code: err.code,
        ...(payload ? { user: payload.user.id, approvalId: payload.actions[0]?.value } : {}),
      });
      // Only a request proven to come from Slack earns an answer in Slack itself.
      if (payload && err instanceof ApprovalDecisionError) await tellClicker(payload, err.message, deps);
      return answer(err.status, err.code, err.message);
    }
    deps.log.error('Slack interaction failed', { error: (err as Error).name, message: (err as Error).message });
    return answer(500, 'internal_error', 'the approval could not be recorded; nothing was decided — try again or use the CLI fallback');
  }
}

/** Everything before the payload may be trusted: a request that fails here changes nothing and calls nobody. */
async function authenticate(request: HttpRequest, deps: SlackInteractionsDeps): Promise<BlockActions> {
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

async function decide(payload: BlockActions, request: HttpRequest, deps: SlackInteractionsDeps): Promise<HttpResponse> {
  const action = payload.actions[0]!;
  const user = payload.user;
  const groupMembers = deps.groupMembers ?? (async (group: string) => (await deps.slack()).groupMembers(group));
  const result = await decideApproval(
    {
      approvalId: action.value,
      decision: action.action_id === 'approve' ? 'approved' : 'rejected',
      by: { id: user.id, name: user.username ?? user.name ?? user.id, via: 'slack' },
      ...(action.action_id === 'reject' ? { reason: 'rejected in Slack' } : {}),
      clickId: `${user.id}:${action.action_ts}`,
    },
    { dynamo: deps.dynamo, sfn: deps.sfn, clock: deps.clock, table: deps.config.table },
    async (approval) => {
      if (!(await mayApprove(deps.config.approvers, approval.tier, user.id, groupMembers))) {
        throw new ApproverNotAuthorisedError(
          `<@${user.id}> may not decide ${approval.severity} ${approval.action} approvals at the ${TIER_LABEL[approval.tier]} tier; nothing changed`,
        );
      }
    },
  );
  if (result.kind === 'duplicate') {
    deps.log.info('Slack redelivered a click already recorded', { approvalId: action.value, retry: request.headers['x-slack-retry-num'] ?? '0' });
    return answer(200, 'already_recorded', `already recorded: ${result.approval.status} by ${result.approval.decidedBy?.name ?? '?'}`);
  }
  deps.log.info('approval decided', { approvalId: action.value, decision: result.approval.status, by: user.id, tier: result.approval.tier });
  await showDecision(result.approval, deps);
  return answer(200, result.approval.status, `${result.approval.status}: recorded and sent to the workflow`);
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

async function tellClicker(payload: BlockActions, text: string, deps: SlackInteractionsDeps): Promise<void> {
  const url = payload.response_url;
  if (!url || !deps.config.responseUrlPrefixes.some((prefix) => url.startsWith(prefix))) return;
  try {
    await (await deps.slack()).respond(url, { response_type: 'ephemeral', replace_original: false, text });
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

export function requestFromHttpApi(event: HttpApiEvent): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
  const raw = event.body ?? '';
  return { method: event.requestContext?.http?.method ?? 'POST', headers, body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8') };
}

const log = once(() => createLogger('slack-interactions'));
const defaults = once((): SlackInteractionsDeps => {
  const config = approvalsConfigFromEnv();
  const secrets = onceAsync(() => loadSlackSecrets(process.env, (idOrArn) => getSecretString(idOrArn)));
  const slack = onceAsync(async () => fetchSlackApi({ token: (await secrets()).botToken, apiUrl: config.slackApiUrl }));
  const groupMembers = cachedGroupMembers({ groupMembers: async (group) => (await slack()).groupMembers(group) }, () => Date.now());
  return { dynamo: documentClient(), sfn: sfnClient(), clock: systemClock, config, secrets, slack, groupMembers, log: log() };
});

// Fetch the secrets while the container initialises, not on the first click's clock.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) void defaults().secrets().catch(() => undefined);

export const handler = (event: HttpApiEvent): Promise<HttpResponse> => handleSlackInteraction(requestFromHttpApi(event), defaults());
