import type { Body } from './model.ts';

/**
 * The events ECS sends to EventBridge (ECS Developer Guide, "Amazon ECS events"): deployment
 * state changes, service actions and task state changes, with the `detail` AWS documents. ECS
 * sends them best effort: the sandbox's EventBridge may delay, repeat or drop them
 * (sandbox/eventbridge.ts), so nothing may depend on one arriving.
 */

export type EcsDetailType = 'ECS Deployment State Change' | 'ECS Service Action' | 'ECS Task State Change';

export interface EcsEvent {
  detailType: EcsDetailType;
  /** Virtual time it happened. */
  at: number;
  resources: string[];
  detail: Body;
}

export type DeploymentEventName = 'SERVICE_DEPLOYMENT_IN_PROGRESS' | 'SERVICE_DEPLOYMENT_COMPLETED' | 'SERVICE_DEPLOYMENT_FAILED';
export type ServiceActionName = 'SERVICE_STEADY_STATE' | 'SERVICE_TASK_START_IMPAIRED';

export function deploymentStateChange(at: number, serviceArn: string, eventName: DeploymentEventName, deploymentId: string, reason: string): EcsEvent {
  return {
    detailType: 'ECS Deployment State Change',
    at,
    resources: [serviceArn],
    detail: {
      eventType: eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
      eventName,
      deploymentId,
      updatedAt: new Date(at).toISOString(),
      reason,
    },
  };
}

export function serviceAction(at: number, serviceArn: string, clusterArn: string, eventName: ServiceActionName): EcsEvent {
  return {
    detailType: 'ECS Service Action',
    at,
    resources: [serviceArn],
    detail: {
      eventType: eventName === 'SERVICE_TASK_START_IMPAIRED' ? 'WARN' : 'INFO',
      eventName,
      clusterArn,
      createdAt: new Date(at).toISOString(),
    },
  };
}

/** The detail is the task as DescribeTasks shows it, timestamps as ISO strings. */
export function taskStateChange(at: number, task: Body): EcsEvent {
  return {
    detailType: 'ECS Task State Change',
    at,
    resources: [String(task.taskArn)],
    // Dates serialise as ISO 8601, as in the event AWS sends.
    detail: { ...(JSON.parse(JSON.stringify(task)) as Body), updatedAt: new Date(at).toISOString() },
  };
}
