import type { TargetState } from '../fleet-views.ts';
import type { ImageBehaviour, ServiceFault, ServiceSpec } from '../scenario.ts';

/** The simulated ECS service, its deployments, tasks and load-balancer targets. */

export const SECOND = 1000;

export type LastStatus = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'STOPPED';
/** What a task will do once launched: serve, crash, never pull its image, or run but fail its health checks. */
export type Fate = 'healthy' | 'crash' | 'bad-image' | 'unhealthy';
export type Body = Record<string, unknown>;
export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
export type DeploymentController = 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';

export interface TaskDef {
  arn: string;
  family: string;
  revision: number;
  /** The essential container (the first one, if none is marked essential). */
  container: { name: string; image: string };
  /** Images of every essential container: what a scenario's `images` entries match. */
  essentialImages: string[];
  /** ACTIVE until DeregisterTaskDefinition; an INACTIVE revision still runs, but nothing new may reference it. */
  status: 'ACTIVE' | 'INACTIVE';
  deregisteredAt?: number;
  /** Whether the essential container defines a health check (tasks then report HEALTHY/UNHEALTHY). */
  containerHealthCheck: boolean;
  /** The TaskDefinition object as DescribeTaskDefinition returns it. */
  definition: Body;
  tags: unknown[];
}

export interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDef: TaskDef;
  createdAt: number;
  updatedAt: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  /** Consecutive failed tasks, until one of the deployment's tasks runs healthy (then 0 for good). */
  failedTasks: number;
  hadHealthyTask: boolean;
}

/** One registration of a task's IP in its service's target group. */
export interface Target {
  state: TargetState;
  /** Deregistration finished: the target is gone from the group. */
  removedAt?: number;
  reason?: string;
  description?: string;
  /** [time, state] as it changed, for metrics. */
  history: { at: number; state: TargetState }[];
}

export interface Task {
  id: string;
  arn: string;
  deployment: Deployment;
  fate: Fate;
  /** The scenario's behaviour of the task's image, when it has one (it decided the fate). */
  image?: ImageBehaviour;
  /** Launch to RUNNING (slow-start stretches it). */
  startMs: number;
  /** RUNNING to the application answering its health check. */
  warmupMs: number;
  lastStatus: LastStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  /** The container health check's verdict (UNKNOWN without one, or before it has decided). */
  healthStatus: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY';
  target?: Target;
  /** Counted healthy by the scheduler at least once: its later stop is not a launch failure. */
  everHealthy: boolean;
  /** When it stopped being RUNNING (for metrics). */
  runningUntil?: number;
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  healthyAt?: number;
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

export interface LoadBalancing {
  loadBalancerArn: string;
  loadBalancerName: string;
  targetGroupArn: string;
  targetGroupName: string;
  healthCheckPath: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  deregistrationDelaySeconds: number;
}

export interface SimService {
  spec: ServiceSpec;
  name: string;
  arn: string;
  logGroup: string;
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  circuitBreaker: { enable: boolean; rollback: boolean };
  controller: DeploymentController;
  healthCheckGracePeriodSeconds: number;
  lb: LoadBalancing | undefined;
  /** PRIMARY first. */
  deployments: Deployment[];
  /** The newest deployment that COMPLETED: the circuit breaker's rollback target. */
  lastCompleted: { id: string; taskDef: TaskDef };
  /** Newest first, as DescribeServices returns them. */
  events: { id: string; createdAt: number; message: string }[];
  /** Tasks not yet STOPPED: all the scheduler has to look at. */
  tasks: Task[];
  /** STOPPED tasks, kept for ListTasks/DescribeTasks until the retention runs out. */
  stopped: Task[];
  createdAt: number;
  /** Faults on this service; a crash and a slow start may combine. */
  faults: ServiceFault[];
  /** Restarts that took effect (a new deployment, or every task stopped by a scale to zero); faults clear after enough. */
  restarts: number;
  consecutiveFailures: number;
  nextLaunchAt: number;
  unstableReported: boolean;
  /** When the scheduler's next pass is due (it acts on its own cadence, not inside the API call). */
  passAt: number | undefined;
  /** The desired count the scheduler's last pass saw. */
  passDesired: number;
  steadySince: number | undefined;
  /** [time, desired count] as it changed, for metrics. */
  desiredHistory: { at: number; desired: number }[];
}

// ---------------------------------------------------------------- task predicates

/** Tasks the scheduler still wants running (desiredStatus RUNNING). */
export function alive(tasks: Task[]): Task[] {
  return tasks.filter((t) => t.desiredStatus === 'RUNNING');
}

export function running(tasks: Task[]): Task[] {
  return tasks.filter((t) => t.lastStatus === 'RUNNING');
}

export function pending(tasks: Task[]): Task[] {
  return tasks.filter((t) => t.desiredStatus === 'RUNNING' && (t.lastStatus === 'PROVISIONING' || t.lastStatus === 'PENDING'));
}

/**
 * Healthy as the service scheduler counts it: RUNNING, its container health check (if defined)
 * HEALTHY, and its load-balancer target (if any) healthy.
 */
export function isHealthyTask(t: Task): boolean {
  if (t.lastStatus !== 'RUNNING' || t.desiredStatus !== 'RUNNING') return false;
  if (t.deployment.taskDef.containerHealthCheck && t.healthStatus !== 'HEALTHY') return false;
  return t.target === undefined || t.target.state === 'healthy';
}

export function healthy(tasks: Task[]): Task[] {
  return tasks.filter(isHealthyTask);
}

export function tasksOf(s: SimService, d: Deployment): Task[] {
  return s.tasks.filter((t) => t.deployment === d);
}

export function primaryOf(s: SimService): Deployment {
  return s.deployments[0]!;
}

/** Stop order: tasks that are not serving yet, then unhealthy ones, then the newest. */
export function byStopPreference(a: Task, b: Task): number {
  const rank = (t: Task) => (t.lastStatus !== 'RUNNING' ? 0 : !isHealthyTask(t) ? 1 : 2);
  return rank(a) - rank(b) || b.createdAt - a.createdAt;
}

export function setStatus(task: Task, status: LastStatus): void {
  task.lastStatus = status;
  task.version += 1;
}

export function setTarget(target: Target, state: TargetState, at: number, reason?: string, description?: string): void {
  if (target.state === state && target.reason === reason) return;
  target.state = state;
  target.reason = reason;
  target.description = description;
  target.history.push({ at, state });
}

export function familyOf(spec: ServiceSpec): string {
  return spec.family ?? spec.name;
}
