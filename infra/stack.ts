import { Stack, type StackProps, ArnFormat } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { HANDLER_NAMES, type HandlerName } from '../handlers/registry.ts';
import { P0SystemDown } from '../workflows/p0-system-down.ts';
import { P1Degraded } from '../workflows/p1-degraded.ts';
import { Deploy } from '../workflows/deploy.ts';
import { Rollback } from '../workflows/rollback.ts';
import { Approvals } from './approvals.ts';
import { Checks } from './checks.ts';
import { logGroupOf, serviceSettingsOf, type StackConfig } from './config.ts';
import { handlerFunction } from './handler-function.ts';
import { IncidentRecords } from './incidents.ts';
import { acknowledgeIamWildcards } from './nag.ts';
import { AutomationObservability } from './observability.ts';
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
  readonly p1: P1Degraded;
  /** Standard Deployment and the Rollback Procedure (workflows/deploy.ts, workflows/rollback.ts). */
  readonly deploy: Deploy;
  readonly rollback: Rollback;
  /** P1's way into start-incident's path when scaling did not help (handlers/escalate-incident.ts). */
  readonly escalateIncident: NodejsFunction;
  readonly approvals: Approvals;
  readonly stability: StabilityWatches;
  readonly paging: Paging;
  readonly incidents: IncidentRecords;
  /** P2 "Minor Issues", the daily health check and its schedule (infra/checks.ts). */
  readonly checks: Checks;
  /** Alarms on the automation itself, execution logs and tracing, the dashboard (infra/observability.ts). */
  readonly observability: AutomationObservability;

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
    const rollbackName = `${config.prefix}-rollback`;
    this.rollback = new Rollback(this, 'Rollback', {
      functions: this.functions,
      stateMachineName: rollbackName,
      requestApproval: this.approvals.requestApproval,
      policy: this.approvals.policy,
    });
    const p0Name = `${config.prefix}-p0-system-down`;
    this.p0 = new P0SystemDown(this, 'P0SystemDown', {
      functions: this.functions,
      stateMachineName: p0Name,
      requestApproval: this.approvals.requestApproval,
      policy: this.approvals.policy,
      // P0 rolls back a bad deployment through the rollback workflow (handlers/choose-fix.ts).
      rollback: { stateMachine: this.rollback.stateMachine, timeout: this.rollback.timeout },
    });
    this.approvals.allowDecisionsFor(this.p0.stateMachine);
    this.stability.allowReleasesFor(p0Name);
    // Its environment and grants come from the incident records below, by state machine name.
    this.escalateIncident = handlerFunction(this, 'escalate-incident', { environment: { LOG_LEVEL: config.logLevel } });
    const p1Name = `${config.prefix}-p1-degraded`;
    this.p1 = new P1Degraded(this, 'P1Degraded', {
      functions: this.functions,
      escalateIncident: this.escalateIncident,
      stateMachineName: p1Name,
      requestApproval: this.approvals.requestApproval,
      policy: this.approvals.policy,
      recoveryMinutes: Math.max(...config.services.map((s) => s.scaling?.recoveryMinutes ?? 20)),
    });
    this.approvals.allowDecisionsFor(this.p1.stateMachine);
    this.stability.allowReleasesFor(p1Name);
    const deployName = `${config.prefix}-deploy`;
    this.deploy = new Deploy(this, 'Deploy', {
      functions: this.functions,
      rollback: this.rollback.stateMachine,
      rollbackTimeout: this.rollback.timeout,
      stateMachineName: deployName,
      requestApproval: this.approvals.requestApproval,
      policy: this.approvals.policy,
    });
    for (const [machine, name] of [[this.rollback.stateMachine, rollbackName], [this.deploy.stateMachine, deployName]] as const) {
      this.approvals.allowDecisionsFor(machine);
      this.stability.allowReleasesFor(name);
    }
    this.paging = new Paging(this, 'Paging', { config });
    this.checks = new Checks(this, 'Checks', { config, assess: this.functions.assess, slackSecret: this.approvals.secret });
    // Every workflow by name: the incident records (every end recorded) and the alarms on the automation.
    const workflows = {
      'p0-system-down': this.p0.stateMachine,
      'p1-degraded': this.p1.stateMachine,
      'p2-minor': this.checks.p2.stateMachine,
      // Deployments hold the service like incidents do; every end is recorded, reported and (if people must act) paged.
      deploy: this.deploy.stateMachine,
      rollback: this.rollback.stateMachine,
      // Not an incident procedure: registered so that its every end is recorded and reported too.
      'health-check': this.checks.healthCheck.stateMachine,
    };
    // Alarm starts (one incident per service, remediation budget) and the incident record (docs/incidents.md).
    this.incidents = new IncidentRecords(this, 'Incidents', {
      config,
      workflows,
      longestExecution: [this.p0.timeout, this.p1.timeout, this.deploy.timeout, this.rollback.timeout].reduce((a, b) => (b.toSeconds() > a.toSeconds() ? b : a)),
      paging: this.paging,
      escalation: { fn: this.escalateIncident, machineNames: { 'p0-system-down': p0Name, 'p1-degraded': p1Name } },
    });
    this.checks.connect(this.incidents, { 'p0-system-down': p0Name, 'p1-degraded': p1Name, 'p2-minor': this.checks.p2Name });
    // The restart writes the count to come back to before its first change; the fail-safe reads it.
    this.incidents.grantItems(this.functions['restart-service'], 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem');
    // A console start's restart takes the service's lock for as long as the alarm starts do.
    this.functions['restart-service'].addEnvironment('INCIDENT_LOCK_SECONDS', String(this.incidents.lockSeconds));
    this.incidents.grantItems(this.functions['restore-desired-count'], 'dynamodb:GetItem');
    // P1's scale-out takes the lock and writes its restore point and scale-back like the restart does.
    this.incidents.grantItems(this.functions['scale-out'], 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem');
    this.functions['scale-out'].addEnvironment('INCIDENT_LOCK_SECONDS', String(this.incidents.lockSeconds));
    // Deploy and rollback take the lock and keep the pre-deployment backup in the incidents table.
    this.incidents.grantItems(this.functions['choose-fix'], 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem');
    this.functions['choose-fix'].addEnvironment('INCIDENT_LOCK_SECONDS', String(this.incidents.lockSeconds));
    for (const name of ['prepare-deploy', 'prepare-rollback', 'apply-revision'] as const) {
      this.incidents.grantItems(this.functions[name], 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem');
      this.functions[name].addEnvironment('INCIDENT_LOCK_SECONDS', String(this.incidents.lockSeconds));
    }
    this.observability = new AutomationObservability(this, 'Observability', {
      config,
      paging: this.paging,
      workflows,
      deadLetterQueues: { 'undelivered-events': this.incidents.deadLetters, 'undelivered-decisions': this.approvals.undeliveredDecisions },
      slackApi: this.approvals.api,
      incidentAlarmPrefixes: this.incidents.alarmPrefixes,
    });
    // Last: every grant is made. The wildcards infra/nag.ts explains are acknowledged, any other stays a finding.
    acknowledgeIamWildcards(this);
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

  /**
   * Deploy and rollback: task definitions (Describe/List/Register/Deregister support no resource-level
   * permissions in ECS's Service Authorization Reference, so '*'), passing the task's roles to ECS
   * (RegisterTaskDefinition with taskRoleArn/executionRoleArn needs iam:PassRole, only to ECS tasks),
   * the update, the ALB settings that size the wait, and the alarms the bake watches.
   */
  private grantDeployments(config: StackConfig, update: iam.PolicyStatement): void {
    const fns = this.functions;
    // Whether the execution holding the service (or a nested rollback's parent) is still running: our executions only.
    const describeOurs = new iam.PolicyStatement({
      actions: ['states:DescribeExecution'],
      resources: [this.formatArn({ service: 'states', resource: 'execution', resourceName: `${config.prefix}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    });
    for (const name of ['prepare-deploy', 'prepare-rollback'] as const) fns[name].addToRolePolicy(describeOurs);
    const describeTd = new iam.PolicyStatement({ actions: ['ecs:DescribeTaskDefinition'], resources: ['*'] });
    for (const name of ['prepare-deploy', 'prepare-rollback', 'choose-fix'] as const) fns[name].addToRolePolicy(describeTd);
    const listTd = new iam.PolicyStatement({ actions: ['ecs:ListTaskDefinitions'], resources: ['*'] });
    fns['prepare-rollback'].addToRolePolicy(listTd);
    fns['choose-fix'].addToRolePolicy(listTd);
    fns['prepare-deploy'].addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:RegisterTaskDefinition'], resources: ['*'] }));
    // The new revision carries the old one's tags: tagging on create only, never tagging what exists (ECS "tag on create").
    fns['prepare-deploy'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ecs:TagResource'], resources: ['*'], conditions: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } } }),
    );
    fns['prepare-deploy'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' })],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    fns['discard-revision'].addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:DeregisterTaskDefinition'], resources: ['*'] }));
    fns['apply-revision'].addToRolePolicy(update);
    fns['apply-revision'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes'], resources: ['*'] }),
    );
    // On '*': DescribeAlarms returns composite alarms only to a caller allowed on '*' (CloudWatch API reference).
    const describeAlarms = new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] });
    fns['watch-alarms'].addToRolePolicy(describeAlarms);
    fns['prepare-deploy'].addToRolePolicy(describeAlarms);
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
      fns['verify-deployment'].addToRolePolicy(statement);
      // P0's choice of fix reads the stopped tasks of the failing revision.
      fns['choose-fix'].addToRolePolicy(statement);
    }
    // Target health and the target groups' settings (health-check cycle, deregistration delay) that size a wait.
    // These ELBv2 Describe* actions support no resource-level permissions.
    const readTargets = new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeTargetHealth'], resources: ['*'] });
    fns['watch-stability'].addToRolePolicy(readTargets);
    fns.verify.addToRolePolicy(readTargets);
    fns['verify-deployment'].addToRolePolicy(readTargets);
    this.grantDeployments(config, update);
    fns['restart-service'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes'], resources: ['*'] }),
    );
    fns['restart-service'].addToRolePolicy(update);
    fns['scale-out'].addToRolePolicy(update);
    fns['scale-out'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes'], resources: ['*'] }),
    );
    // CloudWatch GetMetricData supports no resource-level permissions.
    const readMetrics = new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] });
    fns['assess-load'].addToRolePolicy(readMetrics);
    fns['monitor-load'].addToRolePolicy(readMetrics);
    // Application Auto Scaling: Describe* has no resource-level permissions; a scalable target's ARN
    // is opaque (scalable-target/<id>), so RegisterScalableTarget is scoped by its condition keys to
    // ECS services' desired counts (Service Authorization Reference, Application Auto Scaling).
    const describeTargets = new iam.PolicyStatement({ actions: ['application-autoscaling:DescribeScalableTargets'], resources: ['*'] });
    fns['assess-load'].addToRolePolicy(describeTargets);
    fns['scale-out'].addToRolePolicy(describeTargets);
    fns['scale-out'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['application-autoscaling:RegisterScalableTarget'],
        resources: [this.formatArn({ service: 'application-autoscaling', resource: 'scalable-target', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
        conditions: { StringEquals: { 'application-autoscaling:service-namespace': 'ecs', 'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount' } },
      }),
    );
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
