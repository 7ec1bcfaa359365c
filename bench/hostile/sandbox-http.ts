/**
 * Entry point: the sandbox's own HTTP API on 127.0.0.1 — what the AWS CLI, an SDK, or anything
 * else on the machine can send it. Each hostile request must get an error the caller can read, in
 * the request's protocol (awsJson `__type`, awsQuery `<Code>`, Slack's `{ok: false, error}`), or a
 * standard HTTP refusal — never a 5xx crash, a hang, or a frozen clock — and change nothing.
 */
import { STATUS_CODES } from 'node:http';
import { SFNClient, ListStateMachinesCommand } from '@aws-sdk/client-sfn';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';
import { slackOf } from '../../sandbox/slack.ts';
import { clockMoves, hasStackTrace, MutationProbe, outcome, TimeoutError, truncate, within, type EntryReport, type Outcome, type Verdict } from './harness.ts';

const ENTRY = 'sandbox HTTP API' as const;

export interface HttpCase {
  name: string;
  request: (x: { arn: string; token: string }) => { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer };
  /** Puts the sandbox back after a request it wrongly took (counted first), so the next cases run on a sane fleet. */
  cleanup?: (sandbox: Sandbox) => Promise<void> | void;
}

/** Desired count back to 2: a fleet told to run a billion tasks would block the simulator the next time it advances. */
const resetAxon = (sandbox: Sandbox) => void sandbox.fleet.handle('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 2 });

const JSON10 = 'application/x-amz-json-1.0';
const JSON11 = 'application/x-amz-json-1.1';
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const sfn = (op: string, body: unknown) => ({ headers: { 'content-type': JSON10, 'x-amz-target': `AWSStepFunctions.${op}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const ecs = (op: string, body: unknown) => ({ headers: { 'content-type': JSON11, 'x-amz-target': `AmazonEC2ContainerServiceV20141113.${op}` }, body: JSON.stringify(body) });
const cw = (op: string, body: unknown) => ({ headers: { 'content-type': JSON10, 'x-amz-target': `GraniteServiceVersion20100801.${op}` }, body: JSON.stringify(body) });
const trail = (op: string, body: unknown) => ({ headers: { 'content-type': JSON11, 'x-amz-target': `CloudTrail_20131101.${op}` }, body: JSON.stringify(body) });
const logs = (op: string, body: unknown) => ({ headers: { 'content-type': JSON11, 'x-amz-target': `Logs_20140328.${op}` }, body: JSON.stringify(body) });
/** dynalite checks a SigV4 header is complete (not that it is right): a well-formed one, as the SDK sends. */
const ddb = (op: string, body: string) => ({
  headers: {
    'content-type': JSON10,
    'x-amz-target': `DynamoDB_20120810.${op}`,
    'x-amz-date': '20261128T030000Z',
    authorization: 'AWS4-HMAC-SHA256 Credential=sandbox/20261128/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000',
  },
  body,
});
const query = (params: Record<string, string>) => ({ headers: { 'content-type': FORM }, body: new URLSearchParams(params).toString() });
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const TOKEN = `AQB${'Z'.repeat(96)}`;
const start = (x: { arn: string }, extra: Record<string, unknown>) => sfn('StartExecution', { stateMachineArn: x.arn, ...extra });

export const HTTP_CASES: HttpCase[] = [
  // Step Functions: StartExecution
  { name: 'StartExecution with a 1 MB input', request: (x) => start(x, { input: JSON.stringify({ service: 'acme-axon', reason: 'x'.repeat(1024 * 1024) }) }) },
  { name: 'StartExecution with a 300 KB input', request: (x) => start(x, { input: JSON.stringify({ service: 'acme-axon', reason: 'x'.repeat(300 * 1024) }) }) },
  { name: 'StartExecution with JSON nested 40,000 deep', request: (x) => start(x, { input: deep(40_000) }) },
  { name: 'StartExecution with objects nested 5,000 deep', request: (x) => start(x, { input: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}` }) },
  { name: 'StartExecution with an input that is not JSON', request: (x) => start(x, { input: '{service: acme-axon}' }) },
  { name: 'StartExecution with an input that is a number', request: (x) => start(x, { input: 5 }) },
  { name: 'StartExecution with an input that is an object', request: (x) => start(x, { input: { service: 'acme-axon' } }) },
  { name: 'StartExecution named "../x"', request: (x) => start(x, { name: '../x', input: '{}' }) },
  { name: 'StartExecution with an 81-character name', request: (x) => start(x, { name: 'n'.repeat(81), input: '{}' }) },
  { name: 'StartExecution with a name that is an array', request: (x) => start(x, { name: [deep(1000)], input: '{}' }) },
  { name: 'StartExecution of a state machine that does not exist', request: () => sfn('StartExecution', { stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:nope', input: '{}' }) },
  { name: 'StartExecution without a state machine', request: () => sfn('StartExecution', { input: '{}' }) },
  { name: 'StartExecution with a 100 KB state machine ARN', request: () => sfn('StartExecution', { stateMachineArn: `arn:${'a'.repeat(100_000)}`, input: '{}' }) },
  // Step Functions: the body itself
  { name: 'a body that is not JSON', request: () => sfn('StartExecution', '{"stateMachineArn": ') },
  { name: 'an empty body', request: () => sfn('StartExecution', '') },
  { name: 'a body that is null', request: () => sfn('DescribeExecution', 'null') },
  { name: 'a body that is an array', request: () => sfn('DescribeExecution', '[]') },
  { name: 'a body that is a string', request: () => sfn('ListExecutions', '"arn"') },
  { name: 'a body nested 40,000 deep', request: () => sfn('ListStateMachines', deep(40_000)) },
  { name: 'a body with a field nested 40,000 deep', request: () => sfn('DescribeExecution', `{"executionArn": 5, "x": ${deep(40_000)}}`) },
  { name: 'binary garbage as the body', request: () => ({ headers: { 'content-type': JSON10, 'x-amz-target': 'AWSStepFunctions.ListStateMachines' }, body: Buffer.from([0xff, 0xfe, 0x00, 0x80]) }) },
  { name: 'an operation the sandbox does not serve', request: () => sfn('DeleteStateMachine', { stateMachineArn: 'x' }) },
  { name: 'an unknown service target', request: () => ({ headers: { 'content-type': JSON10, 'x-amz-target': 'Foo_20991231.Bar' }, body: '{}' }) },
  { name: 'a target without an operation', request: () => ({ headers: { 'content-type': JSON10, 'x-amz-target': 'AWSStepFunctions' }, body: '{}' }) },
  { name: 'a 10 KB target', request: () => ({ headers: { 'content-type': JSON10, 'x-amz-target': `AWSStepFunctions.${'X'.repeat(10_000)}` }, body: '{}' }) },
  // Step Functions: tokens, executions, paging
  { name: 'SendTaskSuccess with a forged token', request: () => sfn('SendTaskSuccess', { taskToken: TOKEN, output: '{"decision":"approved"}' }) },
  { name: 'SendTaskSuccess with a malformed token', request: () => sfn('SendTaskSuccess', { taskToken: 'let-me-in', output: '{}' }) },
  { name: 'SendTaskSuccess with output nested 40,000 deep', request: () => sfn('SendTaskSuccess', { taskToken: TOKEN, output: deep(40_000) }) },
  { name: 'SendTaskSuccess with a 300 KB output', request: () => sfn('SendTaskSuccess', { taskToken: TOKEN, output: JSON.stringify('x'.repeat(300 * 1024)) }) },
  { name: 'SendTaskFailure with a 100 KB cause', request: () => sfn('SendTaskFailure', { taskToken: TOKEN, error: 'ApprovalRejected', cause: 'c'.repeat(100_000) }) },
  // The real token of a task that waits for a person (leaked, say): hostile answers must not close it.
  { name: 'SendTaskSuccess with the real token and output nested 40,000 deep', request: (x) => sfn('SendTaskSuccess', { taskToken: x.token, output: deep(40_000) }) },
  { name: 'SendTaskSuccess with the real token and a 300 KB output', request: (x) => sfn('SendTaskSuccess', { taskToken: x.token, output: JSON.stringify({ decision: 'approved', pad: 'x'.repeat(300 * 1024) }) }) },
  { name: 'SendTaskSuccess with the real token and output that is not JSON', request: (x) => sfn('SendTaskSuccess', { taskToken: x.token, output: 'approved' }) },
  { name: 'SendTaskSuccess with the real token and no output', request: (x) => sfn('SendTaskSuccess', { taskToken: x.token }) },
  { name: 'SendTaskFailure with the real token and a 100 KB cause', request: (x) => sfn('SendTaskFailure', { taskToken: x.token, error: 'ApprovalRejected', cause: 'c'.repeat(100_000) }) },
  { name: 'SendTaskFailure with the real token and a 1,000-character error', request: (x) => sfn('SendTaskFailure', { taskToken: x.token, error: 'E'.repeat(1000) }) },
  { name: 'SendTaskHeartbeat without a token', request: () => sfn('SendTaskHeartbeat', {}) },
  { name: 'StopExecution of an execution that does not exist', request: () => sfn('StopExecution', { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:nope' }) },
  { name: 'DescribeExecution of a number', request: () => sfn('DescribeExecution', { executionArn: 7 }) },
  { name: 'ListExecutions with maxResults -1', request: (x) => sfn('ListExecutions', { stateMachineArn: x.arn, maxResults: -1 }) },
  { name: 'ListExecutions with maxResults 1e9', request: (x) => sfn('ListExecutions', { stateMachineArn: x.arn, maxResults: 1e9 }) },
  { name: 'ListExecutions with maxResults "all"', request: (x) => sfn('ListExecutions', { stateMachineArn: x.arn, maxResults: 'all' }) },
  { name: 'ListExecutions with an unknown status filter', request: (x) => sfn('ListExecutions', { stateMachineArn: x.arn, statusFilter: 'EXPLODED' }) },
  { name: 'ListExecutions with a forged page token', request: (x) => sfn('ListExecutions', { stateMachineArn: x.arn, nextToken: Buffer.from('sandbox-page-99999999999999999999').toString('base64url') }) },
  { name: 'ListStateMachines with a garbage page token', request: () => sfn('ListStateMachines', { nextToken: '!!!' }) },
  // ECS
  { name: 'UpdateService to desired count -1', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', desiredCount: -1 }) },
  { name: 'UpdateService to desired count 1e9', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 1e9 }), cleanup: resetAxon },
  { name: 'UpdateService to desired count "2"', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', desiredCount: '2' }) },
  { name: 'UpdateService to desired count 1.5', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 1.5 }) },
  { name: 'UpdateService of a service that does not exist', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-nope', forceNewDeployment: true }) },
  { name: 'UpdateService in cluster "../"', request: () => ecs('UpdateService', { cluster: '../', service: 'acme-axon', forceNewDeployment: true }) },
  { name: 'UpdateService without a service', request: () => ecs('UpdateService', { cluster: 'acme-cluster', forceNewDeployment: true }) },
  { name: 'UpdateService with forceNewDeployment "yes"', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', forceNewDeployment: 'yes' }) },
  { name: 'UpdateService to a task definition that does not exist', request: () => ecs('UpdateService', { cluster: 'acme-cluster', service: 'acme-axon', taskDefinition: 'evil:1' }) },
  { name: 'DescribeServices of 1,000 services', request: () => ecs('DescribeServices', { cluster: 'acme-cluster', services: Array.from({ length: 1000 }, (_, i) => `s${i}`) }) },
  { name: 'DescribeServices with services a string', request: () => ecs('DescribeServices', { cluster: 'acme-cluster', services: 'acme-axon' }) },
  { name: 'ListTasks with maxResults 1e9', request: () => ecs('ListTasks', { cluster: 'acme-cluster', maxResults: 1e9 }) },
  { name: 'RegisterTaskDefinition with no containers', request: () => ecs('RegisterTaskDefinition', { family: 'evil', containerDefinitions: [] }) },
  // CloudWatch
  { name: 'SetAlarmState of an alarm that does not exist', request: () => cw('SetAlarmState', { AlarmName: 'no-such-alarm', StateValue: 'ALARM', StateReason: 'x' }) },
  { name: 'SetAlarmState to "PANIC"', request: () => cw('SetAlarmState', { AlarmName: 'acme-axon-unhealthy-hosts', StateValue: 'PANIC', StateReason: 'x' }) },
  { name: 'SetAlarmState with a 10 KB reason', request: () => cw('SetAlarmState', { AlarmName: 'acme-axon-unhealthy-hosts', StateValue: 'ALARM', StateReason: 'r'.repeat(10_000) }) },
  { name: 'SetAlarmState without a reason', request: () => cw('SetAlarmState', { AlarmName: 'acme-axon-unhealthy-hosts', StateValue: 'ALARM' }) },
  { name: 'PutMetricAlarm with nothing', request: () => cw('PutMetricAlarm', {}) },
  { name: 'DeleteAlarms of 101 alarms', request: () => cw('DeleteAlarms', { AlarmNames: Array.from({ length: 101 }, (_, i) => `a${i}`) }) },
  { name: 'query protocol: SetAlarmState with another API version', request: () => query({ Action: 'SetAlarmState', Version: '1999-01-01', AlarmName: 'acme-axon-unhealthy-hosts', StateValue: 'ALARM', StateReason: 'x' }) },
  { name: 'query protocol: an unknown action', request: () => query({ Action: 'DropAllTables', Version: '2010-08-01' }) },
  { name: 'query protocol: SetAlarmState to "PANIC"', request: () => query({ Action: 'SetAlarmState', Version: '2010-08-01', AlarmName: 'acme-axon-unhealthy-hosts', StateValue: 'PANIC', StateReason: 'x' }) },
  { name: 'query protocol: SNS Publish to a topic that does not exist', request: () => query({ Action: 'Publish', Version: '2010-03-31', TopicArn: 'arn:aws:sns:us-east-1:123456789012:nope', Message: 'page everyone' }) },
  { name: 'query protocol: ELBv2 target health of a garbage ARN', request: () => query({ Action: 'DescribeTargetHealth', Version: '2015-12-01', TargetGroupArn: '../../x' }) },
  // CloudTrail, CloudWatch Logs
  { name: 'LookupEvents with MaxResults 1e9', request: () => trail('LookupEvents', { MaxResults: 1e9 }) },
  { name: 'LookupEvents with StartTime "yesterday"', request: () => trail('LookupEvents', { StartTime: 'yesterday' }) },
  { name: 'LookupEvents with two lookup attributes', request: () => trail('LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'Username', AttributeValue: 'b' }] }) },
  { name: 'FilterLogEvents in log group "*"', request: () => logs('FilterLogEvents', { logGroupName: '*' }) },
  { name: 'FilterLogEvents with a 10 KB filter pattern', request: () => logs('FilterLogEvents', { logGroupName: '/ecs/acme-axon', filterPattern: `"${'E'.repeat(10_000)}` }) },
  { name: 'FilterLogEvents with limit -1', request: () => logs('FilterLogEvents', { logGroupName: '/ecs/acme-axon', limit: -1 }) },
  { name: 'FilterLogEvents from 1e20', request: () => logs('FilterLogEvents', { logGroupName: '/ecs/acme-axon', startTime: 1e20 }) },
  // DynamoDB (dynalite)
  { name: 'DynamoDB GetItem with a body that is not JSON', request: () => ddb('GetItem', '{"TableName": ') },
  { name: 'DynamoDB GetItem with a body nested 40,000 deep', request: () => ddb('GetItem', `{"TableName": "incident-flows-incidents", "Key": ${deep(40_000)}}`) },
  { name: 'DynamoDB PutItem into a table that does not exist', request: () => ddb('PutItem', JSON.stringify({ TableName: 'no-such-table', Item: { pk: { S: 'x' } } })) },
  { name: 'DynamoDB PutItem with an empty key', request: () => ddb('PutItem', JSON.stringify({ TableName: 'incident-flows-incidents', Item: { pk: { S: '' } } })) },
  { name: 'DynamoDB Scan with Limit -1', request: () => ddb('Scan', JSON.stringify({ TableName: 'incident-flows-incidents', Limit: -1 })) },
  // raw routes: Slack's Web API, health URLs, anything else
  { name: 'Slack chat.postMessage without a token', request: () => ({ path: '/slack/api/chat.postMessage', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'C0INCIDENTS', text: '<!channel> approve here' }) }) },
  { name: 'Slack chat.update with a forged token', request: () => ({ path: '/slack/api/chat.update', headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-forged' }, body: JSON.stringify({ channel: 'C0INCIDENTS', ts: '1.000001', text: 'approved' }) }) },
  { name: 'a Slack method the fake does not have', request: () => ({ path: '/slack/api/admin.users.remove', headers: { 'content-type': 'application/json' }, body: '{}' }) },
  { name: 'GET with path traversal', request: () => ({ method: 'GET', path: '/../../etc/passwd' }) },
  { name: 'DELETE /', request: () => ({ method: 'DELETE', path: '/' }) },
  { name: 'a 20 MB body', request: () => ({ headers: { 'content-type': JSON10, 'x-amz-target': 'AWSStepFunctions.ListStateMachines' }, body: Buffer.alloc(20 * 1024 * 1024, 0x20) }) },
  { name: 'a 20 MB form body to no route', request: () => ({ path: '/nowhere', headers: { 'content-type': FORM }, body: Buffer.alloc(20 * 1024 * 1024, 0x61) }) },
];

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/** Named: awsJson `__type`, awsQuery `<Code>`, Slack `{ok: false, error}`, or a standard HTTP refusal with a body. */
function judge(a: Answer): { verdict: Verdict; name?: string; detail: string } {
  if (hasStackTrace(a.text)) return { verdict: 'stack-trace', name: String(a.status), detail: a.text };
  let json: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(a.text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) json = v as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (json && json.ok === false && typeof json.error === 'string') return { verdict: 'named-error', name: `${a.status} ${json.error}`, detail: truncate(a.text, 200) };
  if (a.status < 400) return { verdict: 'accepted', name: String(a.status), detail: truncate(a.text, 200) };
  if (a.status >= 500) return { verdict: 'unnamed-error', name: `${a.status} ${String(json?.__type ?? '')}`, detail: truncate(a.text, 200) };
  const type = typeof json?.__type === 'string' ? json.__type.split('#').pop()! : undefined;
  const message = json ? String(json.message ?? json.Message ?? '') : '';
  // (DynamoDB answers some errors with a type and no message, as dynalite does.)
  if (type) return { verdict: 'named-error', name: `${a.status} ${type}`, detail: message || '(no message)' };
  const code = /<Code>([^<]+)<\/Code>/.exec(a.text)?.[1];
  if (code) return { verdict: 'named-error', name: `${a.status} ${code}`, detail: /<Message>([^<]*)<\/Message>/.exec(a.text)?.[1] ?? '' };
  if ([404, 405, 413, 414, 431].includes(a.status)) return { verdict: 'named-error', name: `${a.status} ${STATUS_CODES[a.status]}`, detail: truncate(a.text, 200) || String(STATUS_CODES[a.status]) };
  return { verdict: 'unnamed-error', name: String(a.status), detail: truncate(a.text, 200) || '(no body)' };
}

export async function runSandboxHttp(opts: { cases?: HttpCase[] } = {}): Promise<EntryReport> {
  const cases = opts.cases ?? HTTP_CASES;
  const wall = performance.now();
  const sandbox = await Sandbox.start(parseScenario({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }));
  const outcomes: Outcome[] = [];
  try {
    sandbox.playOut();
    const arn = sandbox.stateMachineArn('p0-system-down');
    // A P0 beyond the budget, waiting for the on-call's approval: its task token is what a leak would
    // expose. The clock is held from the moment the request is posted (or time would jump to its timeout).
    const fake = slackOf(sandbox);
    let holding = false;
    const posted = new Promise<void>((resolve) => {
      const stop = fake.onMessage(() => {
        if (holding) return;
        holding = true;
        sandbox.clock.enter();
        stop();
        resolve();
      });
    });
    sandbox.sfn.start('incident-flows-p0-system-down', { service: 'acme-axon', trigger: { kind: 'alarm', alarmName: 'acme-axon-unhealthy-hosts' }, requireApproval: true });
    await within(posted, 10_000);
    for (let i = 0; i < 400 && sandbox.sfn.pendingTasks().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const token = sandbox.sfn.pendingTasks()[0]?.token ?? TOKEN;
    const waiting = new Set(sandbox.sfn.listExecutionRecords().map((e) => e.executionArn));
    const probe = new MutationProbe(sandbox);
    for (const c of cases) {
      // A simulated second between requests: rate limits (CloudTrail's 2 TPS) judge what is sent, not how fast the bench sends it.
      sandbox.clock.advance(1);
      const r = c.request({ arn, token });
      const before = await probe.snapshot();
      const started = performance.now();
      let v: { verdict: Verdict; name?: string; detail: string };
      try {
        const res = await within(
          fetch(`${sandbox.url}${r.path ?? '/'}`, {
            method: r.method ?? 'POST',
            headers: { authorization: 'AWS4-HMAC-SHA256 Credential=sandbox/20261128/us-east-1/unknown/aws4_request', ...r.headers },
            ...(r.body !== undefined && r.method !== 'GET' ? { body: r.body } : {}),
          }).then(async (x) => ({ status: x.status, contentType: x.headers.get('content-type') ?? '', text: await x.text() })),
          15_000,
        );
        v = judge(res);
      } catch (err) {
        v = err instanceof TimeoutError ? { verdict: 'hang', name: 'timeout', detail: err.message } : { verdict: 'unnamed-error', name: (err as Error).name, detail: `${(err as Error).message} ${String((err as Error).cause ?? '')}` };
      }
      const ms = performance.now() - started;
      // A started execution (a mistake) would run on: let it, so its mutations are counted here.
      const fresh = sandbox.sfn.listExecutionRecords().filter((e) => !waiting.has(e.executionArn));
      if (fresh.length) await Promise.race([Promise.all(fresh.map((e) => sandbox.sfn.wait(e.executionArn))), new Promise((res) => setTimeout(res, 3000))]);
      const { mutations, records } = probe.diff(before, await probe.snapshot());
      outcomes.push(outcome(ENTRY, c.name, v, mutations, records, ms));
      await c.cleanup?.(sandbox);
    }
    // Still serving, and still keeping time.
    const alive = await within(new SFNClient(sandbox.clientOptions()).send(new ListStateMachinesCommand({})), 5000).then(
      () => true,
      () => false,
    );
    if (!alive) outcomes.push(outcome(ENTRY, 'afterwards: the sandbox still answers', { verdict: 'hang', name: 'dead', detail: 'ListStateMachines got no answer' }, [], [], 0));
    if (holding) sandbox.clock.leave();
    if (!(await clockMoves(sandbox))) outcomes.push(outcome(ENTRY, 'afterwards: the virtual clock still moves', { verdict: 'hang', name: 'clock', detail: 'the clock no longer moves' }, [], [], 0));
  } finally {
    await sandbox.stop();
  }
  return { entry: ENTRY, outcomes, wallMs: performance.now() - wall };
}
