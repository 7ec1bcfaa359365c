import { Stack, type StackProps, ArnFormat } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { HANDLER_NAMES, type HandlerName } from '../handlers/registry.ts';
import { P0SystemDown } from '../workflows/p0-system-down.ts';
import { Approvals } from './approvals.ts';
import { logGroupOf, serviceSettingsOf, type StackConfig } from './config.ts';
import { handlerFunction } from './handler-function.ts';
import { IncidentRecords } from './incidents.ts';
import { Paging } from './paging.ts';
import { StabilityWatches } from './stability.ts';


/** The steps that put a service back must run when the account is throttled (issue 8, item 9). */
const FAIL_SAFES = new Set<HandlerName>(['restore-desired-count', 'watch-stability']);
export const FAIL_SAFE_CONCURRENCY = 5;

export interface IncidentFlowsStackProps extends StackProps {
  config: StackConfig;
}

/** The handlers as Lambda functions, the P0 state machine, and least-privilege grants between them. */
export class IncidentFlowsStack extends Stack {
  readonly functions: Record<HandlerName, NodejsFunction>;
  readonly p0: P0SystemDown;
  readonly approvals: Approvals;
  readonly stability: StabilityWatches;
  readonly paging: Paging;
  readonly incidents: IncidentRecords;

  constructor(scope: Construct, id: string, props: IncidentFlowsStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.functions = Object.fromEntries(HANDLER_NAMES.map((name) => [name, this.handlerFunction(name, config)])) as Record<
      HandlerName,
      NodejsFunction
    >;
    this.grantLeastPrivilege(config);
    // Waits released by ECS's own events, with a safety-net poll (handlers/watch-stability.ts).
    this.stability = new StabilityWatches(this, 'Stability', { config, watchStability: this.functions['watch-stability'] });

    this.approvals = new Approvals(this, 'Approvals', { config });
    const p0Name = `${config.prefix}-p0-system-down`;
    this.p0 = new P0SystemDown(this, 'P0SystemDown', {
      functions: this.functions,
      stateMachineName: p0Name,
      requestApproval: this.approvals.requestApproval,
      policy: this.approvals.policy,
    });
    this.approvals.allowDecisionsFor(this.p0.stateMachine);
    this.stability.allowReleasesFor(p0Name);
    this.paging = new Paging(this, 'Paging', { config });
    // Alarm starts (one incident per service, remediation budget) and the incident record (docs/incidents.md).
    this.incidents = new IncidentRecords(this, 'Incidents', {
      config,
      workflows: { 'p0-system-down': this.p0.stateMachine },
      longestExecution: this.p0.timeout,
      paging: this.paging,
    });
    // The restart writes the count to come back to before its first change; the fail-safe reads it.
    this.incidents.table.grant(this.functions['restart-service'], 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem');
    // A console start's restart takes the service's lock for as long as the alarm starts do.
    this.functions['restart-service'].addEnvironment('INCIDENT_LOCK_SECONDS', String(this.incidents.lockSeconds));
    this.incidents.table.grant(this.functions['restore-desired-count'], 'dynamodb:GetItem');
  }

  private handlerFunction(name: HandlerName, config: StackConfig): NodejsFunction {
    return handlerFunction(this, name, {
      ...(FAIL_SAFES.has(name) ? { reservedConcurrency: FAIL_SAFE_CONCURRENCY } : {}),
      environment: {
        DEFAULT_CLUSTER: config.cluster,
        MANAGED_SERVICES: config.services.map((s) => s.name).join(','),
        EXPECTED_START_SECONDS: String(config.expectedStartSeconds),
        // Every start (alarm, console, CLI) gets the service's configured log group, health URL, restart mode and expected start.
        SERVICE_SETTINGS: JSON.stringify(serviceSettingsOf(config)),
        WATCHES_TABLE: `${config.prefix}-stability-watches`,
        INCIDENTS_TABLE: `${config.prefix}-incidents`,
        LOG_LEVEL: config.logLevel,
      },
    });
  }

  private grantLeastPrivilege(config: StackConfig): void {
    const serviceArns = config.services.map((s) =>
      this.formatArn({ service: 'ecs', resource: 'service', resourceName: `${config.cluster}/${s.name}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    );
    const describe = new iam.PolicyStatement({ actions: ['ecs:DescribeServices'], resources: serviceArns });
    const update = new iam.PolicyStatement({ actions: ['ecs:UpdateService'], resources: serviceArns });
    const fns = this.functions;
    for (const name of HANDLER_NAMES) {
      if (name !== 'review-logs') fns[name].addToRolePolicy(describe);
    }
    // Stability means healthy tasks, not just running ones: list and read the cluster's tasks.
    const clusterArn = this.formatArn({ service: 'ecs', resource: 'cluster', resourceName: config.cluster });
    const readTasks = [
      new iam.PolicyStatement({ actions: ['ecs:ListTasks'], resources: ['*'], conditions: { ArnEquals: { 'ecs:cluster': clusterArn } } }),
      new iam.PolicyStatement({
        actions: ['ecs:DescribeTasks'],
        resources: [this.formatArn({ service: 'ecs', resource: 'task', resourceName: `${config.cluster}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
      }),
      // DescribeTaskDefinition supports no resource-level permissions.
      new iam.PolicyStatement({ actions: ['ecs:DescribeTaskDefinition'], resources: ['*'] }),
    ];
    for (const statement of readTasks) {
      fns['watch-stability'].addToRolePolicy(statement);
      fns.verify.addToRolePolicy(statement);
    }
    // Target health and the target groups' settings (health-check cycle, deregistration delay) that size a wait.
    // These ELBv2 Describe* actions support no resource-level permissions.
    const readTargets = new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeTargetHealth'], resources: ['*'] });
    fns['watch-stability'].addToRolePolicy(readTargets);
    fns.verify.addToRolePolicy(readTargets);
    fns['restart-service'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes'], resources: ['*'] }),
    );
    fns['restart-service'].addToRolePolicy(update);
    fns['restore-desired-count'].addToRolePolicy(update);
    // LookupEvents supports no resource-level permissions: '*' is the only valid resource.
    fns['inspect-changes'].addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudtrail:LookupEvents'], resources: ['*'] }));
    fns['review-logs'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['logs:FilterLogEvents'],
        resources: config.services.map((s) =>
          this.formatArn({ service: 'logs', resource: 'log-group', resourceName: `${logGroupOf(s)}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        ),
      }),
    );
  }
}
