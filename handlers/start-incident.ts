import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  cloudWatchTagReader,
  readAlarmEvent,
  routeByName,
  tagRoute,
  severityRank,
  type AlarmChange,
  type AlarmTagReader,
  type Destination,
  type Severity,
} from '#commons/alarms';
import { cloudWatchClient, documentClient, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { IncidentStore, IncidentStoreError, incidentSettingsFromEnv, type IncidentRecord, type OpeningFields, type IncidentSettings, type IncidentTimelineEntry, type ServiceLock } from '#commons/incidents';
import { createLogger, type Logger } from '#commons/logger';
import { step } from '#commons/step';

export interface StartIncidentDeps {
  store: IncidentStore;
  sfn: SFNClient;
  clock: Clock;
  settings: IncidentSettings;
  log: Logger;
  /** Reads the alarm's tags when no name prefix matches; tag routing is off without it. */
  readAlarmTags?: AlarmTagReader;
}

export type StartIncidentResult =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'started'; incidentId: string; service: string; executionArn: string; requireApproval: boolean }
  | { outcome: 'recorded'; incidentId: string; service: string; reason: string }
  | { outcome: 'appended'; incidentId: string; service: string }
  | { outcome: 'escalated'; incidentId: string; service: string; from: Severity; to: Severity; executionArn?: string }
  | { outcome: 'duplicate'; incidentId: string; service: string };

/**
 * An alarm went into ALARM: open an incident for its service and start the procedure — unless the
 * service already has an open incident, in which case the alarm joins that incident's timeline
 * (and escalates it if it is more severe). One execution per incident, named after the incident,
 * so a redelivered event cannot start a second one.
 */
export async function startIncident(event: unknown, deps: StartIncidentDeps): Promise<StartIncidentResult> {
  const verdict = readAlarmEvent(event);
  if (verdict.kind === 'ignored') return ignore(deps.log, verdict.reason);
  const alarm = verdict.alarm;
  const destination = await route(alarm, deps);
  if (destination && 'refused' in destination) return ignore(deps.log, destination.refused, { alarmName: alarm.alarmName });
  if (!destination) {
    const tags = deps.settings.tagKeys && deps.readAlarmTags ? ` and it has no "${deps.settings.tagKeys.service}" tag` : '';
    return ignore(deps.log, `alarm ${alarm.alarmName} maps to no service: no configured alarm name prefix matches${tags}`, { alarmName: alarm.alarmName });
  }
  return openOrJoin(alarm, destination, deps);
}

/** Something other than an alarm that needs an incident: a P1 that did not recover, a red health-check line. */
export interface IncidentSignal {
  service: string;
  severity: Severity;
  source: 'p1-escalation' | 'health-check';
  /** One line for people: why. */
  reason: string;
  /** Idempotency key: the same key is the same event, so a retried step opens or escalates nothing twice. */
  key: string;
  /** When it was noticed, ISO 8601. */
  at: string;
}

/**
 * Opens (or joins, or escalates) the service's incident for a signal, through the same path as an
 * alarm: one incident per service across severities, one transaction, the remediation budget, the
 * execution named after the incident. A P1 that escalates becomes the same incident's P0.
 */
export async function raiseIncident(signal: IncidentSignal, deps: StartIncidentDeps): Promise<StartIncidentResult> {
  const managed = deps.settings.services;
  if (managed.length > 0 && !managed.includes(signal.service)) {
    return ignore(deps.log, `${signal.source} for ${signal.service}, which incident-flows does not manage`);
  }
  const alarm: AlarmChange = {
    eventId: `${signal.source}:${signal.key}`,
    alarmName: `incident-flows/${signal.source}`,
    alarmArn: undefined,
    state: 'ALARM',
    previousState: 'OK',
    reason: signal.reason,
    at: signal.at,
    measuredServices: [],
  };
  return openOrJoin(alarm, { service: signal.service, severity: signal.severity, via: signal.source }, deps);
}

async function openOrJoin(alarm: AlarmChange, destination: Destination, deps: StartIncidentDeps): Promise<StartIncidentResult> {
  const now = deps.clock.now();
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock = await deps.store.lock(destination.service);
    const live = IncidentStore.holds(lock, now);
    // An open incident whose execution has ended — its end was never recorded (the event is best
    // effort) — no longer holds the service: this alarm opens a new one; the reconciler records the old.
    const ended = live && lock.state === 'open' && lock.executionArn && lock.openingEventId !== alarm.eventId ? await endedExecution(deps.sfn, lock.executionArn, now) : undefined;
    if (!ended && live && lock.openingEventId !== alarm.eventId && (lock.state === 'open' || severityRank(destination.severity) <= lock.severityRank)) {
      return joinIncident(lock, alarm, destination, deps);
    }
    const incidentId = incidentIdFor(destination.service, alarm);
    const known = await deps.store.get(incidentId);
    if (known?.status === 'closed') return duplicate(deps.log, incidentId, destination.service, alarm);
    // The opening event again (a redelivery): finish what its first delivery began, claim nothing.
    if (live && lock.incidentId === incidentId) return openIncident(incidentId, alarm, destination, deps);
    const opened = await openNew(incidentId, alarm, destination, deps, now, ended);
    if (opened !== 'lock-taken') return opened;
    // Another event for this service claimed it between our read and our write: join that one.
  }
  throw new IncidentStoreError(`could not open or join an incident for ${destination.service}: the lock kept changing`);
}

/**
 * Which managed service the alarm is about. What the alarm measures wins over its name: an alarm
 * on ServiceName=acme-axon-canary is not acme-axon's, however it is named. Whatever the route, the
 * service must be one the stack manages — nothing outside the allow-list is ever started or locked.
 */
async function route(alarm: AlarmChange, deps: StartIncidentDeps): Promise<Destination | { refused: string } | undefined> {
  const managed = deps.settings.services;
  const allowed = (service: string) => managed.length === 0 || managed.includes(service);
  if (alarm.measuredServices.length === 1) {
    const measured = alarm.measuredServices[0]!;
    if (!allowed(measured)) return { refused: `alarm ${alarm.alarmName} measures ECS service ${measured}, which incident-flows does not manage` };
    const byName = routeByName(alarm.alarmName, deps.settings.routes);
    return { service: measured, severity: byName?.severity ?? 'P0', via: `alarm metric dimension ServiceName=${measured}` };
  }
  if (alarm.measuredServices.length > 1) return { refused: `alarm ${alarm.alarmName} measures several ECS services (${alarm.measuredServices.join(', ')}): route it explicitly` };
  let destination: Destination | { refused: string } | undefined = routeByName(alarm.alarmName, deps.settings.routes);
  if (!destination && deps.settings.tagKeys && deps.readAlarmTags && alarm.alarmArn) {
    destination = tagRoute(await deps.readAlarmTags(alarm.alarmArn), deps.settings.tagKeys);
    if (destination && 'refused' in destination) return { refused: `alarm ${alarm.alarmName}: ${destination.refused}` };
  }
  if (destination && !allowed(destination.service)) return { refused: `alarm ${alarm.alarmName} routes to ${destination.service} (${destination.via}), which incident-flows does not manage` };
  return destination;
}

/**
 * Opens the incident — lock, record with its start input, budget — in one transaction, then starts
 * its procedure. Nothing half-done is left behind: a failure before the transaction wrote nothing,
 * and after it a later alarm (or the redelivery) finds the start input and finishes the job.
 */
async function openNew(incidentId: string, alarm: AlarmChange, to: Destination, deps: StartIncidentDeps, now: Date, ended: string | undefined): Promise<StartIncidentResult | 'lock-taken'> {
  const { settings, store } = deps;
  const procedure = settings.procedures[to.severity];
  for (let attempt = 0; attempt < 5; attempt++) {
    const budget = procedure ? await store.budgetDecision(to.service, incidentId, now, settings.budget.maxAutomatic, settings.budget.windowSeconds) : undefined;
    const requireApproval = budget?.requireApproval ?? false;
    const input = startInput(alarm, to, settings, requireApproval);
    const result = await store.open({
      lock: {
        service: to.service,
        incidentId,
        severity: to.severity,
        severityRank: severityRank(to.severity),
        openingEventId: alarm.eventId,
        expiresAt: Math.floor(now.getTime() / 1000) + settings.lockSeconds,
      },
      now,
      ...(ended ? { endedExecution: ended } : {}),
      entry: alarmEntry(alarm, to, 'alarm'),
      record: openingFields(alarm, to, settings, input, requireApproval, budget),
      ...(budget?.write ? { budget: budget.write } : {}),
    });
    if (result === 'budget-changed') continue;
    if (result === 'lock-taken') return result;
    if (result === 'already-recorded') return openIncident(incidentId, alarm, to, deps);
    return startOpened(incidentId, alarm, to, deps, { input, requireApproval, used: budget?.used, recorded: true });
  }
  throw new IncidentStoreError(`remediation budget of ${to.service}: too much contention, try again`);
}

/** The procedure of an incident just recorded (or the record found again on a redelivery). */
async function startOpened(
  incidentId: string,
  alarm: AlarmChange,
  to: Destination,
  deps: StartIncidentDeps,
  opened: { input: Record<string, unknown>; requireApproval: boolean; used: number | undefined; recorded: boolean; incident?: { startInput?: string; requireApproval?: boolean } },
): Promise<StartIncidentResult> {
  const { settings, store, log } = deps;
  const procedure = settings.procedures[to.severity];
  if (!procedure) {
    const reason = `procedure ${to.severity} is not deployed yet: incident ${incidentId} recorded for ${to.service}, no execution started`;
    if (opened.recorded) await store.appendTimeline(incidentId, [{ at: deps.clock.now().toISOString(), kind: 'not-deployed', what: reason, severity: to.severity }]);
    log.warn('procedure not deployed', { reason, incidentId, service: to.service, severity: to.severity, alarmName: alarm.alarmName });
    return { outcome: 'recorded', incidentId, service: to.service, reason };
  }
  const { executionArn, fresh } = await startProcedure(incidentId, to.service, to.severity, procedure, opened.incident?.startInput ?? JSON.stringify(opened.input), deps);
  if (!opened.recorded && !fresh) return duplicate(log, incidentId, to.service, alarm);
  const approval = opened.incident?.requireApproval ?? opened.requireApproval;
  log.info(opened.recorded ? 'incident opened' : 'incident already open for this event: execution ensured', {
    incidentId,
    service: to.service,
    severity: to.severity,
    alarmName: alarm.alarmName,
    via: to.via,
    executionArn,
    requireApproval: approval,
    ...(approval ? { why: `remediation budget spent: ${opened.used ?? '?'} automatic remediation(s) of ${to.service} in the last ${settings.budget.windowSeconds} s (limit ${settings.budget.maxAutomatic})` } : {}),
  });
  return { outcome: 'started', incidentId, service: to.service, executionArn, requireApproval: approval };
}

/** The opening event again (a redelivery): its record exists; make sure its execution was started. */
async function openIncident(incidentId: string, alarm: AlarmChange, to: Destination, deps: StartIncidentDeps): Promise<StartIncidentResult> {
  const { settings, store } = deps;
  const procedure = settings.procedures[to.severity];
  const budget = procedure ? await store.consumeBudget(to.service, incidentId, deps.clock.now(), settings.budget.maxAutomatic, settings.budget.windowSeconds) : undefined;
  const requireApproval = budget?.requireApproval ?? false;
  const input = startInput(alarm, to, settings, requireApproval);
  const recorded = await store.recordAlarm(incidentId, alarmEntry(alarm, to, 'alarm'), openingFields(alarm, to, settings, input, requireApproval, budget));
  const incident = recorded ?? (await store.get(incidentId));
  return startOpened(incidentId, alarm, to, deps, { input, requireApproval, used: budget?.used, recorded: recorded !== undefined, ...(incident ? { incident } : {}) });
}

/** An execution's end gets this long to be recorded by its own event before an alarm takes over its lock. */
const UNRECORDED_END_GRACE_MS = 2 * 60_000;

/** The execution's ARN if it ended long enough ago without being recorded (or no longer exists); undefined otherwise. */
async function endedExecution(sfn: SFNClient, executionArn: string, now: Date): Promise<string | undefined> {
  try {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status === 'RUNNING' || d.status === 'PENDING_REDRIVE') return undefined;
    return now.getTime() - (d.stopDate?.getTime() ?? 0) > UNRECORDED_END_GRACE_MS ? executionArn : undefined;
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return executionArn;
    throw err;
  }
}

/** A claim whose execution has not started after this long was abandoned by a failed delivery. */
const STALLED_CLAIM_SECONDS = 60;

async function joinIncident(lock: ServiceLock, alarm: AlarmChange, to: Destination, deps: StartIncidentDeps): Promise<StartIncidentResult> {
  const { store, log, settings } = deps;
  const incidentId = lock.incidentId;
  const kind = lock.state === 'closed' ? 'alarm-after-close' : 'alarm';
  const appended = await store.recordAlarm(incidentId, alarmEntry(alarm, to, kind));
  if (!appended) return duplicate(log, incidentId, to.service, alarm);
  const rank = severityRank(to.severity);
  if (lock.state === 'open' && rank > lock.severityRank && (await store.raiseSeverity(to.service, incidentId, to.severity, rank))) {
    const now = deps.clock.now().toISOString();
    const what = `escalated ${lock.severity} → ${to.severity} by alarm ${alarm.alarmName}`;
    await store.appendTimeline(incidentId, [{ at: now, kind: 'escalated', what, severity: to.severity, alarmName: alarm.alarmName }], { severity: to.severity });
    const procedure = settings.procedures[to.severity];
    const current = settings.procedures[lock.severity];
    let executionArn: string | undefined;
    if (procedure && procedure !== current) {
      const incident = await store.get(incidentId);
      const budget = await store.consumeBudget(to.service, incidentId, deps.clock.now(), settings.budget.maxAutomatic, settings.budget.windowSeconds);
      const input = { ...(incident?.startInput ? (JSON.parse(incident.startInput) as Record<string, unknown>) : startInput(alarm, to, settings, false)) };
      input.reason = `escalated to ${to.severity}: CloudWatch alarm ${alarm.alarmName} is in ALARM`;
      input.trigger = { kind: 'alarm', alarmName: alarm.alarmName };
      if (budget.requireApproval || incident?.requireApproval) input.requireApproval = true;
      executionArn = (await startProcedure(incidentId, to.service, to.severity, procedure, JSON.stringify(input), deps)).executionArn;
    } else if (!procedure) {
      await store.appendTimeline(incidentId, [{ at: now, kind: 'not-deployed', what: `procedure ${to.severity} is not deployed yet: escalation recorded only`, severity: to.severity }]);
    }
    log.warn('incident escalated', { incidentId, service: to.service, from: lock.severity, to: to.severity, alarmName: alarm.alarmName, ...(executionArn ? { executionArn } : {}) });
    return { outcome: 'escalated', incidentId, service: to.service, from: lock.severity, to: to.severity, ...(executionArn ? { executionArn } : {}) };
  }
  // The incident was claimed but its execution never started (that delivery failed after the
  // claim): this alarm finishes the job, rather than leaving the service without automation
  // until the lock expires. The execution name is the incident's, so this cannot start a second.
  const claimedSecondsAgo = Math.floor(deps.clock.now().getTime() / 1000) - (lock.expiresAt - settings.lockSeconds);
  if (lock.state === 'open' && !lock.executionArn && claimedSecondsAgo > STALLED_CLAIM_SECONDS) {
    const incident = await store.get(incidentId);
    const procedure = settings.procedures[lock.severity];
    if (procedure && incident?.startInput) {
      const { executionArn } = await startProcedure(incidentId, to.service, lock.severity, procedure, incident.startInput, deps);
      log.warn('open incident had no execution: started it', { incidentId, service: to.service, alarmName: alarm.alarmName, executionArn });
      return { outcome: 'started', incidentId, service: to.service, executionArn, requireApproval: incident.requireApproval ?? false };
    }
  }
  log.info('alarm added to the open incident: no new execution', { incidentId, service: to.service, alarmName: alarm.alarmName, incidentState: lock.state });
  return { outcome: 'appended', incidentId, service: to.service };
}

/**
 * The procedure of an incident recorded open whose execution never started: start-incident claimed
 * the service and wrote the record in one transaction, then StartExecution failed on every delivery
 * (throttled, a Step Functions outage) and the event went to the dead-letter queue. The reconciler
 * calls this; the execution name is the incident's, so racing a late retry cannot start a second.
 * Undefined when there is nothing to start (no start input, or the severity has no procedure).
 */
export async function startRecorded(incident: IncidentRecord, deps: StartIncidentDeps): Promise<string | undefined> {
  const procedure = deps.settings.procedures[incident.severity];
  if (!procedure || !incident.startInput) return undefined;
  const { executionArn } = await startProcedure(incident.id, incident.service, incident.severity, procedure, incident.startInput, deps);
  deps.log.warn('open incident had no execution: started it', { incidentId: incident.id, service: incident.service, executionArn });
  return executionArn;
}

/**
 * StartExecution named after the incident: a repeat with the same input returns the same execution.
 * `fresh` is false when an earlier delivery already started (and noted) it.
 */
async function startProcedure(
  incidentId: string,
  service: string,
  severity: Severity,
  stateMachineArn: string,
  input: string,
  deps: StartIncidentDeps,
): Promise<{ executionArn: string; fresh: boolean }> {
  const name = executionNameFor(incidentId, severity);
  let executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  try {
    const out = await deps.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    executionArn = out.executionArn ?? executionArn;
  } catch (err) {
    // Already started (and perhaps finished) by an earlier delivery of the same event.
    if ((err as Error).name !== 'ExecutionAlreadyExists') throw err;
  }
  const at = deps.clock.now().toISOString();
  const added = await deps.store.addExecution(incidentId, name, { executionArn, severity, startedAt: at }, { at, kind: 'started', what: `started ${name}`, severity });
  if (added) await deps.store.noteExecution(service, incidentId, executionArn);
  return { executionArn, fresh: added };
}

function startInput(alarm: AlarmChange, to: Destination, settings: IncidentSettings, requireApproval: boolean): Record<string, unknown> {
  return {
    service: to.service,
    ...(settings.cluster ? { cluster: settings.cluster } : {}),
    reason: `CloudWatch alarm ${alarm.alarmName} is in ALARM${alarm.reason ? `: ${alarm.reason}` : ''}`.slice(0, 1024),
    trigger: { kind: 'alarm', alarmName: alarm.alarmName },
    ...settings.serviceInputs[to.service],
    // Only when true: the field is optional in the start input, and absent means "no approval needed".
    ...(requireApproval ? { requireApproval: true } : {}),
  };
}

/** The record an alarm opens: written by the opening transaction, or again (first writer wins) by a redelivery. */
function openingFields(alarm: AlarmChange, to: Destination, settings: IncidentSettings, input: Record<string, unknown>, requireApproval: boolean, budget: { used: number } | undefined): OpeningFields {
  return {
    service: to.service,
    ...(settings.cluster ? { cluster: settings.cluster } : {}),
    severity: to.severity,
    trigger: { kind: 'alarm', alarmName: alarm.alarmName },
    openedAt: alarm.at,
    startInput: JSON.stringify(input),
    requireApproval,
    ...(budget ? { budget: { used: budget.used, limit: settings.budget.maxAutomatic, windowSeconds: settings.budget.windowSeconds } } : {}),
  };
}

function alarmEntry(alarm: AlarmChange, to: Destination, kind: 'alarm' | 'alarm-after-close'): IncidentTimelineEntry & { eventId: string } {
  return {
    at: alarm.at,
    kind,
    what: `${alarm.alarmName} ${alarm.previousState ?? '?'} → ALARM (${to.severity}, via ${to.via})${alarm.reason ? `: ${alarm.reason.slice(0, 160)}` : ''}`,
    eventId: alarm.eventId,
    alarmName: alarm.alarmName,
    severity: to.severity,
  };
}

/** `<service>-<alarm time>-<hash of the event id>`: the same event always names the same incident. */
export function incidentIdFor(service: string, alarm: Pick<AlarmChange, 'at' | 'eventId'>): string {
  const time = alarm.at.replace(/[-:]/g, '').replace(/\.\d+/, '');
  const hash = createHash('sha256').update(alarm.eventId).digest('hex').slice(0, 6);
  return `${service.slice(0, 40)}-${time}-${hash}`;
}

/** Execution names end in `--p0` (the severity that started them) so the record handler finds the incident. */
export function executionNameFor(incidentId: string, severity: Severity): string {
  return `${incidentId}--${severity.toLowerCase()}`;
}

function ignore(log: Logger, reason: string, data: Record<string, unknown> = {}): StartIncidentResult {
  log.info('event ignored: no execution started', { reason, ...data });
  return { outcome: 'ignored', reason };
}

function duplicate(log: Logger, incidentId: string, service: string, alarm: AlarmChange): StartIncidentResult {
  log.info('redelivered event: already on the incident timeline, nothing started', { incidentId, service, eventId: alarm.eventId, alarmName: alarm.alarmName });
  return { outcome: 'duplicate', incidentId, service };
}

const defaults = once(() => {
  const settings = incidentSettingsFromEnv();
  return {
    store: new IncidentStore(documentClient(), settings.incidentsTable),
    sfn: sfnClient(),
    clock: systemClock,
    settings,
    log: createLogger('start-incident'),
    // Only when tag routing is configured: no CloudWatch call otherwise.
    ...(settings.tagKeys ? { readAlarmTags: cloudWatchTagReader(cloudWatchClient()) } : {}),
  };
});
export const handler = step('start-incident', () => defaults().log, (event) => startIncident(event, defaults()));
