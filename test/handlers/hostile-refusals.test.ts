import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, test } from 'vitest';
import { routeByTags, tagRoute } from '#commons/alarms';
import { documentClient, ecsClient, elbv2Client, sfnClient } from '#commons/clients';
import type { Config } from '#commons/config';
import { IncidentStore } from '#commons/incidents';
import { resolveIncident } from '#commons/incident';
import { silentLogger } from '#commons/logger';
import type { SlackApi } from '#commons/slack';
import { RestorePoints } from '#safety/restore-points';
import { serviceKey, WatchStore } from '#stability/watches';
import { requestApproval } from '../../handlers/request-approval.ts';
import { restartService } from '../../handlers/restart-service.ts';
import { handleSlackInteraction, requestFromHttpApi, type SlackInteractionsDeps } from '../../handlers/slack-interactions.ts';
import { verifyRecovery } from '../../handlers/verify.ts';
import { watchStability } from '../../handlers/watch-stability.ts';
import { withSandbox } from '../support/p0.ts';

/**
 * A step invoked by hand with an input no workflow would pass is refused with a named error that
 * names the field — and before anything is claimed, stored, posted or fetched.
 */

const SERVICE = 'acme-axon';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:made-up';
const TOKEN = `AQB${'A'.repeat(96)}`;
const config: Config = {
  defaultCluster: 'acme-cluster',
  managedServices: [SERVICE, 'acme-orbit'],
  logGroupPattern: '/ecs/{service}',
  serviceSettings: {},
  expectedStartSeconds: 30,
  healthRequestTimeoutMs: 2000,
  incidentsTable: 'incident-flows-incidents',
  approvalsTable: 'incident-flows-approvals',
  watchesTable: 'incident-flows-stability-watches',
  lockSeconds: 7200,
};
const INCIDENT = { service: SERVICE, cluster: 'acme-cluster', logGroup: `/ecs/${SERVICE}`, restartMode: 'force-new-deployment', lookbackMinutes: 60, expectedStartSeconds: 30, dryRun: false };

/** A client that must not be called: the refusal comes first. */
function untouched<T>(what: string): T {
  return { send: () => Promise.reject(new Error(`${what} was called before the refusal`)) } as unknown as T;
}

const caught = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => e);

describe('alarm tags', () => {
  const keys = { service: 'incident-flows:service', severity: 'incident-flows:severity' };

  test('a severity tag that is not P0, P1 or P2 is refused, naming the tag and the allowed values; P0 only when the tag is absent', () => {
    expect(tagRoute({ 'incident-flows:service': SERVICE, 'incident-flows:severity': 'P9' }, keys)).toEqual({
      refused: 'alarm tag "incident-flows:severity" is "P9", not one of P0, P1, P2: fix the tag (or remove it for P0); nothing started',
    });
    expect(routeByTags({ 'incident-flows:service': SERVICE, 'incident-flows:severity': 'P9' }, keys)).toBeUndefined();
    expect(routeByTags({ 'incident-flows:service': SERVICE, 'incident-flows:severity': '' }, keys)).toBeUndefined();
    expect(routeByTags({ 'incident-flows:service': SERVICE }, keys)).toMatchObject({ service: SERVICE, severity: 'P0' });
    expect(routeByTags({ 'incident-flows:service': SERVICE, 'incident-flows:severity': ' p1 ' }, keys)).toMatchObject({ service: SERVICE, severity: 'P1' });
  });
});

describe('lookbackMinutes in a step\'s incident is bounded like the start input', () => {
  test.each([1e15, -60, 4, 1441])('%s is refused, naming the field', async (lookbackMinutes) => {
    const err = await caught(verifyRecovery({ incident: { ...INCIDENT, lookbackMinutes } }, { ecs: untouched('ECS'), elbv2: untouched('ELB'), clock: { now: () => new Date() } as never, config, fetch: untouched('fetch') }));
    expect(err).toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/field "incident\.lookbackMinutes".*from 5 to 1440/) });
  });
});

describe('restart-service', () => {
  test('an unknown cluster with a made-up execution is refused without taking the service\'s lock: the next real restart still gets it', async () => {
    await withSandbox({}, async (sandbox) => {
      const clients = sandbox.clientOptions();
      const ecs = ecsClient(clients);
      const incidents = new IncidentStore(documentClient(clients), 'incident-flows-incidents');
      const points = new RestorePoints(documentClient(clients), 'incident-flows-incidents');
      const deps = { ecs, ecsOnce: ecs, elbv2: elbv2Client(clients), clock: sandbox.clock, config, points, incidents };
      const err = await caught(restartService({ incident: { ...INCIDENT, cluster: 'nope-cluster' }, attempt: 'restart', execution: EXECUTION }, deps));
      expect(err).toMatchObject({ name: 'ClusterNotFoundError', message: expect.stringContaining('field "cluster"') });
      expect(await incidents.lock(SERVICE)).toBeUndefined();
      expect(await points.get('nope-cluster', SERVICE)).toBeUndefined();
      // A real execution restarting the service afterwards is not refused as busy.
      const real = await restartService({ incident: resolveIncident({ service: SERVICE }, config), attempt: 'restart', execution: `${EXECUTION}-real` }, deps);
      expect(real).toMatchObject({ phase: 'force', desiredBefore: 2 });
    });
  });
});

describe('watch-stability', () => {
  const event = (service: string) => ({
    incident: { ...INCIDENT, service },
    change: { startedAt: '2026-11-28T03:00:00Z', wait: { checkEverySeconds: 15, stallSeconds: 60, maxSeconds: 300 } },
    watch: 'restart',
    execution: EXECUTION,
    taskToken: TOKEN,
  });

  test('a service that does not exist, or is not managed, gets no watch and no stored task token', async () => {
    await withSandbox({}, async (sandbox) => {
      const clients = sandbox.clientOptions();
      const watches = new WatchStore(documentClient(clients), 'incident-flows-stability-watches');
      const deps = { ecs: ecsClient(clients), elbv2: elbv2Client(clients), sfn: sfnClient(clients), watches, clock: sandbox.clock, log: silentLogger };
      expect(await caught(watchStability(event('acme-ghost'), deps))).toMatchObject({ name: 'ServiceNotFoundError' });
      expect(await watches.forService(serviceKey('acme-cluster', 'acme-ghost'))).toEqual([]);
      expect(await caught(watchStability(event('payments-db'), { ...deps, config }))).toMatchObject({ name: 'ServiceNotManagedError', message: expect.stringContaining('field "service"') });
      expect(await watches.forService(serviceKey('acme-cluster', 'payments-db'))).toEqual([]);
    });
  });
});

describe('verify fetches only the configured health URL\'s origin, as resolveIncident allows', () => {
  const fetched: string[] = [];
  const spy = (async (url: string) => {
    fetched.push(url);
    return new Response('ok', { status: 200 });
  }) as unknown as typeof fetch;
  const deps = (settings: Config['serviceSettings']) => ({ ecs: untouched<never>('ECS'), elbv2: untouched<never>('ELB'), clock: { now: () => new Date() } as never, config: { ...config, serviceSettings: settings }, fetch: spy });
  const configured = { [SERVICE]: { healthUrl: 'https://axon.example.com/health' } };

  test.each([
    ['another host', 'http://127.0.0.1:9/internal/admin', configured, /field "incident\.healthUrl": http:\/\/127\.0\.0\.1:9 is not the configured health URL's origin/],
    ['credentials on another host', 'http://admin:admin@127.0.0.1:9/internal/admin', configured, /field "incident\.healthUrl": http:\/\/127\.0\.0\.1:9 is not/],
    ['a file URL', 'file:///etc/passwd', configured, /field "incident\.healthUrl": invalid URL/],
    ['any URL when none is configured', 'https://axon.example.com/health', {}, /field "incident\.healthUrl": no health URL is configured for "acme-axon"/],
  ])('%s is refused before anything is fetched', async (_name, healthUrl, settings, message) => {
    const err = await caught(verifyRecovery({ incident: { ...INCIDENT, healthUrl } }, deps(settings)));
    expect(err).toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(message) });
    expect(err!.message).not.toContain('admin:admin');
    expect(fetched).toEqual([]);
  });

  test('a path on the configured origin is fetched', async () => {
    await withSandbox({}, async (sandbox) => {
      const healthUrl = sandbox.healthUrl(SERVICE)!;
      const clients = sandbox.clientOptions();
      const settings = { [SERVICE]: { healthUrl: new URL('/', healthUrl).href } };
      const result = await verifyRecovery({ incident: { ...INCIDENT, healthUrl } }, { ecs: ecsClient(clients), elbv2: elbv2Client(clients), clock: sandbox.clock, config: { ...config, serviceSettings: settings }, fetch: globalThis.fetch });
      expect(result.health).toMatchObject({ url: healthUrl, status: 200 });
    });
  });
});

describe('request-approval asks nobody and stores nothing for an input no workflow would pass', () => {
  const posted: unknown[] = [];
  const slack = {
    postMessage: async (m: unknown) => {
      posted.push(m);
      return { channel: 'C1', ts: '1.1' };
    },
  } as unknown as SlackApi;
  const deps = {
    dynamo: untouched<DynamoDBDocumentClient>('DynamoDB'),
    slack: async () => slack,
    clock: { now: () => new Date('2026-11-28T03:00:00Z') } as never,
    config: { table: 'incident-flows-approvals', channel: '#incidents', approvers: {}, slackApiUrl: 'https://slack.invalid/api/', responseUrlPrefixes: [] } as never,
    log: silentLogger,
    managed: config,
  };
  const request = { workflow: 'p0-system-down', action: 'restart', tier: 'on-call', timeoutSeconds: 900 };

  test('an unmanaged service', async () => {
    const err = await caught(requestApproval({ taskToken: TOKEN, execution: EXECUTION, request, incident: { ...INCIDENT, service: 'payments-db' } }, deps));
    expect(err).toMatchObject({ name: 'ServiceNotManagedError', message: expect.stringContaining('field "service": "payments-db" is not managed') });
    expect(posted).toEqual([]);
  });

  test.each(['not-an-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:incident-flows-p0-system-down', `${EXECUTION}:extra`])('an execution that is not an execution ARN: %s', async (execution) => {
    const err = await caught(requestApproval({ taskToken: TOKEN, execution, request, incident: INCIDENT, evidence: { note: `<!channel> ${'x'.repeat(100_000)}` } }, deps));
    expect(err).toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('field "execution": must be a Step Functions execution ARN') });
    expect(err!.message.length).toBeLessThan(500);
    expect(posted).toEqual([]);
  });
});

describe('slack-interactions: an event that is not an HTTP API request is answered 400 with a code', () => {
  const deps: SlackInteractionsDeps = {
    dynamo: untouched<DynamoDBDocumentClient>('DynamoDB'),
    sfn: untouched<SFNClient>('Step Functions'),
    clock: { now: () => new Date() } as never,
    config: { table: 'incident-flows-approvals', channel: '#incidents', approvers: {}, slackApiUrl: 'https://slack.invalid/api/', responseUrlPrefixes: [] } as never,
    secrets: () => Promise.reject(new Error('secrets were read before the refusal')),
    slack: () => Promise.reject(new Error('Slack was called before the refusal')),
    log: silentLogger,
  };

  test.each([
    ['null', null, 'it is null, not an object'],
    ['a number', 42, 'it is a number, not an object'],
    ['body a number', { body: 42, headers: {} }, '"body" is a number, not a string'],
    ['body an object', { body: { payload: 'x' }, headers: {} }, '"body" is an object, not a string'],
    ['headers a string', { body: 'payload=x', headers: 'content-type' }, '"headers" is a string, not an object'],
    ['a header that is not a string', { body: 'payload=x', headers: { 'content-type': 7 } }, 'header "content-type" is a number, not a string'],
  ])('%s', async (_name, event, why) => {
    const res = await handleSlackInteraction(requestFromHttpApi(event), deps);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ ok: false, code: 'malformed_payload', text: expect.stringContaining(why) });
  });
});
