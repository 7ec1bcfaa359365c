import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { IncidentAction, IncidentApproval, IncidentRecord, IncidentTimelineEntry } from './incidents.ts';

/**
 * The incident's story, read off the execution itself: its history says which steps ran and for
 * how long, the step results (`$.assessment`, `$.investigation`, `$.restart`, …) carry the
 * evidence. Results are recognised by their shape, not by state or function names, so the same
 * code reads AWS histories (generated function names) and the sandbox's.
 */

export interface ExecutionFacts {
  executionArn: string;
  name: string;
  status: string;
  startDate: Date;
  stopDate?: Date;
  input: Record<string, unknown>;
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  /** RedriveExecution: how many times this execution (same ARN) was redriven; 0 or absent when never. */
  redriveCount?: number;
}

export interface ExecutionSummary {
  outcome: string;
  steps: IncidentTimelineEntry[];
  actions: IncidentAction[];
  approvals: IncidentApproval[];
  /** Named durations in seconds. */
  durations: Record<string, number>;
  /** When verification saw the service recovered, if it did. */
  mitigatedAt?: string;
  evidence: Evidence;
}

type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Evidence {
  incident?: R;
  assessment?: R;
  investigation?: { changes?: R; logs?: R };
  restart?: R;
  redeploy?: R;
  verification?: R;
  restoration?: R;
  error?: R;
  /** P2's scheduled fix (handlers/schedule-fix.ts). */
  scheduledFix?: R;
  /** The health check's report (handlers/report-health.ts). */
  report?: R;
}

const TASK_ENDS = new Set(['TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'LambdaFunctionSucceeded', 'LambdaFunctionFailed', 'LambdaFunctionTimedOut']);
const SHOWN = new Set(['Task', 'Wait', 'Fail', 'Succeed']);

export function summariseExecution(facts: ExecutionFacts, history: HistoryEvent[]): ExecutionSummary {
  const steps: IncidentTimelineEntry[] = [];
  const actions: IncidentAction[] = [];
  const approvals: IncidentApproval[] = [];
  const open = new Map<string, { entry: IncidentTimelineEntry; enteredMs: number; callback: boolean }>();
  const byId = new Map(history.map((e) => [e.id, e]));
  const stateOf = (e: HistoryEvent) => {
    let cur: HistoryEvent | undefined = e;
    for (let hops = 0; cur && hops < 12; hops++) {
      if (cur.type?.endsWith('StateEntered')) return open.get(cur.stateEnteredEventDetails?.name ?? '');
      cur = cur.previousEventId !== undefined ? byId.get(cur.previousEventId) : undefined;
    }
    return [...open.values()].filter((o) => o.entry.kind === 'step').at(-1);
  };
  const at = (e: HistoryEvent) => (e.timestamp ?? facts.startDate).getTime();
  let lastState: R | undefined;
  let mitigatedAt: string | undefined;
  let waitedForApproval = 0;

  for (const e of history) {
    const type = e.type ?? '';
    if (type.endsWith('StateEntered')) {
      const name = e.stateEnteredEventDetails?.name ?? '?';
      const stateType = type.replace('StateEntered', '');
      const parsed = parseObject(e.stateEnteredEventDetails?.input);
      if (parsed && 'incident' in parsed) lastState = parsed;
      if (!SHOWN.has(stateType)) continue;
      const entry: IncidentTimelineEntry = { at: new Date(at(e)).toISOString(), kind: 'step', state: name, what: stateType === 'Wait' ? 'waiting' : '' };
      steps.push(entry);
      open.set(name, { entry, enteredMs: at(e), callback: false });
    } else if (type === 'TaskSubmitted') {
      const s = stateOf(e);
      if (s) s.callback = true;
    } else if (TASK_ENDS.has(type)) {
      const s = stateOf(e);
      if (!s) continue;
      if (type.endsWith('Succeeded')) {
        const result = parseObject((e.taskSucceededEventDetails ?? e.lambdaFunctionSucceededEventDetails)?.output) ?? {};
        s.entry.what = describeStepResult(result);
        const action = actionOf(result, new Date(at(e)).toISOString());
        if (action) actions.push(action);
        if (result.recovered === true && typeof result.checkedAt === 'string') mitigatedAt ??= result.checkedAt;
        if (isApprovalStep(s)) {
          const waited = Math.round((at(e) - s.enteredMs) / 1000);
          waitedForApproval += waited;
          approvals.push({ at: new Date(at(e)).toISOString(), state: s.entry.state ?? '?', decision: decisionOf(result), ...(whoOf(result) ? { by: whoOf(result) } : {}), waitedSeconds: waited });
        }
      } else {
        const d = e.taskFailedEventDetails ?? e.taskTimedOutEventDetails ?? e.lambdaFunctionFailedEventDetails ?? e.lambdaFunctionTimedOutEventDetails;
        s.entry.what = join(s.entry.what, failureText(s.entry.state, d?.error, d?.cause));
        if (isApprovalStep(s)) {
          approvals.push({ at: new Date(at(e)).toISOString(), state: s.entry.state ?? '?', decision: d?.error ?? 'rejected', waitedSeconds: Math.round((at(e) - s.enteredMs) / 1000) });
        }
      }
    } else if (type.endsWith('StateExited')) {
      const name = e.stateExitedEventDetails?.name ?? '?';
      const s = open.get(name);
      const parsed = parseObject(e.stateExitedEventDetails?.output);
      if (parsed && 'incident' in parsed) lastState = parsed;
      if (!s) continue;
      s.entry.seconds = Math.round((at(e) - s.enteredMs) / 1000);
      if (s.entry.what === 'waiting') s.entry.what = `waited ${s.entry.seconds} s`;
      open.delete(name);
    } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      const d = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
      steps.push({ at: new Date(at(e)).toISOString(), kind: 'step', state: type.replace('Execution', 'Execution '), what: `${d?.error ?? ''} ${shortCause(d?.cause) ?? ''}`.trim() });
    }
  }
  for (const s of steps) if (s.state && !s.what) s.what = s.state.startsWith('Escalate') ? 'handed to people' : 'done';

  const evidence = (facts.output ?? lastState ?? {}) as Evidence;
  const stop = facts.stopDate?.getTime() ?? facts.startDate.getTime();
  const durations: Record<string, number> = { execution: Math.round((stop - facts.startDate.getTime()) / 1000) };
  const restartAt = typeof evidence.restart?.startedAt === 'string' ? Date.parse(evidence.restart.startedAt) : undefined;
  if (restartAt !== undefined) durations.untilRestart = Math.round((restartAt - facts.startDate.getTime()) / 1000);
  if (restartAt !== undefined && mitigatedAt) durations.restartToRecovered = Math.round((Date.parse(mitigatedAt) - restartAt) / 1000);
  if (approvals.length) durations.waitingForApproval = waitedForApproval;
  return { outcome: outcomeOf(facts), steps, actions, approvals, durations, ...(mitigatedAt ? { mitigatedAt } : {}), evidence };
}

export function outcomeOf(facts: Pick<ExecutionFacts, 'status' | 'output' | 'error'>): string {
  switch (facts.status) {
    case 'SUCCEEDED':
      return typeof facts.output?.outcome === 'string' ? facts.output.outcome : 'succeeded';
    case 'FAILED':
      if (facts.error === 'DeploymentRolledBack') return 'rolled-back';
      return facts.error === 'IncidentEscalated' ? 'escalated' : `failed${facts.error ? ` (${facts.error})` : ''}`;
    case 'TIMED_OUT':
      return 'timed-out';
    case 'ABORTED':
      return 'aborted';
    default:
      return facts.status.toLowerCase();
  }
}

/** The waits until a change is stable are callback steps too, but nobody is asked anything. */
export function isStabilityWait(state: string | undefined): boolean {
  return state !== undefined && /^Wait until .+ is stable$/.test(state);
}

function isApprovalStep(s: { callback?: boolean; entry: { state?: string } }): boolean {
  return !isStabilityWait(s.entry.state) && (s.callback === true || /approv/i.test(s.entry.state ?? ''));
}

/** How a failed step reads; a stability wait's timeout is its safety-net poll, not a failure. */
export function failureText(state: string | undefined, error: string | undefined, cause: string | undefined): string {
  if (isStabilityWait(state) && error === 'States.Timeout') return 'no ECS event yet: looking again';
  return `failed: ${error ?? 'error'}${shortCause(cause) ? ` — ${shortCause(cause)}` : ''}`;
}

/**
 * One line per step result, in the runbook's words. Recognised by shape, because on AWS the
 * history names functions by their deployed names, not by handler. The drill's timeline uses it too.
 */
export function describeStepResult(out: R): string {
  const deployLine = describeDeploymentStep(out);
  if (deployLine !== undefined) return deployLine;
  if (out.assessment) return `${out.assessment.verdict}: ${(out.assessment.reasons as string[] | undefined)?.join('; ') ?? ''}`;
  if (Array.isArray(out.changes) && 'since' in out) return `${out.changes.length} change(s) since ${String(out.since).slice(11, 16)}${out.suspect ? `; newest: ${out.suspect}` : ''}`;
  if ('pattern' in out && Array.isArray(out.top)) {
    if (out.available === false) return String(out.note ?? 'log group unavailable');
    const top = out.top[0] as R | undefined;
    return `${out.count} ${out.pattern} line(s)${top ? `; most frequent ×${top.count}: ${String(top.example).slice(0, 90)}` : ''}`;
  }
  if ('scaledTo' in out && 'via' in out) {
    const how = out.via === 'autoscaling-minimum' ? `autoscaling minimum ${out.scaledFrom} → ${out.scaledTo}` : `desired ${out.scaledFrom} → ${out.scaledTo}`;
    return `${out.dryRun ? 'DRY RUN, would scale out: ' : 'scaled out: '}${how}${Array.isArray(out.changes) && out.changes.length === 0 && !out.dryRun ? ' (already there)' : ''}`;
  }
  if ('expired' in out && 'secondsLeft' in out && Array.isArray(out.reasons)) return (out.reasons as unknown[]).map(String).join('; ');
  if ('escalated' in out && typeof out.why === 'string') return out.why;
  if ('desiredBefore' in out && 'mode' in out) {
    const how =
      out.phase === 'scale-in'
        ? `desired ${out.desiredBefore} → 0, back to ${out.desiredBefore} once every task has stopped`
        : out.phase === 'scale-out'
          ? `desired 0 → ${out.desiredBefore}`
          : 'force a new deployment';
    const wait = out.wait && typeof out.wait.stallSeconds === 'number' && !out.dryRun ? `; waits up to ${out.wait.stallSeconds} s without progress` : '';
    const recorded = out.phase === 'scale-out' ? '' : ` (desired count ${out.desiredBefore} recorded first)`;
    return `${out.dryRun ? 'DRY RUN, would ' : ''}${how}${recorded}${wait}`;
  }
  if ('verdict' in out && 'noticedBy' in out) {
    const healthy = typeof out.healthyCount === 'number' ? `, ${out.healthyCount} healthy` : '';
    const targets = out.targets ? `, ${out.targets.healthy}/${out.targets.total} targets healthy` : '';
    const counts = `${out.runningCount}/${out.desiredCount} running${healthy}${targets}, ${out.deployments} deployment(s)`;
    const how = out.noticedBy === 'event' ? `ECS event ${out.event}` : 'poll';
    if (out.stable) return `${counts} — STABLE after ${out.elapsedSeconds} s (noticed by ${how})`;
    return `${counts} — GAVE UP after ${out.elapsedSeconds} s (${out.verdict}): ${out.reason}`;
  }
  if ('recovered' in out && Array.isArray(out.reasons)) return `${out.recovered ? 'recovered' : 'NOT recovered'}: ${out.reasons.join('; ')}`;
  if ('restored' in out) return out.restored ? `desired count restored ${out.from} → ${out.to}` : `desired count already ${out.from}: nothing to restore`;
  if ('approved' in out || 'decision' in out) return `${decisionOf(out)}${whoOf(out) ? ` by ${whoOf(out)}` : ''}`;
  // P2 (handlers/schedule-fix.ts) and the health check (handlers/plan-health-check.ts, check-*.ts, report-health.ts).
  if (out.window && 'incidentId' in out && 'recorded' in out) return `fix scheduled for the maintenance window ${out.window.label}${out.posted ? '; summary posted to Slack' : ''}`;
  if (out.plan && out.request) return `checking ${out.plan.services?.length ?? 0} service(s), ${out.plan.functions?.length ?? 0} function(s), ${out.plan.tables?.length ?? 0} table(s) and the metrics of the last ${out.plan.lookbackMinutes} min`;
  if (Array.isArray(out.lines) && 'toRaise' in out) return `${out.failing ? `${out.failing} of ${out.lines.length} checks FAILING` : `all ${out.lines.length} checks pass`}${out.posted ? '; report posted to Slack' : ''}`;
  if (Array.isArray(out.lines) && 'checkedAt' in out) return (out.lines as R[]).map((l) => `${l.ok ? '✅' : '❌'} ${l.component}: ${l.figure}`).join('; ');
  if (Array.isArray(out.incidents)) return (out.incidents as R[]).map((i) => `${i.service} ${i.severity}: ${i.outcome}${i.incidentId ? ` (${i.incidentId})` : ''}`).join('; ') || 'none';
  return 'done';
}

/** The deploy and rollback steps (handlers/prepare-deploy.ts … watch-alarms.ts), and the nested rollback's answer. */
function describeDeploymentStep(out: R): string | undefined {
  const rev = (arn: unknown) => (typeof arn === 'string' ? arn.slice(arn.lastIndexOf('/') + 1) : '?');
  if (out.deployment && 'noChange' in out) {
    const d = out.deployment as R;
    if (out.noChange) return `already runs ${rev(d.to?.taskDefinition)}: nothing to do`;
    const to = `${rev(d.to?.taskDefinition)}${d.to?.image ? ` (${String(d.to.image).slice(String(d.to.image).lastIndexOf('/') + 1)})` : ''}`;
    const plan = `${d.dryRun ? 'DRY RUN, would go ' : ''}${rev(d.from?.taskDefinition)} → ${to}${typeof d.to?.desiredCount === 'number' ? `, ${d.to.desiredCount} tasks` : ''}`;
    return d.kind === 'rollback' ? `${plan}: ${String(d.why ?? '')}` : `${plan}${d.registered ? ' (registered; backup written)' : ' (backup written)'}`;
  }
  if ('taskDefinition' in out && out.goal === 'serving' && Array.isArray(out.changes)) {
    return `UpdateService → ${rev(out.taskDefinition)}${(out.changes as R[])[0]?.desiredCount !== undefined ? `, desired ${(out.changes as R[])[0]!.desiredCount}` : ''}`;
  }
  if ('verified' in out && Array.isArray(out.reasons)) return `${out.verified ? 'verified' : 'NOT verified'}: ${(out.reasons as unknown[]).map(String).join('; ')}`;
  if ('quiet' in out && Array.isArray(out.watched)) {
    if (!out.quiet) return `FIRING: ${(out.firing as R[]).map((f) => `${f.alarm} (${String(f.reason).slice(0, 120)})`).join('; ')}`;
    return `${out.watched.length} alarm(s) OK${out.done ? ': baked' : `, baking until ${String(out.until).slice(11, 16)}`}`;
  }
  if ((out.fix === 'rollback' || out.fix === 'restart') && Array.isArray(out.reasons)) return `${String(out.fix).toUpperCase()}: ${(out.reasons as unknown[]).map(String).join('; ')}`;
  if ('discarded' in out && typeof out.why === 'string') return out.discarded ? `deregistered ${rev(out.discarded)}: ${out.why}` : out.why;
  if (typeof out.ExecutionArn === 'string' && typeof out.Status === 'string') {
    const outcome = (out.Output as R | undefined)?.outcome;
    return `rollback execution ${String(out.Name ?? '')} ${out.Status}${outcome ? `: ${String(outcome)}` : ''}`;
  }
  return undefined;
}

function actionOf(out: R, at: string): IncidentAction | undefined {
  if ('taskDefinition' in out && out.goal === 'serving' && Array.isArray(out.changes)) {
    return { at, what: describeStepResult(out), planned: false, changes: out.changes };
  }
  if ('desiredBefore' in out && Array.isArray(out.changes)) {
    return { at, what: describeStepResult(out), planned: out.dryRun === true, changes: out.changes };
  }
  if ('restored' in out && out.restored === true) {
    return { at, what: describeStepResult(out), planned: out.dryRun === true, changes: [{ call: 'UpdateService', desiredCount: out.to }] };
  }
  return undefined;
}

function decisionOf(out: R): string {
  if (typeof out.decision === 'string') return out.decision;
  if (out.approved === true) return 'approved';
  if (out.approved === false) return 'rejected';
  return 'answered';
}

/** Who decided: approval outputs carry `{id, name, via}`; older shapes a plain string. */
function whoOf(out: R): string | undefined {
  const by = out.by ?? out.approvedBy ?? out.user;
  if (typeof by === 'string') return by;
  if (by && typeof by === 'object') {
    const name = typeof by.name === 'string' ? by.name : typeof by.id === 'string' ? by.id : undefined;
    return name && typeof by.via === 'string' ? `${name} (${by.via})` : name;
  }
  return undefined;
}

/** A JSON object from a history event's input, output or cause; undefined for anything else. */
export function parseObject(text: string | undefined): R | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as R) : undefined;
  } catch {
    return undefined;
  }
}

/** The handler's message out of Step Functions' {"errorType","errorMessage"} cause. */
export function shortCause(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  const parsed = parseObject(cause);
  return (typeof parsed?.errorMessage === 'string' ? parsed.errorMessage : cause).slice(0, 300);
}

function join(a: string, b: string): string {
  return a ? `${a}; ${b}` : b;
}

// ------------------------------------------------------------------ the Markdown report

export function consoleLink(executionArn: string): string {
  const region = executionArn.split(':')[3] ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

export interface ReportInput {
  incident: Pick<IncidentRecord, 'id' | 'service' | 'severity' | 'trigger' | 'openedAt' | 'timeline'> &
    Partial<Pick<IncidentRecord, 'cluster' | 'alarmCount' | 'requireApproval' | 'budget' | 'closedAt' | 'timeToMitigateSeconds'>>;
  execution: ExecutionFacts;
  summary: ExecutionSummary;
}

/** A deploy or rollback execution (state machine `<prefix>-deploy` / `<prefix>-rollback`): a change, not an incident. */
export function changeKindOf(executionArn: string): 'deploy' | 'rollback' | undefined {
  const machine = executionArn.split(':')[6] ?? '';
  return machine.endsWith('-deploy') ? 'deploy' : machine.endsWith('-rollback') ? 'rollback' : undefined;
}

/** The post-incident report: summary, timeline, changes found, errors seen, actions, approvals, durations. */
export function renderReport({ incident, execution, summary }: ReportInput): string {
  const ev = summary.evidence;
  const cluster = incident.cluster ?? (ev.incident?.cluster as string | undefined);
  const trigger =
    incident.trigger.kind === 'alarm' ? `CloudWatch alarm \`${incident.trigger.alarmName ?? '?'}\`` : `${incident.trigger.kind} start${incident.trigger.by ? ` by ${incident.trigger.by}` : ''}`;
  const lines: string[] = [];
  const change = changeKindOf(execution.executionArn);
  lines.push(change ? `# ${change === 'deploy' ? 'Deployment' : 'Rollback'} ${incident.id}: ${incident.service} — ${summary.outcome.toUpperCase()}` : `# Incident ${incident.id}: ${incident.service} (${incident.severity}) — ${summary.outcome.toUpperCase()}`, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| Service | ${incident.service}${cluster ? ` in ${cluster}` : ''} |`);
  if (!change) lines.push(`| Severity | ${incident.severity} |`);
  lines.push(`| Trigger | ${trigger} |`);
  lines.push(`| Outcome | **${summary.outcome}** (execution ${execution.status}${execution.error ? `, ${execution.error}` : ''}) |`);
  lines.push(`| Opened | ${incident.openedAt} |`);
  lines.push(`| Closed | ${incident.closedAt ?? execution.stopDate?.toISOString() ?? '—'} |`);
  if (!change) lines.push(`| Time to mitigate | ${incident.timeToMitigateSeconds !== undefined ? seconds(incident.timeToMitigateSeconds) : 'not mitigated by automation'} |`);
  if (incident.alarmCount) lines.push(`| Alarms | ${incident.alarmCount} |`);
  if (incident.requireApproval) lines.push(`| Approval | required: remediation budget spent (${incident.budget?.used ?? '?'} of ${incident.budget?.limit ?? '?'} in ${seconds(incident.budget?.windowSeconds ?? 3600)}) |`);
  lines.push(`| Execution | [${execution.name}](${consoleLink(execution.executionArn)}) |`, '');

  lines.push('## Timeline', '', '| time | +s | what | took |', '|---|---|---|---|');
  const origin = Date.parse(incident.openedAt);
  // The incident's timeline holds the alarms and, once recorded, every execution's steps.
  for (const row of groupAlarms(incident.timeline)) {
    const t = Math.round((Date.parse(row.at) - origin) / 1000);
    lines.push(`| ${row.at.slice(11, 19)} | ${t >= 0 ? '+' : ''}${t} | ${cell(row.state ? `**${row.state}**: ${row.what}` : row.what)} | ${row.seconds !== undefined ? seconds(row.seconds) : ''} |`);
  }

  lines.push('', '## Changes found', '');
  const changes = (ev.investigation?.changes?.changes as R[] | undefined) ?? [];
  if (ev.investigation?.changes?.unavailable) lines.push(`Unavailable: ${cell(String(ev.investigation.changes.cause ?? ev.investigation.changes.error ?? ''))}`);
  else if (changes.length === 0) lines.push(ev.investigation?.changes ? 'No recent changes in CloudTrail.' : 'Not investigated.');
  for (const c of changes.slice(0, 10)) lines.push(`- ${String(c.at).slice(0, 19)} ${c.eventName} by ${c.by}: ${cell(String(c.summary ?? ''))}`);
  // What the evidence cannot show: CloudTrail's delivery delay, a lookup stopped at its budget.
  for (const note of (ev.investigation?.changes?.notes as string[] | undefined) ?? []) lines.push(`- _${cell(note)}_`);

  lines.push('', '## Errors seen', '');
  const logs = ev.investigation?.logs;
  if (!logs) lines.push('Not reviewed.');
  else if (logs.unavailable || logs.available === false) lines.push(`Unavailable: ${cell(String(logs.note ?? logs.cause ?? ''))}`);
  else {
    lines.push(`${logs.count} ${logs.pattern} line(s) in \`${logs.logGroup}\`${logs.firstAt ? ` between ${String(logs.firstAt).slice(11, 19)} and ${String(logs.lastAt).slice(11, 19)}` : ''}.`);
    for (const top of ((logs.top as R[] | undefined) ?? []).slice(0, 5)) lines.push(`- ×${top.count}: \`${cell(String(top.example).slice(0, 160))}\``);
    if (logs.truncated && logs.note) lines.push(`- _${cell(String(logs.note))}_`);
  }

  // P2: the fix scheduled for the maintenance window; the health check: its report, line by line.
  if (ev.scheduledFix) lines.push('', '## Scheduled fix', '', `For the maintenance window ${cell(String(ev.scheduledFix.window?.label ?? '?'))}, recorded on incident ${cell(String(ev.scheduledFix.incidentId ?? '?'))}.`);
  if (Array.isArray(ev.report?.lines)) {
    lines.push('', '## Health check', '');
    for (const l of ev.report.lines as R[]) lines.push(`- ${l.ok ? '✅' : '❌'} ${cell(String(l.component))}: ${cell(String(l.figure))}`);
  }

  lines.push('', '## Actions', '');
  if (summary.actions.length === 0) lines.push('None: nothing was changed.');
  for (const a of summary.actions) {
    lines.push(`- ${a.at.slice(11, 19)} ${a.planned ? '(planned, dry run — not applied) ' : ''}${cell(a.what)}`);
    for (const c of a.changes as R[]) lines.push(`  - \`${Object.entries(c).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\``);
  }

  lines.push('', '## Approvals', '');
  if (summary.approvals.length === 0) lines.push(incident.requireApproval ? 'Required, none recorded.' : 'None requested.');
  for (const a of summary.approvals) lines.push(`- ${a.at.slice(11, 19)} ${a.state}: **${a.decision}**${a.by ? ` by ${a.by}` : ''} after ${seconds(a.waitedSeconds ?? 0)}`);

  lines.push('', '## Durations', '');
  const labels: Record<string, string> = {
    execution: 'Execution, start to end',
    untilRestart: 'Start to restart',
    restartToRecovered: 'Restart to verified recovery',
    waitingForApproval: 'Waiting for approval',
  };
  if (incident.timeToMitigateSeconds !== undefined) lines.push(`- Alarm to mitigation: ${seconds(incident.timeToMitigateSeconds)}`);
  for (const [k, v] of Object.entries(summary.durations)) lines.push(`- ${labels[k] ?? k}: ${seconds(v)}`);
  const slowest = summary.steps.filter((s) => s.seconds !== undefined).sort((a, b) => (b.seconds ?? 0) - (a.seconds ?? 0)).slice(0, 3);
  if (slowest.length) lines.push(`- Longest steps: ${slowest.map((s) => `${s.state} ${seconds(s.seconds ?? 0)}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Consecutive alarm entries of the same alarm collapse into one row; the record keeps each one. */
function groupAlarms(entries: IncidentTimelineEntry[]): IncidentTimelineEntry[] {
  const sorted = [...entries].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const out: IncidentTimelineEntry[] = [];
  let run: { first: IncidentTimelineEntry; last: IncidentTimelineEntry; count: number } | undefined;
  const flush = () => {
    if (!run) return;
    out.push(
      run.count === 1
        ? run.first
        : { ...run.first, what: `${run.first.alarmName} → ALARM ×${run.count} (${run.first.at.slice(11, 19)}–${run.last.at.slice(11, 19)})${run.first.kind === 'alarm-after-close' ? ', after close' : ''}` },
    );
    run = undefined;
  };
  for (const e of sorted) {
    const isAlarm = e.kind === 'alarm' || e.kind === 'alarm-after-close';
    if (isAlarm && run && run.first.alarmName === e.alarmName && run.first.kind === e.kind) {
      run.last = e;
      run.count += 1;
      continue;
    }
    flush();
    if (isAlarm) run = { first: e, last: e, count: 1 };
    else out.push(e);
  }
  flush();
  return out;
}

function seconds(s: number): string {
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

// ------------------------------------------------------------------ where the report goes

/** Posts the report where people read it (Slack). A fake in tests and the sandbox. */
export interface ReportPoster {
  post(message: { incidentId: string; service: string; outcome: string; text: string; markdown: string }): Promise<void>;
}

/** The first line people see in the channel. */
export function headline(incident: Pick<IncidentRecord, 'id' | 'service' | 'severity'>, outcome: string, mitigated: number | undefined, change?: 'deploy' | 'rollback'): string {
  const calm = ['recovered', 'no-action', 'dry-run', 'healthy', 'scheduled-fix', 'deployed', 'already-deployed'];
  // A deploy rolled back left the service as it was: worth a look, not an alarm bell.
  const icon = calm.includes(outcome) || (change === 'rollback' && outcome === 'rolled-back') ? ':white_check_mark:' : change && outcome === 'rolled-back' ? ':warning:' : ':rotating_light:';
  return `${icon} ${change ?? incident.severity} ${incident.service}: ${outcome}${mitigated !== undefined ? ` in ${seconds(mitigated)}` : ''} (incident ${incident.id})`;
}
