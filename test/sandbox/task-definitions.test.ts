import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type ECSClient,
  type ListTaskDefinitionFamiliesCommandInput,
  type ListTaskDefinitionsCommandInput,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { AXON, bootFleet, failure } from '../support/fleet.ts';

/**
 * Task definition families and revisions as ECS keeps them (ECS API Reference:
 * DeregisterTaskDefinition, ListTaskDefinitions, ListTaskDefinitionFamilies, UpdateService) — what
 * a deployment and its rollback rely on.
 */

const ARN = (ref: string) => `arn:aws:ecs:us-east-1:123456789012:task-definition/${ref}`;
const oneService = { services: [{ name: AXON, desiredCount: 2 }] };

async function register(ecs: ECSClient, family: string, image = `registry.example/${family}:latest`) {
  const out = await ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ name: family, image, essential: true }] }));
  return out.taskDefinition!;
}

/** Every page of ListTaskDefinitions, with the page sizes seen. */
async function listAll(ecs: ECSClient, input: ListTaskDefinitionsCommandInput) {
  const arns: string[] = [];
  const pages: number[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTaskDefinitionsCommand({ ...input, ...(nextToken ? { nextToken } : {}) }));
    arns.push(...out.taskDefinitionArns!);
    pages.push(out.taskDefinitionArns!.length);
    nextToken = out.nextToken;
  } while (nextToken);
  return { arns, pages };
}

async function families(ecs: ECSClient, input: ListTaskDefinitionFamiliesCommandInput = {}) {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTaskDefinitionFamiliesCommand({ ...input, ...(nextToken ? { nextToken } : {}) }));
    names.push(...out.families!);
    nextToken = out.nextToken;
  } while (nextToken);
  return names;
}

describe('ListTaskDefinitions orders and pages revisions as ECS does', () => {
  it('sort DESC lists the newest revision first, numerically (12 before 9), and pages by maxResults and nextToken', async () => {
    const sb = await bootFleet(oneService);
    // The scenario registered acme-axon:1 and :2; ten more make 12.
    for (let i = 0; i < 10; i++) await register(sb.ecs, AXON);
    const { arns, pages } = await listAll(sb.ecs, { familyPrefix: AXON, sort: 'DESC', maxResults: 5 });
    expect(pages).toEqual([5, 5, 2]);
    expect(arns).toEqual(Array.from({ length: 12 }, (_, i) => ARN(`${AXON}:${12 - i}`)));
    const asc = await listAll(sb.ecs, { familyPrefix: AXON });
    expect(asc.arns).toEqual([...arns].reverse());
  });

  it('orders families by name, then revision, and DESC reverses both; familyPrefix is the whole family name', async () => {
    const sb = await bootFleet(oneService);
    await register(sb.ecs, 'acme-batch');
    await register(sb.ecs, 'acme-axon-canary');
    const all = (await listAll(sb.ecs, { sort: 'DESC' })).arns;
    expect(all).toEqual([ARN('acme-batch:1'), ARN('acme-axon-canary:1'), ARN(`${AXON}:2`), ARN(`${AXON}:1`)]);
    expect((await listAll(sb.ecs, { familyPrefix: AXON })).arns).toEqual([ARN(`${AXON}:1`), ARN(`${AXON}:2`)]);
  });

  it('refuses maxResults outside 1..100 with InvalidParameterException', async () => {
    const sb = await bootFleet(oneService);
    for (const maxResults of [0, 101]) {
      expect(await failure(sb.ecs.send(new ListTaskDefinitionsCommand({ maxResults })))).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    }
  });
});

describe('DeregisterTaskDefinition marks a revision INACTIVE', () => {
  it('a deregistered revision leaves the ACTIVE listing, is listed under INACTIVE, and DescribeTaskDefinition still describes it', async () => {
    const sb = await bootFleet(oneService);
    const before = sb.clock.now();
    const { taskDefinition } = await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `${AXON}:1` }));
    expect(taskDefinition).toMatchObject({ taskDefinitionArn: ARN(`${AXON}:1`), status: 'INACTIVE', deregisteredAt: before });
    expect((await listAll(sb.ecs, { familyPrefix: AXON })).arns).toEqual([ARN(`${AXON}:2`)]);
    expect((await listAll(sb.ecs, { familyPrefix: AXON, status: 'INACTIVE' })).arns).toEqual([ARN(`${AXON}:1`)]);
    const described = await sb.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: ARN(`${AXON}:1`) }));
    expect(described.taskDefinition).toMatchObject({ status: 'INACTIVE', revision: 1 });
    // Recorded in CloudTrail as RegisterTaskDefinition is.
    expect(sb.trail.mutatingEvents().at(-1)).toMatchObject({ eventName: 'DeregisterTaskDefinition', resources: [{ resourceType: 'AWS::ECS::TaskDefinition', resourceName: `${AXON}:1` }] });
  });

  it('deregistering an INACTIVE revision again succeeds and returns it unchanged', async () => {
    const sb = await bootFleet(oneService);
    const first = await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: ARN(`${AXON}:1`) }));
    sb.clock.advance(60);
    const again = await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `${AXON}:1` }));
    expect(again.taskDefinition).toMatchObject({ status: 'INACTIVE', deregisteredAt: first.taskDefinition!.deregisteredAt });
  });

  it('refuses a bare family (a revision is required) and an unknown revision, with ClientException, changing nothing', async () => {
    const sb = await bootFleet(oneService);
    expect(await failure(sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: AXON })))).toMatchObject({ name: 'ClientException', status: 400 });
    expect(await failure(sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `${AXON}:9` })))).toMatchObject({ name: 'ClientException', status: 400 });
    expect((await listAll(sb.ecs, { familyPrefix: AXON })).arns).toHaveLength(2);
  });

  it('a bare family now means its latest ACTIVE revision', async () => {
    const sb = await bootFleet(oneService);
    await register(sb.ecs, AXON);
    await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `${AXON}:3` }));
    const latest = await sb.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: AXON }));
    expect(latest.taskDefinition!.revision).toBe(2);
  });
});

describe('services and INACTIVE revisions', () => {
  it('UpdateService to an INACTIVE revision is refused with ClientException "TaskDefinition is inactive", the service unchanged', async () => {
    const sb = await bootFleet(oneService);
    await register(sb.ecs, AXON, 'registry.example/acme-axon:v3');
    await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `${AXON}:3` }));
    expect(await failure(sb.update({ taskDefinition: `${AXON}:3`, desiredCount: 4 }))).toEqual({ name: 'ClientException', status: 400, message: 'TaskDefinition is inactive' });
    sb.clock.advance(60);
    const svc = await sb.describe();
    expect(svc).toMatchObject({ taskDefinition: ARN(`${AXON}:2`), desiredCount: 2, runningCount: 2 });
    expect(svc.deployments).toHaveLength(1);
  });

  it('a service running a revision that is deregistered keeps running it, and can still scale', async () => {
    const sb = await bootFleet(oneService);
    await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `${AXON}:2` }));
    await sb.update({ desiredCount: 3 });
    expect(await sb.settle(300)).toBeDefined();
    expect(await sb.describe()).toMatchObject({ taskDefinition: ARN(`${AXON}:2`), runningCount: 3 });
    expect(sb.fleet.primaryTaskDefinition(AXON)).toMatchObject({ revision: 2, status: 'INACTIVE' });
  });
});

describe('ListTaskDefinitionFamilies', () => {
  it('familyPrefix is a real prefix; a family is ACTIVE while any revision is, INACTIVE when none is; ALL by default; paged', async () => {
    const sb = await bootFleet(oneService);
    await register(sb.ecs, 'acme-axon-canary');
    await register(sb.ecs, 'acme-axon-canary');
    await register(sb.ecs, 'other');
    for (const rev of [1, 2]) await sb.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `acme-axon-canary:${rev}` }));
    expect(await families(sb.ecs, { familyPrefix: 'acme-axon', maxResults: 1 })).toEqual([AXON, 'acme-axon-canary']);
    expect(await families(sb.ecs, { familyPrefix: 'acme-axon', status: 'ACTIVE' })).toEqual([AXON]);
    expect(await families(sb.ecs, { status: 'INACTIVE' })).toEqual(['acme-axon-canary']);
    expect(await families(sb.ecs)).toEqual([AXON, 'acme-axon-canary', 'other']);
    // A new revision moves an INACTIVE family back to the ACTIVE list (ECS Developer Guide).
    await register(sb.ecs, 'acme-axon-canary');
    expect(await families(sb.ecs, { status: 'INACTIVE' })).toEqual([]);
    expect(await failure(sb.ecs.send(new ListTaskDefinitionFamiliesCommand({ maxResults: 101 })))).toMatchObject({ name: 'InvalidParameterException' });
  });
});
