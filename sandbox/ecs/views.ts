import {
  alive,
  healthy,
  pending,
  primaryOf,
  running,
  tasksOf,
  type Body,
  type Deployment,
  type LastStatus,
  type SimService,
  type Task,
} from './model.ts';

/** How the simulated service, deployments and tasks look in ECS's API answers (DescribeServices, DescribeTasks). */

export interface ViewContext {
  region: string;
  accountId: string;
  cluster: string;
  clusterArn: string;
  arn(resource: string): string;
  /** Who the sandbox says made its calls (the workflow's Lambda role). */
  caller: string;
}

export function deploymentDesired(s: SimService, d: Deployment): number {
  return d.status === 'PRIMARY' ? s.desiredCount : alive(tasksOf(s, d)).length;
}

export function serviceView(ctx: ViewContext, s: SimService): Body {
  const primary = primaryOf(s);
  return {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: ctx.clusterArn,
    loadBalancers: s.lb ? [{ targetGroupArn: s.lb.targetGroupArn, containerName: primary.taskDef.container.name, containerPort: CONTAINER_PORT }] : [],
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
      deploymentCircuitBreaker: { ...s.circuitBreaker },
      maximumPercent: s.maximumPercent,
      minimumHealthyPercent: s.minimumHealthyPercent,
    },
    // CODE_DEPLOY and EXTERNAL services list task sets, not deployments.
    deployments: s.controller === 'ECS' ? s.deployments.map((d) => deploymentView(s, d)) : [],
    ...(s.controller === 'ECS' ? {} : { taskSets: s.deployments.map((d) => taskSetView(ctx, s, d)) }),
    roleArn: `arn:aws:iam::${ctx.accountId}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
    events: s.events.map((e) => ({ id: e.id, createdAt: new Date(e.createdAt), message: e.message })),
    createdAt: new Date(s.createdAt),
    placementConstraints: [],
    placementStrategy: [],
    networkConfiguration: networkConfiguration(),
    ...(s.lb ? { healthCheckGracePeriodSeconds: s.healthCheckGracePeriodSeconds } : {}),
    schedulingStrategy: 'REPLICA',
    deploymentController: { type: s.controller },
    createdBy: `arn:aws:iam::${ctx.accountId}:role/${ctx.caller}`,
    enableECSManagedTags: false,
    propagateTags: 'NONE',
    enableExecuteCommand: false,
  };
}

/** A deployment's counts as ECS reports them: DescribeServices' deployments and the fleet's snapshot. */
export function deploymentSummary(s: SimService, d: Deployment) {
  const tasks = tasksOf(s, d);
  return {
    id: d.id,
    status: d.status,
    taskDefinition: d.taskDef.arn,
    desiredCount: deploymentDesired(s, d),
    pendingCount: pending(tasks).length,
    runningCount: running(tasks).length,
    failedTasks: d.failedTasks,
    rolloutState: d.rolloutState,
  };
}

function deploymentView(s: SimService, d: Deployment): Body {
  return {
    ...deploymentSummary(s, d),
    createdAt: new Date(d.createdAt),
    updatedAt: new Date(d.updatedAt),
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    platformFamily: 'Linux',
    networkConfiguration: networkConfiguration(),
    rolloutStateReason: d.rolloutStateReason,
  };
}

function taskSetView(ctx: ViewContext, s: SimService, d: Deployment): Body {
  const tasks = tasksOf(s, d);
  const id = `ecs-svc/${d.id.replace(/^ecs-svc\//, '')}`;
  return {
    id,
    taskSetArn: ctx.arn(`task-set/${ctx.cluster}/${s.name}/${id}`),
    status: d.status,
    taskDefinition: d.taskDef.arn,
    computedDesiredCount: deploymentDesired(s, d),
    pendingCount: pending(tasks).length,
    runningCount: running(tasks).length,
    createdAt: new Date(d.createdAt),
    updatedAt: new Date(d.updatedAt),
    launchType: 'FARGATE',
    stabilityStatus: healthy(tasks).length === deploymentDesired(s, d) ? 'STEADY_STATE' : 'STABILIZING',
  };
}

export function taskView(ctx: ViewContext, s: SimService, t: Task): Body {
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
    clusterArn: ctx.clusterArn,
    connectivity: t.pullStartedAt === undefined ? undefined : 'CONNECTED',
    connectivityAt: date(t.pullStartedAt),
    containers: [
      {
        containerArn: ctx.arn(`container/${ctx.cluster}/${t.id}/${attachmentId}`),
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

export const CONTAINER_PORT = 8080;

function containerStatus(status: LastStatus): string {
  if (status === 'PROVISIONING' || status === 'PENDING') return 'PENDING';
  if (status === 'RUNNING' || status === 'DEACTIVATING') return 'RUNNING';
  return 'STOPPED';
}

function networkConfiguration(): Body {
  return { awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'], securityGroups: ['sg-0a1b2c3d4e5f60003'], assignPublicIp: 'DISABLED' } };
}
