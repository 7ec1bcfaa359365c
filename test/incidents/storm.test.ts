import { expect, test } from 'vitest';
import { executions, withIncidents } from './support.ts';

const SERVICES = Array.from({ length: 10 }, (_, i) => `storm-svc-${String(i + 1).padStart(2, '0')}`);
const ALARMS = SERVICES.flatMap((s) => [`${s}-unhealthy-hosts`, `${s}-5xx-rate`, `${s}-cpu-high`]);

test('alarm storm: 1,000 alarm events across 10 services in one simulated minute → exactly 10 executions, every event on its incident timeline', async () => {
  await withIncidents({ services: SERVICES.map((name) => ({ name })) }, async (sandbox, eventBridge) => {
    const startedAt = sandbox.clock.nowMs();
    const results = await eventBridge.storm(ALARMS, { events: 1000, seconds: 60 });
    const stormSeconds = (sandbox.clock.nowMs() - startedAt) / 1000;
    await eventBridge.drain();

    expect(stormSeconds).toBeLessThanOrEqual(60);
    expect(results).toHaveLength(1000);
    expect(executions(sandbox)).toHaveLength(10);
    expect(new Set(executions(sandbox).map((e) => JSON.parse(e.input).service))).toEqual(new Set(SERVICES));
    const starts = results.filter((r) => r.outcome === 'started');
    expect(starts).toHaveLength(10);
    expect(results.filter((r) => r.outcome !== 'started' && r.outcome !== 'appended')).toEqual([]);

    let onTimelines = 0;
    for (const start of starts) {
      if (start.outcome !== 'started') continue;
      const incident = await eventBridge.incident(start.incidentId);
      const alarms = incident?.timeline.filter((e) => e.kind === 'alarm' || e.kind === 'alarm-after-close') ?? [];
      expect(new Set(alarms.map((a) => a.eventId)).size).toBe(alarms.length);
      expect(incident?.alarmCount).toBe(alarms.length);
      expect(incident?.status).toBe('closed');
      onTimelines += alarms.length;
    }
    expect(onTimelines).toBe(1000);
    expect(eventBridge.posts).toHaveLength(10);
    expect(eventBridge.failures).toEqual([]);
  });
}, 180_000);
