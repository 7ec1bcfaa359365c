import { inspect } from 'node:util';
import { IncidentFlowsError } from './errors.ts';

/**
 * Slack for the approval handlers: the secrets (never printable), and the few Web API methods the
 * approvals use behind one interface, so the sandbox's fake Slack and real Slack are
 * interchangeable. This module is dependency-free on purpose: the Slack callback must cold-start
 * well inside Slack's 3-second limit (docs/decisions/0005-slack-approvals.md).
 */

/** A secret value that prints, logs and serialises as "[redacted]". Call `reveal()` only where it is used. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

export interface SlackSecrets {
  /** Signs Slack's requests to the callback (X-Slack-Signature). */
  signingSecret: Secret;
  /** xoxb-… bot token for chat.postMessage / chat.update. */
  botToken: Secret;
}

export class SlackNotConfiguredError extends IncidentFlowsError {}

export class SlackApiError extends IncidentFlowsError {
  constructor(
    readonly method: string,
    readonly slackError: string,
  ) {
    super(`Slack ${method} failed: ${slackError}`);
  }
}

/**
 * Where the secrets come from: in AWS, one Secrets Manager secret (SLACK_SECRET_ARN) holding
 * {"signingSecret": "...", "botToken": "xoxb-..."}; in the sandbox, SLACK_SIGNING_SECRET and
 * SLACK_BOT_TOKEN. Error messages name the variables, never their values.
 */
export async function loadSlackSecrets(
  env: NodeJS.ProcessEnv,
  getSecretString: (secretId: string) => Promise<string | undefined>,
): Promise<SlackSecrets> {
  const arn = env.SLACK_SECRET_ARN;
  if (arn) {
    const text = await getSecretString(arn);
    let parsed: { signingSecret?: unknown; botToken?: unknown } = {};
    try {
      parsed = JSON.parse(text ?? '{}') as typeof parsed;
    } catch {
      throw new SlackNotConfiguredError(`the Slack secret ${arn} is not JSON: store {"signingSecret": "...", "botToken": "xoxb-..."}`);
    }
    if (typeof parsed.signingSecret !== 'string' || !parsed.signingSecret || typeof parsed.botToken !== 'string' || !parsed.botToken) {
      throw new SlackNotConfiguredError(`the Slack secret ${arn} needs non-empty "signingSecret" and "botToken" fields`);
    }
    return { signingSecret: new Secret(parsed.signingSecret), botToken: new Secret(parsed.botToken) };
  }
  const signing = env.SLACK_SIGNING_SECRET;
  const token = env.SLACK_BOT_TOKEN;
  if (!signing || !token) {
    throw new SlackNotConfiguredError('Slack is not configured: set SLACK_SECRET_ARN (AWS) or SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (sandbox)');
  }
  return { signingSecret: new Secret(signing), botToken: new Secret(token) };
}

// ------------------------------------------------------------------ text that is not ours

/**
 * Slack's escaping for text in `mrkdwn` (and in a message's top-level `text`): `&`, `<` and `>` become
 * `&amp;`, `&lt;`, `&gt;`, and nothing else is touched. Anything that did not come from us — log
 * lines, alarm reasons, CloudTrail user names, service names from tags, people's names and reasons —
 * goes through this before it is put next to our own markup, so `<!channel>` does not ping and
 * `<https://…|Approve here>` shows as text, not as a disguised link.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ------------------------------------------------------------------ the Web API, as the approvals use it

export type Block = Record<string, unknown>;

export interface SlackMessage {
  channel: string;
  text: string;
  blocks: Block[];
}

export interface EphemeralAnswer {
  response_type: 'ephemeral';
  replace_original: false;
  text: string;
}

/** Per call: a tighter ceiling than the client's, for calls made while Slack waits for our acknowledgement. */
export interface CallOptions {
  timeoutMs?: number;
}

export interface SlackApi {
  postMessage(message: SlackMessage): Promise<{ channel: string; ts: string }>;
  update(message: SlackMessage & { ts: string }): Promise<void>;
  /** Members of a user group (usergroups.users.list). */
  groupMembers(group: string, options?: CallOptions): Promise<string[]>;
  /** Answers through an interaction's response_url (ephemeral: only the clicker sees it). */
  respond(responseUrl: string, answer: EphemeralAnswer, options?: CallOptions): Promise<void>;
}

export interface FetchSlackOptions {
  token: Secret;
  /** e.g. https://slack.com/api/ — ends with a slash. */
  apiUrl: string;
  fetch?: typeof fetch;
  /** Per-call ceiling: Slack's answer must never hold up the 3-second acknowledgement. */
  timeoutMs?: number;
}

/**
 * Slack's read methods (usergroups.users.list among them) take their arguments as a query string or
 * a form body only: a JSON body is ignored, so the call arrives without its arguments and Slack
 * answers `invalid_arguments`. Write methods (chat.*) take JSON, which Block Kit needs.
 */
export const FORM_ONLY_METHODS: ReadonlySet<string> = new Set(['usergroups.users.list']);

/** A small fetch-based Slack Web API client: JSON for write methods, form-encoded for read methods; bearer token. */
export function fetchSlackApi(options: FetchSlackOptions): SlackApi {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 1500;
  const call = async (method: string, args: Record<string, string | Block[] | undefined>, callTimeoutMs = timeoutMs): Promise<Record<string, unknown>> => {
    const form = FORM_ONLY_METHODS.has(method);
    const body = form
      ? new URLSearchParams(Object.entries(args).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, typeof v === 'string' ? v : JSON.stringify(v)]]))).toString()
      : JSON.stringify(args);
    const res = await doFetch(`${options.apiUrl}${method}`, {
      method: 'POST',
      headers: {
        'content-type': form ? 'application/x-www-form-urlencoded; charset=utf-8' : 'application/json; charset=utf-8',
        authorization: `Bearer ${options.token.reveal()}`,
      },
      body,
      signal: AbortSignal.timeout(callTimeoutMs),
    });
    const out = (await res.json().catch(() => ({ ok: false, error: `http_${res.status}` }))) as Record<string, unknown>;
    if (out.ok !== true) throw new SlackApiError(method, String(out.error ?? `http_${res.status}`));
    return out;
  };
  return {
    async postMessage(message) {
      const out = await call('chat.postMessage', { ...message });
      return { channel: String(out.channel), ts: String(out.ts) };
    },
    async update(message) {
      await call('chat.update', { ...message });
    },
    async groupMembers(group, callOptions) {
      const out = await call('usergroups.users.list', { usergroup: group }, callOptions?.timeoutMs);
      return Array.isArray(out.users) ? (out.users as string[]) : [];
    },
    async respond(responseUrl, answer, callOptions) {
      const res = await doFetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(answer),
        signal: AbortSignal.timeout(callOptions?.timeoutMs ?? timeoutMs),
      });
      if (!res.ok) throw new SlackApiError('response_url', `http_${res.status}`);
    },
  };
}

/** User-group membership, cached per container for a few minutes (one Slack call per group). */
export function cachedGroupMembers(
  slack: Pick<SlackApi, 'groupMembers'>,
  now: () => number,
  ttlMs = 5 * 60_000,
): (group: string, options?: CallOptions) => Promise<string[]> {
  const cache = new Map<string, { at: number; members: string[] }>();
  return async (group, options) => {
    const hit = cache.get(group);
    if (hit && now() - hit.at < ttlMs) return hit.members;
    const members = await slack.groupMembers(group, options);
    cache.set(group, { at: now(), members });
    return members;
  };
}

/** Like `once`, for async values, but a failure is not kept: the next call tries again. */
export function onceAsync<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= make().catch((err: unknown) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}
