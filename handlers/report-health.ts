import * as z from 'zod';
import { once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger, type Logger } from '#commons/logger';
import type { SlackApi } from '#commons/slack';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { slackFromEnv } from '#commons/slack-env';
import { healthMessage, incidentsToRaise, linesOf, renderText, type IncidentToRaise } from './health/report.ts';
import { healthLineSchema, healthPlanSchema, type HealthLine } from './health/plan.ts';

export interface ReportHealthDeps {
  clock: Clock;
  /** The approvals' Slack (same secret and client); built on first use. */
  slack: () => Promise<SlackApi>;
  channel: string;
  log: Logger;
}

const checkSchema = z.union([
  z.object({ lines: z.array(healthLineSchema).max(500), checkedAt: z.string() }).strict(),
  z.object({ unavailable: z.literal(true), error: z.string().optional(), cause: z.string().optional() }).strict(),
]);

const inputSchema = z
  .object({
    plan: healthPlanSchema,
    checks: z.object({ services: checkSchema, functions: checkSchema, tables: checkSchema, metrics: checkSchema }).strict(),
    execution: z.string().min(1).max(80),
  })
  .strict();

export interface HealthReport {
  outcome: 'healthy' | 'unhealthy';
  passing: number;
  failing: number;
  lines: HealthLine[];
  /** The report as health-check.sh prints it. */
  text: string;
  posted: boolean;
  /** Failing lines that open an incident (configured per kind), one per service. */
  toRaise: IncidentToRaise[];
  raiseCount: number;
}

/**
 * The report, one line per component with its figure, posted to Slack. A Slack failure does not
 * fail the step: the execution's output holds the report, and the incidents are still opened.
 */
export async function reportHealth(event: unknown, deps: ReportHealthDeps): Promise<HealthReport> {
  const { plan, checks, execution } = parseInput(inputSchema, event, 'report-health input');
  const at = deps.clock.now().toISOString();
  const lines = linesOf(checks);
  const failing = lines.filter((l) => !l.ok).length;
  const toRaise = incidentsToRaise(lines, plan, execution, at);
  let posted = false;
  try {
    const slack = await deps.slack();
    await slack.postMessage(healthMessage(deps.channel, lines, at, toRaise.map((r) => `${r.service} (${r.severity})`)));
    posted = true;
  } catch (err) {
    deps.log.warn('health report not posted to Slack: the execution output holds it', { error: (err as Error).message });
  }
  const log = failing ? deps.log.warn : deps.log.info;
  log('health checked', { passing: lines.length - failing, failing, posted, toRaise: toRaise.length });
  return { outcome: failing ? 'unhealthy' : 'healthy', passing: lines.length - failing, failing, lines, text: renderText(lines, at), posted, toRaise, raiseCount: toRaise.length };
}

const log = once(() => createLogger('report-health'));
const defaults = once(() => ({ clock: systemClock, ...slackFromEnv(), log: log() }));
export const handler = step('report-health', log, (event) => reportHealth(event, defaults()));
