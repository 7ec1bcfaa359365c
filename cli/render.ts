import { firstRemediatingCallLine } from './drill.ts';
import type { DrillReport } from './drill.ts';
import { TIER_LABEL, TIERS } from '#commons/approvals';
import { DRILL_APPROVALS, DRILL_FAULTS, P1_DRILL_FAULTS } from './drill-scenario.ts';

const VERDICT: Record<string, string> = {
  recovered: 'RECOVERED',
  'no-action': 'NO ACTION NEEDED',
  escalated: 'ESCALATED to people',
  'escalated-to-p0': 'ESCALATED to P0 — the same incident, now System Down',
  rejected: 'REJECTED by a person — nothing was changed',
  'rejected-input': 'REJECTED the start input',
  failed: 'FAILED',
};

/** The drill as an on-call engineer reads it: a timeline on simulated time, then the verdict. */
export function renderDrill(r: DrillReport): string {
  const lines: string[] = [];
  const faults: Record<string, { about: string }> = r.workflow === 'p1-degraded' ? P1_DRILL_FAULTS : DRILL_FAULTS;
  const about = Object.hasOwn(faults, r.fault) ? ` — ${faults[r.fault]!.about}` : '';
  lines.push(`${r.workflow === 'p1-degraded' ? 'P1' : 'P0'} drill: ${r.service} in ${r.cluster}, fault "${r.fault}"${about}`);
  lines.push(`CloudWatch alarm ${r.alarmName} → ALARM → EventBridge → start-incident → StartExecution ${r.workflow}`);
  if (r.approval) lines.push(`Remediation budget spent: the restart needs a person — ${DRILL_APPROVALS[r.approval].about}`);
  lines.push('');
  const width = Math.min(48, Math.max(...r.timeline.map((e) => e.state.length)));
  for (const e of r.timeline) {
    const detail = approvalDetail(e.state, r) ?? e.detail;
    const time = e.at.slice(11, 19);
    const t = `+${e.t}s`.padStart(7);
    const calls = e.calls.length ? `  [${compact(e.calls).join(', ')}]` : '';
    lines.push(`${time} ${t}  ${e.state.padEnd(width)}  ${detail}${calls}`);
  }
  if (r.approvals.length > 0) {
    lines.push('');
    lines.push('Approvals:');
    for (const a of r.approvals) {
      const who = a.by ? ` by ${a.by}` : '';
      lines.push(`  ${a.at.slice(11, 19)}  ${a.tier.padEnd(9)}  ${a.decision}${who}`);
    }
  }
  lines.push('');
  const verdict = VERDICT[r.outcome] ?? r.outcome.toUpperCase();
  lines.push(
    `Verdict: ${verdict} — execution ${r.status}, ${r.simulatedSeconds} s simulated, ${r.transitions} states, ${r.wallMillis} ms wall.`,
  );
  lines.push(`Desired count: ${r.desiredBefore} before → ${r.desiredAfter} after (${r.runningAfter} running).`);
  lines.push(firstRemediatingCallLine(r));
  if (r.error) lines.push(`${r.error}: ${r.cause ?? ''}`);
  if (r.incidentId) lines.push(`Incident ${r.incidentId} recorded; post-incident report posted to Slack (${r.report?.split('\n').length ?? 0} lines, in --json as "report").`);
  lines.push(r.passed ? `Drill PASSED: "${r.fault}" calls for ${r.expectedOutcome}.` : `Drill FAILED: "${r.fault}" calls for ${r.expectedOutcome}, got ${r.outcome}.`);
  return lines.join('\n');
}

/** ["ecs:DescribeServices", "ecs:DescribeServices"] → ["ecs:DescribeServices ×2"] */
function compact(calls: string[]): string[] {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c));
}

/** "Ask the team lead to approve the restart" → what that tier did, from the approvals table. */
function approvalDetail(state: string, r: DrillReport): string | undefined {
  if (!state.startsWith('Ask the ')) return undefined;
  const tier = TIERS.find((t) => state.startsWith(`Ask the ${TIER_LABEL[t]} `));
  const a = r.approvals.find((x) => x.tier === tier);
  if (!a) return undefined;
  if (a.decision === 'unanswered') return `asked in Slack; no answer by ${a.at.slice(11, 16)}`;
  return `asked in Slack; ${a.decision} by ${a.by ?? '?'} at ${a.at.slice(11, 19)}`;
}
