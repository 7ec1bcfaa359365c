import { DescribeAlarmsCommand, CloudWatchClient, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
  type Task,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import type { AlarmChange } from '#sandbox/cloudwatch';
import { parseScenario, ScenarioError, type ScenarioInput } from '#sandbox/scenario';
import { AXON, bootFleet, CLUSTER, until } from '../support/fleet.ts';

/**
 * What a deployed image does, intrinsic to the image (scenario `images`): a deployment of a bad,
 * crashing or unhealthy build fails while the old deployment keeps serving; one that raises
 * errors puts the service's alarm in ALARM, and a rollback brings it back to OK.
 */

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const BAD = `${REGISTRY}/acme-axon:v3-missing`;
const CRASHING = `${REGISTRY}/acme-axon:v3-crash`;
const UNHEALTHY = `${REGISTRY}/acme-axon:v3-unhealthy`;
const NOISY = `${REGISTRY}/acme-axon:v3-noisy`;
const GOOD = `${REGISTRY}/acme-axon:v4`;

/** The deploy workflow's move: the current revision with a new image, registered, then UpdateService to it. */
async function deploy(ecs: ECSClient, image: string, extra: { minimumHealthyPercent?: number } = {}): Promise<string> {
  const { taskDefinition: current } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: AXON }));
  const { family, containerDefinitions, cpu, memory, networkMode, requiresCompatibilities, executionRoleArn } = current!;
  const input: RegisterTaskDefinitionCommandInput = {
    family,
    containerDefinitions: containerDefinitions!.map((c) => ({ ...c, image })),
    cpu,
    memory,
    networkMode,
    requiresCompatibilities,
    executionRoleArn,
  };
  const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand(input));
  const arn = taskDefinition!.taskDefinitionArn!;
  await ecs.send(
    new UpdateServiceCommand({
      cluster: CLUSTER,
      service: AXON,
      taskDefinition: arn,
      ...(extra.minimumHealthyPercent !== undefined ? { deploymentConfiguration: { minimumHealthyPercent: extra.minimumHealthyPercent, maximumPercent: 200 } } : {}),
    }),
  );
  return arn;
}

/** Every task of the service (running and stopped) launched from `taskDefinitionArn`. */
async function tasksOf(ecs: ECSClient, taskDefinitionArn: string): Promise<Task[]> {
  const arns: string[] = [];
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
    arns.push(...((await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: AXON, desiredStatus }))).taskArns ?? []));
  }
  if (arns.length === 0) return [];
  const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }));
  return (tasks ?? []).filter((t) => t.taskDefinitionArn === taskDefinitionArn);
}

const axonWith = (images: ScenarioInput['images'], faults: ScenarioInput['faults'] = []): ScenarioInput => ({
  services: [
    { name: AXON, desiredCount: 2 },
    { name: 'acme-orbit', desiredCount: 1 },
  ],
  images,
  faults,
});

describe('a bad image', () => {
  it('deploying it leads to CannotPullContainerError stopped tasks while the old deployment keeps serving; rolling back recovers', async () => {
    const sb = await bootFleet(axonWith([{ service: AXON, image: BAD, kind: 'bad-image' }]));
    const previous = (await sb.describe()).taskDefinition!;
    const arn = await deploy(sb.ecs, BAD);
    sb.clock.advance(120);
    const fresh = await tasksOf(sb.ecs, arn);
    const stopped = fresh.filter((t) => t.lastStatus === 'STOPPED');
    expect(stopped.length).toBeGreaterThanOrEqual(2);
    for (const t of stopped) {
      expect(t.stopCode).toBe('TaskFailedToStart');
      expect(t.stoppedReason).toMatch(new RegExp(`^CannotPullContainerError: .*${BAD.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*manifest unknown$`));
    }
    expect(fresh.some((t) => t.startedAt !== undefined)).toBe(false);
    const svc = await sb.describe();
    expect(svc.deployments!.map((d) => [d.taskDefinition, d.status, d.runningCount])).toEqual([
      [arn, 'PRIMARY', 0],
      [previous, 'ACTIVE', 2],
    ]);
    expect(sb.fleet.isHealthy(AXON)).toBe(true);

    await sb.update({ taskDefinition: previous });
    expect(await sb.settle(300)).toBeDefined();
    expect(sb.fleet.primaryTaskDefinition(AXON)).toMatchObject({ arn: previous, status: 'ACTIVE' });
  });
});

describe("an image's fate wins over the service's faults", () => {
  it('a crash-loop image on a service with a bad-image fault starts, then exits after crashAfterSeconds (not a pull error)', async () => {
    const sb = await bootFleet(axonWith([{ service: AXON, image: CRASHING, kind: 'crash-loop', crashAfterSeconds: 15 }], [{ service: AXON, kind: 'bad-image' }]));
    const arn = await deploy(sb.ecs, CRASHING);
    sb.clock.advance(90);
    const crashed = (await tasksOf(sb.ecs, arn)).filter((t) => t.lastStatus === 'STOPPED');
    expect(crashed.length).toBeGreaterThan(0);
    for (const t of crashed) {
      expect(t).toMatchObject({ stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' });
      expect(t.containers![0]!.exitCode).toBe(1);
      expect(t.stoppedAt!.getTime() - t.startedAt!.getTime()).toBeGreaterThanOrEqual(15_000);
    }
  });

  it('a good image deployed on that faulty service keeps the restart rules: the bad-image fault still fails its tasks', async () => {
    const sb = await bootFleet(axonWith([{ service: AXON, image: CRASHING, kind: 'crash-loop' }], [{ service: AXON, kind: 'bad-image' }]));
    const arn = await deploy(sb.ecs, GOOD);
    sb.clock.advance(90);
    const stopped = (await tasksOf(sb.ecs, arn)).filter((t) => t.lastStatus === 'STOPPED');
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped.every((t) => t.stoppedReason!.startsWith('CannotPullContainerError'))).toBe(true);
  });

  it("tasks of other images, and other services' images, are unaffected", async () => {
    const sb = await bootFleet(axonWith([{ service: 'acme-orbit', image: GOOD, kind: 'bad-image' }]));
    const arn = await deploy(sb.ecs, GOOD);
    expect(await sb.settle(600)).toBeDefined();
    expect(sb.fleet.primaryTaskDefinition(AXON)).toMatchObject({ arn, image: GOOD });
    expect((await tasksOf(sb.ecs, arn)).filter((t) => t.lastStatus === 'STOPPED')).toEqual([]);
  });
});

describe('a failing-health-check image', () => {
  it('runs, turns UNHEALTHY and is replaced ("Task failed container health checks") while the old deployment keeps serving', async () => {
    const sb = await bootFleet(axonWith([{ service: AXON, image: UNHEALTHY, kind: 'failing-health-check' }]));
    const arn = await deploy(sb.ecs, UNHEALTHY);
    sb.clock.advance(150);
    const fresh = await tasksOf(sb.ecs, arn);
    expect(fresh.some((t) => t.startedAt !== undefined)).toBe(true);
    const stopped = fresh.filter((t) => t.lastStatus === 'STOPPED' || t.desiredStatus === 'STOPPED');
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped.every((t) => t.healthStatus === 'UNHEALTHY' && t.stoppedReason === 'Task failed container health checks')).toBe(true);
    expect((await sb.describe()).deployments![1]!.runningCount).toBe(2);
    expect(sb.fleet.isHealthy(AXON)).toBe(true);
  });
});

describe('the image the scenario starts with', () => {
  it('crash-loop: the running tasks crash and their replacements keep crashing, whatever restarts happen', async () => {
    const sb = await bootFleet({ services: [{ name: AXON, desiredCount: 2, image: CRASHING }], images: [{ service: AXON, image: CRASHING, kind: 'crash-loop' }] });
    await sb.update({ forceNewDeployment: true });
    sb.clock.advance(120);
    const stopped = await sb.stoppedTasks();
    expect(stopped.length).toBeGreaterThan(2);
    expect(stopped.every((t) => t.stopCode === 'EssentialContainerExited')).toBe(true);
  });

  it('bad-image: the running tasks already have it and keep running; only a new task cannot pull it', async () => {
    const sb = await bootFleet({ services: [{ name: AXON, desiredCount: 2, image: BAD }], images: [{ service: AXON, image: BAD, kind: 'bad-image' }] });
    sb.clock.advance(120);
    expect((await sb.describe()).runningCount).toBe(2);
    await sb.update({ desiredCount: 3 });
    sb.clock.advance(60);
    expect((await sb.stoppedTasks()).map((t) => t.stoppedReason!.split(':')[0])).toContain('CannotPullContainerError');
  });

  it('raises-alarm: its errors start with the scenario, the breach alarmAfterSeconds later; a listener added late still hears it', async () => {
    const sb = await bootFleet({ services: [{ name: AXON, desiredCount: 2, image: NOISY }], images: [{ service: AXON, image: NOISY, kind: 'raises-alarm', alarmAfterSeconds: 60 }] });
    const signals: unknown[] = [];
    sb.fleet.onImageAlarm((s) => signals.push(s));
    sb.clock.advance(59);
    expect(signals).toEqual([]);
    sb.clock.advance(1);
    const breach = expect.objectContaining({ alarmName: 'acme-axon-5xx-errors', service: AXON, image: NOISY, breaching: true, value: 37 });
    expect(signals).toEqual([breach]);
    const late: unknown[] = [];
    sb.fleet.onImageAlarm((s) => late.push(s));
    expect(late).toEqual([breach]);
  });
});

describe('scenario validation of images', () => {
  const refused = (images: unknown) => {
    try {
      parseScenario({ services: [{ name: AXON }], images } as ScenarioInput);
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      return (err as Error).message;
    }
    throw new Error('the scenario was accepted');
  };

  it('names the field: an unknown service, a field of another kind, an image listed twice, too many images', () => {
    expect(refused([{ service: 'acme-nope', image: BAD, kind: 'bad-image' }])).toBe(`scenario field "images.0.service": no service named "acme-nope" (have: ${AXON})`);
    expect(refused([{ service: AXON, image: BAD, kind: 'bad-image', crashAfterSeconds: 5 }])).toMatch(/^scenario field "images\.0\.crashAfterSeconds": applies to kind "crash-loop" only/);
    expect(refused([{ service: AXON, image: BAD, kind: 'crash-loop', alarmName: 'x' }])).toMatch(/^scenario field "images\.0\.alarmName": applies to kind "raises-alarm" only/);
    expect(refused([{ service: AXON, image: BAD, kind: 'sideways' }])).toMatch(/^scenario field "images\.0\.kind"/);
    expect(refused([
      { service: AXON, image: BAD, kind: 'bad-image' },
      { service: AXON, image: BAD, kind: 'crash-loop' },
    ])).toMatch(/^scenario field "images\.1\.image": .* is listed twice for service "acme-axon"$/);
    expect(refused(Array.from({ length: 51 }, (_, i) => ({ service: AXON, image: `${BAD}${i}`, kind: 'bad-image' })))).toMatch(/^scenario field "images": 51 images, over the 50/);
  });

  it('fills the defaults: crashAfterSeconds 8, alarmAfterSeconds 120, alarm <service>-5xx-errors; none by default', () => {
    const s = parseScenario({
      services: [{ name: AXON }],
      images: [
        { service: AXON, image: CRASHING, kind: 'crash-loop' },
        { service: AXON, image: NOISY, kind: 'raises-alarm' },
      ],
    });
    expect(s.images).toEqual([
      { service: AXON, image: CRASHING, kind: 'crash-loop', crashAfterSeconds: 8 },
      { service: AXON, image: NOISY, kind: 'raises-alarm', alarmAfterSeconds: 120, alarmName: 'acme-axon-5xx-errors' },
    ]);
    // A parsed scenario parses again to itself (the CLI rebuilds scenarios from parsed ones).
    expect(parseScenario({ services: s.services, images: s.images }).images).toEqual(s.images);
    expect(parseScenario({}).images).toEqual([]);
  });
});

describe('in a started sandbox', () => {
  // Loaded here, not at the top: the whole sandbox (handlers, CDK synthesis) only for these tests.
  const start = async (input: ScenarioInput) => {
    const { Sandbox } = await import('../../sandbox/index.ts');
    // Alarms route to no procedure: the alarm's own life is under test, not the P0 it would start.
    const sandbox = await Sandbox.start(parseScenario(input), { incidents: { routes: [{ alarmPrefix: 'unrouted-', service: AXON, severity: 'P0' }] } });
    const ecs = new ECSClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
    const cloudwatch = new CloudWatchClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
    const alarm = async (name: string): Promise<MetricAlarm | undefined> => (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms?.[0];
    const get = async (path: string) => (await fetch(`${sandbox.url}/${AXON}${path}`)).status;
    const stop = async () => {
      ecs.destroy();
      cloudwatch.destroy();
      await sandbox.stop();
    };
    return { sandbox, clock: sandbox.clock as import('#sandbox/clock').VirtualClock, ecs, alarm, get, stop };
  };
  const services = (extra: Record<string, unknown> = {}) => [{ name: AXON, desiredCount: 2, healthPath: '/health', ...extra }];

  it('a failing-health-check image left alone (minimum healthy 0 %) makes the health URL and the smoke-check status page answer 503', async () => {
    const sb = await start({ services: services(), images: [{ service: AXON, image: UNHEALTHY, kind: 'failing-health-check' }] });
    try {
      expect([await sb.get('/health'), await sb.get('/api/v1/status')]).toEqual([200, 200]);
      await deploy(sb.ecs, UNHEALTHY, { minimumHealthyPercent: 0 });
      sb.clock.advance(90);
      expect([await sb.get('/health'), await sb.get('/api/v1/status')]).toEqual([503, 503]);
    } finally {
      await sb.stop();
    }
  });

  it('a raises-alarm image puts the alarm in ALARM alarmAfterSeconds after its first task serves, and back to OK two minutes after the rollback took it out', async () => {
    const sb = await start({ services: services(), images: [{ service: AXON, image: NOISY, kind: 'raises-alarm', alarmAfterSeconds: 120 }] });
    try {
      const changes: AlarmChange[] = [];
      const toEventBridge = sb.sandbox.alarms.onChange;
      sb.sandbox.alarms.onChange = (change) => {
        changes.push(change);
        toEventBridge(change);
      };
      // Created at start, as a team would have it: 5xx count > 10 in a minute, in OK.
      expect(await sb.alarm('acme-axon-5xx-errors')).toMatchObject({ StateValue: 'OK', MetricName: 'HTTPCode_5XX_Count', Statistic: 'Sum', Period: 60, Threshold: 10, ComparisonOperator: 'GreaterThanThreshold' });
      // The team's default alarms are still there, unchanged.
      expect(await sb.alarm('acme-axon-unhealthy-hosts')).toMatchObject({ StateValue: 'OK' });

      const previous = sb.sandbox.fleet.primaryTaskDefinition(AXON)!.arn;
      const arn = await deploy(sb.ecs, NOISY);
      let firstServing: number | undefined;
      const alarmed = await until(sb.clock, 600, async () => {
        if (firstServing === undefined && (await tasksOf(sb.ecs, arn)).some((t) => t.healthStatus === 'HEALTHY')) firstServing = sb.clock.nowMs();
        return (await sb.alarm('acme-axon-5xx-errors'))!.StateValue === 'ALARM';
      });
      expect(alarmed).toBeDefined();
      expect(firstServing).toBeDefined();
      // Polled every 5 s: each moment is seen up to 5 s late.
      const after = sb.clock.nowMs() - firstServing!;
      expect(after).toBeGreaterThanOrEqual(115_000);
      expect(after).toBeLessThanOrEqual(125_000);
      const inAlarm = (await sb.alarm('acme-axon-5xx-errors'))!;
      expect(inAlarm.StateReason).toMatch(/^Threshold Crossed: 1 datapoint \[\d+\.\d \(\d\d\/\d\d\/\d\d \d\d:\d\d:00\)\] was greater than the threshold \(10\.0\)\.$/);
      expect(JSON.parse(inAlarm.StateReasonData!)).toMatchObject({ version: '1.0', statistic: 'Sum', period: 60, threshold: 10 });
      expect(changes).toEqual([expect.objectContaining({ alarmName: 'acme-axon-5xx-errors', state: 'ALARM', previousState: 'OK' })]);

      // Roll back: the noisy tasks stop serving once the previous revision's tasks are healthy.
      await sb.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: AXON, taskDefinition: previous }));
      let lastStopped: number | undefined;
      const ok = await until(sb.clock, 900, async () => {
        if (lastStopped === undefined && (await tasksOf(sb.ecs, arn)).every((t) => t.desiredStatus === 'STOPPED')) lastStopped = sb.clock.nowMs();
        return (await sb.alarm('acme-axon-5xx-errors'))!.StateValue === 'OK';
      });
      expect(ok).toBeDefined();
      const recovery = sb.clock.nowMs() - lastStopped!;
      expect(recovery).toBeGreaterThanOrEqual(115_000);
      expect(recovery).toBeLessThanOrEqual(125_000);
      expect((await sb.alarm('acme-axon-5xx-errors'))!.StateReason).toMatch(/was not greater than the threshold \(10\.0\)\.$/);
      expect(changes.map((c) => c.state)).toEqual(['ALARM', 'OK']);
    } finally {
      await sb.stop();
    }
  });

  it('behind a load balancer the created alarm watches the target group\'s HTTPCode_Target_5XX_Count', async () => {
    const sb = await start({ services: services({ loadBalancer: true }), images: [{ service: AXON, image: NOISY, kind: 'raises-alarm', alarmName: 'acme-axon-errors' }] });
    try {
      const created = (await sb.alarm('acme-axon-errors'))!;
      expect(created).toMatchObject({ StateValue: 'OK', Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Threshold: 10, EvaluationPeriods: 1 });
      expect(created.Dimensions!.map((d) => d.Name)).toEqual(['TargetGroup', 'LoadBalancer']);
      expect(await sb.alarm('acme-axon-5xx-errors')).toBeUndefined();
    } finally {
      await sb.stop();
    }
  });
});
