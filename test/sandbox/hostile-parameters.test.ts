import { createServer, type Server } from 'node:net';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxHttpServer, SandboxListenError } from '#sandbox/http';
import { MAX_SCENARIO_SERVICES, MAX_SIMULATED_TASKS, parseScenario, ScenarioError } from '#sandbox/scenario';
import { AXON, CLUSTER, bootFleet, caught } from '../support/fleet.ts';

const GROUP = '/ecs/acme-axon';
const ECS_TARGET = 'AmazonEC2ContainerServiceV20141113';

/** A request the SDK would never send (its types stop it): the raw awsJson call. */
async function rawJson(url: string, target: string, body: string, contentType = 'application/x-amz-json-1.1') {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, 'x-amz-target': target }, body });
  return { status: res.status, errorType: res.headers.get('x-amzn-errortype'), contentType: res.headers.get('content-type'), json: (await res.json()) as { __type?: string; message?: string } };
}

describe('ECS UpdateService refuses what ECS refuses, before anything changes', () => {
  it('a desired count over the 5,000 tasks-per-service quota: InvalidParameterException "Desired count exceeds limit."', async () => {
    const sb = await bootFleet({});
    for (const desiredCount of [1e9, 5001]) {
      const err = await caught(sb.update({ desiredCount }));
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toMatch(/^Desired count exceeds limit\. The tasks per service quota is 5000/);
    }
    expect((await sb.describe()).desiredCount).toBe(2);
  });

  it('a desired count past what the simulator plays (1,000 tasks in the cluster) is refused the same way, and the clock keeps its pace', async () => {
    const sb = await bootFleet({});
    const err = await caught(sb.update({ desiredCount: 1000 }));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toMatch(/^Desired count exceeds limit\. The sandbox simulates at most 1000 tasks/);
    expect((await sb.describe()).desiredCount).toBe(2);
    const started = performance.now();
    for (let i = 0; i < 24; i++) sb.clock.advance(5);
    expect(performance.now() - started).toBeLessThan(2000);
    // Within the bound it is taken, as ECS takes it.
    expect((await sb.update({ desiredCount: 998 })).service?.desiredCount).toBe(998);
  });

  it('negative and fractional desired counts are refused', async () => {
    const sb = await bootFleet({});
    expect((await caught(sb.update({ desiredCount: -1 }))).message).toBe('Desired count must be greater than or equal to 0.');
    const fraction = await rawJson(sb.url, `${ECS_TARGET}.UpdateService`, JSON.stringify({ cluster: CLUSTER, service: AXON, desiredCount: 1.5 }));
    expect(fraction).toMatchObject({ status: 400, json: { __type: 'InvalidParameterException' } });
  });

  it('forceNewDeployment "yes" (not a boolean) fails to deserialize: SerializationException, no new deployment', async () => {
    const sb = await bootFleet({});
    const before = (await sb.describe()).deployments!.length;
    const answer = await rawJson(sb.url, `${ECS_TARGET}.UpdateService`, JSON.stringify({ cluster: CLUSTER, service: AXON, forceNewDeployment: 'yes' }));
    expect(answer).toMatchObject({ status: 400, errorType: 'SerializationException', json: { __type: 'SerializationException' } });
    expect(answer.json.message).toContain('forceNewDeployment must be a boolean');
    expect((await sb.describe()).deployments).toHaveLength(before);
    // The SDK parses it into its named exception.
    const viaSdk = await caught(sb.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: AXON, forceNewDeployment: 'yes' as unknown as boolean })));
    expect(viaSdk.name).toBe('SerializationException');
  });
});

describe('CloudWatch Logs FilterLogEvents refuses what the API reference does', () => {
  it('a filter pattern over 1,024 characters: InvalidParameterException; 1,024 is taken', async () => {
    const sb = await bootFleet({});
    const long = await caught(sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: `"${'E'.repeat(10_000)}` })));
    expect(long.name).toBe('InvalidParameterException');
    expect(long.message).toBe("1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024");
    await expect(sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: 'E'.repeat(1024) }))).resolves.toMatchObject({ events: [] });
  });

  it('a startTime or endTime that is no timestamp (1e20, negative): InvalidParameterException naming the field', async () => {
    const sb = await bootFleet({});
    for (const [field, value] of [['startTime', 1e20], ['endTime', 1e20], ['startTime', -1]] as const) {
      const err = await caught(sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: GROUP, [field]: value })));
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toContain(`Value at '${field}' failed to satisfy constraint`);
    }
    const now = sb.clock.nowMs();
    await expect(sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: GROUP, startTime: 0, endTime: now }))).resolves.toBeDefined();
  });
});

describe('the sandbox HTTP server', () => {
  const servers: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it('a JSON body of null, an array or a scalar: 400 SerializationException in the awsJson shape, not a 500', async () => {
    const server = new SandboxHttpServer();
    servers.push(server);
    server.registerJson('AWSStepFunctions', 'sfn', '1.0', () => ({}));
    const url = await server.listen();
    for (const body of ['null', '[]', '"arn"', '7']) {
      const answer = await rawJson(url, 'AWSStepFunctions.DescribeExecution', body, 'application/x-amz-json-1.0');
      expect(answer).toMatchObject({ status: 400, errorType: 'SerializationException', contentType: 'application/x-amz-json-1.0', json: { __type: 'SerializationException' } });
    }
  });

  it('no route: an awsJson request gets UnknownOperationException, a Slack method Slack\'s {ok: false}', async () => {
    const server = new SandboxHttpServer();
    servers.push(server);
    const url = await server.listen();
    const aws = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    expect(aws.status).toBe(404);
    expect(await aws.json()).toMatchObject({ __type: 'UnknownOperationException' });
    const slack = await fetch(`${url}/slack/api/admin.users.remove`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(slack.status).toBe(404);
    expect(await slack.json()).toEqual({ ok: false, error: 'unknown_method', req_method: 'admin.users.remove' });
  });

  it('a port already taken rejects listen with SandboxListenError naming the port, instead of crashing the process', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => squatter.close(resolve)) });
    const port = (squatter.address() as { port: number }).port;
    const server = new SandboxHttpServer();
    const err = await server.listen(port).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SandboxListenError);
    expect((err as SandboxListenError).message).toBe(`the sandbox cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`);
    expect(err).toMatchObject({ name: 'SandboxListenError', port, code: 'EADDRINUSE' });
    await server.close();
  });
});

describe('parseScenario: every caller gets the bounds', () => {
  it('null is refused with a ScenarioError; no input (undefined) and {} are the default scenario', () => {
    expect(() => parseScenario(null)).toThrow(ScenarioError);
    expect(() => parseScenario(null)).toThrow('a scenario must be an object');
    expect(() => parseScenario([])).toThrow(ScenarioError);
    expect(parseScenario(undefined).services.map((s) => s.name)).toEqual(['acme-axon', 'acme-orbit']);
    expect(parseScenario({}).services).toHaveLength(2);
  });

  it('region names, service count and task totals are checked, each message naming the field and the limit', () => {
    expect(() => parseScenario({ region: '../' })).toThrow('scenario field "region": "../" is not an AWS region name, e.g. "us-east-1"');
    expect(parseScenario({ region: 'us-gov-west-1' }).region).toBe('us-gov-west-1');
    const many = (n: number, desiredCount = 0) => ({ services: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, desiredCount })) });
    expect(() => parseScenario(many(MAX_SCENARIO_SERVICES + 1))).toThrow(`scenario field "services": ${MAX_SCENARIO_SERVICES + 1} services, over the ${MAX_SCENARIO_SERVICES}`);
    expect(parseScenario(many(MAX_SCENARIO_SERVICES)).services).toHaveLength(MAX_SCENARIO_SERVICES);
    expect(() => parseScenario(many(5, 100))).toThrow(`scenario field "services": 500 desired tasks in all, over the ${MAX_SIMULATED_TASKS}`);
    expect(() => parseScenario(many(1, 1e9))).toThrow(`scenario field "services.0.desiredCount": must be at most ${MAX_SIMULATED_TASKS}`);
    expect(parseScenario(many(2, 100)).services).toHaveLength(2);
  });
});
