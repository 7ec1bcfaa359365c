import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { documentClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { IncidentStore } from '#commons/incidents';
import { createLogger, type Logger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import type { SlackApi } from '#commons/slack';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { slackFromEnv } from '#commons/slack-env';
import { warningSummaryMessage } from './maintenance/messages.ts';
import { incidentOf, recordScheduledFix, type ScheduledFix } from './maintenance/scheduled-fixes.ts';
import { maintenanceWindowSchema, nextWindow } from './maintenance/window.ts';

export interface ScheduleFixDeps {
  dynamo: DynamoDBDocumentClient;
  incidentsTable: string;
  clock: Clock;
  /** The approvals' Slack (same secret and client); built on first use. */
  slack: () => Promise<SlackApi>;
  channel: string;
  log: Logger;
}

const groupSchema = z.object({ pattern: z.string(), count: z.number().int().min(0), firstAt: z.string(), lastAt: z.string(), sample: z.string() }).strict();

const inputSchema = z
  .object({
    incident: incidentSchema,
    /** summarize-warnings' result; only what the fix needs is read. */
    warnings: z
      .object({
        logGroup: z.string(),
        count: z.number().int().min(1, 'a fix is scheduled only for WARN lines: the workflow ends with no-action when there are none'),
        truncated: z.boolean(),
        patterns: z.number().int().min(0),
        groups: z.array(groupSchema).max(50),
        windowStart: z.string(),
        windowEnd: z.string(),
      })
      .loose(),
    /** The stack's configured window, written into the workflow's definition. */
    maintenanceWindow: maintenanceWindowSchema,
    execution: z.object({ arn: z.string().min(1), name: z.string().min(1) }).strict(),
  })
  .strict();

export interface FixScheduled {
  incidentId: string;
  window: { start: string; end: string; label: string };
  /** False on a retry that found the fix already recorded. */
  recorded: boolean;
  /** False when Slack could not be reached: the record still holds the fix. */
  posted: boolean;
}

/**
 * Runbook › P2 › "Scheduled Fix: address during next maintenance window": the fix goes on the
 * incident record for the next configured window, and the summary to Slack. No call to ECS.
 */
export async function scheduleFix(event: unknown, deps: ScheduleFixDeps): Promise<FixScheduled> {
  const { incident, warnings, maintenanceWindow, execution } = parseInput(inputSchema, event, 'schedule-fix input');
  const now = deps.clock.now();
  const window = nextWindow(now, maintenanceWindow);
  const store = new IncidentStore(deps.dynamo, deps.incidentsTable);
  const incidentId = await incidentOf(store, execution.name, execution.arn);
  const fix: ScheduledFix = {
    executionArn: execution.arn,
    service: incident.service,
    cluster: incident.cluster,
    window,
    what: warnings.groups.map((g) => `×${g.count} ${g.pattern}`),
    warnings: warnings.count,
    scheduledAt: now.toISOString(),
  };
  const recorded = await recordScheduledFix(deps.dynamo, deps.incidentsTable, incidentId, fix);
  let posted = false;
  // A repeat (the first answer was lost) posted already, or will be seen in the record: post once.
  if (recorded) {
    try {
      const slack = await deps.slack();
      await slack.postMessage(warningSummaryMessage(deps.channel, { ...warnings, service: incident.service, cluster: incident.cluster, window, incidentId }));
      posted = true;
    } catch (err) {
      deps.log.warn('P2 summary not posted to Slack: the incident record holds the scheduled fix', { incidentId, error: (err as Error).message });
    }
  }
  deps.log.info('fix scheduled', { incidentId, service: incident.service, window: window.label, warnings: warnings.count, recorded, posted });
  return { incidentId, window, recorded, posted };
}

const log = once(() => createLogger('schedule-fix'));
const defaults = once(() => ({
  dynamo: documentClient(),
  incidentsTable: process.env.INCIDENTS_TABLE ?? 'incident-flows-incidents',
  clock: systemClock,
  ...slackFromEnv(),
  log: log(),
}));
export const handler = step('schedule-fix', log, (event) => scheduleFix(event, defaults()));
