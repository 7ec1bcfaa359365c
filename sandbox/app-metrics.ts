import type { FleetReadings } from './fleet-views.ts';
import { appNamespaceOf } from './governance.ts';
import type { FleetMetric } from './metrics.ts';

const MINUTE_MS = 60_000;

/**
 * The application's own metrics, as the runbook's services publish them (`${PROJECT_NAME}/Axon`
 * ErrorCount, and RequestCount beside it), one datapoint a minute and no dimensions, published by the
 * running tasks (none running, no datapoint): the service receives 120 requests a minute per desired
 * task; the share of a task that is not healthy fails, and served requests fail at a baseline of
 * 0.1–0.3 %. So the error rate sits near 0.2 % while the service is healthy and rises with every
 * task that fails.
 */
const REQUESTS_PER_TASK_MINUTE = 120;

export function appMetrics(readings: FleetReadings): FleetMetric[] {
  return readings.serviceNames().flatMap((service) => {
    const namespace = appNamespaceOf(service);
    const sample = (minuteMs: number) => readings.serviceSample(service, minuteMs + MINUTE_MS - 1);
    const counts = (minuteMs: number) => {
      const s = sample(minuteMs);
      // The application publishes these itself: a minute with no task running has no datapoint.
      if (!s || s.running === 0) return undefined;
      const demand = s.desired * REQUESTS_PER_TASK_MINUTE;
      const served = Math.min(s.healthy, s.desired) * REQUESTS_PER_TASK_MINUTE;
      const baseline = Math.round(served * (0.001 + 0.002 * noise(`${namespace}|${minuteMs}`)));
      return { requests: demand, errors: demand - served + baseline };
    };
    const metric = (name: string, pick: (c: { requests: number; errors: number }) => number): FleetMetric => ({
      Namespace: namespace,
      MetricName: name,
      Dimensions: [],
      Unit: 'Count',
      valueAt: (m) => {
        const c = counts(m);
        return c ? pick(c) : undefined;
      },
    });
    return [metric('ErrorCount', (c) => c.errors), metric('RequestCount', (c) => c.requests)];
  });
}

/** A number in [0, 1) from a string: the same minute always reads the same. */
function noise(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i += 1) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}
