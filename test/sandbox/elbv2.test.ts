import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../sandbox/clock.ts';
import { AlarmStore, mountMonitoring } from '../../sandbox/cloudwatch.ts';
import type { FleetReadings, TargetGroupView, TargetHealthView } from '../../sandbox/fleet-views.ts';
import { AwsServiceError, SandboxHttpServer, type AwsJsonOutcome } from '../../sandbox/http.ts';
import { failure } from '../support/fleet.ts';

const T0 = Date.parse('2026-11-28T03:00:00Z');
const ACCOUNT = '123456789012';
const LB_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/acme-alb/50dc6c495c0c9188`;
const tgArn = (name: string, id: string) => `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/${name}/${id}`;
const AXON = tgArn('acme-axon', '73e2d6bc24d8a067');
const ORBIT = tgArn('acme-orbit', '0e1b6c0f8d2a4c11');
const LEDGER = tgArn('acme-ledger', '9a8b7c6d5e4f3a2b');

function targetGroup(arn: string, service: string, deregistrationDelaySeconds = 300): TargetGroupView {
  return {
    arn,
    name: service,
    service,
    loadBalancerArn: LB_ARN,
    vpcId: 'vpc-0abc',
    port: 8080,
    healthCheck: { path: '/health', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' },
    deregistrationDelaySeconds,
  };
}

/** Three target groups on one ALB; acme-axon mid-restart: one healthy, one failing, one new, one draining. */
function fakeFleet(): FleetReadings {
  const health: Record<string, TargetHealthView[]> = {
    [AXON]: [
      { id: '10.0.1.17', port: 8080, availabilityZone: 'us-east-1a', state: 'healthy' },
      { id: '10.0.2.33', port: 8080, availabilityZone: 'us-east-1b', state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [503]' },
      { id: '10.0.1.40', port: 8080, availabilityZone: 'us-east-1a', state: 'initial', reason: 'Elb.InitialHealthChecking' },
      { id: '10.0.2.8', port: 8080, availabilityZone: 'us-east-1b', state: 'draining', reason: 'Target.DeregistrationInProgress' },
    ],
    [ORBIT]: [{ id: '10.0.1.90', port: 8080, availabilityZone: 'us-east-1a', state: 'healthy' }],
    [LEDGER]: [],
  };
  return {
    region: 'us-east-1',
    accountId: ACCOUNT,
    clusterName: 'acme-cluster',
    serviceNames: () => ['acme-axon', 'acme-orbit', 'acme-ledger'],
    utilisationBaseline: () => undefined,
    loadBalancers: () => [{ arn: LB_ARN, name: 'acme-alb', dnsName: 'internal-acme-alb-1234567890.us-east-1.elb.amazonaws.com', vpcId: 'vpc-0abc', createdAt: new Date(T0 - 86_400_000) }],
    targetGroups: () => [targetGroup(ORBIT, 'acme-orbit'), targetGroup(AXON, 'acme-axon', 30), targetGroup(LEDGER, 'acme-ledger')],
    targetHealth: (arn) => health[arn],
    serviceSample: () => undefined,
    targetSample: () => undefined,
  };
}

let server: SandboxHttpServer;
let url: string;
let elb: ElasticLoadBalancingV2Client;
let outcomes: AwsJsonOutcome[];
let failNext: AwsServiceError | undefined;

beforeEach(async () => {
  const clock = new VirtualClock(T0);
  server = new SandboxHttpServer();
  outcomes = [];
  server.observe((o) => outcomes.push(o));
  server.intercept((call) => {
    const fail = failNext;
    failNext = undefined;
    if (fail && call.api === 'elbv2') throw fail;
  });
  mountMonitoring(server, { clock, readings: fakeFleet(), alarms: new AlarmStore({ clock, region: 'us-east-1', accountId: ACCOUNT }) });
  url = await server.listen();
  elb = new ElasticLoadBalancingV2Client({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});

afterEach(async () => {
  elb.destroy();
  await server.close();
});

describe('DescribeTargetHealth', () => {
  it('lists every registered target with its state, and ELB\'s reason and description where not healthy', async () => {
    const { TargetHealthDescriptions = [] } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: AXON }));
    expect(TargetHealthDescriptions.map((d) => [d.Target?.Id, d.Target?.Port, d.Target?.AvailabilityZone, d.HealthCheckPort, d.TargetHealth?.State, d.TargetHealth?.Reason, d.TargetHealth?.Description])).toEqual([
      ['10.0.1.17', 8080, 'us-east-1a', '8080', 'healthy', undefined, undefined],
      ['10.0.2.33', 8080, 'us-east-1b', '8080', 'unhealthy', 'Target.ResponseCodeMismatch', 'Health checks failed with these codes: [503]'],
      ['10.0.1.40', 8080, 'us-east-1a', '8080', 'initial', 'Elb.InitialHealthChecking', 'Initial health checks in progress'],
      ['10.0.2.8', 8080, 'us-east-1b', '8080', 'draining', 'Target.DeregistrationInProgress', 'Target deregistration is in progress'],
    ]);
  });

  it('answers for the targets asked about; one not registered is unused / Target.NotRegistered', async () => {
    const { TargetHealthDescriptions = [] } = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: AXON, Targets: [{ Id: '10.0.9.9', Port: 8080 }, { Id: '10.0.1.17' }] }),
    );
    expect(TargetHealthDescriptions.map((d) => [d.Target?.Id, d.TargetHealth?.State, d.TargetHealth?.Reason])).toEqual([
      ['10.0.9.9', 'unused', 'Target.NotRegistered'],
      ['10.0.1.17', 'healthy', undefined],
    ]);
  });

  it('an empty target group has no descriptions', async () => {
    expect((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: LEDGER }))).TargetHealthDescriptions).toEqual([]);
  });

  it('an unknown target group is TargetGroupNotFound, a malformed ARN ValidationError, both HTTP 400', async () => {
    const unknown = await failure(elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn('gone', 'ffffffffffffffff') })));
    expect(unknown).toMatchObject({ name: 'TargetGroupNotFoundException', status: 400 });
    const malformed = await failure(elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: 'acme-axon' })));
    expect(malformed).toMatchObject({ name: 'ValidationError', status: 400, message: "'acme-axon' is not a valid target group ARN" });
  });
});

describe('DescribeTargetGroups', () => {
  it('describes a target group as ELB does: HTTP ip target group, health check, load balancer', async () => {
    const { TargetGroups = [] } = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [AXON] }));
    expect(TargetGroups).toEqual([
      {
        TargetGroupArn: AXON,
        TargetGroupName: 'acme-axon',
        Protocol: 'HTTP',
        Port: 8080,
        VpcId: 'vpc-0abc',
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: 'traffic-port',
        HealthCheckEnabled: true,
        HealthCheckIntervalSeconds: 30,
        HealthCheckTimeoutSeconds: 5,
        HealthyThresholdCount: 5,
        UnhealthyThresholdCount: 2,
        HealthCheckPath: '/health',
        Matcher: { HttpCode: '200' },
        LoadBalancerArns: [LB_ARN],
        TargetType: 'ip',
        ProtocolVersion: 'HTTP1',
        IpAddressType: 'ipv4',
      },
    ]);
  });

  it('selects by names or by load balancer, in name order', async () => {
    const byName = await elb.send(new DescribeTargetGroupsCommand({ Names: ['acme-orbit', 'acme-axon'] }));
    expect(byName.TargetGroups?.map((t) => t.TargetGroupName)).toEqual(['acme-axon', 'acme-orbit']);
    const byLb = await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: LB_ARN }));
    expect(byLb.TargetGroups?.map((t) => t.TargetGroupName)).toEqual(['acme-axon', 'acme-ledger', 'acme-orbit']);
  });

  it('pages with PageSize and Marker', async () => {
    const first = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 2 }));
    expect(first.TargetGroups?.map((t) => t.TargetGroupName)).toEqual(['acme-axon', 'acme-ledger']);
    expect(first.NextMarker).toBeTruthy();
    const second = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 2, Marker: first.NextMarker }));
    expect(second.TargetGroups?.map((t) => t.TargetGroupName)).toEqual(['acme-orbit']);
    expect(second.NextMarker).toBeUndefined();
    expect(await failure(elb.send(new DescribeTargetGroupsCommand({ PageSize: 401 })))).toMatchObject({ name: 'ValidationError', status: 400 });
  });

  it('refuses what ELB refuses: names with ARNs, unknown names, an unknown load balancer', async () => {
    expect(await failure(elb.send(new DescribeTargetGroupsCommand({ Names: ['acme-axon'], TargetGroupArns: [AXON] })))).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(await failure(elb.send(new DescribeTargetGroupsCommand({ Names: ['acme-axon', 'nope'] })))).toMatchObject({ name: 'TargetGroupNotFoundException', status: 400 });
    const lb = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/gone/0123456789abcdef`;
    expect(await failure(elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb })))).toMatchObject({ name: 'LoadBalancerNotFoundException', status: 400 });
  });
});

describe('DescribeLoadBalancers and DescribeTargetGroupAttributes', () => {
  it('describes the ALB in front of the services', async () => {
    const { LoadBalancers = [] } = await elb.send(new DescribeLoadBalancersCommand({}));
    expect(LoadBalancers).toHaveLength(1);
    expect(LoadBalancers[0]).toMatchObject({
      LoadBalancerArn: LB_ARN,
      LoadBalancerName: 'acme-alb',
      DNSName: 'internal-acme-alb-1234567890.us-east-1.elb.amazonaws.com',
      Scheme: 'internal',
      Type: 'application',
      State: { Code: 'active' },
      VpcId: 'vpc-0abc',
      CreatedTime: new Date(T0 - 86_400_000),
      IpAddressType: 'ipv4',
    });
    expect(LoadBalancers[0]!.AvailabilityZones?.map((z) => z.ZoneName)).toEqual(['us-east-1a', 'us-east-1b']);
    expect(await failure(elb.send(new DescribeLoadBalancersCommand({ Names: ['nope'] })))).toMatchObject({ name: 'LoadBalancerNotFoundException', status: 400 });
  });

  it('target group attributes carry the fleet\'s deregistration delay and AWS\'s defaults', async () => {
    const { Attributes = [] } = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: AXON }));
    const attrs = Object.fromEntries(Attributes.map((a) => [a.Key, a.Value]));
    expect(attrs).toMatchObject({
      'deregistration_delay.timeout_seconds': '30',
      'stickiness.enabled': 'false',
      'stickiness.type': 'lb_cookie',
      'stickiness.lb_cookie.duration_seconds': '86400',
      'load_balancing.algorithm.type': 'round_robin',
      'slow_start.duration_seconds': '0',
    });
    const orbit = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: ORBIT }));
    expect(orbit.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value).toBe('300');
    expect(await failure(elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgArn('gone', 'ffff') })))).toMatchObject({ name: 'TargetGroupNotFoundException', status: 400 });
  });
});

describe('the wire', () => {
  it('an operation the read-only sandbox does not serve is InvalidAction, 400', async () => {
    const err = await failure(elb.send(new RegisterTargetsCommand({ TargetGroupArn: AXON, Targets: [{ Id: '10.0.3.3' }] })));
    expect(err).toMatchObject({ name: 'InvalidAction', status: 400 });
  });

  it('ELB calls pass through the interceptors and observers as api "elbv2"', async () => {
    await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: ORBIT }));
    failNext = new AwsServiceError('ThrottlingException', 'Rate exceeded', 400);
    expect(await failure(elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: ORBIT })))).toMatchObject({ name: 'Throttling', status: 400 });
    expect(outcomes.map((o) => [o.api, o.operation, o.status, o.errorCode])).toEqual([
      ['elbv2', 'DescribeTargetHealth', 200, undefined],
      ['elbv2', 'DescribeTargetHealth', 400, 'Throttling'],
    ]);
    expect(outcomes[0]?.body).toEqual({ TargetGroupArn: ORBIT });
  });

  it('an unsigned form POST is routed by its Version; raw routes still get their form posts', async () => {
    server.route('POST /slack/interactions', (_req, body) => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: `slack got ${body.toString()}` }));
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await fetch(url, { method: 'POST', headers: form, body: 'Action=DescribeLoadBalancers&Version=2015-12-01' });
    expect(ok.status).toBe(200);
    const xml = await ok.text();
    expect(xml).toContain('<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeLoadBalancersResult><LoadBalancers><member>');
    expect(xml).toContain(`<RequestId>${ok.headers.get('x-amzn-requestid')}</RequestId>`);
    const slack = await fetch(`${url}/slack/interactions`, { method: 'POST', headers: form, body: 'payload=%7B%7D' });
    expect(await slack.text()).toBe('slack got payload=%7B%7D');
    expect(slack.headers.get('x-amzn-requestid')).toBeTruthy();
  });

  it('a body over 1 MB is a query error (RequestEntityTooLarge, 413) the SDK can read', async () => {
    const err = await failure(elb.send(new DescribeTargetGroupsCommand({ Names: ['x'.repeat(1_100_000)] })));
    expect(err).toMatchObject({ name: 'RequestEntityTooLarge', status: 413 });
  });
});
