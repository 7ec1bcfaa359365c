import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sfnClient, type ClientOptions, type Clients } from '#commons/clients';
import { getApproval, type Approvers, type ApprovalsConfig } from '#commons/approvals';
import { silentLogger, type Logger } from '#commons/logger';
import { setTimeout as sleep } from 'node:timers/promises';
import { cachedGroupMembers, FORM_ONLY_METHODS, fetchSlackApi, loadSlackSecrets, onceAsync, type Block, type SlackSecrets } from '#commons/slack';
import { slackSignature } from '#commons/slack-request';
import { webApiSlack } from '#commons/slack-web-api';
import type { ApprovalHandlerDeps } from '../handlers/registry.ts';
import {
  deliverRecordedDecisions,
  handleSlackInteraction,
  type ApprovalStreamEvent,
  type BatchResponse,
  type SlackInteractionsDeps,
} from '../handlers/slack-interactions.ts';
import type { SimClock } from './clock.ts';
import type { RawResponse, SandboxHttpServer } from './http.ts';

/**
 * Slack for the sandbox: a fake Web API (chat.postMessage, chat.update, usergroups.users.list and
 * interaction response_urls) that records every message, plus the approval callback served at
 * POST /slack/interactions exactly as API Gateway would hand it to the slack-interactions handler.
 * The signing secret and bot token come from SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN, or are made
 * up per sandbox; a drill or test signs its clicks with the same secret, as Slack would.
 *
 * As unkind as Slack: read methods (usergroups.users.list) ignore a JSON body and answer as if the
 * arguments were missing (`invalid_arguments`); any method can be slowed (`slowDown`). And as AWS
 * would: a recorded decision is delivered after the acknowledgement, by a stand-in for the
 * approvals table's DynamoDB stream and Lambda's retries (`DecisionStreamStandIn`).
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
  /** Recorded decisions being delivered after their acknowledgement (set when mounted). */
  stream: DecisionStreamStandIn | undefined;
  private readonly listeners = new Set<MessageListener>();
  private readonly delays = new Map<string, number>();
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

  /** Slack answering slowly: `method` ("chat.update", "usergroups.users.list", "response_url") takes `ms` real milliseconds. */
  slowDown(method: string, ms: number): void {
    this.delays.set(method, ms);
  }

  /** Resolves once every recorded decision handed off so far has been delivered (or given up on). */
  async deliveries(): Promise<void> {
    await this.stream?.settled();
  }

  mount(server: SandboxHttpServer): void {
    const api = (method: string, run: (args: Record<string, unknown>) => Record<string, unknown>) => {
      const handle = async (req: IncomingMessage, body: Buffer) => {
        this.calls.push(method);
        await this.delay(method);
        if (req.headers.authorization !== `Bearer ${this.secrets.botToken.reveal()}`) return slackAnswer({ ok: false, error: 'invalid_auth' });
        return slackAnswer(run(parseArgs(req, body, !FORM_ONLY_METHODS.has(method))));
      };
      server.route(`POST /slack/api/${method}`, handle);
      if (FORM_ONLY_METHODS.has(method)) server.route(`GET /slack/api/${method}`, handle);
    };
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
      // Slack: an absent required argument is invalid_arguments; one that names nothing is no_such_subteam.
      if (args.usergroup === undefined) return { ok: false, error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] missing required field: usergroup'] } };
      const members = SLACK_GROUPS[String(args.usergroup)];
      return members ? { ok: true, users: members } : { ok: false, error: 'no_such_subteam' };
    });
    server.route('POST /slack/respond', async (req, body) => {
      await this.delay('response_url');
      const args = parseArgs(req, body, true);
      this.ephemeral.push({ at: this.clock.now().toISOString(), text: String(args.text ?? '') });
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
    });
  }

  private async delay(method: string): Promise<void> {
    const ms = this.delays.get(method);
    if (ms) await sleep(ms);
  }
}

function slackAnswer(payload: Record<string, unknown>): RawResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
}

/**
 * A method's arguments as Slack reads them: the query string, then a form body (objects as JSON
 * strings, as @slack/web-api sends them), or a JSON body — which Slack's read methods ignore.
 */
function parseArgs(req: IncomingMessage, body: Buffer, jsonAccepted: boolean): Record<string, unknown> {
  const query = Object.fromEntries(new URLSearchParams((req.url ?? '').split('?')[1] ?? ''));
  const text = body.toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    if (!jsonAccepted) return query;
    try {
      return { ...query, ...(JSON.parse(text) as Record<string, unknown>) };
    } catch {
      return query;
    }
  }
  return { ...query, ...Object.fromEntries(new URLSearchParams(text)) };
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

// ------------------------------------------------------------------ the approvals table's stream, stood in for

/**
 * On AWS every recorded decision reaches `deliverRecordedDecisions` through the approvals table's
 * DynamoDB stream (Lambda event source mapping: retries, then a dead-letter queue). dynalite has
 * no streams, so the sandbox's callback hands each recorded decision here: delivered right after
 * the acknowledgement is sent, records of one approval in order (as one shard key is), a failed
 * batch retried a few times with backoff. While a delivery is due it holds a clock actor, so
 * virtual time cannot run the waiting task into its timeout meanwhile.
 */
export class DecisionStreamStandIn {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private sequence = 0;
  /** Every batch the stand-in handed to the delivery, with what came back: what Lambda would have been invoked with. */
  readonly batches: { approvalId: string; failed: boolean }[] = [];

  constructor(
    private readonly clock: SimClock,
    private readonly deliver: (event: ApprovalStreamEvent) => Promise<BatchResponse>,
    private readonly attempts = 5,
  ) {}

  emit(approvalId: string): void {
    this.clock.enter(); // synchronously, while the click still holds time
    const previous = this.chains.get(approvalId) ?? Promise.resolve();
    const run = previous
      .then(async () => {
        await new Promise((resolve) => setImmediate(resolve)); // after the acknowledgement went out
        for (let attempt = 1; attempt <= this.attempts; attempt++) {
          const sequenceNumber = String(++this.sequence).padStart(21, '0');
          const event: ApprovalStreamEvent = {
            Records: [{ eventSource: 'aws:dynamodb', eventName: 'MODIFY', dynamodb: { Keys: { id: { S: approvalId } }, SequenceNumber: sequenceNumber } }],
          };
          const out = await this.deliver(event).catch((): BatchResponse => ({ batchItemFailures: [{ itemIdentifier: sequenceNumber }] }));
          const failed = out.batchItemFailures.length > 0;
          this.batches.push({ approvalId, failed });
          if (!failed) return;
          await sleep(25 * 2 ** attempt);
        }
      })
      .finally(() => this.clock.leave());
    this.chains.set(approvalId, run);
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      if (this.chains.get(approvalId) === run) this.chains.delete(approvalId);
    });
  }

  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
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
  // No DynamoDB streams in the sandbox: what the stream and Lambda's retries do on AWS is done here.
  fake.stream = new DecisionStreamStandIn(o.clock, (event) => deliverRecordedDecisions(event, deps));
  deps.handOff = (approvalId) => fake.stream?.emit(approvalId);
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
