import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, expect, test } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';
import { runP0, withSandbox } from '../support/p0.ts';

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** SDK client key (handlers/commons/clients.ts) → IAM service prefix; DocumentClient commands → IAM actions. */
const SERVICE = { ecs: 'ecs', ecsOnce: 'ecs', elbv2: 'elasticloadbalancing', cloudtrail: 'cloudtrail', logs: 'logs', dynamo: 'dynamodb', sfn: 'states' } as const;
const DOCUMENT_ACTIONS: Record<string, string> = { Get: 'GetItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', Query: 'Query' };

function iamAction(call: string): string {
  const [client, command] = call.split(':') as [keyof typeof SERVICE, string];
  return `${SERVICE[client]}:${client === 'dynamo' ? (DOCUMENT_ACTIONS[command] ?? command) : command}`;
}

let resources: Record<string, Resource>;
beforeAll(() => {
  resources = Template.fromStack(buildApp({ 'aws:cdk:bundling-stacks': [] }).stack).toJSON().Resources as Record<string, Resource>;
});

/** Every action the stack grants a handler's role (its policies, managed ones aside). */
function grantedTo(handler: string): Set<string> {
  const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Tags?.some((t: { Value: string }) => t.Value === handler));
  if (!fn) throw new Error(`no function for handler ${handler}`);
  const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
  const actions = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as { Effect: string; Action: string | string[] }[])
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => [s.Action].flat());
  return new Set(actions);
}

test('every AWS call a handler made on the P0 paths is granted to its function on AWS — no AccessDenied waiting in production', async () => {
  const made = new Map<string, Set<string>>();
  const axon = 'acme-axon';
  const paths: [ScenarioInput, Record<string, unknown>][] = [
    [{}, { service: axon }],
    [{ faults: [{ service: axon, kind: 'crash-loop' }] }, { service: axon, restartMode: 'scale-to-zero' }],
    [{ faults: [{ service: axon, kind: 'crash-loop', survivesRestarts: 1 }] }, { service: axon }],
    [{ faults: [{ service: axon, kind: 'bad-image' }] }, { service: axon }],
    // Behind a load balancer: target groups size the wait, target health decides stability.
    [{ services: [{ name: axon, loadBalancer: true, healthCheckGracePeriodSeconds: 120 }], faults: [{ service: axon, kind: 'crash-loop' }] }, { service: axon }],
  ];
  for (const [scenario, input] of paths) {
    await withSandbox(scenario, async (sandbox) => {
      sandbox.playOut();
      await runP0(sandbox, input);
      for (const inv of sandbox.invocations) {
        for (const call of inv.calls) made.set(inv.handler, (made.get(inv.handler) ?? new Set()).add(iamAction(call)));
      }
    });
  }
  expect([...made.keys()]).toEqual(expect.arrayContaining(['assess', 'inspect-changes', 'review-logs', 'restart-service', 'watch-stability', 'verify', 'restore-desired-count']));
  const missing = [...made].flatMap(([handler, actions]) => [...actions].filter((a) => !grantedTo(handler).has(a)).map((a) => `${handler}: ${a}`));
  expect(missing).toEqual([]);
}, 120_000);
