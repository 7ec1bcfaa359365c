/**
 * Entry point: each handler invoked directly with garbage (a person with lambda:InvokeFunction, a
 * misrouted rule, a changed state machine). The workflow handlers are invoked as Lambda would
 * invoke them (`sandbox.sfn.invokeFunction`: the payload through JSON, a throw named after its
 * errorType); the EventBridge and HTTP handlers through the doors the sandbox gives them. Each
 * must fail with a named error (or say it ignored the event, or do a declared no-op) and change
 * nothing — and the verify step must not fetch a URL nobody configured.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackApi } from '#commons/slack';
import { cachedGroupMembers, fetchSlackApi } from '#commons/slack';
import { documentClient, ecsClient, elbv2Client, sfnClient } from '#commons/clients';
import { WatchStore } from '#stability/watches';
import { onEcsEvent } from '../../handlers/ecs-events.ts';
import { deliverRecordedDecisions, handleSlackInteraction, isApprovalStreamEvent, requestFromHttpApi, type HttpApiEvent, type SlackInteractionsDeps } from '../../handlers/slack-interactions.ts';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';
import { SLACK_APPROVERS, SLACK_CHANNEL, slackOf } from '../../sandbox/slack.ts';
import { silentLogger, type Logger } from '#commons/logger';
import { clockMoves, fromError, MutationProbe, outcome, TimeoutError, within, type EntryReport, type Outcome, type Verdict } from './harness.ts';

const ENTRY = 'handler events' as const;
const SERVICE = 'acme-axon';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:hostile-run';
const TOKEN = `AQB${'A'.repeat(96)}`;

/** A well-formed incident as every step after Assess sees it, to be damaged. */
const INCIDENT = { service: SERVICE, cluster: 'acme-cluster', logGroup: `/ecs/${SERVICE}`, restartMode: 'force-new-deployment', lookbackMinutes: 60, expectedStartSeconds: 30, dryRun: false };
const incident = (extra: Record<string, unknown> = {}) => ({ ...INCIDENT, ...extra });
const WAIT = { checkEverySeconds: 15, stallSeconds: 60, maxSeconds: 300 };
/** Errors AWS answers a malformed request with. */
// (Not ValidationException: AWS's names the member that was wrong, which is the input's field.)
const AWS_PROTOCOL_ERRORS = new Set(['SerializationException', 'InvalidTimeRangeException', 'InvalidParameterException', 'InvalidParameterValueException', 'MissingParameter']);

/** What a hostile event for this handler must meet: a named error (any name, or one matching), an ignore, or a no-op. */
type Expect = 'error' | 'ignored' | 'no-op';

export interface HandlerCase {
  handler: string;
  name: string;
  event: (ctx: { canary: string }) => unknown;
  expect?: Expect;
}

/** Any handler, any garbage. */
const GARBAGE: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a string', 'acme-axon'],
  ['an array', [{ incident: INCIDENT }]],
  ['an empty object', {}],
  ['incident null', { incident: null }],
  ['incident empty', { incident: {} }],
  ['incident a string', { incident: SERVICE }],
  ['incident with path traversal', { incident: incident({ service: '../acme-axon' }) }],
  ['__proto__ key', JSON.parse('{"__proto__": {"incident": {"service": "acme-axon"}}}')],
  ['a 200 KB string', 'x'.repeat(200 * 1024)],
  ['nested 1,000 deep', (() => {
    let v: unknown = 1;
    for (let i = 0; i < 1000; i++) v = { incident: v };
    return v;
  })()],
];

const WORKFLOW_HANDLERS = ['assess', 'inspect-changes', 'review-logs', 'restart-service', 'watch-stability', 'verify', 'restore-desired-count', 'request-approval'];

export const HANDLER_CASES: HandlerCase[] = [
  ...WORKFLOW_HANDLERS.flatMap((handler) => GARBAGE.map(([name, event]): HandlerCase => ({ handler, name, event: () => event }))),
  // assess: the start input
  { handler: 'assess', name: 'an unmanaged service', event: () => ({ service: 'payments-db' }) },
  { handler: 'assess', name: 'an unknown cluster', event: () => ({ service: SERVICE, cluster: 'nope-cluster' }) },
  { handler: 'assess', name: 'a health URL on another host', event: ({ canary }) => ({ service: SERVICE, healthUrl: canary }) },
  // inspect-changes, review-logs: the lookback window
  { handler: 'inspect-changes', name: 'lookbackMinutes 1e15', event: () => ({ incident: incident({ lookbackMinutes: 1e15 }) }) },
  { handler: 'inspect-changes', name: 'lookbackMinutes negative', event: () => ({ incident: incident({ lookbackMinutes: -60 }) }) },
  { handler: 'inspect-changes', name: 'an unknown cluster', event: () => ({ incident: incident({ cluster: 'nope-cluster' }) }) },
  { handler: 'review-logs', name: 'lookbackMinutes 1e15', event: () => ({ incident: incident({ lookbackMinutes: 1e15 }) }) },
  { handler: 'review-logs', name: 'lookbackMinutes negative', event: () => ({ incident: incident({ lookbackMinutes: -60 }) }) },
  { handler: 'review-logs', name: 'a log group wildcard', expect: 'no-op', event: () => ({ incident: incident({ logGroup: '*' }) }) },
  { handler: 'review-logs', name: 'a filter pattern of 2,000 characters', event: () => ({ incident: INCIDENT, pattern: 'E'.repeat(2000) }) },
  // restart-service: only managed services, only real attempts, no count from the input
  { handler: 'restart-service', name: 'an unmanaged service', event: () => ({ incident: incident({ service: 'payments-db' }), attempt: 'restart', execution: EXECUTION }) },
  { handler: 'restart-service', name: 'an unknown attempt', event: () => ({ incident: INCIDENT, attempt: 'nuke', execution: EXECUTION }) },
  { handler: 'restart-service', name: 'an execution that is not an ARN', event: () => ({ incident: INCIDENT, attempt: 'restart', execution: 'me' }) },
  { handler: 'restart-service', name: 'a scale-out with no restore point, asking for 400', event: () => ({ incident: INCIDENT, attempt: 'scale-out', desiredCount: 400, execution: EXECUTION }) },
  { handler: 'restart-service', name: 'an unknown cluster', event: () => ({ incident: incident({ cluster: 'nope-cluster' }), attempt: 'restart', execution: EXECUTION }) },
  { handler: 'restart-service', name: 'a negative desired count', event: () => ({ incident: INCIDENT, attempt: 'restart', desiredCount: -1, execution: EXECUTION }) },
  // restore-desired-count: never a count from the input
  { handler: 'restore-desired-count', name: 'an unmanaged service', event: () => ({ incident: incident({ service: 'payments-db' }), desiredCount: 2 }) },
  { handler: 'restore-desired-count', name: 'a desired count of 400 (2 → 400)', expect: 'no-op', event: () => ({ incident: INCIDENT, desiredCount: 400 }) },
  { handler: 'restore-desired-count', name: 'a desired count of 1e9', event: () => ({ incident: INCIDENT, desiredCount: 1e9 + 0.5 }) },
  { handler: 'restore-desired-count', name: 'an unknown cluster', event: () => ({ incident: incident({ cluster: 'nope-cluster' }), desiredCount: 2 }) },
  // watch-stability: a callback step's input
  { handler: 'watch-stability', name: 'an unmanaged, non-existent service', event: () => ({ incident: incident({ service: 'payments-db' }), change: { startedAt: '2026-11-28T03:00:00Z', wait: WAIT }, watch: 'restart', execution: EXECUTION, taskToken: TOKEN }) },
  { handler: 'watch-stability', name: 'a wait of 10 years', event: () => ({ incident: INCIDENT, change: { startedAt: '2026-11-28T03:00:00Z', wait: { ...WAIT, maxSeconds: 315_360_000 } }, watch: 'restart', execution: EXECUTION, taskToken: TOKEN }) },
  { handler: 'watch-stability', name: 'startedAt not a time', event: () => ({ incident: INCIDENT, change: { startedAt: 'yesterday', wait: WAIT }, watch: 'restart', execution: EXECUTION, taskToken: TOKEN }) },
  { handler: 'watch-stability', name: 'an empty task token', event: () => ({ incident: INCIDENT, change: { startedAt: '2026-11-28T03:00:00Z', wait: WAIT }, watch: 'restart', execution: EXECUTION, taskToken: '' }) },
  // verify: fetches only configured health URLs
  { handler: 'verify', name: 'a health URL on an unconfigured host', event: ({ canary }) => ({ incident: incident({ healthUrl: canary }) }) },
  // (Not the instance metadata address itself: this machine may have one, and the bench touches no network.)
  { handler: 'verify', name: 'a health URL with credentials on an unconfigured host', event: ({ canary }) => ({ incident: incident({ healthUrl: canary.replace('http://', 'http://admin:admin@') }) }) },
  { handler: 'verify', name: 'a file URL', event: () => ({ incident: incident({ healthUrl: 'file:///etc/passwd' }) }) },
  { handler: 'verify', name: 'an unknown cluster', event: () => ({ incident: incident({ cluster: 'nope-cluster' }) }) },
  // request-approval: a person is asked only about a managed service, by a real execution
  { handler: 'request-approval', name: 'an unmanaged service', event: () => ({ taskToken: TOKEN, execution: EXECUTION, request: { workflow: 'p0-system-down', action: 'restart', tier: 'on-call', timeoutSeconds: 900 }, incident: incident({ service: 'payments-db' }) }) },
  { handler: 'request-approval', name: 'an unknown tier', event: () => ({ taskToken: TOKEN, execution: EXECUTION, request: { workflow: 'p0-system-down', action: 'restart', tier: 'ceo', timeoutSeconds: 900 }, incident: INCIDENT }) },
  { handler: 'request-approval', name: 'a timeout of 0', event: () => ({ taskToken: TOKEN, execution: EXECUTION, request: { workflow: 'p0-system-down', action: 'restart', tier: 'on-call', timeoutSeconds: 0 }, incident: INCIDENT }) },
  { handler: 'request-approval', name: 'an empty task token', event: () => ({ taskToken: '', execution: EXECUTION, request: { workflow: 'p0-system-down', action: 'restart', tier: 'on-call', timeoutSeconds: 900 }, incident: INCIDENT }) },
  { handler: 'request-approval', name: 'evidence with Slack markup and 100 KB', event: () => ({ taskToken: TOKEN, execution: 'not-an-arn', request: { workflow: 'p0-system-down', action: 'restart', tier: 'on-call', timeoutSeconds: 900 }, incident: INCIDENT, evidence: { note: `<!channel> ${'x'.repeat(100_000)}` } }) },
  // record-incident (EventBridge: Step Functions Execution Status Change)
  ...([
    ['null', null],
    ['an empty object', {}],
    ['another detail-type', { 'detail-type': 'EC2 Instance State-change Notification', detail: { executionArn: EXECUTION, status: 'FAILED' } }],
    ['no executionArn', { 'detail-type': 'Step Functions Execution Status Change', detail: { status: 'FAILED' } }],
    ['status RUNNING', { 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: { executionArn: EXECUTION, status: 'RUNNING' } }],
    ['status unknown', { 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: { executionArn: EXECUTION, status: 'EXPLODED' } }],
    ['executionArn a number', { 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: { executionArn: 7, status: 'FAILED' } }],
  ] as [string, unknown][]).map(([name, event]): HandlerCase => ({ handler: 'record-incident', name, event: () => event, expect: 'ignored' })),
  { handler: 'record-incident', name: 'an execution that does not exist', event: () => ({ 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: { executionArn: EXECUTION, status: 'FAILED' } }) },
  { handler: 'record-incident', name: 'an executionArn of 100 KB', event: () => ({ 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: { executionArn: `arn:aws:states:us-east-1:123456789012:execution:x:${'y'.repeat(100_000)}`, status: 'FAILED' } }) },
  // ecs-events (EventBridge: ECS deployment and service-action events)
  ...([
    ['null', null],
    ['an empty object', {}],
    ['another detail-type', { 'detail-type': 'EC2 Instance State-change Notification', resources: ['x'], detail: { eventName: 'x' } }],
    ['no resources', { 'detail-type': 'ECS Service Action', resources: [], detail: { eventName: 'SERVICE_STEADY_STATE' } }],
    ['a resource that is not a service ARN', { 'detail-type': 'ECS Service Action', resources: ['../../etc/passwd'], detail: { eventName: 'SERVICE_STEADY_STATE' } }],
    ['detail a string', { 'detail-type': 'ECS Service Action', resources: ['arn:aws:ecs:us-east-1:123456789012:service/acme-cluster/acme-axon'], detail: 'x' }],
  ] as [string, unknown][]).map(([name, event]): HandlerCase => ({ handler: 'ecs-events', name, event: () => event, expect: 'ignored' })),
  { handler: 'ecs-events', name: 'an unmanaged service with no waits', expect: 'no-op', event: () => ({ 'detail-type': 'ECS Service Action', resources: ['arn:aws:ecs:us-east-1:999999999999:service/other-cluster/payments-db'], detail: { eventName: 'SERVICE_STEADY_STATE' } }) },
  // slack-interactions (API Gateway HTTP API event, or the approvals table's stream)
  ...([
    ['null', null, 'error'],
    ['a number', 42, 'error'],
    ['body a number', { body: 42, headers: {} }, 'error'],
    ['body an object', { body: { payload: 'x' }, headers: {} }, 'error'],
    ['headers null', { headers: null, body: 'payload=x' }, 'error'],
    ['base64 body that is not base64', { isBase64Encoded: true, body: '!!!', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'error'],
    ['method GET', { requestContext: { http: { method: 'GET' } }, headers: {} }, 'error'],
    ['stream: no records', { Records: [] }, 'no-op'],
    ['stream: a record that is not a stream record', { Records: [{ eventSource: 'aws:dynamodb', dynamodb: null }] }, 'no-op'],
    ['stream: an approval id that does not exist', { Records: [{ eventSource: 'aws:dynamodb', dynamodb: { Keys: { id: { S: 'apr-0123456789abcdef0123' } }, SequenceNumber: '1' } }] }, 'no-op'],
    ['stream: an id with path traversal', { Records: [{ eventSource: 'aws:dynamodb', dynamodb: { Keys: { id: { S: '../apr-0123456789abcdef0123' } }, SequenceNumber: '1' } }] }, 'no-op'],
  ] as [string, unknown, Expect][]).map(([name, event, expect]): HandlerCase => ({ handler: 'slack-interactions', name, event: () => event, expect })),
];

/** An internal host that must never be fetched: counts the requests it gets. */
async function canaryServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('internal secrets');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/internal/admin`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function capture(lines: { message: string; data: Record<string, unknown> }[]): Logger {
  const write = (message: string, data: Record<string, unknown> = {}) => void lines.push({ message, data });
  return { info: write, warn: write, error: write };
}

export async function runHandlerEvents(opts: { cases?: HandlerCase[] } = {}): Promise<EntryReport> {
  const cases = opts.cases ?? HANDLER_CASES;
  const wall = performance.now();
  const sandbox = await Sandbox.start(parseScenario({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }));
  const canary = await canaryServer();
  const outcomes: Outcome[] = [];
  try {
    sandbox.playOut();
    const eventBridge = eventBridgeOf(sandbox);
    const options = sandbox.clientOptions();
    const fake = slackOf(sandbox);
    const lines: { message: string; data: Record<string, unknown> }[] = [];
    const slackApi: SlackApi = fetchSlackApi({ token: fake.secrets.botToken, apiUrl: fake.apiUrl });
    const slackDeps: SlackInteractionsDeps = {
      dynamo: documentClient(options),
      sfn: sfnClient(options),
      clock: sandbox.clock,
      config: { table: 'incident-flows-approvals', channel: SLACK_CHANNEL, approvers: SLACK_APPROVERS, slackApiUrl: fake.apiUrl, responseUrlPrefixes: [fake.responseUrlPrefix] },
      secrets: async () => fake.secrets,
      slack: async () => slackApi,
      groupMembers: cachedGroupMembers(slackApi, () => sandbox.clock.nowMs()),
      log: silentLogger,
    };
    const ecsDeps = { ecs: ecsClient(options), elbv2: elbv2Client(options), sfn: sfnClient(options), watches: new WatchStore(documentClient(options), 'incident-flows-stability-watches'), clock: sandbox.clock, log: capture(lines) };
    const invoke = async (c: HandlerCase, event: unknown): Promise<unknown> => {
      switch (c.handler) {
        case 'record-incident':
          return eventBridge.deliverToRecordIncident(event);
        case 'ecs-events':
          return onEcsEvent(event, ecsDeps);
        case 'slack-interactions':
          // The function's two doors, as its exported handler routes them.
          return isApprovalStreamEvent(event) ? deliverRecordedDecisions(event, slackDeps) : handleSlackInteraction(requestFromHttpApi(event as HttpApiEvent), slackDeps);
        default:
          return sandbox.sfn.invokeFunction(c.handler, event);
      }
    };
    const probe = new MutationProbe(sandbox);
    for (const c of cases) {
      const before = await probe.snapshot();
      const hitsBefore = canary.hits();
      const started = performance.now();
      let v: { verdict: Verdict; name?: string; detail: string };
      try {
        const result = (await within(invoke(c, c.event({ canary: canary.url })), 20_000)) as Record<string, unknown> | null;
        v = judgeResult(c, result);
      } catch (err) {
        v = err instanceof TimeoutError ? { verdict: 'hang', name: 'timeout', detail: err.message } : fromError(err);
        // AWS refusing what the handler sent means the handler passed the input on unchecked: the
        // name is AWS's complaint about the request, not about the field that was wrong.
        if (v.verdict === 'named-error' && AWS_PROTOCOL_ERRORS.has(v.name ?? '')) v = { ...v, verdict: 'unnamed-error', detail: `${v.detail} (AWS refused the request the handler built from the input)` };
      }
      const ms = performance.now() - started;
      await eventBridge.settled();
      await fake.deliveries();
      if (canary.hits() > hitsBefore) v = { verdict: 'accepted', name: v.name ?? 'fetched', detail: `fetched ${canary.url}, a host nobody configured (${v.verdict}: ${v.detail})` };
      const { mutations, records } = probe.diff(before, await probe.snapshot());
      outcomes.push(outcome(ENTRY, `${c.handler}: ${c.name}`, v, mutations, records, ms));
    }
    if (!(await clockMoves(sandbox))) outcomes.push(outcome(ENTRY, 'afterwards: the virtual clock still moves', { verdict: 'hang', name: 'clock', detail: 'the clock no longer moves' }, [], [], 0));
  } finally {
    await canary.close();
    await sandbox.stop();
  }
  return { entry: ENTRY, outcomes, wallMs: performance.now() - wall };
}

/** A handler that answered: did it say it ignored the event, do a declared no-op, or take it? */
function judgeResult(c: HandlerCase, result: Record<string, unknown> | null): { verdict: Verdict; name?: string; detail: string } {
  const text = JSON.stringify(result)?.slice(0, 300) ?? 'null';
  if (result && result.outcome === 'ignored' && typeof result.reason === 'string' && result.reason) return { verdict: 'ignored', name: 'ignored', detail: result.reason };
  // The Slack callback answers HTTP: a refusal is a 4xx with a code.
  if (result && typeof result.statusCode === 'number') {
    const body = (() => {
      try {
        return JSON.parse(String(result.body)) as { code?: string; text?: string };
      } catch {
        return {};
      }
    })();
    if (result.statusCode >= 400 && result.statusCode < 500 && body.code) return { verdict: 'named-error', name: `${result.statusCode} ${body.code}`, detail: body.text ?? '' };
    return { verdict: result.statusCode >= 500 ? 'unnamed-error' : 'accepted', name: `${result.statusCode} ${body.code ?? ''}`, detail: body.text ?? text };
  }
  if (c.expect === 'no-op') return { verdict: 'no-op', name: 'no-op', detail: text };
  return { verdict: 'accepted', name: 'answered', detail: text };
}
