import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import * as z from 'zod';
import { alarmRouteSchema, SEVERITIES, type Severity } from '../handlers/commons/alarms.ts';
import { RECONCILE_INDEX } from '../handlers/safety/restore-points.ts';
import type { StackConfig } from './config.ts';
import { handlerFunction } from './handler-function.ts';
import type { Paging } from './paging.ts';


/**
 * What a team may tune about alarm starts, in cdk.json → context.incidentFlowsIncidents (all optional):
 * routes (alarm name prefix → service, severity), procedures (severity → workflow), budget, lock
 * and cooldown, tag routing, the Slack channel for reports.
 */
export const incidentsContextSchema = z
  .object({
    /** Default: one route per configured service, "<service>-" → P0. */
    routes: z.array(alarmRouteSchema).optional(),
    /**
     * Severity → workflow name. Default: each severity's own procedure where the stack has it
     * (P0 → p0-system-down, P1 → p1-degraded, P2 → p2-minor); "P1": "p0-system-down" runs P0 for P1 alarms.
     */
    procedures: z.partialRecord(z.enum(SEVERITIES), z.string().min(1)).optional(),
    /** Read the alarm's tags (incident-flows:service, incident-flows:severity) when no prefix matches. */
    tagRouting: z.boolean().default(false),
    remediationBudget: z.number().int().min(0).default(3),
    remediationWindowSeconds: z.number().int().min(60).default(3600),
    lockSeconds: z.number().int().min(60).default(7200),
    cooldownSeconds: z.number().int().min(0).default(300),
    slackChannel: z.string().min(1).optional(),
    /** Secrets Manager secret with {"signingSecret", "botToken"} (the one the approvals use). */
    slackSecretArn: z.string().startsWith('arn:').optional(),
  })
  .strict();

export type IncidentsContext = z.output<typeof incidentsContextSchema>;

/** Each severity's own procedure, where the stack has it. */
const DEFAULT_PROCEDURES: Record<Severity, string> = { P0: 'p0-system-down', P1: 'p1-degraded', P2: 'p2-minor' };

/** Room after the longest execution for its end to be recorded and the lock released. */
const LOCK_MARGIN_SECONDS = 15 * 60;

export interface IncidentRecordsProps {
  config: StackConfig;
  /** Our state machines by workflow name, e.g. { "p0-system-down": p0.stateMachine }. */
  workflows: Record<string, sfn.IStateMachine>;
  /** Overrides context.incidentFlowsIncidents. */
  settings?: z.input<typeof incidentsContextSchema>;
  /**
   * The longest any of the workflows may run. The service lock must outlive it, or a later alarm
   * would start a second execution while the first still waits (e.g. for the VP's approval).
   */
  longestExecution?: Duration;
  /** Where record-incident and the reconciler page people. */
  paging: Paging;
  /**
   * A function a workflow calls to raise its incident's severity through start-incident's path
   * (handlers/escalate-incident.ts), with the state machines' names: it is referenced by a state
   * machine it may start, so its ARNs are built from names, not from the machines (no cycle).
   */
  escalation?: { fn: NodejsFunction; machineNames: Record<string, string> };
}

/**
 * Alarm-triggered starts and the incident record: the incidents table, the start-incident and
 * record-incident functions, and the two EventBridge rules that invoke them.
 */
export class IncidentRecords extends Construct {
  readonly table: dynamodb.Table;
  readonly startIncident: NodejsFunction;
  readonly recordIncident: NodejsFunction;
  /** Every 5 minutes: what an execution's lost end left undone (handlers/reconcile.ts). */
  readonly reconcile: NodejsFunction;
  readonly reconcileRule: events.Rule;
  readonly alarmRule: events.Rule;
  readonly executionEndRule: events.Rule;
  readonly deadLetters: sqs.Queue;
  /** How long a service lock lasts: longer than the longest execution. */
  readonly lockSeconds: number;
  /** The alarm-name prefixes that open incidents (ALARM_ROUTES). */
  readonly alarmPrefixes: string[];
  /** What a function needs to open incidents through start-incident's path (see allowRaising). */
  private raising: { environment: Record<string, string>; procedures: Partial<Record<Severity, string>> } | undefined;

  constructor(scope: Construct, id: string, props: IncidentRecordsProps) {
    super(scope, id);
    const { config } = props;
    const settings = parseContext(props.settings ?? this.node.tryGetContext('incidentFlowsIncidents'));
    this.lockSeconds = Math.max(settings.lockSeconds, (props.longestExecution?.toSeconds() ?? 0) + LOCK_MARGIN_SECONDS);
    // By name, the longest prefix wins: "<service>-p1-…" and "<service>-p2-…" alarms run P1 and P2, any other "<service>-…" P0.
    const routes =
      settings.routes ??
      config.services.flatMap((s) => [
        { alarmPrefix: `${s.name}-`, service: s.name, severity: 'P0' as Severity },
        { alarmPrefix: `${s.name}-p1-`, service: s.name, severity: 'P1' as Severity },
        { alarmPrefix: `${s.name}-p2-`, service: s.name, severity: 'P2' as Severity },
      ]);
    this.alarmPrefixes = routes.map((r) => r.alarmPrefix);
    const configured = settings.procedures ?? Object.fromEntries(Object.entries(DEFAULT_PROCEDURES).filter(([, w]) => w in props.workflows));
    const procedures: Partial<Record<Severity, sfn.IStateMachine>> = {};
    for (const [severity, workflow] of Object.entries(configured) as [Severity, string][]) {
      const machine = props.workflows[workflow];
      if (!machine) throw new Error(`context incidentFlowsIncidents.procedures.${severity}: no workflow "${workflow}" (have: ${Object.keys(props.workflows).join(', ')})`);
      procedures[severity] = machine;
    }

    this.table = new dynamodb.Table(this, 'Table', {
      tableName: `${config.prefix}-incidents`,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Sparse: only what the reconciler must look at (restore points, open locks) carries the key.
    this.table.addGlobalSecondaryIndex({ indexName: RECONCILE_INDEX, partitionKey: { name: 'reconcile', type: dynamodb.AttributeType.STRING } });

    const environment = {
      INCIDENTS_TABLE: this.table.tableName,
      DEFAULT_CLUSTER: config.cluster,
      // The allow-list: an alarm routed (by name, tag or dimension) elsewhere starts and locks nothing.
      MANAGED_SERVICES: config.services.map((s) => s.name).join(','),
      ALARM_ROUTES: JSON.stringify(routes),
      ...(settings.tagRouting ? { ALARM_TAG_KEYS: JSON.stringify({}) } : {}),
      PROCEDURES: Stack.of(this).toJsonString(Object.fromEntries(Object.entries(procedures).map(([s, m]) => [s, m.stateMachineArn]))),
      REMEDIATION_BUDGET: String(settings.remediationBudget),
      REMEDIATION_WINDOW_SECONDS: String(settings.remediationWindowSeconds),
      INCIDENT_LOCK_SECONDS: String(this.lockSeconds),
      INCIDENT_COOLDOWN_SECONDS: String(settings.cooldownSeconds),
      SERVICE_INPUTS: JSON.stringify(Object.fromEntries(config.services.filter((s) => s.logGroup).map((s) => [s.name, { logGroup: s.logGroup }]))),
      LOG_LEVEL: config.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };
    this.startIncident = this.handler('start-incident', environment);
    if (props.escalation) this.configureEscalation(props.escalation, environment, configured);
    this.raising = { environment, procedures: configured };
    const slack = {
      ...(settings.slackChannel ? { SLACK_CHANNEL: settings.slackChannel } : {}),
      ...(settings.slackSecretArn ? { SLACK_SECRET_ARN: settings.slackSecretArn } : {}),
    };
    this.recordIncident = this.handler('record-incident', { ...environment, ...slack });
    this.reconcile = this.handler('reconcile', { ...environment, ...slack });

    // Least privilege: items only, no scans; deletes only of restore points (record-incident, reconcile).
    this.grantItems(this.startIncident, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.grantItems(this.recordIncident, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    this.grantItems(this.reconcile, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    // The reconciler finds its work through the sparse index; nothing else queries.
    this.reconcile.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${this.table.tableArn}/index/${RECONCILE_INDEX}`] }));
    for (const machine of new Set(Object.values(procedures))) machine.grantStartExecution(this.startIncident);
    for (const machine of Object.values(props.workflows)) {
      const read = new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:GetExecutionHistory'], resources: [executionArns(this, machine)] });
      this.recordIncident.addToRolePolicy(read);
      this.reconcile.addToRolePolicy(read);
      // Joining an incident checks that its execution is really still running.
      this.startIncident.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionArns(this, machine)] }));
    }
    // Both settle restore points: read the service, put its desired count back.
    const serviceArns = config.services.map((s) =>
      Stack.of(this).formatArn({ service: 'ecs', resource: 'service', resourceName: `${config.cluster}/${s.name}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    );
    for (const fn of [this.recordIncident, this.reconcile]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: serviceArns }));
      props.paging.allowPaging(fn);
    }
    // The reconciler re-checks the alarms of incidents closed as recovered and reopens through start-incident's code.
    this.reconcile.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms', ...(settings.tagRouting ? ['cloudwatch:ListTagsForResource'] : [])],
        resources: [Stack.of(this).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    this.grantItems(this.reconcile, 'dynamodb:PutItem');
    // Scaling back after P1 (handlers/safety/scale-back.ts): the quiet period's metrics, and the
    // scalable target's minimum where autoscaling manages the service. GetMetricData and
    // DescribeScalableTargets take no resource-level permissions; RegisterScalableTarget is scoped
    // by its condition keys to ECS services' desired counts.
    this.reconcile.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData', 'application-autoscaling:DescribeScalableTargets'], resources: ['*'] }));
    this.reconcile.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['application-autoscaling:RegisterScalableTarget'],
        resources: [Stack.of(this).formatArn({ service: 'application-autoscaling', resource: 'scalable-target', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
        conditions: { StringEquals: { 'application-autoscaling:service-namespace': 'ecs', 'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount' } },
      }),
    );
    for (const machine of new Set(Object.values(procedures))) machine.grantStartExecution(this.reconcile);
    this.reconcileRule = new events.Rule(this, 'ReconcileEveryFiveMinutes', {
      description: 'incident-flows: settle what lost execution ends left undone (restore points, open incidents)',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.reconcile, { retryAttempts: 0 })],
    });
    if (settings.tagRouting) {
      this.startIncident.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['cloudwatch:ListTagsForResource'],
          resources: [Stack.of(this).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        }),
      );
    }
    if (settings.slackSecretArn) {
      this.recordIncident.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [settings.slackSecretArn] }));
    }

    // Events that could not be delivered, or whose handling kept failing, land here instead of vanishing.
    this.deadLetters = new sqs.Queue(this, 'UndeliveredEvents', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue (EventBridge targets\' and Lambda\'s on-failure destination); an alarm pages on any message in it.',
    });
    const target = (fn: lambda.IFunction) => new targets.LambdaFunction(fn, { retryAttempts: 8, maxEventAge: Duration.hours(2), deadLetterQueue: this.deadLetters });
    // EventBridge's retries and DLQ cover *delivering* the event; Lambda then runs it asynchronously
    // and, after its own retries, would drop an event whose function kept failing. Keep those too.
    for (const fn of [this.startIncident, this.recordIncident]) {
      fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1), onFailure: new destinations.SqsDestination(this.deadLetters) });
    }

    // Into ALARM only. Without tag routing, only alarms that a route can map reach the function.
    this.alarmRule = new events.Rule(this, 'AlarmStartsIncident', {
      description: 'incident-flows: a CloudWatch alarm going into ALARM opens (or joins) an incident',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: {
          state: { value: ['ALARM'] },
          ...(settings.tagRouting ? {} : { alarmName: coveringPrefixes(routes.map((r) => r.alarmPrefix)).map((prefix) => ({ prefix })) }),
        },
      },
      targets: [target(this.startIncident)],
    });
    this.executionEndRule = new events.Rule(this, 'ExecutionEndRecordsIncident', {
      description: 'incident-flows: every end of our executions (including failed, timed out, aborted) is recorded and reported',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: Object.values(props.workflows).map((m) => m.stateMachineArn),
        },
      },
      targets: [target(this.recordIncident)],
    });
  }

  /**
   * Item rights on the incidents table itself. `table.grant` would add `<table>/index/*` too (the
   * table has an index): only the reconciler queries, and only its index (granted above).
   */
  grantItems(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }

  /**
   * Lets another function open (or join) incidents through start-incident's code, e.g. the health
   * check's failing lines (infra/checks.ts): the same environment and grants as the escalation.
   */
  allowRaising(fn: NodejsFunction, machineNames: Record<string, string>): void {
    if (!this.raising) throw new Error('IncidentRecords.allowRaising: called before the construct was built');
    this.configureEscalation({ fn, machineNames }, this.raising.environment, this.raising.procedures);
  }

  private configureEscalation(escalation: NonNullable<IncidentRecordsProps['escalation']>, environment: Record<string, string>, procedures: Partial<Record<Severity, string>>): void {
    const stack = Stack.of(this);
    const machineArn = (name: string) => stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const byName: Record<string, string> = {};
    for (const [severity, workflow] of Object.entries(procedures) as [Severity, string][]) {
      const name = escalation.machineNames[workflow];
      if (name) byName[severity] = machineArn(name);
    }
    for (const [k, v] of Object.entries({ ...environment, PROCEDURES: JSON.stringify(byName) })) escalation.fn.addEnvironment(k, v);
    this.grantItems(escalation.fn, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    const names = [...new Set(Object.values(escalation.machineNames))];
    escalation.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: Object.values(byName) }));
    escalation.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: names.map((n) => stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${n}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
      }),
    );
  }

  private handler(name: 'start-incident' | 'record-incident' | 'reconcile', environment: Record<string, string>): NodejsFunction {
    // Recording an end (and settling its restore point) and reconciling must run under account-wide throttling.
    return handlerFunction(this, name, { environment, ...(name === 'start-incident' ? {} : { reservedConcurrency: 5 }) });
  }
}

/** The prefixes an alarm rule needs: "ledger-p1-" is already matched by "ledger-". */
function coveringPrefixes(prefixes: string[]): string[] {
  const unique = [...new Set(prefixes)];
  return unique.filter((p) => !unique.some((q) => q !== p && p.startsWith(q)));
}

function executionArns(scope: Construct, machine: sfn.IStateMachine): string {
  // arn:aws:states:<region>:<account>:execution:<state machine name>:*
  const stack = Stack.of(scope);
  const name = stack.splitArn(machine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
  return stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

function parseContext(raw: unknown): IncidentsContext {
  const parsed = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  const result = incidentsContextSchema.safeParse(parsed ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`context incidentFlowsIncidents.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
