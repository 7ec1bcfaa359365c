import type { CloudTrailStore } from '#sandbox/cloudtrail';
import type { VirtualClock } from '#sandbox/clock';
import { AwsServiceError, type AwsJsonService } from '#sandbox/http';
import type { LogStore } from '#sandbox/logs';
import type { Scenario, ServiceFault, ServiceSpec } from '#sandbox/scenario';

// ---- Timing (virtual ms). Service-specific times (start, health check, drain) come from the scenario.
const SECOND = 1000;
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
/** Task-launch throttling after consecutive failures: 5 s, 10 s, 20 s, 40 s, then 60 s. */
const LAUNCH_BACKOFF_BASE_MS = 5 * SECOND;
const LAUNCH_BACKOFF_CAP_MS = 60 * SECOND;
/** Consecutive failed tasks before ECS posts "unable to consistently start tasks". */
const UNSTABLE_AFTER_FAILURES = 3;
/** Scenario-start faults hit the already-running tasks a little apart, not in lock step. */
const INITIAL_FAILURE_JITTER_MS = 3 * SECOND;
/** Healthy tasks write a routine log line about once a minute; some are WARNs. */
const LOG_INTERVAL_MS = 60 * SECOND;
const WARN_PROBABILITY = 0.15;
/** DescribeServices returns at most the 100 most recent service events. */
const MAX_SERVICE_EVENTS = 100;
/** Without a seeded UpdateService, the running deployment is a day old. */
const DEFAULT_DEPLOYED_AGO_MS = 24 * 60 * 60 * SECOND;

/** Who the sandbox says made the calls it records in CloudTrail (the workflow's Lambda role). */
const CALLER = 'incident-flows';
const CONTAINER_PORT = 8080;

const CRASH_ERRORS = [
  'ERROR Unhandled exception in request handler: ECONNREFUSED 10.0.3.12:5432',
  'ERROR Health check failed: upstream timeout',
  'ERROR Database connection pool exhausted: timed out acquiring a connection after 5000 ms',
];
const CRASH_EXIT = 'ERROR Process exited with code 1';
const ROUTINE_INFO = ['INFO GET /api/v1/status 200 14ms', 'INFO Processed 120 requests in the last minute', 'INFO GET /health 200 2ms'];
const ROUTINE_WARN = [
  'WARN Slow response from governance Lambda: 1840 ms',
  'WARN Connection pool 80% utilised',
  'WARN Retrying DynamoDB request after ProvisionedThroughputExceededException (attempt 2)',
];

type LastStatus = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'STOPPED';
type Fate = 'healthy' | 'crash' | 'bad-image';
type Body = Record<string, unknown>;

interface TaskDef {
  arn: string;
  family: string;
  revision: number;
  container: { name: string; image: string };
  /** The TaskDefinition object as DescribeTaskDefinition returns it. */
  definition: Body;
  tags: unknown[];
}

interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDef: TaskDef;
  createdAt: number;
  updatedAt: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED';
  failedTasks: number;
}

interface Task {
  id: string;
  arn: string;
  deployment: Deployment;
  fate: Fate;
  /** Launch to RUNNING (slow-start stretches it). */
  startMs: number;
  lastStatus: LastStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  healthStatus: 'UNKNOWN' | 'HEALTHY';
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  exitCode?: number;
  containerReason?: string;
  ip: string;
  eniId: string;
  availabilityZone: string;
  version: number;
}

interface SimService {
  spec: ServiceSpec;
  name: string;
  arn: string;
  logGroup: string;
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  /** PRIMARY first. */
  deployments: Deployment[];
  /** Newest first, as DescribeServices returns them. */
  events: { id: string; createdAt: number; message: string }[];
  /** Tasks not yet STOPPED: all the scheduler has to look at. */
  tasks: Task[];
  /** STOPPED tasks, kept for ListTasks/DescribeTasks until the retention runs out. */
  stopped: Task[];
  createdAt: number;
  /** Faults on this service; a crash and a slow start may combine. */
  faults: ServiceFault[];
  /** New deployments and scale-to-zero since the scenario started; faults clear after enough of them. */
  restarts: number;
  consecutiveFailures: number;
  nextLaunchAt: number;
  unstableReported: boolean;
  wakeAt: number | undefined;
  steadySince: number | undefined;
}

export interface ServiceSnapshot {
  name: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  healthyCount: number;
  deployments: { id: string; status: string; taskDefinition: string; desiredCount: number; runningCount: number; pendingCount: number; rolloutState: string }[];
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

  popDue(ms: number): { at: number; run: () => void } | undefined {
    return this.items.length > 0 && this.items[0]!.at <= ms ? this.items.shift() : undefined;
  }
}

/**
 * A lazily simulated ECS cluster on the virtual clock. Nothing runs in the background: every
 * API call (and the glue) first calls advanceTo(now), which plays the queued lifecycle steps
 * (task starts, health checks, crashes, drains) in time order, each followed by a pass of the
 * service scheduler (`reconcile`), as ECS's own scheduler reacts to task state changes.
 */
export class EcsFleet {
  private readonly scenario: Scenario;
  private readonly clock: VirtualClock;
  private readonly trail: CloudTrailStore;
  private readonly logs: LogStore;
  private readonly rng: () => number;
  private readonly clusterArn: string;
  private readonly services = new Map<string, SimService>();
  /** family -> revisions, ascending. */
  private readonly taskDefs = new Map<string, TaskDef[]>();
  private readonly queue = new EventQueue();
  private now: number;

  constructor(opts: { scenario: Scenario; clock: VirtualClock; trail: CloudTrailStore; logs: LogStore; rng: () => number }) {
    this.scenario = opts.scenario;
    this.clock = opts.clock;
    this.trail = opts.trail;
    this.logs = opts.logs;
    this.rng = opts.rng;
    this.now = opts.clock.nowMs();
    this.clusterArn = this.arn(`cluster/${this.scenario.cluster}`);
    this.seedTrail();
    for (const spec of this.scenario.services) this.createService(spec);
  }

  handle: AwsJsonService = (operation, body) => {
    this.advanceTo(this.clock.nowMs());
    const op = this.operations[operation];
    if (!op) throw new AwsServiceError('UnknownOperationException', `sandbox ECS does not implement ${operation}`);
    return op(body);
  };

  advanceTo(ms: number): void {
    for (let next = this.queue.popDue(ms); next; next = this.queue.popDue(ms)) {
      this.now = Math.max(this.now, next.at);
      next.run();
    }
    this.now = Math.max(this.now, ms);
    this.pruneStoppedTasks();
  }

  snapshot(service: string): ServiceSnapshot | undefined {
    this.advanceTo(this.clock.nowMs());
    const s = this.services.get(service);
    if (!s) return undefined;
    return {
      name: s.name,
      desiredCount: s.desiredCount,
      runningCount: running(s.tasks).length,
      pendingCount: pending(s.tasks).length,
      healthyCount: healthy(s.tasks).length,
      deployments: s.deployments.map((d) => {
        const tasks = tasksOf(s, d);
        return {
          id: d.id,
          status: d.status,
          taskDefinition: d.taskDef.arn,
          desiredCount: this.deploymentDesired(s, d),
          runningCount: running(tasks).length,
          pendingCount: pending(tasks).length,
          rolloutState: d.rolloutState,
        };
      }),
      events: s.events.map((e) => ({ createdAt: new Date(e.createdAt), message: e.message })),
      taskDefinition: primaryOf(s).taskDef.arn,
    };
  }

  isHealthy(service: string): boolean {
    this.advanceTo(this.clock.nowMs());
    const s = this.services.get(service);
    return s !== undefined && healthy(s.tasks).length > 0;
  }

  steadySince(service: string): number | undefined {
    this.advanceTo(this.clock.nowMs());
    return this.services.get(service)?.steadySince;
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

  /** The running deployment dates from the latest seeded UpdateService of the service, if any. */
  private deployedAt(name: string): number {
    const updates = this.scenario.cloudTrail.filter((c) => c.service === name && c.eventName === 'UpdateService');
    if (updates.length === 0) return this.now - DEFAULT_DEPLOYED_AGO_MS;
    return this.now - Math.min(...updates.map((u) => u.minutesAgo)) * 60 * SECOND;
  }

  private createService(spec: ServiceSpec): void {
    const deployedAt = this.deployedAt(spec.name);
    const current = this.registerInitialRevisions(spec, deployedAt);
    const steadyAt = deployedAt + (spec.startSeconds + spec.healthCheckSeconds) * SECOND;
    const primary: Deployment = {
      id: this.deploymentId(),
      status: 'PRIMARY',
      taskDef: current,
      createdAt: deployedAt,
      updatedAt: steadyAt,
      rolloutState: 'COMPLETED',
      failedTasks: 0,
    };
    const s: SimService = {
      spec,
      name: spec.name,
      arn: this.arn(`service/${this.scenario.cluster}/${spec.name}`),
      logGroup: spec.logGroup ?? `/ecs/${spec.name}`,
      desiredCount: spec.desiredCount,
      minimumHealthyPercent: spec.minimumHealthyPercent,
      maximumPercent: spec.maximumPercent,
      deployments: [primary],
      events: [],
      tasks: [],
      stopped: [],
      createdAt: deployedAt - DEFAULT_DEPLOYED_AGO_MS,
      faults: this.scenario.serviceFaults.filter((f) => f.service === spec.name),
      restarts: 0,
      consecutiveFailures: 0,
      nextLaunchAt: 0,
      unstableReported: false,
      wakeAt: undefined,
      steadySince: steadyAt,
    };
    this.services.set(s.name, s);
    this.logs.ensureGroup(s.logGroup);
    const tasks = Array.from({ length: spec.desiredCount }, () => this.seedRunningTask(s, primary, deployedAt));
    if (tasks.length > 0) this.addEvent(s, startedMessage(s, tasks), deployedAt);
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
          // Tasks report HEALTHY only because a container health check is defined, as on ECS.
          healthCheck: {
            command: ['CMD-SHELL', `curl -f http://localhost:${CONTAINER_PORT}/health || exit 1`],
            interval: 10,
            timeout: 5,
            retries: 3,
            startPeriod: Math.round(spec.healthCheckSeconds),
          },
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': spec.logGroup ?? `/ecs/${spec.name}`, 'awslogs-region': this.scenario.region, 'awslogs-stream-prefix': 'ecs' },
          },
        },
      ],
    };
  }

  /** A task of the deployment the scenario starts with: already RUNNING and HEALTHY. */
  private seedRunningTask(s: SimService, d: Deployment, launchedAt: number): Task {
    const task = this.newTask(s, d, 'healthy', s.spec.startSeconds * SECOND, launchedAt);
    task.pullStartedAt = launchedAt + PROVISIONING_MS;
    task.pullStoppedAt = task.startedAt = launchedAt + task.startMs;
    task.lastStatus = 'RUNNING';
    task.healthStatus = 'HEALTHY';
    this.log(s, task, `INFO Starting ${d.taskDef.container.name} (${d.taskDef.container.image})`, task.startedAt);
    this.log(s, task, 'INFO Health check passed: GET /health 200', task.startedAt + s.spec.healthCheckSeconds * SECOND);
    this.scheduleRoutineLog(s, task);
    return task;
  }

  /** crash-loop and bad-image are active from the scenario start: the running tasks fail first. */
  private scheduleInitialFailures(s: SimService, tasks: Task[]): void {
    const failing = s.faults.find((f) => f.kind !== 'slow-start');
    if (!failing) return;
    for (const task of tasks) {
      task.fate = 'crash';
      const at = this.now + failing.crashAfterSeconds * SECOND + Math.floor(this.rng() * INITIAL_FAILURE_JITTER_MS);
      this.schedule(s, at, () => this.crash(s, task));
    }
  }

  // ---------------------------------------------------------------- task lifecycle

  private schedule(s: SimService, at: number, step: () => void): void {
    this.queue.push(at, () => {
      step();
      this.reconcile(s);
    });
  }

  private newTask(s: SimService, d: Deployment, fate: Fate, startMs: number, createdAt: number): Task {
    const id = this.hex(32);
    const task: Task = {
      id,
      arn: this.arn(`task/${this.scenario.cluster}/${id}`),
      deployment: d,
      fate,
      startMs,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      healthStatus: 'UNKNOWN',
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
    const fate: Fate = active.some((f) => f.kind === 'bad-image') ? 'bad-image' : active.some((f) => f.kind === 'crash-loop') ? 'crash' : 'healthy';
    const slow = active.find((f) => f.kind === 'slow-start')?.slowFactor ?? 1;
    // Real launches vary with image pulls and placement: up to +25% on the configured start time.
    const startMs = Math.round(s.spec.startSeconds * SECOND * slow * (1 + START_JITTER * this.rng()));
    const task = this.newTask(s, d, fate, startMs, this.now);
    this.schedule(s, this.now + Math.min(PROVISIONING_MS, task.startMs), () => this.toPending(s, task));
    return task;
  }

  /** A fault applies to tasks launched before `survivesRestarts + 1` restarts have happened. */
  private activeFaults(s: SimService): ServiceFault[] {
    return s.faults.filter((fault) => {
      const survives = fault.survivesRestarts ?? (fault.kind === 'bad-image' ? 'always' : 0);
      return survives === 'always' || s.restarts < survives + 1;
    });
  }

  private crashAfterSeconds(s: SimService): number {
    return s.faults.find((f) => f.kind === 'crash-loop')?.crashAfterSeconds ?? 0;
  }

  private toPending(s: SimService, task: Task): void {
    if (task.lastStatus !== 'PROVISIONING') return;
    setStatus(task, 'PENDING');
    task.pullStartedAt = this.now;
    if (task.fate === 'bad-image') this.schedule(s, this.now + PULL_FAILURE_MS, () => this.failPull(s, task));
    else this.schedule(s, task.createdAt + task.startMs, () => this.toRunning(s, task));
  }

  private toRunning(s: SimService, task: Task): void {
    if (task.lastStatus !== 'PENDING') return;
    setStatus(task, 'RUNNING');
    task.pullStoppedAt = task.startedAt = this.now;
    const { name, image } = task.deployment.taskDef.container;
    this.log(s, task, `INFO Starting ${name} (${image})`);
    this.log(s, task, `INFO Listening on port ${CONTAINER_PORT}`);
    if (task.fate === 'crash') this.schedule(s, this.now + this.crashAfterSeconds(s) * SECOND, () => this.crash(s, task));
    else this.schedule(s, this.now + s.spec.healthCheckSeconds * SECOND, () => this.toHealthy(s, task));
  }

  private toHealthy(s: SimService, task: Task): void {
    if (task.lastStatus !== 'RUNNING') return;
    task.healthStatus = 'HEALTHY';
    task.version += 1;
    // A task that passes its health check ends ECS's launch throttling.
    s.consecutiveFailures = 0;
    s.nextLaunchAt = 0;
    s.unstableReported = false;
    this.log(s, task, 'INFO Health check passed: GET /health 200');
    this.scheduleRoutineLog(s, task);
  }

  private scheduleRoutineLog(s: SimService, task: Task): void {
    const at = this.now + Math.floor(LOG_INTERVAL_MS * (0.5 + this.rng()));
    this.schedule(s, at, () => {
      if (task.lastStatus !== 'RUNNING') return;
      const warn = this.rng() < WARN_PROBABILITY;
      this.log(s, task, this.pick(warn ? ROUTINE_WARN : ROUTINE_INFO));
      this.scheduleRoutineLog(s, task);
    });
  }

  private crash(s: SimService, task: Task): void {
    if (task.lastStatus !== 'RUNNING') return;
    const first = this.pick(CRASH_ERRORS);
    this.log(s, task, first);
    this.log(s, task, this.pick(CRASH_ERRORS.filter((m) => m !== first)));
    this.log(s, task, CRASH_EXIT);
    task.exitCode = 1;
    task.containerReason = 'Essential container in task exited';
    // The process is gone, so there is nothing to drain; the target just deregisters.
    this.stop(s, task, 'EssentialContainerExited', 'Essential container in task exited', 0);
    this.recordFailure(s, task);
  }

  private failPull(s: SimService, task: Task): void {
    if (task.lastStatus !== 'PENDING') return;
    const { image } = task.deployment.taskDef.container;
    const reason = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: ${image}: not found: manifest unknown`;
    task.containerReason = reason;
    task.pullStoppedAt = this.now;
    this.stop(s, task, 'TaskFailedToStart', reason, 0);
    this.recordFailure(s, task);
  }

  /**
   * Stops a task the way ECS does: a serving task deregisters from the load balancer
   * (DEACTIVATING for drainMs) before STOPPING; one that never ran just goes away.
   */
  private stop(s: SimService, task: Task, stopCode: string, reason: string, drainMs: number): void {
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = this.now;
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    if (task.lastStatus !== 'RUNNING') {
      setStatus(task, 'STOPPING');
      this.schedule(s, this.now + UNSTARTED_STOP_MS, () => this.finishStop(s, task));
      return;
    }
    setStatus(task, 'DEACTIVATING');
    this.schedule(s, this.now + drainMs, () => {
      setStatus(task, 'STOPPING');
      this.schedule(s, this.now + STOPPING_MS, () => this.finishStop(s, task));
    });
  }

  private finishStop(s: SimService, task: Task): void {
    setStatus(task, 'STOPPED');
    task.executionStoppedAt = task.stoppedAt = this.now;
    s.tasks = s.tasks.filter((t) => t !== task);
    s.stopped.push(task);
  }

  /** Failed tasks throttle further launches (ECS's task-launch backoff) and, repeated, post the warning event. */
  private recordFailure(s: SimService, task: Task): void {
    task.deployment.failedTasks += 1;
    task.deployment.updatedAt = this.now;
    s.consecutiveFailures += 1;
    const backoff = Math.min(LAUNCH_BACKOFF_CAP_MS, LAUNCH_BACKOFF_BASE_MS * 2 ** (s.consecutiveFailures - 1));
    s.nextLaunchAt = Math.max(s.nextLaunchAt, this.now + backoff);
    if (s.consecutiveFailures >= UNSTABLE_AFTER_FAILURES && !s.unstableReported) {
      s.unstableReported = true;
      this.addEvent(
        s,
        `(service ${s.name}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`,
      );
    }
  }

  private pruneStoppedTasks(): void {
    const cutoff = this.now - STOPPED_RETENTION_MS;
    for (const s of this.services.values()) {
      s.stopped = s.stopped.filter((t) => (t.stoppedAt ?? 0) >= cutoff);
    }
  }

  // ---------------------------------------------------------------- the service scheduler

  private reconcile(s: SimService): void {
    this.scaleInPrimary(s);
    this.replaceOldTasks(s);
    this.launchMissing(s);
    this.retireDrainedDeployments(s);
    this.completePrimary(s);
    this.trackSteadyState(s);
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
    const missing = s.desiredCount - alive(tasksOf(s, primary)).length;
    const room = Math.floor((s.desiredCount * s.maximumPercent) / 100) - alive(s.tasks).length;
    const count = Math.min(missing, room);
    if (count <= 0) return;
    if (this.now < s.nextLaunchAt) {
      this.wakeAt(s, s.nextLaunchAt);
      return;
    }
    const started = Array.from({ length: count }, () => this.launch(s, primary));
    this.addEvent(s, startedMessage(s, started));
  }

  private wakeAt(s: SimService, at: number): void {
    if (s.wakeAt === at) return;
    s.wakeAt = at;
    this.schedule(s, at, () => {
      s.wakeAt = undefined;
    });
  }

  private stopByScheduler(s: SimService, tasks: Task[], initiator: Deployment): void {
    for (const task of tasks) {
      if (task.lastStatus === 'RUNNING') this.log(s, task, 'INFO Received SIGTERM, draining connections');
      this.stop(s, task, 'ServiceSchedulerInitiated', `Scaling activity initiated by (deployment ${initiator.id})`, s.spec.drainSeconds * SECOND);
    }
    this.addEvent(s, `(service ${s.name}) has stopped ${tasks.length} running tasks: ${tasks.map((t) => `(task ${t.id})`).join(' ')}.`);
  }

  /** An old deployment disappears (INACTIVE) once none of its tasks is left, draining included. */
  private retireDrainedDeployments(s: SimService): void {
    s.deployments = s.deployments.filter((d) => d.status === 'PRIMARY' || tasksOf(s, d).length > 0);
  }

  private completePrimary(s: SimService): void {
    const primary = primaryOf(s);
    if (primary.rolloutState === 'COMPLETED' || s.deployments.length > 1) return;
    const tasks = tasksOf(s, primary);
    if (healthy(tasks).length !== s.desiredCount || alive(tasks).length !== s.desiredCount) return;
    primary.rolloutState = 'COMPLETED';
    primary.updatedAt = this.now;
    this.addEvent(s, `(service ${s.name}) (deployment ${primary.id}) deployment completed.`);
  }

  /** Steady: one deployment, running == desired, every running task healthy, none pending. */
  private trackSteadyState(s: SimService): void {
    const runningCount = running(s.tasks).length;
    const steady =
      s.deployments.length === 1 && runningCount === s.desiredCount && healthy(s.tasks).length === runningCount && pending(s.tasks).length === 0;
    if (!steady) {
      s.steadySince = undefined;
    } else if (s.steadySince === undefined) {
      s.steadySince = this.now;
      this.addEvent(s, `(service ${s.name}) has reached a steady state.`);
    }
  }

  private deploymentDesired(s: SimService, d: Deployment): number {
    return d.status === 'PRIMARY' ? s.desiredCount : alive(tasksOf(s, d)).length;
  }

  // ---------------------------------------------------------------- API

  private readonly operations: Record<string, (body: Body) => unknown> = {
    DescribeClusters: (b) => this.describeClusters(b),
    DescribeServices: (b) => this.describeServices(b),
    UpdateService: (b) => this.updateService(b),
    ListTasks: (b) => this.listTasks(b),
    DescribeTasks: (b) => this.describeTasks(b),
    RegisterTaskDefinition: (b) => this.registerTaskDefinition(b),
    DescribeTaskDefinition: (b) => this.describeTaskDefinition(b),
    ListTaskDefinitions: (b) => this.listTaskDefinitions(b),
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
      if (s) services.push(this.serviceView(s));
      else failures.push({ arn: name.startsWith('arn:') ? name : this.arn(`service/${this.scenario.cluster}/${name}`), reason: 'MISSING' });
    }
    return { services, failures };
  }

  private updateService(body: Body): unknown {
    this.requireCluster(body);
    const s = this.requireService(requiredString(body, 'service'));
    const desired = optionalInteger(body, 'desiredCount');
    if (desired !== undefined && desired < 0) throw invalidParameter('Desired count must be greater than or equal to 0.');
    const td = optionalString(body, 'taskDefinition');
    const taskDef = td === undefined ? undefined : this.requireTaskDef(td, 'TaskDefinition not found.');
    const config = deploymentConfiguration(body);
    const primary = primaryOf(s);
    const newDeployment = body.forceNewDeployment === true || (taskDef !== undefined && taskDef !== primary.taskDef);
    if (newDeployment || (desired === 0 && s.desiredCount > 0)) this.countRestart(s);
    if (config.minimumHealthyPercent !== undefined) s.minimumHealthyPercent = config.minimumHealthyPercent;
    if (config.maximumPercent !== undefined) s.maximumPercent = config.maximumPercent;
    if (desired !== undefined && desired !== s.desiredCount) {
      this.addEvent(s, `(service ${s.name}) updated desired count from ${s.desiredCount} to ${desired}.`);
      s.desiredCount = desired;
    }
    if (newDeployment) this.startDeployment(s, taskDef ?? primary.taskDef);
    this.recordCall('UpdateService', body, [{ resourceType: 'AWS::ECS::Service', resourceName: s.name }]);
    this.reconcile(s);
    return { service: this.serviceView(s) };
  }

  /** A restart also ends launch throttling, as a new deployment does on ECS. */
  private countRestart(s: SimService): void {
    s.restarts += 1;
    s.consecutiveFailures = 0;
    s.nextLaunchAt = 0;
    s.unstableReported = false;
  }

  private startDeployment(s: SimService, taskDef: TaskDef): void {
    for (const d of s.deployments) d.status = 'ACTIVE';
    s.deployments.unshift({
      id: this.deploymentId(),
      status: 'PRIMARY',
      taskDef,
      createdAt: this.now,
      updatedAt: this.now,
      rolloutState: 'IN_PROGRESS',
      failedTasks: 0,
    });
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
      if (found) tasks.push(this.taskView(found.s, found.t));
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

  private listTaskDefinitions(body: Body): unknown {
    // Despite its name, familyPrefix matches the whole family name on ECS.
    const family = optionalString(body, 'familyPrefix');
    const status = optionalString(body, 'status') ?? 'ACTIVE';
    const sort = optionalString(body, 'sort') ?? 'ASC';
    if (!['ASC', 'DESC'].includes(sort)) throw invalidParameter(`Invalid sort: ${sort}`);
    if (!['ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS'].includes(status)) throw invalidParameter(`Invalid status: ${status}`);
    const families = [...this.taskDefs.keys()].filter((f) => family === undefined || f === family).sort();
    // Every revision here stays ACTIVE: the sandbox has no DeregisterTaskDefinition.
    const arns = status === 'ACTIVE' ? families.flatMap((f) => this.taskDefs.get(f)!.map((t) => t.arn)) : [];
    const { page, nextToken } = paginate(sort === 'DESC' ? arns.reverse() : arns, body, 100);
    return { taskDefinitionArns: page, ...(nextToken ? { nextToken } : {}) };
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
    const { tags, ...rest } = request;
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
    const first = containers[0]!;
    const td: TaskDef = { arn, family, revision, container: { name: String(first.name), image: String(first.image) }, definition, tags: Array.isArray(tags) ? tags : [] };
    this.taskDefs.set(family, [...revisions, td]);
    return td;
  }

  /** family (latest revision), family:revision, or the full ARN. */
  private findTaskDef(ref: string): TaskDef | undefined {
    const arnPrefix = this.arn('task-definition/');
    if (ref.startsWith('arn:') && !ref.startsWith(arnPrefix)) return undefined;
    const short = ref.startsWith(arnPrefix) ? ref.slice(arnPrefix.length) : ref;
    const [family = '', rev] = short.split(':');
    const revisions = this.taskDefs.get(family) ?? [];
    return rev === undefined ? revisions.at(-1) : revisions.find((t) => String(t.revision) === rev);
  }

  private requireTaskDef(ref: string, message: string): TaskDef {
    const td = this.findTaskDef(ref);
    if (!td) throw new AwsServiceError('ClientException', message);
    return td;
  }

  // ---------------------------------------------------------------- lookups and views

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

  private serviceView(s: SimService): Body {
    const primary = primaryOf(s);
    return {
      serviceArn: s.arn,
      serviceName: s.name,
      clusterArn: this.clusterArn,
      loadBalancers: [],
      serviceRegistries: [],
      status: 'ACTIVE',
      desiredCount: s.desiredCount,
      runningCount: running(s.tasks).length,
      pendingCount: pending(s.tasks).length,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      platformFamily: 'Linux',
      taskDefinition: primary.taskDef.arn,
      deploymentConfiguration: {
        deploymentCircuitBreaker: { enable: false, rollback: false },
        maximumPercent: s.maximumPercent,
        minimumHealthyPercent: s.minimumHealthyPercent,
      },
      deployments: s.deployments.map((d) => this.deploymentView(s, d)),
      roleArn: this.serviceRoleArn(),
      events: s.events.map((e) => ({ id: e.id, createdAt: new Date(e.createdAt), message: e.message })),
      createdAt: new Date(s.createdAt),
      placementConstraints: [],
      placementStrategy: [],
      networkConfiguration: networkConfiguration(),
      healthCheckGracePeriodSeconds: 0,
      schedulingStrategy: 'REPLICA',
      deploymentController: { type: 'ECS' },
      createdBy: `arn:aws:iam::${this.scenario.accountId}:role/${CALLER}`,
      enableECSManagedTags: false,
      propagateTags: 'NONE',
      enableExecuteCommand: false,
    };
  }

  private deploymentView(s: SimService, d: Deployment): Body {
    const tasks = tasksOf(s, d);
    return {
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDef.arn,
      desiredCount: this.deploymentDesired(s, d),
      pendingCount: pending(tasks).length,
      runningCount: running(tasks).length,
      failedTasks: d.failedTasks,
      createdAt: new Date(d.createdAt),
      updatedAt: new Date(d.updatedAt),
      launchType: 'FARGATE',
      platformVersion: '1.4.0',
      platformFamily: 'Linux',
      networkConfiguration: networkConfiguration(),
      rolloutState: d.rolloutState,
      rolloutStateReason: `ECS deployment ${d.id} ${d.rolloutState === 'COMPLETED' ? 'completed' : 'in progress'}.`,
    };
  }

  private taskView(s: SimService, t: Task): Body {
    const { name, image } = t.deployment.taskDef.container;
    const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
    const attachmentId = `${t.id.slice(0, 8)}-${t.id.slice(8, 12)}-${t.id.slice(12, 16)}-${t.id.slice(16, 20)}-${t.id.slice(20)}`;
    return {
      attachments: [
        {
          id: attachmentId,
          type: 'ElasticNetworkInterface',
          status: t.lastStatus === 'STOPPED' ? 'DELETED' : 'ATTACHED',
          details: [
            { name: 'networkInterfaceId', value: t.eniId },
            { name: 'privateIPv4Address', value: t.ip },
          ],
        },
      ],
      attributes: [{ name: 'ecs.cpu-architecture', value: 'x86_64' }],
      availabilityZone: t.availabilityZone,
      clusterArn: this.clusterArn,
      connectivity: t.pullStartedAt === undefined ? undefined : 'CONNECTED',
      connectivityAt: date(t.pullStartedAt),
      containers: [
        {
          containerArn: this.arn(`container/${this.scenario.cluster}/${t.id}/${attachmentId}`),
          taskArn: t.arn,
          name,
          image,
          lastStatus: containerStatus(t.lastStatus),
          exitCode: t.exitCode,
          reason: t.containerReason,
          networkInterfaces: [{ attachmentId, privateIpv4Address: t.ip }],
          healthStatus: t.healthStatus,
          cpu: '0',
        },
      ],
      cpu: String(t.deployment.taskDef.definition.cpu ?? '256'),
      memory: String(t.deployment.taskDef.definition.memory ?? '512'),
      createdAt: new Date(t.createdAt),
      desiredStatus: t.desiredStatus,
      enableExecuteCommand: false,
      group: `service:${s.name}`,
      healthStatus: t.healthStatus,
      lastStatus: t.lastStatus,
      launchType: 'FARGATE',
      overrides: { containerOverrides: [{ name }], inferenceAcceleratorOverrides: [] },
      platformVersion: '1.4.0',
      platformFamily: 'Linux',
      pullStartedAt: date(t.pullStartedAt),
      pullStoppedAt: date(t.pullStoppedAt),
      startedAt: date(t.startedAt),
      startedBy: t.deployment.id,
      stopCode: t.stopCode,
      stoppedReason: t.stoppedReason,
      stoppingAt: date(t.stoppingAt),
      executionStoppedAt: date(t.executionStoppedAt),
      stoppedAt: date(t.stoppedAt),
      tags: [],
      taskArn: t.arn,
      taskDefinitionArn: t.deployment.taskDef.arn,
      version: t.version,
    };
  }

  // ---------------------------------------------------------------- small helpers

  private recordCall(eventName: string, requestParameters: Body, resources: { resourceType: string; resourceName: string }[]): void {
    this.trail.record({ eventName, username: CALLER, eventSource: 'ecs.amazonaws.com', readOnly: false, resources, requestParameters, eventTime: new Date(this.now) });
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

  private serviceRoleArn(): string {
    return `arn:aws:iam::${this.scenario.accountId}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`;
  }

  private pick<T>(items: T[]): T {
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

// ---------------------------------------------------------------- task predicates

function alive(tasks: Task[]): Task[] {
  return tasks.filter((t) => t.desiredStatus === 'RUNNING');
}

function running(tasks: Task[]): Task[] {
  return tasks.filter((t) => t.lastStatus === 'RUNNING');
}

function pending(tasks: Task[]): Task[] {
  return tasks.filter((t) => t.desiredStatus === 'RUNNING' && (t.lastStatus === 'PROVISIONING' || t.lastStatus === 'PENDING'));
}

function isHealthyTask(t: Task): boolean {
  return t.lastStatus === 'RUNNING' && t.healthStatus === 'HEALTHY';
}

function healthy(tasks: Task[]): Task[] {
  return tasks.filter(isHealthyTask);
}

function tasksOf(s: SimService, d: Deployment): Task[] {
  return s.tasks.filter((t) => t.deployment === d);
}

function primaryOf(s: SimService): Deployment {
  return s.deployments[0]!;
}

/** Stop order: tasks that are not serving yet, then unhealthy ones, then the newest. */
function byStopPreference(a: Task, b: Task): number {
  const rank = (t: Task) => (t.lastStatus !== 'RUNNING' ? 0 : t.healthStatus !== 'HEALTHY' ? 1 : 2);
  return rank(a) - rank(b) || b.createdAt - a.createdAt;
}

function setStatus(task: Task, status: LastStatus): void {
  task.lastStatus = status;
  task.version += 1;
}

function containerStatus(status: LastStatus): string {
  if (status === 'PROVISIONING' || status === 'PENDING') return 'PENDING';
  if (status === 'RUNNING' || status === 'DEACTIVATING') return 'RUNNING';
  return 'STOPPED';
}

function startedMessage(s: SimService, tasks: Task[]): string {
  return `(service ${s.name}) has started ${tasks.length} tasks: ${tasks.map((t) => `(task ${t.id})`).join(' ')}.`;
}

function familyOf(spec: ServiceSpec): string {
  return spec.family ?? spec.name;
}

function networkConfiguration(): Body {
  return { awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'], securityGroups: ['sg-0a1b2c3d4e5f60003'], assignPublicIp: 'DISABLED' } };
}

/** Seeded history may name other services' calls; pick the source CloudTrail would show. */
function eventSourceOf(eventName: string): string {
  if (/Function|Alias|Concurrency/.test(eventName)) return 'lambda.amazonaws.com';
  if (/Table|Item/.test(eventName)) return 'dynamodb.amazonaws.com';
  if (/Alarm|Metric/.test(eventName)) return 'monitoring.amazonaws.com';
  if (/SecurityGroup|Instance/.test(eventName)) return 'ec2.amazonaws.com';
  return 'ecs.amazonaws.com';
}

// ---------------------------------------------------------------- input validation (ECS messages)

function invalidParameter(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message);
}

function optionalString(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParameter(`${key} must be a string.`);
  return v;
}

function requiredString(body: Body, key: string): string {
  const v = optionalString(body, key);
  if (v === undefined || v === '') throw invalidParameter(`${key} must be specified.`);
  return v;
}

function optionalInteger(body: Body, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(`${key} must be an integer.`);
  return v;
}

function optionalStringList(body: Body, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParameter(`${key} must be a list of strings.`);
  return v as string[];
}

function deploymentConfiguration(body: Body): { minimumHealthyPercent?: number; maximumPercent?: number } {
  const raw = body.deploymentConfiguration;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object') throw invalidParameter('deploymentConfiguration must be an object.');
  const config = raw as Body;
  const minimumHealthyPercent = optionalInteger(config, 'minimumHealthyPercent');
  const maximumPercent = optionalInteger(config, 'maximumPercent');
  if (minimumHealthyPercent !== undefined && (minimumHealthyPercent < 0 || minimumHealthyPercent > 100)) {
    throw invalidParameter('minimumHealthyPercent must be between 0 and 100.');
  }
  if (maximumPercent !== undefined && (maximumPercent < 100 || maximumPercent > 400)) {
    throw invalidParameter('maximumPercent must be between 100 and 400 for a rolling deployment.');
  }
  return { minimumHealthyPercent, maximumPercent };
}

function validateContainers(raw: unknown): Body[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidParameter('containerDefinitions must contain at least one container definition.');
  return raw.map((c: unknown) => {
    const def = (c ?? {}) as Body;
    if (typeof def.name !== 'string' || def.name === '') throw new AwsServiceError('ClientException', 'Container.name should not be null or empty.');
    if (typeof def.image !== 'string' || def.image === '') throw new AwsServiceError('ClientException', 'Container.image should not be null or empty.');
    return { essential: true, portMappings: [], environment: [], mountPoints: [], volumesFrom: [], ...def };
  });
}

/** ListTasks / ListTaskDefinitions paging: the token is the offset of the next page. */
function paginate(items: string[], body: Body, maxPage: number): { page: string[]; nextToken: string | undefined } {
  const max = optionalInteger(body, 'maxResults') ?? maxPage;
  if (max < 1 || max > maxPage) throw invalidParameter(`maxResults must be between 1 and ${maxPage}.`);
  const token = optionalString(body, 'nextToken');
  const from = token === undefined ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10);
  if (!Number.isInteger(from) || from < 0) throw invalidParameter('Invalid nextToken.');
  const page = items.slice(from, from + max);
  const next = from + max < items.length ? Buffer.from(String(from + max), 'utf8').toString('base64url') : undefined;
  return { page, nextToken: next };
}
