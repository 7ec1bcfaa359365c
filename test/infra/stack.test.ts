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
    expect(JSON.parse(assess[1].Properties.Environment.Variables.SERVICE_SETTINGS)).toMatchObject({ billing: { logGroup: '/custom/billing' } });
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
    // Task definition (de)registration is the exception: ECS supports no resource-level permissions there (next test).
    const mutating = statements().filter((s) => actionsOf(s).some((a) => /^ecs:(Update|Create|Delete|Stop|Run)/.test(a)));
    expect(mutating.length).toBeGreaterThan(0);
    for (const s of mutating) {
      const list = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      expect(list).not.toContain('*');
      const rendered = JSON.stringify(list);
      expect(rendered).toContain(':service/payments-prod/ledger');
      expect(rendered).toContain(':service/payments-prod/billing');
    }
  });

  test('task definitions are registered and deregistered only by the deploy steps, and task roles pass only to ECS tasks', () => {
    const registering = statements().filter((s) => actionsOf(s).some((a) => /^ecs:(Register|Deregister)TaskDefinition$/.test(a)));
    expect(registering.length).toBe(2);
    for (const s of registering) expect(actionsOf(s).every((a) => /^ecs:((Register|Deregister)TaskDefinition|TagResource)$/.test(a))).toBe(true);
    const passRole = statements().filter((s) => actionsOf(s).includes('iam:PassRole')) as { Condition?: unknown }[];
    expect(passRole.length).toBe(1);
    expect(passRole[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
  });

  test('no statement grants ecs:* or a wildcard action', () => {
    for (const s of statements()) for (const a of actionsOf(s)) expect(a).not.toMatch(/^(\*|ecs:\*|logs:\*|dynamodb:\*)$/);
  });

  test('log reading is scoped to the services\' log groups', () => {
    const filter = statements().filter((s) => actionsOf(s).includes('logs:FilterLogEvents'));
    // review-logs (P0's ERROR lines) and summarize-warnings (P2's WARN lines), each on these groups only.
    expect(filter).toHaveLength(2);
    for (const statement of filter) {
      const rendered = JSON.stringify(statement.Resource);
      expect(rendered).toContain('log-group:/ecs/ledger:*');
      expect(rendered).toContain('log-group:/custom/billing:*');
    }
  });
});

describe('waits released by ECS events', () => {
  test('the template has no dependency cycle, which CloudFormation would refuse to deploy', () => {
    const refs = (value: unknown, out = new Set<string>()): Set<string> => {
      if (Array.isArray(value)) for (const v of value) refs(v, out);
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k === 'Ref' && typeof v === 'string' && v in resources) out.add(v);
          else if (k === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string') out.add(v[0]);
          else refs(v, out);
        }
      }
      return out;
    };
    const edges = new Map(
      Object.entries(template.Resources as Record<string, { Properties?: unknown; DependsOn?: string | string[] }>).map(([id, r]) => {
        const deps = refs(r.Properties);
        for (const d of [r.DependsOn ?? []].flat()) deps.add(d);
        return [id, deps];
      }),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycle: string[] = [];
    const visit = (id: string, path: string[]): boolean => {
      if (state.get(id) === 'done') return false;
      if (state.get(id) === 'visiting') {
        cycle.push(...path.slice(path.indexOf(id)), id);
        return true;
      }
      state.set(id, 'visiting');
      for (const d of edges.get(id) ?? []) if (visit(d, [...path, id])) return true;
      state.set(id, 'done');
      return false;
    };
    for (const id of edges.keys()) if (visit(id, [])) break;
    expect(cycle).toEqual([]);
  });

  test('ECS deployment state changes and service actions of the configured services reach ecs-events, nothing else', () => {
    const rule = ofType('AWS::Events::Rule').find(([id]) => id.includes('EcsEventsReleaseWaits'))![1];
    const pattern = rule.Properties.EventPattern;
    expect(pattern.source).toEqual(['aws.ecs']);
    expect(pattern['detail-type']).toEqual(['ECS Deployment State Change', 'ECS Service Action']);
    const rendered = JSON.stringify(pattern.resources);
    expect(pattern.resources).toHaveLength(2);
    expect(rendered).toContain(':service/payments-prod/ledger');
    expect(rendered).toContain(':service/payments-prod/billing');
    const target = rule.Properties.Targets[0].Arn['Fn::GetAtt'][0] as string;
    expect(handlerTag(resources[target]!)).toBe('ecs-events');
  });

  test('the waits table expires what a vanished execution left, and only the two wait handlers may release a task token of P0', () => {
    const table = ofType('AWS::DynamoDB::Table').find(([, r]) => r.Properties.TableName === 'incident-flows-stability-watches')![1];
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    const releasing = ofType('AWS::IAM::Policy').filter(([, r]) =>
      (r.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).some((s) => [s.Action].flat().includes('states:SendTaskSuccess')),
    );
    const rendered = releasing.map(([, r]) => JSON.stringify(r.Properties.PolicyDocument));
    expect(rendered.filter((p) => p.includes(':stateMachine:incident-flows-p0-system-down'))).toHaveLength(2);
  });
});

describe('fail-safes that hold up under AWS\'s own failures', () => {
  test('every Lambda task retries with the house policy first: no CDK default retrier shadows it', () => {
    for (const m of extractStateMachines(template, { region: 'us-east-1', accountId: '123456789012' })) {
      const states: [string, { Type: string; Resource?: string; Retry?: { ErrorEquals: string[]; JitterStrategy?: string; MaxAttempts?: number }[] }][] = [];
      const walk = (def: { States: Record<string, any> }) => {
        for (const [name, st] of Object.entries(def.States)) {
          states.push([name, st]);
          for (const b of st.Branches ?? []) walk(b);
        }
      };
      walk(m.definition as never);
      const lambdaTasks = states.filter(([, st]) => st.Type === 'Task' && /lambda/.test(st.Resource ?? ''));
      // P2 has three Lambda tasks, P0 and the health check more.
      expect(lambdaTasks.length).toBeGreaterThan(2);
      for (const [name, st] of lambdaTasks) {
        expect(st.Retry?.[0]?.ErrorEquals, name).toContain('TransientAwsError');
        expect(st.Retry?.[0]?.JitterStrategy, name).toBe('FULL');
      }
    }
  });

  test('the fail-safes have concurrency set aside, so account-wide throttling cannot starve them', () => {
    const reserved = Object.fromEntries(
      ofType('AWS::Lambda::Function').map(([, r]) => [handlerTag(r), r.Properties.ReservedConcurrentExecutions as number | undefined]),
    );
    for (const name of ['restore-desired-count', 'watch-stability', 'record-incident', 'reconcile']) expect(reserved[name], name).toBeGreaterThanOrEqual(2);
  });

  test('a paging topic exists, and record-incident and the reconciler may publish to it and nothing else may', () => {
    const topics = ofType('AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    const topicId = topics[0]![0];
    const publishers = ofType('AWS::IAM::Policy')
      .filter(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes('sns:Publish') && JSON.stringify(r.Properties.PolicyDocument).includes(topicId))
      .map(([id]) => id);
    expect(publishers).toHaveLength(2);
    expect(publishers.join(' ')).toMatch(/recordincident/i);
    expect(publishers.join(' ')).toMatch(/reconcile/i);
  });

  test('the reconciler runs every five minutes', () => {
    const rule = ofType('AWS::Events::Rule').find(([id]) => id.includes('Reconcile'))![1];
    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(handlerTag(resources[rule.Properties.Targets[0].Arn['Fn::GetAtt'][0]]!)).toBe('reconcile');
  });
});
