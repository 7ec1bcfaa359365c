import { ArnFormat, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { HealthPlan } from '../handlers/health/plan.ts';
import { HEALTH_CHECK_HANDLER_NAMES, P2_HANDLER_NAMES, type CheckHandlerName } from '../handlers/registry-checks.ts';
import { HealthCheck } from '../workflows/health-check.ts';
import { P2Minor } from '../workflows/p2-minor.ts';
import { approvalsContextSchema } from './approvals.ts';
import { logGroupOf, type StackConfig } from './config.ts';
import { handlerFunction } from './handler-function.ts';
import type { IncidentRecords } from './incidents.ts';

export interface ChecksProps {
  config: StackConfig;
  /** P0's assess function: P2's first state (same start input, read-only). */
  assess: IFunction;
  /** The Slack secret the approvals use: P2's summary and the health report go through the same bot. */
  slackSecret: secretsmanager.ISecret;
}

/**
 * P2 "Minor Issues" and the daily health check: their functions (each with only the rights it
 * needs), both state machines, and the EventBridge Scheduler schedule that starts the health check.
 * Call `connect` once the incident records exist: P2 writes its scheduled fix there, and the health
 * check opens incidents through start-incident's path.
 */
export class Checks extends Construct {
  readonly functions: Record<CheckHandlerName, NodejsFunction>;
  readonly p2: P2Minor;
  readonly healthCheck: HealthCheck;
  readonly p2Name: string;
  readonly healthCheckName: string;
  readonly schedule: scheduler.Schedule | undefined;
  readonly plan: HealthPlan;

  constructor(scope: Construct, id: string, props: ChecksProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    const approvals = approvalsContextSchema.safeParse(this.node.tryGetContext('incidentFlowsApprovals') ?? {});
    const slack = {
      SLACK_SECRET_ARN: props.slackSecret.secretArn,
      SLACK_CHANNEL: approvals.success ? approvals.data.channel : '#incidents',
    };
    const env: Partial<Record<CheckHandlerName, Record<string, string>>> = {
      'schedule-fix': { ...slack, INCIDENTS_TABLE: `${config.prefix}-incidents` },
      'report-health': slack,
    };
    this.functions = Object.fromEntries(
      [...P2_HANDLER_NAMES, ...HEALTH_CHECK_HANDLER_NAMES].map((name) => [
        name,
        handlerFunction(this, name, { environment: { LOG_LEVEL: config.logLevel, ...env[name] } }),
      ]),
    ) as Record<CheckHandlerName, NodejsFunction>;
    const fns = this.functions;

    // P2 reads the WARN lines of the configured services' log groups, nothing else.
    fns['summarize-warnings'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['logs:FilterLogEvents'],
        resources: config.services.map((s) => stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: `${logGroupOf(s)}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
      }),
    );
    props.slackSecret.grantRead(fns['schedule-fix']);
    props.slackSecret.grantRead(fns['report-health']);

    // The health check reads exactly what it is configured to check.
    fns['check-services'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeServices'],
        resources: config.services.map((s) => stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${config.cluster}/${s.name}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME })),
      }),
    );
    const hc = config.healthCheck;
    if (hc.functions.length) {
      fns['check-functions'].addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['lambda:GetFunction', 'lambda:InvokeFunction'],
          resources: hc.functions.map((f) => stack.formatArn({ service: 'lambda', resource: 'function', resourceName: f, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        }),
      );
    }
    if (hc.tables.length) {
      fns['check-tables'].addToRolePolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:DescribeTable'], resources: hc.tables.map((t) => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: t })) }),
      );
    }
    // GetMetricData supports no resource-level permissions: '*' is the only valid resource.
    fns['check-metrics'].addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));

    this.p2Name = `${config.prefix}-p2-minor`;
    this.p2 = new P2Minor(this, 'P2Minor', {
      assess: props.assess,
      summarizeWarnings: fns['summarize-warnings'],
      scheduleFix: fns['schedule-fix'],
      maintenanceWindow: config.maintenanceWindow,
      stateMachineName: this.p2Name,
    });

    const { schedule, scheduleTimezone, scheduled, ...checks } = hc;
    this.plan = { ...checks, cluster: config.cluster, services: config.services.map((s) => s.name) };
    this.healthCheckName = `${config.prefix}-health-check`;
    this.healthCheck = new HealthCheck(this, 'HealthCheck', {
      functions: fns,
      plan: this.plan,
      stateMachineName: this.healthCheckName,
    });
    // Daily (configurable), and startable on demand from the console or `incident-flows start health-check`.
    this.schedule = scheduled
      ? new scheduler.Schedule(this, 'DailyHealthCheck', {
          description: 'incident-flows: the runbook\'s daily health check (health-check.sh and the Monitoring Review)',
          schedule: scheduler.ScheduleExpression.expression(schedule, TimeZone.of(scheduleTimezone)),
          target: new schedulerTargets.StepFunctionsStartExecution(this.healthCheck.stateMachine, {
            input: scheduler.ScheduleTargetInput.fromObject({ trigger: { kind: 'schedule' } }),
            retryAttempts: 3,
            maxEventAge: Duration.hours(1),
          }),
        })
      : undefined;
  }

  /** P2 records its scheduled fix on the incident; the health check opens incidents through start-incident's path. */
  connect(incidents: IncidentRecords, machineNames: Record<string, string>): void {
    incidents.grantItems(this.functions['schedule-fix'], 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    incidents.allowRaising(this.functions['raise-health-incidents'], machineNames);
  }
}
