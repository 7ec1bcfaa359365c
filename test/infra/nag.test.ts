import { App, Stack, Validations, type PolicyViolation } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { acknowledgeIamWildcards, reasonForStar, reasonForWildcard } from '../../infra/nag.ts';

const CONTEXT = { 'aws:cdk:bundling-stacks': [] };
let app: App;

beforeAll(() => {
  // Reading the construct tree needs no bundles: skip esbuild for every stack.
  ({ app } = buildApp(CONTEXT));
});

const describeViolations = (violations: PolicyViolation[]) =>
  violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);

/** Every acknowledgement in the tree: where it was made, the rule id (cdk-nag's), the reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  test('the synthesized app has zero unacknowledged AwsSolutions findings, errors or warnings', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(describeViolations(report.violations)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('zero findings too with a concrete account and region, as `cdk synth` builds it (ARNs render literally then)', () => {
    const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
    Object.assign(process.env, { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' });
    try {
      const built = buildApp(CONTEXT);
      expect(built.stack.region).toBe('eu-west-1');
      expect(describeViolations(new AwsSolutionsChecks().validateScope(built.app).violations)).toEqual([]);
    } finally {
      for (const [key, value] of [['CDK_DEFAULT_ACCOUNT', saved.account], ['CDK_DEFAULT_REGION', saved.region]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('they run on every synthesis of the app: an unacknowledged finding stops it', () => {
    const built = buildApp(CONTEXT);
    // A queue with neither SSL enforcement nor a dead-letter queue: AwsSolutions-SQS3 and SQS4.
    new sqs.Queue(built.stack, 'Careless', { enforceSSL: false });
    expect(() => built.app.synth()).toThrow(/AwsSolutions-SQS4/);
  });

  test('every acknowledgement gives its reason', () => {
    const all = acknowledgements(app);
    expect(all.length).toBeGreaterThan(0);
    for (const a of all) {
      expect(a.id, a.path).toMatch(/^AwsSolutions-[A-Z]+\d+/);
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThanOrEqual(40);
      expect(a.reason, `${a.path} ${a.id}`).not.toMatch(/\b(todo|tbd|n\/a|fixme)\b/i);
    }
  });

  test('every acknowledgement answers a finding that is really there, on that resource', () => {
    // The same rules with acknowledgements ignored: what the stack would report without them.
    const raw = new AwsSolutionsChecks();
    (raw as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const findings = raw.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
    const stale = acknowledgements(app).filter((a) => !findings.some((f) => f.rule === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`))));
    expect(stale).toEqual([]);
  });

  test('the acknowledgements that are not IAM wildcards sit on their resources: dead-letter queues, the Slack secret, the Slack route, the watches table', () => {
    const byId = (id: string) => acknowledgements(app).filter((a) => a.id === id).map((a) => a.path);
    expect(byId('AwsSolutions-SQS3').sort()).toEqual(['IncidentFlows/Approvals/UndeliveredDecisions', 'IncidentFlows/Incidents/UndeliveredEvents']);
    expect(byId('AwsSolutions-SMG4')).toEqual(['IncidentFlows/Approvals/SlackSecret']);
    expect(byId('AwsSolutions-APIG4')).toEqual(['IncidentFlows/Approvals/SlackApi/POST--slack--interactions']);
    expect(byId('AwsSolutions-DDB3')).toEqual(['IncidentFlows/Stability/Table']);
    // What was fixed rather than acknowledged stays fixed.
    const ids = new Set(acknowledgements(app).map((a) => a.id.replace(/\[.*$/, '')));
    for (const fixed of ['AwsSolutions-IAM4', 'AwsSolutions-SF1', 'AwsSolutions-SF2', 'AwsSolutions-APIG1', 'AwsSolutions-SQS4']) expect(ids).not.toContain(fixed);
  });

  test('IAM wildcards are acknowledged per policy, only where the table explains every action on them', () => {
    const wildcards = acknowledgements(app).filter((a) => a.id.startsWith('AwsSolutions-IAM5['));
    expect(wildcards.length).toBeGreaterThan(0);
    for (const a of wildcards) expect(a.path, a.id).toMatch(/\/DefaultPolicy\/Resource$/);
    // Each wildcard the brief names is among them, with the actions it is for.
    const star = wildcards.filter((a) => a.id === 'AwsSolutions-IAM5[Resource::*]').map((a) => a.reason).join(' ');
    for (const action of ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition', 'cloudtrail:LookupEvents', 'cloudwatch:GetMetricData', 'cloudwatch:DescribeAlarms', 'elasticloadbalancing:DescribeTargetHealth', 'xray:PutTraceSegments', 'logs:CreateLogDelivery']) {
      expect(star).toContain(action);
    }
  });
});

describe('what the IAM wildcard table accepts', () => {
  test("'*' only for actions with no resource type, or scoped by the condition the table names", () => {
    expect(reasonForStar([{ Effect: 'Allow', Action: ['ecs:DescribeTaskDefinition', 'xray:PutTraceSegments'], Resource: '*' }])).toMatch(/ecs:DescribeTaskDefinition.*xray:PutTraceSegments/);
    expect(reasonForStar([{ Effect: 'Allow', Action: 'ecs:DescribeTaskDefinition', Resource: '*' }, { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }])).toBeUndefined();
    expect(reasonForStar([{ Effect: 'Allow', Action: 'ecs:ListTasks', Resource: '*' }])).toBeUndefined();
    expect(reasonForStar([{ Effect: 'Allow', Action: 'ecs:ListTasks', Resource: '*', Condition: { ArnEquals: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:1:cluster/c' } } }])).toContain('ecs:cluster');
    expect(reasonForStar([{ Effect: 'Allow', Action: 'ecs:TagResource', Resource: '*' }])).toBeUndefined();
  });

  test('wildcard ARNs only of the kinds the table names, for the actions it names', () => {
    const passRole = 'arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*';
    expect(reasonForWildcard(passRole, [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: passRole, Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } }])).toBeDefined();
    expect(reasonForWildcard(passRole, [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: passRole }])).toBeUndefined();
    const tasks = 'arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/acme-cluster/*';
    expect(reasonForWildcard(tasks, [{ Effect: 'Allow', Action: 'ecs:DescribeTasks', Resource: tasks }])).toBeDefined();
    expect(reasonForWildcard(tasks, [{ Effect: 'Allow', Action: ['ecs:DescribeTasks', 'ecs:StopTask'], Resource: tasks }])).toBeUndefined();
    expect(reasonForWildcard('arn:<AWS::Partition>:s3:::bucket/*', [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x' }])).toBeUndefined();
  });

  test('an unexplained wildcard stays a finding', () => {
    const lone = new App();
    const s = new Stack(lone, 'Lone');
    const role = new iam.Role(s, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecs:DescribeTasks'], resources: ['arn:aws:ecs:eu-west-1:111111111111:task/c/*'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecs:StopTask'], resources: ['arn:aws:ecs:eu-west-1:111111111111:task/d/*'] }));
    acknowledgeIamWildcards(s);
    const rules = new AwsSolutionsChecks().validateScope(lone).violations.map((v) => v.ruleName);
    expect(rules).toContain('AwsSolutions-IAM5[Resource::*]');
    // Reading a cluster's tasks is explained; stopping them is not.
    expect(rules).not.toContain('AwsSolutions-IAM5[Resource::arn:aws:ecs:eu-west-1:111111111111:task/c/*]');
    expect(rules).toContain('AwsSolutions-IAM5[Resource::arn:aws:ecs:eu-west-1:111111111111:task/d/*]');
  });
});
