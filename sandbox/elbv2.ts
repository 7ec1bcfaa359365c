import type { FleetReadings, LoadBalancerView, TargetGroupView, TargetHealthView } from './fleet-views.ts';
import { AwsServiceError, type AwsJsonService } from './http.ts';

/**
 * Elastic Load Balancing v2 (awsQuery, Version 2015-12-01), read-only, drawn from the fleet:
 * DescribeLoadBalancers, DescribeTargetGroups, DescribeTargetHealth and
 * DescribeTargetGroupAttributes — what `aws elbv2 describe-target-health` shows a person at 3 a.m.
 * Shapes, member names and error codes follow botocore's elbv2/2015-12-01/service-2.json; every
 * modelled ELB error is HTTP 400 (the model's `httpStatusCode`).
 */

export const ELBV2_VERSION = '2015-12-01';

/** An ELB error: the awsQuery `<Code>` is the model's `error.code` (TargetGroupNotFound, not …Exception). */
export class ElbError extends AwsServiceError {
  constructor(code: 'TargetGroupNotFound' | 'LoadBalancerNotFound' | 'ValidationError' | 'InvalidAction', message: string) {
    super(code, message, 400);
  }
}

type Params = Record<string, unknown>;

export class Elbv2 {
  constructor(private readonly readings: FleetReadings) {}

  readonly handle: AwsJsonService = (action, params) => {
    switch (action) {
      case 'DescribeLoadBalancers':
        return this.describeLoadBalancers(params);
      case 'DescribeTargetGroups':
        return this.describeTargetGroups(params);
      case 'DescribeTargetHealth':
        return this.describeTargetHealth(params);
      case 'DescribeTargetGroupAttributes':
        return { Attributes: targetGroupAttributes(this.targetGroup(requiredString(params, 'TargetGroupArn'))) };
      default:
        throw new ElbError('InvalidAction', `Could not find operation ${action} for version ${ELBV2_VERSION} (the sandbox's Elastic Load Balancing is read-only: DescribeLoadBalancers, DescribeTargetGroups, DescribeTargetHealth, DescribeTargetGroupAttributes)`);
    }
  };

  /** LoadBalancerArns or Names (not both); any unknown one fails the call (LoadBalancerNotFound). */
  private describeLoadBalancers(params: Params) {
    const arns = stringList(params, 'LoadBalancerArns');
    const names = stringList(params, 'Names');
    if (arns.length && names.length) throw new ElbError('ValidationError', 'Load balancer names and load balancer ARNs cannot be specified at the same time');
    arns.forEach((arn) => checkArn(arn, 'load balancer'));
    const all = this.readings.loadBalancers();
    const missing = [...arns.filter((a) => !all.some((lb) => lb.arn === a)), ...names.filter((n) => !all.some((lb) => lb.name === n))];
    if (missing.length) throw new ElbError('LoadBalancerNotFound', `Load balancers '[${missing.join(', ')}]' not found`);
    const chosen = arns.length || names.length ? all.filter((lb) => arns.includes(lb.arn) || names.includes(lb.name)) : all;
    const page = paginate(sortByName(chosen), params);
    return { LoadBalancers: page.items.map((lb) => this.loadBalancer(lb)), ...(page.next ? { NextMarker: page.next } : {}) };
  }

  /** One of LoadBalancerArn, TargetGroupArns, Names; unknown ARNs or names fail the call. */
  private describeTargetGroups(params: Params) {
    const lbArn = optionalString(params, 'LoadBalancerArn');
    const arns = stringList(params, 'TargetGroupArns');
    const names = stringList(params, 'Names');
    if ([lbArn, arns.length, names.length].filter(Boolean).length > 1) {
      throw new ElbError('ValidationError', 'Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time');
    }
    arns.forEach((arn) => checkArn(arn, 'target group'));
    const all = this.readings.targetGroups();
    let chosen = all;
    if (lbArn) {
      checkArn(lbArn, 'load balancer');
      if (!this.readings.loadBalancers().some((lb) => lb.arn === lbArn)) throw new ElbError('LoadBalancerNotFound', `Load balancer '${lbArn}' not found`);
      chosen = all.filter((tg) => tg.loadBalancerArn === lbArn);
    } else if (arns.length || names.length) {
      const missing = [...arns.filter((a) => !all.some((tg) => tg.arn === a)), ...names.filter((n) => !all.some((tg) => tg.name === n))];
      if (missing.length) throw new ElbError('TargetGroupNotFound', 'One or more target groups not found');
      chosen = all.filter((tg) => arns.includes(tg.arn) || names.includes(tg.name));
    }
    const page = paginate(sortByName(chosen), params);
    return { TargetGroups: page.items.map(targetGroup), ...(page.next ? { NextMarker: page.next } : {}) };
  }

  /**
   * Every registered target, or just the ones asked for; a target asked for but not registered is
   * `unused` / Target.NotRegistered, as ELB answers it (TargetHealth reason codes, ELB API reference).
   */
  private describeTargetHealth(params: Params) {
    const tg = this.targetGroup(requiredString(params, 'TargetGroupArn'));
    const registered = this.readings.targetHealth(tg.arn) ?? [];
    const asked = recordList(params, 'Targets').map((t, i) => targetDescription(t, i));
    if (asked.length === 0) return { TargetHealthDescriptions: registered.map(healthDescription) };
    return {
      TargetHealthDescriptions: asked.flatMap((want): Record<string, unknown>[] => {
        const found = registered.filter((r) => r.id === want.id && (want.port === undefined || r.port === want.port));
        return found.length ? found.map(healthDescription) : [notRegistered(want)];
      }),
    };
  }

  private targetGroup(arn: string): TargetGroupView {
    checkArn(arn, 'target group');
    const tg = this.readings.targetGroups().find((t) => t.arn === arn);
    if (!tg) throw new ElbError('TargetGroupNotFound', `Target groups '${arn}' not found`);
    return tg;
  }

  private loadBalancer(lb: LoadBalancerView) {
    const zones = this.zonesOf(lb);
    return {
      LoadBalancerArn: lb.arn,
      DNSName: lb.dnsName,
      CanonicalHostedZoneId: ALB_HOSTED_ZONES[this.readings.region],
      CreatedTime: lb.createdAt,
      LoadBalancerName: lb.name,
      // ELB prefixes the DNS names of internal load balancers with "internal-".
      Scheme: lb.dnsName.startsWith('internal-') ? 'internal' : 'internet-facing',
      VpcId: lb.vpcId,
      State: { Code: 'active' },
      Type: 'application',
      AvailabilityZones: zones.map((ZoneName) => ({ ZoneName, SubnetId: subnetId(lb.vpcId, ZoneName), LoadBalancerAddresses: [] })),
      SecurityGroups: [`sg-${hex(`${lb.arn}|sg`, 17)}`],
      IpAddressType: 'ipv4',
    };
  }

  /** The zones its targets run in (an ALB spans at least two), else the region's first two. */
  private zonesOf(lb: LoadBalancerView): string[] {
    const zones = new Set<string>();
    for (const tg of this.readings.targetGroups().filter((t) => t.loadBalancerArn === lb.arn)) {
      for (const t of this.readings.targetHealth(tg.arn) ?? []) zones.add(t.availabilityZone);
    }
    for (const suffix of ['a', 'b']) if (zones.size < 2) zones.add(`${this.readings.region}${suffix}`);
    return [...zones].sort();
  }
}

/** Route 53 hosted zones of ALBs per region (ELB endpoints and quotas, AWS General Reference). */
const ALB_HOSTED_ZONES: Record<string, string> = {
  'us-east-1': 'Z35SXDOTRQ7X7K',
  'us-east-2': 'Z3AADJGX6KTTL2',
  'us-west-1': 'Z368ELLRRE2KJ0',
  'us-west-2': 'Z1H1FL5HABSF5',
  'eu-west-1': 'Z32O12XQLNTSW2',
  'eu-central-1': 'Z215JYRZR1TBD5',
};

function targetGroup(tg: TargetGroupView) {
  return {
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: 'HTTP',
    Port: tg.port,
    VpcId: tg.vpcId,
    HealthCheckProtocol: 'HTTP',
    HealthCheckPort: 'traffic-port',
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: tg.healthCheck.intervalSeconds,
    HealthCheckTimeoutSeconds: tg.healthCheck.timeoutSeconds,
    HealthyThresholdCount: tg.healthCheck.healthyThreshold,
    UnhealthyThresholdCount: tg.healthCheck.unhealthyThreshold,
    HealthCheckPath: tg.healthCheck.path,
    Matcher: { HttpCode: tg.healthCheck.matcher },
    LoadBalancerArns: [tg.loadBalancerArn],
    TargetType: 'ip',
    ProtocolVersion: 'HTTP1',
    IpAddressType: 'ipv4',
  };
}

/**
 * An ALB ip target group's attributes with AWS's defaults (TargetGroupAttribute in the ELB API
 * reference), the deregistration delay as the fleet has it.
 */
export function targetGroupAttributes(tg: TargetGroupView): { Key: string; Value: string }[] {
  const attributes: [string, string][] = [
    ['deregistration_delay.timeout_seconds', String(tg.deregistrationDelaySeconds)],
    ['stickiness.enabled', 'false'],
    ['stickiness.type', 'lb_cookie'],
    ['stickiness.lb_cookie.duration_seconds', '86400'],
    ['stickiness.app_cookie.cookie_name', ''],
    ['stickiness.app_cookie.duration_seconds', '86400'],
    ['load_balancing.algorithm.type', 'round_robin'],
    ['load_balancing.algorithm.anomaly_mitigation', 'off'],
    ['load_balancing.cross_zone.enabled', 'use_load_balancer_configuration'],
    ['slow_start.duration_seconds', '0'],
    ['target_group_health.dns_failover.minimum_healthy_targets.count', '1'],
    ['target_group_health.dns_failover.minimum_healthy_targets.percentage', 'off'],
    ['target_group_health.unhealthy_state_routing.minimum_healthy_targets.count', '1'],
    ['target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage', 'off'],
  ];
  return attributes.map(([Key, Value]) => ({ Key, Value }));
}

/** ELB's descriptions of its reason codes (TargetHealth, ELB API reference), for views that give only the code. */
const REASON_DESCRIPTIONS: Record<string, string> = {
  'Elb.RegistrationInProgress': 'Target registration is in progress',
  'Elb.InitialHealthChecking': 'Initial health checks in progress',
  'Target.ResponseCodeMismatch': 'Health checks failed with these codes: [503]',
  'Target.Timeout': 'Request timed out',
  'Target.FailedHealthChecks': 'Health checks failed',
  'Target.NotRegistered': 'Target is not registered to the target group',
  'Target.NotInUse': 'Target group is not configured to receive traffic from the load balancer',
  'Target.DeregistrationInProgress': 'Target deregistration is in progress',
  'Target.InvalidState': 'Target is in the stopped state',
};

function healthDescription(t: TargetHealthView) {
  const description = t.description ?? (t.reason ? REASON_DESCRIPTIONS[t.reason] : undefined);
  return {
    Target: { Id: t.id, Port: t.port, AvailabilityZone: t.availabilityZone },
    HealthCheckPort: String(t.port),
    TargetHealth: { State: t.state, ...(t.reason ? { Reason: t.reason } : {}), ...(description ? { Description: description } : {}) },
  };
}

function notRegistered(t: { id: string; port: number | undefined }) {
  return {
    Target: { Id: t.id, ...(t.port !== undefined ? { Port: t.port } : {}) },
    ...(t.port !== undefined ? { HealthCheckPort: String(t.port) } : {}),
    TargetHealth: { State: 'unused', Reason: 'Target.NotRegistered', Description: REASON_DESCRIPTIONS['Target.NotRegistered'] },
  };
}

function targetDescription(raw: Params, index: number): { id: string; port: number | undefined } {
  const id = raw.Id;
  if (typeof id !== 'string' || !id) throw new ElbError('ValidationError', `1 validation error detected: Value null at 'targets.${index + 1}.member.id' failed to satisfy constraint: Member must not be null`);
  const port = raw.Port === undefined ? undefined : Number(raw.Port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new ElbError('ValidationError', `1 validation error detected: Value '${String(raw.Port)}' at 'targets.${index + 1}.member.port' failed to satisfy constraint: Member must have value between 1 and 65535`);
  }
  return { id, port };
}

// ---------------------------------------------------------------------------------------------
// Parameters

const ARN = { 'target group': /^arn:aws[\w-]*:elasticloadbalancing:[\w-]+:\d{12}:targetgroup\/[\w-]{1,32}\/[0-9a-f]+$/, 'load balancer': /^arn:aws[\w-]*:elasticloadbalancing:[\w-]+:\d{12}:loadbalancer\/(app|net|gwy)\/[\w-]{1,32}\/[0-9a-f]+$/ };

function checkArn(arn: string, kind: keyof typeof ARN): void {
  if (!ARN[kind].test(arn)) throw new ElbError('ValidationError', `'${arn}' is not a valid ${kind} ARN`);
}

function requiredString(params: Params, field: string): string {
  const v = params[field];
  if (typeof v !== 'string' || v === '') {
    throw new ElbError('ValidationError', `1 validation error detected: Value null at '${lowerFirst(field)}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

function optionalString(params: Params, field: string): string | undefined {
  const v = params[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A list member; `Name=` (an empty list on the wire) and absence both read as []. */
function stringList(params: Params, field: string): string[] {
  const v = params[field];
  return Array.isArray(v) ? v.map(String) : [];
}

function recordList(params: Params, field: string): Params[] {
  const v = params[field];
  return Array.isArray(v) ? v.filter((x): x is Params => typeof x === 'object' && x !== null) : [];
}

/** Marker/PageSize paging (PageSize 1–400, the model's range); the marker is an opaque offset. */
function paginate<T>(items: T[], params: Params): { items: T[]; next?: string } {
  const size = params.PageSize === undefined ? 400 : Number(params.PageSize);
  if (!Number.isInteger(size) || size < 1 || size > 400) {
    throw new ElbError('ValidationError', `1 validation error detected: Value '${String(params.PageSize)}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400`);
  }
  const start = params.Marker === undefined || params.Marker === '' ? 0 : decodeMarker(String(params.Marker));
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { next: Buffer.from(`offset:${end}`).toString('base64') } : {}) };
}

function decodeMarker(marker: string): number {
  const m = /^offset:(\d+)$/.exec(Buffer.from(marker, 'base64').toString('utf8'));
  if (!m) throw new ElbError('ValidationError', `The marker '${marker}' is not valid`);
  return Number(m[1]);
}

function sortByName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.name.localeCompare(b.name));
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Stable made-up ids (subnets, security groups) so the same fleet always shows the same ones. */
function hex(seed: string, length: number): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < length; round++) {
    for (const c of `${seed}#${round}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
    out += (h >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

function subnetId(vpcId: string, zone: string): string {
  return `subnet-${hex(`${vpcId}|${zone}`, 17)}`;
}
