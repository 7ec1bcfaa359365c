/**
 * Entry point: requests to the Slack approval callback (POST /slack/interactions, as API Gateway
 * hands them to slack-interactions). A P0 execution waits for the on-call's approval; hostile
 * requests — forged, stale, replayed, malformed, or signed but from someone who may not decide —
 * must each be refused with `{ok: false, code}` and a 4xx, and decide nothing.
 *
 * Then the fuzz: thousands of mutations of the valid signed click (body, signature, timestamp,
 * content type, user ids, approval ids, action ids, re-signing with guessed secrets, replays),
 * half before the real click is accepted and half after: none accepted, the decision taken once.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { getApproval } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import { seededRandom } from '../../sandbox/faults.ts';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';
import {
  approvalIdOf,
  blockActionsPayload,
  postToCallback,
  signedInteraction,
  slackOf,
  SLACK_USERS,
  type CallbackAnswer,
  type Click,
  type RecordedMessage,
  type SlackFake,
} from '../../sandbox/slack.ts';
import { clockMoves, hasStackTrace, MutationProbe, outcome, TimeoutError, within, type EntryReport, type Outcome, type Verdict } from './harness.ts';

const ENTRY = 'Slack requests' as const;
const SERVICE = 'acme-axon';
const TABLE = 'incident-flows-approvals';

export interface SlackRequest {
  method?: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** What a case may use: the real click, signing as Slack, signing with a wrong secret. */
export interface SlackCtx {
  approvalId: string;
  /** A click signed with the sandbox's real signing secret (what Slack sends), at now + offset s. */
  click(c: Partial<Click> & { payload?: (p: Record<string, unknown>) => unknown }, offsetSeconds?: number): SlackRequest;
  /** Signs any body with the real secret at now + offset s. */
  sign(body: string | Buffer, offsetSeconds?: number, secret?: string): SlackRequest;
  nowSeconds(): number;
}

export interface SlackCase {
  name: string;
  request: (ctx: SlackCtx) => SlackRequest | SlackRequest[];
}

const FORM = 'application/x-www-form-urlencoded';
const onCall = SLACK_USERS.onCall;
const intruder = SLACK_USERS.intruder;
const unsigned = (body: string, headers: Record<string, string> = {}): SlackRequest => ({ headers: { 'content-type': FORM, ...headers }, body });
const payloadBody = (payload: unknown) => new URLSearchParams({ payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }).toString();
const withActions = (actions: unknown) => (p: Record<string, unknown>) => ({ ...p, actions });
const firstAction = (p: Record<string, unknown>) => (p.actions as Record<string, unknown>[])[0]!;
const editAction = (edit: Record<string, unknown>) => (p: Record<string, unknown>) => ({ ...p, actions: [{ ...firstAction(p), ...edit }] });

export const SLACK_CASES: SlackCase[] = [
  // the envelope: method, content type, size
  { name: 'GET', request: (x) => ({ ...x.click({}), method: 'GET', body: '' }) },
  { name: 'PUT', request: (x) => ({ ...x.click({}), method: 'PUT' }) },
  { name: 'DELETE', request: (x) => ({ ...x.click({}), method: 'DELETE' }) },
  { name: 'JSON content type', request: (x) => { const r = x.click({}); return { ...r, headers: { ...r.headers, 'content-type': 'application/json' } }; } },
  { name: 'no content type', request: (x) => { const r = x.click({}); const { 'content-type': _ct, ...headers } = r.headers; return { ...r, headers }; } },
  { name: 'multipart content type', request: (x) => { const r = x.click({}); return { ...r, headers: { ...r.headers, 'content-type': 'multipart/form-data; boundary=x' } }; } },
  { name: 'a 100 KB body, signed', request: (x) => x.sign(`${payloadBody({})}&pad=${'x'.repeat(100 * 1024)}`) },
  { name: 'a 2 MB body', request: () => unsigned(`payload=${'x'.repeat(2 * 1024 * 1024)}`) },
  // the signature
  { name: 'no signature', request: (x) => { const r = x.click({}); const { 'x-slack-signature': _s, ...headers } = r.headers; return { ...r, headers }; } },
  { name: 'no timestamp', request: (x) => { const r = x.click({}); const { 'x-slack-request-timestamp': _t, ...headers } = r.headers; return { ...r, headers }; } },
  { name: 'an empty signature', request: (x) => { const r = x.click({}); return { ...r, headers: { ...r.headers, 'x-slack-signature': '' } }; } },
  { name: 'signature "v0=" only', request: (x) => { const r = x.click({}); return { ...r, headers: { ...r.headers, 'x-slack-signature': 'v0=' } }; } },
  { name: 'a v1 signature', request: (x) => { const r = x.click({}); return { ...r, headers: { ...r.headers, 'x-slack-signature': r.headers['x-slack-signature']!.replace('v0=', 'v1=') } }; } },
  { name: 'signed with a guessed secret', request: (x) => x.sign(x.click({}).body, 0, 'guessed-secret') },
  { name: 'signed with an empty secret', request: (x) => x.sign(x.click({}).body, 0, '') },
  { name: 'the signature of another body', request: (x) => { const a = x.click({}); const b = x.click({ action: 'reject' }); return { ...b, headers: { ...b.headers, 'x-slack-signature': a.headers['x-slack-signature']! } }; } },
  { name: 'signature as 1 MB of hex', request: (x) => { const r = x.click({}); return { ...r, headers: { ...r.headers, 'x-slack-signature': `v0=${'a'.repeat(64 * 1024)}` } }; } },
  // the timestamp
  { name: 'timestamp 301 s old', request: (x) => x.click({}, -301) },
  { name: 'timestamp 301 s in the future', request: (x) => x.click({}, 301) },
  { name: 'timestamp a day old', request: (x) => x.click({}, -86_400) },
  { name: 'timestamp 0', request: (x) => { const r = x.sign(x.click({}).body); return x.sign(r.body, -x.nowSeconds()); } },
  { name: 'timestamp in milliseconds', request: (x) => { const body = x.click({}).body; const ts = String(x.nowSeconds() * 1000); return signAt(x, body, ts); } },
  { name: 'timestamp "NaN"', request: (x) => signAt(x, x.click({}).body, 'NaN') },
  { name: 'timestamp negative', request: (x) => signAt(x, x.click({}).body, '-1') },
  { name: 'timestamp 1e10', request: (x) => signAt(x, x.click({}).body, '1e10') },
  { name: 'timestamp 30 digits', request: (x) => signAt(x, x.click({}).body, '9'.repeat(30)) },
  { name: 'timestamp with a leading plus', request: (x) => signAt(x, x.click({}).body, `+${x.nowSeconds()}`) },
  // signed by Slack, but the payload is wrong
  { name: 'no payload field', request: (x) => x.sign('hello=world') },
  { name: 'payload not JSON', request: (x) => x.sign(payloadBody('{not json')) },
  { name: 'payload a JSON array', request: (x) => x.sign(payloadBody([1, 2])) },
  { name: 'payload null', request: (x) => x.sign(payloadBody('null')) },
  { name: 'two payload fields', request: (x) => { const a = new URLSearchParams(String(x.click({}).body)).get('payload')!; return x.sign(`payload=${encodeURIComponent(a)}&payload=${encodeURIComponent(a)}`); } },
  { name: 'type view_submission', request: (x) => x.click({ payload: (p) => ({ ...p, type: 'view_submission' }) }) },
  { name: 'no actions', request: (x) => x.click({ payload: withActions([]) }) },
  { name: 'two actions (approve and reject)', request: (x) => x.click({ payload: (p) => ({ ...p, actions: [firstAction(p), { ...firstAction(p), action_id: 'reject' }] }) }) },
  { name: 'action_id "delete"', request: (x) => x.click({ payload: editAction({ action_id: 'delete' }) }) },
  { name: 'action value not an approval id', request: (x) => x.click({ payload: editAction({ value: '../apr-0123' }) }) },
  { name: 'action value a number', request: (x) => x.click({ payload: editAction({ value: 7 }) }) },
  { name: 'an approval id that does not exist', request: (x) => x.click({ approvalId: 'apr-0123456789abcdef0123' }) },
  { name: 'the approval id in upper case', request: (x) => x.click({ approvalId: x.approvalId.toUpperCase() }) },
  { name: 'no user', request: (x) => x.click({ payload: (p) => ({ ...p, user: undefined }) }) },
  { name: 'user id empty', request: (x) => x.click({ user: { id: '', name: 'nobody' } }) },
  // signed by Slack, clicked by someone who may not decide
  { name: 'an intruder approves', request: (x) => x.click({ user: intruder }) },
  { name: 'an intruder rejects', request: (x) => x.click({ user: intruder, action: 'reject' }) },
  { name: 'the on-call id with a trailing space', request: (x) => x.click({ user: { id: `${onCall.id} `, name: onCall.name } }) },
  { name: 'the on-call id in lower case', request: (x) => x.click({ user: { id: onCall.id.toLowerCase(), name: onCall.name } }) },
  { name: 'the on-call id as a mention', request: (x) => x.click({ user: { id: `<@${onCall.id}>`, name: onCall.name } }) },
  { name: 'the user group id as the user', request: (x) => x.click({ user: { id: 'S0ONCALL', name: 'on-call group' } }) },
  { name: 'the on-call id with a NUL byte', request: (x) => x.click({ user: { id: `${onCall.id}\u0000`, name: onCall.name } }) },
  { name: 'an intruder named like the on-call', request: (x) => x.click({ user: { id: intruder.id, name: onCall.name } }) },
  { name: 'a response_url on another host', request: (x) => x.click({ user: intruder, payload: (p) => ({ ...p, response_url: 'https://evil.example/steal' }) }) },
  // replays
  { name: 'a refused request replayed', request: (x) => { const r = x.click({ user: intruder }); return [r, r]; } },
  { name: 'a refused request replayed with X-Slack-Retry-Num', request: (x) => { const r = x.click({ user: intruder }); return [r, { ...r, headers: { ...r.headers, 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }]; } },
];

function signAt(x: SlackCtx, body: string | Buffer, timestamp: string): SlackRequest {
  const r = x.sign(body);
  return { ...r, headers: { ...r.headers, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': sign(REAL.secret, timestamp, body) } };
}

/** The sandbox's signing secret, set once the sandbox is up (signAt needs it). */
const REAL = { secret: '' };

function sign(secret: string, timestamp: string, body: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

/** Refusals of the HTTP layer in front of the function, named by their status. */
export const HTTP_REFUSALS = new Set([404, 405, 413, 414, 431]);

/** The answer as the harness judges it: a refusal is a 4xx with {ok: false, code}. */
function judge(answers: CallbackAnswer[]): { verdict: Verdict; name?: string; detail: string } {
  const last = answers.at(-1)!;
  const text = `${last.body.text ?? ''}`;
  if (hasStackTrace(text)) return { verdict: 'stack-trace', name: String(last.status), detail: text };
  if (answers.some((a) => a.status < 400)) return { verdict: 'accepted', name: `${last.status} ${last.body.code ?? ''}`, detail: answers.map((a) => `${a.status} ${a.body.code ?? ''}`).join(', ') };
  // Refused before the function (as API Gateway refuses a route it does not have, or a request too
  // big for it): the HTTP status is the name, the body says which.
  if (!last.body.code && HTTP_REFUSALS.has(last.status)) return { verdict: 'named-error', name: `${last.status} ${STATUS_CODES[last.status]}`, detail: text || STATUS_CODES[last.status] || '' };
  if (last.status >= 500 || !last.body.code) return { verdict: 'unnamed-error', name: String(last.status), detail: text || '(no body)' };
  return { verdict: 'named-error', name: `${last.status} ${last.body.code}`, detail: text };
}

interface Pending {
  sandbox: Sandbox;
  fake: SlackFake;
  approvalId: string;
  message: RecordedMessage;
  ctx: SlackCtx;
  release(): void;
}

/** P0 beyond the budget, stopped at the on-call's approval request with the clock held. */
async function pendingApproval(): Promise<Pending> {
  const sandbox = await Sandbox.start(parseScenario({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }));
  sandbox.playOut();
  const fake = slackOf(sandbox);
  REAL.secret = fake.secrets.signingSecret.reveal();
  let held = false;
  const posted = new Promise<RecordedMessage>((resolve) => {
    const stop = fake.onMessage((m) => {
      if (held) return;
      held = true;
      sandbox.clock.enter();
      stop();
      resolve(m);
    });
  });
  sandbox.sfn.start('incident-flows-p0-system-down', { service: SERVICE, trigger: { kind: 'alarm', alarmName: `${SERVICE}-unhealthy-hosts` }, requireApproval: true });
  const message = await posted;
  const approvalId = approvalIdOf(message)!;
  const dynamo = documentClient(sandbox.clientOptions());
  for (let i = 0; i < 200 && !(await getApproval({ dynamo, table: TABLE }, approvalId))?.messageTs; i++) await new Promise((r) => setTimeout(r, 5));
  const nowSeconds = () => Math.floor(sandbox.clock.nowMs() / 1000);
  const ctx: SlackCtx = {
    approvalId,
    nowSeconds,
    click: (c, offset = 0) => {
      const base = blockActionsPayload(fake, { approvalId: c.approvalId ?? approvalId, action: c.action ?? 'approve', user: c.user ?? onCall, ...(c.actionTs ? { actionTs: c.actionTs } : {}) }, message);
      const payload = c.payload ? c.payload(base) : base;
      return signedInteraction(fake, payload, nowSeconds() + offset);
    },
    sign: (body, offset = 0, secret = REAL.secret) => {
      const timestamp = String(nowSeconds() + offset);
      return { headers: { 'content-type': FORM, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': sign(secret, timestamp, body) }, body };
    },
  };
  let released = false;
  return {
    sandbox,
    fake,
    approvalId,
    message,
    ctx,
    release: () => {
      if (released) return;
      released = true;
      sandbox.clock.leave();
    },
  };
}

async function post(fake: SlackFake, r: SlackRequest): Promise<CallbackAnswer> {
  return postToCallback(fake, { headers: r.headers, body: r.body, ...(r.method ? { method: r.method } : {}) });
}

export interface FuzzReport {
  requests: number;
  /** Answered 2xx with a decision (approved/rejected): must be 0. */
  accepted: number;
  /** Answered 200 already_recorded (a retry of the accepted click): nothing decided. */
  acknowledgedRetries: number;
  /** Decisions beyond the one the valid click made: must be 0. */
  doubleDecisions: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  byMutation: Record<string, number>;
  acceptedExamples: string[];
  sendTaskCalls: number;
  decidedBy?: string;
  wallMs: number;
}

export interface SlackReport extends EntryReport {
  fuzz: FuzzReport;
}

type Raw = { headers: Record<string, string>; body: Buffer };
type Mutation = (r: Raw, rnd: () => number, x: FuzzCtx) => void;

interface FuzzCtx {
  ctx: SlackCtx;
  /** Requests already sent (for replays). */
  sent: Raw[];
  original: Raw;
  accepted: boolean;
}

const pick = <T>(items: readonly T[], rnd: () => number): T => items[Math.floor(rnd() * items.length)]!;
const HEX = '0123456789abcdef';

/** Re-encodes the body's payload after editing it as JSON (the edit breaks the original signature). */
function editPayload(r: Raw, edit: (p: Record<string, unknown>) => void): boolean {
  const form = new URLSearchParams(r.body.toString('utf8'));
  const text = form.get('payload');
  if (!text) return false;
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (!p || typeof p !== 'object') return false;
  try {
    edit(p);
  } catch {
    return false; // an earlier mutation removed what this one edits
  }
  form.set('payload', JSON.stringify(p));
  r.body = Buffer.from(form.toString());
  return true;
}

const hostileUsers = [intruder.id, `${onCall.id} `, onCall.id.toLowerCase(), `<@${onCall.id}>`, 'S0ONCALL', '', 'W0ONCALL', 'U0ONCAL', `${onCall.id}\u200b`, 'U0VPENGX', 'UNKNOWN'];
const hostileIds = (id: string) => [id.toUpperCase(), `${id}0`, id.slice(0, -1), 'apr-0123456789abcdef0123', `../${id}`, `${id} `, '', 'apr-', `apr-${'f'.repeat(20)}`];

/** Ways to damage the valid signed click. Signature-breaking ones keep the old signature; `as Slack` ones re-sign hostile content with the real secret. */
const MUTATIONS: Record<string, Mutation> = {
  'flip a body byte': (r, rnd) => {
    const i = Math.floor(rnd() * r.body.length);
    r.body[i] = r.body[i]! ^ (1 + Math.floor(rnd() * 255));
  },
  'insert a body byte': (r, rnd) => {
    const i = Math.floor(rnd() * (r.body.length + 1));
    r.body = Buffer.concat([r.body.subarray(0, i), Buffer.from([Math.floor(rnd() * 256)]), r.body.subarray(i)]);
  },
  'delete a body byte': (r, rnd) => {
    const i = Math.floor(rnd() * r.body.length);
    r.body = Buffer.concat([r.body.subarray(0, i), r.body.subarray(i + 1)]);
  },
  'truncate the body': (r, rnd) => {
    r.body = r.body.subarray(0, Math.floor(rnd() * r.body.length));
  },
  'append to the body': (r, rnd) => {
    r.body = Buffer.concat([r.body, Buffer.from(pick(['&payload=x', ' ', '\n', '%00', '&admin=1', '&payload=%7B%7D'], rnd))]);
  },
  'swap approve and reject in the body': (r) => {
    const text = r.body.toString('utf8');
    r.body = Buffer.from(text.includes('approve') ? text.replaceAll('approve', 'reject') : text.replaceAll('reject', 'approve'));
  },
  'change the user id (unsigned)': (r, rnd) => void editPayload(r, (p) => void ((p.user as Record<string, unknown>).id = pick(hostileUsers, rnd))),
  'change the approval id (unsigned)': (r, rnd, x) => void editPayload(r, (p) => void ((p.actions as Record<string, unknown>[])[0]!.value = pick(hostileIds(x.ctx.approvalId), rnd))),
  'change a signature digit': (r, rnd) => {
    const sig = r.headers['x-slack-signature'] ?? '';
    if (sig.length < 4) return;
    const i = 3 + Math.floor(rnd() * (sig.length - 3));
    r.headers['x-slack-signature'] = sig.slice(0, i) + pick(HEX.replace(sig[i]!, '').split(''), rnd) + sig.slice(i + 1);
  },
  'uppercase the signature': (r) => {
    r.headers['x-slack-signature'] = (r.headers['x-slack-signature'] ?? '').toUpperCase();
  },
  'drop the signature prefix': (r) => {
    r.headers['x-slack-signature'] = (r.headers['x-slack-signature'] ?? '').slice(3);
  },
  'truncate the signature': (r, rnd) => {
    const sig = r.headers['x-slack-signature'] ?? '';
    r.headers['x-slack-signature'] = sig.slice(0, Math.floor(rnd() * Math.max(0, sig.length - 1)));
  },
  'double the signature': (r) => {
    r.headers['x-slack-signature'] = `${r.headers['x-slack-signature'] ?? ''},${r.headers['x-slack-signature'] ?? ''}`;
  },
  'remove the signature': (r) => {
    delete r.headers['x-slack-signature'];
  },
  're-sign with a guessed secret': (r, rnd) => {
    const secret = pick(['', 'secret', 'slack', 'changeme', randomBytes(16).toString('hex'), REAL.secret.slice(0, -1), REAL.secret.toUpperCase()], rnd);
    r.headers['x-slack-signature'] = sign(secret, r.headers['x-slack-request-timestamp'] ?? '', r.body);
  },
  're-sign the body without the timestamp': (r) => {
    r.headers['x-slack-signature'] = `v0=${createHmac('sha256', REAL.secret).update(r.body).digest('hex')}`;
  },
  're-sign with another timestamp in the base string': (r) => {
    const ts = r.headers['x-slack-request-timestamp'] ?? '0';
    r.headers['x-slack-signature'] = sign(REAL.secret, String(Number(ts) + 1), r.body);
  },
  'shift the timestamp by a second': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = String(Number(r.headers['x-slack-request-timestamp'] ?? 0) + pick([-1, 1], rnd));
  },
  'make the timestamp stale or future (re-signed as Slack)': (r, rnd) => {
    const ts = String(Number(r.headers['x-slack-request-timestamp'] ?? 0) + pick([-86_400, -301, 301, 3_600], rnd));
    r.headers['x-slack-request-timestamp'] = ts;
    r.headers['x-slack-signature'] = sign(REAL.secret, ts, r.body);
  },
  'pad the timestamp': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = pick(['0', '00', '+', '-0'], rnd) + (r.headers['x-slack-request-timestamp'] ?? '');
  },
  'garble the timestamp': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = pick(['', 'NaN', '1e9', '-1', '17965261800000000', 'now', '0x6a0', 'Infinity'], rnd);
  },
  'remove the timestamp': (r) => {
    delete r.headers['x-slack-request-timestamp'];
  },
  'change the content type': (r, rnd) => {
    r.headers['content-type'] = pick(['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedx', 'application/xml', ''], rnd);
  },
  // Signed with the real secret (as if Slack sent it): content that must still decide nothing.
  'an unauthorised user, as Slack': (r, rnd, x) => {
    if (editPayload(r, (p) => void ((p.user as Record<string, unknown>).id = pick(hostileUsers, rnd)))) resign(r, x);
  },
  'another approval id, as Slack': (r, rnd, x) => {
    if (editPayload(r, (p) => void ((p.actions as Record<string, unknown>[])[0]!.value = pick(hostileIds(x.ctx.approvalId), rnd)))) resign(r, x);
  },
  'an unknown action, as Slack': (r, rnd, x) => {
    if (editPayload(r, (p) => void ((p.actions as Record<string, unknown>[])[0]!.action_id = pick(['delete', 'APPROVE', 'approve ', '', 'reject\u0000', 'override'], rnd)))) resign(r, x);
  },
  'a malformed payload, as Slack': (r, rnd, x) => {
    const damage = pick<(p: Record<string, unknown>) => void>(
      [(p) => void (p.type = 'view_submission'), (p) => void (p.actions = []), (p) => void (p.actions = 'approve'), (p) => void delete p.user, (p) => void (p.user = 'U0ONCALL'), (p) => void (p.actions = [...(p.actions as unknown[]), ...(p.actions as unknown[])])],
      rnd,
    );
    if (editPayload(r, damage)) resign(r, x);
  },
  'replay a request sent earlier': (r, rnd, x) => {
    const earlier = x.sent.length ? pick(x.sent, rnd) : undefined;
    if (!earlier) return;
    r.headers = { ...earlier.headers };
    r.body = Buffer.from(earlier.body);
  },
  'replay the accepted click': (r, rnd, x) => {
    if (!x.accepted) return; // before acceptance the original is the one valid request, not a mutation
    r.headers = { ...x.original.headers, ...(rnd() < 0.5 ? { 'x-slack-retry-num': String(1 + Math.floor(rnd() * 3)), 'x-slack-retry-reason': 'http_timeout' } : {}) };
    r.body = Buffer.from(x.original.body);
  },
};

/** Signs with the real secret at a fresh timestamp within the window (a signed request is accepted once). */
function resign(r: Raw, x: FuzzCtx): void {
  const ts = String(x.ctx.nowSeconds() - Math.floor(Math.random() * 250));
  r.headers['x-slack-request-timestamp'] = ts;
  r.headers['x-slack-signature'] = sign(REAL.secret, ts, r.body);
}

const NAMES = Object.keys(MUTATIONS);

/**
 * A mutation can land back on a genuine click: Slack's signature over a payload in which the
 * on-call approves or rejects this very approval (say, the base string re-signed at ts+1, then the
 * header shifted to ts+1). That is Slack sending a real click, not a forgery: not sent.
 */
function isGenuine(r: Raw, approvalId: string): boolean {
  const ts = r.headers['x-slack-request-timestamp'];
  if (ts === undefined || r.headers['x-slack-signature'] !== sign(REAL.secret, ts, r.body)) return false;
  if ((r.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== FORM) return false;
  try {
    const form = new URLSearchParams(r.body.toString('utf8'));
    const p = JSON.parse(form.get('payload') ?? 'null') as { user?: { id?: unknown }; actions?: { value?: unknown; action_id?: unknown }[] };
    const action = p?.actions?.[0];
    return p?.user?.id === onCall.id && action?.value === approvalId && (action.action_id === 'approve' || action.action_id === 'reject');
  } catch {
    return false;
  }
}

function keyOf(r: Raw): string {
  const h = r.headers;
  return [h['content-type'], h['x-slack-request-timestamp'], h['x-slack-signature'], h['x-slack-retry-num'], r.body.toString('base64')].join('|');
}

/** The hostile requests, then the fuzz. */
export async function runSlack(opts: { cases?: SlackCase[]; fuzz?: number; seed?: number } = {}): Promise<SlackReport> {
  const cases = opts.cases ?? SLACK_CASES;
  const total = opts.fuzz ?? 10_000;
  const wall = performance.now();
  const p = await pendingApproval();
  const outcomes: Outcome[] = [];
  const sendTasks = () => p.sandbox.calls.filter((c) => c.api === 'sfn' && c.operation.startsWith('SendTask') && c.status === 200).length;
  let fuzz: FuzzReport;
  try {
    const probe = new MutationProbe(p.sandbox);
    for (const c of cases) {
      const before = await probe.snapshot();
      const started = performance.now();
      let v: { verdict: Verdict; name?: string; detail: string };
      try {
        const requests = c.request(p.ctx);
        const answers: CallbackAnswer[] = [];
        for (const r of Array.isArray(requests) ? requests : [requests]) answers.push(await within(post(p.fake, r), 10_000));
        v = judge(answers);
      } catch (err) {
        v = err instanceof TimeoutError ? { verdict: 'hang', name: 'timeout', detail: err.message } : { verdict: 'unnamed-error', name: (err as Error).name, detail: (err as Error).message };
      }
      const ms = performance.now() - started;
      await p.fake.deliveries();
      const { mutations, records } = probe.diff(before, await probe.snapshot());
      outcomes.push(outcome(ENTRY, c.name, v, mutations, records, ms));
    }

    // ---- the fuzz
    const fuzzStarted = performance.now();
    const rnd = seededRandom(opts.seed ?? 20261128);
    const original = p.ctx.click({ action: 'approve', user: onCall });
    const originalRaw: Raw = { headers: { ...original.headers }, body: Buffer.from(original.body) };
    const originalKey = keyOf(originalRaw);
    const x: FuzzCtx = { ctx: p.ctx, sent: [], original: originalRaw, accepted: false };
    const report: FuzzReport = { requests: 0, accepted: 0, acknowledgedRetries: 0, doubleDecisions: 0, statuses: {}, codes: {}, byMutation: {}, acceptedExamples: [], sendTaskCalls: 0, wallMs: 0 };
    const fire = async (half: number) => {
      const queue: Promise<void>[] = [];
      let sent = 0;
      while (sent < half) {
        const r: Raw = { headers: { ...originalRaw.headers }, body: Buffer.from(originalRaw.body) };
        const applied = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(NAMES, rnd));
        for (const name of applied) MUTATIONS[name]!(r, rnd, x);
        // Before the click is accepted, a mutation that changed nothing (or landed on a genuine click)
        // is the valid click itself, not a forgery. After it, replays and re-sent genuine clicks are
        // the point: each must decide nothing new.
        if (!x.accepted && (keyOf(r) === originalKey || isGenuine(r, p.approvalId))) continue;
        sent += 1;
        report.requests += 1;
        for (const name of new Set(applied)) report.byMutation[name] = (report.byMutation[name] ?? 0) + 1;
        if (x.sent.length < 500) x.sent.push({ headers: { ...r.headers }, body: Buffer.from(r.body) });
        queue.push(
          post(p.fake, { headers: r.headers, body: r.body }).then((res) => {
            report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
            const code = res.body.code ?? '(none)';
            report.codes[code] = (report.codes[code] ?? 0) + 1;
            if (res.status < 300 && (code === 'approved' || code === 'rejected')) {
              report.accepted += 1;
              if (report.acceptedExamples.length < 10) report.acceptedExamples.push(applied.join(' + '));
            } else if (res.status < 300 && code === 'already_recorded') report.acknowledgedRetries += 1;
            else if (res.status < 400 && report.acceptedExamples.length < 10) report.acceptedExamples.push(`${res.status} ${code}: ${applied.join(' + ')}`);
          }),
        );
        if (queue.length >= 16) await Promise.all(queue.splice(0));
      }
      await Promise.all(queue);
    };
    await fire(Math.ceil(total / 2));
    await p.fake.deliveries();
    const pendingAfterA = (await getApproval({ dynamo: documentClient(p.sandbox.clientOptions()), table: TABLE }, p.approvalId))?.status;
    const sendsBefore = sendTasks();
    // The valid click, once: the one decision.
    const real = await post(p.fake, original);
    x.accepted = real.status === 200 && real.body.code === 'approved';
    await p.fake.deliveries();
    const row = await getApproval({ dynamo: documentClient(p.sandbox.clientOptions()), table: TABLE }, p.approvalId);
    await fire(total - Math.ceil(total / 2));
    await p.fake.deliveries();
    const rowAfter = await getApproval({ dynamo: documentClient(p.sandbox.clientOptions()), table: TABLE }, p.approvalId);
    report.sendTaskCalls = sendTasks();
    report.doubleDecisions =
      report.accepted +
      Math.max(0, report.sendTaskCalls - sendsBefore - 1) +
      (rowAfter?.decisionId !== row?.decisionId || rowAfter?.status !== row?.status ? 1 : 0);
    report.decidedBy = `${row?.status ?? '?'} by ${row?.decidedBy?.name ?? '?'} (before the click: ${pendingAfterA ?? '?'}; the valid click answered ${real.status} ${real.body.code ?? ''})`;
    report.wallMs = Math.round(performance.now() - fuzzStarted);
    fuzz = report;
    if (!x.accepted || pendingAfterA !== 'pending') {
      outcomes.push(outcome(ENTRY, 'afterwards: the valid click is accepted, once', { verdict: 'unnamed-error', name: String(real.status), detail: `${real.body.code}: ${real.body.text} (approval was ${pendingAfterA} before it)` }, [], [], 0));
    }
    p.release();
    if (!(await clockMoves(p.sandbox))) outcomes.push(outcome(ENTRY, 'afterwards: the virtual clock still moves', { verdict: 'hang', name: 'clock', detail: 'the clock no longer moves' }, [], [], 0));
  } finally {
    p.release();
    // Let the approved execution end before the sandbox goes (its restart runs on virtual time).
    await Promise.race([Promise.all(p.sandbox.sfn.listExecutionRecords().map((r) => p.sandbox.sfn.wait(r.executionArn))), new Promise((r) => setTimeout(r, 10_000))]);
    await p.fake.deliveries();
    await p.sandbox.stop();
  }
  return { entry: ENTRY, outcomes, wallMs: performance.now() - wall, fuzz: fuzz! };
}
