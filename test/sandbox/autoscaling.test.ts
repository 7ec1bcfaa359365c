import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type PutScalingPolicyCommandInput,
} from '@aws-sdk/client-application-auto-scaling';
import { describe, expect, it } from 'vitest';
import { AAS_ECS_PRINCIPAL, AAS_ECS_ROLE } from '#sandbox/autoscaling';
import { parseScenario } from '#sandbox/scenario';
import { AXON, AXON_ID, bootScaling, caught, CLUSTER } from '../support/scaling.ts';

const ORBIT = 'acme-orbit';
const ECS = { ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount' } as const;
const twoServices = (extra: Record<string, unknown> = {}) => ({
  cluster: CLUSTER,
  services: [
    { name: AXON, desiredCount: 2 },
    { name: ORBIT, desiredCount: 2 },
  ],
  ...extra,
});
const saturated = (loadFactor: number, axon: Record<string, unknown>, fault: Record<string, unknown> = {}) => ({
  cluster: CLUSTER,
  services: [{ name: AXON, desiredCount: 2, ...axon }],
  faults: [{ service: AXON, kind: 'cpu-saturation' as const, loadFactor, ...fault }],
});
const cpuPolicy = (target: number, extra: Record<string, unknown> = {}): PutScalingPolicyCommandInput => ({
  ...ECS,
  ResourceId: AXON_ID,
  PolicyName: 'axon-cpu',
  PolicyType: 'TargetTrackingScaling',
  TargetTrackingScalingPolicyConfiguration: { TargetValue: target, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, ...extra },
});

describe('Application Auto Scaling: scalable targets', () => {
  it('registering MinCapacity 4 on a 2-task service scales it to 4 a little later, not within the call', async () => {
    const env = await bootScaling(twoServices());
    const out = await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 4, MaxCapacity: 8 }));
    expect(out.ScalableTargetARN).toMatch(/^arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target\/0e[0-9a-f]{34}$/);
    expect((await env.describe()).desiredCount).toBe(2);
    expect(await env.activities()).toEqual([]);

    const took = await env.until(30, async () => (await env.describe()).desiredCount === 4, 1);
    expect(took).toBeGreaterThanOrEqual(5);
    expect(took).toBeLessThanOrEqual(16);
    const [activity] = await env.activities();
    expect(activity).toMatchObject({ Description: 'Setting desired count to 4.', Cause: 'minimum capacity was set to 4', StatusCode: 'InProgress', ResourceId: AXON_ID });

    // Fulfilled once ECS runs the 4 tasks.
    await env.until(120, async () => (await env.describe()).runningCount === 4);
    env.clock.advance(10);
    const [done] = await env.activities();
    expect(done).toMatchObject({ StatusCode: 'Successful', StatusMessage: 'Successfully set desired count to 4. Change successfully fulfilled by ecs.' });
    expect(done!.EndTime!.getTime()).toBeGreaterThan(done!.StartTime!.getTime());
  });

  it('records the scaler’s UpdateService in CloudTrail under the service-linked role, invoked by Application Auto Scaling', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 3, MaxCapacity: 8 }));
    env.clock.advance(30);
    const update = env.trail.mutatingEvents().find((e) => e.eventName === 'UpdateService');
    expect(update).toMatchObject({ username: AAS_ECS_ROLE, invokedBy: AAS_ECS_PRINCIPAL, requestParameters: { cluster: CLUSTER, service: AXON, desiredCount: 3 } });
    const register = env.trail.mutatingEvents().find((e) => e.eventName === 'RegisterScalableTarget');
    expect(register).toMatchObject({ eventSource: 'application-autoscaling.amazonaws.com', requestParameters: { resourceId: AXON_ID, minCapacity: 3 } });
    // The service shows a desired count of 3 as after any UpdateService, and gets there.
    await env.until(120, async () => (await env.describe()).runningCount === 3);
    expect((await env.describe()).desiredCount).toBe(3);
  });

  it('updating MaxCapacity below the desired count scales in, naming the maximum', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 1, MaxCapacity: 4 }));
    env.clock.advance(30);
    expect((await env.describe()).desiredCount).toBe(2);
    // An update names only what changes; the minimum stays 1.
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MaxCapacity: 1 }));
    env.clock.advance(30);
    expect((await env.describe()).desiredCount).toBe(1);
    expect((await env.activities())[0]).toMatchObject({ Cause: 'maximum capacity was set to 1', Description: 'Setting desired count to 1.' });
    const [target] = (await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [AXON_ID] }))).ScalableTargets!;
    expect(target).toMatchObject({ MinCapacity: 1, MaxCapacity: 1, ScalableDimension: 'ecs:service:DesiredCount' });
  });

  it('does not undo a manual UpdateService outside [min, max]: it keeps the range only on its own actions', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 4 }));
    env.clock.advance(30);
    await env.scaleTo(6);
    env.clock.advance(10 * 60);
    expect((await env.describe()).desiredCount).toBe(6);
    expect(await env.activities()).toEqual([]);
  });

  it('describes targets with their defaults, filters by ResourceIds and pages with MaxResults/NextToken', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 4 }));
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: `service/${CLUSTER}/${ORBIT}`, MinCapacity: 1, MaxCapacity: 3 }));
    const first = await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', MaxResults: 1 }));
    expect(first.ScalableTargets).toHaveLength(1);
    expect(first.NextToken).toBeTruthy();
    const second = await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', MaxResults: 1, NextToken: first.NextToken }));
    expect(second.ScalableTargets!.map((t) => t.ResourceId)).toEqual([`service/${CLUSTER}/${ORBIT}`]);
    expect(second.NextToken).toBeUndefined();
    const [axon] = first.ScalableTargets!;
    expect(axon).toMatchObject({
      ServiceNamespace: 'ecs',
      ResourceId: AXON_ID,
      MinCapacity: 2,
      MaxCapacity: 4,
      RoleARN: `arn:aws:iam::123456789012:role/aws-service-role/${AAS_ECS_PRINCIPAL}/${AAS_ECS_ROLE}`,
      SuspendedState: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false },
    });
    expect(axon!.CreationTime).toBeInstanceOf(Date);
    const filtered = await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [`service/${CLUSTER}/${ORBIT}`] }));
    expect(filtered.ScalableTargets!.map((t) => t.MinCapacity)).toEqual([1]);
    // Another namespace holds nothing here.
    expect((await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' }))).ScalableTargets).toEqual([]);
  });

  it('deregistering removes the target and its policies and leaves the capacity as it is', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 3, MaxCapacity: 6 }));
    await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50)));
    env.clock.advance(30);
    await env.aas.send(new DeregisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID }));
    expect((await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }))).ScalableTargets).toEqual([]);
    expect((await env.aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs' }))).ScalingPolicies).toEqual([]);
    expect((await env.describe()).desiredCount).toBe(3);
  });
});

describe('Application Auto Scaling: target tracking on CPU', () => {
  it('scales out under cpu-saturation after three minutes above the target, proportionally (2 → 4 at ~87.5 % for 50 %)', async () => {
    const env = await bootScaling(saturated(2.5, {}));
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 10 }));
    const put = await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50)));
    expect(put.PolicyARN).toMatch(new RegExp(`^arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:[0-9a-f-]{36}:resource/ecs/${AXON_ID}:policyName/axon-cpu$`));
    expect(put.Alarms!.map((a) => a.AlarmName)).toEqual([expect.stringMatching(`^TargetTracking-${AXON_ID}-AlarmHigh-`), expect.stringMatching(`^TargetTracking-${AXON_ID}-AlarmLow-`)]);

    // Not on the first or second saturated minute: AlarmHigh needs 3 datapoints above 50 %.
    env.clock.advance(2 * 60 + 30);
    expect((await env.describe()).desiredCount).toBe(2);
    const took = await env.until(5 * 60, async () => (await env.describe()).desiredCount !== 2);
    expect(took).toBeDefined();
    expect((await env.describe()).desiredCount).toBe(4);
    const [activity] = await env.activities();
    expect(activity!.Cause).toBe(`monitor alarm ${put.Alarms![0]!.AlarmName} in state ALARM triggered policy axon-cpu`);
    expect(activity!.Description).toBe('Setting desired count to 4.');

    // At 4 tasks the CPU settles near 43.75 %: below the target, above 90 % of it — no more scaling either way.
    env.clock.advance(30 * 60);
    expect((await env.describe()).desiredCount).toBe(4);
    expect(await env.activities()).toHaveLength(1);
    const settled = await env.series(20);
    expect(settled).toHaveLength(20);
    for (const p of settled) expect(p.value).toBeLessThan(50);
  });

  it('clamps at MaxCapacity and records the not-scaled attempt (AlreadyAtMaxCapacity)', async () => {
    const env = await bootScaling(saturated(5, {}));
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 6 }));
    await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50)));
    const seen = new Set<number>();
    for (let i = 0; i < 30; i += 1) {
      env.clock.advance(60);
      seen.add((await env.describe()).desiredCount ?? 0);
    }
    expect(Math.max(...seen)).toBe(6);
    expect((await env.describe()).desiredCount).toBe(6);
    expect(await env.activities()).toEqual(expect.arrayContaining([expect.objectContaining({ Description: 'Setting desired count to 6.' })]));
    const notScaled = (await env.activities(true)).filter((a) => a.NotScaledReasons);
    expect(notScaled.length).toBeGreaterThanOrEqual(1);
    expect(notScaled[0]!.NotScaledReasons![0]).toEqual({ Code: 'AlreadyAtMaxCapacity', MaxCapacity: 6, MinCapacity: 2, CurrentCapacity: 6 });
    // Not-scaled activities are left out unless asked for.
    expect((await env.activities()).some((a) => a.NotScaledReasons)).toBe(false);
  });

  it('scales back in only after 15 minutes below 90 % of the target once the load has subsided', async () => {
    const env = await bootScaling(saturated(2.5, {}, { durationSeconds: 10 * 60 }));
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 10 }));
    await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50)));
    env.clock.advance(10 * 60);
    expect((await env.describe()).desiredCount).toBe(4);
    // From 03:10 the usual work is spread over 4 tasks (~17.5 % each, < 45 %); it was ~43.75 % (< 45 %) on 4 tasks before that.
    const scaledInAfter = await env.until(40 * 60, async () => ((await env.describe()).desiredCount ?? 0) < 4, 60);
    expect(scaledInAfter).toBeDefined();
    const scaleIn = (await env.activities())[0]!;
    expect(scaleIn.Cause).toMatch(/AlarmLow-.* in state ALARM triggered policy axon-cpu$/);
    // The usual work on 4 tasks is ~17.5 % each: ceil(4 × ~17.5 / 50) = 2, back to the usual count.
    expect((await env.describe()).desiredCount).toBe(2);
    const out = (await env.activities()).find((a) => a.Description === 'Setting desired count to 4.')!;
    expect(scaleIn.StartTime!.getTime() - out.StartTime!.getTime()).toBeGreaterThanOrEqual(15 * 60_000);
  });

  it('never scales in with DisableScaleIn', async () => {
    const env = await bootScaling(saturated(2.5, {}, { durationSeconds: 5 * 60 }));
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 10 }));
    await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50, { DisableScaleIn: true })));
    env.clock.advance(60 * 60);
    expect((await env.describe()).desiredCount).toBe(4);
    expect(await env.activities()).toHaveLength(1);
  });

  it('the scenario’s autoScaling creates the target and a CPU policy at start, and it tracks from there', async () => {
    const env = await bootScaling(saturated(2.5, { autoScaling: { minCapacity: 2, maxCapacity: 4, targetCpuPercent: 70, scaleInCooldownSeconds: 600 } }));
    const [target] = (await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }))).ScalableTargets!;
    expect(target).toMatchObject({ ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 4 });
    const [policy] = (await env.aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: AXON_ID }))).ScalingPolicies!;
    expect(policy).toMatchObject({
      PolicyName: `${AXON}-cpu-target-tracking`,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 70, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, ScaleInCooldown: 600 },
    });
    env.clock.advance(8 * 60);
    // ceil(2 × 87.5 / 70) = 3; on 3 tasks ~58.3 % stays below 70 % and ceil(3 × 58.3 / 70) = 3: it holds.
    expect((await env.describe()).desiredCount).toBe(3);
    env.clock.advance(40 * 60);
    expect((await env.describe()).desiredCount).toBe(3);
  });

  it('a scale-out ends the scale-in cooldown: the next scale-in need not wait for it (AAS API Reference, ScaleInCooldown)', async () => {
    const env = await bootScaling(saturated(2.5, {}, { durationSeconds: 30 * 60 }));
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 10 }));
    await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50, { ScaleInCooldown: 3600 })));
    // 10 tasks by hand after a quarter of an hour at the usual ~35 %: AlarmLow is in ALARM already,
    // so the scaler scales in at its next evaluation — and may not scale in again for an hour.
    await env.scaleTo(10);
    expect(await env.until(5 * 60, async () => ((await env.describe()).desiredCount ?? 10) < 10, 60)).toBeDefined();
    const firstScaleIn = (await env.activities())[0]!;
    expect(firstScaleIn.Cause).toMatch(/AlarmLow-/);
    // Back to 2 tasks by hand: ~87.5 % each, so AlarmHigh scales out to 4 within the cooldown.
    await env.scaleTo(2);
    expect(await env.until(10 * 60, async () => (await env.describe()).desiredCount === 4, 60)).toBeDefined();
    // The load ends at 30 min; 15 minutes of the usual work on 4 tasks (~17.5 %) have AlarmLow scale
    // in to 2 — before the first scale-in's hour of cooldown is over (the scale-out ended it).
    expect(await env.until(50 * 60, async () => (await env.describe()).desiredCount === 2, 60)).toBeDefined();
    const lastScaleIn = (await env.activities())[0]!;
    expect(lastScaleIn).toMatchObject({ Description: 'Setting desired count to 2.', Cause: expect.stringMatching(/AlarmLow-/) });
    expect(lastScaleIn.StartTime!.getTime() - firstScaleIn.StartTime!.getTime()).toBeLessThan(3600_000);
  });

  it('updates a policy in place under the same name and ARN', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 4 }));
    const a = await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50)));
    const b = await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(70, { ScaleOutCooldown: 60 })));
    expect(b.PolicyARN).toBe(a.PolicyARN);
    const policies = (await env.aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', PolicyNames: ['axon-cpu'] }))).ScalingPolicies!;
    expect(policies).toHaveLength(1);
    expect(policies[0]!.TargetTrackingScalingPolicyConfiguration).toMatchObject({ TargetValue: 70, ScaleOutCooldown: 60 });
    await env.aas.send(new DeleteScalingPolicyCommand({ ...ECS, ResourceId: AXON_ID, PolicyName: 'axon-cpu' }));
    expect((await env.aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs' }))).ScalingPolicies).toEqual([]);
  });
});

describe('Application Auto Scaling: AWS’s errors', () => {
  it('answers ValidationException for missing or unknown parameters, in AWS’s words', async () => {
    const env = await bootScaling(twoServices());
    const send = (input: Record<string, unknown>) => caught(env.aas.send(new DescribeScalableTargetsCommand(input as never)));
    const missing = await send({});
    expect(missing.name).toBe('ValidationException');
    expect(missing.message).toBe("1 validation error detected: Value null at 'serviceNamespace' failed to satisfy constraint: Member must not be null");
    expect((await send({ ServiceNamespace: 'ecz' })).message).toMatch(/^1 validation error detected: Value 'ecz' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set: \[/);
    const tooMany = await send({ ServiceNamespace: 'ecs', MaxResults: 51 });
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.$metadata?.httpStatusCode).toBe(400);
    expect((await send({ ServiceNamespace: 'ecs', NextToken: 'bm90LW91cnM=' })).name).toBe('InvalidNextTokenException');
  });

  it('refuses MinCapacity above MaxCapacity, a new target without both, and anything but an ECS service’s desired count', async () => {
    const env = await bootScaling(twoServices());
    const register = (input: Record<string, unknown>) => caught(env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, ...input } as never)));
    const inverted = await register({ MinCapacity: 5, MaxCapacity: 2 });
    expect(inverted.name).toBe('ValidationException');
    expect(inverted.message).toBe('Minimum capacity cannot be greater than maximum capacity');
    expect((await register({ MinCapacity: 2 })).name).toBe('ValidationException');
    expect((await register({ MinCapacity: -1, MaxCapacity: 2 })).name).toBe('ValidationException');
    const unsupported = await register({ ServiceNamespace: 'dynamodb', ScalableDimension: 'dynamodb:table:ReadCapacityUnits', ResourceId: 'table/ledger', MinCapacity: 1, MaxCapacity: 2 });
    expect(unsupported.message).toBe('Unsupported service namespace, resource type or scalable dimension');
    expect((await register({ ResourceId: 'ledger', MinCapacity: 1, MaxCapacity: 2 })).message).toBe('Unsupported service namespace, resource type or scalable dimension');
    const noService = await register({ ResourceId: `service/${CLUSTER}/ghost`, MinCapacity: 1, MaxCapacity: 2 });
    expect(noService.name).toBe('ValidationException');
    expect(noService.message).toBe(`ECS service doesn't exist: service/${CLUSTER}/ghost`);
    expect((await register({ ResourceId: `service/other-cluster/${AXON}`, MinCapacity: 1, MaxCapacity: 2 })).message).toMatch(/^ECS service doesn't exist/);
    // Nothing was registered by the refused calls.
    expect((await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }))).ScalableTargets).toEqual([]);
  });

  it('is disturbed by the scenario’s API faults like every other API: a throttled RegisterScalableTarget changes nothing', async () => {
    const env = await bootScaling(twoServices({ faults: [{ api: 'application-autoscaling', kind: 'throttle', rate: 1, operations: ['RegisterScalableTarget'], maxFailures: 1 }] }));
    const throttled = await caught(env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 4, MaxCapacity: 8 })));
    expect(throttled.name).toBe('ThrottlingException');
    expect(throttled.$metadata?.httpStatusCode).toBe(400);
    env.clock.advance(60);
    expect((await env.aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }))).ScalableTargets).toEqual([]);
    expect((await env.describe()).desiredCount).toBe(2);
    // The outage over, the same call goes through.
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 4, MaxCapacity: 8 }));
    env.clock.advance(30);
    expect((await env.describe()).desiredCount).toBe(4);
  });

  it('answers ObjectNotFoundException for policies and deregistrations of targets or policies that do not exist', async () => {
    const env = await bootScaling(twoServices());
    const put = await caught(env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50))));
    expect(put.name).toBe('ObjectNotFoundException');
    expect(put.message).toBe(`No scalable target registered for service namespace: ecs, resource ID: ${AXON_ID}, scalable dimension: ecs:service:DesiredCount`);
    expect((await caught(env.aas.send(new DeregisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID })))).name).toBe('ObjectNotFoundException');
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 4 }));
    const del = await caught(env.aas.send(new DeleteScalingPolicyCommand({ ...ECS, ResourceId: AXON_ID, PolicyName: 'nope' })));
    expect(del.name).toBe('ObjectNotFoundException');
    expect(del.message).toBe(`No scaling policy found for service namespace: ecs, resource ID: ${AXON_ID}, scalable dimension: ecs:service:DesiredCount, policy name: nope`);
  });

  it('refuses what the sandbox does not track by name, and a second policy on the same metric as AWS does', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 2, MaxCapacity: 4 }));
    const step = await caught(env.aas.send(new PutScalingPolicyCommand({ ...cpuPolicy(50), PolicyType: 'StepScaling' })));
    expect(step.name).toBe('ValidationException');
    expect(step.message).toMatch(/TargetTrackingScaling policies only/);
    const noValue = await caught(env.aas.send(new PutScalingPolicyCommand({ ...cpuPolicy(50), TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } } as never })));
    expect(noValue.message).toBe("1 validation error detected: Value null at 'targetTrackingScalingPolicyConfiguration.targetValue' failed to satisfy constraint: Member must not be null");
    const dynamo = await caught(env.aas.send(new PutScalingPolicyCommand({ ...cpuPolicy(50), TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' } } })));
    expect(dynamo.name).toBe('ValidationException');
    // Refused, so nothing was created.
    expect((await env.aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs' }))).ScalingPolicies).toEqual([]);
    await env.aas.send(new PutScalingPolicyCommand(cpuPolicy(50)));
    const twin = await caught(env.aas.send(new PutScalingPolicyCommand({ ...cpuPolicy(60), PolicyName: 'axon-cpu-2' })));
    expect(twin.message).toBe('Only one TargetTrackingScaling policy for a given metric specification is allowed.');
  });
});

const run = promisify(execFile);
const awsCli = await run('aws', ['--version']).then(
  (r) => `${r.stdout}${r.stderr}`,
  () => undefined,
);

describe.skipIf(!awsCli)('the AWS CLI against the sandbox', () => {
  it('parses describe-scalable-targets and describe-scaling-activities', async () => {
    const env = await bootScaling(twoServices());
    await env.aas.send(new RegisterScalableTargetCommand({ ...ECS, ResourceId: AXON_ID, MinCapacity: 3, MaxCapacity: 5 }));
    env.clock.advance(30);
    const cli = async (...args: string[]) => {
      const { stdout } = await run('aws', ['application-autoscaling', ...args, '--service-namespace', 'ecs', '--endpoint-url', env.url, '--region', 'us-east-1', '--output', 'json'], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' },
      });
      return JSON.parse(stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const targets = await cli('describe-scalable-targets');
    expect(targets.ScalableTargets).toHaveLength(1);
    expect(targets.ScalableTargets[0]).toMatchObject({ ResourceId: AXON_ID, MinCapacity: 3, MaxCapacity: 5, ScalableDimension: 'ecs:service:DesiredCount' });
    // CLI v1 prints timestamps as they came (cli_timestamp_format "none"): epoch seconds.
    expect(targets.ScalableTargets[0].CreationTime).toBe(Date.parse('2026-11-28T03:00:00Z') / 1000);
    const activities = await cli('describe-scaling-activities', '--resource-id', AXON_ID);
    expect(activities.ScalingActivities[0]).toMatchObject({ Description: 'Setting desired count to 3.', Cause: 'minimum capacity was set to 3' });
  });
});

describe('Application Auto Scaling in the sandbox', () => {
  it('is served on the sandbox’s port with the scenario’s targets, and the scaler’s changes reach the fleet', async () => {
    // Loaded here, not at the top: the whole sandbox (handlers, CDK synthesis) only for this test.
    const { Sandbox } = await import('../../sandbox/index.ts');
    const sandbox = await Sandbox.start(
      parseScenario({
        cluster: CLUSTER,
        services: [{ name: AXON, desiredCount: 2, autoScaling: { minCapacity: 2, maxCapacity: 6, targetCpuPercent: 50 } }],
        faults: [{ service: AXON, kind: 'cpu-saturation', loadFactor: 2.5 }],
      }),
    );
    const aas = new ApplicationAutoScalingClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
    try {
      const { ScalableTargets } = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [AXON_ID] }));
      expect(ScalableTargets).toEqual([expect.objectContaining({ MinCapacity: 2, MaxCapacity: 6 })]);
      sandbox.playOut(6 * 60);
      expect(sandbox.fleet.snapshot(AXON)!.desiredCount).toBe(4);
      expect(sandbox.autoScaling.scalingActivities()[0]).toMatchObject({ Description: 'Setting desired count to 4.' });
      // The drill's record of AWS calls names the target.
      await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: AXON_ID }));
      expect(sandbox.calls.at(-1)).toMatchObject({ api: 'application-autoscaling', operation: 'DescribeScalingPolicies', status: 200, params: { ResourceId: AXON_ID } });
    } finally {
      aas.destroy();
      await sandbox.stop();
    }
  });
});
