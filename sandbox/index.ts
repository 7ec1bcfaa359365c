import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudTrailClient, createClients, dynamoClient, logsClient, once, type ClientOptions, type Clients } from '#commons/clients';
import type { StepFunction } from '#commons/step';
import type { Config } from '#commons/config';
import { silentLogger } from '#commons/logger';
import { createHandlers } from '../handlers/registry.ts';
import { VirtualClock, WallClock, type SimClock } from './clock.ts';
import { AWS_CLOUDTRAIL, CloudTrailStore } from './cloudtrail.ts';
import { AlarmStore, defaultAlarms, imageAlarms, mountMonitoring } from './cloudwatch.ts';
import { AAS_TARGET_PREFIX, ApplicationAutoScaling } from './autoscaling.ts';
import { EcsFleet } from './ecs.ts';
import { apiFaultInterceptor, seededRandom } from './faults.ts';
import { SandboxHttpServer, type AwsJsonOutcome } from './http.ts';
import { createTablesFromTemplate, dynamoListener } from './dynamodb.ts';
import { attachEventBridge, eventBridgeOf, type EventBridgeOptions } from './eventbridge.ts';
import { createScenarioTables, functionsOf, healthCheckContextOf } from './governance.ts';
import { LambdaFunctions } from './lambda.ts';
import { charge, Latency, type LatencyOption } from './latency.ts';
import { WarnFlood } from './warn-flood.ts';
import { IncidentStore } from '#commons/incidents';
import { AWS_LOGS, LogStore } from './logs.ts';
import { mountSlack } from './slack.ts';
import type { Scenario, ServiceSpec } from './scenario.ts';
import { SNS_VERSION, SnsTopics } from './sns.ts';
import { extractStateMachines, type ExtractedMachine } from './sfn/asl.ts';
import { statesTimeoutError } from './sfn/errors.ts';
import { SfnFacade } from './sfn/facade.ts';

export interface SandboxOptions {
  /** Overrides of the alarm trigger's settings (remediation budget, cool-down, routes). */
  incidents?: EventBridgeOptions['settings'];
  /**
   * Simulated time (drills, tests: ten minutes in milliseconds, the default), or wall time from
   * now, `speed` times faster (`incident-flows sandbox`, where a person pastes the runbook's commands).
   */
  clock?: 'virtual' | { wall: { speed: number } };
  /** Port on 127.0.0.1 (0, the default, picks a free one). */
  port?: number;
  /** Echo the EventBridge targets' log lines to stdout (the `incident-flows sandbox` server). */
  echo?: boolean;
  /**
   * What the automation's own machinery costs on the clock (sandbox/latency.ts): Lambda invocations
   * (cold the first time), state transitions, every AWS API call the sandbox answers. 'aws' uses
   * AWS's figures (drills and the bench ask for it); 'none', the default (DEFAULT_LATENCY), makes it all free.
   */
  latency?: LatencyOption;
}

/** One handler invocation and the AWS calls it made, in order: the drill's "what was done". */
export interface Invocation {
  handler: string;
  calls: string[];
}

/** One AWS call the sandbox answered, on the virtual clock: the drill's "AWS calls made". */
export interface CallRecord extends Omit<AwsJsonOutcome, 'body'> {
  at: string;
  /** The identifying parameters only (service, desiredCount, …), never whole payloads. */
  params: Record<string, unknown>;
}

const CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
/**
 * Sandbox.start's latency model when none is asked for (see SandboxOptions.latency). 'none' for now:
 * with 'aws' the workflow, incident and approval tests take their paths, but a few assert exact
 * virtual instants (an expiry at 03:18:00.000, "360 s old", a clock on a whole second) that a round
 * trip's milliseconds move. Drills (cli/drill.ts) and the bench ask for 'aws' themselves.
 */
export const DEFAULT_LATENCY: LatencyOption = 'none';
/** The status page every service with a healthPath also serves (`<url>/<service>/api/v1/status`). */
export const SMOKE_PATH = '/api/v1/status';
const INTERESTING = ['service', 'services', 'cluster', 'desiredCount', 'forceNewDeployment', 'taskDefinition', 'logGroupName', 'filterPattern', 'name', 'stateMachineArn', 'ResourceId', 'MinCapacity', 'MaxCapacity', 'PolicyName'];

/**
 * The local cloud: ECS fleet, CloudTrail, CloudWatch Logs and Step Functions served on
 * 127.0.0.1 with the real wire protocols, on one virtual clock, running the state machines
 * synthesized from the real CDK app with the real handlers in-process.
 */
export class Sandbox {
  readonly calls: CallRecord[] = [];
  /** Application Auto Scaling: scalable targets, target-tracking policies and the scaler (sandbox/autoscaling.ts). */
  autoScaling!: ApplicationAutoScaling;
  /** The latency model in force and what it has charged (sandbox/latency.ts). */
  latency!: Latency;

  private constructor(
    readonly invocations: Invocation[],
    readonly scenario: Scenario,
    readonly clock: SimClock,
    readonly server: SandboxHttpServer,
    readonly fleet: EcsFleet,
    readonly trail: CloudTrailStore,
    readonly logs: LogStore,
    readonly sfn: SfnFacade,
    readonly machines: ExtractedMachine[],
    readonly alarms: AlarmStore,
    /** The synthesized stack the sandbox runs (state machines, tables, EventBridge rules). */
    readonly template: Record<string, unknown>,
    /** The paging topic and what was published to it: who would have been paged. */
    readonly sns: SnsTopics,
  ) {}

  static async start(scenario: Scenario, options: SandboxOptions = {}): Promise<Sandbox> {
    // Task and callback timeouts need the runner's timeout error class, borrowed once per process
    // through a 1 ms real-time probe. Borrow it before anything waits, or virtual time could jump
    // to an execution's deadline during the probe.
    await statesTimeoutError();
    // Synthesis takes seconds on a cold cache: do it before the clock starts, so a wall clock starts at "ready".
    const template = await synthesizeTemplate(scenario);
    const clock: SimClock = options.clock && options.clock !== 'virtual' ? new WallClock(Date.now(), options.clock.wall.speed) : new VirtualClock(Date.parse(scenario.startTime));
    const rng = seededRandom(scenario.seed);
    // Its own seed (scenario.seed + 11), so the fleet's and the faults' draws stay as they were.
    const latency = new Latency(options.latency ?? DEFAULT_LATENCY, { seed: scenario.seed + 11, clock });
    // AWS's limits: LookupEvents 2/s and ~5 min delivery, FilterLogEvents 5/s and bounded scans.
    const trail = new CloudTrailStore({ clock, region: scenario.region, accountId: scenario.accountId, behaviour: AWS_CLOUDTRAIL });
    const logs = new LogStore({ clock, region: scenario.region, accountId: scenario.accountId, behaviour: AWS_LOGS });
    const fleet = new EcsFleet({ scenario, clock, trail, logs, rng });
    const server = new SandboxHttpServer();
    const url = await server.listen(options.port ?? 0);

    const invocations: Invocation[] = [];
    const current = new AsyncLocalStorage<Invocation>();
    const clientOptions: ClientOptions = { endpoint: url, region: scenario.region, credentials: CREDENTIALS };
    const clients = createClients(clientOptions);
    // The SDK retries throttling in real time, which the virtual clock never sees pass: the
    // evidence handlers pace and back off on the clock themselves.
    clients.cloudtrail = cloudTrailClient({ ...clientOptions, maxAttempts: 1 });
    clients.logs = logsClient({ ...clientOptions, maxAttempts: 1 });
    recordCalls(clients, current);
    const config = sandboxConfig(scenario, url);
    // Slack's Web API fake and the approval callback (POST /slack/interactions) on the same port.
    const approvals = await mountSlack({ server, clock, clients, clientOptions, approvalsTable: config.approvalsTable });
    const handlers = traced(
      createHandlers({
        clients,
        clock,
        config,
        fetch: globalThis.fetch,
        logger: () => silentLogger,
        approvals,
        // The health check opens incidents through start-incident's code, with the sandbox's alarm settings.
        incidents: () => ({ store: new IncidentStore(clients.dynamo, config.incidentsTable), sfn: clients.sfn, clock, settings: eventBridgeOf(sandbox).settings, log: silentLogger }),
      }),
      current,
      invocations,
    );
    const sfn = new SfnFacade({ clock, region: scenario.region, accountId: scenario.accountId, handlers, latency });
    server.passThrough('DynamoDB_20120810', dynamoListener(once(() => dynamoClient(clientOptions))));
    await createTablesFromTemplate(template, dynamoClient(clientOptions));
    // The runbook's governance table (unless the scenario says it is missing), for the health check.
    await createScenarioTables(scenario, dynamoClient(clientOptions));
    const machines = extractStateMachines(template, { region: scenario.region, accountId: scenario.accountId });
    for (const machine of machines) sfn.addStateMachine(machine);

    // One alarm per service as a team would set it; `aws cloudwatch set-alarm-state` fires it.
    // A raises-alarm image's alarm too, unless one of that name exists; the image moves it as CloudWatch would.
    const teamAlarms = defaultAlarms(fleet);
    const errorAlarms = imageAlarms(fleet, scenario.images.flatMap((b) => (b.kind === 'raises-alarm' ? [{ service: b.service, alarmName: b.alarmName }] : [])), teamAlarms.map((a) => a.AlarmName));
    const alarms = new AlarmStore({ clock, region: scenario.region, accountId: scenario.accountId, alarms: [...teamAlarms, ...errorAlarms], readings: fleet });
    const sns = new SnsTopics({ clock, region: scenario.region, accountId: scenario.accountId }, topicNames(template));
    const sandbox = new Sandbox(invocations, scenario, clock, server, fleet, trail, logs, sfn, machines, alarms, template, sns);
    sandbox.latency = latency;
    // EventBridge: alarms → start-incident, execution ends → record-incident (sandbox/eventbridge.ts).
    attachEventBridge(sandbox, { ...(options.incidents ? { settings: options.incidents } : {}), ...(options.echo ? { echo: true } : {}) });
    // Raises-alarm images move their alarm through SetAlarmState's path, once EventBridge listens to it.
    fleet.onImageAlarm((signal) => alarms.metricCrossed(signal.alarmName, signal));
    // Every API sees the fleet as of "now" on the virtual clock, then the scenario's faults.
    server.intercept(() => fleet.advanceTo(clock.nowMs()));
    // warn-flood faults write their WARN lines up to now before any API answers (sandbox/warn-flood.ts).
    const flood = new WarnFlood(scenario, logs);
    server.intercept(() => flood.advanceTo(clock.nowMs()));
    server.intercept(apiFaultInterceptor(scenario.apiFaults, seededRandom(scenario.seed + 1)));
    // The workflows' own reads land in CloudTrail as read events, as on AWS (a busy trail).
    server.observe((o) => trail.recordApiCall(o));
    server.observe((o) => sandbox.calls.push({ api: o.api, operation: o.operation, status: o.status, ...(o.errorCode ? { errorCode: o.errorCode } : {}), at: clock.now().toISOString(), params: pick(o.body) }));
    server.registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', fleet.handle);
    // SDK v3 sends the short target prefix; the aws CLI sends the long one.
    server.registerJson('CloudTrail_20131101', 'cloudtrail', '1.1', trail.handle);
    server.registerJson('com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101', 'cloudtrail', '1.1', trail.handle);
    server.registerJson('Logs_20140328', 'logs', '1.1', logs.handle);
    server.registerJson('AWSStepFunctions', 'sfn', '1.0', sfn.handle);
    server.registerJson('GraniteServiceVersion20100801', 'cloudwatch', '1.0', alarms.handle);
    // ELBv2 (target groups, target health) and CloudWatch's query protocol, read off the fleet.
    mountMonitoring(server, { clock, readings: fleet, alarms });
    // Lambda (restJson1): the runbook's governance function, GetFunction and Invoke (sandbox/lambda.ts).
    new LambdaFunctions({ clock, region: scenario.region, accountId: scenario.accountId, functions: functionsOf(scenario) }).mount(server);
    server.registerQuery('sns', SNS_VERSION, 'sns', sns.handle);
    // Application Auto Scaling (awsJson1.1, AnyScaleFrontendService), its own randomness so the fleet's draws stay as they were.
    sandbox.autoScaling = new ApplicationAutoScaling({ clock, region: scenario.region, accountId: scenario.accountId, fleet, trail, rng: seededRandom(scenario.seed + 3) });
    sandbox.autoScaling.registerFromScenario(scenario.services);
    server.registerJson(AAS_TARGET_PREFIX, 'application-autoscaling', '1.1', sandbox.autoScaling.handle);
    for (const s of scenario.services) {
      if (!s.healthPath) continue;
      const answer = () => {
        fleet.advanceTo(clock.nowMs());
        return fleet.isHealthy(s.name)
          ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' }
          : { status: 503, headers: { 'content-type': 'application/json' }, body: '{"status":"unavailable"}' };
      };
      server.route(`GET /${s.name}${s.healthPath}`, answer);
      // The deploy workflow's smoke check in drills: the application's status page, up when it is.
      server.route(`GET /${s.name}${SMOKE_PATH}`, answer);
    }
    // Last, so setting the sandbox up (its tables) costs no time: each AWS call waits its latency
    // before it is handled. Its caller — an execution's handler, a delivery, a driver holding the
    // clock — is waiting on the answer, so the sleep stands in for it on the clock (sandbox/latency.ts).
    if (!latency.free) server.pace((call) => charge(clock, latency.apiCall(call.api, call.operation)));
    return sandbox;
  }

  get url(): string {
    return this.server.url;
  }

  /** How the CLI and tests point real SDK clients at the sandbox. */
  clientOptions(): ClientOptions {
    return { endpoint: this.url, region: this.scenario.region, credentials: CREDENTIALS };
  }

  healthUrl(service: string): string | undefined {
    const spec = this.scenario.services.find((s) => s.name === service);
    return spec?.healthPath ? `${this.url}/${service}${spec.healthPath}` : undefined;
  }

  /** Lets the scenario's faults play out before the alarm fires, as they would in production. */
  playOut(seconds = this.scenario.leadSeconds): void {
    this.clock.advance(seconds);
    this.fleet.advanceTo(this.clock.nowMs());
  }

  stateMachineArn(nameSuffix: string): string {
    const arn = this.machines.map((m) => m.arn).find((a) => a.endsWith(nameSuffix));
    if (!arn) throw new Error(`the synthesized app has no state machine ending in "${nameSuffix}"`);
    return arn;
  }

  async stop(): Promise<void> {
    if (this.clock instanceof WallClock) this.clock.dispose();
    await this.server.close();
  }
}

/** Each handler call runs in its own async context, so its SDK calls can be attributed to it. */
function traced(handlers: Record<string, StepFunction>, als: AsyncLocalStorage<Invocation>, sink: Invocation[]): Record<string, StepFunction> {
  return Object.fromEntries(
    Object.entries(handlers).map(([name, run]) => [
      name,
      (event: unknown) => {
        const inv: Invocation = { handler: name, calls: [] };
        sink.push(inv);
        return als.run(inv, () => run(event));
      },
    ]),
  );
}

/** An SDK middleware on the client side, where the handler's async context is still live. */
function recordCalls(clients: Clients, als: AsyncLocalStorage<Invocation>): void {
  for (const [api, client] of Object.entries(clients) as [string, { middlewareStack: { add: Function } }][]) {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        // ecsOnce is ECS without SDK retries: still ECS to anyone reading the calls.
        als.getStore()?.calls.push(`${api === 'ecsOnce' ? 'ecs' : api}:${(context.commandName ?? '').replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'incidentFlowsCallRecorder' },
    );
  }
}

function topicNames(template: Record<string, unknown>): string[] {
  const resources = (template.Resources ?? {}) as Record<string, { Type: string; Properties?: { TopicName?: unknown } }>;
  return Object.values(resources).flatMap((r) => (r.Type === 'AWS::SNS::Topic' && typeof r.Properties?.TopicName === 'string' ? [r.Properties.TopicName] : []));
}

/** What the team would configure for the service in the stack (infra/config.ts `services[]`). */
function sandboxServiceSettings(spec: ServiceSpec, url: string): Config['serviceSettings'][string] {
  return {
    ...(spec.logGroup ? { logGroup: spec.logGroup } : {}),
    ...(spec.healthPath ? { healthUrl: `${url}/${spec.name}${spec.healthPath}` } : {}),
    ...(spec.expectedStartSeconds !== undefined ? { expectedStartSeconds: spec.expectedStartSeconds } : {}),
  };
}

function sandboxConfig(scenario: Scenario, url: string): Config {
  return {
    defaultCluster: scenario.cluster,
    managedServices: scenario.services.map((s) => s.name),
    logGroupPattern: '/ecs/{service}',
    serviceSettings: Object.fromEntries(scenario.services.map((s) => [s.name, sandboxServiceSettings(s, url)])),
    expectedStartSeconds: 30,
    healthRequestTimeoutMs: 2000,
    incidentsTable: 'incident-flows-incidents',
    approvalsTable: 'incident-flows-approvals',
    watchesTable: 'incident-flows-stability-watches',
    lockSeconds: 7200,
  };
}

const templates = new Map<string, Record<string, unknown>>();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'incident-flows');

/**
 * The real CDK app, configured for the scenario, synthesized without bundling. Synthesis costs
 * seconds, so templates are cached in memory and on disk, keyed by the configuration and a hash
 * of every source file that shapes the template — an edited workflow is never served stale.
 */
export async function synthesizeTemplate(scenario: Scenario): Promise<Record<string, unknown>> {
  const incidentFlows = {
    cluster: scenario.cluster,
    services: scenario.services.map((s) => ({ name: s.name, ...(s.logGroup ? { logGroup: s.logGroup } : {}) })),
    // The health check's functions, tables and error rates as the scenario has them (sandbox/governance.ts).
    healthCheck: healthCheckContextOf(scenario),
  };
  const key = templateKey(incidentFlows);
  const cached = templates.get(key) ?? readCached(key);
  if (cached) {
    templates.set(key, cached);
    return cached;
  }
  // aws-cdk-lib takes ~2 s to import: only when the cache misses. The sources as this process loads them:
  // a long-lived process (a test file, a sandbox server) keeps the modules it loaded first.
  sourcesAtLoad ??= sourcesHash();
  const { buildApp } = await import('../infra/app.ts');
  const { app, stack } = buildApp({ 'aws:cdk:bundling-stacks': [], incidentFlows });
  const template = app.synth({ validateOnSynthesis: false }).getStackByName(stack.stackName).template as Record<string, unknown>;
  // Sources edited since this process loaded them: its template is of the old code, not for the shared cache.
  if (sourcesAtLoad !== sourcesHash()) return template;
  templates.set(key, template);
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(join(CACHE_DIR, `template-${key}.json`), JSON.stringify(template));
  } catch {
    // A read-only checkout just synthesizes every time.
  }
  return template;
}

let sourcesAtLoad: string | undefined;

/** Every source file that shapes the template, and the locked dependencies. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const dir of ['infra', 'workflows', 'handlers']) {
    for (const file of (readdirSync(join(ROOT, dir), { recursive: true }) as string[]).sort()) {
      if (!file.endsWith('.ts')) continue;
      hash.update(file).update(readFileSync(join(ROOT, dir, file)));
    }
  }
  hash.update(readFileSync(join(ROOT, 'package-lock.json')));
  return hash.digest('hex');
}

function templateKey(config: unknown): string {
  return createHash('sha256').update(JSON.stringify(config)).update(sourcesHash()).digest('hex').slice(0, 24);
}

function readCached(key: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(CACHE_DIR, `template-${key}.json`), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function pick(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of INTERESTING) if (body[k] !== undefined) out[k] = body[k];
  return out;
}
