import { escapeSlackText as esc, type Block, type SlackMessage } from '#commons/slack';
import type { Severity } from '#commons/alarms';
import type { HealthLine, HealthPlan } from './plan.ts';

/** A check step that could not run at all (its Catch): one red line, so nothing goes unreported. */
export interface UnavailableCheck {
  unavailable: true;
  error?: string;
  cause?: string;
}

const KIND_LABEL: Record<string, string> = { services: 'ECS services', functions: 'Lambda functions', tables: 'DynamoDB tables', metrics: 'metrics' };
const KIND_OF: Record<string, HealthLine['kind']> = { services: 'service', functions: 'function', tables: 'table', metrics: 'metric' };

/** The lines in the runbook's order — services, functions, tables, then the metrics review. */
export function linesOf(checks: Record<string, { lines: HealthLine[] } | UnavailableCheck>): HealthLine[] {
  return ['services', 'functions', 'tables', 'metrics'].flatMap((key) => {
    const c = checks[key];
    if (!c) return [];
    if ('unavailable' in c) {
      const why = shortCause(c.cause) ?? c.error ?? 'unknown error';
      return [{ kind: KIND_OF[key]!, component: KIND_LABEL[key]!, ok: false, figure: `could not be checked: ${c.error ?? 'error'} — ${why}` }];
    }
    return c.lines;
  });
}

/** health-check.sh's output: one line per component, ✅/❌ with its figure. */
export function renderText(lines: HealthLine[], at: string): string {
  const failing = lines.filter((l) => !l.ok).length;
  const head = `Daily health check ${at.slice(0, 10)} ${at.slice(11, 16)} UTC: ${failing === 0 ? `all ${lines.length} checks pass` : `${failing} of ${lines.length} checks FAILING`}`;
  return [head, ...lines.map((l) => `${l.ok ? '✅' : '❌'} ${l.component}: ${l.figure}`)].join('\n');
}

/**
 * The report in Slack. Component names and figures quote what AWS and functions answered (an
 * error message is not ours): escaped for mrkdwn, so nothing in them pings or links.
 */
export function healthMessage(channel: string, lines: HealthLine[], at: string, opened: string[]): SlackMessage {
  const failing = lines.filter((l) => !l.ok);
  const title = failing.length === 0 ? `Daily health check: all ${lines.length} checks pass` : `Daily health check: ${failing.length} of ${lines.length} checks FAILING`;
  const body = lines.map((l) => `${l.ok ? ':white_check_mark:' : ':x:'} *${esc(l.component)}*: ${esc(l.figure)}`).join('\n');
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: body.slice(0, 3000) } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${at.slice(0, 16).replace('T', ' ')} UTC${opened.length ? ` · incident opened for ${opened.map((s) => `\`${esc(s)}\``).join(', ')}` : ''}` }],
    },
  ];
  return { channel, text: esc(title), blocks };
}

export interface IncidentToRaise {
  service: string;
  severity: Severity;
  reason: string;
  /** start-incident's idempotency key: the execution and the service. */
  key: string;
  /** When the report found the line red. With the key it names the incident (incidentIdFor), so it is fixed here, not when the step runs. */
  at: string;
}

/**
 * Which failing lines open an incident (configured per kind), one per service: the most severe
 * wins. A line that measured nothing (`unmeasured`: no datapoint, CloudWatch could not answer) is
 * reported red but opens nothing — a read that failed is no evidence against the service.
 */
export function incidentsToRaise(lines: HealthLine[], plan: Pick<HealthPlan, 'openIncidents'>, execution: string, at: string): IncidentToRaise[] {
  const byService = new Map<string, IncidentToRaise>();
  for (const l of lines) {
    if (l.ok || !l.service || l.unmeasured) continue;
    const severity = plan.openIncidents[l.kind as keyof HealthPlan['openIncidents']];
    if (!severity) continue;
    const known = byService.get(l.service);
    const reason = `daily health check: ${l.component}: ${l.figure}`.slice(0, 1024);
    // Same execution, service and time: a retried "Open incidents" step, however late, is the same event.
    if (!known || severity < known.severity) byService.set(l.service, { service: l.service, severity, reason, key: `${execution}:${l.service}`, at });
  }
  return [...byService.values()];
}

function shortCause(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage.slice(0, 300) : cause.slice(0, 300);
  } catch {
    return cause.slice(0, 300);
  }
}
