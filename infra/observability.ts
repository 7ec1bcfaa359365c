import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StackConfig } from './config.ts';
import { handlerFunctionsIn } from './handler-function.ts';
import type { Paging } from './paging.ts';

/**
 * The workflows whose FAILED end pages on its own. A FAILED P0/P1/P2/health check is the automation
 * handing over (an escalation, a rejection, or an error nobody planned for): record-incident pages
 * with the details, this alarm is the page that does not depend on record-incident or on the
 * best-effort "Execution Status Change" event. Deploy and rollback are left out on purpose: they end
 * FAILED by design when a deployment is rolled back (DeploymentRolledBack) or rejected
 * (ApprovalRejected), which must not page; record-incident reports their ends and pages when people
 * must act (a stopped deploy, a rollback that did not complete).
 */
export const FAILURE_PAGES = ['p0-system-down', 'p1-degraded', 'p2-minor', 'health-check'] as const;

/**
 * Functions whose every error pages. The fail-safes put services back and settle what lost endings
 * left undone (restore-desired-count, watch-stability, record-incident, reconcile); start-incident is
 * the door alarms come in by. Elsewhere handler errors are the workflows' flow control
 * (ServiceBusyError, NoRollbackTargetError, TransientAwsError retried…): what matters of those shows
 * as an execution that failed or timed out, a dead letter, or a 5XX to Slack. They are on the dashboard.
 */
export const ERROR_PAGES = ['restore-desired-count', 'watch-stability', 'record-incident', 'reconcile', 'start-incident'] as const;

/** Step Functions' log-delivery actions: CloudWatch Logs supports no resource-level permissions for them. */
export const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];
/** What a state machine needs to send traces (no resource-level permissions either). */
export const STATE_MACHINE_XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'];

export interface AutomationObservabilityProps {
  config: StackConfig;
  paging: Paging;
  /** Our state machines by workflow name (the same map the incident records use). */
  workflows: Record<string, sfn.StateMachine>;
  /** Dead-letter queues by what they hold, e.g. { 'undelivered-events': queue }. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  /** The HTTP API Slack calls back. */
  slackApi: apigw.HttpApi;
  /**
   * Alarm-name prefixes that start incidents (infra/incidents.ts). None may cover our own alarms'
   * names, or the automation's alarm would start a workflow on a service.
   */
  incidentAlarmPrefixes: string[];
}

export interface AutomationAlarm {
  alarm: cloudwatch.IAlarm;
  /** What the page means, for docs/operations.md and the alarm's description. */
  meaning: string;
}

/**
 * Alarms on the automation itself, routed to the paging topic; execution logging and X-Ray on every
 * state machine; one dashboard. The state machines are built in workflows/: logging and tracing are
 * set here on their CloudFormation resources, with the role rights StateMachine's own `logs` and
 * `tracingEnabled` options would add (aws-stepfunctions/lib/state-machine.ts).
 */
export class AutomationObservability extends Construct {
  /** Every state machine's execution history events (ALL levels, never execution data). */
  readonly executionLogs: logs.LogGroup;
  readonly alarms: Record<string, AutomationAlarm> = {};
  readonly dashboard: cloudwatch.Dashboard;
  /** Every handler function of the stack, by handler name. */
  readonly functions: Record<string, lambda.Function>;
  private readonly alarmNamePrefix: string;
  private readonly pageAction: actions.SnsAction;

  constructor(scope: Construct, id: string, props: AutomationObservabilityProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    this.alarmNamePrefix = `${config.prefix}-automation-`;
    const covering = props.incidentAlarmPrefixes.filter((p) => this.alarmNamePrefix.startsWith(p));
    if (covering.length) {
      throw new Error(
        `incidentFlows.prefix "${config.prefix}": the automation's own alarms ("${this.alarmNamePrefix}…") would match the incident alarm route prefix "${covering[0]}" and start a workflow; choose another prefix`,
      );
    }
    this.pageAction = new actions.SnsAction(props.paging.topic);
    props.paging.allowAlarms(`${this.alarmNamePrefix}*`);
    this.functions = handlerFunctionsIn(stack);

    // One group for every workflow (one entry in the account's log-delivery resource policy). Its
    // name is under /aws/vendedlogs/ as Step Functions recommends, and ends with the stack's id: a
    // retained group of a destroyed stack never blocks a redeploy.
    this.executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: Fn.join('', [`/aws/vendedlogs/states/${config.prefix}-`, Fn.select(2, Fn.split('/', stack.stackId))]),
      retention: logs.RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const machine of Object.values(props.workflows)) this.logAndTrace(machine);

    for (const [workflow, machine] of Object.entries(props.workflows)) {
      const opts = { period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM };
      this.page(`${workflow}-timed-out`, machine.metricTimedOut(opts), `${workflow}: an execution timed out. No Catch ran: check that the service's desired count was restored (record-incident and the reconciler do it; \`incident-flows status\`), then finish the procedure by hand.`);
      this.page(`${workflow}-aborted`, machine.metricAborted(opts), `${workflow}: an execution was stopped (by a person, or with its parent). No Catch ran: check that the service's desired count was restored and its lock released (\`incident-flows status\`).`);
      if ((FAILURE_PAGES as readonly string[]).includes(workflow)) {
        this.page(`${workflow}-failed`, machine.metricFailed(opts), `${workflow}: an execution failed — the automation handed over (escalation, rejection or an unplanned error). record-incident's page has the details; if it did not come, read the execution in the Step Functions console.`);
      }
    }

    for (const [what, queue] of Object.entries(props.deadLetterQueues)) {
      this.page(
        `dead-letters-${what}`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
        `${what}: messages in the dead-letter queue — work the automation could not do after its retries (an alarm that opened no incident, an end not recorded, a decision not delivered). Read them in the SQS console; docs/operations.md says how to replay each kind.`,
      );
    }

    for (const name of ERROR_PAGES) {
      const fn = this.functions[name];
      if (!fn) throw new Error(`AutomationObservability: no handler function "${name}" in the stack`);
      this.page(`errors-${name}`, fn.metricErrors({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }), `${name}: the function failed. ${FAIL_SAFE_MEANING[name]} Read its log group (CloudWatch Logs) and the dashboard.`);
    }

    // Throttles are never by design: any means a handler was starved of concurrency exactly when it
    // ran. One alarm per function says which; one composite alarm pages once for a throttling storm.
    const throttled = Object.entries(this.functions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([name, fn]) =>
          new cloudwatch.Alarm(this, `Throttles-${name}`, {
            alarmName: `${this.alarmNamePrefix}throttles-${name}`,
            alarmDescription: `incident-flows ${name}: throttled (no action of its own: the composite alarm ${this.alarmNamePrefix}handler-throttles pages)`,
            metric: fn.metricThrottles({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
      );
    const throttles = new cloudwatch.CompositeAlarm(this, 'HandlerThrottles', {
      compositeAlarmName: `${this.alarmNamePrefix}handler-throttles`,
      alarmDescription: describe('handler functions were throttled (the account ran out of concurrency, or a fail-safe hit its reserved concurrency). The ALARM children name the functions. Steps may have been retried late or failed: check the running executions.'),
      alarmRule: cloudwatch.AlarmRule.anyOf(...throttled.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
    });
    throttles.addAlarmAction(this.pageAction);
    this.alarms['handler-throttles'] = { alarm: throttles, meaning: 'handler functions were throttled (one child alarm per function names which)' };

    this.page(
      'slack-callback-5xx',
      props.slackApi.metricServerError({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
      'Slack callback API answered 5XX: a click may not have been recorded (Slack shows the person an error). Approve or reject with `incident-flows approve|reject`; read slack-interactions\' log group.',
    );

    this.dashboard = this.buildDashboard(config, props);
  }

  /** Execution history to CloudWatch Logs and X-Ray on a state machine built elsewhere (workflows/). */
  private logAndTrace(machine: sfn.StateMachine): void {
    const cfn = machine.node.defaultChild as sfn.CfnStateMachine;
    cfn.loggingConfiguration = {
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: this.executionLogs.logGroupArn } }],
      // ALL event types, but never the data: inputs and outputs carry task tokens and Slack text.
      level: sfn.LogLevel.ALL,
      includeExecutionData: false,
    };
    cfn.tracingConfiguration = { enabled: true };
    // StateMachine adds exactly these when given `logs` and `tracingEnabled`; the machine depends on its role (and so on these).
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: LOG_DELIVERY_ACTIONS, resources: ['*'] }));
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: STATE_MACHINE_XRAY_ACTIONS, resources: ['*'] }));
  }

  /** An alarm that pages on the first occurrence (> 0 in one period), and never on its own OK. */
  private page(key: string, metric: cloudwatch.IMetric, meaning: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `Alarm-${key}`, {
      alarmName: `${this.alarmNamePrefix}${key}`,
      alarmDescription: describe(meaning),
      metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.pageAction);
    this.alarms[key] = { alarm, meaning };
    return alarm;
  }

  private buildDashboard(config: StackConfig, props: AutomationObservabilityProps): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.prefix}-automation`,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms on the automation',
        alarms: Object.values(this.alarms).map((a) => a.alarm),
        width: 24,
        height: 4,
      }),
    );
    const outcome = (label: string, metric: cloudwatch.Metric, color: string) => metric.with({ label, color, period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM });
    dashboard.addWidgets(
      ...Object.entries(props.workflows).map(
        ([workflow, machine]) =>
          new cloudwatch.GraphWidget({
            title: `${workflow}: executions by outcome`,
            width: 8,
            stacked: true,
            left: [
              outcome('started', machine.metricStarted(), cloudwatch.Color.GREY),
              outcome('succeeded', machine.metricSucceeded(), cloudwatch.Color.GREEN),
              outcome('failed', machine.metricFailed(), cloudwatch.Color.RED),
              outcome('timed out', machine.metricTimedOut(), cloudwatch.Color.ORANGE),
              outcome('aborted', machine.metricAborted(), cloudwatch.Color.PURPLE),
            ],
          }),
      ),
    );
    const fns = Object.entries(this.functions).sort(([a], [b]) => a.localeCompare(b));
    const perFunction = (title: string, metric: (fn: lambda.Function) => cloudwatch.Metric) =>
      new cloudwatch.GraphWidget({ title, width: 8, height: 8, legendPosition: cloudwatch.LegendPosition.RIGHT, left: fns.map(([name, fn]) => metric(fn).with({ label: name })) });
    dashboard.addWidgets(
      perFunction('Handler errors', (fn) => fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })),
      perFunction('Handler throttles', (fn) => fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })),
      perFunction('Handler duration (p99)', (fn) => fn.metricDuration({ period: Duration.minutes(5), statistic: cloudwatch.Stats.p(99) })),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        width: 12,
        left: Object.entries(props.deadLetterQueues).map(([what, q]) => q.metricApproximateNumberOfMessagesVisible({ label: what, period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Slack callback API',
        width: 12,
        left: [
          props.slackApi.metricCount({ label: 'requests', period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          props.slackApi.metricClientError({ label: '4XX (unsigned, stale, unauthorised)', period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          props.slackApi.metricServerError({ label: '5XX', period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        ],
        right: [props.slackApi.metricLatency({ label: 'latency p99', period: Duration.minutes(5), statistic: cloudwatch.Stats.p(99) })],
      }),
    );
    return dashboard;
  }
}

const FAIL_SAFE_MEANING: Record<(typeof ERROR_PAGES)[number], string> = {
  'restore-desired-count': 'A service may be left with fewer tasks than before the incident: check its desired count now (`incident-flows status`).',
  'watch-stability': 'A wait until stable may not end on time: the workflow times the wait out, but check the service and its execution.',
  'record-incident': 'An execution\'s end may not be recorded: its restore point, lock and report wait for the reconciler (5 minutes); a failed event lands in the dead-letter queue.',
  reconcile: 'What lost endings left undone (restore points, open locks, incidents closed as recovered) is not being settled: check `incident-flows status`.',
  'start-incident': 'An alarm may not have opened its incident: Lambda retries it, then the event lands in the dead-letter queue. Start the procedure by hand if the alarm is still firing.',
};

function describe(meaning: string): string {
  return `incident-flows (the automation itself): ${meaning} See docs/operations.md, "Alarms on the automation".`;
}
