import { ApplicationAutoScalingClient, DescribeScalingActivitiesCommand, type ScalingActivity } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { AAS_TARGET_PREFIX, ApplicationAutoScaling } from '#sandbox/autoscaling';
import { AlarmStore } from '#sandbox/cloudwatch';
import { apiFaultInterceptor, seededRandom } from '#sandbox/faults';
import { SandboxHttpServer } from '#sandbox/http';
import type { ScenarioInput } from '#sandbox/scenario';
import { AXON, buildFleet, clientConfig, closeAfterTest, CLUSTER, until } from './fleet.ts';

export { AXON, caught, CLUSTER } from './fleet.ts';
export const AXON_ID = `service/${CLUSTER}/${AXON}`;
const MIN = 60_000;

/**
 * The ECS fleet, CloudWatch and Application Auto Scaling behind one real HTTP listener, on a
 * virtual clock, wired as Sandbox.start wires them (the scenario's API faults included) — without
 * synthesizing the CDK app.
 */
export async function bootScaling(input: ScenarioInput) {
  const { scenario, clock, trail, fleet } = buildFleet(input);
  const alarms = new AlarmStore({ clock, region: scenario.region, accountId: scenario.accountId, readings: fleet });
  const autoScaling = new ApplicationAutoScaling({ clock, region: scenario.region, accountId: scenario.accountId, fleet, trail, rng: seededRandom(scenario.seed + 3) });
  autoScaling.registerFromScenario(scenario.services);
  const server = new SandboxHttpServer();
  server.intercept(() => fleet.advanceTo(clock.nowMs()));
  server.intercept(apiFaultInterceptor(scenario.apiFaults, seededRandom(scenario.seed + 1)));
  server.registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', fleet.handle);
  server.registerJson('GraniteServiceVersion20100801', 'cloudwatch', '1.0', alarms.handle);
  server.registerJson(AAS_TARGET_PREFIX, 'application-autoscaling', '1.1', autoScaling.handle);
  await server.listen();
  const config = clientConfig(server.url, scenario.region);
  const ecs = new ECSClient(config);
  const cloudwatch = new CloudWatchClient(config);
  const aas = new ApplicationAutoScalingClient(config);
  closeAfterTest(async () => {
    for (const c of [ecs, cloudwatch, aas]) c.destroy();
    await server.close();
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
  return {
    scenario,
    clock,
    trail,
    fleet,
    alarms,
    autoScaling,
    url: server.url,
    ecs,
    cloudwatch,
    aas,
    describe,
    scaleTo,
    series,
    activities,
    /** Moves virtual time in `step`-second steps until `done` holds; the seconds it took, or undefined. */
    until: (maxSeconds: number, done: () => boolean | Promise<boolean>, step = 5) => until(clock, maxSeconds, done, step),
  };
}
