import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { WATCHED_DETAIL_TYPES } from '../handlers/stability/events.ts';
import type { StackConfig } from './config.ts';
import { handlerFunction } from './handler-function.ts';

export interface StabilityWatchesProps {
  config: StackConfig;
  /** The workflows' wait step (handlers/watch-stability.ts), built with the other step functions. */
  watchStability: NodejsFunction;
}

/**
 * Waits released by ECS's own events: the table of waits in progress (task tokens), the
 * ecs-events function, and the EventBridge rule that sends it the configured services'
 * deployment state changes and service actions. The waits poll on their own too, so a lost
 * event (EventBridge delivers AWS events best effort) costs one cadence, never the incident.
 */
export class StabilityWatches extends Construct {
  readonly table: dynamodb.Table;
  readonly ecsEvents: NodejsFunction;
  readonly rule: events.Rule;
  private readonly watchStability: NodejsFunction;

  constructor(scope: Construct, id: string, props: StabilityWatchesProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    this.watchStability = props.watchStability;
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: `${config.prefix}-stability-watches`,
      partitionKey: { name: 'service', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'watchId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      // Short-lived tokens: nothing here outlives its execution.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason: 'Holds only the task tokens of waits in progress, expiring with their executions (TTL); a point-in-time restore would bring back dead tokens. Nothing here is worth recovering: the waits also poll.',
    });

    const serviceArns = config.services.map((s) =>
      stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${config.cluster}/${s.name}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    );
    this.ecsEvents = handlerFunction(this, 'ecs-events', {
      environment: { WATCHES_TABLE: this.table.tableName, DEFAULT_CLUSTER: config.cluster, MANAGED_SERVICES: config.services.map((s) => s.name).join(','), LOG_LEVEL: config.logLevel },
    });
    this.table.grant(props.watchStability, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    this.table.grant(this.ecsEvents, 'dynamodb:Query', 'dynamodb:DeleteItem');

    const clusterArn = stack.formatArn({ service: 'ecs', resource: 'cluster', resourceName: config.cluster });
    const reads = [
      new iam.PolicyStatement({ actions: ['ecs:DescribeServices'], resources: serviceArns }),
      new iam.PolicyStatement({ actions: ['ecs:ListTasks'], resources: ['*'], conditions: { ArnEquals: { 'ecs:cluster': clusterArn } } }),
      new iam.PolicyStatement({
        actions: ['ecs:DescribeTasks'],
        resources: [stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${config.cluster}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
      }),
      // DescribeTaskDefinition and ELBv2's Describe* support no resource-level permissions.
      new iam.PolicyStatement({ actions: ['ecs:DescribeTaskDefinition', 'elasticloadbalancing:DescribeTargetHealth'], resources: ['*'] }),
    ];
    for (const statement of reads) this.ecsEvents.addToRolePolicy(statement);

    this.rule = new events.Rule(this, 'EcsEventsReleaseWaits', {
      description: 'incident-flows: ECS deployment state changes and service actions of the configured services release the waits on them',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: [...WATCHED_DETAIL_TYPES],
        resources: serviceArns,
      },
      // A late event is worthless (the wait has polled since): retry briefly, keep nothing.
      targets: [new targets.LambdaFunction(this.ecsEvents, { retryAttempts: 2, maxEventAge: Duration.minutes(5) })],
    });
  }

  /**
   * Both the wait step and ecs-events answer the machine's callback tasks (SendTaskSuccess). The
   * grant names the machine's ARN from its name, not a reference to it: the machine already
   * depends on the wait step's function, so a reference back would be a CloudFormation cycle.
   */
  allowReleasesFor(stateMachineName: string): void {
    const arn = Stack.of(this).formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const statement = new iam.PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: [arn] });
    this.watchStability.addToRolePolicy(statement);
    this.ecsEvents.addToRolePolicy(statement);
  }
}
