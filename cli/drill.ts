import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { listApprovals } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import { Sandbox } from '../sandbox/index.ts';
import { playHuman, SLACK_USERS, type Click } from '../sandbox/slack.ts';
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

/** Runs one P0 drill on a fresh sandbox: the fault plays out, the alarm fires, the workflow runs. */
export async function runDrill(plan: DrillPlan): Promise<DrillReport> {
  const wallStart = performance.now();
  const sandbox = await Sandbox.start(plan.scenario);
  try {
    sandbox.playOut();
    const desiredBefore = sandbox.fleet.snapshot(plan.service)?.desiredCount ?? 0;
    const sfn = new SFNClient(sandbox.clientOptions());
    const spec = plan.scenario.services.find((s) => s.name === plan.service);
    const input = {
      service: plan.service,
      cluster: plan.scenario.cluster,
      reason: `CloudWatch alarm ${plan.service}-unhealthy-hosts is in ALARM`,
      trigger: { kind: 'alarm', alarmName: `${plan.service}-unhealthy-hosts` },
      ...(sandbox.healthUrl(plan.service) ? { healthUrl: sandbox.healthUrl(plan.service) } : {}),
      ...(spec?.logGroup ? { logGroup: spec.logGroup } : {}),
      ...(plan.approval ? { requireApproval: true } : {}),
    };
    const dynamo = documentClient(sandbox.clientOptions());
    const human = plan.approval ? playHuman(sandbox, { dynamo, table: APPROVALS_TABLE }, peopleFor(plan.approval)) : undefined;
    const started = sandbox.clock.nowMs();
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(WORKFLOW), input: JSON.stringify(input), name: `drill-${plan.service}-${started}` }),
    );
    await sandbox.sfn.wait(executionArn!);
    await human?.settled();
    human?.stop();
    const approvals = (await listApprovals({ dynamo, table: APPROVALS_TABLE }, executionArn!)).map(
      (a): DrillApprovalRecord =>
        a.status === 'approved' || a.status === 'rejected'
          ? { tier: a.tier, decision: a.status, by: a.decidedBy?.name ?? null, at: a.decidedAt ?? a.expiresAt }
          : { tier: a.tier, decision: 'unanswered', by: null, at: a.expiresAt },
    );
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const history = await fullHistory(sfn, executionArn!);

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
      executionArn: executionArn!,
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
    };
  } finally {
    await sandbox.stop();
  }
}

/** GetExecutionHistory, every page. */
export async function fullHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
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
