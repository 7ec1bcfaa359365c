import { DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
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

/** The counts DescribeServices gives, without the extra calls that health takes. */
export function countsOf(service: Service): { runningCount: number; desiredCount: number; pendingCount: number; deployments: number; rolloutState: string | undefined } {
  return {
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    deployments: service.deployments?.length ?? 0,
    rolloutState: service.deployments?.find((d) => d.status === 'PRIMARY')?.rolloutState,
  };
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
