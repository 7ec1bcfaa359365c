import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type ExecutionListItem, type SFNClient } from '@aws-sdk/client-sfn';
import { parseArgs } from 'node:util';
import { documentClient, sfnClient } from '#commons/clients';
import { IncidentStore } from '#commons/incidents';
import { consoleLink } from '#commons/report';
import { incidentIdOf } from '../handlers/record-incident.ts';
import { CONNECTION_OPTIONS, CliUsageError, clientOptionsFrom, oneLine, ourStateMachines } from './start.ts';

/**
 * `incident-flows list` — our executions, newest first.
 * `incident-flows status [execution]` — one execution (ARN or name; the newest when omitted):
 * status, where it is, how it ended, planned changes of a dry run, and its incident record.
 */

export interface ListedExecution extends ExecutionListItem {
  stateMachineName: string;
}

export async function listExecutions(sfn: SFNClient, opts: { prefix?: string; status?: string; limit?: number } = {}): Promise<ListedExecution[]> {
  const all: ListedExecution[] = [];
  for (const machine of await ourStateMachines(sfn, opts.prefix)) {
    const page = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: machine.stateMachineArn,
        maxResults: Math.min(opts.limit ?? 20, 1000),
        ...(opts.status ? { statusFilter: opts.status as never } : {}),
      }),
    );
    all.push(...(page.executions ?? []).map((e) => ({ ...e, stateMachineName: machine.name ?? '?' })));
  }
  return all.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0)).slice(0, opts.limit ?? 20);
}

export interface ExecutionStatus {
  executionArn: string;
  name: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  seconds?: number;
  /** The state it is in (running) or ended in. */
  currentState?: string;
  outcome?: string;
  error?: string;
  cause?: string;
  service?: string;
  dryRun: boolean;
  plannedChanges?: unknown[];
  consoleUrl: string;
  incident?: { id: string; status: string; outcome?: string; alarmCount?: number; timeToMitigateSeconds?: number; report?: string };
}

export async function executionStatus(sfn: SFNClient, executionArn: string, store?: IncidentStore): Promise<ExecutionStatus> {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50 }));
  const last = history.events?.find((e) => e.type?.endsWith('StateEntered'));
  const input = parseObject(d.input);
  const output = parseObject(d.output);
  const name = d.name ?? executionArn.split(':').pop() ?? executionArn;
  const incident = store ? await store.get(incidentIdOf(name)).catch(() => undefined) : undefined;
  const restart = output?.restart as { changes?: unknown[] } | undefined;
  return {
    executionArn,
    name,
    status: d.status ?? 'UNKNOWN',
    ...(d.startDate ? { startDate: d.startDate.toISOString() } : {}),
    ...(d.stopDate ? { stopDate: d.stopDate.toISOString() } : {}),
    ...(d.startDate ? { seconds: Math.round(((d.stopDate ?? new Date()).getTime() - d.startDate.getTime()) / 1000) } : {}),
    ...(last?.stateEnteredEventDetails?.name ? { currentState: last.stateEnteredEventDetails.name } : {}),
    ...(typeof output?.outcome === 'string' ? { outcome: output.outcome } : {}),
    ...(d.error ? { error: d.error } : {}),
    ...(d.cause ? { cause: d.cause } : {}),
    ...(typeof input?.service === 'string' ? { service: input.service } : {}),
    dryRun: input?.dryRun === true,
    ...(input?.dryRun === true && restart?.changes ? { plannedChanges: restart.changes } : {}),
    consoleUrl: consoleLink(executionArn),
    ...(incident
      ? {
          incident: {
            id: incident.id,
            status: incident.status,
            ...(incident.outcome ? { outcome: incident.outcome } : {}),
            ...(incident.alarmCount ? { alarmCount: incident.alarmCount } : {}),
            ...(incident.timeToMitigateSeconds !== undefined ? { timeToMitigateSeconds: incident.timeToMitigateSeconds } : {}),
            ...(incident.report ? { report: incident.report } : {}),
          },
        }
      : {}),
  };
}

export function renderStatus(s: ExecutionStatus, withReport = false): string {
  const lines = [
    `${s.name}  ${s.status}${s.outcome ? ` — ${s.outcome}` : ''}${s.error ? ` — ${s.error}` : ''}${s.dryRun ? '  (dry run)' : ''}`,
    `  service:  ${s.service ?? '?'}`,
    `  started:  ${s.startDate ?? '?'}${s.stopDate ? `, ended ${s.stopDate}` : ''}${s.seconds !== undefined ? ` (${s.seconds} s)` : ''}`,
    `  ${s.status === 'RUNNING' ? 'now in' : 'last state'}: ${s.currentState ?? '?'}`,
  ];
  if (s.plannedChanges?.length) {
    lines.push('  planned changes (dry run, none made):');
    for (const c of s.plannedChanges as Record<string, unknown>[]) lines.push(`    ${Object.entries(c).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  }
  if (s.cause) lines.push(`  cause:    ${s.cause.slice(0, 300)}`);
  if (s.incident) {
    const i = s.incident;
    lines.push(`  incident: ${i.id} ${i.status}${i.outcome ? `, ${i.outcome}` : ''}${i.alarmCount ? `, ${i.alarmCount} alarm(s)` : ''}${i.timeToMitigateSeconds !== undefined ? `, mitigated in ${i.timeToMitigateSeconds} s` : ''}`);
  }
  lines.push(`  console:  ${s.consoleUrl}`);
  if (withReport && s.incident?.report) lines.push('', s.incident.report);
  return `${lines.join('\n')}\n`;
}

export function renderList(items: ListedExecution[]): string {
  if (items.length === 0) return 'no executions\n';
  const rows = items.map((e) => [
    e.startDate?.toISOString().replace('T', ' ').slice(0, 19) ?? '?',
    e.status ?? '?',
    e.startDate ? `${Math.round(((e.stopDate ?? new Date()).getTime() - e.startDate.getTime()) / 1000)} s` : '',
    e.stateMachineName,
    e.name ?? '?',
  ]);
  const header = ['started (UTC)', 'status', 'took', 'workflow', 'execution'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** What ListExecutions' statusFilter accepts. */
export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const;

export async function listCommand(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values } = parseArgs({ args, options: { ...CONNECTION_OPTIONS, status: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const status = values.status?.toUpperCase();
  if (status !== undefined && !(EXECUTION_STATUSES as readonly string[]).includes(status)) {
    throw new CliUsageError(`--status "${oneLine(values.status!).slice(0, 40)}": use one of ${EXECUTION_STATUSES.join(', ')}`);
  }
  const limit = values.limit === undefined ? 20 : /^\d+$/.test(values.limit.trim()) ? Number(values.limit) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliUsageError(`--limit "${oneLine(values.limit ?? '').slice(0, 40)}": use a whole number from 1 to 1000, e.g. --limit 50`);
  const sfn = sfnClient(clientOptionsFrom(values));
  const items = await listExecutions(sfn, {
    ...(values.prefix ? { prefix: values.prefix } : {}),
    ...(status ? { status } : {}),
    limit,
  });
  out(values.json ? `${JSON.stringify(items, null, 2)}\n` : renderList(items));
  return 0;
}

export async function statusCommand(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, report: { type: 'boolean', default: false }, table: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw new CliUsageError(`unexpected argument "${String(positionals[1]).slice(0, 60)}": status takes one execution (ARN or name)`);
  const clients = clientOptionsFrom(values);
  const sfn = sfnClient(clients);
  let executionArn = positionals[0];
  if (executionArn !== undefined && (executionArn.length === 0 || executionArn.length > 2048)) throw new CliUsageError('the execution must be an execution ARN or name (1-2048 characters)');
  if (!executionArn || !executionArn.startsWith('arn:')) {
    const recent = await listExecutions(sfn, { ...(values.prefix ? { prefix: values.prefix } : {}), limit: 1000 });
    const match = executionArn ? recent.find((e) => e.name === executionArn) : recent[0];
    if (!match?.executionArn) throw new CliUsageError(executionArn ? `no execution named "${executionArn.slice(0, 80)}" among our state machines` : 'no executions yet');
    executionArn = match.executionArn;
  }
  const store = new IncidentStore(documentClient(clients), values.table ?? `${values.prefix ?? 'incident-flows'}-incidents`);
  const status = await executionStatus(sfn, executionArn, store);
  out(values.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status, values.report));
  return status.status === 'FAILED' || status.status === 'TIMED_OUT' || status.status === 'ABORTED' ? 1 : 0;
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const v = text ? (JSON.parse(text) as unknown) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
