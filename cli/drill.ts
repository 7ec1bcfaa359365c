import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { fullHistory } from '#commons/execution-history';
import { listApprovals } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import { Sandbox, type CallRecord } from '../sandbox/index.ts';
import type { LatencyOption } from '../sandbox/latency.ts';
import { eventBridgeOf, fireAlarm } from '../sandbox/eventbridge.ts';
import { playHuman, slackOf, SLACK_USERS, type Click } from '../sandbox/slack.ts';
import { DRILL_WORKFLOWS, type DrillApproval, type DrillPlan, type DrillWorkflow, type Outcome } from './drill-scenario.ts';
import { describeError } from './start.ts';
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
  /** What the drill was doing when it could not go on (an API the scenario took down); absent when it ran to its end. */
  incomplete?: string;
  transitions: number;
  /** Time to recover: seconds from the alarm to the execution's end, the automation's own latencies included. */
  simulatedSeconds: number;
  /**
   * Seconds from the alarm to the first remediating call the workflow made — the first ECS change
   * (UpdateService, a rollback's UpdateService, a StopTask…) that ECS accepted. Absent when nothing was changed.
   */
  firstRemediatingCallSeconds?: number;
  /** The latency model the sandbox charged (sandbox/latency.ts): 'aws' unless the drill asked otherwise. */
  latencyModel?: string;
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

/** The alarm a team would set on the service; the trigger routes `<service>-*` alarms to P0 and `<service>-p1-*` to P1. */
export const alarmNameFor = (service: string, workflow: DrillWorkflow = 'p0') => DRILL_WORKFLOWS[workflow].alarmName(service);
const workflowOf = (plan: DrillPlan) => DRILL_WORKFLOWS[plan.workflow ?? 'p0'].workflow;

/** What a drill knows so far: enough for a report if a step fails before the end. */
interface DrillRun {
  plan: DrillPlan;
  sandbox: Sandbox;
  wallStart: number;
  alarmName: string;
  desiredBefore: number;
  /** Virtual time the alarm fired. */
  started: number;
  /** Where sandbox.calls stood before the alarm: the calls after it are the drill's. */
  callsBefore: number;
  /** What the drill was doing, for the report's cause when it fails. */
  step: string;
  executionArn?: string;
  human?: ReturnType<typeof playHuman>;
}

export interface DrillOptions {
  /**
   * Told, in one line, when the drill could not run to its end. The CLI's default: stderr, so a
   * terminal or a script sees why while stdout keeps the report (text or --json).
   */
  notice?: (line: string) => void;
  /** What the automation's own machinery costs (sandbox/latency.ts): AWS's figures unless a bench compares. */
  latency?: LatencyOption;
}

const toStderr = (line: string) => void process.stderr.write(`${line}\n`);

/**
 * Runs one P0 drill on a fresh sandbox: the fault plays out, the alarm fires, the workflow runs.
 * A scenario that takes an API down (StartExecution, DynamoDB) can stop the drill part-way: that
 * is a verdict too — the report says failed and names the error, so `--json` stays a report.
 */
export async function runDrill(plan: DrillPlan, options: DrillOptions = {}): Promise<DrillReport> {
  const wallStart = performance.now();
  // --approval drills run as if the remediation budget were spent: the trigger then requires approval.
  // A drill reports honest figures: Lambda cold starts, state transitions and API calls cost what they cost on AWS.
  const latency = options.latency ?? 'aws';
  const sandbox = await Sandbox.start(plan.scenario, { latency, ...(plan.approval ? { incidents: { budget: { maxAutomatic: 0, windowSeconds: 3600 } } } : {}) });
  let run: DrillRun | undefined;
  try {
    sandbox.playOut();
    run = {
      plan,
      sandbox,
      wallStart,
      alarmName: alarmNameFor(plan.service, plan.workflow),
      desiredBefore: sandbox.fleet.snapshot(plan.service)?.desiredCount ?? 0,
      started: sandbox.clock.nowMs(),
      callsBefore: sandbox.calls.length,
      step: 'firing the alarm',
    };
    try {
      return await playDrill(run);
    } catch (err) {
      const report = failedReport(run, err);
      (options.notice ?? toStderr)(`incident-flows drill: the drill could not run to its end: ${report.cause}`);
      return report;
    }
  } finally {
    run?.human?.stop();
    // The last decision's delivery (Step Functions, chat.update) runs after Slack's answer: let it finish.
    await slackOf(sandbox).deliveries().catch(() => undefined);
    await sandbox.stop();
  }
}

async function playDrill(run: DrillRun): Promise<DrillReport> {
  const { plan, sandbox, started, alarmName, desiredBefore } = run;
  const sfn = new SFNClient(sandbox.clientOptions());
  const dynamo = documentClient(sandbox.clientOptions());
  run.human = plan.approval ? playHuman(sandbox, { dynamo, table: APPROVALS_TABLE }, peopleFor(plan.approval)) : undefined;
  // The alarm goes into ALARM and EventBridge hands it to start-incident: the path AWS takes.
  const executionArn = await fireAlarm(sandbox, { alarmName, reason: DRILL_WORKFLOWS[plan.workflow ?? 'p0'].reason(plan.service) });
  if (!executionArn) {
    const why = eventBridgeOf(sandbox).logs.at(-1);
    throw new DrillNotStartedError(`the alarm ${alarmName} started no execution: ${why ? JSON.stringify(why) : 'no reason logged'}`);
  }
  run.executionArn = executionArn;
  run.step = 'running the workflow';
  await sandbox.sfn.wait(executionArn);
  await run.human?.settled();
  run.human?.stop();
  // EventBridge delivers the execution's end to record-incident: the record and its report.
  await eventBridgeOf(sandbox).drain();
  run.step = "reading the execution's result";
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
    workflow: workflowOf(plan),
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
    ...firstRemediatingCall(run),
    latencyModel: sandbox.latency.model.name,
    wallMillis: Math.round(performance.now() - run.wallStart),
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
}

/** The alarm reached start-incident but no execution began (the log line says why). */
export class DrillNotStartedError extends Error {
  override name = 'DrillNotStartedError';
}

/**
 * The drill stopped part-way (an API the scenario took down answered with an error): the report
 * as far as it got — read from the sandbox itself, not through the APIs that failed — with
 * outcome "failed", the error's name and what the drill was doing.
 */
function failedReport(run: DrillRun, err: unknown): DrillReport {
  const { plan, sandbox, started, executionArn } = run;
  const record = executionArn ? sandbox.sfn.execution(executionArn) : undefined;
  const history = executionArn ? sandbox.sfn.history(executionArn) : [];
  const after = sandbox.fleet.snapshot(plan.service);
  const e = err instanceof Error ? err : new Error(String(err));
  const timeline = buildTimeline(history, sandbox.invocations, started);
  // No execution: the story so far is the trigger's, with the calls that failed it.
  if (!executionArn) timeline.push(triggerEntry(run, e));
  return {
    workflow: workflowOf(plan),
    service: plan.service,
    cluster: plan.scenario.cluster,
    fault: plan.fault,
    executionArn: executionArn ?? '',
    // Step Functions' status when an execution started; NOT_STARTED when none did.
    status: record?.status ?? 'NOT_STARTED',
    outcome: 'failed',
    expectedOutcome: plan.expected,
    passed: false,
    error: e.name && e.name !== 'Error' ? e.name : 'DrillError',
    cause: `${run.step}: ${describeError(e)}`,
    incomplete: run.step,
    transitions: history.filter((h) => h.type?.endsWith('StateEntered')).length,
    simulatedSeconds: Math.round(((record?.stopDate?.getTime() ?? sandbox.clock.nowMs()) - started) / 1000),
    ...firstRemediatingCall(run),
    latencyModel: sandbox.latency.model.name,
    wallMillis: Math.round(performance.now() - run.wallStart),
    desiredBefore: run.desiredBefore,
    desiredAfter: after?.desiredCount ?? 0,
    runningAfter: after?.runningCount ?? 0,
    timeline,
    mutatingCalls: sandbox.trail.mutatingEvents().length,
    ...(plan.approval ? { approval: plan.approval } : {}),
    approvals: [],
    alarmName: run.alarmName,
  };
}

/** "The alarm fired; start-incident could not start the workflow", with the AWS calls that failed. */
function triggerEntry(run: DrillRun, e: Error): TimelineEntry {
  const now = run.sandbox.clock.now();
  const failed = run.sandbox.calls.slice(run.callsBefore).filter((c) => c.status >= 400);
  return {
    at: now.toISOString(),
    t: Math.round((now.getTime() - run.started) / 1000),
    state: `Alarm ${run.alarmName} → start-incident`,
    kind: 'trigger',
    detail: `no execution started: ${describeError(e)}`,
    calls: failed.map((c) => `${c.api}:${c.operation}${c.errorCode ? ` (${c.errorCode})` : ''}`),
  };
}

function outcomeOf(status: string, outcome: Outcome | undefined, error: string | undefined): Outcome {
  if (status === 'SUCCEEDED') return outcome ?? 'recovered';
  if (error === 'IncidentEscalated') return 'escalated';
  if (error === 'ApprovalRejected') return 'rejected';
  if (error && /InvalidInput|NotFound|NotManaged/.test(error)) return 'rejected-input';
  return 'failed';
}

/** ECS operations that read: everything else the workflow sends ECS changes the service. */
const ECS_READ = /^(Describe|List|Get)/;

/** A change the automation made to ECS, accepted (a throttled or failed attempt changed nothing). */
export function isRemediatingCall(call: CallRecord): boolean {
  return call.api === 'ecs' && !ECS_READ.test(call.operation) && call.status < 400;
}

/** Seconds (to the tenth) from the alarm to the first ECS change the sandbox answered after it. */
function firstRemediatingCall(run: DrillRun): { firstRemediatingCallSeconds?: number } {
  const first = run.sandbox.calls.slice(run.callsBefore).find(isRemediatingCall);
  if (!first) return {};
  return { firstRemediatingCallSeconds: Math.round((Date.parse(first.at) - run.started) / 100) / 10 };
}

/** "First remediating call: 6.2 s after the alarm" — the human form's line (cli/render.ts prints it). */
export function firstRemediatingCallLine(r: Pick<DrillReport, 'firstRemediatingCallSeconds' | 'latencyModel'>): string {
  const model = r.latencyModel === undefined || r.latencyModel === 'aws' ? "AWS's latencies" : `latency model "${r.latencyModel}"`;
  return r.firstRemediatingCallSeconds === undefined
    ? `First remediating call: none — nothing was changed (${model}).`
    : `First remediating call: ${r.firstRemediatingCallSeconds} s after the alarm (${model}).`;
}

function firstRestartAt(sandbox: Sandbox): number | undefined {
  const first = sandbox.trail.mutatingEvents()[0];
  return first?.eventTime.getTime();
}
