import aslValidator from 'asl-validator';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { HANDLER_NAMES } from '../../handlers/registry.ts';
import { buildApp } from '../../infra/app.ts';
import { extractStateMachines } from '../../sandbox/sfn/asl.ts';

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

let template: Record<string, unknown>;
let resources: Record<string, Resource>;

beforeAll(() => {
  // Reading the template needs no bundles: skip esbuild for every stack.
  const { stack } = buildApp({
    'aws:cdk:bundling-stacks': [],
    incidentFlows: { cluster: 'payments-prod', services: [{ name: 'ledger' }, { name: 'billing', logGroup: '/custom/billing' }] },
  });
  template = Template.fromStack(stack).toJSON();
  resources = template.Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const handlerTag = (r: Resource) => (r.Properties.Tags as { Key: string; Value: string }[] | undefined)?.find((t) => t.Key === 'incident-flows:handler')?.Value;

describe('the CDK app', () => {
  test('holds the P0 state machine, named from the prefix, with a machine-level timeout', () => {
    const machines = extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' });
    const p0 = machines.find((m) => m.name === 'incident-flows-p0-system-down');
    expect(p0).toBeDefined();
    expect(p0!.definition.TimeoutSeconds).toBeGreaterThan(0);
    expect(p0!.definition.StartAt).toBe('Assess impact');
  });

  test('holds one Lambda function per handler, on a current Node.js runtime and arm64', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, r]) => handlerTag(r));
    const names = functions.map(([, r]) => handlerTag(r));
    for (const handler of HANDLER_NAMES) expect(names).toContain(handler);
    for (const [, r] of functions) {
      expect(r.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(r.Properties.Architectures).toEqual(['arm64']);
    }
    const assess = functions.find(([, r]) => handlerTag(r) === 'assess')!;
    expect(assess[1].Properties.Environment.Variables.DEFAULT_CLUSTER).toBe('payments-prod');
    // A console start names no log group: the configured one must reach the workflow, not /ecs/billing.
    expect(JSON.parse(assess[1].Properties.Environment.Variables.SERVICE_LOG_GROUPS)).toEqual({ billing: '/custom/billing' });
  });

  test('every Task of every state machine invokes one of our functions', () => {
    for (const m of extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' })) {
      const resourcesUsed = JSON.stringify(m.definition).match(/arn:aws:lambda:[^"]+/g) ?? [];
      expect(resourcesUsed.length).toBeGreaterThan(0);
      for (const arn of resourcesUsed) expect(arn).not.toMatch(/sandbox-ref|:function:Handler/);
    }
  });

  test('asl-validator accepts every synthesized definition', () => {
    const machines = extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' });
    expect(machines.length).toBeGreaterThan(0);
    for (const m of machines) {
      const result = aslValidator(m.definition);
      expect(result.errorsText('\n'), m.name).toBe('');
      expect(result.isValid).toBe(true);
    }
  });
});

describe('least privilege', () => {
  const statements = () =>
    ofType('AWS::IAM::Policy').flatMap(([, r]) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  const actionsOf = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  test('ECS mutating actions are scoped to the configured cluster and services, never "*"', () => {
    const mutating = statements().filter((s) => actionsOf(s).some((a) => /^ecs:(Update|Create|Delete|Stop|Run|Register|Deregister)/.test(a)));
    expect(mutating.length).toBeGreaterThan(0);
    for (const s of mutating) {
      const list = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      expect(list).not.toContain('*');
      const rendered = JSON.stringify(list);
      expect(rendered).toContain(':service/payments-prod/ledger');
      expect(rendered).toContain(':service/payments-prod/billing');
    }
  });

  test('no statement grants ecs:* or a wildcard action', () => {
    for (const s of statements()) for (const a of actionsOf(s)) expect(a).not.toMatch(/^(\*|ecs:\*|logs:\*|dynamodb:\*)$/);
  });

  test('log reading is scoped to the services\' log groups', () => {
    const filter = statements().filter((s) => actionsOf(s).includes('logs:FilterLogEvents'));
    expect(filter).toHaveLength(1);
    const rendered = JSON.stringify(filter[0]!.Resource);
    expect(rendered).toContain('log-group:/ecs/ledger:*');
    expect(rendered).toContain('log-group:/custom/billing:*');
  });
});
