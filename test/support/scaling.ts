import { ApplicationAutoScalingClient, DescribeScalingActivitiesCommand, type ScalingActivity } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterEach } from 'vitest';
import { AAS_TARGET_PREFIX, ApplicationAutoScaling } from '#sandbox/autoscaling';
import { CloudTrailStore } from '#sandbox/cloudtrail';
import { VirtualClock } from '#sandbox/clock';
import { AlarmStore } from '#sandbox/cloudwatch';
import { EcsFleet } from '#sandbox/ecs';
import { seededRandom } from '#sandbox/faults';
import { SandboxHttpServer } from '#sandbox/http';
import { LogStore } from '#sandbox/logs';
import { parseScenario, type ScenarioInput } from '#sandbox/scenario';

export const CLUSTER = 'acme-cluster';
export const AXON = 'acme-axon';
export const AXON_ID = `service/${CLUSTER}/${AXON}`;
const MIN = 60_000;

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/**
 * The ECS fleet, CloudWatch and Application Auto Scaling behind one real HTTP listener, on a
 * virtual clock, wired as Sandbox.start wires them — without synthesizing the CDK app.
 */
export async function bootScaling(input: ScenarioInput) {
  const scenario = parseScenario(input);
  const clock = new VirtualClock(Date.parse(scenario.startTime));
  const trail = new CloudTrailStore({ clock, region: scenario.region, accountId: scenario.accountId });
  const logs = new LogStore({ clock });
  const fleet = new EcsFleet({ scenario, clock, trail, logs, rng: seededRandom(scenario.seed) });
  const alarms = new AlarmStore({ clock, region: scenario.region, accountId: scenario.accountId, readings: fleet });
  const autoScaling = new ApplicationAutoScaling({ clock, region: scenario.region, accountId: scenario.accountId, fleet, trail, rng: seededRandom(scenario.seed + 3) });
  autoScaling.registerFromScenario(scenario.services);
  const server = new SandboxHttpServer();
  server.intercept(() => fleet.advanceTo(clock.nowMs()));
  server.registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', fleet.handle);
  server.registerJson('GraniteServiceVersion20100801', 'cloudwatch', '1.0', alarms.handle);
  server.registerJson(AAS_TARGET_PREFIX, 'application-autoscaling', '1.1', autoScaling.handle);
  await server.listen();
  const config = { region: scenario.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint: server.url, maxAttempts: 1 };
  const ecs = new ECSClient(config);
  const cloudwatch = new CloudWatchClient(config);
  const aas = new ApplicationAutoScalingClient(config);
  opened.push({
    close: async () => {
      for (const c of [ecs, cloudwatch, aas]) c.destroy();
      await server.close();
    },
  });

  const describe = async (service = AXON) => (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }))).services![0]!;
  const scaleTo = (desiredCount: number, service = AXON) => ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service, desiredCount }));
  /** Per-minute datapoints of an AWS/ECS metric over the last `minutes`, oldest first. */
  const series = async (minutes: number, stat = 'Average', metric = 'CPUUtilization', service = AXON, period = 60) => {
    const end = new Date(Math.floor(clock.nowMs() / MIN) * MIN);
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(end.getTime() - minutes * MIN),
        EndTime: end,
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          {
            Id: 'm',
            MetricStat: {
              Metric: { Namespace: 'AWS/ECS', MetricName: metric, Dimensions: [{ Name: 'ClusterName', Value: CLUSTER }, { Name: 'ServiceName', Value: service }] },
              Period: period,
              Stat: stat,
            },
          },
        ],
      }),
    );
    const r = out.MetricDataResults![0]!;
    return (r.Timestamps ?? []).map((t, i) => ({ at: t, value: r.Values![i]! }));
  };
  const activities = async (includeNotScaled = false): Promise<ScalingActivity[]> =>
    (await aas.send(new DescribeScalingActivitiesCommand({ ServiceNamespace: 'ecs', ResourceId: AXON_ID, IncludeNotScaledActivities: includeNotScaled }))).ScalingActivities ?? [];
  /** Moves virtual time in `step`-second steps until `done` holds; the seconds it took, or undefined. */
  const until = async (maxSeconds: number, done: () => boolean | Promise<boolean>, step = 5): Promise<number | undefined> => {
    for (let t = step; t <= maxSeconds; t += step) {
      clock.advance(step);
      if (await done()) return t;
    }
    return undefined;
  };
  return { scenario, clock, trail, fleet, alarms, autoScaling, url: server.url, ecs, cloudwatch, aas, describe, scaleTo, series, activities, until };
}

export async function caught(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}
