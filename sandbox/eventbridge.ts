import { createHash } from 'node:crypto';
import { cloudWatchStateReader, cloudWatchTagReader, type AlarmTagReader } from '#commons/alarms';
import { autoScalingClient, cloudWatchClient, documentClient, ecsClient, elbv2Client, sfnClient, snsClient } from '#commons/clients';
import { incidentSettingsSchema, IncidentStore, type IncidentRecord, type IncidentSettings, type IncidentSettingsInput } from '#commons/incidents';
import type { Logger } from '#commons/logger';
import type { ReportPoster } from '#commons/report';
import { onEcsEvent, type EcsEventsResult } from '../handlers/ecs-events.ts';
import { deliverToLambda } from './latency.ts';
import { recordIncident, EXECUTION_DETAIL_TYPE, type RecordIncidentResult } from '../handlers/record-incident.ts';
import { WatchStore } from '#stability/watches';
import type { EcsEvent } from './ecs/events.ts';
import { eventRules, matches, scheduleRules, type EventRule } from './event-rules.ts';
import { RestorePoints } from '#safety/restore-points';
import { snsPager, type Pager } from '#commons/paging';
import { reconcile, type ReconcileResult } from '../handlers/reconcile.ts';
import { seededRandom } from './faults.ts';
import { startIncident, startRecorded, type StartIncidentResult } from '../handlers/start-incident.ts';
import { escalateIncident } from '../handlers/escalate-incident.ts';
import { ScaleBacks } from '#safety/scale-backs';
import type { ExecutionRecord } from './sfn/facade.ts';
import type { Sandbox } from './index.ts';

/**
 * EventBridge for the sandbox, the two rules infra/incidents.ts deploys:
 *
 * - "CloudWatch Alarm State Change" → start-incident. Drills and tests fire alarms through
 *   `fireAlarm` (a well-formed event) or `deliverToStartIncident` (any payload, as a rule target
 *   or a person invoking the function could send it).
 * - "Step Functions Execution Status Change" (SUCCEEDED, FAILED, TIMED_OUT, ABORTED of our state
 *   machines) → record-incident, delivered when the sandbox's execution ends, with the event shape
 *   AWS sends.
 *
 * - ECS's own events (deployment state changes, service actions, task state changes) → every rule
 *   of the synthesized stack whose pattern matches them (ecs-events, which releases waits). ECS
 *   sends them at least once, in no set order, and EventBridge delivers AWS events best effort:
 *   each delivery takes a moment (0.5-2 s here), and the scenario's event faults lose, repeat or
 *   delay some.
 *
 * The handlers run in-process with SDK clients pointed at the sandbox and its virtual clock, so
 * DynamoDB (dynalite) and Step Functions are reached over HTTP exactly as in AWS.
 */

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  handler: string;
  message: string;
  data: Record<string, unknown>;
}

export interface ReportPost {
  incidentId: string;
  service: string;
  outcome: string;
  text: string;
  markdown: string;
}

export interface AlarmSpec {
  alarmName: string;
  /** ALARM (default), OK or INSUFFICIENT_DATA. */
  state?: string;
  previousState?: string;
  reason?: string;
  /** Reuse an id to simulate EventBridge redelivering the same event. */
  eventId?: string;
  /** Tags the alarm carries (read by start-incident when no name prefix matches). */
  tags?: Record<string, string>;
  /** Dimensions of the metric the alarm watches, e.g. { ServiceName: 'acme-axon', ClusterName: 'acme-cluster' }. */
  dimensions?: Record<string, string>;
}

export interface EventBridgeOptions {
  /** Overrides of the incident settings (budget, cooldown, routes, procedures…). */
  settings?: Partial<IncidentSettingsInput>;
  /** Echo the handlers' log lines to stdout (the `incident-flows sandbox` server does). */
  echo?: boolean;
}

/** One ECS event as it reached (or did not reach) a rule's target. */
export interface EcsDelivery {
  detailType: string;
  eventName: string;
  at: string;
  /** delivered, lost (a fault), or failed (the handler threw). */
  fate: 'delivered' | 'lost' | 'failed';
  result?: EcsEventsResult;
}

/** EventBridge's usual delivery latency for AWS service events ("near real time"). */
const DELIVERY_MIN_SECONDS = 0.5;
const DELIVERY_JITTER_SECONDS = 1.5;

export class EventBridgeEmulator {
  readonly logs: LogLine[] = [];
  /** ECS events offered to the ecs-events rule, in the order they happened. */
  readonly ecsDeliveries: EcsDelivery[] = [];
  /** What record-incident posted to "Slack". */
  readonly posts: ReportPost[] = [];
  readonly recorded: RecordIncidentResult[] = [];
  /** Deliveries that threw (EventBridge would retry them; here they are kept for inspection). */
  readonly failures: { rule: string; error: string }[] = [];
  settings: IncidentSettings;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly readAlarmTags: AlarmTagReader;
  private readonly store: IncidentStore;
  private readonly sfn: ReturnType<typeof sfnClient>;
  private counter = 0;
  private readonly sent = new Map<string, Record<string, unknown>>();
  private holding = false;
  private readonly ecsRules: EventRule[];
  private readonly watches: WatchStore;
  private readonly ecs: ReturnType<typeof ecsClient>;
  private readonly elbv2: ReturnType<typeof elbv2Client>;
  private readonly rng: () => number;
  private readonly points: RestorePoints;
  private readonly pager: Pager;
  /** What the scheduled reconciler did, each time it ran. */
  readonly reconciliations: ReconcileResult[] = [];
  private readonly scheduled = new Set<Promise<unknown>>();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: EventBridgeOptions = {},
  ) {
    const scenario = sandbox.scenario;
    this.settings = incidentSettingsSchema.parse({
      incidentsTable: 'incident-flows-incidents',
      cluster: scenario.cluster,
      services: scenario.services.map((s) => s.name),
      // As the stack's defaults (infra/incidents.ts): "<service>-p1-…" runs P1, "<service>-p2-…" P2, the rest P0.
      routes: scenario.services.flatMap((s) => [
        { alarmPrefix: `${s.name}-`, service: s.name, severity: 'P0' },
        { alarmPrefix: `${s.name}-p1-`, service: s.name, severity: 'P1' },
        { alarmPrefix: `${s.name}-p2-`, service: s.name, severity: 'P2' },
      ]),
      tagKeys: {},
      procedures: proceduresOf(sandbox),
      // As on AWS, per-service settings (health URL, log group…) come from the handlers' configuration.
      region: scenario.region,
      ...options.settings,
    });
    const clients = sandbox.clientOptions();
    this.store = new IncidentStore(documentClient(clients), this.settings.incidentsTable);
    this.sfn = sfnClient(clients);
    // Tags are read as on AWS: ListTagsForResource through the SDK, answered by the sandbox's CloudWatch.
    this.readAlarmTags = cloudWatchTagReader(cloudWatchClient(clients));
    // `aws cloudwatch set-alarm-state` on the sandbox reaches start-incident like an AWS alarm does.
    sandbox.alarms.onChange = (change) =>
      void this.deliverToStartIncident(
        this.alarmEvent({ alarmName: change.alarmName, state: change.state, previousState: change.previousState, reason: change.reason }),
      );
    // P1's escalation to P0 goes through start-incident's code with these settings, as the stack wires it.
    sandbox.sfn.registerHandler('escalate-incident', (event) => escalateIncident(event, this.startDeps()));
    this.rng = seededRandom(scenario.seed + 2);
    this.watches = new WatchStore(documentClient(clients), 'incident-flows-stability-watches');
    this.ecs = ecsClient(clients);
    this.elbv2 = elbv2Client(clients);
    this.points = new RestorePoints(documentClient(clients), this.settings.incidentsTable);
    // Pages go over the wire to the sandbox's SNS, like the deployed stack's (sandbox.sns records them).
    this.pager = snsPager(snsClient(clients), sandbox.sns.arnOf('incident-flows-paging'));
    for (const rule of scheduleRules(sandbox.template)) {
      if (rule.handlers.includes('reconcile')) this.every(rule.periodSeconds, () => this.runReconciler());
    }
    this.ecsRules = eventRules(sandbox.template, { region: scenario.region, accountId: scenario.accountId }).filter((r) => r.handlers.includes('ecs-events'));
    sandbox.fleet.onEvent((event) => this.offerEcsEvent(event));
    const ours = new Set(sandbox.machines.map((m) => m.arn));
    sandbox.sfn.onEvent((event, execution) => {
      if (!TERMINAL_EVENTS.has(event.type ?? '') || !ours.has(execution.stateMachineArn)) return;
      // Best effort on AWS: a scenario fault may lose it (the reconciler then has to notice).
      const lost = scenario.eventFaults.some((f) => f.events === 'states' && f.kind === 'lose' && this.rng() < f.rate);
      if (lost) return;
      // Nobody awaits a rule's delivery: a failure is kept in `failures`, as a DLQ would keep it.
      this.track('execution-status', this.deliverToRecordIncident(statusChangeEvent(execution, sandbox))).catch(() => undefined);
    });
  }

  /**
   * An ECS event leaves the fleet: to every matching rule's target, after EventBridge's delivery
   * delay — unless a scenario fault loses it, repeats it, or holds it back. Each delivery is a
   * clock participant, so simulated time waits for the handler it runs.
   */
  private offerEcsEvent(e: EcsEvent): void {
    const event = this.ecsEnvelope(e);
    if (!this.ecsRules.some((r) => matches(r.pattern, event))) return;
    const eventName = String(e.detail.eventName ?? e.detail.lastStatus ?? '');
    const faults = this.sandbox.scenario.eventFaults.filter((f) => f.events === 'ecs' && (!f.detailTypes || f.detailTypes.includes(e.detailType)));
    const hit = (kind: string) => faults.find((f) => f.kind === kind && this.rng() < f.rate);
    const base = { detailType: e.detailType, eventName, at: new Date(e.at).toISOString() };
    if (hit('lose')) {
      this.ecsDeliveries.push({ ...base, fate: 'lost' });
      return;
    }
    const held = hit('delay')?.delaySeconds ?? 0;
    const copies = hit('duplicate') ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const seconds = held + DELIVERY_MIN_SECONDS + this.rng() * DELIVERY_JITTER_SECONDS;
      // Not tracked by `settled()`: a delivery needs simulated time to pass, which a driver holding
      // the clock while it waits for its own alarms would never let happen.
      this.deliverEcs(event, seconds, base).catch((err: Error) => this.failures.push({ rule: 'ecs-event', error: `${err.name}: ${err.message}` }));
    }
  }

  private async deliverEcs(event: Record<string, unknown>, afterSeconds: number, base: Omit<EcsDelivery, 'fate'>): Promise<EcsEventsResult> {
    const clock = this.sandbox.clock;
    clock.enter();
    try {
      await clock.sleep(afterSeconds);
      const result = await onEcsEvent(event, {
        ecs: this.ecs,
        elbv2: this.elbv2,
        sfn: this.sfn,
        watches: this.watches,
        clock,
        log: this.logger('ecs-events'),
      });
      this.ecsDeliveries.push({ ...base, fate: 'delivered', result });
      return result;
    } catch (err) {
      this.ecsDeliveries.push({ ...base, fate: 'failed' });
      throw err;
    } finally {
      clock.leave();
    }
  }

  private ecsEnvelope(e: EcsEvent): Record<string, unknown> {
    const { region, accountId } = this.sandbox.scenario;
    return {
      version: '0',
      id: this.nextEventId(),
      'detail-type': e.detailType,
      source: 'aws.ecs',
      account: accountId,
      time: new Date(e.at).toISOString().replace(/\.\d+Z$/, 'Z'),
      region,
      resources: e.resources,
      detail: e.detail,
    };
  }

  /** Changes settings for later deliveries (a test tightening the budget, say). */
  configure(settings: Partial<IncidentSettingsInput>): void {
    this.settings = incidentSettingsSchema.parse({ ...this.settings, ...settings });
  }

  /**
   * Makes the driver (a test or a drill) a participant of the virtual clock: simulated time then
   * passes only while it sleeps (`elapse`, a storm) or drains, not whenever the sandbox is idle —
   * otherwise the next pending timer (a callback timeout, a Wait) lets time jump between two alarms.
   */
  holdClock(): void {
    if (this.holding) return;
    this.holding = true;
    this.sandbox.clock.enter();
  }

  releaseClock(): void {
    if (!this.holding) return;
    this.holding = false;
    this.sandbox.clock.leave();
  }

  /** Lets `seconds` of simulated time pass for everyone (executions' waits included). */
  async elapse(seconds: number): Promise<void> {
    if (this.holding) await this.sandbox.clock.sleep(seconds);
    else this.sandbox.clock.advance(seconds);
  }

  /** A "CloudWatch Alarm State Change" event as CloudWatch sends it through EventBridge (the same event again for a reused eventId). */
  alarmEvent(spec: AlarmSpec): Record<string, unknown> {
    const again = spec.eventId !== undefined ? this.sent.get(spec.eventId) : undefined;
    if (again) return again;
    const event = this.buildAlarmEvent(spec);
    this.sent.set(String(event.id), event);
    return event;
  }

  private buildAlarmEvent(spec: AlarmSpec): Record<string, unknown> {
    const { region, accountId } = this.sandbox.scenario;
    const at = this.sandbox.clock.now().toISOString();
    const state = spec.state ?? 'ALARM';
    return {
      version: '0',
      id: spec.eventId ?? this.nextEventId(),
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: accountId,
      time: at.replace(/\.\d+Z$/, 'Z'),
      region,
      resources: [this.sandbox.alarms.arnOf(spec.alarmName)],
      detail: {
        alarmName: spec.alarmName,
        state: { value: state, reason: spec.reason ?? `Threshold Crossed: 1 datapoint was ${state === 'ALARM' ? 'greater' : 'not greater'} than the threshold`, timestamp: at.replace('Z', '+0000') },
        previousState: { value: spec.previousState ?? (state === 'ALARM' ? 'OK' : 'ALARM'), timestamp: at.replace('Z', '+0000') },
        configuration: {
          description: `sandbox alarm ${spec.alarmName}`,
          metrics: spec.dimensions
            ? [{ id: 'm1', metricStat: { metric: { namespace: 'ECS/ContainerInsights', name: 'RunningTaskCount', dimensions: spec.dimensions }, period: 60, stat: 'Average' }, returnData: true }]
            : [],
        },
      },
    };
  }

  /** Fires an alarm state change through start-incident, as the EventBridge rule would. */
  fireAlarm(spec: AlarmSpec): Promise<StartIncidentResult> {
    // The alarm exists in the sandbox's CloudWatch with its tags, where start-incident reads them.
    this.sandbox.alarms.put(spec.alarmName, spec.tags ?? {});
    return this.deliverToStartIncident(this.alarmEvent(spec));
  }

  /** Invokes start-incident with any payload (a raw string stands for a non-JSON body). */
  deliverToStartIncident(event: unknown): Promise<StartIncidentResult> {
    // EventBridge's delivery and the function's invocation (cold the first time) take time on AWS too (sandbox/latency.ts).
    return this.track('alarm', deliverToLambda(this.sandbox.clock, this.sandbox.latency, 'start-incident', () => startIncident(event, this.startDeps())));
  }

  private startDeps() {
    return {
      store: this.store,
      sfn: this.sfn,
      clock: this.sandbox.clock,
      settings: this.settings,
      log: this.logger('start-incident'),
      readAlarmTags: this.readAlarmTags,
    };
  }

  /** Invokes record-incident with a status-change event (the sandbox does it when an execution ends). */
  async deliverToRecordIncident(event: unknown): Promise<RecordIncidentResult> {
    const result = await recordIncident(event, this.recordDeps());
    if (result.outcome === 'recorded') this.recorded.push(result);
    return result;
  }

  private recordDeps() {
    return {
      store: this.store,
      sfn: this.sfn,
      clock: this.sandbox.clock,
      settings: this.settings,
      poster: this.poster(),
      log: this.logger('record-incident'),
      ecs: this.ecs,
      points: this.points,
      pager: this.pager,
    };
  }

  /** The scheduled reconciler (handlers/reconcile.ts), run now: tests call it; the schedule calls it every period. */
  async runReconciler(): Promise<ReconcileResult> {
    const clock = this.sandbox.clock;
    clock.enter();
    try {
      const result = await reconcile({
        store: this.store,
        points: this.points,
        sfn: this.sfn,
        ecs: this.ecs,
        clock,
        pager: this.pager,
        log: this.logger('reconcile'),
        record: async (event) => {
          const recorded = await recordIncident(event, this.recordDeps());
          if (recorded.outcome === 'recorded') this.recorded.push(recorded);
          return recorded;
        },
        alarmStates: cloudWatchStateReader(cloudWatchClient(this.sandbox.clientOptions())),
        reopen: (event) => this.deliverToStartIncident(event),
        startRecorded: (incident) => startRecorded(incident, this.startDeps()),
        scaleBack: { scaleBacks: new ScaleBacks(documentClient(this.sandbox.clientOptions()), this.settings.incidentsTable), cloudwatch: cloudWatchClient(this.sandbox.clientOptions()), autoscaling: autoScalingClient(this.sandbox.clientOptions()) },
        region: this.sandbox.scenario.region,
        accountId: this.sandbox.scenario.accountId,
      });
      this.reconciliations.push(result);
      return result;
    } finally {
      clock.leave();
    }
  }

  /** A recurring schedule as passive stops: it runs when time passes, never moves time itself. */
  private every(periodSeconds: number, run: () => Promise<unknown>): void {
    const clock = this.sandbox.clock;
    const arm = (at: number) =>
      clock.at(at, () => {
        const running = run()
          .catch((err: Error) => this.failures.push({ rule: 'schedule', error: `${err.name}: ${err.message}` }))
          .finally(() => this.scheduled.delete(running));
        this.scheduled.add(running);
        arm(at + periodSeconds * 1000);
      });
    arm(clock.nowMs() + periodSeconds * 1000);
  }

  /** Resolves once every scheduled run that time has set off so far has finished. */
  async schedulesIdle(): Promise<void> {
    while (this.scheduled.size > 0) await Promise.allSettled([...this.scheduled]);
  }

  /** Resolves once every delivery in flight, and every delivery those caused, has finished. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Runs every execution to its end, then waits for the record deliveries they cause. A held clock
   * is let go meanwhile (the executions' waits need time to pass) and taken back the moment the
   * last execution ends, before leftover timers could move time on.
   */
  async drain(): Promise<void> {
    const held = this.holding;
    for (;;) {
      await this.settled();
      const running = this.sandbox.sfn.listExecutionRecords().filter((r) => r.status === 'RUNNING');
      if (running.length === 0 && this.inflight.size === 0) return;
      if (running.length === 0) continue;
      if (held) this.releaseClock();
      await new Promise<void>((resolve) => {
        let left = running.length;
        for (const r of running) {
          void this.sandbox.sfn.wait(r.executionArn).then(() => {
            left -= 1;
            if (left > 0) return;
            const stillRunning = this.sandbox.sfn.listExecutionRecords().some((x) => x.status === 'RUNNING');
            if (held && !stillRunning) this.holdClock();
            resolve();
          });
        }
      });
    }
  }

  incident(incidentId: string): Promise<IncidentRecord | undefined> {
    return this.store.get(incidentId);
  }

  /**
   * An alarm storm: `events` alarm state changes spread evenly over `seconds` of simulated time,
   * round-robin across `alarms`, each tick's events delivered concurrently (as Lambda would run
   * them). The storm is a clock actor, so running executions do not make time jump past it.
   */
  async storm(alarms: string[], opts: { events: number; seconds: number; ticks?: number }): Promise<StartIncidentResult[]> {
    const ticks = Math.max(1, Math.min(opts.ticks ?? opts.seconds, opts.events));
    const perTick = Math.ceil(opts.events / ticks);
    const results: StartIncidentResult[] = [];
    const clock = this.sandbox.clock;
    const held = this.holding;
    if (!held) clock.enter();
    try {
      let fired = 0;
      for (let t = 0; t < ticks && fired < opts.events; t++) {
        const batch: Promise<StartIncidentResult>[] = [];
        for (let i = 0; i < perTick && fired < opts.events; i++, fired++) batch.push(this.fireAlarm({ alarmName: alarms[fired % alarms.length]! }));
        results.push(...(await Promise.all(batch)));
        if (t < ticks - 1) await clock.sleep(opts.seconds / ticks);
      }
    } finally {
      if (!held) clock.leave();
    }
    return results;
  }

  private track<T>(rule: string, work: Promise<T>): Promise<T> {
    const tracked = work.catch((err: Error) => {
      this.failures.push({ rule, error: `${err.name}: ${err.message}` });
      throw err;
    });
    const settled = tracked.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return tracked;
  }

  private logger(handler: string): Logger {
    const write = (level: LogLine['level']) => (message: string, data: Record<string, unknown> = {}) => {
      this.logs.push({ level, handler, message, data });
      if (this.options.echo) process.stdout.write(`${JSON.stringify({ level, handler, message, ...data })}\n`);
    };
    return { info: write('info'), warn: write('warn'), error: write('error') };
  }

  private poster(): ReportPoster {
    return {
      post: async (message) => {
        this.posts.push(message);
      },
    };
  }

  /** uuid-shaped and deterministic, so drills replay identically. */
  private nextEventId(): string {
    this.counter += 1;
    const h = createHash('sha256').update(`${this.sandbox.scenario.seed}:${this.counter}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

const TERMINAL_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);


/** The event AWS sends for an execution status change (detail as documented for Standard workflows). */
export function statusChangeEvent(execution: ExecutionRecord, sandbox: Pick<Sandbox, 'scenario' | 'clock'>): Record<string, unknown> {
  const { region, accountId } = sandbox.scenario;
  return {
    version: '0',
    id: createHash('sha256').update(`${execution.executionArn}:${execution.status}`).digest('hex').slice(0, 32),
    'detail-type': EXECUTION_DETAIL_TYPE,
    source: 'aws.states',
    account: accountId,
    time: sandbox.clock.now().toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [execution.executionArn],
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? null,
      input: execution.input,
      output: execution.output ?? null,
      inputDetails: { included: true },
      outputDetails: execution.output !== undefined ? { included: true } : null,
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  };
}

const emulators = new WeakMap<Sandbox, EventBridgeEmulator>();

/** Wires the EventBridge emulation into a sandbox (Sandbox.start does it once). */
export function attachEventBridge(sandbox: Sandbox, options: EventBridgeOptions = {}): EventBridgeEmulator {
  const existing = emulators.get(sandbox);
  if (existing) return existing;
  const emulator = new EventBridgeEmulator(sandbox, options);
  emulators.set(sandbox, emulator);
  return emulator;
}

/** The sandbox's EventBridge (attached on first use if Sandbox.start did not). */
export function eventBridgeOf(sandbox: Sandbox): EventBridgeEmulator {
  return emulators.get(sandbox) ?? attachEventBridge(sandbox);
}

/**
 * For the drill: the CloudWatch alarm goes into ALARM and EventBridge hands it to start-incident,
 * the same path as in AWS. Returns the execution it started, or undefined if none (the result and
 * the log line in `eventBridgeOf(sandbox).logs` say why).
 */
export async function fireAlarm(sandbox: Sandbox, spec: AlarmSpec): Promise<string | undefined> {
  const result = await eventBridgeOf(sandbox).fireAlarm(spec);
  return result.outcome === 'started' || result.outcome === 'escalated' ? result.executionArn : undefined;
}

/** Each severity's own procedure, where the synthesized stack has it (infra/incidents.ts DEFAULT_PROCEDURES). */
function proceduresOf(sandbox: Sandbox): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [severity, workflow] of [['P0', 'p0-system-down'], ['P1', 'p1-degraded'], ['P2', 'p2-minor']] as const) {
    const arn = sandbox.machines.map((m) => m.arn).find((a) => a.endsWith(workflow));
    if (arn) out[severity] = arn;
  }
  return out;
}
