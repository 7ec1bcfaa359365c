import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { fullHistory } from '#commons/execution-history';
import type { Sandbox } from '../sandbox/index.ts';
import { ScenarioError, type Scenario } from '../sandbox/scenario.ts';
import { eventBridgeOf } from '../sandbox/eventbridge.ts';
import type { DrillReport } from './drill.ts';
import { buildTimeline } from './timeline.ts';

/**
 * The `--json` report of the P2 and health-check drills: `drill p0`'s report (cli/drill.ts) with
 * these workflows' own outcomes (scheduled-fix, healthy, unhealthy, …), nobody asked (approvals
 * empty), and what the fake Slack received; each drill adds what its workflow produces. `alarmName`
 * is "" when the workflow was started directly (the schedule's way).
 */
export interface ChecksDrillReport extends Omit<DrillReport, 'outcome' | 'expectedOutcome' | 'approval' | 'approvals'> {
  outcome: string;
  expectedOutcome: string;
  approvals: [];
  /** What the fake Slack received while the drill ran (top-level texts). */
  slack: string[];
}

export interface DrillRunState {
  sandbox: Sandbox;
  wallStart: number;
  started: number;
  service: string;
  desiredBefore: number;
}

/** Reads the finished execution, its history and what Slack and the incident record got. */
export async function readExecution(run: DrillRunState, executionArn: string) {
  const { sandbox } = run;
  const sfn = new SFNClient(sandbox.clientOptions());
  await sandbox.sfn.wait(executionArn);
  // EventBridge delivers the end to record-incident (and any execution the workflow opened runs to its end).
  await eventBridgeOf(sandbox).drain();
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const history = await fullHistory(sfn, executionArn);
  const output = execution.output ? (JSON.parse(execution.output) as Record<string, unknown>) : {};
  const after = sandbox.fleet.snapshot(run.service);
  const name = executionArn.split(':').pop() ?? '';
  const post = eventBridgeOf(sandbox).posts.find((p) => p.incidentId === name || p.incidentId === name.replace(/--p[0-2]$/, ''));
  const { slackOf } = await import('../sandbox/slack.ts');
  return {
    execution,
    output,
    common: {
      executionArn,
      status: execution.status ?? 'UNKNOWN',
      ...(execution.error ? { error: execution.error } : {}),
      ...(execution.cause ? { cause: execution.cause } : {}),
      transitions: history.filter((e) => e.type?.endsWith('StateEntered')).length,
      simulatedSeconds: Math.round(((execution.stopDate?.getTime() ?? sandbox.clock.nowMs()) - run.started) / 1000),
      wallMillis: Math.round(performance.now() - run.wallStart),
      desiredBefore: run.desiredBefore,
      desiredAfter: after?.desiredCount ?? 0,
      runningAfter: after?.runningCount ?? 0,
      timeline: buildTimeline(history, sandbox.invocations, run.started),
      mutatingCalls: sandbox.trail.mutatingEvents().length,
      approvals: [] as [],
      ...(post ? { incidentId: post.incidentId, report: post.markdown } : {}),
      slack: slackOf(sandbox).messages.map((m) => m.text),
    },
  };
}

/** The drill as an on-call engineer reads it: the timeline on simulated time, then the verdict. */
export function renderChecksDrill(r: ChecksDrillReport, header: string[], extra: string[]): string {
  const lines = [...header, ''];
  const width = Math.min(48, Math.max(0, ...r.timeline.map((e) => e.state.length)));
  for (const e of r.timeline) {
    const calls = e.calls.length ? `  [${[...new Set(e.calls)].join(', ')}]` : '';
    lines.push(`${e.at.slice(11, 19)} ${`+${e.t}s`.padStart(7)}  ${e.state.padEnd(width)}  ${e.detail}${calls}`);
  }
  lines.push('', ...extra, '');
  lines.push(`Verdict: ${r.outcome.toUpperCase()} — execution ${r.status}, ${r.simulatedSeconds} s simulated, ${r.transitions} states, ${r.wallMillis} ms wall.`);
  lines.push(`Desired count: ${r.desiredBefore} before → ${r.desiredAfter} after (${r.runningAfter} running); ${r.mutatingCalls} ECS change(s) while the drill ran.`);
  if (r.error) lines.push(`${r.error}: ${r.cause ?? ''}`);
  if (r.incidentId) lines.push(`Execution end recorded as ${r.incidentId}; its report posted to Slack (in --json as "report").`);
  lines.push(r.passed ? `Drill PASSED: "${r.fault}" calls for ${r.expectedOutcome}.` : `Drill FAILED: "${r.fault}" calls for ${r.expectedOutcome}, got ${r.outcome}.`);
  return lines.join('\n');
}

/** `--service`: a name of the scenario's, with or without its project prefix ("orbit" → "acme-orbit"); the axon service by default. */
export function drillServiceOf(scenario: Scenario, wanted: string | undefined): string {
  const names = scenario.services.map((s) => s.name);
  if (wanted === undefined) return names.find((n) => n.endsWith('-axon')) ?? names[0]!;
  if (names.includes(wanted)) return wanted;
  if (names.includes(`${scenario.project}-${wanted}`)) return `${scenario.project}-${wanted}`;
  throw new ScenarioError(`--service "${wanted}" is not in the scenario (services: ${names.join(', ')})`);
}
