import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type DescribeAlarmsCommandInput,
  type GetMetricStatisticsCommandInput,
  type MetricDataQuery,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../sandbox/clock.ts';
import { AlarmStore, defaultAlarms, mountMonitoring, type AlarmChange } from '../../sandbox/cloudwatch.ts';
import type { FleetReadings, ServiceSample } from '../../sandbox/fleet-views.ts';
import { AwsServiceError, SandboxHttpServer, type AwsJsonOutcome } from '../../sandbox/http.ts';
import { failure } from '../support/fleet.ts';

// The fleet: acme-axon behind a target group, acme-orbit without one; an hour of history up to
// 03:00, and acme-axon crash-looping from 02:50 to 02:55 (tasks start, fail, are replaced).
const T0 = Date.parse('2026-11-28T03:00:00Z');
const MIN = 60_000;
const ACCOUNT = '123456789012';
const LB_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/acme-alb/50dc6c495c0c9188`;
const TG_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/acme-axon/73e2d6bc24d8a067`;
const AXON = [
  { Name: 'ClusterName', Value: 'acme-cluster' },
  { Name: 'ServiceName', Value: 'acme-axon' },
];
const TG_DIMS = [
  { Name: 'TargetGroup', Value: 'targetgroup/acme-axon/73e2d6bc24d8a067' },
  { Name: 'LoadBalancer', Value: 'app/acme-alb/50dc6c495c0c9188' },
];
const at = (hhmm: string) => new Date(`2026-11-28T${hhmm}:00Z`);

function fakeFleet(clock: VirtualClock): FleetReadings {
  const crashLooping = (ms: number) => ms >= T0 - 10 * MIN && ms < T0 - 5 * MIN;
  const sample = (service: string, ms: number): ServiceSample | undefined => {
    if (ms < T0 - 60 * MIN || ms > clock.nowMs()) return undefined;
    if (service === 'acme-axon' && crashLooping(ms)) return { desired: 2, running: 1, pending: 1, healthy: 0, failedLastMinute: 2 };
    return { desired: 2, running: 2, pending: 0, healthy: 2, failedLastMinute: 0 };
  };
  return {
    region: 'us-east-1',
    accountId: ACCOUNT,
    clusterName: 'acme-cluster',
    serviceNames: () => ['acme-axon', 'acme-orbit'],
    utilisationBaseline: (s) => ({ 'acme-axon': { cpu: 30, memory: 45 }, 'acme-orbit': { cpu: 20, memory: 35 } })[s],
    loadBalancers: () => [{ arn: LB_ARN, name: 'acme-alb', dnsName: 'internal-acme-alb-1.us-east-1.elb.amazonaws.com', vpcId: 'vpc-0abc', createdAt: new Date(T0 - 86_400_000) }],
    targetGroups: () => [
      {
        arn: TG_ARN,
        name: 'acme-axon',
        service: 'acme-axon',
        loadBalancerArn: LB_ARN,
        vpcId: 'vpc-0abc',
        port: 8080,
        healthCheck: { path: '/health', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' },
        deregistrationDelaySeconds: 300,
      },
    ],
    targetHealth: () => [],
    serviceSample: sample,
    targetSample: (arn, ms) => {
      const s = arn === TG_ARN ? sample('acme-axon', ms) : undefined;
      return s ? { healthy: s.healthy, unhealthy: s.running - s.healthy, other: 0 } : undefined;
    },
  };
}

interface Env {
  clock: VirtualClock;
  alarms: AlarmStore;
  changes: AlarmChange[];
  outcomes: AwsJsonOutcome[];
  /** `faults.next` fails the next CloudWatch call, as a scenario's API fault would. */
  faults: { next?: AwsServiceError };
  server: SandboxHttpServer;
  url: string;
  clients: Record<Protocol, CloudWatchClient>;
}
type Protocol = 'awsJson1.0' | 'awsQuery';
const PROTOCOLS: Protocol[] = ['awsJson1.0', 'awsQuery'];

/** A server as sandbox/index.ts mounts it: the awsJson target plus mountMonitoring's query services. */
async function boot(): Promise<Env> {
  const clock = new VirtualClock(T0);
  const readings = fakeFleet(clock);
  const alarms = new AlarmStore({ clock, region: 'us-east-1', accountId: ACCOUNT, alarms: defaultAlarms(readings) });
  const changes: AlarmChange[] = [];
  const outcomes: AwsJsonOutcome[] = [];
  const faults: Env['faults'] = {};
  alarms.onChange = (c) => changes.push(c);
  const server = new SandboxHttpServer();
  server.observe((o) => outcomes.push(o));
  server.intercept((call) => {
    const fail = faults.next;
    faults.next = undefined;
    if (fail && call.api === 'cloudwatch') throw fail;
  });
  server.registerJson('GraniteServiceVersion20100801', 'cloudwatch', '1.0', alarms.handle);
  mountMonitoring(server, { clock, readings, alarms });
  const url = await server.listen();
  const options = { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 };
  const clients = {
    'awsJson1.0': new CloudWatchClient(options),
    // The same real client speaking awsQuery (what older CLIs send), through the SDK's own serializer.
    awsQuery: new CloudWatchClient({ ...options, protocol: AwsQueryProtocol }),
  };
  return { clock, alarms, changes, outcomes, faults, server, url, clients };
}

let env: Env;
let clock: VirtualClock;
let alarms: AlarmStore;
let json: CloudWatchClient;
let query: CloudWatchClient;

beforeEach(async () => {
  env = await boot();
  ({ clock, alarms } = env);
  json = env.clients['awsJson1.0'];
  query = env.clients.awsQuery;
});

afterEach(async () => {
  json.destroy();
  query.destroy();
  await env.server.close();
});

/** The whole metric-alarm configuration PutMetricAlarm takes (Tags aside), as DescribeAlarms must give it back. */
const CPU_ALARM = {
  AlarmName: 'acme-axon-cpu-high',
  AlarmDescription: 'CPU above 80% for 3 of 5 minutes <&> "quoted"',
  ActionsEnabled: false,
  AlarmActions: ['arn:aws:sns:us-east-1:123456789012:pager'],
  OKActions: ['arn:aws:sns:us-east-1:123456789012:pager-ok'],
  InsufficientDataActions: [],
  Namespace: 'AWS/ECS',
  MetricName: 'CPUUtilization',
  Dimensions: AXON,
  Statistic: 'Average',
  Period: 60,
  EvaluationPeriods: 5,
  DatapointsToAlarm: 3,
  Threshold: 80.5,
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'breaching',
  Unit: 'Percent',
} as const satisfies PutMetricAlarmCommandInput;

const putCpuAlarm = (client: CloudWatchClient, overrides: Record<string, unknown> = {}) =>
  client.send(new PutMetricAlarmCommand({ ...CPU_ALARM, Tags: [{ Key: 'incident-flows:service', Value: 'acme-axon' }], ...overrides }));

describe('alarms', () => {
  it.each(PROTOCOLS)('DescribeAlarms shows each service\'s default alarm as a team would set it (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const { MetricAlarms = [], CompositeAlarms } = await client.send(new DescribeAlarmsCommand({}));
    expect(CompositeAlarms).toEqual([]);
    expect(MetricAlarms.map((a) => a.AlarmName)).toEqual(['acme-axon-unhealthy-hosts', 'acme-orbit-unhealthy-hosts']);
    const [axon, orbit] = MetricAlarms;
    expect(axon).toMatchObject({
      AlarmArn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:acme-axon-unhealthy-hosts`,
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'UnHealthyHostCount',
      Dimensions: TG_DIMS,
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      StateValue: 'OK',
      ActionsEnabled: true,
    });
    expect(axon!.StateUpdatedTimestamp).toEqual(new Date(T0));
    // Without a target group: Container Insights' running tasks short of the desired count.
    expect(orbit!.Metrics?.map((m) => m.Expression ?? m.MetricStat?.Metric?.MetricName)).toEqual(['RunningTaskCount', 'DesiredTaskCount', 'desired - running']);
    expect(orbit!.Metrics?.[0]?.MetricStat?.Metric?.Dimensions).toEqual([
      { Name: 'ClusterName', Value: 'acme-cluster' },
      { Name: 'ServiceName', Value: 'acme-orbit' },
    ]);
  });

  it.each(PROTOCOLS)('PutMetricAlarm stores the whole configuration and DescribeAlarms shows it, in state INSUFFICIENT_DATA (%s)', async (protocol) => {
    const client = env.clients[protocol];
    clock.advance(90);
    await putCpuAlarm(client);
    // Read back over the other protocol: both answer from one store.
    const other = client === json ? query : json;
    const { MetricAlarms = [] } = await other.send(new DescribeAlarmsCommand({ AlarmNames: ['acme-axon-cpu-high'] }));
    expect(MetricAlarms).toHaveLength(1);
    expect(MetricAlarms[0]).toMatchObject({
      ...CPU_ALARM,
      StateValue: 'INSUFFICIENT_DATA',
      StateReason: 'Unchecked: Initial alarm creation',
    });
    expect(MetricAlarms[0]!.AlarmConfigurationUpdatedTimestamp).toEqual(new Date(T0 + 90_000));
    const tags = await client.send(new ListTagsForResourceCommand({ ResourceARN: alarms.arnOf('acme-axon-cpu-high') }));
    expect(tags.Tags).toEqual([{ Key: 'incident-flows:service', Value: 'acme-axon' }]);
  });

  it('an update replaces the configuration but keeps the state, and ignores Tags', async () => {
    await putCpuAlarm(query);
    await json.send(new SetAlarmStateCommand({ AlarmName: 'acme-axon-cpu-high', StateValue: 'ALARM', StateReason: 'by hand' }));
    clock.advance(60);
    await putCpuAlarm(json, { Threshold: 90, AlarmActions: [], Tags: [{ Key: 'team', Value: 'payments' }] });
    const [alarm] = (await query.send(new DescribeAlarmsCommand({ AlarmNames: ['acme-axon-cpu-high'] }))).MetricAlarms ?? [];
    expect(alarm).toMatchObject({ Threshold: 90, AlarmActions: [], StateValue: 'ALARM', StateReason: 'by hand' });
    expect(alarm!.AlarmConfigurationUpdatedTimestamp).toEqual(new Date(T0 + 60_000));
    const tags = await json.send(new ListTagsForResourceCommand({ ResourceARN: alarms.arnOf('acme-axon-cpu-high') }));
    expect(tags.Tags).toEqual([{ Key: 'incident-flows:service', Value: 'acme-axon' }]);
  });

  it.each(PROTOCOLS)('PutMetricAlarm refuses what AWS refuses (%s)', async (protocol) => {
    const client = env.clients[protocol];
    expect(await failure(putCpuAlarm(client, { DatapointsToAlarm: 6 }))).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(await failure(putCpuAlarm(client, { ExtendedStatistic: 'p99' }))).toMatchObject({ name: 'InvalidParameterCombinationException', status: 400 });
    expect(await failure(putCpuAlarm(client, { Period: 45 }))).toMatchObject({ name: 'InvalidParameterValueException', status: 400 });
    expect(await failure(putCpuAlarm(client, { EvaluationPeriods: undefined, DatapointsToAlarm: undefined }))).toMatchObject({ name: 'MissingRequiredParameterException', status: 400 });
  });

  it.each(PROTOCOLS)('DescribeAlarms filters by StateValue, AlarmNamePrefix, ActionPrefix and AlarmTypes (%s)', async (protocol) => {
    const client = env.clients[protocol];
    await putCpuAlarm(client);
    await client.send(new SetAlarmStateCommand({ AlarmName: 'acme-orbit-unhealthy-hosts', StateValue: 'ALARM', StateReason: 'drill' }));
    const names = async (input: DescribeAlarmsCommandInput) => ((await client.send(new DescribeAlarmsCommand(input))).MetricAlarms ?? []).map((a) => a.AlarmName);
    expect(await names({ StateValue: 'ALARM' })).toEqual(['acme-orbit-unhealthy-hosts']);
    expect(await names({ StateValue: 'INSUFFICIENT_DATA' })).toEqual(['acme-axon-cpu-high']);
    expect(await names({ AlarmNamePrefix: 'acme-axon' })).toEqual(['acme-axon-cpu-high', 'acme-axon-unhealthy-hosts']);
    expect(await names({ ActionPrefix: 'arn:aws:sns:us-east-1:123456789012:pager' })).toEqual(['acme-axon-cpu-high']);
    expect(await names({ AlarmTypes: ['CompositeAlarm'] })).toEqual([]);
    expect(await names({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], StateValue: 'OK' })).toEqual(['acme-axon-unhealthy-hosts']);
  });

  it.each(PROTOCOLS)('DescribeAlarms pages with MaxRecords and NextToken, and refuses a made-up token (%s)', async (protocol) => {
    const client = env.clients[protocol];
    await putCpuAlarm(client);
    const first = await client.send(new DescribeAlarmsCommand({ MaxRecords: 2 }));
    expect(first.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['acme-axon-cpu-high', 'acme-axon-unhealthy-hosts']);
    expect(first.NextToken).toBeTruthy();
    const second = await client.send(new DescribeAlarmsCommand({ MaxRecords: 2, NextToken: first.NextToken }));
    expect(second.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['acme-orbit-unhealthy-hosts']);
    expect(second.NextToken).toBeUndefined();
    expect(await failure(client.send(new DescribeAlarmsCommand({ NextToken: 'bm90IGEgdG9rZW4=' })))).toMatchObject({ name: 'InvalidNextToken', status: 400 });
    expect(await failure(client.send(new DescribeAlarmsCommand({ MaxRecords: 101 })))).toMatchObject({ name: 'ValidationException', status: 400 });
  });

  it.each(PROTOCOLS)('DescribeAlarms with both AlarmNames and AlarmNamePrefix is InvalidParameterCombination, 400 (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const err = await failure(client.send(new DescribeAlarmsCommand({ AlarmNames: ['acme-axon-unhealthy-hosts'], AlarmNamePrefix: 'acme' })));
    expect(err).toMatchObject({ name: 'InvalidParameterCombinationException', status: 400 });
  });

  it.each(PROTOCOLS)('SetAlarmState hands a change to EventBridge once, keeps StateReasonData, and refuses malformed JSON (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const set = (StateValue: 'ALARM' | 'OK', StateReasonData?: string) => client.send(new SetAlarmStateCommand({ AlarmName: 'acme-axon-unhealthy-hosts', StateValue, StateReason: 'testing the wiring', StateReasonData }));
    await set('ALARM', '{"version":"1.0"}');
    await set('ALARM');
    expect(env.changes).toEqual([{ alarmName: 'acme-axon-unhealthy-hosts', state: 'ALARM', previousState: 'OK', reason: 'testing the wiring', tags: {} }]);
    const [alarm] = (await client.send(new DescribeAlarmsCommand({ AlarmNames: ['acme-axon-unhealthy-hosts'] }))).MetricAlarms ?? [];
    expect(alarm?.StateValue).toBe('ALARM');
    expect(await failure(set('OK', '{not json'))).toMatchObject({ name: 'InvalidFormatFault', status: 400 });
  });

  it.each(PROTOCOLS)('SetAlarmState on an alarm that does not exist is ResourceNotFound, 404 (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const err = await failure(client.send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'ALARM', StateReason: 'x' })));
    expect(err).toMatchObject({ name: 'ResourceNotFound', status: 404 });
  });

  it.each(PROTOCOLS)('DeleteAlarms deletes the named alarms that exist and passes over unknown names (%s)', async (protocol) => {
    const client = env.clients[protocol];
    await client.send(new DeleteAlarmsCommand({ AlarmNames: ['acme-orbit-unhealthy-hosts', 'never-existed'] }));
    const { MetricAlarms = [] } = await client.send(new DescribeAlarmsCommand({}));
    expect(MetricAlarms.map((a) => a.AlarmName)).toEqual(['acme-axon-unhealthy-hosts']);
    expect(await failure(client.send(new DeleteAlarmsCommand({ AlarmNames: [] })))).toMatchObject({ name: 'MissingRequiredParameterException', status: 400 });
  });

  it.each(PROTOCOLS)('tags are added, removed and listed; an unknown alarm is ResourceNotFoundException (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const ResourceARN = alarms.arnOf('acme-axon-unhealthy-hosts');
    await client.send(new TagResourceCommand({ ResourceARN, Tags: [{ Key: 'team', Value: 'payments' }, { Key: 'tier', Value: '1' }] }));
    await client.send(new UntagResourceCommand({ ResourceARN, TagKeys: ['tier'] }));
    expect((await client.send(new ListTagsForResourceCommand({ ResourceARN }))).Tags).toEqual([{ Key: 'team', Value: 'payments' }]);
    const err = await failure(client.send(new TagResourceCommand({ ResourceARN: alarms.arnOf('nope'), Tags: [{ Key: 'a', Value: 'b' }] })));
    expect(err).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });
});

describe('metrics', () => {
  const stats = (input: Partial<GetMetricStatisticsCommandInput>): GetMetricStatisticsCommandInput => ({
    Namespace: 'AWS/ApplicationELB',
    MetricName: 'UnHealthyHostCount',
    Dimensions: TG_DIMS,
    StartTime: at('02:40'),
    EndTime: at('03:00'),
    Period: 300,
    Statistics: ['Maximum', 'Average', 'SampleCount'],
    ...input,
  });

  it.each(PROTOCOLS)('GetMetricStatistics draws UnHealthyHostCount from the fleet: unhealthy while it crash-looped (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const { Label, Datapoints = [] } = await client.send(new GetMetricStatisticsCommand(stats({})));
    expect(Label).toBe('UnHealthyHostCount');
    const byTime = Datapoints.map((d) => [d.Timestamp?.toISOString(), d.Maximum, d.Average, d.SampleCount, d.Unit]).sort();
    expect(byTime).toEqual([
      ['2026-11-28T02:40:00.000Z', 0, 0, 5, 'Count'],
      ['2026-11-28T02:45:00.000Z', 0, 0, 5, 'Count'],
      ['2026-11-28T02:50:00.000Z', 1, 1, 5, 'Count'],
      ['2026-11-28T02:55:00.000Z', 0, 0, 5, 'Count'],
    ]);
  });

  it.each(PROTOCOLS)('CPUUtilization stays near the baseline, rises while tasks crash-loop, and is the same on every call (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const input = stats({ Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Dimensions: AXON, Period: 60, Statistics: ['Average'], ExtendedStatistics: undefined });
    const first = (await client.send(new GetMetricStatisticsCommand(input))).Datapoints ?? [];
    const again = (await client.send(new GetMetricStatisticsCommand(input))).Datapoints ?? [];
    expect(first).toHaveLength(20);
    expect(again).toEqual(first);
    for (const d of first) {
      const crashing = d.Timestamp!.getTime() >= T0 - 10 * MIN && d.Timestamp!.getTime() < T0 - 5 * MIN;
      expect(d.Unit).toBe('Percent');
      if (crashing) expect(d.Average).toBeGreaterThan(50);
      else expect(Math.abs(d.Average! - 30)).toBeLessThanOrEqual(3);
    }
  });

  it.each(PROTOCOLS)('ExtendedStatistics answers percentiles per datapoint (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const { Datapoints = [] } = await client.send(new GetMetricStatisticsCommand(stats({ Statistics: undefined, ExtendedStatistics: ['p50', 'p99.9'] })));
    const crash = Datapoints.find((d) => d.Timestamp?.getTime() === at('02:50').getTime());
    expect(crash?.ExtendedStatistics).toEqual({ p50: 1, 'p99.9': 1 });
    expect(crash?.Maximum).toBeUndefined();
  });

  it.each(PROTOCOLS)('no datapoints is an empty list, not an error: beyond the history, unknown dimensions, another unit (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const empty = async (input: Partial<GetMetricStatisticsCommandInput>) => (await client.send(new GetMetricStatisticsCommand(stats(input)))).Datapoints;
    expect(await empty({ StartTime: at('01:00'), EndTime: at('01:30') })).toEqual([]);
    expect(await empty({ Dimensions: TG_DIMS.slice(0, 1) })).toEqual([]);
    expect(await empty({ Unit: 'Seconds' })).toEqual([]);
    expect(await empty({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [] })).toEqual([]);
  });

  it('only finished minutes have datapoints', async () => {
    clock.advance(90);
    const { Datapoints = [] } = await json.send(new GetMetricStatisticsCommand(stats({ StartTime: at('02:58'), EndTime: at('03:10'), Period: 60 })));
    // 03:00 is over at 03:01 (now 03:01:30); 03:01 is still running.
    expect(Datapoints.map((d) => d.Timestamp?.toISOString()).sort()).toEqual(['2026-11-28T02:58:00.000Z', '2026-11-28T02:59:00.000Z', '2026-11-28T03:00:00.000Z']);
  });

  it.each(PROTOCOLS)('GetMetricStatistics keeps AWS\'s limits: Period, 1,440 datapoints, StartTime before EndTime, Statistics or ExtendedStatistics (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const err = (input: Partial<GetMetricStatisticsCommandInput>) => failure(client.send(new GetMetricStatisticsCommand(stats(input))));
    expect(await err({ Period: 90 })).toMatchObject({ name: 'InvalidParameterValueException', status: 400 });
    const tooMany = await err({ StartTime: at('00:00'), EndTime: new Date(T0 + 86_400_000), Period: 60 });
    expect(tooMany).toMatchObject({ name: 'InvalidParameterCombinationException', status: 400 });
    expect(tooMany.message).toContain('exceeds the limit of 1,440');
    expect(await err({ StartTime: at('03:00'), EndTime: at('02:00') })).toMatchObject({ name: 'InvalidParameterValueException', status: 400 });
    expect(await err({ ExtendedStatistics: ['p99'] })).toMatchObject({ name: 'InvalidParameterCombinationException', status: 400 });
    expect(await err({ Statistics: [] })).toMatchObject({ name: 'InvalidParameterCombinationException', status: 400 });
    // Exactly 1,440 one-minute datapoints is allowed.
    await expect(client.send(new GetMetricStatisticsCommand(stats({ StartTime: new Date(T0 - 86_400_000), EndTime: at('03:00'), Period: 60 })))).resolves.toBeDefined();
  });

  const metricStat = (Id: string, MetricName: string, ReturnData = true): MetricDataQuery => ({
    Id,
    MetricStat: { Metric: { Namespace: 'ECS/ContainerInsights', MetricName, Dimensions: AXON }, Period: 300, Stat: 'Minimum' },
    ReturnData,
  });

  it.each(PROTOCOLS)('GetMetricData returns series newest first, with metric math over them (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const out = await client.send(
      new GetMetricDataCommand({
        MetricDataQueries: [metricStat('running', 'RunningTaskCount'), metricStat('desired', 'DesiredTaskCount', false), { Id: 'short', Expression: 'desired - running', Label: 'short' }],
        StartTime: at('02:45'),
        EndTime: at('03:00'),
      }),
    );
    expect(out.MetricDataResults?.map((r) => [r.Id, r.Label, r.StatusCode, r.Values])).toEqual([
      ['running', 'RunningTaskCount', 'Complete', [2, 1, 2]],
      ['short', 'short', 'Complete', [0, 1, 0]],
    ]);
    expect(out.MetricDataResults?.[0]?.Timestamps?.map((t) => t.toISOString())).toEqual(['2026-11-28T02:55:00.000Z', '2026-11-28T02:50:00.000Z', '2026-11-28T02:45:00.000Z']);
  });

  it.each(PROTOCOLS)('GetMetricData pages by MaxDatapoints with PartialData until the last page (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const input = { MetricDataQueries: [metricStat('running', 'RunningTaskCount')], StartTime: at('02:45'), EndTime: at('03:00'), ScanBy: 'TimestampAscending' as const, MaxDatapoints: 2 };
    const first = await client.send(new GetMetricDataCommand(input));
    expect(first.MetricDataResults?.[0]).toMatchObject({ StatusCode: 'PartialData', Values: [2, 1] });
    const second = await client.send(new GetMetricDataCommand({ ...input, NextToken: first.NextToken }));
    expect(second.MetricDataResults?.[0]).toMatchObject({ StatusCode: 'Complete', Values: [2] });
    expect(second.NextToken).toBeUndefined();
    const bad = await failure(client.send(new GetMetricDataCommand({ ...input, MetricDataQueries: [{ Id: 'Bad-Id', Expression: 'running' }] })));
    expect(bad).toMatchObject({ name: 'ValidationException', status: 400 });
  });

  it.each(PROTOCOLS)('ListMetrics lists the fleet\'s metrics, filtered by namespace and dimension (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const ecs = await client.send(new ListMetricsCommand({ Namespace: 'AWS/ECS', Dimensions: [{ Name: 'ServiceName', Value: 'acme-axon' }] }));
    expect(ecs.Metrics?.map((m) => m.MetricName)).toEqual(['CPUUtilization', 'MemoryUtilization']);
    const alb = await client.send(new ListMetricsCommand({ Namespace: 'AWS/ApplicationELB' }));
    expect(alb.Metrics).toEqual([
      { Namespace: 'AWS/ApplicationELB', MetricName: 'HealthyHostCount', Dimensions: TG_DIMS },
      { Namespace: 'AWS/ApplicationELB', MetricName: 'UnHealthyHostCount', Dimensions: TG_DIMS },
    ]);
    const insights = await client.send(new ListMetricsCommand({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount', RecentlyActive: 'PT3H' }));
    expect(insights.Metrics?.map((m) => m.Dimensions?.find((d) => d.Name === 'ServiceName')?.Value)).toEqual(['acme-axon', 'acme-orbit']);
  });
});

describe('the wire', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('every answer carries an x-amzn-RequestId, and a query answer repeats it in <RequestId>', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await fetch(env.url, { method: 'POST', headers: form, body: 'Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=acme-axon-unhealthy-hosts' });
    const id = ok.headers.get('x-amzn-requestid');
    expect(id).toMatch(UUID);
    const xml = await ok.text();
    expect(xml).toContain(`<RequestId>${id}</RequestId>`);
    expect(xml).toMatch(/^<\?xml[^>]*>\n<DescribeAlarmsResponse xmlns="http:\/\/monitoring\.amazonaws\.com\/doc\/2010-08-01\/"><DescribeAlarmsResult><MetricAlarms><member><AlarmName>acme-axon-unhealthy-hosts<\/AlarmName>/);
    const bad = await fetch(env.url, { method: 'POST', headers: form, body: 'Action=SetAlarmState&Version=2010-08-01&AlarmName=nope&StateValue=OK&StateReason=x' });
    expect(bad.status).toBe(404);
    const err = await bad.text();
    expect(err).toContain('<Error><Type>Sender</Type><Code>ResourceNotFound</Code>');
    expect(err).toContain(`<RequestId>${bad.headers.get('x-amzn-requestid')}</RequestId>`);
    const jsonErr = await fetch(env.url, { method: 'POST', headers: { 'x-amz-target': 'GraniteServiceVersion20100801.SetAlarmState', 'content-type': 'application/x-amz-json-1.0' }, body: '{"AlarmName":"nope","StateValue":"OK","StateReason":"x"}' });
    expect(jsonErr.headers.get('x-amzn-requestid')).toMatch(UUID);
    // CloudWatch is awsQueryCompatible: its awsJson errors name the query code for botocore and the SDK.
    expect(jsonErr.headers.get('x-amzn-query-error')).toBe('ResourceNotFound;Sender');
    const raw = await fetch(`${env.url}/no/such/route`);
    expect(raw.status).toBe(404);
    expect(raw.headers.get('x-amzn-requestid')).toMatch(UUID);
    const sdk = await query.send(new DescribeAlarmsCommand({}));
    expect(sdk.$metadata.requestId).toMatch(UUID);
  });

  it('a form POST with another Version, or without Action, is refused as AWS does', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=x/20261128/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0' };
    const version = await fetch(env.url, { method: 'POST', headers: form, body: 'Action=DescribeAlarms&Version=2010-08-02' });
    expect(version.status).toBe(400);
    expect(await version.text()).toContain('<Code>InvalidAction</Code><Message>Could not find operation DescribeAlarms for version 2010-08-02</Message>');
    const action = await fetch(env.url, { method: 'POST', headers: form, body: 'Version=2010-08-01' });
    expect(await action.text()).toContain('<Code>MissingAction</Code>');
    const unknown = await fetch(env.url, { method: 'POST', headers: form, body: 'Action=PutDashboard&Version=2010-08-01' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('<Code>InvalidAction</Code>');
  });

  it.each(PROTOCOLS)('a body over 1 MB is refused with 413 in the caller\'s protocol (%s)', async (protocol) => {
    const client = env.clients[protocol];
    const err = await failure(client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'x'.repeat(1_100_000) })));
    expect(err).toMatchObject({ name: protocol === 'awsQuery' ? 'RequestEntityTooLarge' : 'SerializationException', status: 413 });
  });

  it('query calls pass through the interceptors and observers as api "cloudwatch"; throttling reads Throttling', async () => {
    await query.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    env.faults.next = new AwsServiceError('ThrottlingException', 'Rate exceeded', 400);
    expect(await failure(query.send(new DescribeAlarmsCommand({})))).toMatchObject({ name: 'Throttling', status: 400 });
    expect(env.outcomes.map((o) => [o.api, o.operation, o.status, o.errorCode])).toEqual([
      ['cloudwatch', 'DescribeAlarms', 200, undefined],
      ['cloudwatch', 'DescribeAlarms', 400, 'Throttling'],
    ]);
    expect(env.outcomes[0]?.body).toEqual({ StateValue: 'ALARM' });
  });
});
