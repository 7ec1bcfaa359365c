import type { VirtualClock } from './clock.ts';
import { AwsServiceError, type AwsJsonService } from './http.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmChange {
  alarmName: string;
  state: AlarmState;
  previousState: AlarmState;
  reason: string;
  tags: Record<string, string>;
}

interface Alarm {
  name: string;
  arn: string;
  state: AlarmState;
  reason: string;
  updatedAt: Date;
  tags: Record<string, string>;
}

const STATES = new Set<AlarmState>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

/**
 * CloudWatch alarms, as far as incident-flows needs them: `aws cloudwatch set-alarm-state` (how
 * teams test an alarm's wiring, and how a person rehearses one against the sandbox server),
 * DescribeAlarms, PutMetricAlarm for names and tags, and ListTagsForResource, which start-incident
 * uses to route an alarm by its tags. A state change is handed to `onChange` — the sandbox's
 * EventBridge rule — exactly as AWS emits "CloudWatch Alarm State Change".
 */
export class AlarmStore {
  private readonly alarms = new Map<string, Alarm>();
  onChange: (change: AlarmChange) => void = () => {};

  constructor(private readonly opts: { clock: VirtualClock; region: string; accountId: string; alarmNames?: string[] }) {
    for (const name of opts.alarmNames ?? []) this.put(name, {});
  }

  arnOf(name: string): string {
    return `arn:aws:cloudwatch:${this.opts.region}:${this.opts.accountId}:alarm:${name}`;
  }

  /** Creates or updates an alarm's tags (PutMetricAlarm, TagResource, and tests). */
  put(name: string, tags: Record<string, string>): void {
    const existing = this.alarms.get(name);
    if (existing) Object.assign(existing.tags, tags);
    else this.alarms.set(name, { name, arn: this.arnOf(name), state: 'OK', reason: 'created', updatedAt: this.opts.clock.now(), tags: { ...tags } });
  }

  readonly handle: AwsJsonService = (operation, body) => {
    switch (operation) {
      case 'SetAlarmState':
        return this.setAlarmState(body);
      case 'DescribeAlarms':
        return this.describeAlarms(body);
      case 'PutMetricAlarm':
        this.put(requiredString(body, 'AlarmName'), tagsOf(body.Tags));
        return {};
      case 'TagResource':
        this.put(this.nameOf(requiredString(body, 'ResourceARN')), tagsOf(body.Tags));
        return {};
      case 'ListTagsForResource':
        return { Tags: Object.entries(this.alarm(this.nameOf(requiredString(body, 'ResourceARN'))).tags).map(([Key, Value]) => ({ Key, Value })) };
      default:
        throw new AwsServiceError('UnknownOperationException', `the sandbox's CloudWatch does not implement ${operation}`);
    }
  };

  private setAlarmState(body: Record<string, unknown>): Record<string, never> {
    const alarm = this.alarm(requiredString(body, 'AlarmName'));
    const state = requiredString(body, 'StateValue') as AlarmState;
    if (!STATES.has(state)) throw new AwsServiceError('InvalidParameterValue', `StateValue must be one of OK, ALARM, INSUFFICIENT_DATA (got "${state}")`);
    const reason = requiredString(body, 'StateReason');
    const previousState = alarm.state;
    Object.assign(alarm, { state, reason, updatedAt: this.opts.clock.now() });
    // CloudWatch emits a state-change event only when the state actually changes.
    if (state !== previousState) this.onChange({ alarmName: alarm.name, state, previousState, reason, tags: { ...alarm.tags } });
    return {};
  }

  private describeAlarms(body: Record<string, unknown>) {
    const names = Array.isArray(body.AlarmNames) ? (body.AlarmNames as string[]) : undefined;
    const prefix = typeof body.AlarmNamePrefix === 'string' ? body.AlarmNamePrefix : undefined;
    const chosen = [...this.alarms.values()].filter((a) => (!names || names.includes(a.name)) && (!prefix || a.name.startsWith(prefix)));
    return {
      MetricAlarms: chosen.map((a) => ({
        AlarmName: a.name,
        AlarmArn: a.arn,
        StateValue: a.state,
        StateReason: a.reason,
        StateUpdatedTimestamp: a.updatedAt,
      })),
      CompositeAlarms: [],
    };
  }

  private alarm(name: string): Alarm {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new AwsServiceError('ResourceNotFound', `Alarm ${name} does not exist (the sandbox has: ${[...this.alarms.keys()].join(', ')})`, 404);
    return alarm;
  }

  private nameOf(arn: string): string {
    const prefix = this.arnOf('');
    if (!arn.startsWith(prefix)) throw new AwsServiceError('InvalidParameterValue', `not an alarm ARN of this account and region: ${arn}`);
    return arn.slice(prefix.length);
  }
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) throw new AwsServiceError('MissingParameter', `The parameter ${field} is required.`);
  return value;
}

function tagsOf(raw: unknown): Record<string, string> {
  if (!Array.isArray(raw)) return {};
  return Object.fromEntries((raw as { Key?: string; Value?: string }[]).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
}
