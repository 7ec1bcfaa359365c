import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { ERROR_PAGES, FAILURE_PAGES, LOG_DELIVERY_ACTIONS, STATE_MACHINE_XRAY_ACTIONS } from '../../infra/observability.ts';
import type { IncidentFlowsStack } from '../../infra/stack.ts';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

let stack: IncidentFlowsStack;
let resources: Record<string, Resource>;

beforeAll(() => {
  // Reading the template needs no bundles: skip esbuild for every stack.
  ({ stack } = buildApp({ 'aws:cdk:bundling-stacks': [] }));
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const text = (v: unknown) => JSON.stringify(v);
const actionsOf = (s: Statement) => [s.Action].flat();
const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const handlerTag = (r: Resource) => (r.Properties.Tags as { Key: string; Value: string }[] | undefined)?.find((t) => t.Key === 'incident-flows:handler')?.Value;
const policiesOfRole = (roleId: string) =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => text(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
const pagingTopic = () => ({ Ref: idOf(stack.paging.topic) });
const machines = () => ofType('AWS::StepFunctions::StateMachine');
const workflows = () =>
  Object.entries({
    'p0-system-down': stack.p0.stateMachine,
    'p1-degraded': stack.p1.stateMachine,
    'p2-minor': stack.checks.p2.stateMachine,
    deploy: stack.deploy.stateMachine,
    rollback: stack.rollback.stateMachine,
    'health-check': stack.checks.healthCheck.stateMachine,
  });

/** The metric alarms on a metric of one resource (its dimension refers to that resource). */
function alarmsOn(metricName: string, resourceId: string): Resource[] {
  return ofType('AWS::CloudWatch::Alarm')
    .map(([, a]) => a)
    .filter((a) => a.Properties.MetricName === metricName && text(a.Properties.Dimensions).includes(`"${resourceId}"`));
}

/** Exactly one alarm on the metric, paging on the first occurrence to the paging topic. */
function expectPage(metricName: string, resourceId: string): Resource {
  const alarms = alarmsOn(metricName, resourceId);
  expect(alarms, `${metricName} of ${resourceId}`).toHaveLength(1);
  const alarm = alarms[0]!;
  expect(alarm.Properties).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
  expect(alarm.Properties.AlarmActions).toEqual([pagingTopic()]);
  // A page is an occurrence to act on: it is not resolved by the metric going quiet.
  expect(alarm.Properties.OKActions).toBeUndefined();
  expect(alarm.Properties.AlarmDescription).toMatch(/docs\/operations\.md/);
  return alarm;
}

describe('the automation logs and traces its own work', () => {
  test('every state machine logs ALL event types, never execution data (task tokens), to the execution log group', () => {
    expect(machines()).toHaveLength(6);
    const logGroup = idOf(stack.observability.executionLogs);
    for (const [, m] of machines()) {
      expect(m.Properties.LoggingConfiguration).toEqual({
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }],
        IncludeExecutionData: false,
        Level: 'ALL',
      });
      // The role may set up the log delivery (Step Functions checks it when the machine is created).
      const statements = policiesOfRole(m.Properties.RoleArn['Fn::GetAtt'][0]);
      expect(statements.flatMap(actionsOf)).toEqual(expect.arrayContaining(LOG_DELIVERY_ACTIONS));
    }
  });

  test('every state machine is traced with X-Ray, and its role may send the traces', () => {
    for (const [, m] of machines()) {
      expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(policiesOfRole(m.Properties.RoleArn['Fn::GetAtt'][0]).flatMap(actionsOf)).toEqual(expect.arrayContaining(STATE_MACHINE_XRAY_ACTIONS));
    }
  });

  test('the execution log group outlives the stack, and a redeploy after a destroy never collides with it', () => {
    const [, group] = ofType('AWS::Logs::LogGroup').find(([id]) => id === idOf(stack.observability.executionLogs))!;
    expect(group.DeletionPolicy).toBe('Retain');
    expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    // Under /aws/vendedlogs/ (Step Functions' advice), unique per stack creation: its id is in the name.
    expect(text(group.Properties.LogGroupName)).toContain('/aws/vendedlogs/states/incident-flows-');
    expect(text(group.Properties.LogGroupName)).toContain('AWS::StackId');
    // Every other retained log group is unnamed: CloudFormation names it anew on each creation.
    for (const [id, g] of ofType('AWS::Logs::LogGroup')) if (id !== idOf(stack.observability.executionLogs)) expect(g.Properties.LogGroupName, id).toBeUndefined();
  });

  test('every function is traced with X-Ray and has its own role: no AWS-managed policy, writing only its own log group', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, r]) => handlerTag(r));
    expect(functions.length).toBe(Object.keys(stack.observability.functions).length);
    for (const [id, fn] of functions) {
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
      expect(resources[roleId]!.Properties.ManagedPolicyArns, id).toBeUndefined();
      const logs = policiesOfRole(roleId).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:') && a !== 'logs:FilterLogEvents'));
      expect(logs.flatMap(actionsOf).sort(), id).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs.map((s) => s.Resource), id).toEqual([{ 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] }]);
    }
  });

  test('the Slack callback API writes access logs (who, when, which answer; no headers or bodies)', () => {
    const [, apiStage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    const format = JSON.parse(apiStage.Properties.AccessLogSettings.Format as string) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
    expect(text(format)).not.toMatch(/header|body|signature/i);
    expect(text(apiStage.Properties.AccessLogSettings.DestinationArn)).toContain('SlackApiAccessLogs');
  });
});

describe('alarms on the automation page people through the paging topic', () => {
  test('a message in either dead-letter queue pages', () => {
    for (const queue of [stack.incidents.deadLetters, stack.approvals.undeliveredDecisions]) {
      const alarm = expectPage('ApproximateNumberOfMessagesVisible', idOf(queue));
      expect(alarm.Properties.Statistic).toBe('Maximum');
    }
  });

  test('every workflow pages when an execution times out or is aborted (no Catch runs on either)', () => {
    for (const [, machine] of workflows()) {
      expectPage('ExecutionsTimedOut', idOf(machine));
      expectPage('ExecutionsAborted', idOf(machine));
    }
  });

  test('P0, P1, P2 and the health check page when an execution fails; deploy and rollback, which fail by design when rolled back or rejected, do not', () => {
    for (const [workflow, machine] of workflows()) {
      if ((FAILURE_PAGES as readonly string[]).includes(workflow)) expectPage('ExecutionsFailed', idOf(machine));
      else expect(alarmsOn('ExecutionsFailed', idOf(machine)), workflow).toEqual([]);
    }
  });

  test('the fail-safes (restore-desired-count, watch-stability, record-incident, reconcile) and start-incident page on their first error', () => {
    expect(ERROR_PAGES).toEqual(expect.arrayContaining(['restore-desired-count', 'watch-stability', 'record-incident', 'reconcile']));
    for (const name of ERROR_PAGES) expectPage('Errors', idOf(stack.observability.functions[name]!));
  });

  test('a throttled handler pages once, through a composite alarm over one alarm per function', () => {
    const fns = Object.entries(stack.observability.functions);
    const [, composite] = ofType('AWS::CloudWatch::CompositeAlarm')[0]!;
    expect(composite.Properties.AlarmActions).toEqual([pagingTopic()]);
    const rule = text(composite.Properties.AlarmRule);
    for (const [name, fn] of fns) {
      const [child] = alarmsOn('Throttles', idOf(fn));
      expect(child, name).toBeDefined();
      expect(child!.Properties).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
      // The children do not page on their own: a throttling storm is one page.
      expect(child!.Properties.AlarmActions, name).toBeUndefined();
      const childId = ofType('AWS::CloudWatch::Alarm').find(([, a]) => a === child)![0];
      expect(rule, name).toContain(childId);
    }
  });

  test('a 5XX from the Slack callback API pages', () => {
    const [apiId] = ofType('AWS::ApiGatewayV2::Api')[0]!;
    expectPage('5xx', apiId);
  });

  test('CloudWatch may publish the automation\'s alarms (and only those, of this account) to the paging topic', () => {
    const statements = ofType('AWS::SNS::TopicPolicy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as (Statement & { Principal: unknown; Condition: unknown })[]);
    const allow = statements.find((s) => s.Effect === 'Allow' && text(s.Principal).includes('cloudwatch.amazonaws.com'))!;
    expect(allow).toBeDefined();
    expect(allow.Action).toBe('sns:Publish');
    expect(text(allow.Condition)).toContain(':alarm:incident-flows-automation-*');
    expect(text(allow.Condition)).toContain('aws:SourceAccount');
    for (const [, a] of [...ofType('AWS::CloudWatch::Alarm'), ...ofType('AWS::CloudWatch::CompositeAlarm')]) {
      expect(a.Properties.AlarmName).toMatch(/^incident-flows-automation-/);
    }
  });

  test('an alarm route prefix that would match the automation\'s own alarms is refused at synth, naming the prefix', () => {
    // A service called "incident" would route "incident-…" alarms to P0, ours included.
    expect(() => buildApp({ 'aws:cdk:bundling-stacks': [], incidentFlows: { services: [{ name: 'incident' }] } })).toThrow(/incidentFlows\.prefix.*"incident-"/);
  });
});

describe('the dashboard', () => {
  test('shows the alarms, executions by outcome per workflow, handler errors/throttles/duration and dead-letter depth', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const [, dashboard] = dashboards[0]!;
    expect(dashboard.Properties.DashboardName).toBe('incident-flows-automation');
    const body = text(dashboard.Properties.DashboardBody);
    for (const [workflow] of workflows()) expect(body).toContain(`${workflow}: executions by outcome`);
    for (const metric of ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) expect(body).toContain(metric);
    for (const title of ['Handler errors', 'Handler throttles', 'Handler duration', 'Dead-letter queue depth', 'Alarms on the automation']) expect(body).toContain(title);
    for (const name of Object.keys(stack.observability.functions)) expect(body).toContain(`\\"label\\":\\"${name}\\"`);
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
  });
});
