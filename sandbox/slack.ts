import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sfnClient, type ClientOptions, type Clients } from '#commons/clients';
import { getApproval, type Approvers, type ApprovalsConfig } from '#commons/approvals';
import { silentLogger, type Logger } from '#commons/logger';
import { cachedGroupMembers, fetchSlackApi, loadSlackSecrets, onceAsync, type Block, type SlackSecrets } from '#commons/slack';
import { slackSignature } from '#commons/slack-request';
import { webApiSlack } from '#commons/slack-web-api';
import type { ApprovalHandlerDeps } from '../handlers/registry.ts';
import { handleSlackInteraction, type SlackInteractionsDeps } from '../handlers/slack-interactions.ts';
import type { SimClock } from './clock.ts';
import type { RawResponse, SandboxHttpServer } from './http.ts';

/**
 * Slack for the sandbox: a fake Web API (chat.postMessage, chat.update, usergroups.users.list and
 * interaction response_urls) that records every message, plus the approval callback served at
 * POST /slack/interactions exactly as API Gateway would hand it to the slack-interactions handler.
 * The signing secret and bot token come from SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN, or are made
 * up per sandbox; a drill or test signs its clicks with the same secret, as Slack would.
 */

export interface SlackUser {
  id: string;
  name: string;
}

/** The people of the sandbox's Slack workspace. */
export const SLACK_USERS = {
  onCall: { id: 'U0ONCALL', name: 'ona.oncall' },
  teamLead: { id: 'U0TEAMLEAD', name: 'lee.lead' },
  vp: { id: 'U0VPENG', name: 'val.vp' },
  intruder: { id: 'U0MALLORY', name: 'mallory' },
} as const satisfies Record<string, SlackUser>;

export const SLACK_CHANNEL = 'C0INCIDENTS';
/** On-call approves through a user group, the others directly: both paths exercised. */
export const SLACK_GROUPS: Record<string, string[]> = { S0ONCALL: [SLACK_USERS.onCall.id] };
export const SLACK_APPROVERS: Approvers = { 'on-call': ['S0ONCALL'], 'team-lead': [SLACK_USERS.teamLead.id], vp: [SLACK_USERS.vp.id] };

export interface RecordedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Block[];
  /** Virtual time of chat.postMessage. */
  postedAt: string;
  /** Every chat.update, oldest first. */
  updates: { at: string; text: string; blocks: Block[] }[];
}

export interface EphemeralRecord {
  at: string;
  text: string;
}

export type MessageListener = (message: RecordedMessage) => void;

export class SlackFake {
  readonly messages: RecordedMessage[] = [];
  readonly ephemeral: EphemeralRecord[] = [];
  /** Web API methods called, in order (e.g. "chat.postMessage"). */
  readonly calls: string[] = [];
  /** What the callback logs (silent by default; tests swap in a capturing logger). */
  log: Logger = silentLogger;
  private readonly listeners = new Set<MessageListener>();
  private counter = 0;

  constructor(
    readonly url: string,
    readonly secrets: SlackSecrets,
    private readonly clock: SimClock,
  ) {}

  get callbackUrl(): string {
    return `${this.url}/slack/interactions`;
  }

  get apiUrl(): string {
    return `${this.url}/slack/api/`;
  }

  get responseUrlPrefix(): string {
    return `${this.url}/slack/respond`;
  }

  /** Called synchronously while chat.postMessage is answered; returns an unsubscribe function. */
  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current text of a message: its last update, or what was posted. */
  currentText(message: RecordedMessage): string {
    return message.updates.at(-1)?.text ?? message.text;
  }

  mount(server: SandboxHttpServer): void {
    const api = (method: string, run: (args: Record<string, unknown>) => Record<string, unknown>) =>
      server.route(`POST /slack/api/${method}`, (req, body) => {
        this.calls.push(method);
        if (req.headers.authorization !== `Bearer ${this.secrets.botToken.reveal()}`) return slackAnswer({ ok: false, error: 'invalid_auth' });
        return slackAnswer(run(parseArgs(req, body)));
      });
    api('chat.postMessage', (args) => {
      const message: RecordedMessage = {
        channel: String(args.channel ?? ''),
        ts: `${Math.floor(this.clock.nowMs() / 1000)}.${String(++this.counter).padStart(6, '0')}`,
        text: String(args.text ?? ''),
        blocks: asBlocks(args.blocks),
        postedAt: this.clock.now().toISOString(),
        updates: [],
      };
      if (!message.channel) return { ok: false, error: 'channel_not_found' };
      this.messages.push(message);
      for (const listener of this.listeners) listener(message);
      return { ok: true, channel: message.channel, ts: message.ts, message: { text: message.text } };
    });
    api('chat.update', (args) => {
      const message = this.messages.find((m) => m.ts === args.ts && m.channel === args.channel);
      if (!message) return { ok: false, error: 'message_not_found' };
      message.updates.push({ at: this.clock.now().toISOString(), text: String(args.text ?? ''), blocks: asBlocks(args.blocks) });
      return { ok: true, channel: message.channel, ts: message.ts };
    });
    api('usergroups.users.list', (args) => {
      const members = SLACK_GROUPS[String(args.usergroup ?? '')];
      return members ? { ok: true, users: members } : { ok: false, error: 'no_such_subteam' };
    });
    server.route('POST /slack/respond', (req, body) => {
      const args = parseArgs(req, body);
      this.ephemeral.push({ at: this.clock.now().toISOString(), text: String(args.text ?? '') });
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
    });
  }
}

function slackAnswer(payload: Record<string, unknown>): RawResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
}

/** @slack/web-api posts form fields (objects as JSON strings); others post JSON. */
function parseArgs(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function asBlocks(value: unknown): Block[] {
  if (Array.isArray(value)) return value as Block[];
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Block[];
    } catch {
      return [];
    }
  }
  return [];
}

// ------------------------------------------------------------------ mounting

export interface MountSlackOptions {
  server: SandboxHttpServer;
  clock: SimClock;
  clients: Clients;
  /** How the callback's own SDK clients reach the sandbox. */
  clientOptions: ClientOptions;
  approvalsTable: string;
  env?: NodeJS.ProcessEnv;
}

const fakes = new WeakMap<SandboxHttpServer, SlackFake>();

/**
 * Mounts the fake Slack Web API and the approval callback on the sandbox's port; returns what
 * request-approval needs (registry's `approvals` deps).
 */
export async function mountSlack(o: MountSlackOptions): Promise<ApprovalHandlerDeps> {
  const env = o.env ?? process.env;
  const secrets = await loadSlackSecrets(
    {
      SLACK_SIGNING_SECRET: env.SLACK_SIGNING_SECRET || randomBytes(16).toString('hex'),
      SLACK_BOT_TOKEN: env.SLACK_BOT_TOKEN || `xoxb-sandbox-${randomBytes(12).toString('hex')}`,
    },
    async () => undefined,
  );
  const fake = new SlackFake(o.server.url, secrets, o.clock);
  fake.mount(o.server);
  fakes.set(o.server, fake);
  const config: ApprovalsConfig = {
    table: o.approvalsTable,
    channel: SLACK_CHANNEL,
    approvers: SLACK_APPROVERS,
    slackApiUrl: fake.apiUrl,
    responseUrlPrefixes: [fake.responseUrlPrefix],
  };
  const lean = fetchSlackApi({ token: secrets.botToken, apiUrl: fake.apiUrl });
  const deps: SlackInteractionsDeps = {
    dynamo: o.clients.dynamo,
    sfn: sfnClient(o.clientOptions),
    clock: o.clock,
    config,
    secrets: async () => secrets,
    slack: async () => lean,
    groupMembers: cachedGroupMembers(lean, () => o.clock.nowMs()),
    get log() {
      return fake.log;
    },
  };
  o.server.route('POST /slack/interactions', async (req, body) => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const res = await handleSlackInteraction({ method: req.method ?? 'POST', headers, body }, deps);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  });
  const web = onceAsync(async () => webApiSlack({ token: secrets.botToken, apiUrl: fake.apiUrl }));
  return { config, slack: web };
}

/** The Slack fake of a running sandbox. */
export function slackOf(sandbox: { server: SandboxHttpServer }): SlackFake {
  const fake = fakes.get(sandbox.server);
  if (!fake) throw new Error('this sandbox has no Slack mounted');
  return fake;
}

// ------------------------------------------------------------------ playing the human

export interface Click {
  approvalId: string;
  action: 'approve' | 'reject';
  user: SlackUser;
  /** Slack's action_ts; the same click redelivered keeps it. */
  actionTs?: string;
}

/** A block_actions payload shaped like the one Slack sends when a button is clicked. */
export function blockActionsPayload(fake: SlackFake, click: Click, message?: RecordedMessage): Record<string, unknown> {
  const actionTs = click.actionTs ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(3).readUIntBE(0, 3)}`;
  return {
    type: 'block_actions',
    user: { id: click.user.id, username: click.user.name, name: click.user.name, team_id: 'T0SANDBOX' },
    api_app_id: 'A0INCIDENTFLOWS',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: message?.ts ?? '0', channel_id: message?.channel ?? SLACK_CHANNEL, is_ephemeral: false },
    trigger_id: `${randomBytes(4).readUInt32BE(0)}.sandbox`,
    team: { id: 'T0SANDBOX', domain: 'sandbox' },
    channel: { id: message?.channel ?? SLACK_CHANNEL, name: 'incidents' },
    message: message ? { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks } : undefined,
    response_url: `${fake.responseUrlPrefix}?message=${message?.ts ?? '0'}`,
    actions: [{ action_id: click.action, block_id: 'approval', value: click.approvalId, type: 'button', action_ts: actionTs, text: { type: 'plain_text', text: click.action } }],
  };
}

export interface SignedInteraction {
  headers: Record<string, string>;
  body: string;
}

/** The HTTP request Slack would send for a payload, signed with the sandbox's signing secret. */
export function signedInteraction(fake: SlackFake, payload: unknown, timestampSeconds: number, extraHeaders: Record<string, string> = {}): SignedInteraction {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(timestampSeconds);
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(fake.secrets.signingSecret.reveal(), timestamp, body),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...extraHeaders,
    },
    body,
  };
}

export interface CallbackAnswer {
  status: number;
  body: { ok?: boolean; code?: string; text?: string };
}

export async function postToCallback(fake: SlackFake, request: { headers: Record<string, string>; body: string | Buffer; method?: string }): Promise<CallbackAnswer> {
  const method = request.method ?? 'POST';
  const res = await fetch(fake.callbackUrl, { method, headers: request.headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body: request.body }) });
  const text = await res.text();
  let body: CallbackAnswer['body'] = {};
  try {
    body = JSON.parse(text) as CallbackAnswer['body'];
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

/** Approval id carried by a request message's buttons. */
export function approvalIdOf(message: RecordedMessage): string | undefined {
  for (const block of message.blocks) {
    const elements = (block as { type?: string; elements?: { value?: string }[] }).elements;
    if ((block as { type?: string }).type === 'actions' && elements?.[0]?.value) return elements[0].value;
  }
  return undefined;
}

export interface HumanAnswer extends Click {
  /** 0 for the first approval request posted, 1 for the next (an escalation), … */
  index: number;
  status: number;
  code?: string;
  /** Virtual time of the click. */
  at: string;
}

export interface HumanOptions {
  /** Virtual seconds the person takes to read and click (default 90). */
  thinkSeconds?: number;
}

/**
 * Plays the people on the escalation path: for each approval request posted, `decide` says who
 * clicks what (or undefined: nobody answers). While someone is about to click, they hold a clock
 * actor, so virtual time does not jump to the task's timeout under them.
 */
export function playHuman(
  sandbox: { server: SandboxHttpServer; clock: SimClock },
  deps: { dynamo: Clients['dynamo']; table: string },
  decide: (index: number, message: RecordedMessage) => Omit<Click, 'approvalId'> | undefined,
  options: HumanOptions = {},
): { answers: HumanAnswer[]; settled(): Promise<void>; stop(): void } {
  const fake = slackOf(sandbox);
  const clock = sandbox.clock;
  const answers: HumanAnswer[] = [];
  const inFlight: Promise<void>[] = [];
  let index = 0;
  const stop = fake.onMessage((message) => {
    const approvalId = approvalIdOf(message);
    if (!approvalId) return;
    const i = index++;
    const choice = decide(i, message);
    if (!choice) return;
    clock.enter(); // synchronously, while request-approval still holds the execution's actor
    inFlight.push(
      (async () => {
        try {
          await untilPosted(deps, approvalId);
          await clock.sleep(options.thinkSeconds ?? 90);
          const at = clock.now();
          const payload = blockActionsPayload(fake, { approvalId, ...choice }, message);
          const res = await postToCallback(fake, signedInteraction(fake, payload, Math.floor(at.getTime() / 1000)));
          answers.push({ approvalId, ...choice, index: i, status: res.status, ...(res.body.code ? { code: res.body.code } : {}), at: at.toISOString() });
        } finally {
          clock.leave();
        }
      })(),
    );
  });
  return {
    answers,
    settled: async () => {
      await Promise.all(inFlight);
    },
    stop,
  };
}

/** Waits (in real time, briefly) until request-approval has recorded the Slack message on the approval. */
async function untilPosted(deps: { dynamo: Clients['dynamo']; table: string }, approvalId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const row = await getApproval(deps, approvalId);
    if (row?.messageTs || row?.slackError) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
