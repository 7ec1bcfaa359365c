import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { cloudWatchStateReader, cloudWatchTagReader, type AlarmNow, type AlarmStateReader } from '#commons/alarms';
import { startIncident, startRecorded, type StartIncidentResult } from './start-incident.ts';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { autoScalingClient, cloudWatchClient, documentClient, ecsClient, once, sfnClient } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { IncidentStore, incidentSettingsFromEnv, type IncidentRecord } from '#commons/incidents';
import { createLogger, type Logger } from '#commons/logger';
import type { Pager } from '#commons/paging';
import { step } from '#commons/step';
import { anyHolderRunning, RestorePoints, settleRestorePoint } from '#safety/restore-points';
import { settleScaleBack, type ScaleBackDeps } from '#safety/scale-back';
import { ScaleBacks } from '#safety/scale-backs';
import { EXECUTION_DETAIL_TYPE, pagerFromEnv, posterFromEnv, recordIncident, type RecordIncidentResult } from './record-incident.ts';

export interface ReconcileDeps {
  store: IncidentStore;
  points: RestorePoints;
  sfn: SFNClient;
  ecs: ECSClient;
  clock: Clock;
  pager: Pager;
  log: Logger;
  /** Records an execution's end as record-incident does (the same code, in this function). */
  record: (event: unknown) => Promise<RecordIncidentResult>;
  /** Alarms' current states (CloudWatch DescribeAlarms). */
  alarmStates: AlarmStateReader;
  /** Hands an alarm state change to start-incident (the same code, in this function). */
  reopen: (event: unknown) => Promise<StartIncidentResult>;
  /** Starts the procedure of an incident recorded without an execution (start-incident's code). */
  startRecorded: (incident: IncidentRecord) => Promise<string | undefined>;
  region?: string;
  accountId?: string;
  /** P1 scale-outs to give back after their quiet period (handlers/safety/scale-back.ts). */
  scaleBack?: Pick<ScaleBackDeps, 'scaleBacks' | 'cloudwatch' | 'autoscaling'>;
}

export interface ReconcileResult {
  restorePoints: { checked: number; settled: number; restored: number };
  /** Incidents closed as recovered whose alarms were looked at again; alarms still in ALARM reopened. */
  rechecks: { checked: number; reopened: number };
  /** Open incidents looked at, closed because their execution had ended unrecorded, started because it never had. */
  locks: { checked: number; closed: number; started: number };
  /** P1 scale-outs looked at, and given back after their quiet period. */
  scaleBacks: { checked: number; scaledBack: number };
}

/**
 * Runs on a schedule (infra: every 5 minutes). What the execution's own ending may have missed —
 * its "Execution Status Change" event is delivered best effort, and StopExecution or a timeout run
 * no Catch — is put right here:
 * - a restore point whose executions all ended: the desired count is put back (and people paged);
 * - an open incident whose execution ended long enough ago: recorded and closed, so the service
 *   is not locked out of automation for the lock's hours.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const result: ReconcileResult = { restorePoints: { checked: 0, settled: 0, restored: 0 }, rechecks: { checked: 0, reopened: 0 }, locks: { checked: 0, closed: 0, started: 0 }, scaleBacks: { checked: 0, scaledBack: 0 } };
  // One item failing (a throttled call, a service deleted meanwhile) must not keep the rest from
  // being put right: each is tried on its own and the run fails at the end, so the Lambda's
  // errors metric still shows it.
  const failures: Error[] = [];
  const each = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (err) {
      failures.push(err as Error);
      deps.log.error('reconciling an item failed; the next run retries', { what, error: (err as Error).message });
    }
  };
  for (const point of await deps.points.pending()) {
    await each(point.pk, async () => {
      result.restorePoints.checked += 1;
      if (await anyHolderRunning(deps.sfn, point)) return;
      const [first, ...others] = [...(point.holders ?? [])];
      if (!first) return;
      const settled = await settleRestorePoint(deps, point, first, 'without its end being recorded (found by the reconciler)');
      if (!settled.settled) return;
      for (const other of others) await deps.points.release(point.cluster, point.service, other);
      result.restorePoints.settled += 1;
      if (settled.restored) result.restorePoints.restored += 1;
    });
  }
  const now = deps.clock.now().getTime();
  for (const incident of await deps.store.openIncidents()) {
    await each(incident.id, async () => {
      result.locks.checked += 1;
      // The incident's latest execution, not yet recorded.
      const latest = Object.values(incident.executions ?? {}).sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
      if (!latest) return startStalled(deps, incident, now, result);
      if (incident.recordedExecutions?.has(latest.executionArn)) return;
      const d = await describe(deps.sfn, latest.executionArn);
      if (!d || d.status === 'RUNNING' || d.status === 'PENDING_REDRIVE') return;
      // Give the execution's own end event its chance first.
      if (d.stopDate && now - d.stopDate.getTime() < GRACE_MS) return;
      const recorded = await deps.record(statusEvent(latest.executionArn, d.status ?? 'FAILED', deps));
      // Only the first to record this end pages (a late end event or an overlapping run may race us).
      if (recorded.outcome !== 'recorded' || !recorded.first) return;
      result.locks.closed += 1;
      deps.log.warn('incident closed by the reconciler: its end was never recorded', { incidentId: incident.id, service: incident.service, executionArn: latest.executionArn });
      await deps.pager.page({
        summary: `${incident.service}: closed by the reconciler (ended ${d.status}, never recorded)`,
        service: incident.service,
        incidentId: incident.id,
        executionArn: latest.executionArn,
        details: `The execution ended ${d.status} at ${d.stopDate?.toISOString() ?? '?'} but its end was never recorded (a lost EventBridge event, or record-incident kept failing: check the dead-letter queue). The incident is now closed and the service free for automation again; its outcome was ${recorded.result}.`,
        dedupKey: `reconciled:${latest.executionArn}`,
      });
    });
  }
  await recheckAlarms(deps, result);
  if (deps.scaleBack) {
    const scaleBackDeps = { ...deps.scaleBack, store: deps.store, ecs: deps.ecs, clock: deps.clock, log: deps.log };
    for (const point of await deps.scaleBack.scaleBacks.pending()) {
      await each(point.pk, async () => {
        result.scaleBacks.checked += 1;
        if ((await settleScaleBack(scaleBackDeps, point)) === 'scaled-back') result.scaleBacks.scaledBack += 1;
      });
    }
  }
  if (failures.length > 0) {
    deps.log.info('reconciled in part', { ...result, failed: failures.length });
    throw new ReconcileError(`${failures.length} item(s) could not be reconciled; the next run retries: ${failures.map((f) => f.message).join('; ')}`);
  }
  deps.log.info('reconciled', { ...result });
  return result;
}

/**
 * An incident closed as recovered, its cool-down over: an alarm that went back to OK sent its event;
 * one that stays in ALARM sends none (CloudWatch emits state *changes*). Still in ALARM: the
 * incident's claim was wrong, so the alarm goes to start-incident again and opens a new incident.
 */
async function recheckAlarms(deps: ReconcileDeps, result: ReconcileResult): Promise<void> {
  const now = deps.clock.now();
  for (const incident of await deps.store.rechecks()) {
    if (!incident.recheckAt || Date.parse(incident.recheckAt) > now.getTime()) continue;
    if (!(await deps.store.finishRecheck(incident.id))) continue;
    result.rechecks.checked += 1;
    const names = [...new Set(incident.timeline.flatMap((e) => (e.alarmName && (e.kind === 'alarm' || e.kind === 'alarm-after-close') ? [e.alarmName] : [])))];
    if (names.length === 0) continue;
    // Reopened once already and found fine again: automation cannot see what the alarm sees. People decide.
    const secondTime = incident.timeline.some((e) => e.kind === 'alarm' && e.what.includes(RECHECK_REASON));
    for (const alarm of (await deps.alarmStates(names)).filter((a) => a.state === 'ALARM')) {
      if (secondTime) {
        await deps.pager.page({
          summary: `${alarm.alarmName} stays in ALARM, the service looks healthy`,
          service: incident.service,
          incidentId: incident.id,
          details: `Incident ${incident.id} was reopened because ${alarm.alarmName} stayed in ALARM after an earlier incident claimed recovery, and it again found ${incident.service} healthy. incident-flows will not reopen it a third time: the alarm sees something the workflow does not (or the alarm is wrong).`,
          dedupKey: `stuck-alarm:${incident.id}:${alarm.alarmName}`,
        });
        continue;
      }
      const reopened = await deps.reopen(recheckEvent(alarm, incident.id, now, deps));
      if (reopened.outcome === 'started') result.rechecks.reopened += 1;
      deps.log.warn('alarm still in ALARM after the incident claimed recovery', { incidentId: incident.id, alarmName: alarm.alarmName, outcome: reopened.outcome });
    }
  }
}

/** The alarm state change CloudWatch would have sent, had the alarm changed; its id is the recheck's own. */
function recheckEvent(alarm: AlarmNow, incidentId: string, now: Date, deps: Pick<ReconcileDeps, 'region' | 'accountId'>): Record<string, unknown> {
  const at = now.toISOString();
  return {
    version: '0',
    id: createHash('sha256').update(`recheck:${incidentId}:${alarm.alarmName}`).digest('hex').slice(0, 32),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    time: at.replace(/\.\d+Z$/, 'Z'),
    ...(deps.region ? { region: deps.region } : {}),
    ...(deps.accountId ? { account: deps.accountId } : {}),
    resources: alarm.alarmArn ? [alarm.alarmArn] : [],
    detail: {
      alarmName: alarm.alarmName,
      state: { value: 'ALARM', reason: `${RECHECK_REASON} ${incidentId} was closed as recovered`, timestamp: at },
      previousState: { value: 'ALARM' },
      configuration: { metrics: alarm.dimensions.map((dimensions, i) => ({ id: `m${i}`, metricStat: { metric: { dimensions } } })) },
    },
  };
}

const RECHECK_REASON = 'still in ALARM after incident';

export class ReconcileError extends Error {
  override name = 'ReconcileError';
}

/** start-incident's own retries (Lambda retries an async event twice, over about 3 minutes) go first. */
const STALLED_START_MS = 4 * 60_000;
/** Still no execution this long after the alarm: people take over (and the reconciler keeps trying). */
const STALLED_PAGE_MS = 10 * 60_000;

/**
 * An alarm's incident recorded open with no execution: its StartExecution failed on every delivery.
 * Start it from the input the incident recorded; page when that has not worked for ten minutes.
 * Console and CLI starts are left alone: the person who started them saw the error.
 */
async function startStalled(deps: ReconcileDeps, incident: IncidentRecord, now: number, result: ReconcileResult): Promise<void> {
  if (incident.trigger?.kind !== 'alarm') return;
  const age = now - Date.parse(incident.openedAt);
  if (!(age > STALLED_START_MS)) return;
  try {
    const executionArn = await deps.startRecorded(incident);
    if (executionArn) result.locks.started += 1;
  } catch (err) {
    if (age > STALLED_PAGE_MS) {
      await deps.pager.page({
        summary: `${incident.service}: incident open for ${Math.round(age / 60_000)} min, its procedure could not be started — take over`,
        service: incident.service,
        incidentId: incident.id,
        details:
          `Incident ${incident.id} (${incident.severity}) was opened by an alarm but Step Functions refused to start its procedure ` +
          `(${(err as Error).name}: ${(err as Error).message}). incident-flows keeps trying every 5 minutes; meanwhile follow the runbook by hand.`,
        dedupKey: `unstarted:${incident.id}`,
      });
    }
    throw err;
  }
}

/** An execution's end is recorded by its own event first; after this, the reconciler does it. */
const GRACE_MS = 2 * 60_000;

async function describe(sfn: SFNClient, executionArn: string) {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
}

/** The "Step Functions Execution Status Change" event record-incident takes, from what DescribeExecution said. */
function statusEvent(executionArn: string, status: string, deps: Pick<ReconcileDeps, 'clock'>): Record<string, unknown> {
  return {
    'detail-type': EXECUTION_DETAIL_TYPE,
    source: 'aws.states',
    time: deps.clock.now().toISOString(),
    resources: [executionArn],
    detail: { executionArn, status },
  };
}

const defaults = once(() => {
  const settings = incidentSettingsFromEnv();
  const log = createLogger('reconcile');
  const store = new IncidentStore(documentClient(), settings.incidentsTable);
  const points = new RestorePoints(documentClient(), settings.incidentsTable);
  const sfn = sfnClient();
  const ecs = ecsClient();
  const pager = pagerFromEnv(log);
  const recordDeps = { store, sfn, clock: systemClock, settings, poster: posterFromEnv(log), log, ecs, points, pager };
  const cloudwatch = cloudWatchClient();
  const startDeps = { store, sfn, clock: systemClock, settings, log, ...(settings.tagKeys ? { readAlarmTags: cloudWatchTagReader(cloudwatch) } : {}) };
  return {
    store,
    points,
    sfn,
    ecs,
    clock: systemClock,
    pager,
    log,
    record: (event: unknown) => recordIncident(event, recordDeps),
    alarmStates: cloudWatchStateReader(cloudwatch),
    reopen: (event: unknown) => startIncident(event, startDeps),
    startRecorded: (incident: IncidentRecord) => startRecorded(incident, startDeps),
    scaleBack: { scaleBacks: new ScaleBacks(documentClient(), settings.incidentsTable), cloudwatch, autoscaling: autoScalingClient() },
    ...(settings.region ? { region: settings.region } : {}),
  };
});
export const handler = step('reconcile', () => defaults().log, () => reconcile(defaults()));
