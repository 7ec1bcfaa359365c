import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '#sandbox/scenario';
import { AXON, bootScaling } from '../support/scaling.ts';

// The runbook's P1 "Degraded Performance": the service's load outgrows its tasks. 2 tasks at a
// 35 % CPU baseline with loadFactor 2.5 carry ~87.5 % each; scaled out to 4, ~43.75 %.
const saturated = (fault: Record<string, unknown> = {}, service: Record<string, unknown> = {}) => ({
  cluster: 'acme-cluster',
  services: [{ name: AXON, desiredCount: 2, ...service }],
  faults: [{ service: AXON, kind: 'cpu-saturation' as const, ...fault }],
});
const NOISE = 3.01;

describe('cpu-saturation', () => {
  it('raises CPU per task to baseline × loadFactor, and UpdateService to 4 tasks brings it down to about half', async () => {
    const env = await bootScaling(saturated());
    env.clock.advance(5 * 60);
    const before = await env.series(4);
    expect(before).toHaveLength(4);
    for (const p of before) expect(Math.abs(p.value - 87.5)).toBeLessThanOrEqual(NOISE);

    await env.scaleTo(4);
    env.clock.advance(7 * 60);
    const after = await env.series(5);
    expect(after).toHaveLength(5);
    for (const p of after) expect(Math.abs(p.value - 43.75)).toBeLessThanOrEqual(NOISE);
  });

  it('keeps the service RUNNING and healthy: degraded, not down', async () => {
    const env = await bootScaling(saturated({ loadFactor: 4 }));
    env.clock.advance(10 * 60);
    const svc = await env.describe();
    expect(svc.status).toBe('ACTIVE');
    expect(svc.runningCount).toBe(2);
    expect(svc.deployments).toHaveLength(1);
    expect(env.fleet.isHealthy(AXON)).toBe(true);
    expect(env.fleet.steadySince(AXON)).toBeDefined();
    // Saturated CPU is capped at 100 % of the task's vCPU (35 × 4 = 140 → 100, less the noise).
    const peaks = await env.series(5, 'Maximum');
    expect(peaks).toHaveLength(5);
    for (const p of peaks) expect(p.value).toBeGreaterThanOrEqual(97);
  });

  it('raises memory a third as steeply as CPU', async () => {
    const env = await bootScaling(saturated({ loadFactor: 2.5 }));
    env.clock.advance(4 * 60);
    // 45 % × (1 + 1.5 / 3) = 67.5 %.
    const memory = await env.series(3, 'Average', 'MemoryUtilization');
    expect(memory).toHaveLength(3);
    for (const p of memory) expect(Math.abs(p.value - 67.5)).toBeLessThanOrEqual(NOISE);
  });

  it('counts a new task only once it is RUNNING: the minute it still starts shows the old split', async () => {
    // Tasks take 90–112 s to start: the first whole minute after the update still runs on 2 tasks.
    const env = await bootScaling(saturated({}, { startSeconds: 90 }));
    env.clock.advance(3 * 60);
    await env.scaleTo(4);
    env.clock.advance(60);
    const [first] = await env.series(1);
    expect(Math.abs(first!.value - 87.5)).toBeLessThanOrEqual(NOISE);
    env.clock.advance(3 * 60);
    const [later] = await env.series(1);
    expect(Math.abs(later!.value - 43.75)).toBeLessThanOrEqual(NOISE);
  });

  it('shows the hour in GetMetricData: baseline before the fault, saturation, then recovery after scaling out', async () => {
    const env = await bootScaling(saturated());
    env.clock.advance(20 * 60);
    await env.scaleTo(4);
    env.clock.advance(20 * 60);
    const minutes = await env.series(60);
    // 20 minutes of history before the scenario start, 20 saturated on 2 tasks, 20 on 4 (one in transition).
    expect(minutes).toHaveLength(60);
    const near = (v: number, want: number) => Math.abs(v - want) <= NOISE;
    expect(minutes.slice(0, 20).every((p) => near(p.value, 35))).toBe(true);
    expect(minutes.slice(20, 40).every((p) => near(p.value, 87.5))).toBe(true);
    expect(minutes.slice(41).every((p) => near(p.value, 43.75))).toBe(true);

    const [hourAvg] = await env.series(60, 'Average', 'CPUUtilization', AXON, 3600);
    const [hourMax] = await env.series(60, 'Maximum', 'CPUUtilization', AXON, 3600);
    expect(hourMax!.value).toBeGreaterThan(84);
    expect(hourAvg!.value).toBeGreaterThan(50);
    expect(hourAvg!.value).toBeLessThan(65);
  });

  it('subsides to the baseline after durationSeconds (a quiet period to scale back in)', async () => {
    const env = await bootScaling(saturated({ durationSeconds: 300 }));
    env.clock.advance(15 * 60);
    const minutes = await env.series(15);
    expect(minutes).toHaveLength(15);
    expect(minutes.slice(0, 5).every((p) => Math.abs(p.value - 87.5) <= NOISE)).toBe(true);
    expect(minutes.slice(5).every((p) => Math.abs(p.value - 35) <= NOISE)).toBe(true);
  });

  it('survives a restart: the load is outside work, a force-new-deployment does not clear it', async () => {
    const env = await bootScaling(saturated());
    env.clock.advance(2 * 60);
    await env.ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: AXON, forceNewDeployment: true }));
    env.clock.advance(8 * 60);
    const [last] = await env.series(1);
    expect(Math.abs(last!.value - 87.5)).toBeLessThanOrEqual(NOISE);
  });
});

describe('scenario fields for P1 drills', () => {
  it('refuses a loadFactor outside 1–20, naming the field', () => {
    expect(() => parseScenario(saturated({ loadFactor: 25 }))).toThrow(ScenarioError);
    expect(() => parseScenario(saturated({ loadFactor: 25 }))).toThrow(/faults\.0\.loadFactor/);
    expect(() => parseScenario(saturated({ loadFactor: 0.5 }))).toThrow(/faults\.0\.loadFactor/);
  });

  it('defaults loadFactor to 2.5 and leaves durationSeconds open', () => {
    const s = parseScenario(saturated());
    expect(s.serviceFaults[0]).toMatchObject({ kind: 'cpu-saturation', loadFactor: 2.5 });
    expect(s.serviceFaults[0]!.durationSeconds).toBeUndefined();
  });

  it('refuses autoScaling whose range does not hold the desired count, naming the field', () => {
    const svc = (autoScaling: Record<string, unknown>) => ({ services: [{ name: AXON, desiredCount: 2, autoScaling }] });
    expect(() => parseScenario(svc({ minCapacity: 3, maxCapacity: 6 }))).toThrow(/"services\.0\.autoScaling\.minCapacity".*desiredCount 2/);
    expect(() => parseScenario(svc({ minCapacity: 1, maxCapacity: 1 }))).toThrow(/"services\.0\.autoScaling\.maxCapacity"/);
    expect(() => parseScenario(svc({ minCapacity: 5, maxCapacity: 4 }))).toThrow(/"services\.0\.autoScaling\.minCapacity".*above maxCapacity/);
    expect(() => parseScenario(svc({ minCapacity: 2, maxCapacity: 4, targetCpuPercent: 0 }))).toThrow(/autoScaling\.targetCpuPercent/);
    expect(() => parseScenario(svc({ minCapacity: 2, maxCapacity: 4, extra: 1 }))).toThrow(ScenarioError);
    expect(parseScenario(svc({ minCapacity: 2, maxCapacity: 4, targetCpuPercent: 50 })).services[0]!.autoScaling).toEqual({ minCapacity: 2, maxCapacity: 4, targetCpuPercent: 50 });
  });
});
