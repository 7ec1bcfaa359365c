import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { cloudWatchClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { checkInputSchema, type CheckResult, type HealthLine, type HealthPlan, type MetricCheck } from './health/plan.ts';

export interface CheckMetricsDeps {
  cloudwatch: CloudWatchClient;
  clock: Clock;
}

type Stat = MetricCheck['stat'];
interface Query {
  id: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat: Stat;
}

/** One-minute datapoints, combined here: the window need not align with CloudWatch's hourly periods. */
const PERIOD_SECONDS = 60;
/** GetMetricData answers at most 500 queries per call (CloudWatch API Reference). */
const MAX_QUERIES = 500;
/** Pages of GetMetricData at most (each up to 100,800 datapoints): a bound, never reached by a day's minutes. */
const MAX_PAGES = 10;

/**
 * Runbook › Monitoring Review, over the last hour with GetMetricData: each service's ECS
 * CPUUtilization (average, under 70 %), each configured error rate (sum of errors over sum of
 * requests, under 1 %), and every metric the configuration names.
 */
export async function checkMetrics(event: unknown, deps: CheckMetricsDeps): Promise<CheckResult> {
  const { plan } = parseInput(checkInputSchema, event, 'check-metrics input');
  const now = deps.clock.now();
  const queries = queriesOf(plan);
  const { values, unanswered } = await fetchAll(deps.cloudwatch, queries, new Date(now.getTime() - plan.lookbackMinutes * 60_000), now);
  const window = plan.lookbackMinutes === 60 ? 'the last hour' : `the last ${plan.lookbackMinutes} min`;
  const lines: HealthLine[] = [];
  /** A query CloudWatch answered with InternalError or Forbidden: red, saying so, and no incident (unmeasured). */
  const notRead = (...ids: string[]) => {
    const why = ids.map((id) => unanswered.get(id)).find((w) => w !== undefined);
    return why === undefined ? undefined : { ok: false, figure: `CloudWatch could not answer the query (${why}): not measured`, unmeasured: true as const };
  };

  plan.services.forEach((service, i) => {
    const cpu = combine('Average', values.get(`cpu${i}`));
    const t = plan.cpuThresholdPercent;
    const base = { kind: 'cpu' as const, component: `${service} CPU`, service, threshold: t };
    const failed = notRead(`cpu${i}`);
    if (failed) lines.push({ ...base, ...failed });
    // No datapoint is no CPU figure: red, but no P1 — a service with no task running is the service line's P0.
    else if (cpu === undefined) lines.push({ ...base, ok: false, figure: `no CPUUtilization datapoints in ${window} (no task running?)`, unmeasured: true });
    else lines.push({ ...base, ok: cpu < t, figure: `${pct(cpu)} average over ${window} (${cpu < t ? '<' : '≥'} ${t} %)`, value: round2(cpu) });
  });

  plan.errorRates.forEach((r, i) => {
    const errors = combine('Sum', values.get(`err${i}`)) ?? 0;
    const requests = combine('Sum', values.get(`req${i}`)) ?? 0;
    const t = r.thresholdPercent;
    const base = { kind: 'errorRate' as const, component: `${r.label} error rate`, ...(r.service ? { service: r.service } : {}), threshold: t };
    const failed = notRead(`err${i}`, `req${i}`);
    if (failed) {
      lines.push({ ...base, ...failed });
      return;
    }
    if (requests <= 0) {
      // No traffic is no error rate: errors without requests are still worth a red line.
      lines.push({ ...base, ok: errors === 0, figure: errors === 0 ? `no requests in ${window}` : `${errors} error(s) and no requests in ${window}` });
      return;
    }
    const rate = (errors / requests) * 100;
    lines.push({ ...base, ok: rate < t, figure: `${pct(rate)} (${fmt(errors)} of ${fmt(requests)} requests in ${window}, ${rate < t ? '<' : '≥'} ${t} %)`, value: round2(rate) });
  });

  plan.metrics.forEach((m, i) => {
    const value = combine(m.stat, values.get(`m${i}`));
    const base = { kind: 'metric' as const, component: m.label, ...(m.service ? { service: m.service } : {}), threshold: m.threshold };
    const failed = notRead(`m${i}`);
    if (failed || value === undefined) {
      lines.push({ ...base, ...(failed ?? { ok: false, figure: `no ${m.namespace} ${m.metricName} datapoints in ${window}`, unmeasured: true as const }) });
      return;
    }
    const failing = fails(m.comparison, value, m.threshold);
    lines.push({ ...base, ok: !failing, figure: `${m.stat} ${fmt(round2(value))} over ${window} (fails when ${SYMBOL[m.comparison]} ${m.threshold})`, value: round2(value) });
  });
  return { lines, checkedAt: now.toISOString() };
}

function queriesOf(plan: HealthPlan): Query[] {
  return [
    ...plan.services.map((service, i): Query => ({ id: `cpu${i}`, namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: { ClusterName: plan.cluster, ServiceName: service }, stat: 'Average' })),
    ...plan.errorRates.flatMap((r, i): Query[] => [
      { id: `err${i}`, namespace: r.namespace, metricName: r.errors, dimensions: r.dimensions, stat: 'Sum' },
      { id: `req${i}`, namespace: r.namespace, metricName: r.requests, dimensions: r.dimensions, stat: 'Sum' },
    ]),
    ...plan.metrics.map((m, i): Query => ({ id: `m${i}`, namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, stat: m.stat })),
  ];
}

/**
 * Every query's one-minute values. GetMetricData can answer a call and still fail a query: its result's
 * StatusCode is then InternalError or Forbidden (CloudWatch API Reference, MetricDataResult), kept
 * in `unanswered` with CloudWatch's message.
 */
async function fetchAll(cw: CloudWatchClient, queries: Query[], start: Date, end: Date): Promise<{ values: Map<string, number[]>; unanswered: Map<string, string> }> {
  const values = new Map<string, number[]>();
  const unanswered = new Map<string, string>();
  for (let i = 0; i < queries.length; i += MAX_QUERIES) {
    const batch: MetricDataQuery[] = queries.slice(i, i + MAX_QUERIES).map((q) => ({
      Id: q.id,
      MetricStat: {
        Metric: { Namespace: q.namespace, MetricName: q.metricName, Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })) },
        Period: PERIOD_SECONDS,
        Stat: q.stat,
      },
      ReturnData: true,
    }));
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await cw.send(new GetMetricDataCommand({ MetricDataQueries: batch, StartTime: start, EndTime: end, ScanBy: 'TimestampAscending', NextToken: nextToken }));
      for (const r of out.MetricDataResults ?? []) {
        if (!r.Id) continue;
        values.set(r.Id, [...(values.get(r.Id) ?? []), ...(r.Values ?? [])]);
        if (r.StatusCode === 'InternalError' || r.StatusCode === 'Forbidden') unanswered.set(r.Id, [r.StatusCode, ...(r.Messages ?? []).map((m) => m.Value ?? m.Code)].filter(Boolean).join(': ').slice(0, 200));
      }
      nextToken = out.NextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);
  }
  return { values, unanswered };
}

/** Per-minute values of a statistic combined over the window; undefined without datapoints. */
function combine(stat: Stat, values: number[] | undefined): number | undefined {
  if (!values || values.length === 0) return undefined;
  switch (stat) {
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Sum':
    case 'SampleCount':
      return values.reduce((a, b) => a + b, 0);
  }
}

const SYMBOL: Record<MetricCheck['comparison'], string> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '≥',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '≤',
};

function fails(comparison: MetricCheck['comparison'], value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const pct = (n: number) => `${n < 10 ? round2(n).toFixed(2) : round2(n).toFixed(1)} %`;
const fmt = (n: number) => n.toLocaleString('en-US');

const defaults = once(() => ({ cloudwatch: cloudWatchClient(), clock: systemClock }));
const log = once(() => createLogger('check-metrics'));
export const handler = step('check-metrics', log, (event) => checkMetrics(event, defaults()));
