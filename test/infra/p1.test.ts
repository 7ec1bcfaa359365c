import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { extractStateMachines } from '../../sandbox/sfn/asl.ts';

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, string>> };

let template: Record<string, unknown>;
let resources: Record<string, Resource>;

beforeAll(() => {
  // Reading the template needs no bundles.
  const { stack } = buildApp({
    'aws:cdk:bundling-stacks': [],
    incidentFlows: { cluster: 'payments-prod', services: [{ name: 'ledger', scaling: { maxCount: 8, recoveryMinutes: 45 } }, { name: 'billing' }] },
  });
  template = Template.fromStack(stack).toJSON();
  resources = template.Resources as Record<string, Resource>;
});

const fnOf = (handler: string) =>
  Object.entries(resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && (r.Properties.Tags as { Key: string; Value: string }[] | undefined)?.some((t) => t.Value === handler))!;
const statementsOf = (handler: string): Statement[] => {
  const [, fn] = fnOf(handler);
  const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
};
const actionsOf = (handler: string) => statementsOf(handler).flatMap((s) => [s.Action].flat());

describe('P1 in the stack', () => {
  test('holds the P1 state machine, named from the prefix, timed out after its longest recovery bound', () => {
    const p1 = extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' }).find((m) => m.name === 'incident-flows-p1-degraded');
    expect(p1!.definition.StartAt).toBe('Check metrics');
    // 60 min of waits + the ledger's 45 min recovery bound + the approval escalation (4 h).
    expect(p1!.definition.TimeoutSeconds).toBe((60 + 45 + 240) * 60);
  });

  test('P1 alarms route to P1 by default, and P1 is the P1 procedure', () => {
    const [, start] = fnOf('start-incident');
    const env = start.Properties.Environment.Variables;
    expect(JSON.parse(env.ALARM_ROUTES)).toEqual(expect.arrayContaining([{ alarmPrefix: 'ledger-p1-', service: 'ledger', severity: 'P1' }]));
    expect(JSON.stringify(env.PROCEDURES)).toContain('P1');
  });

  test('escalate-incident starts P0 by a name-built ARN, so the P1 machine that calls it makes no dependency cycle', () => {
    const [, escalate] = fnOf('escalate-incident');
    const procedures = JSON.stringify(escalate.Properties.Environment.Variables.PROCEDURES);
    expect(procedures).toContain('stateMachine:incident-flows-p0-system-down');
    const start = statementsOf('escalate-incident').find((s) => [s.Action].flat().includes('states:StartExecution'))!;
    expect(JSON.stringify(start.Resource)).toContain('incident-flows-p0-system-down');
    // No reference to either state machine resource: only the partition, region and account pseudo-parameters.
    const machineIds = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine').map(([id]) => id);
    for (const id of machineIds) expect(JSON.stringify([start.Resource, escalate.Properties.Environment])).not.toContain(id);
  });

  test('least privilege: metrics read by the two P1 readers; the scalable target changed only by scale-out and the reconciler, only for ECS desired counts', () => {
    expect(actionsOf('assess-load')).toEqual(expect.arrayContaining(['cloudwatch:GetMetricData', 'application-autoscaling:DescribeScalableTargets']));
    expect(actionsOf('assess-load')).not.toContain('ecs:UpdateService');
    expect(actionsOf('monitor-load')).toContain('cloudwatch:GetMetricData');
    expect(actionsOf('monitor-load')).not.toContain('ecs:UpdateService');
    for (const handler of ['scale-out', 'reconcile']) {
      const register = statementsOf(handler).find((s) => [s.Action].flat().includes('application-autoscaling:RegisterScalableTarget'))!;
      expect(register.Condition?.StringEquals).toEqual({ 'application-autoscaling:service-namespace': 'ecs', 'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount' });
    }
    for (const [, r] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
      const handler = (r.Properties.Tags as { Key: string; Value: string }[] | undefined)?.find((t) => t.Key === 'incident-flows:handler')?.Value;
      if (!handler || handler === 'scale-out' || handler === 'reconcile') continue;
      expect(actionsOf(handler)).not.toContain('application-autoscaling:RegisterScalableTarget');
    }
  });

  test('a scaling policy that would flap is refused at synth, naming the field', () => {
    expect(() =>
      buildApp({ 'aws:cdk:bundling-stacks': [], incidentFlows: { services: [{ name: 'ledger', scaling: { thresholdPercent: 60, scaleBackBelowPercent: 65 } }] } }),
    ).toThrow(/services\.0\.scaling\.scaleBackBelowPercent: scaleBackBelowPercent must be below thresholdPercent/);
  });
});
