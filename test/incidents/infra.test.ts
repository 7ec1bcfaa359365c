import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, expect, test } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { extractStateMachines } from '../../sandbox/sfn/asl.ts';

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

let resources: Record<string, Resource>;
const build = (extra: Record<string, unknown> = {}) =>
  buildApp({ 'aws:cdk:bundling-stacks': [], incidentFlows: { cluster: 'payments-prod', services: [{ name: 'ledger' }, { name: 'billing' }] }, ...extra });

beforeAll(() => {
  resources = Template.fromStack(build().stack).toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const fn = (handler: string) =>
  Object.entries(resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Tags?.some((t: { Key: string; Value: string }) => t.Value === handler));
const policyOf = (logicalId: string) =>
  ofType('AWS::IAM::Policy')
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(resources[logicalId]!.Properties.Role['Fn::GetAtt'][0]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);

test('deploys the incidents table (TTL on the lock expiry) and the two EventBridge rules: alarms into ALARM, and every end of our executions', () => {
  const [table] = ofType('AWS::DynamoDB::Table').filter((t) => t.Properties.TableName === 'incident-flows-incidents');
  expect(table?.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  const patterns = ofType('AWS::Events::Rule').map((r) => r.Properties.EventPattern).filter(Boolean);
  const alarm = patterns.find((p) => p.source?.[0] === 'aws.cloudwatch');
  expect(alarm).toMatchObject({ 'detail-type': ['CloudWatch Alarm State Change'], detail: { state: { value: ['ALARM'] }, alarmName: [{ prefix: 'ledger-' }, { prefix: 'billing-' }] } });
  const ends = patterns.find((p) => p.source?.[0] === 'aws.states');
  expect(ends).toMatchObject({ 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] } });
  // Every one of our state machines (P0, P1, P2, the health check): each end is recorded.
  const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  expect(ends.detail.stateMachineArn).toHaveLength(machines.length);
});

test('least privilege: start-incident may start only the P0 machine and write items; record-incident only reads executions and updates items', () => {
  const [startId] = fn('start-incident')!;
  const [recordId] = fn('record-incident')!;
  const actions = (id: string) => policyOf(id).flatMap((s) => [s.Action].flat());
  expect(actions(startId)).toEqual(expect.arrayContaining(['states:StartExecution', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
  expect(actions(startId)).not.toEqual(expect.arrayContaining(['dynamodb:Scan']));
  expect(actions(recordId)).toEqual(expect.arrayContaining(['states:DescribeExecution', 'states:GetExecutionHistory', 'dynamodb:GetItem', 'dynamodb:UpdateItem']));
  expect(actions(recordId)).not.toContain('states:StartExecution');
  expect(actions(recordId)).not.toContain('dynamodb:PutItem');
});

test('a procedure naming an unknown workflow is refused at synth, naming the setting', () => {
  expect(() => build({ incidentFlowsIncidents: { procedures: { P1: 'p1-nope' } } })).toThrow(/incidentFlowsIncidents\.procedures\.P1: no workflow "p1-nope"/);
});

test('tag routing on AWS: start-incident gets the tag keys and may read alarm tags (ListTagsForResource), nothing more', () => {
  const tagged = Template.fromStack(build({ incidentFlowsIncidents: { tagRouting: true } }).stack).toJSON().Resources as Record<string, Resource>;
  const [, startIncident] = Object.entries(tagged).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Tags?.some((t: { Value: string }) => t.Value === 'start-incident'),
  )!;
  expect(JSON.parse(startIncident.Properties.Environment.Variables.ALARM_TAG_KEYS)).toEqual({});
  const statements = Object.values(tagged)
    .filter((p) => p.Type === 'AWS::IAM::Policy' && JSON.stringify(p.Properties.Roles).includes(startIncident.Properties.Role['Fn::GetAtt'][0]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  const tags = statements.filter((s) => [s.Action].flat().includes('cloudwatch:ListTagsForResource'));
  expect(tags).toHaveLength(1);
  expect(JSON.stringify(tags[0]!.Resource)).toContain(':alarm:*');
  // Without a name filter EventBridge must deliver every alarm; start-incident then routes by tags.
  const alarmRule = Object.values(tagged).find((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern?.source?.[0] === 'aws.cloudwatch');
  expect(alarmRule!.Properties.EventPattern.detail.alarmName).toBeUndefined();
});

test('the service lock outlives the longest execution (P0 with the approval escalation), so no second execution can start meanwhile', () => {
  const [, startIncident] = Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Tags?.some((t: { Value: string }) => t.Value === 'start-incident'),
  )!;
  const template = { Resources: resources };
  const [p0] = extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' });
  const timeoutSeconds = p0!.definition.TimeoutSeconds as number;
  expect(timeoutSeconds).toBeGreaterThan(7200);
  expect(Number(startIncident.Properties.Environment.Variables.INCIDENT_LOCK_SECONDS)).toBeGreaterThan(timeoutSeconds);
});

test('an alarm or execution end whose handling keeps failing is kept in the dead-letter queue, not dropped by Lambda', () => {
  const configs = ofType('AWS::Lambda::EventInvokeConfig');
  const functions = [fn('start-incident')![0], fn('record-incident')![0]];
  for (const id of functions) {
    const config = configs.find((c) => JSON.stringify(c.Properties.FunctionName).includes(id));
    expect(config?.Properties.DestinationConfig.OnFailure.Destination).toBeDefined();
    expect(JSON.stringify(config!.Properties.DestinationConfig.OnFailure.Destination)).toContain('UndeliveredEvents');
  }
});
