import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, UpdateServiceCommand, type Service } from '@aws-sdk/client-ecs';
import { afterEach } from 'vitest';
import { CloudTrailStore } from '#sandbox/cloudtrail';
import { VirtualClock } from '#sandbox/clock';
import { EcsFleet } from '#sandbox/ecs';
import type { EcsEvent } from '../../sandbox/ecs/events.ts';
import { seededRandom } from '#sandbox/faults';
import { SandboxHttpServer } from '#sandbox/http';
import { LogStore } from '#sandbox/logs';
import { parseScenario, type ScenarioInput } from '#sandbox/scenario';

export const CLUSTER = 'acme-cluster';
export const AXON = 'acme-axon';

const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((close) => close()));
});

/** Runs `close` once the current test is over (servers, SDK clients). */
export function closeAfterTest(close: () => Promise<void>): void {
  opened.push(close);
}

/** What the tests' SDK clients are built with: the sandbox's endpoint, dummy credentials, no retries. */
export function clientConfig(endpoint: string, region = 'us-east-1') {
  return { region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint, maxAttempts: 1 };
}

/** Moves virtual time in `step`-second steps until `done` holds; the seconds it took, or undefined. */
export async function until(clock: VirtualClock, maxSeconds: number, done: () => boolean | Promise<boolean>, step = 5): Promise<number | undefined> {
  for (let t = step; t <= maxSeconds; t += step) {
    clock.advance(step);
    // A plain predicate is checked at once, as time stood after the step; only a promise is awaited.
    const ok = done();
    if (typeof ok === 'boolean' ? ok : await ok) return t;
  }
  return undefined;
}

/** The ECS simulator alone, on a virtual clock, with every EventBridge event it sends kept in `events`. */
export function buildFleet(input: ScenarioInput) {
  const scenario = parseScenario(input);
  const clock = new VirtualClock(Date.parse(scenario.startTime));
  const trail = new CloudTrailStore({ clock, region: scenario.region, accountId: scenario.accountId });
  const logs = new LogStore({ clock });
  const fleet = new EcsFleet({ scenario, clock, trail, logs, rng: seededRandom(scenario.seed) });
  const events: EcsEvent[] = [];
  fleet.onEvent((e) => events.push(e));
  return { scenario, clock, trail, logs, fleet, events };
}

/** The fleet behind a real HTTP listener, talked to by the real SDK clients. */
export async function bootFleet(input: ScenarioInput = {}, service = AXON) {
  const parts = buildFleet(input);
  const { clock, fleet } = parts;
  const server = new SandboxHttpServer();
  server.registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', fleet.handle);
  // SDK v3 sends X-Amz-Target "CloudTrail_20131101.LookupEvents"; the AWS CLI uses the long prefix.
  server.registerJson('CloudTrail_20131101', 'cloudtrail', '1.1', parts.trail.handle);
  server.registerJson('com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101', 'cloudtrail', '1.1', parts.trail.handle);
  server.registerJson('Logs_20140328', 'logs', '1.1', parts.logs.handle);
  server.intercept(() => fleet.advanceTo(clock.nowMs()));
  await server.listen();
  const config = clientConfig(server.url);
  const ecs = new ECSClient(config);
  const cloudtrail = new CloudTrailClient(config);
  const cwlogs = new CloudWatchLogsClient(config);
  closeAfterTest(async () => {
    for (const c of [ecs, cloudtrail, cwlogs]) c.destroy();
    await server.close();
  });

  const describe = async (name = service): Promise<Service> => {
    const out = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }));
    return out.services![0]!;
  };
  const update = (input: Omit<ConstructorParameters<typeof UpdateServiceCommand>[0], 'cluster' | 'service'>) =>
    ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service, ...input }));
  /** Moves virtual time in steps until the service is steady and healthy; returns the seconds it took, or undefined. */
  const settle = (maxSeconds: number, step = 5) => until(clock, maxSeconds, () => fleet.steadySince(service) !== undefined && fleet.isHealthy(service), step);
  const stoppedTasks = async () => {
    const arns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: service, desiredStatus: 'STOPPED' }))).taskArns ?? [];
    if (arns.length === 0) return [];
    return (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks ?? [];
  };
  return { ...parts, url: server.url, ecs, cloudtrail, cwlogs, describe, update, settle, stoppedTasks };
}

export async function caught(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** A call's failure as AWS reports it: error code, HTTP status, message. */
export async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  const e = await caught(p);
  return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
}
