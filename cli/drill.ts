import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { fullHistory } from '#commons/execution-history';
import { listApprovals } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import { Sandbox } from '../sandbox/index.ts';
import { eventBridgeOf, fireAlarm } from '../sandbox/eventbridge.ts';
import { playHuman, slackOf, SLACK_USERS, type Click } from '../sandbox/slack.ts';
import type { DrillApproval, DrillPlan, Outcome } from './drill-scenario.ts';
import { buildTimeline, type TimelineEntry } from './timeline.ts';

export interface DrillReport {
  workflow: string;
  service: string;
  cluster: string;
  fault: string;
  executionArn: string;
  /** The execution's status as Step Functions reports it. */
  status: string;
  outcome: Outcome;
  expectedOutcome: Outcome;
  passed: boolean;
  error?: string;
  cause?: string;
  transitions: number;
  simulatedSeconds: number;
  wallMillis: number;
  desiredBefore: number;
  desiredAfter: number;
  runningAfter: number;
  /** Virtual seconds from the restart to the simulator's own steady state, when it got there. */
  simulatorStableAfterSeconds?: number;
  timeline: TimelineEntry[];
  mutatingCalls: number;
  /** Who answered the approval requests (--approval), when the drill asked for one. */
  approval?: DrillApproval;
  /** Every approval request of the execution, oldest first: empty when nobody was asked. */
  approvals: DrillApprovalRecord[];
  /** The CloudWatch alarm the drill set off. */
  alarmName: string;
  /** The incident record written when the execution ended, and its post-incident report (Markdown). */
  incidentId?: string;
  report?: string;
}

export interface DrillApprovalRecord {
  tier: string;
  decision: 'approved' | 'rejected' | 'unanswered';
  /** Who decided (Slack user name, or the CLI's AWS identity); null when nobody answered. */
  by: string | null;
  /** When it was decided, or when the tier's time ran out. */
  at: string;
}

const APPROVALS_TABLE = 'incident-flows-approvals';

/** The people the drill plays: who clicks what on the n-th approval request (0 = on-call's). */
function peopleFor(approval: DrillApproval): (index: number) => Omit<Click, 'approvalId'> | undefined {
  switch (approval) {
    case 'approve':
      return (i) => (i === 0 ? { action: 'approve', user: SLACK_USERS.onCall } : undefined);
    case 'reject':
      return (i) => (i === 0 ? { action: 'reject', user: SLACK_USERS.onCall } : undefined);
    case 'late':
      return (i) => (i === 1 ? { action: 'approve', user: SLACK_USERS.teamLead } : undefined);
    case 'none':
      return () => undefined;
  }
}

const WORKFLOW = 'p0-system-down';

/** The alarm a team would set on the service; the trigger routes `<service>-*` alarms to it. */
export const alarmNameFor = (service: string) => `${service}-unhealthy-hosts`;

/** Runs one P0 drill on a fresh sandbox: the fault plays out, the alarm fires, the workflow runs. */
export async function runDrill(plan: DrillPlan): Promise<DrillReport> {
  const wallStart = performance.now();
  // --approval drills run as if the remediation budget were spent: the trigger then requires approval.
  const sandbox = await Sandbox.start(plan.scenario, plan.approval ? { incidents: { budget: { maxAutomatic: 0, windowSeconds: 3600 } } } : {});
  try {
    sandbox.playOut();
    const desiredBefore = sandbox.fleet.snapshot(plan.service)?.desiredCount ?? 0;
    const sfn = new SFNClient(sandbox.clientOptions());
    const dynamo = documentClient(sandbox.clientOptions());
    const human = plan.approval ? playHuman(sandbox, { dynamo, table: APPROVALS_TABLE }, peopleFor(plan.approval)) : undefined;
    const started = sandbox.clock.nowMs();
    // The alarm goes into ALARM and EventBridge hands it to start-incident: the path AWS takes.
    const alarmName = alarmNameFor(plan.service);
    const executionArn = await fireAlarm(sandbox, { alarmName, reason: `Threshold Crossed: ${plan.service} has fewer healthy hosts than desired` });
    if (!executionArn) {
      const why = eventBridgeOf(sandbox).logs.at(-1);
      throw new Error(`the alarm ${alarmName} started no execution: ${why ? JSON.stringify(why) : 'no reason logged'}`);
    }
    await sandbox.sfn.wait(executionArn);
    await human?.settled();
    human?.stop();
    // EventBridge delivers the execution's end to record-incident: the record and its report.
    await eventBridgeOf(sandbox).drain();
    const report = eventBridgeOf(sandbox).posts.find((p) => p.service === plan.service);
    const approvals = (await listApprovals({ dynamo, table: APPROVALS_TABLE }, executionArn)).map(
      (a): DrillApprovalRecord =>
        a.status === 'approved' || a.status === 'rejected'
          ? { tier: a.tier, decision: a.status, by: a.decidedBy?.name ?? null, at: a.decidedAt ?? a.expiresAt }
          : { tier: a.tier, decision: 'unanswered', by: null, at: a.expiresAt },
    );
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const history = await fullHistory(sfn, executionArn);

    const after = sandbox.fleet.snapshot(plan.service);
    const output = execution.output ? (JSON.parse(execution.output) as { outcome?: Outcome; restart?: { startedAt?: string } }) : {};
    const outcome = outcomeOf(execution.status ?? 'UNKNOWN', output.outcome, execution.error);
    const steady = sandbox.fleet.steadySince(plan.service);
    const restartAt = firstRestartAt(sandbox);
    const desiredAfter = after?.desiredCount ?? 0;
    return {
      workflow: WORKFLOW,
      service: plan.service,
      cluster: plan.scenario.cluster,
      fault: plan.fault,
      executionArn,
      status: execution.status ?? 'UNKNOWN',
      outcome,
      expectedOutcome: plan.expected,
      // A "no" or no answer must leave the service exactly as it was.
      passed:
        outcome === plan.expected &&
        desiredAfter >= desiredBefore &&
        (!plan.approval || (plan.approval !== 'reject' && plan.approval !== 'none') || sandbox.trail.mutatingEvents().length === 0),
      ...(execution.error ? { error: execution.error } : {}),
      ...(execution.cause ? { cause: execution.cause } : {}),
      transitions: history.filter((e) => e.type?.endsWith('StateEntered')).length,
      simulatedSeconds: Math.round(((execution.stopDate?.getTime() ?? sandbox.clock.nowMs()) - started) / 1000),
      wallMillis: Math.round(performance.now() - wallStart),
      desiredBefore,
      desiredAfter,
      runningAfter: after?.runningCount ?? 0,
      ...(steady !== undefined && restartAt !== undefined && steady >= restartAt ? { simulatorStableAfterSeconds: Math.round((steady - restartAt) / 1000) } : {}),
      timeline: buildTimeline(history, sandbox.invocations, started),
      mutatingCalls: sandbox.trail.mutatingEvents().length,
      ...(plan.approval ? { approval: plan.approval } : {}),
      approvals,
      alarmName,
      ...(report ? { incidentId: report.incidentId, report: report.markdown } : {}),
    };
  } finally {
    // The last decision's delivery (Step Functions, chat.update) runs after Slack's answer: let it finish.
    await slackOf(sandbox).deliveries().catch(() => undefined);
    await sandbox.stop();
  }
}

function outcomeOf(status: string, outcome: Outcome | undefined, error: string | undefined): Outcome {
  if (status === 'SUCCEEDED') return outcome ?? 'recovered';
  if (error === 'IncidentEscalated') return 'escalated';
  if (error === 'ApprovalRejected') return 'rejected';
  if (error && /InvalidInput|NotFound|NotManaged/.test(error)) return 'rejected-input';
  return 'failed';
}

function firstRestartAt(sandbox: Sandbox): number | undefined {
  const first = sandbox.trail.mutatingEvents()[0];
  return first?.eventTime.getTime();
}
