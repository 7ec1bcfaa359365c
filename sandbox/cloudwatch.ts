import type { SimClock } from './clock.ts';
import { Elbv2, ELBV2_VERSION } from './elbv2.ts';
import type { FleetReadings } from './fleet-views.ts';
import { AwsServiceError, type AwsJsonService, type SandboxHttpServer } from './http.ts';
import {
  evaluateExpression,
  findMetric,
  fleetMetrics,
  isPercentile,
  isStatistic,
  loadBalancerDimension,
  MetricMathError,
  MINUTE_MS,
  periodBuckets,
  requestedDatapoints,
  statistic,
  targetGroupDimension,
  type Dimension,
  type FleetMetric,
  type Series,
} from './metrics.ts';

/**
 * CloudWatch for the sandbox, one implementation behind both wire protocols CloudWatch speaks:
 * awsJson1.0 (`X-Amz-Target: GraniteServiceVersion20100801.*`: SDK v3, botocore and the AWS CLI v1)
 * and awsQuery (Version 2010-08-01: older CLIs, `mountMonitoring`). Inputs are read in either form
 * (query sends every scalar as a string), outputs are plain objects the server encodes.
 *
 * Alarms: PutMetricAlarm (the whole metric-alarm configuration), DescribeAlarms (filters, paging),
 * DeleteAlarms, SetAlarmState (how teams test an alarm's wiring; a change is handed to `onChange`,
 * the sandbox's EventBridge rule, as AWS emits "CloudWatch Alarm State Change"), TagResource,
 * UntagResource, ListTagsForResource (start-incident routes alarms by tags). Alarms are not
 * evaluated against metrics: their state moves only by SetAlarmState.
 *
 * Metrics: GetMetricStatistics, GetMetricData (arithmetic metric math) and ListMetrics over the
 * fleet (sandbox/metrics.ts), once readings are attached.
 */

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmChange {
  alarmName: string;
  state: AlarmState;
  previousState: AlarmState;
  reason: string;
  tags: Record<string, string>;
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface MetricDataQuery {
  Id: string;
  MetricStat?: { Metric: { Namespace?: string; MetricName?: string; Dimensions?: Dimension[] }; Period: number; Stat: string; Unit?: string };
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  Period?: number;
  AccountId?: string;
}

/** PutMetricAlarm's input (botocore's PutMetricAlarmInput), the members a metric alarm keeps. */
export interface MetricAlarmDefinition {
  AlarmName: string;
  AlarmDescription?: string;
  ActionsEnabled?: boolean;
  OKActions?: string[];
  AlarmActions?: string[];
  InsufficientDataActions?: string[];
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions?: Dimension[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  EvaluateLowSampleCountPercentile?: string;
  Metrics?: MetricDataQuery[];
  ThresholdMetricId?: string;
  Tags?: Tag[];
}

type AlarmConfig = Omit<MetricAlarmDefinition, 'AlarmName' | 'Tags'>;

interface Alarm {
  name: string;
  arn: string;
  state: AlarmState;
  reason: string;
  reasonData?: string;
  updatedAt: Date;
  transitionedAt: Date;
  configuredAt: Date;
  tags: Record<string, string>;
  /** Absent for alarms known by name only (`alarmNames`, `put`). */
  config?: AlarmConfig;
}

export interface AlarmStoreOptions {
  clock: SimClock;
  region: string;
  accountId: string;
  /** Alarms known by name only, in state OK (the sandbox's first alarms; kept for callers that pass names). */
  alarmNames?: string[];
  /** Alarms that exist before the sandbox starts, e.g. `defaultAlarms(readings)`: fully configured, in state OK. */
  alarms?: MetricAlarmDefinition[];
  /** The fleet the metric operations read; also `attachReadings` (mountMonitoring does it). */
  readings?: FleetReadings;
}

const STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
const COMPARISONS = ['GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold', 'LessThanLowerOrGreaterThanUpperThreshold', 'LessThanLowerThreshold', 'GreaterThanUpperThreshold'] as const;
const TREAT_MISSING = ['breaching', 'notBreaching', 'ignore', 'missing'] as const;
const UNITS = ['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None'] as const;
export const CLOUDWATCH_VERSION = '2010-08-01';
/** DescribeAlarms page size when MaxRecords is omitted (the model allows 1–100). */
const DEFAULT_MAX_RECORDS = 50;
const LIST_METRICS_PAGE = 500;
/** GetMetricStatistics' ceiling (its API reference); GetMetricData's default MaxDatapoints. */
const MAX_STATISTICS_DATAPOINTS = 1440;
const DEFAULT_MAX_DATAPOINTS = 100_800;

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * CloudWatch's errors as botocore's model defines them: the awsJson `__type` is the shape name,
 * the awsQuery code (also sent in `x-amzn-query-error`, CloudWatch being awsQueryCompatible) and
 * the HTTP status are the shape's `error` trait. ValidationException (query code ValidationError) is
 * in the SDK's newer model, not yet in botocore 1.43's.
 */
const ERRORS = {
  ResourceNotFound: { code: 'ResourceNotFound', status: 404 },
  ResourceNotFoundException: { code: 'ResourceNotFoundException', status: 404 },
  InvalidParameterValueException: { code: 'InvalidParameterValue', status: 400 },
  InvalidParameterCombinationException: { code: 'InvalidParameterCombination', status: 400 },
  MissingRequiredParameterException: { code: 'MissingParameter', status: 400 },
  InvalidNextToken: { code: 'InvalidNextToken', status: 400 },
  InvalidFormatFault: { code: 'InvalidFormat', status: 400 },
  ValidationException: { code: 'ValidationError', status: 400 },
  UnknownOperationException: { code: 'InvalidAction', status: 400 },
} as const;

export class CloudWatchError extends AwsServiceError {
  constructor(shape: keyof typeof ERRORS, message: string) {
    super(shape, message, ERRORS[shape].status, ERRORS[shape].code);
  }
}

function missing(field: string): CloudWatchError {
  return new CloudWatchError('MissingRequiredParameterException', `The parameter ${field} is required.`);
}

/** AWS's constraint message ("1 validation error detected: Value … at 'maxRecords' failed to satisfy constraint: …"). */
function constraint(field: string, value: unknown, rule: string): CloudWatchError {
  const member = field.charAt(0).toLowerCase() + field.slice(1);
  return new CloudWatchError('ValidationException', `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${rule}`);
}

function invalidValue(field: string, value: unknown): CloudWatchError {
  return new CloudWatchError('InvalidParameterValueException', `The value ${String(value)} for parameter ${field} is not valid.`);
}

// ---------------------------------------------------------------------------------------------
// Reading parameters in either protocol's form

/** One request's parameters: awsJson gives numbers, booleans and epoch seconds; awsQuery strings. */
class Input {
  constructor(
    private readonly body: Record<string, unknown>,
    private readonly path = '',
  ) {}

  has(field: string): boolean {
    const v = this.body[field];
    return v !== undefined && v !== null;
  }

  string(field: string, rule: { required?: boolean; min?: number; max?: number } = {}): string | undefined {
    const v = this.body[field];
    if (v === undefined || v === null || (v === '' && rule.required)) {
      if (rule.required) throw missing(this.name(field));
      return undefined;
    }
    if (typeof v !== 'string') throw invalidValue(this.name(field), JSON.stringify(v));
    if (rule.min !== undefined && v.length < rule.min) throw constraint(this.name(field), v, `Member must have length greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && v.length > rule.max) throw constraint(this.name(field), v, `Member must have length less than or equal to ${rule.max}`);
    return v;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[], required = false): T | undefined {
    const v = this.string(field, { required });
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw constraint(this.name(field), v, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
    return v as T;
  }

  number(field: string, rule: { required?: boolean; integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.body[field];
    if (v === undefined || v === null || v === '') {
      if (rule.required) throw missing(this.name(field));
      return undefined;
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n) || (rule.integer && !Number.isInteger(n))) throw invalidValue(this.name(field), v);
    if (rule.min !== undefined && n < rule.min) throw constraint(this.name(field), v, `Member must have value greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && n > rule.max) throw constraint(this.name(field), v, `Member must have value less than or equal to ${rule.max}`);
    return n;
  }

  boolean(field: string): boolean | undefined {
    const v = this.body[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    throw invalidValue(this.name(field), v);
  }

  /** Epoch seconds (awsJson) or ISO 8601 (awsQuery, "2016-10-03T23:00:00Z"). */
  time(field: string, required = false): number | undefined {
    const v = this.body[field];
    if (v === undefined || v === null || v === '') {
      if (required) throw missing(this.name(field));
      return undefined;
    }
    const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (!Number.isFinite(ms)) throw invalidValue(this.name(field), v);
    return ms;
  }

  /** A list; awsQuery's `Name=` (an empty list) reads as []. */
  list(field: string, rule: { required?: boolean; max?: number } = {}): unknown[] | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) {
      if (rule.required) throw missing(this.name(field));
      return undefined;
    }
    if (v === '') return [];
    if (!Array.isArray(v)) throw invalidValue(this.name(field), JSON.stringify(v));
    if (rule.max !== undefined && v.length > rule.max) throw constraint(this.name(field), `[${v.join(', ')}]`, `Member must have length less than or equal to ${rule.max}`);
    return v;
  }

  strings(field: string, rule: { required?: boolean; max?: number } = {}): string[] | undefined {
    const v = this.list(field, rule);
    if (v === undefined) return undefined;
    return v.map((x, i) => {
      if (typeof x !== 'string') throw invalidValue(`${this.name(field)}.member.${i + 1}`, JSON.stringify(x));
      return x;
    });
  }

  /** Each element of a list of structures, as an Input of its own (for member paths in messages). */
  structures(field: string, rule: { required?: boolean; max?: number } = {}): Input[] | undefined {
    const v = this.list(field, rule);
    if (v === undefined) return undefined;
    return v.map((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw invalidValue(`${this.name(field)}.member.${i + 1}`, JSON.stringify(x));
      return new Input(x as Record<string, unknown>, `${this.name(field)}.member.${i + 1}.`);
    });
  }

  structure(field: string): Input | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalidValue(this.name(field), JSON.stringify(v));
    return new Input(v as Record<string, unknown>, `${this.name(field)}.`);
  }

  private name(field: string): string {
    return `${this.path}${field}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The store

export class AlarmStore {
  private readonly alarms = new Map<string, Alarm>();
  private readings: FleetReadings | undefined;
  private metricsClock: SimClock;
  onChange: (change: AlarmChange) => void = () => {};

  constructor(private readonly opts: AlarmStoreOptions) {
    this.metricsClock = opts.clock;
    this.readings = opts.readings;
    for (const name of opts.alarmNames ?? []) this.put(name, {});
    for (const definition of opts.alarms ?? []) this.define(definition, 'OK');
  }

  arnOf(name: string): string {
    return `arn:aws:cloudwatch:${this.opts.region}:${this.opts.accountId}:alarm:${name}`;
  }

  /** Creates an alarm known by name only (state OK), or adds tags to an existing one (EventBridge's fireAlarm, tests). */
  put(name: string, tags: Record<string, string>): void {
    const existing = this.alarms.get(name);
    if (existing) {
      Object.assign(existing.tags, tags);
      return;
    }
    const now = this.opts.clock.now();
    this.alarms.set(name, { name, arn: this.arnOf(name), state: 'OK', reason: 'created', updatedAt: now, transitionedAt: now, configuredAt: now, tags: { ...tags } });
  }

  /** The fleet GetMetricStatistics, GetMetricData and ListMetrics read, as of `clock` (default: the store's). */
  attachReadings(readings: FleetReadings, clock: SimClock = this.opts.clock): void {
    this.readings = readings;
    this.metricsClock = clock;
  }

  readonly handle: AwsJsonService = (operation, body) => {
    const input = new Input(body);
    switch (operation) {
      case 'PutMetricAlarm':
        return this.putMetricAlarm(input);
      case 'DescribeAlarms':
        return this.describeAlarms(input);
      case 'DeleteAlarms':
        return this.deleteAlarms(input);
      case 'SetAlarmState':
        return this.setAlarmState(input);
      case 'TagResource':
        return this.tagResource(input);
      case 'UntagResource':
        return this.untagResource(input);
      case 'ListTagsForResource':
        return { Tags: tagList(this.taggable(input).tags) };
      case 'GetMetricStatistics':
        return this.getMetricStatistics(input);
      case 'GetMetricData':
        return this.getMetricData(input);
      case 'ListMetrics':
        return this.listMetrics(input);
      default:
        throw new CloudWatchError('UnknownOperationException', `Could not find operation ${operation} for version ${CLOUDWATCH_VERSION} (the sandbox's CloudWatch does not implement it)`);
    }
  };

  // -- alarms ------------------------------------------------------------------------------------

  /**
   * Creates the alarm in INSUFFICIENT_DATA, or replaces an existing alarm's whole configuration and
   * keeps its state; Tags count only on creation (PutMetricAlarm, CloudWatch API reference).
   * Returns undefined: the operation has no output shape.
   */
  private putMetricAlarm(input: Input): undefined {
    const definition = readAlarmDefinition(input);
    this.define(definition, 'INSUFFICIENT_DATA');
    return undefined;
  }

  private define(definition: MetricAlarmDefinition, initialState: AlarmState): void {
    const { AlarmName: name, Tags: tags, ...config } = definition;
    const now = this.opts.clock.now();
    const existing = this.alarms.get(name);
    if (existing) {
      Object.assign(existing, { config, configuredAt: now });
      return;
    }
    const reason = initialState === 'INSUFFICIENT_DATA' ? 'Unchecked: Initial alarm creation' : 'created';
    this.alarms.set(name, { name, arn: this.arnOf(name), state: initialState, reason, updatedAt: now, transitionedAt: now, configuredAt: now, tags: tagMap(tags), config });
  }

  private describeAlarms(input: Input) {
    const names = input.strings('AlarmNames', { max: 100 });
    const prefix = input.string('AlarmNamePrefix', { min: 1, max: 255 });
    // "If this parameter is specified, you cannot specify AlarmNames." (DescribeAlarms, AlarmNamePrefix)
    if (names?.length && prefix !== undefined) throw new CloudWatchError('InvalidParameterCombinationException', 'AlarmNamePrefix and AlarmNames cannot be specified at the same time.');
    const state = input.oneOf('StateValue', STATES);
    const actionPrefix = input.string('ActionPrefix', { min: 1, max: 1024 });
    const types = (input.strings('AlarmTypes') ?? []).map((t, i) => {
      if (t !== 'MetricAlarm' && t !== 'CompositeAlarm') throw constraint(`AlarmTypes.member.${i + 1}`, t, 'Member must satisfy enum value set: [CompositeAlarm, MetricAlarm]');
      return t;
    });
    const maxRecords = input.number('MaxRecords', { integer: true, min: 1, max: 100 }) ?? DEFAULT_MAX_RECORDS;
    const after = decodeToken(input.string('NextToken'));
    // "If you omit this parameter, only metric alarms are returned" (AlarmTypes); the sandbox has no composite alarms.
    const metricAlarms = types.length === 0 || types.includes('MetricAlarm');
    const chosen = [...this.alarms.values()]
      .filter((a) => metricAlarms && (!names?.length || names.includes(a.name)) && (prefix === undefined || a.name.startsWith(prefix)))
      .filter((a) => !state || a.state === state)
      .filter((a) => actionPrefix === undefined || actionsOf(a).some((action) => action.startsWith(actionPrefix)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .filter((a) => after === undefined || a.name > after);
    const page = chosen.slice(0, maxRecords);
    const last = page.at(-1);
    return {
      MetricAlarms: page.map((a) => describeAlarm(a)),
      CompositeAlarms: [],
      ...(chosen.length > page.length && last ? { NextToken: encodeToken(last.name) } : {}),
    };
  }

  /**
   * Deletes the named alarms that exist; "If you specify any incorrect alarm names, the alarms you
   * specify with correct names are still deleted" (DeleteAlarms). An empty request is a 400.
   */
  private deleteAlarms(input: Input): undefined {
    const names = input.strings('AlarmNames', { required: true, max: 100 })!;
    if (names.length === 0) throw missing('AlarmNames');
    for (const name of names) this.alarms.delete(name);
    return undefined;
  }

  private setAlarmState(input: Input): undefined {
    const alarm = this.alarm(input.string('AlarmName', { required: true, min: 1, max: 255 })!);
    const stateValue = input.string('StateValue', { required: true })!;
    if (!(STATES as readonly string[]).includes(stateValue)) throw new CloudWatchError('InvalidParameterValueException', `StateValue must be one of OK, ALARM, INSUFFICIENT_DATA (got "${stateValue}")`);
    const state = stateValue as AlarmState;
    const reason = input.string('StateReason', { required: true, max: 1023 })!;
    const reasonData = input.string('StateReasonData', { max: 4000 });
    if (reasonData !== undefined && !isJson(reasonData)) throw new CloudWatchError('InvalidFormatFault', 'Data was not syntactically valid JSON');
    this.transition(alarm, state, reason, reasonData);
    return undefined;
  }

  /**
   * The alarm's metric crossed its threshold (`breaching`) or came back: what CloudWatch's own
   * evaluation would do — ALARM or OK, with its "Threshold Crossed" reason and reason data — through
   * SetAlarmState's path, so `onChange` (EventBridge's "CloudWatch Alarm State Change") sees it.
   * The sandbox's raises-alarm images drive it (sandbox/index.ts). False when no such alarm exists
   * (DeleteAlarms may have removed it).
   */
  metricCrossed(name: string, datapoint: { breaching: boolean; value: number; datapointAt: number }): boolean {
    const alarm = this.alarms.get(name);
    if (!alarm) return false;
    const c = alarm.config;
    const threshold = c?.Threshold ?? 0;
    const comparison = c?.ComparisonOperator ?? 'GreaterThanThreshold';
    // A breaching datapoint is above an upper threshold (the error metrics these alarms watch).
    const value = datapoint.breaching ? Math.max(datapoint.value, threshold + 1) : Math.min(datapoint.value, threshold);
    const words = COMPARISON_WORDS[comparison] ?? 'greater than';
    const reason = `Threshold Crossed: 1 datapoint [${decimal(value)} (${reasonTime(datapoint.datapointAt)})] was ${datapoint.breaching ? '' : 'not '}${words} the threshold (${decimal(threshold)}).`;
    const now = this.opts.clock.nowMs();
    // StateReasonData as CloudWatch writes it for a metric alarm (see the EventBridge alarm event samples).
    const reasonData = JSON.stringify({
      version: '1.0',
      queryDate: cloudWatchTime(now),
      startDate: cloudWatchTime(datapoint.datapointAt),
      statistic: c?.Statistic ?? 'Sum',
      period: c?.Period ?? 60,
      recentDatapoints: [value],
      threshold,
      evaluatedDatapoints: [{ timestamp: cloudWatchTime(datapoint.datapointAt), sampleCount: 1, value }],
    });
    this.transition(alarm, datapoint.breaching ? 'ALARM' : 'OK', reason, reasonData);
    return true;
  }

  private transition(alarm: Alarm, state: AlarmState, reason: string, reasonData: string | undefined): void {
    const previousState = alarm.state;
    const now = this.opts.clock.now();
    Object.assign(alarm, { state, reason, reasonData, updatedAt: now });
    if (state !== previousState) alarm.transitionedAt = now;
    // CloudWatch emits a state-change event only when the state actually changes.
    if (state !== previousState) this.onChange({ alarmName: alarm.name, state, previousState, reason, tags: { ...alarm.tags } });
  }

  private tagResource(input: Input) {
    const alarm = this.taggable(input);
    const tags = readTags(input, true)!;
    Object.assign(alarm.tags, tagMap(tags));
    return {};
  }

  private untagResource(input: Input) {
    const alarm = this.taggable(input);
    for (const key of input.strings('TagKeys', { required: true }) ?? []) delete alarm.tags[key];
    return {};
  }

  /** TagResource/ListTagsForResource name a missing alarm with ResourceNotFoundException (their modelled error). */
  private taggable(input: Input): Alarm {
    const arn = input.string('ResourceARN', { required: true, min: 1, max: 1024 })!;
    const prefix = this.arnOf('');
    if (!arn.startsWith(prefix)) throw new CloudWatchError('InvalidParameterValueException', `not an alarm ARN of this account and region: ${arn}`);
    const alarm = this.alarms.get(arn.slice(prefix.length));
    if (!alarm) throw new CloudWatchError('ResourceNotFoundException', `Alarm ${arn.slice(prefix.length)} does not exist`);
    return alarm;
  }

  private alarm(name: string): Alarm {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new CloudWatchError('ResourceNotFound', `Alarm ${name} does not exist (the sandbox has: ${[...this.alarms.keys()].join(', ')})`);
    return alarm;
  }

  // -- metrics -----------------------------------------------------------------------------------

  /**
   * Datapoints of one metric; the limits are GetMetricStatistics' (API reference): Period 1, 5, 10,
   * 20, 30 or a multiple of 60; StartTime before EndTime; at most 1,440 datapoints; Statistics or
   * ExtendedStatistics, not both. A metric or range without data answers an empty list.
   */
  private getMetricStatistics(input: Input) {
    const namespace = input.string('Namespace', { required: true, min: 1, max: 255 })!;
    const metricName = input.string('MetricName', { required: true, min: 1, max: 255 })!;
    const dimensions = readDimensions(input, 'Dimensions');
    const startMs = input.time('StartTime', true)!;
    const endMs = input.time('EndTime', true)!;
    const period = readPeriod(input, 'Period', true)!;
    const stats = input.strings('Statistics', { max: 5 }) ?? [];
    const extended = input.strings('ExtendedStatistics', { max: 10 }) ?? [];
    const unit = input.oneOf('Unit', UNITS);
    if (stats.length && extended.length) throw new CloudWatchError('InvalidParameterCombinationException', 'Must specify either Statistics or ExtendedStatistics, but not both.');
    if (!stats.length && !extended.length) throw new CloudWatchError('InvalidParameterCombinationException', 'Must specify either Statistics or ExtendedStatistics.');
    stats.forEach((s, i) => {
      if (!isStatistic(s)) throw constraint(`Statistics.member.${i + 1}`, s, 'Member must satisfy enum value set: [Maximum, SampleCount, Sum, Minimum, Average]');
    });
    extended.forEach((s) => {
      if (!isPercentile(s)) throw new CloudWatchError('InvalidParameterValueException', `The value ${s} for parameter ExtendedStatistics is not supported.`);
    });
    checkRange(startMs, endMs);
    const wanted = requestedDatapoints(startMs, endMs, period);
    if (wanted > MAX_STATISTICS_DATAPOINTS) {
      throw new CloudWatchError(
        'InvalidParameterCombinationException',
        `You have requested up to ${wanted.toLocaleString('en-US')} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
      );
    }
    const metric = this.metric(namespace, metricName, dimensions);
    const buckets = metric && (!unit || unit === metric.Unit) ? periodBuckets(metric, { startMs, endMs, periodSeconds: period, nowMs: this.metricsClock.nowMs() }) : [];
    return {
      Label: metricName,
      Datapoints: buckets.map((b) => ({
        Timestamp: new Date(b.startMs),
        ...Object.fromEntries(stats.map((s) => [s, statistic(b.values, s)])),
        ...(extended.length ? { ExtendedStatistics: new Map(extended.map((p) => [p, statistic(b.values, p)])) } : {}),
        Unit: metric!.Unit,
      })),
    };
  }

  /**
   * GetMetricData: MetricStat queries and arithmetic expressions over them, newest first unless
   * ScanBy says otherwise, paged by MaxDatapoints (StatusCode PartialData until the last page).
   */
  private getMetricData(input: Input) {
    const queries = (input.structures('MetricDataQueries', { required: true, max: 500 }) ?? []).map(readQuery);
    if (queries.length === 0) throw missing('MetricDataQueries');
    const startMs = input.time('StartTime', true)!;
    const endMs = input.time('EndTime', true)!;
    checkRange(startMs, endMs);
    const scanBy = input.oneOf('ScanBy', ['TimestampDescending', 'TimestampAscending'] as const) ?? 'TimestampDescending';
    const maxDatapoints = input.number('MaxDatapoints', { integer: true, min: 1 }) ?? DEFAULT_MAX_DATAPOINTS;
    const offset = decodeOffset(input.string('NextToken'));
    checkQueryIds(queries);
    const series = this.querySeries(queries, { startMs, endMs, nowMs: this.metricsClock.nowMs() });
    const results = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => ({ q, points: [...(series.get(q.Id) ?? new Map<number, number>()).entries()].sort(([a], [b]) => (scanBy === 'TimestampAscending' ? a - b : b - a)) }));
    return pageMetricData(results, offset, maxDatapoints);
  }

  private querySeries(queries: MetricDataQuery[], range: { startMs: number; endMs: number; nowMs: number }): Map<string, Series> {
    const series = new Map<string, Series>();
    for (const q of queries) {
      if (!q.MetricStat) continue;
      const { Metric: m, Period, Stat, Unit } = q.MetricStat;
      const metric = this.metric(m.Namespace ?? '', m.MetricName ?? '', m.Dimensions ?? []);
      const buckets = metric && (!Unit || Unit === metric.Unit) ? periodBuckets(metric, { ...range, periodSeconds: Period }) : [];
      series.set(q.Id, new Map(buckets.map((b) => [b.startMs, statistic(b.values, Stat)])));
    }
    // Expressions may name each other in any order: evaluate whichever has its operands, until done.
    let pending = queries.filter((q) => q.Expression !== undefined);
    while (pending.length) {
      const ready = pending.filter((q) => referencedIds(q.Expression!).every((id) => series.has(id) || !queries.some((o) => o.Id === id)));
      if (ready.length === 0) throw new CloudWatchError('ValidationException', `Circular dependency between expressions: ${pending.map((q) => q.Id).join(', ')}`);
      for (const q of ready) {
        try {
          series.set(q.Id, evaluateExpression(q.Expression!, series));
        } catch (err) {
          if (err instanceof MetricMathError) throw new CloudWatchError('ValidationException', `${err.message} (query ${q.Id})`);
          throw err;
        }
      }
      pending = pending.filter((q) => !ready.includes(q));
    }
    return series;
  }

  /** Every metric the fleet publishes, filtered as ListMetrics filters (dimension names, optionally values). */
  private listMetrics(input: Input) {
    const namespace = input.string('Namespace', { min: 1, max: 255 });
    const metricName = input.string('MetricName', { min: 1, max: 255 });
    const filters = (input.structures('Dimensions', { max: 10 }) ?? []).map((d) => ({ Name: d.string('Name', { required: true, min: 1, max: 255 })!, Value: d.string('Value', { min: 1, max: 1024 }) }));
    const recently = input.oneOf('RecentlyActive', ['PT3H'] as const);
    const offset = decodeOffset(input.string('NextToken'));
    const nowMs = this.metricsClock.nowMs();
    const all = (this.readings ? fleetMetrics(this.readings) : []).filter(
      (m) =>
        (namespace === undefined || m.Namespace === namespace) &&
        (metricName === undefined || m.MetricName === metricName) &&
        filters.every((f) => m.Dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value))) &&
        (!recently || hasDataSince(m, nowMs - 3 * 3600_000, nowMs)),
    );
    const page = all.slice(offset, offset + LIST_METRICS_PAGE);
    return {
      Metrics: page.map((m) => ({ Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: m.Dimensions })),
      ...(offset + LIST_METRICS_PAGE < all.length ? { NextToken: encodeOffset(offset + LIST_METRICS_PAGE) } : {}),
    };
  }

  private metric(namespace: string, metricName: string, dimensions: Dimension[]): FleetMetric | undefined {
    return this.readings ? findMetric(this.readings, namespace, metricName, dimensions) : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Alarm definitions

function readAlarmDefinition(input: Input): MetricAlarmDefinition {
  const name = input.string('AlarmName', { required: true, min: 1, max: 255 })!;
  const evaluationPeriods = input.number('EvaluationPeriods', { required: true, integer: true, min: 1 })!;
  const comparison = input.oneOf('ComparisonOperator', COMPARISONS, true)!;
  const datapointsToAlarm = input.number('DatapointsToAlarm', { integer: true, min: 1 });
  if (datapointsToAlarm !== undefined && datapointsToAlarm > evaluationPeriods) {
    throw new CloudWatchError('ValidationException', 'DatapointsToAlarm must be less than or equal to EvaluationPeriods.');
  }
  const definition: MetricAlarmDefinition = {
    AlarmName: name,
    AlarmDescription: input.string('AlarmDescription', { max: 1024 }),
    ActionsEnabled: input.boolean('ActionsEnabled'),
    OKActions: readActions(input, 'OKActions'),
    AlarmActions: readActions(input, 'AlarmActions'),
    InsufficientDataActions: readActions(input, 'InsufficientDataActions'),
    EvaluationPeriods: evaluationPeriods,
    DatapointsToAlarm: datapointsToAlarm,
    Threshold: input.number('Threshold'),
    ComparisonOperator: comparison,
    TreatMissingData: input.oneOf('TreatMissingData', TREAT_MISSING),
    EvaluateLowSampleCountPercentile: input.oneOf('EvaluateLowSampleCountPercentile', ['evaluate', 'ignore'] as const),
    Unit: input.oneOf('Unit', UNITS),
    Tags: readTags(input, false),
    ...readAlarmMetric(input, evaluationPeriods),
  };
  return stripUndefined(definition);
}

/**
 * An alarm watches one metric (MetricName, Namespace, Period, Statistic or ExtendedStatistic,
 * Threshold) or metric math (Metrics, exactly one returning data) — PutMetricAlarm's rules.
 */
function readAlarmMetric(input: Input, evaluationPeriods: number): Partial<MetricAlarmDefinition> {
  const hasMetric = input.has('MetricName');
  const hasMath = input.has('Metrics') && (input.list('Metrics') ?? []).length > 0;
  if (hasMetric === hasMath) throw new CloudWatchError('ValidationException', 'Exactly one of MetricName and Metrics must be specified.');
  if (hasMath) {
    for (const f of ['Namespace', 'Statistic', 'ExtendedStatistic', 'Dimensions', 'Period'] as const) {
      if (input.has(f)) throw new CloudWatchError('ValidationException', `${f} must not be specified together with Metrics.`);
    }
    const metrics = (input.structures('Metrics') ?? []).map(readQuery);
    checkQueryIds(metrics);
    if (metrics.filter((m) => m.ReturnData !== false).length !== 1) throw new CloudWatchError('ValidationException', 'Exactly one element of the metrics list should return data.');
    return { Metrics: metrics, ThresholdMetricId: input.string('ThresholdMetricId', { min: 1, max: 255 }) };
  }
  const statistic = input.oneOf('Statistic', ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const);
  const extended = input.string('ExtendedStatistic');
  if ((statistic === undefined) === (extended === undefined)) throw new CloudWatchError('InvalidParameterCombinationException', 'Exactly one of Statistic and ExtendedStatistic must be specified.');
  if (extended !== undefined && !isPercentile(extended)) throw new CloudWatchError('InvalidParameterValueException', `The value ${extended} for parameter ExtendedStatistic is not supported.`);
  const period = readPeriod(input, 'Period', true, true)!;
  // "An alarm's total current evaluation period can be no longer than one day" (PutMetricAlarm, EvaluationPeriods).
  if (period * evaluationPeriods > 86_400) throw new CloudWatchError('ValidationException', 'Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400).');
  if (!input.has('Threshold')) throw missing('Threshold');
  return {
    MetricName: input.string('MetricName', { required: true, min: 1, max: 255 }),
    Namespace: input.string('Namespace', { required: true, min: 1, max: 255 }),
    Statistic: statistic,
    ExtendedStatistic: extended,
    Dimensions: readDimensions(input, 'Dimensions'),
    Period: period,
  };
}

function readActions(input: Input, field: string): string[] {
  return input.strings(field, { max: 5 }) ?? [];
}

function readTags(input: Input, required: boolean): Tag[] | undefined {
  const tags = input.structures('Tags', { required, max: 50 });
  return tags?.map((t) => ({ Key: t.string('Key', { required: true, min: 1, max: 128 })!, Value: t.string('Value', { max: 256 }) ?? '' }));
}

function readDimensions(input: Input, field: string): Dimension[] {
  return (input.structures(field, { max: 30 }) ?? []).map((d) => ({ Name: d.string('Name', { required: true, min: 1, max: 255 })!, Value: d.string('Value', { required: true, min: 1, max: 1024 })! }));
}

/** 1, 5, 10, 20, 30 (high resolution) or a multiple of 60; alarms take 10, 20, 30 or multiples of 60 (Period docs). */
function readPeriod(input: Input, field: string, required: boolean, forAlarm = false): number | undefined {
  const period = input.number(field, { required, integer: true, min: 1 });
  if (period === undefined) return undefined;
  const highResolution = forAlarm ? [10, 20, 30] : [1, 5, 10, 20, 30];
  if (period % 60 !== 0 && !highResolution.includes(period)) {
    throw new CloudWatchError('InvalidParameterValueException', `The parameter ${field} must be ${highResolution.join(', ')} or a multiple of 60.`);
  }
  return period;
}

function readQuery(q: Input): MetricDataQuery {
  const id = q.string('Id', { required: true, min: 1, max: 255 })!;
  const stat = q.structure('MetricStat');
  const expression = q.string('Expression', { min: 1, max: 2048 });
  if ((stat === undefined) === (expression === undefined)) throw new CloudWatchError('ValidationException', `The query ${id} must specify exactly one of MetricStat and Expression.`);
  const query: MetricDataQuery = { Id: id, Label: q.string('Label'), ReturnData: q.boolean('ReturnData'), Period: q.number('Period', { integer: true, min: 1 }), AccountId: q.string('AccountId') };
  if (expression !== undefined) return stripUndefined({ ...query, Expression: expression });
  const metric = stat!.structure('Metric') ?? (() => { throw missing('MetricStat.Metric'); })();
  const statName = stat!.string('Stat', { required: true })!;
  if (!isStatistic(statName) && !isPercentile(statName)) throw new CloudWatchError('InvalidParameterValueException', `The sandbox's CloudWatch computes SampleCount, Average, Sum, Minimum, Maximum and pNN statistics, not ${statName} (query ${id}).`);
  return stripUndefined({
    ...query,
    MetricStat: stripUndefined({
      Metric: stripUndefined({ Namespace: metric.string('Namespace', { min: 1, max: 255 }), MetricName: metric.string('MetricName', { min: 1, max: 255 }), Dimensions: readDimensions(metric, 'Dimensions') }),
      Period: readPeriod(stat!, 'Period', true)!,
      Stat: statName,
      Unit: stat!.oneOf('Unit', UNITS),
    }),
  });
}

/** Query ids start with a lowercase letter and are unique in a request (MetricDataQuery, Id). */
function checkQueryIds(queries: MetricDataQuery[]): void {
  const seen = new Set<string>();
  for (const q of queries) {
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(q.Id)) throw new CloudWatchError('ValidationException', `Invalid metric data query id "${q.Id}": the first character must be a lowercase letter, the rest letters, digits or underscores.`);
    if (seen.has(q.Id)) throw new CloudWatchError('ValidationException', `The metric data query id "${q.Id}" is used more than once.`);
    seen.add(q.Id);
  }
}

function referencedIds(expression: string): string[] {
  return expression.match(/[A-Za-z_]\w*/g) ?? [];
}

function checkRange(startMs: number, endMs: number): void {
  if (startMs >= endMs) throw new CloudWatchError('InvalidParameterValueException', 'The parameter StartTime must be less than the parameter EndTime.');
}

function hasDataSince(metric: FleetMetric, fromMs: number, nowMs: number): boolean {
  for (let m = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - MINUTE_MS; m >= fromMs; m -= MINUTE_MS) {
    if (metric.valueAt(m) !== undefined) return true;
  }
  return false;
}

function pageMetricData(results: { q: MetricDataQuery; points: [number, number][] }[], offset: number, maxDatapoints: number) {
  const end = offset + maxDatapoints;
  let seen = 0;
  const page = results.map(({ q, points }) => {
    const from = Math.min(points.length, Math.max(0, offset - seen));
    const to = Math.min(points.length, Math.max(0, end - seen));
    seen += points.length;
    const slice = points.slice(from, to);
    return {
      Id: q.Id,
      Label: q.Label ?? q.MetricStat?.Metric.MetricName ?? q.Id,
      Timestamps: slice.map(([t]) => new Date(t)),
      Values: slice.map(([, v]) => v),
      StatusCode: to < points.length ? 'PartialData' : 'Complete',
      Messages: [],
    };
  });
  return { MetricDataResults: page, Messages: [], ...(end < seen ? { NextToken: encodeOffset(end) } : {}) };
}

function describeAlarm(a: Alarm) {
  const c = a.config;
  return stripUndefined({
    AlarmName: a.name,
    AlarmArn: a.arn,
    AlarmDescription: c?.AlarmDescription,
    AlarmConfigurationUpdatedTimestamp: a.configuredAt,
    ActionsEnabled: c?.ActionsEnabled ?? true,
    OKActions: c?.OKActions ?? [],
    AlarmActions: c?.AlarmActions ?? [],
    InsufficientDataActions: c?.InsufficientDataActions ?? [],
    StateValue: a.state,
    StateReason: a.reason,
    StateReasonData: a.reasonData,
    StateUpdatedTimestamp: a.updatedAt,
    MetricName: c?.MetricName,
    Namespace: c?.Namespace,
    Statistic: c?.Statistic,
    ExtendedStatistic: c?.ExtendedStatistic,
    Dimensions: c ? (c.Dimensions ?? []) : undefined,
    Period: c?.Period,
    Unit: c?.Unit,
    EvaluationPeriods: c?.EvaluationPeriods,
    DatapointsToAlarm: c?.DatapointsToAlarm,
    Threshold: c?.Threshold,
    ComparisonOperator: c?.ComparisonOperator,
    TreatMissingData: c?.TreatMissingData,
    EvaluateLowSampleCountPercentile: c?.EvaluateLowSampleCountPercentile,
    Metrics: c?.Metrics,
    ThresholdMetricId: c?.ThresholdMetricId,
    StateTransitionedTimestamp: a.transitionedAt,
  });
}

function actionsOf(a: Alarm): string[] {
  return [...(a.config?.AlarmActions ?? []), ...(a.config?.OKActions ?? []), ...(a.config?.InsufficientDataActions ?? [])];
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));
}

function tagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** How a "Threshold Crossed" reason names the comparison. */
const COMPARISON_WORDS: Record<string, string> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** 37 -> "37.0", 5.199 -> "5.199", as CloudWatch prints datapoints and thresholds in reasons. */
function decimal(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

/** dd/MM/yy HH:mm:ss in UTC, the datapoint time of a "Threshold Crossed" reason. */
function reasonTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** 2026-12-03T03:14:00.000+0000, CloudWatch's timestamps in StateReasonData. */
function cloudWatchTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Opaque paging tokens: DescribeAlarms continues after a name, the others from an offset. */
function encodeToken(afterName: string): string {
  return Buffer.from(JSON.stringify({ after: afterName })).toString('base64');
}

function decodeToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const after = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown }).after;
    if (typeof after === 'string') return after;
  } catch {
    // falls through to the error
  }
  throw new CloudWatchError('InvalidNextToken', 'The service couldn\'t process the NextToken.');
}

function encodeOffset(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

function decodeOffset(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const offset = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown }).offset;
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // falls through to the error
  }
  throw new CloudWatchError('InvalidNextToken', 'The service couldn\'t process the NextToken.');
}

// ---------------------------------------------------------------------------------------------
// Default alarms and mounting

/**
 * The alarm a team sets on each service, `<service>-unhealthy-hosts` (the name the drills and
 * start-incident's routing use): behind a load balancer, UnHealthyHostCount > 0 on its target group
 * for 2 of 2 one-minute periods; otherwise Container Insights' running tasks below the desired count
 * for 2 of 2 minutes, as metric math (desired − running > 0) so it holds after scaling.
 */
export function defaultAlarms(readings: FleetReadings): MetricAlarmDefinition[] {
  const groups = readings.targetGroups();
  return readings.serviceNames().map((service) => {
    const tg = groups.find((g) => g.service === service);
    const common = {
      AlarmName: `${service}-unhealthy-hosts`,
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: [],
      InsufficientDataActions: [],
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    };
    if (tg) {
      return {
        ...common,
        AlarmDescription: `${service}: unhealthy targets in ${tg.name} for 2 minutes`,
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'UnHealthyHostCount',
        Dimensions: [
          { Name: 'TargetGroup', Value: targetGroupDimension(tg.arn) },
          { Name: 'LoadBalancer', Value: loadBalancerDimension(tg.loadBalancerArn) },
        ],
        Statistic: 'Maximum',
        Period: 60,
        TreatMissingData: 'notBreaching',
      };
    }
    const metric = (id: string, name: string): MetricDataQuery => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: 'ECS/ContainerInsights',
          MetricName: name,
          Dimensions: [
            { Name: 'ClusterName', Value: readings.clusterName },
            { Name: 'ServiceName', Value: service },
          ],
        },
        Period: 60,
        Stat: 'Average',
      },
      ReturnData: false,
    });
    return {
      ...common,
      AlarmDescription: `${service}: fewer tasks running than desired for 2 minutes`,
      Metrics: [metric('running', 'RunningTaskCount'), metric('desired', 'DesiredTaskCount'), { Id: 'missing', Expression: 'desired - running', Label: 'Tasks short of the desired count', ReturnData: true }],
      // No Container Insights datapoints at all means the service is gone: that is breaching too.
      TreatMissingData: 'breaching',
    };
  });
}

/**
 * The alarm a team puts on a service's 5xx errors, for each raises-alarm image of the scenario
 * whose alarm does not exist yet (`existing`: the names already defined): behind a load balancer,
 * the target group's HTTPCode_Target_5XX_Count, Sum over 60 s > 10, 1 of 1 periods; without one,
 * the application's own 5xx count in a custom namespace, same rule. Created in OK.
 */
export function imageAlarms(readings: FleetReadings, wanted: { service: string; alarmName: string }[], existing: readonly string[]): MetricAlarmDefinition[] {
  const groups = readings.targetGroups();
  const taken = new Set(existing);
  const out: MetricAlarmDefinition[] = [];
  for (const { service, alarmName } of wanted) {
    if (taken.has(alarmName)) continue;
    taken.add(alarmName);
    const tg = groups.find((g) => g.service === service);
    const common = {
      AlarmName: alarmName,
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: [],
      InsufficientDataActions: [],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      // No requests, no 5xx datapoints: that is not an outage.
      TreatMissingData: 'notBreaching',
    };
    out.push(
      tg
        ? {
            ...common,
            AlarmDescription: `${service}: more than 10 target 5xx responses in a minute`,
            Namespace: 'AWS/ApplicationELB',
            MetricName: 'HTTPCode_Target_5XX_Count',
            Dimensions: [
              { Name: 'TargetGroup', Value: targetGroupDimension(tg.arn) },
              { Name: 'LoadBalancer', Value: loadBalancerDimension(tg.loadBalancerArn) },
            ],
          }
        : {
            ...common,
            AlarmDescription: `${service}: more than 10 5xx responses in a minute`,
            Namespace: 'Application/HTTP',
            MetricName: 'HTTPCode_5XX_Count',
            Dimensions: [
              { Name: 'ClusterName', Value: readings.clusterName },
              { Name: 'ServiceName', Value: service },
            ],
          },
    );
  }
  return out;
}

/**
 * Serves the awsQuery side of monitoring on the sandbox's port: CloudWatch (signing name
 * `monitoring`, 2010-08-01 — the same store the awsJson target answers from) and Elastic Load
 * Balancing v2 (`elasticloadbalancing`, 2015-12-01); and lets the store's metric operations read
 * the fleet, on both protocols.
 */
export function mountMonitoring(server: SandboxHttpServer, opts: { clock: SimClock; readings: FleetReadings; alarms: AlarmStore }): { elbv2: Elbv2 } {
  opts.alarms.attachReadings(opts.readings, opts.clock);
  const elbv2 = new Elbv2(opts.readings);
  server.registerQuery('monitoring', CLOUDWATCH_VERSION, 'cloudwatch', opts.alarms.handle);
  server.registerQuery('elasticloadbalancing', ELBV2_VERSION, 'elbv2', elbv2.handle);
  return { elbv2 };
}
