import { AAS_ECS_PRINCIPAL, AAS_ECS_ROLE, type CloudTrailStore } from './cloudtrail.ts';
import type { SimClock } from './clock.ts';
import type { ServiceCaller } from './ecs.ts';
import type { FleetReadings } from './fleet-views.ts';
import { AwsServiceError, type AwsJsonService } from './http.ts';
import { findMetric, floorToMinute, MINUTE_MS } from './metrics.ts';
import type { ServiceSpec } from './scenario.ts';

/**
 * Application Auto Scaling for the sandbox's ECS services, served as AWS serves it: awsJson1.1,
 * `X-Amz-Target: AnyScaleFrontendService.<Operation>`, SigV4 signing name `application-autoscaling`
 * — what `@aws-sdk/client-application-auto-scaling` and `aws application-autoscaling` send.
 *
 * Operations: RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget,
 * PutScalingPolicy (TargetTrackingScaling on ECSServiceAverageCPUUtilization /
 * ECSServiceAverageMemoryUtilization), DescribeScalingPolicies, DeleteScalingPolicy,
 * DescribeScalingActivities. Only ServiceNamespace `ecs`, ResourceId `service/<cluster>/<service>`
 * and ScalableDimension `ecs:service:DesiredCount` hold targets; the rest get AWS's errors.
 *
 * The scaler acts on its own cadence, never inside a call: capacity outside a new [min, max] is
 * corrected a few seconds after RegisterScalableTarget returns, and target tracking evaluates the
 * fleet's per-minute metric once a minute. Every change goes through the fleet like an
 * UpdateService, recorded in CloudTrail under the service-linked role.
 */

export const AAS_TARGET_PREFIX = 'AnyScaleFrontendService';
const ECS_DIMENSION = 'ecs:service:DesiredCount';
/** The service-linked role Application Auto Scaling uses for ECS (defined with the trail that names it). */
export { AAS_ECS_PRINCIPAL, AAS_ECS_ROLE };
const AAS_CALLER: ServiceCaller = { username: AAS_ECS_ROLE, invokedBy: AAS_ECS_PRINCIPAL };
/** Who the sandbox says made the calls it answers (the workflows' Lambda role, as sandbox/ecs.ts says). */
const CALLER = 'incident-flows';

const NAMESPACES = ['appstream', 'cassandra', 'comprehend', 'custom-resource', 'dynamodb', 'ec2', 'ecs', 'elasticache', 'elasticmapreduce', 'kafka', 'lambda', 'neptune', 'rds', 'sagemaker', 'workspaces'];
const DIMENSIONS = [
  'appstream:fleet:DesiredCapacity', 'cassandra:table:ReadCapacityUnits', 'cassandra:table:WriteCapacityUnits', 'comprehend:document-classifier-endpoint:DesiredInferenceUnits',
  'comprehend:entity-recognizer-endpoint:DesiredInferenceUnits', 'custom-resource:ResourceType:Property', 'dynamodb:index:ReadCapacityUnits', 'dynamodb:index:WriteCapacityUnits',
  'dynamodb:table:ReadCapacityUnits', 'dynamodb:table:WriteCapacityUnits', 'ec2:spot-fleet-request:TargetCapacity', 'ecs:service:DesiredCount', 'elasticmapreduce:instancegroup:InstanceCount',
  'elasticache:cache-cluster:Nodes', 'elasticache:replication-group:NodeGroups', 'elasticache:replication-group:Replicas', 'kafka:broker-storage:VolumeSize', 'lambda:function:ProvisionedConcurrency',
  'neptune:cluster:ReadReplicaCount', 'rds:cluster:ReadReplicaCount', 'sagemaker:inference-component:DesiredCopyCount', 'sagemaker:variant:DesiredInstanceCount',
  'sagemaker:variant:DesiredProvisionedConcurrency', 'workspaces:workspacespool:DesiredUserSessions',
];
const POLICY_TYPES = ['PredictiveScaling', 'StepScaling', 'TargetTrackingScaling'];
/** The predefined metrics the sandbox tracks, and the AWS/ECS metric behind each. */
const ECS_METRICS: Record<string, string> = {
  ECSServiceAverageCPUUtilization: 'CPUUtilization',
  ECSServiceAverageMemoryUtilization: 'MemoryUtilization',
};
/** Predefined metrics AWS accepts for ECS services (ALB request count needs a ResourceLabel). */
const ECS_METRIC_TYPES = ['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization', 'ECSServiceAverageCPUUtilizationHighResolution', 'ECSServiceAverageMemoryUtilization', 'ECSServiceAverageMemoryUtilizationHighResolution'];

// ---- The scaler's timing (virtual ms)
/** After RegisterScalableTarget returns, the scaler corrects capacity outside [min, max] 5–15 s later. */
const CAPACITY_DELAY_MS = 5_000;
const CAPACITY_JITTER_MS = 10_000;
/**
 * Target-tracking alarms are evaluated once a minute, on the minute's datapoint once it exists:
 * 20 s after the minute ends here (ECS publishes its 1-minute metrics with a short delay).
 */
const EVALUATION_OFFSET_MS = 20_000;
/** How often an activity in progress is checked for ECS having fulfilled it. */
const ACTIVITY_CHECK_MS = 5_000;
/**
 * Target tracking's alarms for ECS, as AWS creates them: AlarmHigh is 3 datapoints of 1 minute
 * above the target; AlarmLow is 15 datapoints below 90 % of it. The guides say why, not the
 * figures: "scales out proportionally to the metric as fast as it can, but scales in more
 * gradually" (ECS Developer Guide, "Use a target metric to scale Amazon ECS services"), and removes
 * capacity only once utilisation is "typically more than 10% lower" than the target (AAS User
 * Guide, "How target tracking scaling for Application Auto Scaling works").
 */
const HIGH_DATAPOINTS = 3;
const LOW_DATAPOINTS = 15;
const LOW_FRACTION = 0.9;
/** ScaleOutCooldown and ScaleInCooldown default to 300 s for ECS services (AAS API Reference, TargetTrackingScalingPolicyConfiguration). */
const DEFAULT_COOLDOWN_SECONDS = 300;

export interface ScalableFleet extends FleetReadings {
  snapshot(service: string): { desiredCount: number; runningCount: number; deployments: { rolloutState: string }[] } | undefined;
  setDesiredCount(service: string, desired: number, caller: ServiceCaller): void;
}

interface SuspendedState {
  DynamicScalingInSuspended: boolean;
  DynamicScalingOutSuspended: boolean;
  ScheduledScalingSuspended: boolean;
}

interface Target {
  resourceId: string;
  service: string;
  minCapacity: number;
  maxCapacity: number;
  roleArn: string;
  arn: string;
  createdAt: number;
  suspended: SuspendedState;
  /** When the last scale-in started: ScaleInCooldown runs from here, and a scale-out ends it. */
  lastScaleInAt?: number;
  /** The last not-scaled reason recorded, so an alarm staying in ALARM records it once. */
  lastNotScaled?: string;
  /** A pending correction of capacity outside [min, max] (the scaler's, a moment after the call). */
  correction?: () => void;
}

interface TargetTracking {
  TargetValue: number;
  PredefinedMetricSpecification: { PredefinedMetricType: string; ResourceLabel?: string };
  ScaleOutCooldown?: number;
  ScaleInCooldown?: number;
  DisableScaleIn?: boolean;
}

interface Policy {
  name: string;
  arn: string;
  resourceId: string;
  config: TargetTracking;
  createdAt: number;
  alarmHigh: string;
  alarmLow: string;
}

interface Activity {
  ActivityId: string;
  ServiceNamespace: 'ecs';
  ResourceId: string;
  ScalableDimension: string;
  Description: string;
  Cause: string;
  StartTime: Date;
  EndTime?: Date;
  StatusCode: 'InProgress' | 'Successful' | 'Failed';
  StatusMessage?: string;
  NotScaledReasons?: { Code: string; MaxCapacity?: number; MinCapacity?: number; CurrentCapacity?: number }[];
  /** Internal: the service and the desired count the activity set (dropped from answers). */
  service: string;
  desired: number;
  notScaled: boolean;
}

type Body = Record<string, unknown>;

export interface AutoScalingOptions {
  clock: SimClock;
  region: string;
  accountId: string;
  fleet: ScalableFleet;
  /** Where mutating calls and the scaler's UpdateService land (the fleet records its own side). */
  trail?: CloudTrailStore;
  rng: () => number;
}

/**
 * The Application Auto Scaling service for one account and region: scalable targets over the
 * fleet's ECS services, target-tracking policies, and the scaler that acts on them.
 */
export class ApplicationAutoScaling {
  private readonly targets = new Map<string, Target>();
  /** resourceId -> policy name -> policy. */
  private readonly policies = new Map<string, Map<string, Policy>>();
  /** Oldest first. */
  private readonly activities: Activity[] = [];
  private tick: (() => void) | undefined;
  private check: (() => void) | undefined;

  constructor(private readonly opts: AutoScalingOptions) {}

  handle: AwsJsonService = (operation, body) => {
    const op = this.operations[operation];
    if (!op) throw new AwsServiceError('UnknownOperationException', `sandbox Application Auto Scaling does not implement ${operation}`);
    return op(body);
  };

  /** The scenario's `services[].autoScaling`: targets (and CPU policies) that exist before the drill. */
  registerFromScenario(services: ServiceSpec[]): void {
    const createdAt = this.opts.clock.nowMs() - 24 * 60 * MINUTE_MS;
    for (const spec of services) {
      const a = spec.autoScaling;
      if (!a) continue;
      const resourceId = `service/${this.opts.fleet.clusterName}/${spec.name}`;
      this.targets.set(resourceId, this.newTarget(resourceId, spec.name, a.minCapacity, a.maxCapacity, undefined, createdAt));
      if (a.targetCpuPercent === undefined) continue;
      const config: TargetTracking = {
        TargetValue: a.targetCpuPercent,
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        ...(a.scaleOutCooldownSeconds !== undefined ? { ScaleOutCooldown: a.scaleOutCooldownSeconds } : {}),
        ...(a.scaleInCooldownSeconds !== undefined ? { ScaleInCooldown: a.scaleInCooldownSeconds } : {}),
      };
      this.savePolicy(resourceId, `${spec.name}-cpu-target-tracking`, config, createdAt);
    }
    this.armTick();
  }

  private readonly operations: Record<string, (body: Body) => unknown> = {
    RegisterScalableTarget: (b) => this.registerScalableTarget(b),
    DescribeScalableTargets: (b) => this.describeScalableTargets(b),
    DeregisterScalableTarget: (b) => this.deregisterScalableTarget(b),
    PutScalingPolicy: (b) => this.putScalingPolicy(b),
    DescribeScalingPolicies: (b) => this.describeScalingPolicies(b),
    DeleteScalingPolicy: (b) => this.deleteScalingPolicy(b),
    DescribeScalingActivities: (b) => this.describeScalingActivities(b),
  };

  // ---------------------------------------------------------------- scalable targets

  /**
   * Registers or updates a target (AAS API Reference, RegisterScalableTarget): parameters not given
   * are left as they were. "If the specified resource is … active …, it changes the resource's
   * current capacity to a value that is inside of this range" — done by the scaler a few seconds
   * after the call returns (AAS User Guide, "Scaling activities": it also scales when you modify
   * the minimum or maximum), not inside the call.
   */
  private registerScalableTarget(body: Body): unknown {
    const { resourceId, service } = this.ecsTarget(body);
    const min = optionalCapacity(body, 'MinCapacity');
    const max = optionalCapacity(body, 'MaxCapacity');
    const roleArn = optionalString(body, 'RoleARN');
    const suspended = body.SuspendedState;
    if (suspended !== undefined && (suspended === null || typeof suspended !== 'object' || Array.isArray(suspended))) throw serialization('SuspendedState must be a structure');
    const existing = this.targets.get(resourceId);
    if (!existing && (min === undefined || max === undefined)) {
      throw validation('MinCapacity and MaxCapacity are required when registering a new scalable target.');
    }
    const nextMin = min ?? existing!.minCapacity;
    const nextMax = max ?? existing!.maxCapacity;
    if (nextMin > nextMax) throw validation('Minimum capacity cannot be greater than maximum capacity');
    const target = existing ?? this.newTarget(resourceId, service, nextMin, nextMax, roleArn, this.opts.clock.nowMs());
    target.minCapacity = nextMin;
    target.maxCapacity = nextMax;
    if (suspended) {
      for (const key of ['DynamicScalingInSuspended', 'DynamicScalingOutSuspended', 'ScheduledScalingSuspended'] as const) {
        const v = (suspended as Body)[key];
        if (v !== undefined) target.suspended[key] = v === true;
      }
    }
    this.targets.set(resourceId, target);
    this.record('RegisterScalableTarget', body);
    this.scheduleCorrection(target, { min: min !== undefined, max: max !== undefined });
    return { ScalableTargetARN: target.arn };
  }

  private newTarget(resourceId: string, service: string, min: number, max: number, roleArn: string | undefined, createdAt: number): Target {
    return {
      resourceId,
      service,
      minCapacity: min,
      maxCapacity: max,
      roleArn: roleArn ?? `arn:aws:iam::${this.opts.accountId}:role/aws-service-role/${AAS_ECS_PRINCIPAL}/${AAS_ECS_ROLE}`,
      arn: `arn:aws:application-autoscaling:${this.opts.region}:${this.opts.accountId}:scalable-target/0e${this.hex(34)}`,
      createdAt,
      suspended: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false },
    };
  }

  /** Capacity outside the range is brought inside by the scaler a moment later, naming the change that caused it. */
  private scheduleCorrection(target: Target, changed: { min: boolean; max: boolean }): void {
    target.correction?.();
    const at = this.opts.clock.nowMs() + CAPACITY_DELAY_MS + Math.floor(this.opts.rng() * CAPACITY_JITTER_MS);
    target.correction = this.opts.clock.at(at, () => {
      target.correction = undefined;
      if (this.targets.get(target.resourceId) !== target) return;
      const current = this.opts.fleet.snapshot(target.service)?.desiredCount;
      if (current === undefined) return;
      if (current < target.minCapacity && changed.min) this.scale(target, target.minCapacity, `minimum capacity was set to ${target.minCapacity}`);
      else if (current > target.maxCapacity && changed.max) this.scale(target, target.maxCapacity, `maximum capacity was set to ${target.maxCapacity}`);
    });
  }

  private describeScalableTargets(body: Body): unknown {
    const namespace = requiredEnum(body, 'ServiceNamespace', NAMESPACES);
    const ids = optionalStringList(body, 'ResourceIds', 50);
    const dimension = optionalEnum(body, 'ScalableDimension', DIMENSIONS);
    const all = namespace !== 'ecs' ? [] : [...this.targets.values()].filter((t) => (!ids || ids.includes(t.resourceId)) && (dimension === undefined || dimension === ECS_DIMENSION));
    const { page, nextToken } = paginate(all, body, 50, 'targets');
    return { ScalableTargets: page.map((t) => this.targetView(t)), ...(nextToken ? { NextToken: nextToken } : {}) };
  }

  private targetView(t: Target): Body {
    return {
      ServiceNamespace: 'ecs',
      ResourceId: t.resourceId,
      ScalableDimension: ECS_DIMENSION,
      MinCapacity: t.minCapacity,
      MaxCapacity: t.maxCapacity,
      RoleARN: t.roleArn,
      CreationTime: new Date(t.createdAt),
      SuspendedState: { ...t.suspended },
      ScalableTargetARN: t.arn,
    };
  }

  /** Deregistering deletes the target's scaling policies too (AAS API Reference, DeregisterScalableTarget); capacity stays as it is. */
  private deregisterScalableTarget(body: Body): unknown {
    const { resourceId } = this.targetRef(body);
    const target = this.targets.get(resourceId);
    if (!target) throw targetNotFound(body);
    target.correction?.();
    this.targets.delete(resourceId);
    this.policies.delete(resourceId);
    this.record('DeregisterScalableTarget', body);
    return {};
  }

  // ---------------------------------------------------------------- scaling policies

  private putScalingPolicy(body: Body): unknown {
    const name = requiredString(body, 'PolicyName', 256);
    const { resourceId } = this.targetRef(body);
    const type = optionalEnum(body, 'PolicyType', POLICY_TYPES) ?? 'StepScaling';
    const target = this.targets.get(resourceId);
    if (!target) throw targetNotFound(body);
    if (type !== 'TargetTrackingScaling') throw validation(`the sandbox's Application Auto Scaling implements TargetTrackingScaling policies only, not ${type}`);
    const config = targetTrackingConfig(body.TargetTrackingScalingPolicyConfiguration);
    const forResource = this.policies.get(resourceId) ?? new Map<string, Policy>();
    const sameMetric = [...forResource.values()].find((p) => p.name !== name && p.config.PredefinedMetricSpecification.PredefinedMetricType === config.PredefinedMetricSpecification.PredefinedMetricType);
    if (sameMetric) throw validation('Only one TargetTrackingScaling policy for a given metric specification is allowed.');
    const policy = this.savePolicy(resourceId, name, config, this.opts.clock.nowMs());
    this.record('PutScalingPolicy', body);
    this.armTick();
    return { PolicyARN: policy.arn, Alarms: this.alarmsOf(policy) };
  }

  /** Creates the policy, or updates it in place (same ARN and alarms), as PutScalingPolicy does. */
  private savePolicy(resourceId: string, name: string, config: TargetTracking, createdAt: number): Policy {
    const forResource = this.policies.get(resourceId) ?? new Map<string, Policy>();
    const existing = forResource.get(name);
    const id = this.uuid();
    const policy: Policy = existing
      ? { ...existing, config }
      : {
          name,
          resourceId,
          config,
          createdAt,
          arn: `arn:aws:autoscaling:${this.opts.region}:${this.opts.accountId}:scalingPolicy:${id}:resource/ecs/${resourceId}:policyName/${name}`,
          // Target tracking creates and names its alarms (ECS Developer Guide, "Use a target metric…").
          alarmHigh: `TargetTracking-${resourceId}-AlarmHigh-${this.uuid()}`,
          alarmLow: `TargetTracking-${resourceId}-AlarmLow-${this.uuid()}`,
        };
    forResource.set(name, policy);
    this.policies.set(resourceId, forResource);
    return policy;
  }

  private alarmsOf(p: Policy): { AlarmName: string; AlarmARN: string }[] {
    return [p.alarmHigh, p.alarmLow].map((AlarmName) => ({ AlarmName, AlarmARN: `arn:aws:cloudwatch:${this.opts.region}:${this.opts.accountId}:alarm:${AlarmName}` }));
  }

  private describeScalingPolicies(body: Body): unknown {
    const namespace = requiredEnum(body, 'ServiceNamespace', NAMESPACES);
    const names = optionalStringList(body, 'PolicyNames', 50);
    const resourceId = optionalString(body, 'ResourceId');
    const dimension = optionalEnum(body, 'ScalableDimension', DIMENSIONS);
    const all =
      namespace !== 'ecs' || (dimension !== undefined && dimension !== ECS_DIMENSION)
        ? []
        : [...this.policies.values()].flatMap((m) => [...m.values()]).filter((p) => (!names || names.includes(p.name)) && (resourceId === undefined || p.resourceId === resourceId));
    const { page, nextToken } = paginate(all, body, 10, 'policies');
    return {
      ScalingPolicies: page.map((p) => ({
        PolicyARN: p.arn,
        PolicyName: p.name,
        ServiceNamespace: 'ecs',
        ResourceId: p.resourceId,
        ScalableDimension: ECS_DIMENSION,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: p.config,
        Alarms: this.alarmsOf(p),
        CreationTime: new Date(p.createdAt),
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  private deleteScalingPolicy(body: Body): unknown {
    const name = requiredString(body, 'PolicyName', 256);
    const { namespace, resourceId, dimension } = this.targetRef(body);
    const forResource = this.policies.get(resourceId);
    if (!forResource?.has(name)) {
      throw new AwsServiceError('ObjectNotFoundException', `No scaling policy found for service namespace: ${namespace}, resource ID: ${resourceId}, scalable dimension: ${dimension}, policy name: ${name}`);
    }
    forResource.delete(name);
    if (forResource.size === 0) this.policies.delete(resourceId);
    this.record('DeleteScalingPolicy', body);
    return {};
  }

  // ---------------------------------------------------------------- activities

  private describeScalingActivities(body: Body): unknown {
    this.checkActivities();
    const namespace = requiredEnum(body, 'ServiceNamespace', NAMESPACES);
    const resourceId = optionalString(body, 'ResourceId');
    const dimension = optionalEnum(body, 'ScalableDimension', DIMENSIONS);
    const includeNotScaled = optionalBoolean(body, 'IncludeNotScaledActivities') ?? false;
    const all =
      namespace !== 'ecs' || (dimension !== undefined && dimension !== ECS_DIMENSION)
        ? []
        : [...this.activities].reverse().filter((a) => (resourceId === undefined || a.ResourceId === resourceId) && (includeNotScaled || !a.notScaled));
    const { page, nextToken } = paginate(all, body, 50, 'activities');
    return { ScalingActivities: page.map(wireActivity), ...(nextToken ? { NextToken: nextToken } : {}) };
  }

  /** Scaling activities, newest first (what DescribeScalingActivities returns), for tests and drills. */
  scalingActivities(): WireActivity[] {
    this.checkActivities();
    return [...this.activities].reverse().map(wireActivity);
  }

  /**
   * One change of desired count by the scaler: an activity (AAS's wording: "Setting desired count
   * to N.", "Successfully set desired count to N. Change successfully fulfilled by ecs."), then an
   * UpdateService through the fleet under the service-linked role.
   */
  private scale(target: Target, desired: number, cause: string): void {
    const now = this.opts.clock.now();
    const activity: Activity = {
      ActivityId: this.uuid(),
      ServiceNamespace: 'ecs',
      ResourceId: target.resourceId,
      ScalableDimension: ECS_DIMENSION,
      Description: `Setting desired count to ${desired}.`,
      Cause: cause,
      StartTime: now,
      StatusCode: 'InProgress',
      service: target.service,
      desired,
      notScaled: false,
    };
    this.activities.push(activity);
    target.lastNotScaled = undefined;
    try {
      this.opts.fleet.setDesiredCount(target.service, desired, AAS_CALLER);
    } catch (e) {
      activity.StatusCode = 'Failed';
      activity.EndTime = now;
      activity.StatusMessage = `Failed to set desired count to ${desired}. Reason: ${(e as Error).message}`;
      return;
    }
    this.armCheck();
  }

  /** A scaling the policy wanted but could not make (AAS API Reference, NotScaledReason), recorded once per reason. */
  private notScaled(target: Target, cause: string, code: string, current: number): void {
    const key = `${code}|${current}|${cause}`;
    if (target.lastNotScaled === key) return;
    target.lastNotScaled = key;
    const now = this.opts.clock.now();
    this.activities.push({
      ActivityId: this.uuid(),
      ServiceNamespace: 'ecs',
      ResourceId: target.resourceId,
      ScalableDimension: ECS_DIMENSION,
      Description: 'Attempting to scale due to alarm triggered',
      Cause: cause,
      StartTime: now,
      EndTime: now,
      StatusCode: 'Failed',
      StatusMessage: `Failed to set desired count to ${current}`,
      NotScaledReasons: [{ Code: code, MaxCapacity: target.maxCapacity, MinCapacity: target.minCapacity, CurrentCapacity: current }],
      service: target.service,
      desired: current,
      notScaled: true,
    });
  }

  /** An activity is fulfilled once ECS runs the desired count it set (or another change superseded it). */
  private checkActivities(): void {
    const now = this.opts.clock.now();
    for (const a of this.activities) {
      if (a.StatusCode !== 'InProgress') continue;
      const s = this.opts.fleet.snapshot(a.service);
      if (s && s.desiredCount === a.desired && s.runningCount !== a.desired) continue;
      a.StatusCode = 'Successful';
      a.EndTime = now;
      a.StatusMessage = `Successfully set desired count to ${a.desired}. Change successfully fulfilled by ecs.`;
    }
  }

  private armCheck(): void {
    if (this.check) return;
    this.check = this.opts.clock.at(this.opts.clock.nowMs() + ACTIVITY_CHECK_MS, () => {
      this.check = undefined;
      this.checkActivities();
      if (this.activities.some((a) => a.StatusCode === 'InProgress')) this.armCheck();
    });
  }

  // ---------------------------------------------------------------- target tracking

  /** One evaluation a minute while any policy exists. */
  private armTick(): void {
    if (this.tick || this.policies.size === 0) return;
    const now = this.opts.clock.nowMs();
    let at = floorToMinute(now) + EVALUATION_OFFSET_MS;
    if (at <= now) at += MINUTE_MS;
    this.tick = this.opts.clock.at(at, () => {
      this.tick = undefined;
      this.evaluate();
      this.armTick();
    });
  }

  /**
   * Each target's policies against the finished minutes. With several policies, scale out if any
   * wants to and scale in only if all do (ECS Developer Guide, target tracking considerations).
   * Alarms with Auto Scaling actions invoke them every minute they stay in ALARM (CloudWatch User
   * Guide, "Alarm actions"), so a lasting breach is acted on again once the last change is in.
   */
  private evaluate(): void {
    const now = this.opts.clock.nowMs();
    const lastMinute = floorToMinute(now) - MINUTE_MS;
    for (const target of this.targets.values()) {
      const policies = [...(this.policies.get(target.resourceId)?.values() ?? [])];
      if (policies.length === 0) continue;
      const s = this.opts.fleet.snapshot(target.service);
      if (!s) continue;
      const verdicts = policies.map((p) => this.verdict(p, target.service, lastMinute, s.desiredCount));
      const out = verdicts.filter((v) => v.direction === 'out');
      if (out.length > 0) {
        const best = out.reduce((a, b) => (b.desired > a.desired ? b : a));
        this.scaleOut(target, s.desiredCount, best);
        continue;
      }
      if (verdicts.every((v) => v.direction === 'in')) {
        const gentlest = verdicts.reduce((a, b) => (b.desired > a.desired ? b : a));
        const deploying = s.deployments.length > 1 || s.deployments.some((d) => d.rolloutState === 'IN_PROGRESS');
        this.scaleIn(target, s.desiredCount, gentlest, deploying);
      }
    }
  }

  private verdict(p: Policy, service: string, lastMinute: number, current: number): Verdict {
    const metricName = ECS_METRICS[p.config.PredefinedMetricSpecification.PredefinedMetricType]!;
    const metric = findMetric(this.opts.fleet, 'AWS/ECS', metricName, [
      { Name: 'ClusterName', Value: this.opts.fleet.clusterName },
      { Name: 'ServiceName', Value: service },
    ]);
    const values: (number | undefined)[] = [];
    for (let i = 0; i < LOW_DATAPOINTS; i += 1) values.push(metric?.valueAt(lastMinute - i * MINUTE_MS));
    const latest = values[0];
    const target = p.config.TargetValue;
    // Missing data is no reason to scale either way (insufficient data is not low utilisation).
    if (latest === undefined) return { direction: 'none', desired: current, policy: p };
    // Proportional: the capacity that would bring the metric to the target, rounded up (AAS scales conservatively).
    const desired = Math.ceil((current * latest) / target - 1e-9);
    if (values.slice(0, HIGH_DATAPOINTS).every((v) => v !== undefined && v > target)) return { direction: 'out', desired, policy: p, alarm: p.alarmHigh };
    if (!p.config.DisableScaleIn && values.every((v) => v !== undefined && v < LOW_FRACTION * target)) return { direction: 'in', desired, policy: p, alarm: p.alarmLow };
    return { direction: 'none', desired: current, policy: p };
  }

  /**
   * Scale out, within [min, max]. "While the cooldown period is in effect, the capacity added by
   * the initiating scale-out activity is calculated as part of the desired capacity for the next
   * scale-out activity" (AAS API Reference, TargetTrackingScalingPolicyConfiguration,
   * ScaleOutCooldown): the estimate is made from the desired count, which already holds that
   * capacity, so only a larger scale-out happens — with or without a cooldown running, which is
   * why none is kept. A scale-out ends a scale-in cooldown ("if another alarm triggers a scale-out
   * activity during the scale-in cooldown period, … scales out the target immediately. In this
   * case, the scale-in cooldown period stops and doesn't complete", ibid., ScaleInCooldown).
   */
  private scaleOut(target: Target, current: number, v: Verdict): void {
    if (target.suspended.DynamicScalingOutSuspended) return;
    const desired = clampTo(target, v.desired);
    if (desired <= current) {
      this.notScaled(target, causeOf(v), current >= target.maxCapacity ? 'AlreadyAtMaxCapacity' : 'AlreadyAtDesiredCapacity', current);
      return;
    }
    target.lastScaleInAt = undefined;
    this.scale(target, desired, causeOf(v));
  }

  /**
   * Scale in, within [min, max], never within ScaleInCooldown of the last scale-in, never with
   * DisableScaleIn, and not while an ECS deployment is in progress (ECS Developer Guide, "Use a
   * target metric…": Application Auto Scaling turns off scale-in during deployments).
   */
  private scaleIn(target: Target, current: number, v: Verdict, deploying: boolean): void {
    if (target.suspended.DynamicScalingInSuspended || deploying) return;
    const cooldownMs = (v.policy.config.ScaleInCooldown ?? DEFAULT_COOLDOWN_SECONDS) * 1000;
    const now = this.opts.clock.nowMs();
    if (target.lastScaleInAt !== undefined && now - target.lastScaleInAt < cooldownMs) return;
    const desired = clampTo(target, v.desired);
    if (desired >= current) {
      this.notScaled(target, causeOf(v), current <= target.minCapacity ? 'AlreadyAtMinCapacity' : 'AlreadyAtDesiredCapacity', current);
      return;
    }
    target.lastScaleInAt = now;
    this.scale(target, desired, causeOf(v));
  }

  // ---------------------------------------------------------------- requests

  /** ServiceNamespace, ResourceId and ScalableDimension of a call that names one target. */
  private targetRef(body: Body): { namespace: string; resourceId: string; dimension: string } {
    const namespace = requiredEnum(body, 'ServiceNamespace', NAMESPACES);
    const resourceId = requiredString(body, 'ResourceId', 1600);
    const dimension = requiredEnum(body, 'ScalableDimension', DIMENSIONS);
    return { namespace, resourceId, dimension };
  }

  /** A target the sandbox can hold: an ECS service of this cluster that exists. */
  private ecsTarget(body: Body): { resourceId: string; service: string } {
    const { namespace, resourceId, dimension } = this.targetRef(body);
    const m = /^service\/([^/]+)\/([^/]+)$/.exec(resourceId);
    if (namespace !== 'ecs' || dimension !== ECS_DIMENSION || !m) throw validation('Unsupported service namespace, resource type or scalable dimension');
    const [, cluster, service] = m;
    if (cluster !== this.opts.fleet.clusterName || !this.opts.fleet.serviceNames().includes(service!)) throw validation(`ECS service doesn't exist: ${resourceId}`);
    return { resourceId, service: service! };
  }

  /** Mutating calls land in CloudTrail as on AWS (eventSource application-autoscaling.amazonaws.com). */
  private record(eventName: string, body: Body): void {
    const requestParameters: Body = {};
    for (const k of ['serviceNamespace', 'resourceId', 'scalableDimension', 'minCapacity', 'maxCapacity', 'policyName', 'policyType']) {
      const v = body[k.charAt(0).toUpperCase() + k.slice(1)];
      if (v !== undefined) requestParameters[k] = v;
    }
    this.opts.trail?.record({ eventName, username: CALLER, eventSource: 'application-autoscaling.amazonaws.com', readOnly: false, resources: [], requestParameters });
  }

  private hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.opts.rng() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  private uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

interface Verdict {
  direction: 'out' | 'in' | 'none';
  desired: number;
  policy: Policy;
  alarm?: string;
}

/** What an alarm-driven activity gives as its Cause. */
function causeOf(v: Verdict): string {
  return `monitor alarm ${v.alarm} in state ALARM triggered policy ${v.policy.name}`;
}

/** A policy's capacity, inside the target's [min, max]. */
function clampTo(target: Target, capacity: number): number {
  return Math.min(target.maxCapacity, Math.max(target.minCapacity, capacity));
}

type WireActivity = Omit<Activity, 'service' | 'desired' | 'notScaled'>;

/** An activity as DescribeScalingActivities answers it, without the sandbox's own fields. */
function wireActivity({ service: _s, desired: _d, notScaled: _n, ...wire }: Activity): WireActivity {
  return wire;
}

// ---------------------------------------------------------------- validation, in AWS's words

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message);
}

function serialization(message: string): AwsServiceError {
  return new AwsServiceError('SerializationException', message);
}

function targetNotFound(body: Body): AwsServiceError {
  return new AwsServiceError(
    'ObjectNotFoundException',
    `No scalable target registered for service namespace: ${String(body.ServiceNamespace)}, resource ID: ${String(body.ResourceId)}, scalable dimension: ${String(body.ScalableDimension)}`,
  );
}

/** The member's name as AWS's validation messages spell it: lower camel case, dotted path. */
function memberPath(name: string): string {
  return name
    .split('.')
    .map((p) => p.charAt(0).toLowerCase() + p.slice(1))
    .join('.');
}

function constraint(name: string, value: unknown, rule: string): AwsServiceError {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
  return validation(`1 validation error detected: Value ${shown} at '${memberPath(name)}' failed to satisfy constraint: ${rule}`);
}

function requiredString(body: Body, name: string, maxLength: number): string {
  const v = body[name];
  if (v === undefined || v === null) throw constraint(name, v, 'Member must not be null');
  if (typeof v !== 'string') throw serialization(`${name} must be a string`);
  if (v.length < 1 || v.length > maxLength) throw constraint(name, v, `Member must have length between 1 and ${maxLength}`);
  return v;
}

function optionalString(body: Body, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw serialization(`${name} must be a string`);
  return v;
}

function requiredEnum(body: Body, name: string, values: string[]): string {
  const v = body[name];
  if (v === undefined || v === null) throw constraint(name, v, 'Member must not be null');
  return checkEnum(name, v, values);
}

function optionalEnum(body: Body, name: string, values: string[]): string | undefined {
  const v = body[name];
  return v === undefined || v === null ? undefined : checkEnum(name, v, values);
}

function checkEnum(name: string, v: unknown, values: string[]): string {
  if (typeof v !== 'string' || !values.includes(v)) throw constraint(name, v, `Member must satisfy enum value set: [${values.join(', ')}]`);
  return v;
}

function optionalBoolean(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw serialization(`${name} must be a boolean`);
  return v;
}

function optionalInteger(body: Body, name: string, path = name): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw serialization(`${path} must be an integer`);
  return v;
}

/** ECS services may scale to 0 (AAS API Reference, RegisterScalableTarget MinCapacity). */
function optionalCapacity(body: Body, name: string): number | undefined {
  const v = optionalInteger(body, name);
  if (v !== undefined && v < 0) throw constraint(name, v, 'Member must have value greater than or equal to 0');
  return v;
}

function optionalStringList(body: Body, name: string, max: number): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw serialization(`${name} must be a list of strings`);
  if (v.length > max) throw constraint(name, `[${v.join(', ')}]`, `Member must have length less than or equal to ${max}`);
  return v as string[];
}

/** TargetTrackingScalingPolicyConfiguration as the sandbox can track it: an ECS service's CPU or memory. */
function targetTrackingConfig(raw: unknown): TargetTracking {
  const path = 'TargetTrackingScalingPolicyConfiguration';
  if (raw === undefined || raw === null) throw validation('TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling');
  if (typeof raw !== 'object' || Array.isArray(raw)) throw serialization(`${path} must be a structure`);
  const c = raw as Body;
  const value = c.TargetValue;
  if (value === undefined || value === null) throw constraint(`${path}.TargetValue`, value, 'Member must not be null');
  if (typeof value !== 'number' || !Number.isFinite(value)) throw serialization(`${path}.TargetValue must be a number`);
  // TargetValue's documented range (AAS API Reference, TargetTrackingScalingPolicyConfiguration).
  if (value < 8.515920e-109 || value > 1.174271e108) throw validation(`The target value must be between 8.515920e-109 and 1.174271e+108.`);
  if (c.CustomizedMetricSpecification !== undefined && c.CustomizedMetricSpecification !== null) {
    if (c.PredefinedMetricSpecification !== undefined && c.PredefinedMetricSpecification !== null) throw validation('Exactly one of PredefinedMetricSpecification or CustomizedMetricSpecification must be specified.');
    throw validation(`the sandbox's Application Auto Scaling tracks predefined metrics only (ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization), not a CustomizedMetricSpecification`);
  }
  const spec = c.PredefinedMetricSpecification;
  if (spec === undefined || spec === null) throw validation('Exactly one of PredefinedMetricSpecification or CustomizedMetricSpecification must be specified.');
  if (typeof spec !== 'object' || Array.isArray(spec)) throw serialization(`${path}.PredefinedMetricSpecification must be a structure`);
  const type = (spec as Body).PredefinedMetricType;
  const typePath = `${path}.PredefinedMetricSpecification.PredefinedMetricType`;
  if (type === undefined || type === null) throw constraint(typePath, type, 'Member must not be null');
  if (typeof type !== 'string') throw serialization(`${typePath} must be a string`);
  if (!ECS_METRIC_TYPES.includes(type)) throw validation(`Unsupported metric type ${type} for service namespace ecs`);
  if (!(type in ECS_METRICS)) throw validation(`the sandbox's Application Auto Scaling tracks ECSServiceAverageCPUUtilization and ECSServiceAverageMemoryUtilization only, not ${type}`);
  const out: TargetTracking = { TargetValue: value, PredefinedMetricSpecification: { PredefinedMetricType: type } };
  const label = (spec as Body).ResourceLabel;
  if (typeof label === 'string') out.PredefinedMetricSpecification.ResourceLabel = label;
  for (const key of ['ScaleOutCooldown', 'ScaleInCooldown'] as const) {
    const v = optionalInteger(c, key, `${path}.${key}`);
    if (v === undefined) continue;
    if (v < 0) throw constraint(`${path}.${key}`, v, 'Member must have value greater than or equal to 0');
    out[key] = v;
  }
  const disable = optionalBoolean(c, 'DisableScaleIn');
  if (disable !== undefined) out.DisableScaleIn = disable;
  return out;
}

/**
 * MaxResults (1..max, default max) and an opaque NextToken bound to the listing it came from; a
 * token that is not one of ours is InvalidNextTokenException, as on AWS.
 */
function paginate<T>(items: T[], body: Body, max: number, kind: string): { page: T[]; nextToken: string | undefined } {
  const limit = optionalInteger(body, 'MaxResults');
  if (limit !== undefined && (limit < 1 || limit > max)) {
    throw constraint('MaxResults', limit, limit < 1 ? 'Member must have value greater than or equal to 1' : `Member must have value less than or equal to ${max}`);
  }
  const token = optionalString(body, 'NextToken');
  let start = 0;
  if (token !== undefined) {
    const m = /^([a-z]+):(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!m || m[1] !== kind) throw new AwsServiceError('InvalidNextTokenException', 'Invalid NextToken');
    start = Number(m[2]);
  }
  const end = start + (limit ?? max);
  return { page: items.slice(start, end), nextToken: end < items.length ? Buffer.from(`${kind}:${end}`).toString('base64') : undefined };
}
