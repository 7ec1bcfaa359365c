import { readFileSync } from 'node:fs';
import * as z from 'zod';

/**
 * What the sandbox simulates: one cluster, its services, and the faults to inject.
 * The defaults reproduce the runbook's system; a JSON file can describe any other.
 */
/**
 * What one sandbox simulates, at most; every caller of parseScenario gets these bounds. The fleet
 * simulator's work grows with the square of the task count (1,000 crash-looping tasks took it
 * minutes and gigabytes), and every service is synthesized into the CDK app (the storm drills 50).
 */
export const MAX_SCENARIO_SERVICES = 50;
export const MAX_SIMULATED_TASKS = 200;
/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5 … */
export const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The start of what was given, quoted and escaped, for a message that must stay one short line. */
const shown = (input: unknown) => JSON.stringify(String(input).slice(0, 40));

/** ECS service and family names: letters, digits, hyphens and underscores (ECS refuses the rest). */
const ecsName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be 1-255 letters, digits, hyphens or underscores');

/**
 * An Application Load Balancer target group in front of the service (ip targets, HTTP). Defaults
 * are ELBv2's for a new target group: 30 s interval, 5 s timeout, 5 healthy / 2 unhealthy checks,
 * 300 s deregistration delay (ELBv2 User Guide, "Health checks for target groups", "Deregistration delay").
 */
const loadBalancerSchema = z
  .object({
    healthCheckPath: z.string().startsWith('/').default('/health'),
    intervalSeconds: z.number().int().min(5).max(300).default(30),
    timeoutSeconds: z.number().int().min(2).max(120).default(5),
    healthyThreshold: z.number().int().min(2).max(10).default(5),
    unhealthyThreshold: z.number().int().min(2).max(10).default(2),
    deregistrationDelaySeconds: z.number().int().min(0).max(3600).default(300),
  })
  .strict();

const serviceSchema = z
  .object({
    name: ecsName,
    desiredCount: z
      .number()
      .int()
      .min(0)
      .max(MAX_SIMULATED_TASKS, `must be at most ${MAX_SIMULATED_TASKS}: the sandbox simulates ${MAX_SIMULATED_TASKS} tasks in all`)
      .default(2),
    /** Container image of the current task definition. */
    image: z.string().min(1).optional(),
    /** Task definition family; defaults to the service name. */
    family: ecsName.optional(),
    /** Earlier revisions to register before the current one (rollback targets). */
    previousRevisions: z.number().int().min(0).max(20).default(1),
    /**
     * How the revision before a recent deployment (a seeded UpdateService) behaved, as the service's
     * events still show it: "stable" (it reached steady state), or "failing" (ECS could not keep its tasks up).
     */
    previousRevision: z.enum(['stable', 'failing']).default('stable'),
    /** Seconds from launch until the container is RUNNING. */
    startSeconds: z.number().min(0).max(3600).default(20),
    /** Seconds from RUNNING until the application answers its health check (warm-up). */
    healthCheckSeconds: z.number().min(0).max(3600).default(10),
    /** Seconds a task stopped by the scheduler spends draining (SIGTERM) when no load balancer is in front. */
    drainSeconds: z.number().min(0).max(3600).default(10),
    /** The task definition's essential container defines a health check (tasks report HEALTHY). */
    containerHealthCheck: z.boolean().default(true),
    /** A target group in front of the service (true for ELBv2's defaults). */
    loadBalancer: z.union([z.literal(true), loadBalancerSchema]).optional(),
    /** ECS ignores failing load-balancer and container health checks this long after a task starts. */
    healthCheckGracePeriodSeconds: z.number().int().min(0).max(2_147_483_647).default(0),
    deploymentController: z.enum(['ECS', 'CODE_DEPLOY', 'EXTERNAL']).default('ECS'),
    /** ECS's deployment circuit breaker (off unless the team turned it on). */
    circuitBreaker: z.object({ enable: z.boolean(), rollback: z.boolean() }).strict().default({ enable: false, rollback: false }),
    /** What the team configured for the workflows: seconds a new task needs to become healthy. */
    expectedStartSeconds: z.number().int().min(0).max(3600).optional(),
    /** Synthetic CloudWatch baselines, percent. */
    cpuPercent: z.number().min(0).max(100).default(35),
    memoryPercent: z.number().min(0).max(100).default(45),
    /** Path the verify step requests on the sandbox's HTTP port, if any. */
    healthPath: z.string().startsWith('/').optional(),
    /** CloudWatch Logs group the tasks write to; defaults to /ecs/<name>. */
    logGroup: z.string().min(1).optional(),
    minimumHealthyPercent: z.number().int().min(0).max(100).default(100),
    maximumPercent: z.number().int().min(100).max(400).default(200),
    /** An Application Auto Scaling scalable target (and a CPU target-tracking policy with targetCpuPercent); none when omitted. */
    autoScaling: z
      .object({
        minCapacity: z.number().int().min(0).max(1000),
        maxCapacity: z.number().int().min(0).max(1000),
        targetCpuPercent: z.number().gt(0).max(100).optional(),
        scaleOutCooldownSeconds: z.number().int().min(0).max(86_400).optional(),
        scaleInCooldownSeconds: z.number().int().min(0).max(86_400).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((svc, ctx) => {
    // As Application Auto Scaling keeps it: min <= max, and the service starts inside the range.
    const a = svc.autoScaling;
    if (!a) return;
    if (a.minCapacity > a.maxCapacity) ctx.addIssue({ code: 'custom', path: ['autoScaling', 'minCapacity'], message: `${a.minCapacity} is above maxCapacity ${a.maxCapacity}` });
    else if (svc.desiredCount < a.minCapacity) ctx.addIssue({ code: 'custom', path: ['autoScaling', 'minCapacity'], message: `${a.minCapacity} is above the service's desiredCount ${svc.desiredCount}` });
    else if (svc.desiredCount > a.maxCapacity) ctx.addIssue({ code: 'custom', path: ['autoScaling', 'maxCapacity'], message: `${a.maxCapacity} is below the service's desiredCount ${svc.desiredCount}` });
  });

const serviceFaultSchema = z
  .object({
    service: z.string().min(1),
    /**
     * crash-loop: tasks start, then exit with an error every few seconds.
     * bad-image: tasks never start (CannotPullContainerError).
     * slow-start: tasks start and warm up `slowFactor` times slower than configured.
     * failing-health-check: tasks run, but their health check never passes (the app cannot serve).
     * cpu-saturation: the service gets `loadFactor` times its usual work, a fixed amount spread over
     *   its running tasks: CPU (and, less, memory) per task rises, falls as tasks are added. Tasks
     *   stay RUNNING and healthy (degraded, not down); restarts do not clear it, `durationSeconds` does.
     * warn-flood: the service writes WARN lines of a few patterns, `warnPerMinute` of them, since
     *   `warnSinceMinutes` before the scenario starts (sandbox/warn-flood.ts); it stays healthy.
     */
    kind: z.enum(['crash-loop', 'bad-image', 'slow-start', 'failing-health-check', 'cpu-saturation', 'warn-flood']),
    /**
     * How many restarts (a new deployment, or a scale to zero) the fault survives.
     * 0: the first restart clears it; 1: the second does; "always": nothing clears it.
     */
    survivesRestarts: z.union([z.number().int().min(0), z.literal('always')]).optional(),
    /** slow-start only: multiplier on startSeconds. */
    slowFactor: z.number().min(1).max(100).default(4),
    /** crash-loop only: seconds a task stays RUNNING before it exits. */
    crashAfterSeconds: z.number().min(1).max(3600).default(8),
    /** cpu-saturation only: the work as a multiple of the usual (2.5: 2 tasks at 35 % CPU → ~87.5 %). */
    loadFactor: z.number().min(1).max(20).default(2.5),
    /** cpu-saturation only: seconds from the scenario start until the load subsides; lasts the whole drill when omitted. */
    durationSeconds: z.number().min(1).max(7 * 24 * 3600).optional(),
    /** warn-flood only: WARN lines a minute, and how long before the scenario's start they began. */
    warnPerMinute: z.number().int().min(1).max(600).default(20),
    warnSinceMinutes: z.number().int().min(0).max(24 * 60).default(45),
  })
  .strict();

const apiFaultSchema = z
  .object({
    /** Which sandbox API to disturb. */
    api: z.enum(['ecs', 'cloudtrail', 'logs', 'sfn', 'elbv2', 'cloudwatch', 'dynamodb', 'sns', 'application-autoscaling']),
    /** lost-response: the call takes effect, but its answer is a 5xx (the caller cannot tell it applied). */
    kind: z.enum(['throttle', 'server-error', 'slow-response', 'lost-response']),
    /** Fraction of matching calls that fail, 0..1. */
    rate: z.number().min(0).max(1),
    /** Only these operations (e.g. ["UpdateService"]); all when omitted. */
    operations: z.array(z.string().min(1)).optional(),
    /** slow-response only: real milliseconds to hold the answer. */
    delayMs: z.number().int().min(0).max(10_000).default(200),
    /** Let this many matching calls through before the fault starts. */
    afterCalls: z.number().int().min(0).default(0),
    /** Stop after injecting this many failures (the outage ends); unlimited when omitted. */
    maxFailures: z.number().int().min(1).optional(),
  })
  .strict();

/**
 * EventBridge's delivery of AWS events, disturbed: ECS's (at least once, unordered — ECS Developer
 * Guide, "Amazon ECS events") or Step Functions' execution status changes (best effort —
 * EventBridge User Guide, "Event delivery levels"): some arrive late, twice, or never.
 */
const eventFaultSchema = z
  .object({
    events: z.enum(['ecs', 'states']),
    kind: z.enum(['lose', 'duplicate', 'delay']),
    /** Fraction of matching events affected, 0..1. */
    rate: z.number().min(0).max(1),
    /** Only these detail types (e.g. ["ECS Service Action"]); all when omitted. */
    detailTypes: z.array(z.string().min(1)).optional(),
    /** delay only: seconds added to the delivery. */
    delaySeconds: z.number().min(0).max(3600).default(60),
  })
  .strict();

/**
 * A Lambda function of the team's (the runbook's governance Lambda). `state` is what GetFunction
 * says (Lambda Developer Guide, "Lambda function states"); `fault: "unhandled-error"` makes every
 * Invoke answer FunctionError Unhandled, as a crashing handler does.
 */
const functionSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a Lambda function name (1-64 letters, digits, hyphens, underscores)'),
    state: z.enum(['Active', 'Pending', 'Inactive', 'Failed']).default('Active'),
    fault: z.enum(['unhandled-error']).optional(),
  })
  .strict();

/** A DynamoDB table of the team's; `missing: true` leaves it uncreated (DescribeTable: ResourceNotFoundException). */
const tableSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'),
    missing: z.boolean().default(false),
  })
  .strict();

/** How many image behaviours a scenario may list (each is looked up on every task launch). */
export const MAX_SCENARIO_IMAGES = 50;
/** Defaults of an image behaviour: seconds a crash-loop task runs, seconds of serving before a raises-alarm alarm fires. */
export const IMAGE_CRASH_AFTER_SECONDS = 8;
export const IMAGE_ALARM_AFTER_SECONDS = 120;
const IMAGE_KINDS = ['bad-image', 'crash-loop', 'failing-health-check', 'raises-alarm'] as const;

/**
 * What one container image does when a service runs it — intrinsic to the image, so it wins over
 * the service's faults and survives every restart: a deployment of that image fails (or raises
 * its alarm) and a rollback to another image clears it. Matched on the exact image URI of the
 * task definition's essential container.
 *
 * bad-image: never pulled (CannotPullContainerError). crash-loop: starts, exits after
 * `crashAfterSeconds`. failing-health-check: runs, its health checks fail, it never serves.
 * raises-alarm: runs healthy, but `alarmAfterSeconds` after its first task serves the service's
 * alarm `alarmName` (default `<service>-5xx-errors`) goes to ALARM; two minutes after its last
 * task stopped serving, back to OK.
 */
const imageBehaviourSchema = z
  .object({
    service: z.string().min(1),
    image: z.string().min(1).max(1024),
    kind: z.enum(IMAGE_KINDS),
    /** crash-loop only; default 8. */
    crashAfterSeconds: z.number().min(1).max(3600).optional(),
    /** raises-alarm only; default 120. */
    alarmAfterSeconds: z.number().min(0).max(24 * 3600).optional(),
    /** raises-alarm only; default `<service>-5xx-errors` (created at start when no alarm has that name). */
    alarmName: z.string().min(1).max(255).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    // A field that belongs to another kind is a mistake in the scenario, not something to ignore.
    const only = { crashAfterSeconds: 'crash-loop', alarmAfterSeconds: 'raises-alarm', alarmName: 'raises-alarm' } as const;
    for (const [field, kind] of Object.entries(only)) {
      if (b[field as keyof typeof only] !== undefined && b.kind !== kind) {
        ctx.addIssue({ code: 'custom', path: [field], message: `applies to kind "${kind}" only, not "${b.kind}"` });
      }
    }
  })
  .transform((b): ImageBehaviour => {
    const { service, image } = b;
    if (b.kind === 'crash-loop') return { service, image, kind: b.kind, crashAfterSeconds: b.crashAfterSeconds ?? IMAGE_CRASH_AFTER_SECONDS };
    if (b.kind === 'raises-alarm') return { service, image, kind: b.kind, alarmAfterSeconds: b.alarmAfterSeconds ?? IMAGE_ALARM_AFTER_SECONDS, alarmName: b.alarmName ?? `${service}-5xx-errors` };
    return { service, image, kind: b.kind };
  });

/** An entry of the scenario's `images`, defaults filled. */
export type ImageBehaviour =
  | { service: string; image: string; kind: 'bad-image' | 'failing-health-check' }
  | { service: string; image: string; kind: 'crash-loop'; crashAfterSeconds: number }
  | { service: string; image: string; kind: 'raises-alarm'; alarmAfterSeconds: number; alarmName: string };

const cloudTrailSeedSchema = z
  .object({
    eventName: z.string().min(1),
    service: z.string().min(1).optional(),
    minutesAgo: z.number().min(0).max(24 * 60),
    username: z.string().min(1).default('deploy-bot'),
  })
  .strict();

export const scenarioSchema = z
  .object({
    project: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be lowercase letters, digits and hyphens, starting with a letter').default('acme'),
    cluster: ecsName.optional(),
    region: z
      .string()
      .regex(REGION_NAME, { error: (issue) => `${shown(issue.input)} is not an AWS region name, e.g. "us-east-1"` })
      .default('us-east-1'),
    accountId: z.string().regex(/^\d{12}$/).default('123456789012'),
    services: z
      .array(serviceSchema)
      .min(1)
      .max(MAX_SCENARIO_SERVICES, {
        error: (issue) => `${Array.isArray(issue.input) ? issue.input.length : 'too many'} services, over the ${MAX_SCENARIO_SERVICES} a sandbox runs (each is synthesized into the stack)`,
      })
      .superRefine((services, ctx) => {
        const tasks = services.reduce((n, svc) => n + svc.desiredCount, 0);
        if (tasks > MAX_SIMULATED_TASKS) {
          ctx.addIssue({ code: 'custom', message: `${tasks} desired tasks in all, over the ${MAX_SIMULATED_TASKS} the sandbox simulates — lower services[].desiredCount` });
        }
      })
      .optional(),
    faults: z.array(z.union([serviceFaultSchema, apiFaultSchema, eventFaultSchema])).default([]),
    cloudTrail: z.array(cloudTrailSeedSchema).default([]),
    /** What particular container images do when deployed (a bad build, a crashing one, one that raises errors). */
    images: z
      .array(imageBehaviourSchema)
      .max(MAX_SCENARIO_IMAGES, { error: (issue) => `${Array.isArray(issue.input) ? issue.input.length : 'too many'} images, over the ${MAX_SCENARIO_IMAGES} a scenario may list` })
      .default([]),
    /** Lambda functions the sandbox serves (GetFunction, Invoke) — default: the runbook's <project>-governance (sandbox/lambda.ts). */
    functions: z.array(functionSpecSchema).max(50).optional(),
    /** DynamoDB tables created at start for the health check — default: <project>-governance-policies (sandbox/governance.ts). */
    tables: z.array(tableSpecSchema).max(50).optional(),
    /** Overrides of the stack's `healthCheck` configuration (infra/config.ts), e.g. {"openIncidents": {}}: checked at synthesis. */
    healthCheck: z.record(z.string(), z.unknown()).optional(),
    /** Simulated seconds the fault plays out before the alarm fires. */
    leadSeconds: z.number().min(0).max(24 * 3600).default(180),
    /** Seed for every random choice (fault sampling, ids), so a drill replays exactly. */
    seed: z.number().int().default(42),
    /** Simulated wall-clock start (ISO 8601). */
    startTime: z.string().datetime().default('2026-11-28T03:00:00Z'),
  })
  .strict();

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ServiceSpec = z.output<typeof serviceSchema>;
export type ServiceFault = z.output<typeof serviceFaultSchema>;
export type ApiFault = z.output<typeof apiFaultSchema>;
export type EventFault = z.output<typeof eventFaultSchema>;
export type LoadBalancerSpec = z.output<typeof loadBalancerSchema>;
export type FunctionSpec = z.output<typeof functionSpecSchema>;
export type TableSpec = z.output<typeof tableSpecSchema>;
export type AutoScalingSpec = NonNullable<ServiceSpec['autoScaling']>;

export interface Scenario extends Omit<z.output<typeof scenarioSchema>, 'cluster' | 'services' | 'images'> {
  cluster: string;
  services: ServiceSpec[];
  images: ImageBehaviour[];
  serviceFaults: ServiceFault[];
  apiFaults: ApiFault[];
  eventFaults: EventFault[];
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/**
 * Parses a scenario and fills the runbook's defaults (cluster <project>-cluster, axon and orbit at
 * 2/2). No input (undefined) is the default scenario; null or anything not an object is refused —
 * a file holding `null` is a mistake, not a request for the defaults.
 */
export function parseScenario(input: unknown): Scenario {
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    const what = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input;
    throw new ScenarioError(`a scenario must be an object, e.g. {"services": [{"name": "ledger"}]}; got ${what}`);
  }
  const result = scenarioSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new ScenarioError(`scenario field "${where}": ${issue?.message ?? 'invalid'}`);
  }
  const s = result.data;
  const services =
    s.services ??
    ['axon', 'orbit'].map((n) => serviceSchema.parse({ name: `${s.project}-${n}`, healthPath: '/health' }));
  const names = new Set(services.map((x) => x.name));
  if (names.size !== services.length) throw new ScenarioError('scenario field "services": service names must be unique');
  const serviceFaults: ServiceFault[] = [];
  const apiFaults: ApiFault[] = [];
  const eventFaults: EventFault[] = [];
  for (const [i, f] of s.faults.entries()) {
    if ('events' in f) {
      eventFaults.push(f);
    } else if ('service' in f) {
      if (!names.has(f.service)) {
        throw new ScenarioError(`scenario field "faults.${i}.service": no service named "${f.service}" (have: ${[...names].join(', ')})`);
      }
      serviceFaults.push(f);
    } else apiFaults.push(f);
  }
  const seenImages = new Set<string>();
  for (const [i, b] of s.images.entries()) {
    if (!names.has(b.service)) {
      throw new ScenarioError(`scenario field "images.${i}.service": no service named "${b.service}" (have: ${[...names].join(', ')})`);
    }
    // One fate per image of a service: two would leave which one applies to chance.
    const key = `${b.service}\u0000${b.image}`;
    if (seenImages.has(key)) throw new ScenarioError(`scenario field "images.${i}.image": ${shown(b.image)} is listed twice for service "${b.service}"`);
    seenImages.add(key);
  }
  // The runbook's system comes with a recent deploy in its trail, the usual suspect in a P0.
  const cloudTrail =
    s.services === undefined && s.cloudTrail.length === 0
      ? [{ eventName: 'UpdateService', service: `${s.project}-axon`, minutesAgo: 42, username: 'deploy-bot' }]
      : s.cloudTrail;
  return { ...s, cloudTrail, cluster: s.cluster ?? `${s.project}-cluster`, services, serviceFaults, apiFaults, eventFaults };
}

export function loadScenarioFile(path: string): Scenario {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioError(`cannot read scenario file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ScenarioError(`scenario file ${path} is not JSON: ${(e as Error).message}`);
  }
  return parseScenario(json);
}
