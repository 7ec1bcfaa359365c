import { type CloudWatchClient, DescribeAlarmsCommand, ListTagsForResourceCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import * as z from 'zod';

/**
 * CloudWatch alarms as EventBridge delivers them ("CloudWatch Alarm State Change"), and how an
 * alarm maps to a service and a procedure. Everything here is pure: no clients, no clock.
 */

export const SEVERITIES = ['P0', 'P1', 'P2'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

/** P0 outranks P1 outranks P2. */
export function severityRank(severity: Severity): number {
  return { P0: 3, P1: 2, P2: 1 }[severity];
}

export const ALARM_DETAIL_TYPE = 'CloudWatch Alarm State Change';
/** EventBridge refuses events above 256 KiB, so anything bigger did not come from it. */
export const MAX_EVENT_BYTES = 256 * 1024;

const alarmEventSchema = z.object({
  id: z.string().min(1),
  'detail-type': z.string(),
  source: z.string(),
  time: z.string().min(1),
  region: z.string().optional(),
  account: z.string().optional(),
  resources: z.array(z.string()).default([]),
  detail: z.object({
    alarmName: z.string().min(1).max(255),
    state: z.object({ value: z.string(), reason: z.string().optional(), timestamp: z.string().optional() }),
    previousState: z.object({ value: z.string() }).partial().optional(),
    // What the alarm measures (EventBridge User Guide, "CloudWatch alarm state change" events).
    configuration: z
      .object({
        metrics: z
          .array(z.object({ metricStat: z.object({ metric: z.object({ dimensions: z.record(z.string(), z.unknown()).optional() }).loose() }).loose().optional() }).loose())
          .optional(),
      })
      .loose()
      .optional()
      .catch(undefined),
  }),
});

/** The parts of an alarm state change the incident keeps. */
export interface AlarmChange {
  /** EventBridge's event id: identical on a redelivery, so it is the idempotency key. */
  eventId: string;
  alarmName: string;
  alarmArn: string | undefined;
  state: string;
  previousState: string | undefined;
  reason: string;
  /** When the alarm changed state (the event's time), ISO 8601. */
  at: string;
  /** ECS services the alarm's metrics name in a ServiceName dimension (what it really measures). */
  measuredServices: string[];
}

export type AlarmEventVerdict = { kind: 'alarm'; alarm: AlarmChange } | { kind: 'ignored'; reason: string };

/**
 * Decides whether an event is an alarm going into ALARM, and says why not otherwise. The rule in
 * EventBridge already filters on detail-type and state, but the handler can be invoked by hand or
 * by a changed rule, so it checks again — and never throws (a throw would make Lambda retry).
 */
export function readAlarmEvent(raw: unknown): AlarmEventVerdict {
  let event = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
    if (Buffer.byteLength(text) > MAX_EVENT_BYTES) return ignored(`event is ${Buffer.byteLength(text)} bytes, over the ${MAX_EVENT_BYTES}-byte EventBridge limit`);
    try {
      event = JSON.parse(text) as unknown;
    } catch {
      return ignored('event is not JSON');
    }
  } else {
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(raw) ?? '');
    } catch {
      return ignored('event is not JSON-serialisable');
    }
    if (size > MAX_EVENT_BYTES) return ignored(`event is ${size} bytes, over the ${MAX_EVENT_BYTES}-byte EventBridge limit`);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return ignored('event is not a JSON object');
  const e = event as Record<string, unknown>;
  if (e['detail-type'] !== ALARM_DETAIL_TYPE) {
    return ignored(`detail-type is ${JSON.stringify(e['detail-type'] ?? null)}, not "${ALARM_DETAIL_TYPE}"`);
  }
  const detail = e.detail as Record<string, unknown> | undefined;
  if (typeof detail?.alarmName !== 'string' || detail.alarmName.length === 0) return ignored('event has no detail.alarmName');
  const parsed = alarmEventSchema.safeParse(e);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return ignored(`malformed alarm event: field "${issue?.path.join('.') ?? ''}" ${issue?.message ?? 'is invalid'}`);
  }
  const p = parsed.data;
  if (p.detail.state.value !== 'ALARM') return ignored(`alarm ${p.detail.alarmName} went to ${p.detail.state.value}, not ALARM`);
  const at = Date.parse(p.time);
  if (Number.isNaN(at)) return ignored(`malformed alarm event: field "time" is not a timestamp (${p.time.slice(0, 40)})`);
  return {
    kind: 'alarm',
    alarm: {
      eventId: p.id,
      alarmName: p.detail.alarmName,
      alarmArn: p.resources.find((r) => r.includes(':alarm:')),
      state: p.detail.state.value,
      previousState: p.detail.previousState?.value,
      reason: (p.detail.state.reason ?? '').slice(0, 300),
      at: new Date(at).toISOString(),
      measuredServices: [
        ...new Set(
          (p.detail.configuration?.metrics ?? []).flatMap((m) => {
            const name = m.metricStat?.metric.dimensions?.ServiceName;
            return typeof name === 'string' && name.length > 0 ? [name] : [];
          }),
        ),
      ],
    },
  };
}

function ignored(reason: string): AlarmEventVerdict {
  return { kind: 'ignored', reason };
}

// ------------------------------------------------------------------ routing

export const alarmRouteSchema = z
  .object({
    alarmPrefix: z.string().min(1).max(255).describe('alarms whose name starts with this, e.g. "acme-axon-"'),
    service: z.string().min(1).max(255),
    severity: severitySchema.default('P0'),
  })
  .strict();
export type AlarmRoute = z.output<typeof alarmRouteSchema>;

export const tagKeysSchema = z
  .object({
    service: z.string().min(1).default('incident-flows:service'),
    severity: z.string().min(1).default('incident-flows:severity'),
  })
  .strict();
export type TagKeys = z.output<typeof tagKeysSchema>;

/** Reads an alarm's tags (CloudWatch ListTagsForResource on AWS). */
export type AlarmTagReader = (alarmArn: string) => Promise<Record<string, string>>;

/** The AWS reader: CloudWatch ListTagsForResource on the alarm's ARN. */
export function cloudWatchTagReader(cloudwatch: CloudWatchClient): AlarmTagReader {
  return async (alarmArn) => {
    const out = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: alarmArn }));
    return Object.fromEntries((out.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
  };
}

export interface Destination {
  service: string;
  severity: Severity;
  /** How the mapping was found, for the log line and the timeline. */
  via: string;
}

/** Longest matching alarm-name prefix wins. */
export function routeByName(alarmName: string, routes: readonly AlarmRoute[]): Destination | undefined {
  let best: AlarmRoute | undefined;
  for (const r of routes) {
    if (alarmName.startsWith(r.alarmPrefix) && (!best || r.alarmPrefix.length > best.alarmPrefix.length)) best = r;
  }
  return best ? { service: best.service, severity: best.severity, via: `alarm name prefix "${best.alarmPrefix}"` } : undefined;
}

/** A route that was found but must not be followed: the alarm is ignored with this reason. */
export interface RouteRefusal {
  refused: string;
}

/**
 * The alarm names its service (and optionally its severity) in tags. P0 only when the severity tag
 * is absent: a severity nobody knows (a typo like "P9") is refused, never promoted to the most
 * disruptive procedure.
 */
export function tagRoute(tags: Record<string, string>, keys: TagKeys): Destination | RouteRefusal | undefined {
  const service = tags[keys.service];
  if (!service) return undefined;
  const tagged = tags[keys.severity];
  if (tagged === undefined) return { service, severity: 'P0', via: `alarm tag "${keys.service}"` };
  const severity = severitySchema.safeParse(tagged.trim().toUpperCase());
  if (!severity.success) {
    const shown = JSON.stringify(tagged.length > 40 ? `${tagged.slice(0, 40)}…` : tagged);
    return { refused: `alarm tag "${keys.severity}" is ${shown}, not one of ${SEVERITIES.join(', ')}: fix the tag (or remove it for P0); nothing started` };
  }
  return { service, severity: severity.data, via: `alarm tag "${keys.service}"` };
}

/**
 * tagRoute without the reason: a refused route is no route, so nothing starts. Callers that can
 * report why (start-incident's ignore reason) should use tagRoute.
 */
export function routeByTags(tags: Record<string, string>, keys: TagKeys): Destination | undefined {
  const route = tagRoute(tags, keys);
  return route && 'refused' in route ? undefined : route;
}

/** An alarm as it stands now: its state, and the dimensions of what it measures. */
export interface AlarmNow {
  alarmName: string;
  alarmArn?: string;
  state: string;
  dimensions: Record<string, string>[];
}

/** Reads alarms' current states (CloudWatch DescribeAlarms, 100 names a call). */
export type AlarmStateReader = (alarmNames: string[]) => Promise<AlarmNow[]>;

export function cloudWatchStateReader(cloudwatch: CloudWatchClient): AlarmStateReader {
  return async (alarmNames) => {
    const out: AlarmNow[] = [];
    for (let i = 0; i < alarmNames.length; i += 100) {
      const page = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames.slice(i, i + 100), MaxRecords: 100 }));
      for (const a of page.MetricAlarms ?? []) if (a.AlarmName) out.push({ alarmName: a.AlarmName, ...(a.AlarmArn ? { alarmArn: a.AlarmArn } : {}), state: a.StateValue ?? 'INSUFFICIENT_DATA', dimensions: dimensionsOf(a) });
    }
    return out;
  };
}

function dimensionsOf(a: MetricAlarm): Record<string, string>[] {
  const sets = [a.Dimensions ?? [], ...(a.Metrics ?? []).map((m) => m.MetricStat?.Metric?.Dimensions ?? [])].filter((d) => d.length > 0);
  return sets.map((d) => Object.fromEntries(d.filter((x) => x.Name && x.Value).map((x) => [x.Name!, x.Value!])));
}
