/**
 * Entry point: alarm events to start-incident (EventBridge's "CloudWatch Alarm State Change" rule,
 * or anyone invoking the function by hand). Each hostile event must be ignored with one log line
 * naming why — start-incident never throws on a bad event — and start nothing, lock nothing.
 */
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';
import { clockMoves, fromError, MutationProbe, outcome, TimeoutError, within, type EntryReport, type Outcome } from './harness.ts';

const ENTRY = 'alarm events' as const;
const SERVICE = 'acme-axon';

/** A well-formed alarm event for acme-axon going into ALARM, to be damaged. */
export function alarm(detail: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-11-28T03:03:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:acme-axon-unhealthy-hosts'],
    detail: { alarmName: `${SERVICE}-unhealthy-hosts`, state: { value: 'ALARM', reason: 'Threshold Crossed' }, previousState: { value: 'OK' }, ...detail },
    ...extra,
  };
}

const withDimensions = (dimensions: unknown[]) =>
  alarm({ configuration: { metrics: dimensions.map((d, i) => ({ id: `m${i}`, metricStat: { metric: { namespace: 'ECS/ContainerInsights', name: 'RunningTaskCount', dimensions: d } } })) } });

const deep = (n: number, leaf: unknown = 1): string => `${'['.repeat(n)}${JSON.stringify(leaf)}${']'.repeat(n)}`;
const deepObject = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

export interface AlarmCase {
  name: string;
  /** The event (a string stands for a raw, possibly non-JSON body). */
  event: () => unknown;
  /** Alarms to create in the sandbox's CloudWatch first, with their tags (read by tag routing). */
  alarms?: Record<string, Record<string, string>>;
}

const tagged = (alarmName: string) =>
  alarm({ alarmName }, { resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`] });

export const ALARM_CASES: AlarmCase[] = [
  // not an object at all
  { name: 'null', event: () => null },
  { name: 'undefined', event: () => undefined },
  { name: 'a number', event: () => 42 },
  { name: 'NaN', event: () => Number.NaN },
  { name: 'true', event: () => true },
  { name: 'an empty string', event: () => '' },
  { name: 'whitespace', event: () => ' \n\t ' },
  { name: 'the string "null"', event: () => 'null' },
  { name: 'non-JSON text', event: () => '{"detail-type": "CloudWatch Alarm State Change", detail: oops' },
  { name: 'JSON with a trailing comma', event: () => '{"detail-type": "CloudWatch Alarm State Change",}' },
  { name: 'binary garbage', event: () => new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x22, 0x80, 0x81]) },
  { name: 'an empty array', event: () => [] },
  { name: 'an array holding a valid alarm', event: () => [alarm()] },
  { name: 'an empty object', event: () => ({}) },
  // detail-type and source
  { name: 'another detail-type', event: () => alarm({}, { 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2' }) },
  { name: 'detail-type in lower case', event: () => alarm({}, { 'detail-type': 'cloudwatch alarm state change' }) },
  { name: 'detail-type with a trailing space', event: () => alarm({}, { 'detail-type': 'CloudWatch Alarm State Change ' }) },
  { name: 'detail-type a number', event: () => alarm({}, { 'detail-type': 7 }) },
  { name: 'detail-type an array', event: () => alarm({}, { 'detail-type': ['CloudWatch Alarm State Change'] }) },
  // detail
  { name: 'no detail', event: () => alarm({}, { detail: undefined }) },
  { name: 'detail null', event: () => alarm({}, { detail: null }) },
  { name: 'detail a string', event: () => alarm({}, { detail: 'acme-axon-unhealthy-hosts ALARM' }) },
  { name: 'detail an array', event: () => alarm({}, { detail: [alarm().detail] }) },
  // alarm name
  { name: 'no alarm name', event: () => alarm({ alarmName: undefined }) },
  { name: 'empty alarm name', event: () => alarm({ alarmName: '' }) },
  { name: 'alarm name a number', event: () => alarm({ alarmName: 123 }) },
  { name: 'alarm name an array', event: () => alarm({ alarmName: ['acme-axon-unhealthy-hosts'] }) },
  { name: 'alarm name of 256 characters', event: () => alarm({ alarmName: `${SERVICE}-${'x'.repeat(246)}` }) },
  { name: 'alarm name mapping to no service', event: () => alarm({ alarmName: 'billing-estimated-charges' }) },
  { name: 'alarm name that is only the service name', event: () => alarm({ alarmName: SERVICE }) },
  { name: 'alarm name with path traversal', event: () => alarm({ alarmName: '../acme-axon-unhealthy-hosts' }) },
  { name: 'alarm name with Slack markup', event: () => alarm({ alarmName: '<!channel> <https://evil.example|approve here>' }) },
  { name: 'alarm name in upper case', event: () => alarm({ alarmName: 'ACME-AXON-UNHEALTHY-HOSTS' }) },
  { name: 'alarm name with a NUL byte', event: () => alarm({ alarmName: 'billing\u0000acme-axon-x' }) },
  // what the alarm measures
  { name: 'alarm measuring an unmanaged service (canary)', event: () => ({ ...withDimensions([{ ServiceName: 'acme-axon-canary', ClusterName: 'acme-cluster' }]), detail: { ...(withDimensions([{ ServiceName: 'acme-axon-canary' }]).detail as object), alarmName: 'acme-axon-canary-unhealthy-hosts' } }) },
  { name: 'alarm measuring two services', event: () => withDimensions([{ ServiceName: 'acme-axon' }, { ServiceName: 'acme-orbit' }]) },
  { name: 'alarm measuring a service named __proto__', event: () => withDimensions([{ ServiceName: '__proto__' }]) },
  // tag routing: tags name the service when no prefix matches; only managed services are routed
  { name: 'tags naming an unmanaged service', alarms: { 'rogue-latency': { 'incident-flows:service': 'payments-db' } }, event: () => tagged('rogue-latency') },
  { name: 'tags naming a service with path traversal', alarms: { 'rogue-dots': { 'incident-flows:service': '../acme-axon' } }, event: () => tagged('rogue-dots') },
  { name: 'tags naming a service __proto__', alarms: { 'rogue-proto': { 'incident-flows:service': '__proto__' } }, event: () => tagged('rogue-proto') },
  { name: 'an alarm ARN of another account', event: () => alarm({ alarmName: 'rogue-other' }, { resources: ['arn:aws:cloudwatch:us-east-1:999999999999:alarm:rogue-other'] }) },
  // state
  { name: 'state OK', event: () => alarm({ state: { value: 'OK' } }) },
  { name: 'state INSUFFICIENT_DATA', event: () => alarm({ state: { value: 'INSUFFICIENT_DATA' } }) },
  { name: 'state "alarm" in lower case', event: () => alarm({ state: { value: 'alarm' } }) },
  { name: 'state a string, not an object', event: () => alarm({ state: 'ALARM' }) },
  { name: 'state value a number', event: () => alarm({ state: { value: 1 } }) },
  { name: 'no state', event: () => alarm({ state: undefined }) },
  { name: 'state reason an object', event: () => alarm({ state: { value: 'ALARM', reason: { text: 'x' } } }) },
  // envelope
  { name: 'no id', event: () => alarm({}, { id: undefined }) },
  { name: 'empty id', event: () => alarm({}, { id: '' }) },
  { name: 'id a huge number', event: () => alarm({}, { id: 1e308 }) },
  { name: 'time "yesterday"', event: () => alarm({}, { time: 'yesterday' }) },
  { name: 'time empty', event: () => alarm({}, { time: '' }) },
  { name: 'time a number', event: () => alarm({}, { time: 1796526180 }) },
  { name: 'time out of range', event: () => alarm({}, { time: '2026-13-45T99:99:99Z' }) },
  { name: 'resources not an array', event: () => alarm({}, { resources: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:acme-axon-unhealthy-hosts' }) },
  // prototype pollution, written as JSON text so __proto__ is an own key
  { name: '__proto__ carrying the detail-type', event: () => '{"__proto__": {"detail-type": "CloudWatch Alarm State Change", "detail": {"alarmName": "acme-axon-x", "state": {"value": "ALARM"}}}}' },
  { name: 'constructor.prototype pollution', event: () => '{"constructor": {"prototype": {"detail-type": "CloudWatch Alarm State Change"}}, "id": "x"}' },
  // size and depth
  { name: 'oversized event (300 KB description)', event: () => alarm({ configuration: { description: 'x'.repeat(300 * 1024) } }) },
  { name: 'a 1 MB string', event: () => 'x'.repeat(1024 * 1024) },
  { name: 'JSON text nested 40,000 deep', event: () => deep(40_000) },
  { name: 'detail nested 40,000 deep (text)', event: () => `{"detail-type":"CloudWatch Alarm State Change","id":"x","time":"2026-11-28T03:03:00Z","source":"aws.cloudwatch","detail":${deep(40_000)}}` },
  { name: 'configuration nested 10,000 deep (object)', event: () => alarm({ configuration: deepObject(10_000) }) },
  { name: 'state reason of 1 MB', event: () => alarm({ state: { value: 'ALARM', reason: 'r'.repeat(1024 * 1024) } }) },
  // Last: if it is taken for a real alarm, the execution it starts runs on during later cases.
  { name: 'tags with an unknown severity', alarms: { 'rogue-sev': { 'incident-flows:service': 'acme-axon', 'incident-flows:severity': 'P9' } }, event: () => tagged('rogue-sev') },
];

/**
 * Delivers every case to start-incident on a sandbox whose acme-axon crash-loops (an event taken
 * for a real alarm would restart it, which the probe would see).
 */
export async function runAlarmEvents(opts: { quick?: boolean; cases?: AlarmCase[] } = {}): Promise<EntryReport> {
  const cases = opts.cases ?? ALARM_CASES;
  const wall = performance.now();
  const sandbox = await Sandbox.start(parseScenario({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }));
  const outcomes: Outcome[] = [];
  try {
    sandbox.playOut();
    const eventBridge = eventBridgeOf(sandbox);
    eventBridge.holdClock();
    const probe = new MutationProbe(sandbox);
    for (const c of cases) {
      for (const [name, tags] of Object.entries(c.alarms ?? {})) sandbox.alarms.put(name, tags);
      const before = await probe.snapshot();
      const logsBefore = eventBridge.logs.length;
      const started = performance.now();
      let v: { verdict: Outcome['verdict']; name?: string; detail: string };
      try {
        const result = await within(eventBridge.deliverToStartIncident(c.event()), 10_000);
        const line = eventBridge.logs.slice(logsBefore).find((l) => l.handler === 'start-incident' && l.message.startsWith('event ignored'));
        const reason = typeof line?.data.reason === 'string' ? line.data.reason : '';
        if (result.outcome === 'ignored' && reason) v = { verdict: 'ignored', name: 'ignored', detail: reason };
        else if (result.outcome === 'ignored') v = { verdict: 'unnamed-error', name: 'ignored', detail: `ignored without a logged reason: ${result.reason}` };
        else v = { verdict: 'accepted', name: result.outcome, detail: JSON.stringify(result) };
      } catch (err) {
        v = err instanceof TimeoutError ? { verdict: 'hang', name: 'timeout', detail: err.message } : fromError(err);
      }
      const ms = performance.now() - started;
      await eventBridge.settled();
      const { mutations, records } = probe.diff(before, await probe.snapshot());
      outcomes.push(outcome(ENTRY, c.name, v, mutations, records, ms));
    }
    eventBridge.releaseClock();
    if (!(await clockMoves(sandbox))) outcomes.push(outcome(ENTRY, 'afterwards: the virtual clock still moves', { verdict: 'hang', name: 'clock', detail: 'the clock no longer moves' }, [], [], 0));
  } finally {
    await sandbox.stop();
  }
  return { entry: ENTRY, outcomes, wallMs: performance.now() - wall };
}
