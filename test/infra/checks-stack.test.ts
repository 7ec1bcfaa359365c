import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { HEALTH_CHECK_HANDLER_NAMES, P2_HANDLER_NAMES } from '../../handlers/registry-checks.ts';
import { buildApp } from '../../infra/app.ts';
import { extractStateMachines } from '../../sandbox/sfn/asl.ts';

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

let template: Record<string, unknown>;
let resources: Record<string, Resource>;

beforeAll(() => {
  // Reading the template needs no bundles: skip esbuild for every stack.
  const { stack } = buildApp({
    'aws:cdk:bundling-stacks': [],
    incidentFlows: {
      cluster: 'payments-prod',
      services: [{ name: 'ledger' }, { name: 'billing', logGroup: '/custom/billing' }],
      maintenanceWindow: { day: 'wednesday', startUtc: '22:30', durationMinutes: 90 },
      healthCheck: { functions: ['payments-governance'], tables: ['payments-policies'], errorRates: [], schedule: 'cron(15 6 * * ? *)', scheduleTimezone: 'Europe/Berlin' },
    },
  });
  template = Template.fromStack(stack).toJSON();
  resources = template.Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const handlerTag = (r: Resource) => (r.Properties.Tags as { Key: string; Value: string }[] | undefined)?.find((t) => t.Key === 'incident-flows:handler')?.Value;
const functionId = (handler: string) => ofType('AWS::Lambda::Function').find(([, r]) => handlerTag(r) === handler)![0];
/**
 * Every statement of the policies attached to the function's role, less what every function has to
 * run (writing its own log group, X-Ray traces: test/infra/observability.test.ts holds those).
 */
function statementsOf(handler: string): Statement[] {
  const fn = resources[functionId(handler)]!;
  const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const ownLogGroup = text({ 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] });
  const plumbing = (s: Statement) =>
    (actionsOf(s).every((a) => a === 'xray:PutTraceSegments' || a === 'xray:PutTelemetryRecords') && s.Resource === '*') ||
    (actionsOf(s).every((a) => a === 'logs:CreateLogStream' || a === 'logs:PutLogEvents') && text(s.Resource) === ownLogGroup);
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => !plumbing(s));
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const text = (v: unknown) => JSON.stringify(v);

describe('P2 and the daily health check in the stack', () => {
  test('both state machines exist, named from the prefix, bounded in time, starting with input validation', () => {
    const machines = extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' });
    const p2 = machines.find((m) => m.name === 'incident-flows-p2-minor')!;
    const hc = machines.find((m) => m.name === 'incident-flows-health-check')!;
    expect(p2.definition.StartAt).toBe('Assess impact');
    expect(hc.definition.StartAt).toBe('Plan the health check');
    expect(p2.definition.TimeoutSeconds).toBe(900);
    expect(hc.definition.TimeoutSeconds).toBe(900);
    // The configured window and plan are written into the definitions.
    expect(text(p2.definition)).toContain('"maintenanceWindow":{"day":"wednesday","startUtc":"22:30","durationMinutes":90}');
    expect(text(hc.definition)).toContain('"functions":["payments-governance"]');
    expect(text(hc.definition)).toContain('"services":["ledger","billing"]');
  });

  test('the health check is scheduled daily by EventBridge Scheduler, as configured, starting the state machine', () => {
    const [schedule] = ofType('AWS::Scheduler::Schedule');
    expect(schedule).toBeDefined();
    const p = schedule![1].Properties;
    expect(p).toMatchObject({ ScheduleExpression: 'cron(15 6 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin', State: 'ENABLED' });
    expect(text(p.Target.Arn)).toContain('HealthCheckStateMachine');
    expect(JSON.parse(p.Target.Input)).toEqual({ trigger: { kind: 'schedule' } });
    // The scheduler's role may start this state machine and nothing else.
    const role = p.Target.RoleArn['Fn::GetAtt'][0];
    const statements = ofType('AWS::IAM::Policy').filter(([, pol]) => (pol.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role)).flatMap(([, pol]) => pol.Properties.PolicyDocument.Statement as Statement[]);
    expect(statements.flatMap(actionsOf)).toEqual(['states:StartExecution']);
    expect(text(statements[0]!.Resource)).toContain('HealthCheckStateMachine');
  });

  test('P2 is the P2 procedure for alarm starts, and every end of both workflows is recorded', () => {
    const start = ofType('AWS::Lambda::Function').find(([, r]) => handlerTag(r) === 'start-incident')![1];
    expect(text(start.Properties.Environment.Variables.PROCEDURES)).toContain('P2');
    const [, rule] = ofType('AWS::Events::Rule').find(([, r]) => (text(r.Properties.EventPattern) ?? '').includes('Step Functions Execution Status Change'))!;
    const machines = text(rule.Properties.EventPattern.detail.stateMachineArn);
    expect(machines).toContain('P2Minor');
    expect(machines).toContain('HealthCheckStateMachine');
    const record = statementsOf('record-incident').filter((s) => actionsOf(s).includes('states:DescribeExecution'));
    expect(text(record)).toContain('ChecksP2MinorStateMachine');
    expect(text(record)).toContain('ChecksHealthCheckStateMachine');
  });

  test('least privilege: each function may do only what its step needs, on only what is configured', () => {
    for (const name of [...P2_HANDLER_NAMES, ...HEALTH_CHECK_HANDLER_NAMES]) {
      const actions = statementsOf(name).flatMap(actionsOf);
      // Nothing here changes a service: no ECS mutation, no wildcard action.
      expect(actions.filter((a) => /^ecs:(Update|Register|Create|Delete|Stop|Run)/.test(a))).toEqual([]);
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    }
    expect(text(statementsOf('summarize-warnings'))).toContain('log-group:/custom/billing:*');
    expect(statementsOf('summarize-warnings').flatMap(actionsOf)).toEqual(['logs:FilterLogEvents']);
    const lambda = statementsOf('check-functions').find((s) => actionsOf(s).includes('lambda:InvokeFunction'))!;
    expect(actionsOf(lambda).sort()).toEqual(['lambda:GetFunction', 'lambda:InvokeFunction']);
    expect(text(lambda.Resource)).toContain(':function:payments-governance');
    const table = statementsOf('check-tables').find((s) => actionsOf(s).includes('dynamodb:DescribeTable'))!;
    expect(text(table.Resource)).toContain(':table/payments-policies');
    expect(statementsOf('check-services').flatMap(actionsOf)).toEqual(['ecs:DescribeServices']);
    expect(text(statementsOf('check-services'))).toContain('service/payments-prod/ledger');
    // '*' as a resource only where AWS allows nothing else: GetMetricData has no resource-level permissions.
    for (const name of [...P2_HANDLER_NAMES, ...HEALTH_CHECK_HANDLER_NAMES]) {
      for (const s of statementsOf(name)) if (s.Resource === '*') expect(actionsOf(s)).toEqual(['cloudwatch:GetMetricData']);
    }
    // Opening an incident: start-incident's rights — the incidents table's items and the procedures' executions.
    const raise = statementsOf('raise-health-incidents').flatMap(actionsOf);
    expect(raise).toEqual(expect.arrayContaining(['states:StartExecution', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
    expect(text(statementsOf('raise-health-incidents').find((s) => actionsOf(s).includes('states:StartExecution'))!.Resource)).toContain('incident-flows-p0-system-down');
    expect(statementsOf('schedule-fix').flatMap(actionsOf)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue']));
    expect(statementsOf('schedule-fix').flatMap(actionsOf)).not.toContain('dynamodb:PutItem');
  });

  test('a bad health-check or maintenance-window setting is refused at synth, naming it', () => {
    expect(() => buildApp({ 'aws:cdk:bundling-stacks': [], incidentFlows: { healthCheck: { cpuThresholdPercent: 700 } } })).toThrow(/incidentFlows\.healthCheck\.cpuThresholdPercent/);
    expect(() => buildApp({ 'aws:cdk:bundling-stacks': [], incidentFlows: { maintenanceWindow: { day: 'someday' } } })).toThrow(/incidentFlows\.maintenanceWindow\.day/);
  });
});
