import type { FleetReadings, ServiceSample, TargetGroupView } from './fleet-views.ts';
import { appMetrics } from './app-metrics.ts';

/**
 * CloudWatch metrics drawn from the simulated fleet: pure, deterministic functions over
 * `FleetReadings` (sandbox/fleet-views.ts). sandbox/cloudwatch.ts turns them into
 * GetMetricStatistics, GetMetricData and ListMetrics answers.
 *
 * Each metric has one raw datapoint per minute, as ECS, Container Insights and ALB publish them
 * (1-minute resolution): the minute [m, m+60 s) is read at its last millisecond and exists only
 * once the minute is over and only where the fleet still has history for it.
 */

export interface Dimension {
  Name: string;
  Value: string;
}

export type MetricUnit = 'Percent' | 'Count';

export interface FleetMetric {
  Namespace: string;
  MetricName: string;
  Dimensions: Dimension[];
  Unit: MetricUnit;
  /** The raw datapoint of the minute starting at `minuteMs`; undefined where nothing was published. */
  valueAt(minuteMs: number): number | undefined;
}

export const MINUTE_MS = 60_000;

/** Every metric the fleet publishes now (ListMetrics order: namespace, name, dimensions). */
export function fleetMetrics(readings: FleetReadings): FleetMetric[] {
  return [...catalogue(readings).sorted];
}

/**
 * The metric with exactly these dimensions (any order). CloudWatch treats each dimension
 * combination as its own metric: a subset matches nothing (GetMetricStatistics' Dimensions doc).
 */
export function findMetric(readings: FleetReadings, namespace: string, metricName: string, dimensions: Dimension[]): FleetMetric | undefined {
  return catalogue(readings).byKey.get(metricKey({ Namespace: namespace, MetricName: metricName, Dimensions: dimensions }));
}

interface Catalogue {
  /** Which services and target groups the metrics were built for. */
  shape: string;
  sorted: FleetMetric[];
  byKey: Map<string, FleetMetric>;
}

const catalogues = new WeakMap<FleetReadings, Catalogue>();

/**
 * The fleet's metrics, built once per set of services and target groups: a metric reads the fleet
 * when asked for a value and the scenario's baselines do not change, so the objects never go
 * stale. Built and sorted for every lookup they cost ~3 ms at 50 services — once per policy per
 * minute for the scaler (an hour of a 50-service drill: 8.6 s, now 0.6 s), once per query for
 * GetMetricData.
 */
function catalogue(readings: FleetReadings): Catalogue {
  const shape = [...readings.serviceNames(), ...readings.targetGroups().map((tg) => `${tg.arn} ${tg.loadBalancerArn}`)].join('\u0000');
  const cached = catalogues.get(readings);
  if (cached?.shape === shape) return cached;
  const keyed = [
    ...readings.serviceNames().flatMap((s) => serviceMetrics(readings, s)),
    ...readings.targetGroups().flatMap((tg) => targetGroupMetrics(readings, tg)),
    // The application's RequestCount and ErrorCount (<project>/<App>, sandbox/app-metrics.ts).
    ...appMetrics(readings),
  ].map((m) => ({ m, key: metricKey(m) }));
  keyed.sort((a, b) => a.key.localeCompare(b.key));
  const built: Catalogue = { shape, sorted: keyed.map((k) => k.m), byKey: new Map(keyed.map((k) => [k.key, k.m])) };
  catalogues.set(readings, built);
  return built;
}

function metricKey(m: Pick<FleetMetric, 'Namespace' | 'MetricName' | 'Dimensions'>): string {
  return `${m.Namespace}\u0000${m.MetricName}\u0000${dimensionKey(m.Dimensions)}`;
}

function dimensionKey(dimensions: Dimension[]): string {
  return dimensions
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join('\u0001');
}

/** `targetgroup/<name>/<id>`: the TargetGroup dimension ALB metrics carry (the ARN's resource part). */
export function targetGroupDimension(targetGroupArn: string): string {
  return targetGroupArn.slice(targetGroupArn.lastIndexOf(':') + 1);
}

/** `app/<name>/<id>`: the LoadBalancer dimension (the ARN after `loadbalancer/`). */
export function loadBalancerDimension(loadBalancerArn: string): string {
  const marker = ':loadbalancer/';
  const at = loadBalancerArn.indexOf(marker);
  return at < 0 ? loadBalancerArn : loadBalancerArn.slice(at + marker.length);
}

// ---------------------------------------------------------------------------------------------
// The fleet's metrics

/** ECS publishes service CPU/memory only while tasks run; Container Insights publishes counts always. */
function serviceMetrics(readings: FleetReadings, service: string): FleetMetric[] {
  const dims = [
    { Name: 'ClusterName', Value: readings.clusterName },
    { Name: 'ServiceName', Value: service },
  ];
  /** One metric of the service, its value drawn from the minute's sample (none beyond the history). */
  const metric = (Namespace: string, MetricName: string, Unit: MetricUnit, value: (s: ServiceSample, minuteMs: number) => number | undefined): FleetMetric => ({
    Namespace,
    MetricName,
    Dimensions: dims,
    Unit,
    valueAt: (m) => {
      const s = readings.serviceSample(service, m + MINUTE_MS - 1);
      return s ? value(s, m) : undefined;
    },
  });
  const counts = [
    metric('ECS/ContainerInsights', 'RunningTaskCount', 'Count', (s) => s.running),
    metric('ECS/ContainerInsights', 'DesiredTaskCount', 'Count', (s) => s.desired),
    metric('ECS/ContainerInsights', 'PendingTaskCount', 'Count', (s) => s.pending),
  ];
  const baseline = readings.utilisationBaseline(service);
  if (!baseline) return counts;
  const utilisation = (name: string, kind: 'cpu' | 'memory', crashExtra: number) =>
    metric('AWS/ECS', name, 'Percent', (s, m) =>
      s.running === 0 ? undefined : syntheticUtilisation(saturatedBaseline(baseline[kind], s, kind), s, noise(`${name}|${readings.clusterName}|${service}|${m}`), crashExtra),
    );
  return [...counts, utilisation('CPUUtilization', 'cpu', CRASH_LOOP_CPU), utilisation('MemoryUtilization', 'memory', CRASH_LOOP_MEMORY)];
}

/**
 * The per-task baseline under a cpu-saturation fault. The load is a fixed amount of work, so each
 * running task carries its share: CPU = baseline × loadFactor × usualTasks / running (2 tasks at
 * 35 % and factor 2.5 → 87.5 %; scaled out to 4 → 43.75 %), capped at 100 — a task cannot use more
 * than its vCPU. Memory rises a third as steeply (caches and buffers grow with load, the heap less).
 */
function saturatedBaseline(baseline: number, sample: ServiceSample, kind: 'cpu' | 'memory'): number {
  const sat = sample.saturation;
  const usual = Math.max(1, sample.usualTasks ?? 1);
  if (sample.running === 0) return baseline;
  // The usual work spread over more tasks than usual (after a scale-out, the load gone): each does
  // less CPU. Fewer tasks than usual keep the baseline (they are crashing, not carrying more).
  if (!sat) return kind === 'cpu' && sample.usualTasks && sample.running > sample.usualTasks ? (baseline * sample.usualTasks) / sample.running : baseline;
  const factor = kind === 'cpu' ? sat.loadFactor : 1 + (sat.loadFactor - 1) / 3;
  return Math.min(100, (baseline * factor * usual) / sample.running);
}

/** Start-up work of tasks that keep crashing (runtime boot, cache warm-up) lifts the service's average. */
const CRASH_LOOP_CPU = 25;
const CRASH_LOOP_MEMORY = 12;
const NOISE_POINTS = 3;

/** Baseline ± 3 points of deterministic noise, higher in a minute where tasks failed; 0–100, two decimals. */
function syntheticUtilisation(baseline: number, sample: ServiceSample, jitter: number, crashExtra: number): number {
  const crashing = sample.failedLastMinute > 0 ? crashExtra : 0;
  const value = baseline + crashing + jitter * NOISE_POINTS;
  return Math.round(Math.min(100, Math.max(0, value)) * 100) / 100;
}

function targetGroupMetrics(readings: FleetReadings, tg: TargetGroupView): FleetMetric[] {
  const dims = [
    { Name: 'TargetGroup', Value: targetGroupDimension(tg.arn) },
    { Name: 'LoadBalancer', Value: loadBalancerDimension(tg.loadBalancerArn) },
  ];
  const count = (name: string, pick: (s: { healthy: number; unhealthy: number }) => number): FleetMetric => ({
    Namespace: 'AWS/ApplicationELB',
    MetricName: name,
    Dimensions: dims,
    Unit: 'Count',
    valueAt: (m) => {
      const s = readings.targetSample(tg.arn, m + MINUTE_MS - 1);
      return s ? pick(s) : undefined;
    },
  });
  return [count('HealthyHostCount', (s) => s.healthy), count('UnHealthyHostCount', (s) => s.unhealthy)];
}

/** FNV-1a of the key, mapped to [-1, 1): the same minute of the same metric always gets the same noise. */
function noise(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) / 2 ** 32) * 2 - 1;
}

// ---------------------------------------------------------------------------------------------
// Periods and statistics

export interface PeriodBucket {
  /** The period's start: the datapoint's Timestamp. */
  startMs: number;
  /** The raw minute datapoints within the period (never empty). */
  values: number[];
}

/**
 * Raw datapoints grouped into periods of `periodSeconds` from `startMs` (rounded down to the
 * minute, as GetMetricStatistics' StartTime doc says) up to `endMs` (exclusive). Only finished
 * minutes count, and a period without any datapoint yields nothing — missing data, not zero.
 */
export function periodBuckets(metric: FleetMetric, range: { startMs: number; endMs: number; periodSeconds: number; nowMs: number }): PeriodBucket[] {
  const start = floorToMinute(range.startMs);
  const periodMs = range.periodSeconds * 1000;
  const buckets = new Map<number, number[]>();
  for (let m = start; m < range.endMs && m + MINUTE_MS <= range.nowMs; m += MINUTE_MS) {
    const value = metric.valueAt(m);
    if (value === undefined) continue;
    const bucketStart = start + Math.floor((m - start) / periodMs) * periodMs;
    const values = buckets.get(bucketStart) ?? [];
    values.push(value);
    buckets.set(bucketStart, values);
  }
  return [...buckets.entries()].map(([startMs, values]) => ({ startMs, values }));
}

export function floorToMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** How many datapoints a request may produce: GetMetricStatistics refuses more than 1,440. */
export function requestedDatapoints(startMs: number, endMs: number, periodSeconds: number): number {
  return Math.ceil((endMs - floorToMinute(startMs)) / (periodSeconds * 1000));
}

export const STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const;
export type Statistic = (typeof STATISTICS)[number];

export function isStatistic(s: string): s is Statistic {
  return (STATISTICS as readonly string[]).includes(s);
}

/** `p0.0` to `p100`: the percentile form ExtendedStatistics and GetMetricData's Stat accept. */
export function isPercentile(s: string): boolean {
  const m = /^p(\d{1,3}(?:\.\d{1,10})?)$/.exec(s);
  return !!m && Number(m[1]) <= 100;
}

/** A standard statistic or a percentile (nearest rank) of a period's values. */
export function statistic(values: number[], stat: string): number {
  switch (stat) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return round(sum(values));
    case 'Average':
      return round(sum(values) / values.length);
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    default:
      return percentile(values, Number(stat.slice(1)));
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Metric math: arithmetic over query ids (`m2 - m1`, `(a + b) / 2`), the part a team's alarms use

/** A time series: datapoint timestamp (ms) → value. */
export type Series = Map<number, number>;

export class MetricMathError extends Error {}

/**
 * Evaluates `+ - * /`, parentheses, numbers and query ids over aligned timestamps, as metric math
 * does: a timestamp missing from one operand is missing from the result. Functions (SUM, FILL, …)
 * are beyond the sandbox and raise MetricMathError.
 */
export function evaluateExpression(expression: string, series: ReadonlyMap<string, Series>): Series {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++];
  const primary = (): Operand => {
    const t = next();
    if (t === undefined) throw new MetricMathError(`Error in expression: unexpected end of "${expression}"`);
    if (t === '(') {
      const inner = additive();
      if (next() !== ')') throw new MetricMathError(`Error in expression: missing ")" in "${expression}"`);
      return inner;
    }
    if (t === '-') return combine(-1, primary(), '*');
    if (/^\d/.test(t)) return Number(t);
    const s = series.get(t);
    if (!s) {
      if (/^[A-Za-z_]\w*$/.test(t) && peek() === '(') throw new MetricMathError(`the sandbox's metric math supports arithmetic only, not the function ${t}()`);
      throw new MetricMathError(`Error in expression: unknown metric id "${t}"`);
    }
    return s;
  };
  const multiplicative = (): Operand => {
    let left = primary();
    while (peek() === '*' || peek() === '/') left = combine(left, primary(), next() as Op);
    return left;
  };
  const additive = (): Operand => {
    let left = multiplicative();
    while (peek() === '+' || peek() === '-') {
      const op = next() as Op;
      left = combine(left, multiplicative(), op);
    }
    return left;
  };
  const result = additive();
  if (at < tokens.length) throw new MetricMathError(`Error in expression: unexpected "${tokens[at]}" in "${expression}"`);
  if (typeof result === 'number') throw new MetricMathError(`Error in expression: "${expression}" names no metric`);
  return result;
}

type Op = '+' | '-' | '*' | '/';
type Operand = Series | number;

function tokenize(expression: string): string[] {
  const tokens = expression.match(/\d+(?:\.\d+)?|[A-Za-z_]\w*|[-+*/()]|\S/g) ?? [];
  const bad = tokens.find((t) => !/^(\d|[A-Za-z_]|[-+*/()])/.test(t));
  if (bad) throw new MetricMathError(`Error in expression: unexpected "${bad}" in "${expression}"`);
  return tokens;
}

function apply(a: number, b: number, op: Op): number | undefined {
  if (op === '+') return a + b;
  if (op === '-') return a - b;
  if (op === '*') return a * b;
  return b === 0 ? undefined : a / b;
}

function combine(left: Operand, right: Operand, op: Op): Operand {
  if (typeof left === 'number' && typeof right === 'number') return apply(left, right, op) ?? Number.NaN;
  const out: Series = new Map();
  const times = typeof left === 'number' ? [...(right as Series).keys()] : [...left.keys()];
  for (const t of times) {
    const a = typeof left === 'number' ? left : left.get(t);
    const b = typeof right === 'number' ? right : right.get(t);
    if (a === undefined || b === undefined) continue;
    const v = apply(a, b, op);
    if (v !== undefined && Number.isFinite(v)) out.set(t, round(v));
  }
  return out;
}
