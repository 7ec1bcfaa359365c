import type { DrillReport } from './drill.ts';
import { DRILL_FAULTS, type DrillFault } from './drill-scenario.ts';

const VERDICT: Record<string, string> = {
  recovered: 'RECOVERED',
  'no-action': 'NO ACTION NEEDED',
  escalated: 'ESCALATED to people',
  'rejected-input': 'REJECTED the start input',
  failed: 'FAILED',
};

/** The drill as an on-call engineer reads it: a timeline on simulated time, then the verdict. */
export function renderDrill(r: DrillReport): string {
  const lines: string[] = [];
  const about = r.fault in DRILL_FAULTS ? ` — ${DRILL_FAULTS[r.fault as DrillFault].about}` : '';
  lines.push(`P0 drill: ${r.service} in ${r.cluster}, fault "${r.fault}"${about}`);
  lines.push(`CloudWatch alarm ${r.service}-unhealthy-hosts → ALARM → StartExecution ${r.workflow}`);
  lines.push('');
  const width = Math.min(48, Math.max(...r.timeline.map((e) => e.state.length)));
  for (const e of r.timeline) {
    const time = e.at.slice(11, 19);
    const t = `+${e.t}s`.padStart(6);
    const calls = e.calls.length ? `  [${compact(e.calls).join(', ')}]` : '';
    lines.push(`${time} ${t}  ${e.state.padEnd(width)}  ${e.detail}${calls}`);
  }
  lines.push('');
  const verdict = VERDICT[r.outcome] ?? r.outcome.toUpperCase();
  lines.push(
    `Verdict: ${verdict} — execution ${r.status}, ${r.simulatedSeconds} s simulated, ${r.transitions} states, ${r.wallMillis} ms wall.`,
  );
  lines.push(`Desired count: ${r.desiredBefore} before → ${r.desiredAfter} after (${r.runningAfter} running).`);
  if (r.error) lines.push(`${r.error}: ${r.cause ?? ''}`);
  lines.push(r.passed ? `Drill PASSED: "${r.fault}" calls for ${r.expectedOutcome}.` : `Drill FAILED: "${r.fault}" calls for ${r.expectedOutcome}, got ${r.outcome}.`);
  return lines.join('\n');
}

/** ["ecs:DescribeServices", "ecs:DescribeServices"] → ["ecs:DescribeServices ×2"] */
function compact(calls: string[]): string[] {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c));
}
