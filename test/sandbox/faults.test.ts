import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudTrailStore } from '#sandbox/cloudtrail';
import { VirtualClock } from '#sandbox/clock';
import { EcsFleet } from '#sandbox/ecs';
import { apiFaultInterceptor, seededRandom } from '#sandbox/faults';
import { SandboxHttpServer } from '#sandbox/http';
import { LogStore } from '#sandbox/logs';
import { parseScenario, type ScenarioInput } from '#sandbox/scenario';

const CLUSTER = 'acme-cluster';
const AXON = 'acme-axon';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** ECS and Logs behind a listener whose API faults come from the scenario, as the drill wires them. */
async function boot(faults: ScenarioInput['faults'], seed = 7) {
  const scenario = parseScenario({ faults, seed });
  const clock = new VirtualClock(Date.parse(scenario.startTime));
  const trail = new CloudTrailStore({ clock, region: scenario.region, accountId: scenario.accountId });
  const logs = new LogStore({ clock });
  const fleet = new EcsFleet({ scenario, clock, trail, logs, rng: seededRandom(seed) });
  const server = new SandboxHttpServer();
  server.registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', fleet.handle);
  server.registerJson('Logs_20140328', 'logs', '1.1', logs.handle);
  server.intercept(apiFaultInterceptor(scenario.apiFaults, seededRandom(seed)));
  server.intercept(() => fleet.advanceTo(clock.nowMs()));
  await server.listen();
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpoint: server.url, maxAttempts: 1 };
  const ecs = new ECSClient(config);
  const cwlogs = new CloudWatchLogsClient(config);
  opened.push({
    close: async () => {
      ecs.destroy();
      cwlogs.destroy();
      await server.close();
    },
  });
  const describeAxon = () => ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [AXON] }));
  return { ecs, cwlogs, describeAxon };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return `${e.name}/${e.$metadata?.httpStatusCode}`;
  }
}

describe('seededRandom', () => {
  it('repeats its sequence for a seed, stays in [0, 1) and differs between seeds', () => {
    const draw = (seed: number) => Array.from({ length: 1000 }, seededRandom(seed));
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(draw(43)).not.toEqual(a);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('API fault injection', () => {
  it('a throttle at rate 1 reaches the SDK as ThrottlingException', async () => {
    const sb = await boot([{ api: 'ecs', kind: 'throttle', rate: 1 }]);
    expect(await outcome(sb.describeAxon())).toBe('ThrottlingException/400');
  });

  it('a throttle at rate 0.3 fails some calls, the same ones for the same seed', async () => {
    const pattern = async () => {
      const sb = await boot([{ api: 'ecs', kind: 'throttle', rate: 0.3 }]);
      const results: string[] = [];
      for (let i = 0; i < 20; i += 1) results.push(await outcome(sb.describeAxon()));
      return results;
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    const failed = first.filter((r) => r !== 'ok').length;
    expect(failed).toBeGreaterThan(1);
    expect(failed).toBeLessThan(14);
  });

  it('server errors use ServerException for ECS and InternalFailure elsewhere, with status 500', async () => {
    const sb = await boot([
      { api: 'ecs', kind: 'server-error', rate: 1 },
      { api: 'logs', kind: 'server-error', rate: 1 },
    ]);
    expect(await outcome(sb.describeAxon())).toBe('ServerException/500');
    expect(await outcome(sb.cwlogs.send(new DescribeLogGroupsCommand({})))).toBe('InternalFailure/500');
  });

  it('a fault limited to some operations and one API leaves the other calls alone', async () => {
    const sb = await boot([{ api: 'ecs', kind: 'throttle', rate: 1, operations: ['UpdateService'] }]);
    expect(await outcome(sb.describeAxon())).toBe('ok');
    expect(await outcome(sb.cwlogs.send(new DescribeLogGroupsCommand({})))).toBe('ok');
    expect(await outcome(sb.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: AXON, desiredCount: 3 })))).toBe('ThrottlingException/400');
  });

  it('a slow response holds the answer for delayMs of real time, then succeeds', async () => {
    const sb = await boot([{ api: 'ecs', kind: 'slow-response', rate: 1, delayMs: 120 }]);
    const began = performance.now();
    expect(await outcome(sb.describeAxon())).toBe('ok');
    expect(performance.now() - began).toBeGreaterThanOrEqual(110);
  });
});
