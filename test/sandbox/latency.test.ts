import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { documentClient } from '#commons/clients';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { VirtualClock } from '#sandbox/clock';
import { AWS_LATENCY, Latency, NO_LATENCY, type LatencyModel } from '#sandbox/latency';
import { SfnFacade } from '#sandbox/sfn/facade';
import { firstRemediatingCallLine, runDrill } from '../../cli/drill.ts';
import { planDrill } from '../../cli/drill-scenario.ts';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

/** AWS's figures without the jitter, so a test can name the exact cost. */
const EXACT: LatencyModel = {
  ...AWS_LATENCY,
  name: 'exact',
  jitter: 0,
  api: { defaultSeconds: 0.04, operations: { dynamodb: 0.008, 'ecs:DescribeServices': 0.05, 'cloudtrail:LookupEvents': 0.5 } },
};

/** Two Task states invoking the same function: the first invocation is cold, the second warm. */
async function invokeTwice(model: LatencyModel): Promise<{ cold: number; warm: number; total: number }> {
  const clock = new VirtualClock(0);
  const latency = new Latency(model, { seed: 42, clock });
  const entered: number[] = [];
  const facade = new SfnFacade({
    clock,
    region: REGION,
    accountId: ACCOUNT,
    validate: false,
    latency,
    handlers: {
      echo: async (event) => {
        entered.push(clock.nowMs());
        return event;
      },
    },
  });
  const started: number[] = [];
  facade.onEvent((e: HistoryEvent) => {
    if (e.type === 'LambdaFunctionStarted') started.push(clock.nowMs());
  });
  facade.addDefinition('twice', {
    StartAt: 'First',
    States: {
      First: { Type: 'Task', Resource: fn('echo'), Next: 'Second' },
      Second: { Type: 'Task', Resource: fn('echo'), End: true },
    },
  });
  const record = await facade.wait(facade.start('twice', { ok: true }));
  expect(record.status).toBe('SUCCEEDED');
  return { cold: (entered[0]! - started[0]!) / 1000, warm: (entered[1]! - started[1]!) / 1000, total: (record.stopDate!.getTime() - record.startDate.getTime()) / 1000 };
}

describe('the latency model, charged on the virtual clock', () => {
  test("a cold invocation costs more than a warm one on the virtual clock (AWS's init duration, then the invoke alone)", async () => {
    const { cold, warm, total } = await invokeTwice(EXACT);
    expect(cold).toBeCloseTo(EXACT.lambda.coldStartSeconds + EXACT.lambda.invokeSeconds, 3);
    expect(warm).toBeCloseTo(EXACT.lambda.invokeSeconds, 3);
    expect(cold).toBeGreaterThan(warm);
    // And each state entered costs its transition: two Tasks, two transitions.
    expect(total).toBeCloseTo(cold + warm + 2 * EXACT.stateTransitionSeconds, 3);
  });

  test("'none' costs nothing: the same execution takes no virtual time", async () => {
    expect(await invokeTwice(NO_LATENCY)).toEqual({ cold: 0, warm: 0, total: 0 });
  });

  test('jitter is drawn from the seed: the same seed charges the same, another seed differs, all within ±jitter', () => {
    const clock = { nowMs: () => 0 };
    const draws = (seed: number) => {
      const l = new Latency('aws', { seed, clock });
      return [l.lambdaInvoke('assess'), l.apiCall('ecs', 'DescribeServices'), l.apiCall('cloudtrail', 'LookupEvents'), l.stateTransitions(3)];
    };
    expect(draws(53)).toEqual(draws(53));
    expect(draws(53)).not.toEqual(draws(54));
    const [, , lookup] = draws(53);
    expect(lookup).toBeGreaterThanOrEqual(0.5 * (1 - AWS_LATENCY.jitter));
    expect(lookup).toBeLessThanOrEqual(0.5 * (1 + AWS_LATENCY.jitter));
  });

  test('an environment idle past the reclaim is cold again; without a reclaim figure only the first invocation is', () => {
    let now = 0;
    const model: LatencyModel = { ...EXACT, lambda: { ...EXACT.lambda, idleReclaimSeconds: 600 } };
    const reclaiming = new Latency(model, { seed: 1, clock: { nowMs: () => now } });
    const keeping = new Latency(EXACT, { seed: 1, clock: { nowMs: () => now } });
    expect(reclaiming.lambdaInvoke('assess')).toBeCloseTo(0.475, 3);
    keeping.lambdaInvoke('assess');
    now = 601_000;
    expect(reclaiming.lambdaInvoke('assess')).toBeCloseTo(0.475, 3);
    expect(keeping.lambdaInvoke('assess')).toBeCloseTo(0.025, 3);
    expect(reclaiming.totals).toMatchObject({ coldStarts: 2, warmInvocations: 0 });
  });
});

describe('AWS calls answered by the sandbox cost their latency', () => {
  let exact: Sandbox;
  let free: Sandbox;

  beforeAll(async () => {
    exact = await Sandbox.start(parseScenario({}), { latency: EXACT });
    free = await Sandbox.start(parseScenario({}), { latency: 'none' });
  });

  afterAll(async () => {
    await exact?.stop();
    await free?.stop();
  });

  test("each AWS call made through the SDK advances the clock by the model's figure, with nobody holding the clock", async () => {
    const o = exact.clientOptions();
    const ecs = new ECSClient(o);
    const cases: [string, () => Promise<unknown>, number][] = [
      ['ecs:DescribeServices', () => ecs.send(new DescribeServicesCommand({ cluster: exact.scenario.cluster, services: ['acme-axon'] })), 0.05],
      ['cloudtrail:LookupEvents', () => new CloudTrailClient({ ...o, maxAttempts: 1 }).send(new LookupEventsCommand({ MaxResults: 1 })), 0.5],
      ['dynamodb:GetItem', () => documentClient(o).send(new GetCommand({ TableName: 'incident-flows-incidents', Key: { pk: 'nothing' } })), 0.008],
    ];
    for (const [what, call, seconds] of cases) {
      const before = exact.clock.nowMs();
      await call();
      expect(exact.clock.nowMs() - before, what).toBe(Math.round(seconds * 1000));
    }
    // The call is recorded when ECS handles it: after its latency.
    const described = exact.calls.filter((c) => c.operation === 'DescribeServices').at(-1)!;
    expect(Date.parse(described.at)).toBeGreaterThan(Date.parse(exact.scenario.startTime));
  });

  test("a driver holding the clock while it waits on another participant's call is not deadlocked: time moves by the latency, no further", async () => {
    const before = exact.clock.nowMs();
    // The driver holds the clock (a test freezing time around a click); a delivery, a participant of
    // its own, makes the call; the driver waits on the delivery without sleeping.
    exact.clock.enter();
    try {
      const delivery = (async () => {
        exact.clock.enter();
        try {
          await new ECSClient(exact.clientOptions()).send(new DescribeServicesCommand({ cluster: exact.scenario.cluster, services: ['acme-axon'] }));
        } finally {
          exact.clock.leave();
        }
      })();
      await delivery;
    } finally {
      exact.clock.leave();
    }
    expect(exact.clock.nowMs() - before).toBe(50);
  });

  test("'none' costs nothing: an AWS call leaves the clock where it was", async () => {
    const before = free.clock.nowMs();
    await new ECSClient(free.clientOptions()).send(new DescribeServicesCommand({ cluster: free.scenario.cluster, services: ['acme-axon'] }));
    expect(free.clock.nowMs()).toBe(before);
    expect(free.latency.totals.seconds).toBe(0);
  });
});

describe('time to first action in the P0 drill', () => {
  test("the P0 crash-loop drill's first remediating call comes some seconds (not 0) after the alarm with 'aws', and its figure is in the report", async () => {
    const aws = await runDrill(planDrill({ fault: 'crash-loop' }), { latency: 'aws' });
    expect(aws).toMatchObject({ outcome: 'recovered', passed: true, latencyModel: 'aws' });
    // Cold starts of assess, inspect-changes, review-logs and restart-service, CloudTrail and Logs reads, transitions.
    expect(aws.firstRemediatingCallSeconds).toBeGreaterThanOrEqual(2);
    expect(aws.firstRemediatingCallSeconds).toBeLessThan(15);
    expect(firstRemediatingCallLine(aws)).toBe(`First remediating call: ${aws.firstRemediatingCallSeconds} s after the alarm (AWS's latencies).`);

    const free = await runDrill(planDrill({ fault: 'crash-loop' }), { latency: 'none' });
    expect(free).toMatchObject({ outcome: 'recovered', firstRemediatingCallSeconds: 0, latencyModel: 'none' });
    // Time to recover now includes what the automation itself spends.
    expect(aws.simulatedSeconds).toBeGreaterThan(free.simulatedSeconds);

    // Deterministic: the same scenario seed, the same figure.
    const again = await runDrill(planDrill({ fault: 'crash-loop' }), { latency: 'aws' });
    expect(again.firstRemediatingCallSeconds).toBe(aws.firstRemediatingCallSeconds);
  });

  test('a drill that changes nothing reports no first remediating call', async () => {
    const none = await runDrill(planDrill({ fault: 'none' }), { latency: 'aws' });
    expect(none.outcome).toBe('no-action');
    expect(none.firstRemediatingCallSeconds).toBeUndefined();
    expect(firstRemediatingCallLine(none)).toMatch(/none — nothing was changed/);
  });
});
