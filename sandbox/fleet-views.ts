/**
 * What the simulated fleet shows to the sandbox's other AWS APIs: Elastic Load Balancing v2
 * (target groups and target health) and CloudWatch (metrics drawn from the fleet's history).
 * The ECS simulator (sandbox/ecs.ts) implements `FleetReadings`; sandbox/elbv2.ts and
 * sandbox/metrics.ts only read through it.
 */

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

/** An ip target group of type HTTP in front of one ECS service, with its health-check settings. */
export interface TargetGroupView {
  arn: string;
  name: string;
  /** The ECS service whose tasks register into it. */
  service: string;
  loadBalancerArn: string;
  vpcId: string;
  port: number;
  healthCheck: {
    path: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    /** HTTP codes that count as healthy, e.g. "200". */
    matcher: string;
  };
  deregistrationDelaySeconds: number;
}

export interface LoadBalancerView {
  arn: string;
  name: string;
  dnsName: string;
  vpcId: string;
  createdAt: Date;
}

export interface TargetHealthView {
  /** The task's private IPv4 address (ip target type). */
  id: string;
  port: number;
  availabilityZone: string;
  state: TargetState;
  /** ELB's reason code, e.g. "Elb.InitialHealthChecking", absent when healthy. */
  reason?: string;
  description?: string;
}

/** Counts of one service at a past moment (for metrics); undefined beyond the kept history. */
export interface ServiceSample {
  desired: number;
  running: number;
  pending: number;
  /** Running and passing its container health check (where one is defined) and its targets' checks. */
  healthy: number;
  /** Tasks that stopped in the minute before `atMs` without ever becoming healthy. */
  failedLastMinute: number;
  /**
   * A cpu-saturation fault active at `atMs`: the service's work is `loadFactor` times what its
   * `usualTasks` usually do, spread over whatever runs now (sandbox/metrics.ts).
   */
  saturation?: { loadFactor: number };
  /** The desired count the service's usual work is spread over (the scenario's); 1 when not given. */
  usualTasks?: number;
}

export interface TargetSample {
  healthy: number;
  unhealthy: number;
  /** initial + draining + unused. */
  other: number;
}

export interface FleetReadings {
  region: string;
  accountId: string;
  clusterName: string;
  serviceNames(): string[];
  /** Baselines the scenario gives each service (percent), for synthetic CPU/memory metrics. */
  utilisationBaseline(service: string): { cpu: number; memory: number } | undefined;
  loadBalancers(): LoadBalancerView[];
  targetGroups(): TargetGroupView[];
  /** Current target health of a target group; undefined for an unknown ARN. */
  targetHealth(targetGroupArn: string): TargetHealthView[] | undefined;
  /** The service at `atMs` (within the last hour of simulated time). */
  serviceSample(service: string, atMs: number): ServiceSample | undefined;
  targetSample(targetGroupArn: string, atMs: number): TargetSample | undefined;
}
