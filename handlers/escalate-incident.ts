import * as z from 'zod';
import { documentClient, once, sfnClient } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { IncidentStore, incidentSettingsFromEnv } from '#commons/incidents';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { raiseIncident, type StartIncidentDeps } from './start-incident.ts';

export interface Escalation {
  /** A P0 execution now owns the incident. */
  escalated: boolean;
  outcome: string;
  incidentId?: string;
  executionArn?: string;
  why: string;
}

const inputSchema = z
  .object({
    incident: incidentSchema,
    execution: z.string().regex(/^arn:aws[\w-]*:states:/, 'must be the execution ARN ($$.Execution.Id)'),
    reason: z.string().min(1).max(1024),
    /** A time fixed before the step (the assessment's): the same on every retry, so the signal is too. */
    at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/**
 * P1 did not recover the service: open a P0 for it through the same path as an alarm. The service's
 * open incident (this P1's) is escalated, so it becomes the same incident's P0 — one incident per
 * service across severities. Keyed by the execution, so a retried step escalates once.
 */
export async function escalateIncident(event: unknown, deps: StartIncidentDeps): Promise<Escalation> {
  const { incident, execution, reason, at } = parseInput(inputSchema, event, 'escalate-incident input');
  const result = await raiseIncident(
    { service: incident.service, severity: 'P0', source: 'p1-escalation', reason: reason.slice(0, 1024), key: execution, at: at ?? deps.clock.now().toISOString() },
    deps,
  );
  const incidentId = 'incidentId' in result ? result.incidentId : undefined;
  // A retry of this step whose first try started the P0 (its answer lost) finds its signal already
  // on the timeline: the P0 it started is the answer, not a failure to escalate.
  const executionArn = 'executionArn' in result ? result.executionArn : result.outcome === 'duplicate' && incidentId ? await p0Of(deps, incidentId) : undefined;
  return {
    escalated: executionArn !== undefined,
    outcome: result.outcome,
    ...(incidentId ? { incidentId } : {}),
    ...(executionArn ? { executionArn } : {}),
    why: executionArn ? `P0 started for ${incident.service}: ${reason}` : `no P0 execution could be started (${result.outcome}${'reason' in result ? `: ${result.reason}` : ''})`,
  };
}

async function p0Of(deps: StartIncidentDeps, incidentId: string): Promise<string | undefined> {
  const record = await deps.store.get(incidentId);
  return Object.entries(record?.executions ?? {}).find(([name]) => name.endsWith('--p0'))?.[1].executionArn;
}

const defaults = once(() => {
  const settings = incidentSettingsFromEnv();
  return { store: new IncidentStore(documentClient(), settings.incidentsTable), sfn: sfnClient(), clock: systemClock, settings, log: createLogger('escalate-incident') };
});
export const handler = step('escalate-incident', () => defaults().log, (event) => escalateIncident(event, defaults()));
