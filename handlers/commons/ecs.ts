import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { ClusterNotFoundError, ServiceNotFoundError } from './errors.ts';

/** DescribeServices for one service, with ECS's two ways of saying "not found" turned into named errors. */
export async function describeService(ecs: ECSClient, cluster: string, service: string): Promise<Service> {
  let out;
  try {
    out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  } catch (err) {
    if ((err as Error).name === 'ClusterNotFoundException') {
      throw new ClusterNotFoundError(`field "cluster": no ECS cluster named "${cluster}" — check the name or the region`);
    }
    throw err;
  }
  const found = out.services?.find((s) => s.serviceName === service || s.serviceArn === service);
  if (!found || found.status === 'INACTIVE') {
    throw new ServiceNotFoundError(`field "service": no active ECS service named "${service}" in cluster "${cluster}" — check the name`);
  }
  return found;
}

export interface DeploymentSummary {
  id: string;
  status: string;
  rolloutState: string | undefined;
  taskDefinition: string | undefined;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  failedTasks: number;
}

export function summariseDeployments(service: Service): DeploymentSummary[] {
  return (service.deployments ?? []).map((d) => ({
    id: d.id ?? 'unknown',
    status: d.status ?? 'UNKNOWN',
    rolloutState: d.rolloutState,
    taskDefinition: d.taskDefinition,
    desiredCount: d.desiredCount ?? 0,
    runningCount: d.runningCount ?? 0,
    pendingCount: d.pendingCount ?? 0,
    failedTasks: d.failedTasks ?? 0,
  }));
}

/** Stable as `aws ecs wait services-stable` defines it: one deployment, running == desired, none pending. */
export function isSteady(service: Service): boolean {
  const deployments = service.deployments ?? [];
  return (
    deployments.length === 1 &&
    (service.runningCount ?? 0) === (service.desiredCount ?? -1) &&
    (service.pendingCount ?? 0) === 0 &&
    deployments[0]?.rolloutState !== 'FAILED'
  );
}

export interface StabilityReading {
  stable: boolean;
  runningCount: number;
  desiredCount: number;
  pendingCount: number;
  /** Tasks whose container health checks pass; undefined when the task definition defines none. */
  healthyCount: number | undefined;
  deployments: number;
  rolloutState: string | undefined;
}

/**
 * Stable, and not merely RUNNING: a crash-looping task is RUNNING for a few seconds before it
 * exits, which fools `services-stable`. When the task definition has container health checks,
 * every desired task must also be HEALTHY. Costs two more calls, only once the counts line up.
 */
export async function readStability(ecs: ECSClient, service: Service): Promise<StabilityReading> {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const reading = countsOf(service);
  if (!isSteady(service)) return { ...reading, stable: false, healthyCount: undefined };
  if (!(await hasHealthCheck(ecs, primary?.taskDefinition ?? service.taskDefinition))) {
    return { ...reading, stable: true, healthyCount: undefined };
  }
  const healthyCount = await countHealthyTasks(ecs, service);
  return { ...reading, stable: healthyCount >= reading.desiredCount, healthyCount };
}

/** The counts DescribeServices gives, without the extra calls that health takes. */
export function countsOf(service: Service): Omit<StabilityReading, 'stable' | 'healthyCount'> {
  return {
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    deployments: service.deployments?.length ?? 0,
    rolloutState: service.deployments?.find((d) => d.status === 'PRIMARY')?.rolloutState,
  };
}

const healthCheckByTaskDefinition = new Map<string, boolean>();

/** Task definitions are immutable per revision, so the answer is cached for the container's life. */
async function hasHealthCheck(ecs: ECSClient, taskDefinition: string | undefined): Promise<boolean> {
  if (!taskDefinition) return false;
  const cached = healthCheckByTaskDefinition.get(taskDefinition);
  if (cached !== undefined) return cached;
  const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  const answer = (out.taskDefinition?.containerDefinitions ?? []).some((c) => c.essential !== false && c.healthCheck !== undefined);
  healthCheckByTaskDefinition.set(taskDefinition, answer);
  return answer;
}

async function countHealthyTasks(ecs: ECSClient, service: Service): Promise<number> {
  const cluster = service.clusterArn;
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTasksCommand({ cluster, serviceName: service.serviceName, desiredStatus: 'RUNNING', nextToken }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  let healthy = 0;
  for (let i = 0; i < arns.length; i += 100) {
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    healthy += (out.tasks ?? []).filter((t) => t.lastStatus === 'RUNNING' && t.healthStatus === 'HEALTHY').length;
  }
  return healthy;
}

export interface ServiceEventSummary {
  at: string;
  message: string;
}

export function recentEvents(service: Service, sinceMs: number, limit = 5): ServiceEventSummary[] {
  return (service.events ?? [])
    .filter((e) => (e.createdAt?.getTime() ?? 0) >= sinceMs)
    .slice(0, limit)
    .map((e) => ({ at: e.createdAt?.toISOString() ?? '', message: e.message ?? '' }));
}
