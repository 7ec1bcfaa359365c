import * as z from 'zod';
import { documentClient, once, sfnClient } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { IncidentStore, incidentSettingsFromEnv } from '#commons/incidents';
import { severitySchema } from '#commons/alarms';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { raiseIncident, type StartIncidentDeps, type StartIncidentResult } from './start-incident.ts';

const inputSchema = z
  .object({
    toRaise: z
      .array(z.object({ service: z.string().min(1), severity: severitySchema, reason: z.string().min(1).max(1024), key: z.string().min(1).max(512), at: z.iso.datetime() }).strict())
      .max(100),
  })
  .strict();

export interface RaisedIncidents {
  incidents: (StartIncidentResult & { severity: string })[];
}

/**
 * A failing line configured to open an incident does it through start-incident's own path (one
 * incident per service across severities, the remediation budget, the execution named after the
 * incident): an open incident for the service is joined, not doubled, and a retry of this step —
 * the same key and time, from the report — opens nothing twice.
 */
export async function raiseHealthIncidents(event: unknown, deps: StartIncidentDeps): Promise<RaisedIncidents> {
  const { toRaise } = parseInput(inputSchema, event, 'raise-health-incidents input');
  const incidents: RaisedIncidents['incidents'] = [];
  for (const r of toRaise) {
    // The key and the time come from the report: a retried step raises the very same event.
    const result = await raiseIncident({ service: r.service, severity: r.severity, source: 'health-check', reason: r.reason, key: r.key, at: r.at }, deps);
    incidents.push({ ...result, severity: r.severity });
  }
  return { incidents };
}

const defaults = once((): StartIncidentDeps => {
  const settings = incidentSettingsFromEnv();
  return { store: new IncidentStore(documentClient(), settings.incidentsTable), sfn: sfnClient(), clock: systemClock, settings, log: createLogger('raise-health-incidents') };
});
export const handler = step('raise-health-incidents', () => defaults().log, (event) => raiseHealthIncidents(event, defaults()));
