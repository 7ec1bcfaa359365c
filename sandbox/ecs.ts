import type { CloudTrailStore } from '#sandbox/cloudtrail';
import type { SimClock } from '#sandbox/clock';
import { AwsServiceError, type AwsJsonService } from '#sandbox/http';
import type { LogStore } from '#sandbox/logs';
import type { ImageBehaviour, Scenario, ServiceFault, ServiceSpec } from '#sandbox/scenario';
import {
  deploymentStateChange,
  serviceAction,
  taskStateChange,
  type DeploymentEventName,
  type EcsEvent,
  type ServiceActionName,
} from './ecs/events.ts';
import {
  alive,
  byStopPreference,
  familyOf,
  healthy,
  isHealthyTask,
  pending,
  primaryOf,
  running,
  SECOND,
  setStatus,
  setTarget,
  tasksOf,
  type Body,
  type Deployment,
  type Fate,
  type SimService,
  type Task,
  type TaskDef,
} from './ecs/model.ts';
import { loadBalancing, planTarget, REASONS } from './ecs/targets.ts';
import {
  deploymentConfiguration,
  invalidParameter,
  optionalBoolean,
  optionalDesiredCount,
  optionalString,
  optionalStringList,
  paginate,
  requiredString,
  validateContainers,
} from './ecs/validation.ts';
import { CONTAINER_PORT, deploymentSummary, serviceView, taskView, type ViewContext } from './ecs/views.ts';
import type {
  FleetReadings,
  LoadBalancerView,
  ServiceSample,
  TargetGroupView,
  TargetHealthView,
  TargetSample,
} from './fleet-views.ts';

// ---- Timing (virtual ms). Service-specific times (start, warm-up, drain) come from the scenario.
const START_JITTER = 0.25;
/** PROVISIONING -> PENDING: Fargate attaching the ENI. */
const PROVISIONING_MS = 2 * SECOND;
/** bad-image: PENDING -> STOPPED once the registry has answered "manifest unknown" (retries included). */
const PULL_FAILURE_MS = 10 * SECOND;
/** STOPPING -> STOPPED: SIGTERM, container exit, ENI detach. */
const STOPPING_MS = 2 * SECOND;
/** A task stopped before it ever ran has nothing to drain. */
const UNSTARTED_STOP_MS = 1 * SECOND;
/** ECS keeps stopped tasks describable for about an hour. */
const STOPPED_RETENTION_MS = 60 * 60 * SECOND;
/**
 * The service scheduler acts on its own cadence, after UpdateService has returned (ECS Developer
 * Guide, "Service scheduler concepts"): here 1-3 s after a change. Two updates inside that window
 * collapse — desired 0 then 2 may stop nothing, as on AWS.
 */
const SCHEDULER_DELAY_MS = 1 * SECOND;
const SCHEDULER_JITTER_MS = 2 * SECOND;
/** Task-launch throttling after consecutive failures: 5 s, 10 s, 20 s, 40 s, then 60 s. */
const LAUNCH_BACKOFF_BASE_MS = 5 * SECOND;
const LAUNCH_BACKOFF_CAP_MS = 60 * SECOND;
/** Consecutive failed tasks before ECS posts "unable to consistently start tasks". */
const UNSTABLE_AFTER_FAILURES = 3;
/** The container health check of the task definitions the sandbox registers: every 10 s, 3 retries. */
const CONTAINER_CHECK_INTERVAL_MS = 10 * SECOND;
const CONTAINER_CHECK_RETRIES = 3;
/** Scenario-start faults hit the already-running tasks a little apart, not in lock step. */
const INITIAL_FAILURE_JITTER_MS = 3 * SECOND;
/** A running image that starts failing its health checks at the scenario start does so after ~8 s, as a fault's tasks do. */
const INITIAL_IMAGE_FAILURE_MS = 8 * SECOND;
/** Healthy tasks write a routine log line about once a minute; some are WARNs. */
const LOG_INTERVAL_MS = 60 * SECOND;
const WARN_PROBABILITY = 0.15;
/** DescribeServices returns at most the 100 most recent service events. */
const MAX_SERVICE_EVENTS = 100;
/**
 * Desired tasks the simulator plays across all services: five times the 200 a scenario may start
 * with (sandbox/scenario.ts), far below ECS's 5,000 per service, and still quick to simulate
 * (1,000 healthy tasks: ~7 ms of real time per simulated second).
 */
const MAX_FLEET_TASKS = 1000;
/** Without a seeded UpdateService, the running deployment is a day old. */
const DEFAULT_DEPLOYED_AGO_MS = 24 * 60 * 60 * SECOND;
/**
 * A raises-alarm image's error metric recovers once its last task stops serving; the alarm (one
 * 1-minute period) sees a full clean minute, and its evaluation runs a little after: two minutes.
 */
const ALARM_RECOVERY_MS = 2 * 60 * SECOND;
/** 5xx responses a minute of a raises-alarm image: a floor, plus what each serving task adds. */
const ERRORS_PER_MINUTE_BASE = 10;
const ERRORS_PER_MINUTE_PER_TASK = 13.5;
/** What a task of an image in the scenario's `images` does (the image decides, not the service's faults). */
const IMAGE_FATES: Record<ImageBehaviour['kind'], Fate> = {
  'bad-image': 'bad-image',
  'crash-loop': 'crash',
  'failing-health-check': 'unhealthy',
  'raises-alarm': 'healthy',
};

/** Who the sandbox says made the calls it records in CloudTrail (the workflow's Lambda role). */
const CALLER = 'incident-flows';

const CRASH_ERRORS = [
  'ERROR Unhandled exception in request handler: ECONNREFUSED 10.0.3.12:5432',
  'ERROR Health check failed: upstream timeout',
  'ERROR Database connection pool exhausted: timed out acquiring a connection after 5000 ms',
];
const CRASH_EXIT = 'ERROR Process exited with code 1';
const UNHEALTHY_ERROR = 'ERROR GET /health 503: dependency check failed (ledger-db: connection refused)';
const ROUTINE_INFO = ['INFO GET /api/v1/status 200 14ms', 'INFO Processed 120 requests in the last minute', 'INFO GET /health 200 2ms'];
const ROUTINE_WARN = [
  'WARN Slow response from governance Lambda: 1840 ms',
  'WARN Connection pool 80% utilised',
  'WARN Retrying DynamoDB request after ProvisionedThroughputExceededException (attempt 2)',
];

export interface ServiceSnapshot {
  name: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  /** Tasks the scheduler counts healthy: RUNNING, container check passing, load-balancer target healthy. */
  healthyCount: number;
  deployments: { id: string; status: string; taskDefinition: string; desiredCount: number; runningCount: number; pendingCount: number; rolloutState: string; failedTasks: number }[];
  /** Target states by count, when a load balancer is in front. */
  targets?: Record<string, number>;
  events: { createdAt: Date; message: string }[];
  taskDefinition: string;
}

/** Time-ordered queue of simulated lifecycle steps; equal times run in the order they were scheduled. */
class EventQueue {
  private readonly items: { at: number; seq: number; run: () => void }[] = [];
  private seq = 0;

  push(at: number, run: () => void): void {
    const item = { at, seq: (this.seq += 1), run };
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
  }

  head(): number | undefined {
    return this.items[0]?.at;
  }

  popDue(ms: number): { at: number; run: () => void } | undefined {
    return this.items.length > 0 && this.items[0]!.at <= ms ? this.items.shift() : undefined;
  }
}

export type EcsEventListener = (event: EcsEvent) => void;

/**
 * A raises-alarm image moving its service's error metric across the alarm's threshold (or back):
 * what CloudWatch's evaluation of the alarm would see. sandbox/index.ts hands it to the alarm store.
 */
export interface ImageAlarmSignal {
  alarmName: string;
  service: string;
  image: string;
  breaching: boolean;
  /** The datapoint that crossed: its value (5xx responses in the minute) and the minute's start. */
  value: number;
  datapointAt: number;
}
export type ImageAlarmListener = (signal: ImageAlarmSignal) => void;

/** One stretch of a raises-alarm image serving: from its first serving task until its last stops. */
interface AlarmEpisode {
  /** Bumped when an episode starts or ends: steps scheduled for an older one do nothing. */
  generation: number;
  serving: boolean;
  /** The alarm was put in ALARM by this image and is not yet back to OK. */
  raised: boolean;
  /** The breach signalled, for listeners added later. */
  signal?: ImageAlarmSignal;
}

/** Another AWS service acting through its service-linked role, as CloudTrail names it (`invokedBy`). */
export interface ServiceCaller {
  username: string;
  invokedBy: string;
}

/**
 * A simulated ECS cluster on the sandbox clock. Lifecycle steps (task starts, health checks,
 * crashes, drains, scheduler passes) wait in a time-ordered queue; the fleet registers a passive
 * stop on the clock for the next one, so it plays on time even when nobody calls the API — and
 * ECS's EventBridge events leave when they happen. Every API call also first catches up
 * (`advanceTo(now)`).
 */
export class EcsFleet implements FleetReadings {
  readonly region: string;
  readonly accountId: string;
  readonly clusterName: string;
  private readonly scenario: Scenario;
  private readonly clock: SimClock;
  private readonly trail: CloudTrailStore;
  private readonly logs: LogStore;
  private readonly rng: () => number;
  private readonly clusterArn: string;
  private readonly services = new Map<string, SimService>();
  /** family -> revisions, ascending. */
  private readonly taskDefs = new Map<string, TaskDef[]>();
  private readonly queue = new EventQueue();
  private readonly listeners: EcsEventListener[] = [];
  private readonly alarmListeners: ImageAlarmListener[] = [];
  /** `<service>\u0000<image>` -> its raises-alarm episode. */
  private readonly alarmEpisodes = new Map<string, AlarmEpisode>();
  private readonly view: ViewContext;
  private now: number;
  /** When the scenario's faults begin (the fleet's creation): a cpu-saturation's load starts here. */
  private readonly faultsStartMs: number;
  private armed: { at: number; cancel: () => void } | undefined;

  constructor(opts: { scenario: Scenario; clock: SimClock; trail: CloudTrailStore; logs: LogStore; rng: () => number }) {
    this.scenario = opts.scenario;
    this.clock = opts.clock;
    this.trail = opts.trail;
    this.logs = opts.logs;
    this.rng = opts.rng;
    this.region = opts.scenario.region;
    this.accountId = opts.scenario.accountId;
    this.clusterName = opts.scenario.cluster;
    this.now = opts.clock.nowMs();
    this.faultsStartMs = this.now;
    this.clusterArn = this.arn(`cluster/${this.scenario.cluster}`);
    this.view = { region: this.region, accountId: this.accountId, cluster: this.clusterName, clusterArn: this.clusterArn, arn: (r) => this.arn(r), caller: CALLER };
    this.seedTrail();
    for (const spec of this.scenario.services) this.createService(spec);
    this.arm();
  }

  handle: AwsJsonService = (operation, body) => {
    this.advanceTo(this.clock.nowMs());
    const op = this.operations[operation];
    if (!op) throw new AwsServiceError('UnknownOperationException', `sandbox ECS does not implement ${operation}`);
    return op(body);
  };

  /** ECS's EventBridge events, as they happen (sandbox/eventbridge.ts delivers them to rules). */
  onEvent(listener: EcsEventListener): void {
    this.listeners.push(listener);
  }

  /**
   * Raises-alarm images crossing their alarm's threshold, as they happen (sandbox/index.ts sets the
   * alarm). A listener added late first hears the breaches still standing, so none is lost to wiring order.
   */
  onImageAlarm(listener: ImageAlarmListener): void {
    this.alarmListeners.push(listener);
    for (const episode of this.alarmEpisodes.values()) if (episode.raised && episode.signal) listener(episode.signal);
  }

  advanceTo(ms: number): void {
    for (let next = this.queue.popDue(ms); next; next = this.queue.popDue(ms)) {
      this.now = Math.max(this.now, next.at);
      next.run();
    }
    this.now = Math.max(this.now, ms);
    this.pruneStoppedTasks();
    this.arm();
  }

  snapshot(service: string): ServiceSnapshot | undefined {
    this.advanceTo(this.clock.nowMs());
    const s = this.services.get(service);
    if (!s) return undefined;
    const targets = s.lb ? countBy(s.tasks.flatMap((t) => (t.target ? [t.target.state] : []))) : undefined;
    return {
      name: s.name,
      desiredCount: s.desiredCount,
      runningCount: running(s.tasks).length,
      pendingCount: pending(s.tasks).length,
      healthyCount: healthy(s.tasks).length,
      deployments: s.deployments.map((d) => deploymentSummary(s, d)),
      ...(targets ? { targets } : {}),
      events: s.events.map((e) => ({ createdAt: new Date(e.createdAt), message: e.message })),
      taskDefinition: primaryOf(s).taskDef.arn,
    };
  }

  /**
   * Whether the service answers its health URL. Behind a load balancer: a healthy target answers;
   * with none healthy the ALB fails open to every registered target (ELBv2 User Guide), so a
   * ready application still answers. Without one: any healthy task.
   */
  isHealthy(service: string): boolean {
    this.advanceTo(this.clock.nowMs());
    const s = this.services.get(service);
    if (!s) return false;
    if (!s.lb) return healthy(s.tasks).length > 0;
    const registered = s.tasks.filter((t) => t.target && t.target.state !== 'draining');
    if (registered.some((t) => t.target!.state === 'healthy')) return true;
    return registered.some((t) => t.fate === 'healthy' && t.startedAt !== undefined && this.now >= t.startedAt + t.warmupMs);
  }

  steadySince(service: string): number | undefined {
    this.advanceTo(this.clock.nowMs());
    return this.services.get(service)?.steadySince;
  }

  /** The task definition the service's PRIMARY deployment runs (what DescribeServices' taskDefinition names). */
  primaryTaskDefinition(service: string): { arn: string; family: string; revision: number; image: string; status: 'ACTIVE' | 'INACTIVE' } | undefined {
    this.advanceTo(this.clock.nowMs());
    const s = this.services.get(service);
    if (!s) return undefined;
    const { arn, family, revision, container, status } = primaryOf(s).taskDef;
    return { arn, family, revision, image: container.image, status };
  }

  /**
   * A desired-count change another AWS service makes on the account's behalf (Application Auto
   * Scaling): the path UpdateService takes — checked, recorded, acted on at the scheduler's next
   * pass — and recorded in CloudTrail under the caller's service-linked role. Throws AwsServiceError
   * when ECS would refuse it.
   */
  setDesiredCount(service: string, desired: number, caller: ServiceCaller): void {
    this.advanceTo(this.clock.nowMs());
    const s = this.requireService(service);
    this.checkCapacity(s, desired);
    if (desired !== s.desiredCount) {
      if (desired === 0 && alive(s.tasks).length === 0) {
        this.countRestart(s);
        s.passDesired = 0;
      }
      s.desiredCount = desired;
      s.desiredHistory.push({ at: this.now, desired });
    }
    this.recordCall('UpdateService', { cluster: this.clusterName, service: s.name, desiredCount: desired }, [{ resourceType: 'AWS::ECS::Service', resourceName: s.name }], caller);
    this.requestPass(s);
  }

  /** A cpu-saturation fault's load at `atMs`: from the scenario start, for `durationSeconds` if set. */
  private saturationAt(s: SimService, atMs: number): Pick<ServiceSample, 'saturation'> {
    const fault = s.faults.find((f) => f.kind === 'cpu-saturation');
    if (!fault || atMs < this.faultsStartMs) return {};
    if (fault.durationSeconds !== undefined && atMs >= this.faultsStartMs + fault.durationSeconds * SECOND) return {};
    return { saturation: { loadFactor: fault.loadFactor } };
  }

  // ---------------------------------------------------------------- FleetReadings (ELBv2, CloudWatch)

  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  utilisationBaseline(service: string): { cpu: number; memory: number } | undefined {
    const s = this.services.get(service);
    return s ? { cpu: s.spec.cpuPercent, memory: s.spec.memoryPercent } : undefined;
  }

  loadBalancers(): LoadBalancerView[] {
    return [...this.services.values()].flatMap((s) =>
      s.lb
        ? [{ arn: s.lb.loadBalancerArn, name: s.lb.loadBalancerName, dnsName: `${s.lb.loadBalancerName}-${s.lb.loadBalancerArn.slice(-10)}.${this.region}.elb.amazonaws.com`, vpcId: VPC_ID, createdAt: new Date(s.createdAt) }]
        : [],
    );
  }

  targetGroups(): TargetGroupView[] {
    return [...this.services.values()].flatMap((s) =>
      s.lb
        ? [
            {
              arn: s.lb.targetGroupArn,
              name: s.lb.targetGroupName,
              service: s.name,
              loadBalancerArn: s.lb.loadBalancerArn,
              vpcId: VPC_ID,
              port: CONTAINER_PORT,
              healthCheck: {
                path: s.lb.healthCheckPath,
                intervalSeconds: s.lb.intervalSeconds,
                timeoutSeconds: s.lb.timeoutSeconds,
                healthyThreshold: s.lb.healthyThreshold,
                unhealthyThreshold: s.lb.unhealthyThreshold,
                matcher: '200',
              },
              deregistrationDelaySeconds: s.lb.deregistrationDelaySeconds,
            },
          ]
        : [],
    );
  }

  targetHealth(targetGroupArn: string): TargetHealthView[] | undefined {
    this.advanceTo(this.clock.nowMs());
    const s = [...this.services.values()].find((x) => x.lb?.targetGroupArn === targetGroupArn);
    if (!s) return undefined;
    return s.tasks
      .filter((t) => t.target)
      .map((t) => ({
        id: t.ip,
        port: CONTAINER_PORT,
        availabilityZone: t.availabilityZone,
        state: t.target!.state,
        ...(t.target!.reason ? { reason: t.target!.reason } : {}),
        ...(t.target!.description ? { description: t.target!.description } : {}),
      }));
  }

  serviceSample(service: string, atMs: number): ServiceSample | undefined {
    this.advanceTo(this.clock.nowMs());
    const s = this.services.get(service);
    if (!s || atMs > this.now || atMs < this.now - STOPPED_RETENTION_MS) return undefined;
    const all = [...s.tasks, ...s.stopped];
    const within = (from: number | undefined, to: number | undefined) => from !== undefined && from <= atMs && (to === undefined || atMs < to);
    const desired = [...s.desiredHistory].reverse().find((h) => h.at <= atMs)?.desired ?? s.desiredHistory[0]?.desired ?? 0;
    return {
      desired,
      running: all.filter((t) => within(t.startedAt, t.runningUntil)).length,
      pending: all.filter((t) => within(t.createdAt, t.startedAt ?? t.stoppingAt)).length,
      healthy: all.filter((t) => within(t.healthyAt, t.runningUntil)).length,
      failedLastMinute: s.stopped.filter((t) => !t.everHealthy && t.stoppedAt !== undefined && t.stoppedAt > atMs - 60 * SECOND && t.stoppedAt <= atMs).length,
      ...this.saturationAt(s, atMs),
      usualTasks: s.spec.desiredCount,
    };
  }

  targetSample(targetGroupArn: string, atMs: number): TargetSample | undefined {
    this.advanceTo(this.clock.nowMs());
    const s = [...this.services.values()].find((x) => x.lb?.targetGroupArn === targetGroupArn);
    if (!s || atMs > this.now || atMs < this.now - STOPPED_RETENTION_MS) return undefined;
    const sample: TargetSample = { healthy: 0, unhealthy: 0, other: 0 };
    for (const t of [...s.tasks, ...s.stopped]) {
      const target = t.target;
      if (!target || (target.removedAt !== undefined && target.removedAt <= atMs)) continue;
      const state = [...target.history].reverse().find((h) => h.at <= atMs)?.state;
      if (state === 'healthy') sample.healthy += 1;
      else if (state === 'unhealthy') sample.unhealthy += 1;
      else if (state !== undefined) sample.other += 1;
    }
    return sample;
  }

  // ---------------------------------------------------------------- setup

  private seedTrail(): void {
    for (const seed of this.scenario.cloudTrail) {
      const spec = this.scenario.services.find((s) => s.name === seed.service);
      const requestParameters: Body = seed.service ? { cluster: this.scenario.cluster, service: seed.service } : {};
      // A seeded UpdateService is the deployment now running, so it names the current revision.
      if (spec && seed.eventName === 'UpdateService') requestParameters.taskDefinition = `${familyOf(spec)}:${spec.previousRevisions + 1}`;
      this.trail.record({
        eventName: seed.eventName,
        username: seed.username,
        eventSource: eventSourceOf(seed.eventName),
        readOnly: /^(Describe|List|Get|Lookup)/.test(seed.eventName),
        resources: seed.service ? [{ resourceType: 'AWS::ECS::Service', resourceName: seed.service }] : [],
        requestParameters,
        eventTime: new Date(this.now - seed.minutesAgo * 60 * SECOND),
        seeded: true,
      });
    }
  }

  /**
   * What DescribeServices' events (the newest 100) still show of the revision before a recent
   * deployment: ECS posts "has reached a steady state" when a service settles and again every few
   * hours while it stays so (ECS Developer Guide, "Amazon ECS service event messages"); a revision
   * that could not keep its tasks up shows "unable to consistently start tasks" instead.
   */
  private seedPreviousHistory(s: SimService, deployedAt: number): void {
    if (s.spec.previousRevisions === 0 || deployedAt <= this.now - DEFAULT_DEPLOYED_AGO_MS) return;
    const before = deployedAt - DEFAULT_DEPLOYED_AGO_MS;
    // Ids of their own, without random draws: the scenario's other draws (start jitter, ids) stay as they were.
    let n = 0;
    const tag = ([...s.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 0xffffffff).toString(16).padStart(8, '0');
    const add = (message: string, at: number) => {
      n += 1;
      s.events.push({ id: `00000000-0000-4000-8000-${tag}${n.toString(16).padStart(4, '0')}`, createdAt: at, message });
      s.events.sort((a, b) => b.createdAt - a.createdAt);
      if (s.events.length > MAX_SERVICE_EVENTS) s.events.length = MAX_SERVICE_EVENTS;
    };
    if (s.spec.previousRevision === 'failing') {
      for (let h = 6; h >= 1; h--) {
        add(`(service ${s.name}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`, deployedAt - h * 20 * 60 * SECOND);
      }
      return;
    }
    const id = `ecs-svc/${String(9e18 + [...s.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1e15, 7)).slice(0, 19)}`;
    add(`(service ${s.name}) (deployment ${id}) deployment completed.`, before);
    for (let at = before; at < deployedAt; at += 6 * 60 * 60 * SECOND) add(`(service ${s.name}) has reached a steady state.`, at);
  }

  /** The running deployment dates from the latest seeded UpdateService of the service, if any. */
  private deployedAt(name: string): number {
    const updates = this.scenario.cloudTrail.filter((c) => c.service === name && c.eventName === 'UpdateService');
    if (updates.length === 0) return this.now - DEFAULT_DEPLOYED_AGO_MS;
    return this.now - Math.min(...updates.map((u) => u.minutesAgo)) * 60 * SECOND;
  }

  private createService(spec: ServiceSpec): void {
    const deployedAt = this.deployedAt(spec.name);
    const current = this.registerInitialRevisions(spec, deployedAt);
    const lb = spec.loadBalancer
      ? loadBalancing(spec.loadBalancer === true ? DEFAULT_LB : spec.loadBalancer, {
          region: this.region,
          accountId: this.accountId,
          service: spec.name,
          ids: [this.hex(16), this.hex(16)],
        })
      : undefined;
    const readyMs = (spec.startSeconds + spec.healthCheckSeconds) * SECOND;
    const steadyAt = deployedAt + readyMs + (lb ? (lb.intervalSeconds * lb.healthyThreshold + 5) * SECOND : 0);
    const primary: Deployment = {
      id: this.deploymentId(),
      status: 'PRIMARY',
      taskDef: current,
      createdAt: deployedAt,
      updatedAt: steadyAt,
      rolloutState: 'COMPLETED',
      rolloutStateReason: '',
      failedTasks: 0,
      hadHealthyTask: true,
    };
    primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
    const s: SimService = {
      spec,
      name: spec.name,
      arn: this.arn(`service/${this.scenario.cluster}/${spec.name}`),
      logGroup: spec.logGroup ?? `/ecs/${spec.name}`,
      desiredCount: spec.desiredCount,
      minimumHealthyPercent: spec.minimumHealthyPercent,
      maximumPercent: spec.maximumPercent,
      circuitBreaker: { ...spec.circuitBreaker },
      controller: spec.deploymentController,
      healthCheckGracePeriodSeconds: spec.healthCheckGracePeriodSeconds,
      lb,
      deployments: [primary],
      lastCompleted: { id: primary.id, taskDef: current },
      events: [],
      tasks: [],
      stopped: [],
      createdAt: deployedAt - DEFAULT_DEPLOYED_AGO_MS,
      faults: this.scenario.serviceFaults.filter((f) => f.service === spec.name),
      restarts: 0,
      consecutiveFailures: 0,
      nextLaunchAt: 0,
      unstableReported: false,
      passAt: undefined,
      passDesired: spec.desiredCount,
      steadySince: steadyAt,
      desiredHistory: [{ at: deployedAt, desired: spec.desiredCount }],
    };
    this.services.set(s.name, s);
    this.logs.ensureGroup(s.logGroup);
    const tasks = Array.from({ length: spec.desiredCount }, () => this.seedRunningTask(s, primary, deployedAt));
    if (tasks.length > 0) this.addEvent(s, startedMessage(s, tasks), deployedAt);
    if (lb && tasks.length > 0) this.addEvent(s, registeredMessage(s, tasks.length), deployedAt + readyMs);
    this.seedPreviousHistory(s, deployedAt);
    this.addEvent(s, `(service ${s.name}) (deployment ${primary.id}) deployment completed.`, steadyAt);
    this.addEvent(s, `(service ${s.name}) has reached a steady state.`, steadyAt);
    this.scheduleInitialFailures(s, tasks);
  }

  /** `previousRevisions` rollback targets, then the current revision the service runs. */
  private registerInitialRevisions(spec: ServiceSpec, deployedAt: number): TaskDef {
    const family = familyOf(spec);
    const total = spec.previousRevisions + 1;
    let current: TaskDef | undefined;
    for (let rev = 1; rev <= total; rev += 1) {
      const image = rev === total && spec.image ? spec.image : `${this.scenario.accountId}.dkr.ecr.${this.scenario.region}.amazonaws.com/${family}:v${rev}`;
      const registeredAt = rev === total ? deployedAt - 5 * 60 * SECOND : deployedAt - (total - rev) * DEFAULT_DEPLOYED_AGO_MS;
      current = this.addTaskDef(this.initialTaskDefRequest(spec, family, image), registeredAt);
    }
    return current!;
  }

  private initialTaskDefRequest(spec: ServiceSpec, family: string, image: string): Body {
    const group = spec.logGroup ?? `/ecs/${spec.name}`;
    return {
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: `arn:aws:iam::${this.scenario.accountId}:role/${family}-execution`,
      containerDefinitions: [
        {
          name: family,
          image,
          essential: true,
          portMappings: [{ containerPort: CONTAINER_PORT, hostPort: CONTAINER_PORT, protocol: 'tcp' }],
          // Tasks report HEALTHY only when a container health check is defined, as on ECS.
          ...(spec.containerHealthCheck
            ? {
                healthCheck: {
                  command: ['CMD-SHELL', `curl -f http://localhost:${CONTAINER_PORT}/health || exit 1`],
                  interval: CONTAINER_CHECK_INTERVAL_MS / SECOND,
                  timeout: 5,
                  retries: CONTAINER_CHECK_RETRIES,
                  startPeriod: Math.min(300, Math.round(spec.healthCheckSeconds)),
                },
              }
            : {}),
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': group, 'awslogs-region': this.scenario.region, 'awslogs-stream-prefix': 'ecs' },
          },
        },
      ],
    };
  }

  /** A task of the deployment the scenario starts with: already RUNNING, HEALTHY and registered. */
  private seedRunningTask(s: SimService, d: Deployment, launchedAt: number): Task {
    const task = this.newTask(s, d, 'healthy', s.spec.startSeconds * SECOND, s.spec.healthCheckSeconds * SECOND, launchedAt);
    const image = this.imageBehaviourOf(s, d.taskDef);
    if (image) task.image = image;
    task.pullStartedAt = launchedAt + PROVISIONING_MS;
    task.pullStoppedAt = task.startedAt = launchedAt + task.startMs;
    task.lastStatus = 'RUNNING';
    task.healthStatus = d.taskDef.containerHealthCheck ? 'HEALTHY' : 'UNKNOWN';
    const readyAt = task.startedAt + task.warmupMs;
    if (s.lb) {
      task.target = { state: 'healthy', history: planTarget(s.lb, task.startedAt, readyAt).map((step) => ({ at: step.at, state: step.state })) };
    }
    task.everHealthy = true;
    task.healthyAt = task.target ? task.target.history.at(-1)!.at : readyAt;
    this.log(s, task, `INFO Starting ${d.taskDef.container.name} (${d.taskDef.container.image})`, task.startedAt);
    this.log(s, task, 'INFO Health check passed: GET /health 200', readyAt);
    this.scheduleRoutineLog(s, task);
    return task;
  }

  /** crash-loop, bad-image and failing health checks are active from the scenario start: the running tasks fail first. */
  private scheduleInitialFailures(s: SimService, tasks: Task[]): void {
    const image = tasks[0]?.image;
    if (image) {
      this.scheduleInitialImageFate(s, tasks, image);
      return;
    }
    // Faults that leave tasks running (slow starts, load, a flood of WARN lines) fail none of them.
    const failing = s.faults.find((f) => f.kind !== 'slow-start' && f.kind !== 'cpu-saturation' && f.kind !== 'warn-flood');
    if (!failing) return;
    for (const task of tasks) {
      const at = this.now + failing.crashAfterSeconds * SECOND + Math.floor(this.rng() * INITIAL_FAILURE_JITTER_MS);
      if (failing.kind === 'failing-health-check') {
        task.fate = 'unhealthy';
        this.schedule(at, () => this.beginFailingChecks(s, task));
      } else {
        task.fate = 'crash';
        this.schedule(at, () => this.crash(s, task));
      }
    }
  }

  /**
   * The scenario starts with the service running an image listed in `images`: the image decides,
   * not the service's faults. A bad image is already pulled by the running tasks (the registry lost
   * it since), so only their replacements fail; a crashing or unhealthy one fails as a fault's
   * tasks do; one that raises an alarm starts raising errors now, as a fault starts playing out now.
   */
  private scheduleInitialImageFate(s: SimService, tasks: Task[], image: ImageBehaviour): void {
    if (image.kind === 'raises-alarm') {
      this.startAlarmEpisode(s, image, this.now + image.alarmAfterSeconds * SECOND);
      return;
    }
    if (image.kind === 'bad-image') return;
    for (const task of tasks) {
      const afterMs = image.kind === 'crash-loop' ? image.crashAfterSeconds * SECOND : INITIAL_IMAGE_FAILURE_MS;
      const at = this.now + afterMs + Math.floor(this.rng() * INITIAL_FAILURE_JITTER_MS);
      task.fate = IMAGE_FATES[image.kind];
      this.schedule(at, () => (image.kind === 'crash-loop' ? this.crash(s, task) : this.beginFailingChecks(s, task)));
    }
  }

  // ---------------------------------------------------------------- task lifecycle

  private schedule(at: number, step: () => void): void {
    this.queue.push(at, step);
    if (this.armed === undefined || at < this.armed.at) this.arm();
  }

  /** One passive stop on the clock, at the next queued step: the fleet then plays on time by itself. */
  private arm(): void {
    const head = this.queue.head();
    if (head === this.armed?.at) return;
    this.armed?.cancel();
    this.armed = head === undefined ? undefined : { at: head, cancel: this.clock.at(head, () => this.onStop()) };
  }

  private onStop(): void {
    this.armed = undefined;
    this.advanceTo(this.clock.nowMs());
  }

  /** The scheduler's next pass, coalesced: ECS looks at the service shortly after a change, not in the call. */
  private requestPass(s: SimService): void {
    if (s.passAt !== undefined) return;
    const at = this.now + SCHEDULER_DELAY_MS + Math.floor(this.rng() * SCHEDULER_JITTER_MS);
    s.passAt = at;
    this.schedule(at, () => {
      s.passAt = undefined;
      this.reconcile(s);
    });
  }

  private newTask(s: SimService, d: Deployment, fate: Fate, startMs: number, warmupMs: number, createdAt: number): Task {
    const id = this.hex(32);
    const task: Task = {
      id,
      arn: this.arn(`task/${this.scenario.cluster}/${id}`),
      deployment: d,
      fate,
      startMs,
      warmupMs,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      healthStatus: 'UNKNOWN',
      everHealthy: false,
      createdAt,
      ip: `10.0.${1 + Math.floor(this.rng() * 3)}.${2 + Math.floor(this.rng() * 250)}`,
      eniId: `eni-${this.hex(17)}`,
      availabilityZone: `${this.scenario.region}${this.pick(['a', 'b', 'c'])}`,
      version: 1,
    };
    s.tasks.push(task);
    return task;
  }

  private launch(s: SimService, d: Deployment): Task {
    const active = this.activeFaults(s);
    // An image's behaviour is intrinsic to it: it wins over the service's faults, and no restart clears it.
    const image = this.imageBehaviourOf(s, d.taskDef);
    const fate: Fate = image
      ? IMAGE_FATES[image.kind]
      : active.some((f) => f.kind === 'bad-image')
        ? 'bad-image'
        : active.some((f) => f.kind === 'crash-loop')
          ? 'crash'
          : active.some((f) => f.kind === 'failing-health-check')
            ? 'unhealthy'
            : 'healthy';
    const slow = active.find((f) => f.kind === 'slow-start')?.slowFactor ?? 1;
    // Real launches vary with image pulls and placement: up to +25% on the configured times.
    const jitter = 1 + START_JITTER * this.rng();
    const startMs = Math.round(s.spec.startSeconds * SECOND * slow * jitter);
    const warmupMs = Math.round(s.spec.healthCheckSeconds * SECOND * slow * jitter);
    const task = this.newTask(s, d, fate, startMs, warmupMs, this.now);
    if (image) task.image = image;
    this.emitTask(s, task);
    this.schedule(this.now + Math.min(PROVISIONING_MS, task.startMs), () => this.toPending(s, task));
    return task;
  }

  /** A fault applies to tasks launched before `survivesRestarts + 1` restarts have happened. */
  private activeFaults(s: SimService): ServiceFault[] {
    return s.faults.filter((fault) => {
      const survives = fault.survivesRestarts ?? (fault.kind === 'bad-image' ? 'always' : 0);
      return survives === 'always' || s.restarts < survives + 1;
    });
  }

  private crashAfterSeconds(s: SimService, task: Task): number {
    if (task.image?.kind === 'crash-loop') return task.image.crashAfterSeconds;
    return s.faults.find((f) => f.kind === 'crash-loop')?.crashAfterSeconds ?? 0;
  }

  /** The scenario's behaviour for the image an essential container of `taskDef` runs, if any. */
  private imageBehaviourOf(s: SimService, taskDef: TaskDef): ImageBehaviour | undefined {
    if (this.scenario.images.length === 0) return undefined;
    return this.scenario.images.find((b) => b.service === s.name && taskDef.essentialImages.includes(b.image));
  }

  private toPending(s: SimService, task: Task): void {
    if (task.lastStatus !== 'PROVISIONING' || task.desiredStatus !== 'RUNNING') return;
    setStatus(task, 'PENDING');
    task.pullStartedAt = this.now;
    this.emitTask(s, task);
    if (task.fate === 'bad-image') this.schedule(this.now + PULL_FAILURE_MS, () => this.failPull(s, task));
    else this.schedule(task.createdAt + task.startMs, () => this.toRunning(s, task));
  }

  private toRunning(s: SimService, task: Task): void {
    if (task.lastStatus !== 'PENDING' || task.desiredStatus !== 'RUNNING') return;
    setStatus(task, 'RUNNING');
    task.pullStoppedAt = task.startedAt = this.now;
    this.emitTask(s, task);
    const { name, image } = task.deployment.taskDef.container;
    this.log(s, task, `INFO Starting ${name} (${image})`);
    this.log(s, task, `INFO Listening on port ${CONTAINER_PORT}`);
    const readyAt = task.fate === 'healthy' ? this.now + task.warmupMs : undefined;
    if (s.lb) this.register(s, task, readyAt);
    if (task.fate === 'crash') this.schedule(this.now + this.crashAfterSeconds(s, task) * SECOND, () => this.crash(s, task));
    else if (task.fate === 'unhealthy') this.beginFailingChecks(s, task);
    else this.schedule(readyAt!, () => this.appReady(s, task));
    // Failing health checks are ignored until the grace period is over; then ECS acts on them.
    if (s.lb && s.healthCheckGracePeriodSeconds > 0) {
      this.schedule(this.now + s.healthCheckGracePeriodSeconds * SECOND, () => this.enforceHealth(s, task));
    }
    this.requestPass(s);
  }

  /** The application answers its health check: the container check passes from now on. */
  private appReady(s: SimService, task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    if (task.deployment.taskDef.containerHealthCheck) {
      task.healthStatus = 'HEALTHY';
      task.version += 1;
    }
    this.log(s, task, 'INFO Health check passed: GET /health 200');
    this.scheduleRoutineLog(s, task);
    this.noteHealth(s, task);
  }

  /** The application runs but cannot serve: its container check turns UNHEALTHY after its retries. */
  private beginFailingChecks(s: SimService, task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    task.fate = 'unhealthy';
    this.log(s, task, UNHEALTHY_ERROR);
    if (task.target) this.retarget(s, task, undefined);
    if (!task.deployment.taskDef.containerHealthCheck) return;
    const at = Math.max(this.now, (task.startedAt ?? this.now) + s.spec.healthCheckSeconds * SECOND) + CONTAINER_CHECK_RETRIES * CONTAINER_CHECK_INTERVAL_MS;
    this.schedule(at, () => {
      if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
      task.healthStatus = 'UNHEALTHY';
      task.version += 1;
      this.log(s, task, UNHEALTHY_ERROR);
      this.enforceHealth(s, task);
      this.requestPass(s);
    });
  }

  /** A running task's first moment counted healthy ends ECS's launch throttling. */
  private noteHealth(s: SimService, task: Task): void {
    if (task.everHealthy || !isHealthyTask(task)) {
      this.requestPass(s);
      return;
    }
    task.everHealthy = true;
    task.healthyAt = this.now;
    if (task.image?.kind === 'raises-alarm') this.imageServes(s, task.image);
    if (!task.deployment.hadHealthyTask) {
      task.deployment.hadHealthyTask = true;
      task.deployment.failedTasks = 0;
    }
    s.consecutiveFailures = 0;
    s.nextLaunchAt = 0;
    s.unstableReported = false;
    this.requestPass(s);
  }

  // ---------------------------------------------------------------- load balancer targets

  /** RUNNING tasks register into the target group and are judged by its health checks. */
  private register(s: SimService, task: Task, readyAt: number | undefined): void {
    task.target = { state: 'initial', history: [] };
    this.followPlan(s, task, readyAt);
  }

  /** The application's readiness changed (it broke): the target's future changes with it. */
  private retarget(s: SimService, task: Task, readyAt: number | undefined): void {
    const target = task.target!;
    // A fresh plan object: steps of the old plan see a different target and do nothing.
    task.target = { state: target.state, reason: target.reason, description: target.description, history: target.history };
    const plan = planTarget(s.lb!, this.now - 5 * SECOND, readyAt).filter((step) => step.state === 'unhealthy' || step.state === 'healthy');
    for (const step of plan) this.scheduleTargetStep(s, task, task.target, step);
  }

  private followPlan(s: SimService, task: Task, readyAt: number | undefined): void {
    const target = task.target!;
    const until = task.fate === 'crash' ? 'refused' : 'failing';
    for (const step of planTarget(s.lb!, this.now, readyAt, until)) this.scheduleTargetStep(s, task, target, step);
  }

  private scheduleTargetStep(s: SimService, task: Task, target: NonNullable<Task['target']>, step: ReturnType<typeof planTarget>[number]): void {
    const apply = () => {
      if (task.target !== target || target.state === 'draining' || task.desiredStatus !== 'RUNNING') return;
      setTarget(target, step.state, this.now, step.reason, step.description);
      if (step.state === 'unhealthy') this.enforceHealth(s, task);
      this.noteHealth(s, task);
    };
    if (step.at <= this.now) apply();
    else this.schedule(step.at, apply);
  }

  /**
   * After the grace period, ECS replaces a task whose target is unhealthy or whose container
   * health check says UNHEALTHY; it counts as a failed task of its deployment.
   */
  private enforceHealth(s: SimService, task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    if (this.now < (task.startedAt ?? this.now) + s.healthCheckGracePeriodSeconds * SECOND) return;
    if (task.target?.state === 'unhealthy') {
      const why = task.target.description ?? REASONS.failing.description;
      this.addEvent(s, `(service ${s.name}) (task ${task.id}) (port ${CONTAINER_PORT}) is unhealthy in (target-group ${s.lb!.targetGroupArn}) due to (reason ${why}).`);
      this.stop(s, task, 'ServiceSchedulerInitiated', `Task failed ELB health checks in (target-group ${s.lb!.targetGroupArn})`, this.drainMs(s));
      this.recordFailure(s, task);
    } else if (task.healthStatus === 'UNHEALTHY') {
      this.addEvent(s, `(service ${s.name}) (task ${task.id}) failed container health checks.`);
      this.stop(s, task, 'TaskFailedToStart', 'Task failed container health checks', this.drainMs(s));
      this.recordFailure(s, task);
    }
  }

  private drainMs(s: SimService): number {
    return (s.lb ? s.lb.deregistrationDelaySeconds : s.spec.drainSeconds) * SECOND;
  }

  // ---------------------------------------------------------------- raises-alarm images

  /** A task of a raises-alarm image serves: the first one starts the clock towards the alarm. */
  private imageServes(s: SimService, image: Extract<ImageBehaviour, { kind: 'raises-alarm' }>): void {
    const episode = this.alarmEpisodes.get(episodeKey(s, image));
    if (episode?.serving) return;
    this.startAlarmEpisode(s, image, this.now + image.alarmAfterSeconds * SECOND);
  }

  private startAlarmEpisode(s: SimService, image: Extract<ImageBehaviour, { kind: 'raises-alarm' }>, alarmAt: number): void {
    const key = episodeKey(s, image);
    const episode = this.alarmEpisodes.get(key) ?? { generation: 0, serving: false, raised: false };
    this.alarmEpisodes.set(key, episode);
    episode.serving = true;
    const generation = (episode.generation += 1);
    this.schedule(alarmAt, () => {
      // Only while the image still serves: rolled back in time, its errors never reached the threshold.
      if (episode.generation !== generation || this.servingTasksOf(s, image.image).length === 0) return;
      episode.raised = true;
      const value = ERRORS_PER_MINUTE_BASE + ERRORS_PER_MINUTE_PER_TASK * this.servingTasksOf(s, image.image).length;
      this.signalAlarm(s, image, true, Math.round(value * 10) / 10);
    });
  }

  /** Its last serving task gone, the image's errors stop; the alarm returns to OK two minutes later. */
  private imageStoppedServing(s: SimService, image: Extract<ImageBehaviour, { kind: 'raises-alarm' }>): void {
    const episode = this.alarmEpisodes.get(episodeKey(s, image));
    if (!episode?.serving || this.servingTasksOf(s, image.image).length > 0) return;
    episode.serving = false;
    const generation = (episode.generation += 1);
    if (!episode.raised) return;
    this.schedule(this.now + ALARM_RECOVERY_MS, () => {
      if (episode.generation !== generation || !episode.raised) return;
      episode.raised = false;
      this.signalAlarm(s, image, false, 0);
    });
  }

  /** Tasks of `image` serving traffic: running, not being stopped, and counted healthy once. */
  private servingTasksOf(s: SimService, image: string): Task[] {
    return s.tasks.filter((t) => t.image?.image === image && t.lastStatus === 'RUNNING' && t.desiredStatus === 'RUNNING' && t.everHealthy);
  }

  private signalAlarm(s: SimService, image: Extract<ImageBehaviour, { kind: 'raises-alarm' }>, breaching: boolean, value: number): void {
    // The datapoint that crossed is the last complete one-minute period.
    const datapointAt = Math.floor(this.now / (60 * SECOND)) * 60 * SECOND - 60 * SECOND;
    const signal: ImageAlarmSignal = { alarmName: image.alarmName, service: s.name, image: image.image, breaching, value, datapointAt };
    const episode = this.alarmEpisodes.get(episodeKey(s, image));
    if (episode) episode.signal = breaching ? signal : undefined;
    for (const listener of this.alarmListeners) listener(signal);
  }

  // ---------------------------------------------------------------- failures and stops

  private scheduleRoutineLog(s: SimService, task: Task): void {
    const at = this.now + Math.floor(LOG_INTERVAL_MS * (0.5 + this.rng()));
    this.schedule(at, () => {
      if (task.lastStatus !== 'RUNNING' || task.fate !== 'healthy') return;
      const warn = this.rng() < WARN_PROBABILITY;
      this.log(s, task, this.pick(warn ? ROUTINE_WARN : ROUTINE_INFO));
      this.scheduleRoutineLog(s, task);
    });
  }

  private crash(s: SimService, task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    const first = this.pick(CRASH_ERRORS);
    this.log(s, task, first);
    this.log(s, task, this.pick(CRASH_ERRORS.filter((m) => m !== first)));
    this.log(s, task, CRASH_EXIT);
    task.exitCode = 1;
    task.containerReason = 'Essential container in task exited';
    // The process is gone, so there is nothing to serve; behind a load balancer the target still
    // drains for the deregistration delay, and the task stays DEACTIVATING meanwhile.
    this.stop(s, task, 'EssentialContainerExited', 'Essential container in task exited', s.lb ? this.drainMs(s) : 0);
    this.recordFailure(s, task);
  }

  private failPull(s: SimService, task: Task): void {
    if (task.lastStatus !== 'PENDING' || task.desiredStatus !== 'RUNNING') return;
    const image = task.image?.image ?? task.deployment.taskDef.container.image;
    const reason = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: ${image}: not found: manifest unknown`;
    task.containerReason = reason;
    task.pullStoppedAt = this.now;
    this.stop(s, task, 'TaskFailedToStart', reason, 0);
    this.recordFailure(s, task);
  }

  /**
   * Stops a task the way ECS does: a serving task deregisters (DEACTIVATING, its target draining
   * for drainMs) before STOPPING; one that never ran just goes away.
   */
  private stop(s: SimService, task: Task, stopCode: string, reason: string, drainMs: number): void {
    task.desiredStatus = 'STOPPED';
    task.version += 1;
    task.stoppingAt = this.now;
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    if (task.lastStatus !== 'RUNNING') {
      setStatus(task, 'STOPPING');
      this.emitTask(s, task);
      this.schedule(this.now + UNSTARTED_STOP_MS, () => this.finishStop(s, task));
      return;
    }
    task.runningUntil = this.now;
    setStatus(task, 'DEACTIVATING');
    this.emitTask(s, task);
    if (task.image?.kind === 'raises-alarm') this.imageStoppedServing(s, task.image);
    const target = task.target;
    if (target) setTarget(target, 'draining', this.now, REASONS.draining.reason, REASONS.draining.description);
    this.schedule(this.now + drainMs, () => {
      if (target) target.removedAt = this.now;
      setStatus(task, 'STOPPING');
      this.emitTask(s, task);
      this.schedule(this.now + STOPPING_MS, () => this.finishStop(s, task));
    });
  }

  private finishStop(s: SimService, task: Task): void {
    setStatus(task, 'STOPPED');
    task.executionStoppedAt = task.stoppedAt = this.now;
    task.runningUntil ??= this.now;
    s.tasks = s.tasks.filter((t) => t !== task);
    s.stopped.push(task);
    this.emitTask(s, task);
    this.requestPass(s);
  }

  /**
   * Failed tasks throttle further launches (ECS's task-launch backoff), post the warning, and trip
   * the circuit breaker. `failedTasks` counts consecutive failures until the deployment has a task
   * running successfully; then it resets and stops being evaluated (ECS API Reference, Deployment).
   */
  private recordFailure(s: SimService, task: Task): void {
    const d = task.deployment;
    if (!d.hadHealthyTask) {
      d.failedTasks += 1;
      d.updatedAt = this.now;
    }
    s.consecutiveFailures += 1;
    const backoff = Math.min(LAUNCH_BACKOFF_CAP_MS, LAUNCH_BACKOFF_BASE_MS * 2 ** (s.consecutiveFailures - 1));
    s.nextLaunchAt = Math.max(s.nextLaunchAt, this.now + backoff);
    if (s.consecutiveFailures >= UNSTABLE_AFTER_FAILURES && !s.unstableReported) {
      s.unstableReported = true;
      this.addEvent(
        s,
        `(service ${s.name}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`,
      );
      this.emitAction(s, 'SERVICE_TASK_START_IMPAIRED');
    }
    if (s.circuitBreaker.enable && !d.hadHealthyTask && d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS' && d.failedTasks >= breakerThreshold(s.desiredCount)) {
      this.failDeployment(s, d);
    }
    this.requestPass(s);
  }

  /**
   * The deployment circuit breaker's verdict (ECS Developer Guide, "How the Amazon ECS deployment
   * circuit breaker detects failures"): FAILED, and with rollback a new deployment of the last
   * revision that completed.
   */
  private failDeployment(s: SimService, d: Deployment): void {
    d.rolloutState = 'FAILED';
    d.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    d.updatedAt = this.now;
    this.addEvent(s, `(service ${s.name}) (deployment ${d.id}) deployment failed: tasks failed to start.`);
    this.emitDeployment(s, d, 'SERVICE_DEPLOYMENT_FAILED', d.rolloutStateReason);
    if (!s.circuitBreaker.rollback) return;
    const rollback = this.startDeployment(s, s.lastCompleted.taskDef, `ECS deployment circuit breaker: rolling back to deploymentId ${s.lastCompleted.id}.`);
    this.countRestart(s);
    this.addEvent(s, `(service ${s.name}) rolling back to deployment ${rollback.id}.`);
  }

  private pruneStoppedTasks(): void {
    const cutoff = this.now - STOPPED_RETENTION_MS;
    for (const s of this.services.values()) {
      if (s.stopped.length > 0 && (s.stopped[0]!.stoppedAt ?? 0) < cutoff) s.stopped = s.stopped.filter((t) => (t.stoppedAt ?? 0) >= cutoff);
    }
  }

  // ---------------------------------------------------------------- the service scheduler

  private reconcile(s: SimService): void {
    this.noteScaleToZero(s);
    this.scaleInPrimary(s);
    this.replaceOldTasks(s);
    this.launchMissing(s);
    this.retireDrainedDeployments(s);
    this.completePrimary(s);
    this.trackSteadyState(s);
  }

  /** A scale to zero restarts the service only if the scheduler itself saw the desired count at 0. */
  private noteScaleToZero(s: SimService): void {
    if (s.desiredCount === 0 && s.passDesired > 0) this.countRestart(s);
    s.passDesired = s.desiredCount;
  }

  /** More primary tasks than desired (a scale-in): stop the least useful first — not yet running, unhealthy, newest. */
  private scaleInPrimary(s: SimService): void {
    const primary = primaryOf(s);
    const live = alive(tasksOf(s, primary));
    const surplus = live.length - s.desiredCount;
    if (surplus <= 0) return;
    const victims = [...live].sort(byStopPreference).slice(0, surplus);
    this.stopByScheduler(s, victims, primary);
  }

  /**
   * Rolling update: old deployments' tasks go as soon as doing so keeps at least
   * minimumHealthyPercent of the desired count healthy. Unhealthy ones go straight away.
   */
  private replaceOldTasks(s: SimService): void {
    const primary = primaryOf(s);
    const old = alive(s.tasks.filter((t) => t.deployment !== primary)).sort(byStopPreference);
    if (old.length === 0) return;
    const minHealthy = Math.ceil((s.desiredCount * s.minimumHealthyPercent) / 100);
    let healthyNow = healthy(s.tasks).length;
    const victims: Task[] = [];
    for (const task of old) {
      const isHealthy = isHealthyTask(task);
      if (isHealthy && healthyNow - 1 < minHealthy) break;
      if (isHealthy) healthyNow -= 1;
      victims.push(task);
    }
    if (victims.length > 0) this.stopByScheduler(s, victims, primary);
  }

  /** Launch the primary's missing tasks within maximumPercent, unless launches are being throttled. */
  private launchMissing(s: SimService): void {
    const primary = primaryOf(s);
    // A deployment the circuit breaker failed launches nothing more (with rollback, the rollback is PRIMARY).
    if (primary.rolloutState === 'FAILED') return;
    const missing = s.desiredCount - alive(tasksOf(s, primary)).length;
    const room = Math.floor((s.desiredCount * s.maximumPercent) / 100) - alive(s.tasks).length;
    const count = Math.min(missing, room);
    if (count <= 0) return;
    if (this.now < s.nextLaunchAt) {
      this.schedule(s.nextLaunchAt, () => this.requestPass(s));
      return;
    }
    const started = Array.from({ length: count }, () => this.launch(s, primary));
    this.addEvent(s, startedMessage(s, started));
  }

  private stopByScheduler(s: SimService, tasks: Task[], initiator: Deployment): void {
    const draining = tasks.filter((t) => t.lastStatus === 'RUNNING');
    for (const task of tasks) {
      if (task.lastStatus === 'RUNNING') this.log(s, task, 'INFO Received SIGTERM, draining connections');
      this.stop(s, task, 'ServiceSchedulerInitiated', `Scaling activity initiated by (deployment ${initiator.id})`, this.drainMs(s));
    }
    if (s.lb && draining.length > 0) {
      this.addEvent(s, `(service ${s.name}) deregistered ${draining.length} targets in (target-group ${s.lb.targetGroupArn})`);
      this.addEvent(s, `(service ${s.name}, taskSet ${draining[0]!.deployment.id}) has begun draining connections on ${draining.length} tasks.`);
    }
    this.addEvent(s, `(service ${s.name}) has stopped ${tasks.length} running tasks: ${tasks.map((t) => `(task ${t.id})`).join(' ')}.`);
  }

  /** An old deployment disappears (INACTIVE) once none of its tasks is left, draining included. */
  private retireDrainedDeployments(s: SimService): void {
    s.deployments = s.deployments.filter((d) => d.status === 'PRIMARY' || tasksOf(s, d).length > 0);
  }

  private completePrimary(s: SimService): void {
    const primary = primaryOf(s);
    if (primary.rolloutState !== 'IN_PROGRESS' || s.deployments.length > 1) return;
    const tasks = tasksOf(s, primary);
    if (healthy(tasks).length !== s.desiredCount || alive(tasks).length !== s.desiredCount) return;
    primary.rolloutState = 'COMPLETED';
    primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
    primary.updatedAt = this.now;
    s.lastCompleted = { id: primary.id, taskDef: primary.taskDef };
    if (s.lb && tasks.length > 0) this.addEvent(s, registeredMessage(s, tasks.length));
    this.addEvent(s, `(service ${s.name}) (deployment ${primary.id}) deployment completed.`);
    this.emitDeployment(s, primary, 'SERVICE_DEPLOYMENT_COMPLETED', primary.rolloutStateReason);
  }

  /** Steady: one deployment, running == desired, every running task healthy, none pending. */
  private trackSteadyState(s: SimService): void {
    const runningCount = running(s.tasks).length;
    const steady =
      s.deployments.length === 1 &&
      runningCount === s.desiredCount &&
      healthy(s.tasks).length === runningCount &&
      pending(s.tasks).length === 0 &&
      s.tasks.every((t) => t.desiredStatus === 'RUNNING');
    if (!steady) {
      s.steadySince = undefined;
    } else if (s.steadySince === undefined) {
      s.steadySince = this.now;
      this.addEvent(s, `(service ${s.name}) has reached a steady state.`);
      this.emitAction(s, 'SERVICE_STEADY_STATE');
    }
  }

  // ---------------------------------------------------------------- API

  private readonly operations: Record<string, (body: Body) => unknown> = {
    DescribeClusters: (b) => this.describeClusters(b),
    DescribeServices: (b) => this.describeServices(b),
    UpdateService: (b) => this.updateService(b),
    ListServices: (b) => this.listServices(b),
    ListTasks: (b) => this.listTasks(b),
    DescribeTasks: (b) => this.describeTasks(b),
    RegisterTaskDefinition: (b) => this.registerTaskDefinition(b),
    DescribeTaskDefinition: (b) => this.describeTaskDefinition(b),
    ListTaskDefinitions: (b) => this.listTaskDefinitions(b),
    DeregisterTaskDefinition: (b) => this.deregisterTaskDefinition(b),
    ListTaskDefinitionFamilies: (b) => this.listTaskDefinitionFamilies(b),
  };

  private describeClusters(body: Body): unknown {
    const names = optionalStringList(body, 'clusters') ?? ['default'];
    const clusters: unknown[] = [];
    const failures: unknown[] = [];
    for (const name of names) {
      if (this.isOurCluster(name)) clusters.push(this.clusterView());
      else failures.push({ arn: name.startsWith('arn:') ? name : this.arn(`cluster/${name}`), reason: 'MISSING' });
    }
    return { clusters, failures };
  }

  private clusterView(): Body {
    const all = [...this.services.values()];
    return {
      clusterArn: this.clusterArn,
      clusterName: this.scenario.cluster,
      status: 'ACTIVE',
      registeredContainerInstancesCount: 0,
      runningTasksCount: all.reduce((n, s) => n + running(s.tasks).length, 0),
      pendingTasksCount: all.reduce((n, s) => n + pending(s.tasks).length, 0),
      activeServicesCount: all.length,
      statistics: [],
      tags: [],
      settings: [{ name: 'containerInsights', value: 'disabled' }],
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
      defaultCapacityProviderStrategy: [],
    };
  }

  private describeServices(body: Body): unknown {
    this.requireCluster(body);
    const names = optionalStringList(body, 'services');
    if (!names || names.length === 0) throw invalidParameter('Services cannot be empty.');
    if (names.length > 10) throw invalidParameter('Services cannot contain more than 10 elements.');
    const services: unknown[] = [];
    const failures: unknown[] = [];
    for (const name of names) {
      const s = this.findService(name);
      if (s) services.push(serviceView(this.view, s));
      else failures.push({ arn: name.startsWith('arn:') ? name : this.arn(`service/${this.scenario.cluster}/${name}`), reason: 'MISSING' });
    }
    return { services, failures };
  }

  private listServices(body: Body): unknown {
    this.requireCluster(body);
    const { page, nextToken } = paginate([...this.services.values()].map((s) => s.arn), body, 100);
    return { serviceArns: page, ...(nextToken ? { nextToken } : {}) };
  }

  /**
   * UpdateService records what is wanted and returns: the service scheduler acts on its next pass.
   * A new deployment is listed at once (PRIMARY, IN_PROGRESS, no tasks yet), as on AWS.
   */
  private updateService(body: Body): unknown {
    this.requireCluster(body);
    const s = this.requireService(requiredString(body, 'service'));
    // Every parameter is checked before anything changes: a refused call leaves the service as it was.
    const desired = optionalDesiredCount(body);
    const td = optionalString(body, 'taskDefinition');
    const config = deploymentConfiguration(body);
    const force = optionalBoolean(body, 'forceNewDeployment') ?? false;
    if (desired !== undefined) this.checkCapacity(s, desired);
    this.refuseForController(s, { force, taskDefinition: td !== undefined, circuitBreaker: config.circuitBreaker !== undefined });
    const taskDef = td === undefined ? undefined : this.requireTaskDef(td, 'TaskDefinition not found.');
    // "You can't update an existing service to reference an INACTIVE task definition" (ECS API
    // Reference, DeregisterTaskDefinition); ECS answers ClientException "TaskDefinition is inactive"
    // (as the AWS CLI reports it). A service already on an INACTIVE revision keeps running it.
    if (taskDef?.status === 'INACTIVE') throw new AwsServiceError('ClientException', 'TaskDefinition is inactive');
    const primary = primaryOf(s);
    if (config.minimumHealthyPercent !== undefined) s.minimumHealthyPercent = config.minimumHealthyPercent;
    if (config.maximumPercent !== undefined) s.maximumPercent = config.maximumPercent;
    if (config.circuitBreaker !== undefined) s.circuitBreaker = config.circuitBreaker;
    if (desired !== undefined && desired !== s.desiredCount) {
      // Scaling to zero a service with no task alive leaves the scheduler nothing to stop: done at once.
      if (desired === 0 && alive(s.tasks).length === 0) {
        this.countRestart(s);
        s.passDesired = 0;
      }
      s.desiredCount = desired;
      s.desiredHistory.push({ at: this.now, desired });
    }
    if (force || (taskDef !== undefined && taskDef !== primary.taskDef)) {
      this.startDeployment(s, taskDef ?? primary.taskDef);
      this.countRestart(s);
    }
    this.recordCall('UpdateService', body, [{ resourceType: 'AWS::ECS::Service', resourceName: s.name }]);
    this.requestPass(s);
    return { service: serviceView(this.view, s) };
  }

  /**
   * The simulator's own bound, below AWS's 5,000 tasks per service: its work grows faster than the
   * task count (5,000 tasks took 30 s of real time per 5 s simulated), so a fleet past
   * MAX_FLEET_TASKS would stall every caller. Refused as ECS refuses a desired count over a quota.
   */
  private checkCapacity(s: SimService, desired: number): void {
    const others = [...this.services.values()].reduce((n, x) => (x === s ? n : n + x.desiredCount), 0);
    if (others + desired > MAX_FLEET_TASKS) {
      throw invalidParameter(`Desired count exceeds limit. The sandbox simulates at most ${MAX_FLEET_TASKS} tasks across the cluster's services; ${others} are desired by the others.`);
    }
  }

  /**
   * CODE_DEPLOY and EXTERNAL services take only a few changes through UpdateService; a new
   * deployment goes through CodeDeploy or the external controller (ECS API Reference, UpdateService).
   */
  private refuseForController(s: SimService, change: { force: boolean; taskDefinition: boolean; circuitBreaker: boolean }): void {
    if (s.controller === 'ECS') return;
    const how = s.controller === 'CODE_DEPLOY' ? 'Use AWS CodeDeploy to trigger a new deployment.' : 'Create a new task set.';
    if (change.taskDefinition) throw invalidParameter(`Unable to update task definition on services with a ${s.controller} deployment controller. ${how}`);
    if (change.force) throw invalidParameter(`Cannot force a new deployment on services with a ${s.controller} deployment controller. ${how}`);
    if (change.circuitBreaker) throw invalidParameter(`The deployment circuit breaker is not supported on services with a ${s.controller} deployment controller.`);
  }

  /** A restart also ends launch throttling, as a new deployment does on ECS. */
  private countRestart(s: SimService): void {
    s.restarts += 1;
    s.consecutiveFailures = 0;
    s.nextLaunchAt = 0;
    s.unstableReported = false;
  }

  private startDeployment(s: SimService, taskDef: TaskDef, reason?: string): Deployment {
    for (const d of s.deployments) d.status = 'ACTIVE';
    const d: Deployment = {
      id: this.deploymentId(),
      status: 'PRIMARY',
      taskDef,
      createdAt: this.now,
      updatedAt: this.now,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: '',
      failedTasks: 0,
      hadHealthyTask: false,
    };
    d.rolloutStateReason = reason ?? `ECS deployment ${d.id} in progress.`;
    s.deployments.unshift(d);
    this.emitDeployment(s, d, 'SERVICE_DEPLOYMENT_IN_PROGRESS', d.rolloutStateReason);
    return d;
  }

  private listTasks(body: Body): unknown {
    this.requireCluster(body);
    const serviceName = optionalString(body, 'serviceName');
    const family = optionalString(body, 'family');
    const startedBy = optionalString(body, 'startedBy');
    const desiredStatus = optionalString(body, 'desiredStatus') ?? 'RUNNING';
    if (!['RUNNING', 'PENDING', 'STOPPED'].includes(desiredStatus)) throw invalidParameter(`Invalid desiredStatus: ${desiredStatus}`);
    const services = serviceName === undefined ? [...this.services.values()] : [this.requireService(serviceName)];
    const arns = services
      .flatMap((s) => [...s.tasks, ...s.stopped])
      .filter(
        (t) =>
          t.desiredStatus === desiredStatus &&
          (family === undefined || t.deployment.taskDef.family === family) &&
          (startedBy === undefined || t.deployment.id === startedBy),
      )
      .map((t) => t.arn);
    const { page, nextToken } = paginate(arns, body, 100);
    return { taskArns: page, ...(nextToken ? { nextToken } : {}) };
  }

  private describeTasks(body: Body): unknown {
    this.requireCluster(body);
    const ids = optionalStringList(body, 'tasks');
    if (!ids || ids.length === 0) throw invalidParameter('Tasks cannot be empty.');
    if (ids.length > 100) throw invalidParameter('Tasks cannot contain more than 100 elements.');
    const all = [...this.services.values()].flatMap((s) => [...s.tasks, ...s.stopped].map((t) => ({ s, t })));
    const tasks: unknown[] = [];
    const failures: unknown[] = [];
    for (const id of ids) {
      const found = all.find(({ t }) => t.arn === id || t.id === id);
      if (found) tasks.push(taskView(this.view, found.s, found.t));
      else failures.push({ arn: id.startsWith('arn:') ? id : this.arn(`task/${this.scenario.cluster}/${id}`), reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  private registerTaskDefinition(body: Body): unknown {
    const td = this.addTaskDef(body, this.now);
    this.recordCall('RegisterTaskDefinition', body, [{ resourceType: 'AWS::ECS::TaskDefinition', resourceName: `${td.family}:${td.revision}` }]);
    return { taskDefinition: td.definition, tags: td.tags };
  }

  private describeTaskDefinition(body: Body): unknown {
    const td = this.requireTaskDef(requiredString(body, 'taskDefinition'), 'Unable to describe task definition.');
    return { taskDefinition: td.definition, tags: td.tags };
  }

  /**
   * ECS API Reference, ListTaskDefinitions: `status` filters revisions (default ACTIVE); `sort` ASC
   * lists by family name, then revision numerically (newest last), DESC reverses both; despite its
   * name `familyPrefix` is "the full family name"; `maxResults` 1-100, then a `nextToken`.
   * INACTIVE revisions "remain discoverable in your account indefinitely" (DeregisterTaskDefinition).
   * Nothing is ever DELETE_IN_PROGRESS here: the sandbox has no DeleteTaskDefinitions.
   */
  private listTaskDefinitions(body: Body): unknown {
    const family = optionalString(body, 'familyPrefix');
    const status = optionalString(body, 'status') ?? 'ACTIVE';
    const sort = optionalString(body, 'sort') ?? 'ASC';
    if (!['ASC', 'DESC'].includes(sort)) throw invalidParameter(`Invalid sort: ${sort}`);
    if (!['ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS'].includes(status)) throw invalidParameter(`Invalid status: ${status}`);
    const families = [...this.taskDefs.keys()].filter((f) => family === undefined || f === family).sort(byCodeUnit);
    // Revisions are kept ascending by number (10 after 9), so only the family order needs sorting.
    const arns = families.flatMap((f) => this.taskDefs.get(f)!.filter((t) => t.status === status).map((t) => t.arn));
    const { page, nextToken } = paginate(sort === 'DESC' ? arns.reverse() : arns, body, 100);
    return { taskDefinitionArns: page, ...(nextToken ? { nextToken } : {}) };
  }

  /**
   * ECS API Reference, ListTaskDefinitionFamilies: `familyPrefix` is a real prefix here; `status`
   * ACTIVE keeps families with an ACTIVE revision, INACTIVE those without, ALL (the default) both.
   */
  private listTaskDefinitionFamilies(body: Body): unknown {
    const prefix = optionalString(body, 'familyPrefix') ?? '';
    const status = optionalString(body, 'status') ?? 'ALL';
    if (!['ACTIVE', 'INACTIVE', 'ALL'].includes(status)) throw invalidParameter(`Invalid status: ${status}`);
    const families = [...this.taskDefs.entries()]
      .filter(([name, revisions]) => {
        if (!name.startsWith(prefix)) return false;
        const active = revisions.some((t) => t.status === 'ACTIVE');
        return status === 'ALL' || (status === 'ACTIVE') === active;
      })
      .map(([name]) => name)
      .sort(byCodeUnit);
    const { page, nextToken } = paginate(families, body, 100);
    return { families: page, ...(nextToken ? { nextToken } : {}) };
  }

  /**
   * ECS API Reference, DeregisterTaskDefinition: "You must specify a revision" (family:revision or
   * the full ARN); the revision becomes INACTIVE and is returned. Tasks and services using it keep
   * running. Deregistering it again succeeds and returns it unchanged (evergreen-ci/cocoa's
   * integration tests against ECS deregister the same revision twice without error).
   */
  private deregisterTaskDefinition(body: Body): unknown {
    const ref = requiredString(body, 'taskDefinition');
    const arnPrefix = this.arn('task-definition/');
    const short = ref.startsWith(arnPrefix) ? ref.slice(arnPrefix.length) : ref;
    // ECS's exact wording for a bare family was not findable in its documentation; this says what it refuses.
    if (!short.includes(':')) {
      throw new AwsServiceError('ClientException', `A revision must be specified to deregister a task definition: use family:revision or the full ARN, not "${ref}".`);
    }
    // The wording for a revision that does not exist was not findable either.
    const td = this.findTaskDef(ref);
    if (!td) throw new AwsServiceError('ClientException', 'The specified task definition does not exist.');
    if (td.status === 'ACTIVE') {
      td.status = 'INACTIVE';
      td.deregisteredAt = this.now;
      td.definition.status = 'INACTIVE';
      td.definition.deregisteredAt = new Date(this.now);
    }
    this.recordCall('DeregisterTaskDefinition', body, [{ resourceType: 'AWS::ECS::TaskDefinition', resourceName: `${td.family}:${td.revision}` }]);
    return { taskDefinition: td.definition };
  }

  // ---------------------------------------------------------------- task definitions

  private addTaskDef(request: Body, registeredAt: number): TaskDef {
    const family = requiredString(request, 'family');
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new AwsServiceError('ClientException', 'Family must be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.');
    }
    const containers = validateContainers(request.containerDefinitions);
    const revisions = this.taskDefs.get(family) ?? [];
    const revision = (revisions.at(-1)?.revision ?? 0) + 1;
    const arn = this.arn(`task-definition/${family}:${revision}`);
    // Read-only members a copied definition may carry (DescribeTaskDefinition's output) are ECS's to set.
    const { tags, deregisteredAt: _deregisteredAt, ...rest } = request;
    const definition: Body = {
      networkMode: 'awsvpc',
      volumes: [],
      placementConstraints: [],
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      ...rest,
      taskDefinitionArn: arn,
      family,
      revision,
      containerDefinitions: containers,
      status: 'ACTIVE',
      requiresAttributes: [],
      compatibilities: ['EC2', 'FARGATE'],
      registeredAt: new Date(registeredAt),
      registeredBy: `arn:aws:sts::${this.scenario.accountId}:assumed-role/${CALLER}/${CALLER}`,
    };
    const essential = containers.filter((c) => c.essential !== false);
    const first = essential[0] ?? containers[0]!;
    const containerHealthCheck = essential.some((c) => c.healthCheck !== undefined && c.healthCheck !== null);
    const td: TaskDef = {
      arn,
      family,
      revision,
      container: { name: String(first.name), image: String(first.image) },
      essentialImages: essential.map((c) => String(c.image)),
      status: 'ACTIVE',
      containerHealthCheck,
      definition,
      tags: Array.isArray(tags) ? tags : [],
    };
    this.taskDefs.set(family, [...revisions, td]);
    return td;
  }

  /**
   * family:revision or the full ARN (ACTIVE or INACTIVE), or a bare family: its latest ACTIVE
   * revision ("If a revision isn't specified, the latest ACTIVE revision is used", ECS API
   * Reference, UpdateService and DescribeTaskDefinition).
   */
  private findTaskDef(ref: string): TaskDef | undefined {
    const arnPrefix = this.arn('task-definition/');
    if (ref.startsWith('arn:') && !ref.startsWith(arnPrefix)) return undefined;
    const short = ref.startsWith(arnPrefix) ? ref.slice(arnPrefix.length) : ref;
    const [family = '', rev] = short.split(':');
    const revisions = this.taskDefs.get(family) ?? [];
    return rev === undefined ? revisions.findLast((t) => t.status === 'ACTIVE') : revisions.find((t) => String(t.revision) === rev);
  }

  private requireTaskDef(ref: string, message: string): TaskDef {
    const td = this.findTaskDef(ref);
    if (!td) throw new AwsServiceError('ClientException', message);
    return td;
  }

  // ---------------------------------------------------------------- lookups

  private isOurCluster(ref: string): boolean {
    return ref === this.scenario.cluster || ref === this.clusterArn;
  }

  private requireCluster(body: Body): void {
    const cluster = optionalString(body, 'cluster') ?? 'default';
    if (!this.isOurCluster(cluster)) throw new AwsServiceError('ClusterNotFoundException', 'Cluster not found.');
  }

  private findService(ref: string): SimService | undefined {
    return [...this.services.values()].find((s) => s.name === ref || s.arn === ref);
  }

  private requireService(ref: string): SimService {
    const s = this.findService(ref);
    if (!s) throw new AwsServiceError('ServiceNotFoundException', 'Service not found.');
    return s;
  }

  // ---------------------------------------------------------------- events out

  private emit(event: EcsEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private emitTask(s: SimService, task: Task): void {
    if (this.listeners.length === 0) return;
    this.emit(taskStateChange(this.now, taskView(this.view, s, task)));
  }

  private emitDeployment(s: SimService, d: Deployment, name: DeploymentEventName, reason: string): void {
    this.emit(deploymentStateChange(this.now, s.arn, name, d.id, reason));
  }

  private emitAction(s: SimService, name: ServiceActionName): void {
    this.emit(serviceAction(this.now, s.arn, this.clusterArn, name));
  }

  // ---------------------------------------------------------------- small helpers

  private recordCall(eventName: string, requestParameters: Body, resources: { resourceType: string; resourceName: string }[], caller?: ServiceCaller): void {
    this.trail.record({ eventName, username: caller?.username ?? CALLER, ...(caller ? { invokedBy: caller.invokedBy } : {}), eventSource: 'ecs.amazonaws.com', readOnly: false, resources, requestParameters, eventTime: new Date(this.now) });
  }

  private addEvent(s: SimService, message: string, at = this.now): void {
    s.events.unshift({ id: this.uuid(), createdAt: at, message });
    // Back-dated setup events can arrive out of order; keep newest first.
    s.events.sort((a, b) => b.createdAt - a.createdAt);
    if (s.events.length > MAX_SERVICE_EVENTS) s.events.length = MAX_SERVICE_EVENTS;
  }

  private log(s: SimService, task: Task, message: string, at = this.now): void {
    this.logs.write(s.logGroup, `ecs/${task.deployment.taskDef.container.name}/${task.id}`, at, message);
  }

  private arn(resource: string): string {
    return `arn:aws:ecs:${this.scenario.region}:${this.scenario.accountId}:${resource}`;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng() * items.length)]!;
  }

  private hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.rng() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  private uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** ECS deployment ids: "ecs-svc/" and 19 digits. */
  private deploymentId(): string {
    let digits = String(1 + Math.floor(this.rng() * 9));
    while (digits.length < 19) digits += String(Math.floor(this.rng() * 10));
    return `ecs-svc/${digits}`;
  }
}

const VPC_ID = 'vpc-0a1b2c3d4e5f60000';
const DEFAULT_LB = {
  healthCheckPath: '/health',
  intervalSeconds: 30,
  timeoutSeconds: 5,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
  deregistrationDelaySeconds: 300,
};

/**
 * The circuit breaker's failure threshold: half the desired count, at least 3 and at most 200
 * (ECS Developer Guide, "How the Amazon ECS deployment circuit breaker detects failures").
 */
export function breakerThreshold(desired: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desired * 0.5)));
}

function startedMessage(s: SimService, tasks: Task[]): string {
  return `(service ${s.name}) has started ${tasks.length} tasks: ${tasks.map((t) => `(task ${t.id})`).join(' ')}.`;
}

function registeredMessage(s: SimService, count: number): string {
  return `(service ${s.name}) registered ${count} targets in (target-group ${s.lb!.targetGroupArn})`;
}

function episodeKey(s: SimService, image: ImageBehaviour): string {
  return `${s.name}\u0000${image.image}`;
}

/** ECS lists family names in code-unit order (Array#sort's default), not by locale. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Seeded history may name other services' calls; pick the source CloudTrail would show. */
function eventSourceOf(eventName: string): string {
  if (/Function|Alias|Concurrency/.test(eventName)) return 'lambda.amazonaws.com';
  if (/Table|Item/.test(eventName)) return 'dynamodb.amazonaws.com';
  if (/Alarm|Metric/.test(eventName)) return 'monitoring.amazonaws.com';
  if (/SecurityGroup|Instance/.test(eventName)) return 'ec2.amazonaws.com';
  return 'ecs.amazonaws.com';
}
