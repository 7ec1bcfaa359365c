import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Clock } from '#commons/clock';
import { InvalidInputError, ServiceBusyError } from '#commons/errors';
import { IncidentStore, incidentIdOf } from '#commons/incidents';

export interface HoldDeps {
  incidents: IncidentStore;
  sfn: SFNClient;
  clock: Clock;
  config: { lockSeconds: number };
}

/** An execution's end gets this long to be recorded by its own event before another takes the service (as start-incident allows). */
const UNRECORDED_END_GRACE_MS = 2 * 60_000;

/**
 * Takes the service for a deploy or a rollback, as incidents take it (one change at a time). A
 * holder whose execution ended without its end being recorded — Step Functions' status events are
 * best effort — no longer holds it: the service is taken over rather than refused for the lock's
 * whole life.
 */
export async function holdService(deps: HoldDeps, service: string, executionArn: string, what: string): Promise<void> {
  const hold = (endedHolder?: string) =>
    deps.incidents.holdForChange({ service, executionArn, now: deps.clock.now(), lockSeconds: deps.config.lockSeconds, severity: 'P0', ...(endedHolder ? { endedHolder } : {}) });
  if (await hold()) return;
  const lock = await deps.incidents.lock(service);
  const holder = lock?.executionArn;
  if (holder && (await ended(deps, holder)) && (await hold(holder))) return;
  throw new ServiceBusyError(`${service} is held by ${holder ?? lock?.incidentId ?? 'another execution'} (a deployment or an incident): this ${what} changed nothing — wait for it to end (incident-flows status)`);
}

async function ended(deps: HoldDeps, executionArn: string): Promise<boolean> {
  try {
    const d = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status === 'RUNNING' || d.status === 'PENDING_REDRIVE') return false;
    return deps.clock.now().getTime() - (d.stopDate?.getTime() ?? 0) > UNRECORDED_END_GRACE_MS;
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return true;
    throw err;
  }
}

/** Workflows that start the rollback as a nested execution (associateWithParent). */
const PARENTS = /-(deploy|p0-system-down)$/;

/**
 * A nested rollback acts under its parent's hold on the service. The parent is named in the input
 * (AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID), which anyone starting an execution could write: it
 * must be one of ours, running, and holding the service now — else the start is refused.
 */
export async function requireParentHolds(deps: HoldDeps, service: string, parent: string): Promise<void> {
  const field = 'field "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"';
  const machine = parent.split(':')[6] ?? '';
  if (!PARENTS.test(machine)) throw new InvalidInputError(`${field}: ${machine || parent} is not a deploy or P0 workflow — remove the field; only those start a rollback of their own`);
  let status: string | undefined;
  try {
    ({ status } = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: parent })));
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') throw new InvalidInputError(`${field}: no execution ${parent} — remove the field`);
    throw err;
  }
  if (status !== 'RUNNING') throw new InvalidInputError(`${field}: ${parent} is ${status}, not running — remove the field`);
  const lock = await deps.incidents.lock(service);
  const parentIncident = incidentIdOf(parent.slice(parent.lastIndexOf(':') + 1));
  const holds = IncidentStore.holds(lock, deps.clock.now()) && lock.state === 'open' && (lock.executionArn === parent || (lock.incidentId === parentIncident && lock.executionArn === undefined));
  if (!holds) throw new ServiceBusyError(`${service} is not held by ${parent}: this rollback changed nothing`);
}
