import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { approvalIdSchema } from './approvals.ts';
import { IncidentFlowsError } from './errors.ts';

/**
 * Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}` with the signing secret.
 * Everything here is pure: the caller passes the clock's "now".
 */

/** Slack's own advice: refuse requests more than five minutes from now, either way. */
export const MAX_SKEW_SECONDS = 300;
/** Interaction payloads carry the whole message; a few KB normally. Anything this big is not Slack. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A refused callback request: the HTTP status and a message that says what was wrong. */
export class SlackRequestError extends IncidentFlowsError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export class UnsupportedMethodError extends SlackRequestError {
  constructor(method: string) {
    super(`method ${method} not allowed: Slack interactions are POSTed`, 405, 'method_not_allowed');
  }
}

export class UnsupportedContentTypeError extends SlackRequestError {
  constructor(contentType: string | undefined) {
    super(`content type ${contentType ? `"${contentType.slice(0, 80)}"` : 'missing'}: Slack interactions are application/x-www-form-urlencoded`, 415, 'unsupported_content_type');
  }
}

export class PayloadTooLargeError extends SlackRequestError {
  constructor(bytes: number) {
    super(`request body of ${bytes} bytes is over the ${MAX_BODY_BYTES}-byte limit for Slack interactions`, 413, 'payload_too_large');
  }
}

export class MissingSignatureError extends SlackRequestError {
  constructor(header: string) {
    super(`missing ${header} header: only requests signed by Slack are accepted`, 401, 'missing_signature');
  }
}

export class StaleRequestError extends SlackRequestError {
  constructor(message: string) {
    super(message, 401, 'stale_request');
  }
}

export class InvalidSignatureError extends SlackRequestError {
  constructor() {
    super('X-Slack-Signature does not match the request: only requests signed with the app\'s signing secret are accepted', 401, 'invalid_signature');
  }
}

export class ReplayedRequestError extends SlackRequestError {
  constructor() {
    super('this signed request was already received: replays are refused', 409, 'replayed_request');
  }
}

export class MalformedPayloadError extends SlackRequestError {
  constructor(detail: string) {
    super(`malformed interaction payload: ${detail}`, 400, 'malformed_payload');
  }
}

export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
}

export interface SignedRequest {
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
}

const TIMESTAMP = /^[0-9]{1,12}$/;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

/**
 * Checks freshness, then the signature in constant time. Throws a SlackRequestError saying which
 * check failed; returns the timestamp in seconds.
 */
export function verifySlackSignature(request: SignedRequest, signingSecret: string, nowMs: number): number {
  const { timestamp, signature } = request;
  if (!timestamp) throw new MissingSignatureError('X-Slack-Request-Timestamp');
  if (!signature) throw new MissingSignatureError('X-Slack-Signature');
  if (!TIMESTAMP.test(timestamp)) throw new StaleRequestError('X-Slack-Request-Timestamp must be whole seconds since the epoch');
  const seconds = Number(timestamp);
  const skew = Math.round(nowMs / 1000 - seconds);
  if (skew > MAX_SKEW_SECONDS) throw new StaleRequestError(`request timestamp is ${skew} s old; requests older than ${MAX_SKEW_SECONDS} s are refused`);
  if (skew < -MAX_SKEW_SECONDS) throw new StaleRequestError(`request timestamp is ${-skew} s in the future; more than ${MAX_SKEW_SECONDS} s ahead is refused`);
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, request.rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // Length is public (v0= + 64 hex); the comparison of the digest itself is constant-time.
  if (!SIGNATURE.test(signature) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new InvalidSignatureError();
  }
  return seconds;
}

/** A digest identifying one signed request, for the replay guard. */
export function requestDigest(timestamp: string, signature: string): string {
  return createHash('sha256').update(`${timestamp}:${signature}`).digest('hex').slice(0, 40);
}

// ------------------------------------------------------------------ the payload

/** The parts of a block_actions payload the approvals read; everything else Slack sends is ignored. */
export const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]{2,20}$/), username: z.string().max(200).optional(), name: z.string().max(200).optional() }),
  actions: z
    .array(
      z.object({
        action_id: z.enum(['approve', 'reject']),
        value: approvalIdSchema,
        action_ts: z.string().regex(/^[0-9]{1,12}(\.[0-9]{1,9})?$/),
      }),
    )
    .length(1),
  response_url: z.url({ protocol: /^https?$/ }).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
});
export type BlockActions = z.infer<typeof blockActionsSchema>;

/** `payload=<url-encoded JSON>`, exactly one field, as Slack sends interactions. */
export function parseInteraction(rawBody: Buffer): BlockActions {
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(rawBody.toString('utf8'));
  } catch {
    throw new MalformedPayloadError('the body is not URL-encoded form data');
  }
  const keys = [...form.keys()];
  if (keys.length !== 1 || keys[0] !== 'payload') {
    throw new MalformedPayloadError(`expected exactly one form field "payload", got ${keys.length ? keys.slice(0, 5).map((k) => `"${k.slice(0, 40)}"`).join(', ') : 'none'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(form.get('payload') ?? '');
  } catch {
    throw new MalformedPayloadError('"payload" is not JSON');
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && type !== 'block_actions') throw new MalformedPayloadError(`interaction type "${type.slice(0, 40)}" is not handled: only Approve/Reject buttons are`);
  const parsed = blockActionsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedPayloadError(`field "${issue?.path.join('.') || 'payload'}": ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
