import { Stack, Validations, type App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag's AwsSolutions rules run on every synthesis of the app (`npm run synth`, the tests, the
 * sandbox): a finding nobody acknowledged stops the synthesis with cdk-nag's report.
 *
 * Acknowledgements sit next to their resource with the reason (Validations.of(x).acknowledge), except
 * IAM5's wildcard findings: cdk-nag 3 wants one acknowledgement per finding per policy, so they are
 * made here, from the table below, for the wildcards the table explains and for nothing else.
 */
export function addSecurityChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

const NO_RESOURCE_TYPE = 'no resource type in the Service Authorization Reference';

/**
 * Why an action may name '*' as its resource: mostly because the Service Authorization Reference
 * lists it without a resource type ('*' is then the only resource a statement can name); some are
 * scoped by a condition key instead, which the statement must carry.
 */
export const ON_STAR: Readonly<Record<string, { why: string; condition?: string }>> = {
  'ecs:DescribeTaskDefinition': { why: `${NO_RESOURCE_TYPE}; reads the revision a service runs` },
  'ecs:ListTaskDefinitions': { why: `${NO_RESOURCE_TYPE}; finds the revision to roll back to` },
  'ecs:RegisterTaskDefinition': { why: `${NO_RESOURCE_TYPE}; registers the revision a deployment brings` },
  'ecs:DeregisterTaskDefinition': { why: `${NO_RESOURCE_TYPE}; discards a revision a deployment registered and never used` },
  'ecs:ListTasks': { why: 'only the configured cluster\'s tasks', condition: 'ecs:cluster' },
  'ecs:TagResource': { why: 'tags on a revision being registered only, never on what exists (ECS tag-on-create)', condition: 'ecs:CreateAction' },
  'elasticloadbalancing:DescribeTargetHealth': { why: `${NO_RESOURCE_TYPE}; target health decides stability` },
  'elasticloadbalancing:DescribeTargetGroups': { why: `${NO_RESOURCE_TYPE}; the target groups that size a wait` },
  'elasticloadbalancing:DescribeTargetGroupAttributes': { why: `${NO_RESOURCE_TYPE}; deregistration delay and health-check cycle` },
  'cloudwatch:GetMetricData': { why: `${NO_RESOURCE_TYPE}; CPU, error rates and load` },
  'cloudwatch:DescribeAlarms': {
    why: 'read-only; composite alarms are returned only to a caller allowed on \'*\' (CloudWatch API reference), and a deployment bakes on the team\'s alarms, whatever they are',
  },
  'application-autoscaling:DescribeScalableTargets': { why: `${NO_RESOURCE_TYPE}; the service's autoscaling bounds` },
  'dynamodb:ListStreams': { why: `${NO_RESOURCE_TYPE}; CDK's DynamoDB event source (the approvals stream) lists streams` },
  'cloudtrail:LookupEvents': { why: `${NO_RESOURCE_TYPE}; recent changes to the service` },
  'xray:PutTraceSegments': { why: `${NO_RESOURCE_TYPE}; X-Ray tracing` },
  'xray:PutTelemetryRecords': { why: `${NO_RESOURCE_TYPE}; X-Ray tracing` },
  'xray:GetSamplingRules': { why: `${NO_RESOURCE_TYPE}; X-Ray tracing` },
  'xray:GetSamplingTargets': { why: `${NO_RESOURCE_TYPE}; X-Ray tracing` },
  ...Object.fromEntries(
    ['CreateLogDelivery', 'GetLogDelivery', 'UpdateLogDelivery', 'DeleteLogDelivery', 'ListLogDeliveries', 'PutResourcePolicy', 'DescribeResourcePolicies', 'DescribeLogGroups'].map((a) => [
      `logs:${a}`,
      { why: `${NO_RESOURCE_TYPE}; Step Functions execution logging (vended log delivery)` },
    ]),
  ),
};

/** The region and account as cdk-nag renders them: tokens without an env, literal with one (`cdk synth` has a region). */
const REGION = '(?:<AWS::Region>|[a-z]{2}(?:-[a-z]+)+-\\d)';
const ACCOUNT = '(?:<AWS::AccountId>|\\d{12})';
const arn = (service: string, rest: string) => new RegExp(`^arn:(?:<AWS::Partition>|aws[a-z-]*):${service}:${service === 'iam' ? '' : REGION}:${ACCOUNT}:${rest}$`);

interface WildcardKind {
  /** Matches the wildcard resource as cdk-nag renders it (flattenCfnReference). */
  resource: RegExp;
  /** Every action of every statement naming that resource must match. */
  actions: RegExp;
  /** A condition key each such statement must carry, when the condition is what scopes it. */
  condition?: string;
  reason: string;
}

/** Wildcards in ARNs that name exactly what the automation needs and cannot name more narrowly. */
export const WILDCARD_KINDS: readonly WildcardKind[] = [
  {
    resource: /^<[A-Za-z0-9]+\.Arn>:\*$/,
    actions: /^lambda:InvokeFunction$/,
    reason: 'A state machine\'s LambdaInvoke grant (CDK): one function of ours and its versions and aliases (<function ARN>:*), nothing else.',
  },
  {
    resource: arn('logs', 'log-group:[^*]+:\\*'),
    actions: /^logs:FilterLogEvents$/,
    reason: 'One configured service log group: the trailing :* is its log streams, which FilterLogEvents reads.',
  },
  {
    resource: arn('ecs', 'task/[^*/]+/\\*'),
    actions: /^ecs:DescribeTasks$/,
    reason: 'Tasks of the configured cluster only: task IDs are minted by ECS when tasks start.',
  },
  {
    resource: arn('application-autoscaling', 'scalable-target/\\*'),
    actions: /^application-autoscaling:RegisterScalableTarget$/,
    condition: 'application-autoscaling:service-namespace',
    reason: 'Scalable-target ARNs are opaque IDs; the condition keys confine it to ECS services\' desired counts.',
  },
  {
    resource: arn('states', 'execution:.+\\*'),
    actions: /^states:(DescribeExecution|GetExecutionHistory|StopExecution)$/,
    reason: 'Executions of this stack\'s own state machines (by name): execution names are minted when an execution starts.',
  },
  {
    resource: arn('iam', 'role/\\*'),
    actions: /^iam:PassRole$/,
    condition: 'iam:PassedToService',
    reason: 'The task and execution roles a registered revision names are the team\'s, unknown to the stack; passed only to ECS tasks (iam:PassedToService).',
  },
  {
    resource: arn('cloudwatch', 'alarm:\\*'),
    actions: /^cloudwatch:(DescribeAlarms|ListTagsForResource)$/,
    reason: 'Reads the alarms incidents were opened from, which any route may name: this account and region\'s alarms, read-only.',
  },
];

type Statement = { Effect?: string; Action?: string | string[]; Resource?: unknown; Condition?: Record<string, Record<string, unknown>> };
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const conditionKeys = (s: Statement) => Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));

/** Why the statements on '*' may be there, or undefined if any of their actions is not explained. */
export function reasonForStar(statements: Statement[]): string | undefined {
  const why = new Set<string>();
  for (const s of statements) {
    for (const action of list(s.Action)) {
      const entry = ON_STAR[action];
      if (!entry || (entry.condition && !conditionKeys(s).includes(entry.condition))) return undefined;
      why.add(`${action} (${entry.why}${entry.condition ? `; condition ${entry.condition}` : ''})`);
    }
  }
  return `'*' only for these actions: ${[...why].sort().join('; ')}.`;
}

/** Why a wildcard ARN may be there, or undefined if it is not one the table explains. */
export function reasonForWildcard(resource: string, statements: Statement[]): string | undefined {
  const kind = WILDCARD_KINDS.find((k) => k.resource.test(resource));
  if (!kind) return undefined;
  const fits = statements.every((s) => list(s.Action).every((a) => kind.actions.test(a)) && (!kind.condition || conditionKeys(s).includes(kind.condition)));
  return fits ? kind.reason : undefined;
}

/**
 * Acknowledges each IAM5 wildcard finding of each IAM policy under the scope that the tables above
 * explain, on that policy, with the reason. Call once every grant is made (end of the stack).
 */
export function acknowledgeIamWildcards(scope: IConstruct): void {
  for (const c of scope.node.findAll()) {
    if (!(c instanceof iam.CfnPolicy)) continue;
    const doc = Stack.of(c).resolve(c.policyDocument) as { Statement?: Statement[] };
    const byResource = new Map<string, Statement[]>();
    for (const s of doc.Statement ?? []) {
      if (s.Effect !== 'Allow') continue;
      for (const r of list(s.Resource)) {
        const flat = flattenCfnReference(r);
        if (flat.includes('*')) byResource.set(flat, [...(byResource.get(flat) ?? []), s]);
      }
    }
    for (const [resource, statements] of byResource) {
      const reason = resource === '*' ? reasonForStar(statements) : reasonForWildcard(resource, statements);
      if (reason) Validations.of(c).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }
  }
}
