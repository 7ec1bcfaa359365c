import { DescribeTasksCommand, DescribeTaskDefinitionCommand, type ECSClient, ListTasksCommand, type Service } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { countsOf, isSteady } from '#commons/ecs';

/**
 * Is the service stable — and not merely what `aws ecs wait services-stable` accepts (one
 * deployment, running == desired)? That waiter ignores three things AWS itself documents:
 * - rolloutState: a deployment the circuit breaker failed and rolled back also ends "stable";
 * - load-balancer health: tasks are RUNNING through the health-check grace period before the ALB
 *   has judged them (ELBv2 User Guide, "Health checks for target groups");
 * - container health: a crash-looping task is RUNNING for seconds before it exits.
 * So stable here means: the waiter's condition, the deployment our change created COMPLETED,
 * every running task's target healthy in every target group, and every running task HEALTHY
 * where the task definition defines a container health check. The extra calls are made only
 * once the waiter's condition holds; until then one DescribeServices is all a reading costs.
 */

export interface StabilityClients {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
}

export interface TargetCounts {
  /** Targets of the running tasks, over every target group of the service. */
  total: number;
  healthy: number;
  unhealthy: number;
  /** initial, draining, unused… with ELB's reason for the first one not healthy. */
  other: number;
  reason?: string;
}

export interface ChangeState {
  deploymentId: string;
  /** PRIMARY while it is the deployment ECS is rolling out; ACTIVE or GONE once another replaced it. */
  status: 'PRIMARY' | 'ACTIVE' | 'GONE';
  rolloutState?: string;
  rolloutStateReason?: string;
  failedTasks: number;
}

export interface StabilityReading {
  stable: boolean;
  /** What stability still waits for, in an on-call engineer's words (empty when stable). */
  waitingFor: string[];
  runningCount: number;
  desiredCount: number;
  pendingCount: number;
  deployments: number;
  /** The PRIMARY deployment's rolloutState. */
  rolloutState: string | undefined;
  /** Running tasks whose container health check passes; undefined when none is defined (or not read). */
  healthyCount: number | undefined;
  /** Undefined when the service has no target group (or the targets were not read). */
  targets?: TargetCounts;
  /** The deployment the change being watched created, as ECS reports it now. */
  change?: ChangeState;
  /**
   * Tasks launched since a change that created no deployment (a scale back out) that stopped
   * without the scheduler asking: crashed, failed to start, failed health checks.
   */
  failedSinceChange?: number;
}

export interface ReadOptions {
  /** The deployment the change created, if it created one. */
  deploymentId?: string;
  /**
   * A change that created no deployment (a scale back out): count the tasks launched since then
   * that failed, as the deployment's failedTasks would (ECS stops counting those once a
   * deployment has run healthy, so the old deployment's count says nothing). Two more calls, made
   * only while the service is not stable.
   */
  failuresSince?: number;
}

export async function readStability(clients: StabilityClients, service: Service, opts: ReadOptions = {}): Promise<StabilityReading> {
  const counts = countsOf(service);
  const change = opts.deploymentId ? changeState(service, opts.deploymentId) : undefined;
  const base = { ...counts, healthyCount: undefined, ...(change ? { change } : {}) };
  const waitingFor: string[] = [];
  if (!isSteady(service)) waitingFor.push(notSteady(service));
  if (change && change.status !== 'PRIMARY') waitingFor.push(`deployment ${change.deploymentId} is no longer the one ECS rolls out`);
  else if (change && change.rolloutState !== undefined && change.rolloutState !== 'COMPLETED') {
    waitingFor.push(`deployment ${change.deploymentId} is ${change.rolloutState}`);
  }
  if (waitingFor.length > 0) {
    const failedSinceChange = opts.failuresSince !== undefined && !change ? await failedTasksSince(clients.ecs, service, opts.failuresSince) : undefined;
    return { ...base, stable: false, waitingFor, ...(failedSinceChange !== undefined ? { failedSinceChange } : {}) };
  }

  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const checksContainers = await hasContainerHealthCheck(clients.ecs, primary?.taskDefinition ?? service.taskDefinition);
  const groups = (service.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter((arn): arn is string => Boolean(arn));
  if (!checksContainers && groups.length === 0) return { ...base, stable: true, waitingFor };

  const tasks = await runningTasks(clients.ecs, service);
  let healthyCount: number | undefined;
  if (checksContainers) {
    healthyCount = tasks.filter((t) => t.healthy).length;
    if (healthyCount < counts.desiredCount) waitingFor.push(`${healthyCount} of ${counts.desiredCount} tasks pass their container health check`);
  }
  let targets: TargetCounts | undefined;
  if (groups.length > 0) {
    targets = await targetCounts(clients.elbv2, groups, new Set(tasks.map((t) => t.ip).filter((ip): ip is string => Boolean(ip))));
    const expected = groups.length * counts.desiredCount;
    if (targets.healthy < expected) {
      waitingFor.push(`${targets.healthy} of ${expected} load-balancer targets healthy${targets.reason ? ` (${targets.reason})` : ''}`);
    }
  }
  return { ...base, healthyCount, ...(targets ? { targets } : {}), stable: waitingFor.length === 0, waitingFor };
}

function changeState(service: Service, deploymentId: string): ChangeState {
  const d = service.deployments?.find((x) => x.id === deploymentId);
  if (!d) return { deploymentId, status: 'GONE', failedTasks: 0 };
  return {
    deploymentId,
    status: d.status === 'PRIMARY' ? 'PRIMARY' : 'ACTIVE',
    ...(d.rolloutState ? { rolloutState: d.rolloutState } : {}),
    ...(d.rolloutStateReason ? { rolloutStateReason: d.rolloutStateReason } : {}),
    failedTasks: d.failedTasks ?? 0,
  };
}

function notSteady(service: Service): string {
  const { runningCount, desiredCount, pendingCount, deployments } = countsOf(service);
  const parts = [`${runningCount}/${desiredCount} running`];
  if (pendingCount > 0) parts.push(`${pendingCount} pending`);
  if (deployments !== 1) parts.push(`${deployments} deployments (old tasks still draining)`);
  return parts.join(', ');
}

/** Stopped tasks stay describable for at least an hour (ECS Developer Guide, "Stopped tasks"). */
async function failedTasksSince(ecs: ECSClient, service: Service, sinceMs: number): Promise<number> {
  const cluster = service.clusterArn;
  const page = await ecs.send(new ListTasksCommand({ cluster, serviceName: service.serviceName, desiredStatus: 'STOPPED', maxResults: 100 }));
  const arns = page.taskArns ?? [];
  if (arns.length === 0) return 0;
  const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
  return (out.tasks ?? []).filter(
    (t) => (t.createdAt?.getTime() ?? 0) >= sinceMs && !(t.stopCode === 'ServiceSchedulerInitiated' && t.stoppedReason?.startsWith('Scaling activity')) && t.stopCode !== 'UserInitiated',
  ).length;
}

const containerCheckByTaskDefinition = new Map<string, boolean>();

/** Task definitions are immutable per revision, so the answer is cached for the container's life. */
async function hasContainerHealthCheck(ecs: ECSClient, taskDefinition: string | undefined): Promise<boolean> {
  if (!taskDefinition) return false;
  const cached = containerCheckByTaskDefinition.get(taskDefinition);
  if (cached !== undefined) return cached;
  const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  const answer = (out.taskDefinition?.containerDefinitions ?? []).some((c) => c.essential !== false && c.healthCheck !== undefined);
  containerCheckByTaskDefinition.set(taskDefinition, answer);
  return answer;
}

async function runningTasks(ecs: ECSClient, service: Service): Promise<{ ip: string | undefined; healthy: boolean }[]> {
  const cluster = service.clusterArn;
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTasksCommand({ cluster, serviceName: service.serviceName, desiredStatus: 'RUNNING', nextToken }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const out: { ip: string | undefined; healthy: boolean }[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const page = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    for (const t of page.tasks ?? []) {
      if (t.lastStatus !== 'RUNNING') continue;
      const ip = t.attachments?.flatMap((a) => a.details ?? []).find((d) => d.name === 'privateIPv4Address')?.value;
      out.push({ ip, healthy: t.healthStatus === 'HEALTHY' });
    }
  }
  return out;
}

async function targetCounts(elbv2: ElasticLoadBalancingV2Client, groups: string[], ips: Set<string>): Promise<TargetCounts> {
  const counts: TargetCounts = { total: 0, healthy: 0, unhealthy: 0, other: 0 };
  for (const TargetGroupArn of groups) {
    const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn }));
    for (const d of out.TargetHealthDescriptions ?? []) {
      // Old tasks' targets draining, or other services' targets in a shared group, are not ours to judge.
      if (!d.Target?.Id || !ips.has(d.Target.Id)) continue;
      counts.total += 1;
      const state = d.TargetHealth?.State;
      if (state === 'healthy') counts.healthy += 1;
      else if (state === 'unhealthy') counts.unhealthy += 1;
      else counts.other += 1;
      if (state !== 'healthy' && !counts.reason) counts.reason = `${state}: ${d.TargetHealth?.Description ?? d.TargetHealth?.Reason ?? 'no reason given'}`;
    }
  }
  return counts;
}
