import { type CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';

/**
 * A service's CPU and memory as CloudWatch has them (AWS/ECS, ClusterName + ServiceName, 1-minute
 * datapoints), read with one GetMetricData call. ECS publishes a minute's datapoint after the
 * minute ends and sometimes a minute or two late (Amazon ECS Developer Guide, "Amazon ECS
 * CloudWatch metrics"), so "recent" means the newest datapoints of the last ten minutes, not
 * the current minute, and no datapoint at all is "unknown", never "fine".
 */

export interface Utilisation {
  /** Average of the per-minute averages over the whole window; undefined without datapoints. */
  average?: number;
  /** Largest per-minute maximum over the window (the runbook's `--statistics Maximum`). */
  maximum?: number;
  /** Average of the newest datapoints (up to RECENT_POINTS) within the last RECENT_MINUTES. */
  recent?: number;
  /** Datapoints behind `recent`. */
  recentPoints: number;
  datapoints: number;
}

export interface LoadReading {
  cpu: Utilisation;
  memory: Utilisation;
  /** The window read, ISO 8601. */
  from: string;
  to: string;
}

export const RECENT_MINUTES = 10;
export const RECENT_POINTS = 3;
/** GetMetricData pages: a one-hour window of four 1-minute series fits in one; bounded anyway. */
const MAX_PAGES = 5;

export interface ReadLoadOptions {
  cluster: string;
  service: string;
  now: Date;
  /** Window length (the runbook reads the last hour). */
  minutes: number;
  /** Only datapoints of minutes starting at or after this moment count (e.g. after a scale-out settled). */
  since?: Date;
}

export async function readLoad(cw: CloudWatchClient, o: ReadLoadOptions): Promise<LoadReading> {
  const end = new Date(Math.floor(o.now.getTime() / 60_000) * 60_000);
  const start = new Date(end.getTime() - o.minutes * 60_000);
  const dimensions = [
    { Name: 'ClusterName', Value: o.cluster },
    { Name: 'ServiceName', Value: o.service },
  ];
  const query = (id: string, metric: string, stat: string): MetricDataQuery => ({
    Id: id,
    MetricStat: { Metric: { Namespace: 'AWS/ECS', MetricName: metric, Dimensions: dimensions }, Period: 60, Stat: stat },
    ReturnData: true,
  });
  const queries = [query('cpuAvg', 'CPUUtilization', 'Average'), query('cpuMax', 'CPUUtilization', 'Maximum'), query('memAvg', 'MemoryUtilization', 'Average'), query('memMax', 'MemoryUtilization', 'Maximum')];
  const series = new Map<string, { t: number; v: number }[]>();
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await cw.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: end, ScanBy: 'TimestampDescending', ...(token ? { NextToken: token } : {}) }));
    for (const r of out.MetricDataResults ?? []) {
      const points = series.get(r.Id ?? '') ?? [];
      (r.Timestamps ?? []).forEach((t, i) => {
        const v = r.Values?.[i];
        if (v !== undefined) points.push({ t: t.getTime(), v });
      });
      series.set(r.Id ?? '', points);
    }
    token = out.NextToken;
    if (!token) break;
  }
  const since = o.since?.getTime() ?? 0;
  const pick = (id: string) => (series.get(id) ?? []).filter((p) => p.t >= since).sort((a, b) => b.t - a.t);
  const figures = (avgId: string, maxId: string): Utilisation => {
    const avg = pick(avgId);
    const max = pick(maxId);
    const recent = avg.filter((p) => p.t >= end.getTime() - RECENT_MINUTES * 60_000).slice(0, RECENT_POINTS);
    return {
      ...(avg.length ? { average: round(mean(avg.map((p) => p.v))) } : {}),
      ...(max.length ? { maximum: round(Math.max(...max.map((p) => p.v))) } : {}),
      ...(recent.length ? { recent: round(mean(recent.map((p) => p.v))) } : {}),
      recentPoints: recent.length,
      datapoints: avg.length,
    };
  };
  return { cpu: figures('cpuAvg', 'cpuMax'), memory: figures('memAvg', 'memMax'), from: start.toISOString(), to: end.toISOString() };
}

/** "CPU 87.5 % (hour avg 61.2 %, max 93.1 %)": the figures people read in the timeline and the report. */
export function describeLoad(load: LoadReading, window = 'hour'): string {
  const one = (name: string, u: Utilisation) =>
    u.recent === undefined ? `${name} no recent datapoints` : `${name} ${u.recent} % now (${window} avg ${u.average ?? '?'} %, max ${u.maximum ?? '?'} %)`;
  return `${one('CPU', load.cpu)}, ${one('memory', load.memory)}`;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
