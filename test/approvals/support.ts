import { getApproval, listApprovals, type ApprovalRecord, type ApprovalView } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import type { Sandbox } from '../../sandbox/index.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';
import type { ExecutionRecord } from '../../sandbox/sfn/facade.ts';
import {
  approvalIdOf,
  blockActionsPayload,
  playHuman,
  postToCallback,
  signedInteraction,
  slackOf,
  type CallbackAnswer,
  type Click,
  type HumanAnswer,
  type RecordedMessage,
  type SignedInteraction,
  type SlackFake,
} from '../../sandbox/slack.ts';
import { runP0, withSandbox, type ExecutionResult } from '../support/p0.ts';

export const SERVICE = 'acme-axon';
export const TABLE = 'incident-flows-approvals';

/** A P0 start input the way the alarm trigger sends it once the remediation budget is spent. */
export const beyondBudget = (extra: Record<string, unknown> = {}) => ({
  service: SERVICE,
  trigger: { kind: 'alarm', alarmName: `${SERVICE}-unhealthy-hosts` },
  requireApproval: true,
  ...extra,
});

export interface PeopleRun {
  run: ExecutionResult;
  answers: HumanAnswer[];
  approvals: ApprovalView[];
  messages: RecordedMessage[];
}

/** Runs P0 while `decide` plays the people who receive the approval requests. */
export async function runP0WithPeople(
  sandbox: Sandbox,
  input: unknown,
  decide: (index: number, message: RecordedMessage) => Omit<Click, 'approvalId'> | undefined,
): Promise<PeopleRun> {
  const dynamo = documentClient(sandbox.clientOptions());
  const human = playHuman(sandbox, { dynamo, table: TABLE }, decide);
  try {
    const run = await runP0(sandbox, input);
    await human.settled();
    await slackOf(sandbox).deliveries();
    const execution = sandbox.sfn.listExecutionRecords().at(-1)?.executionArn ?? '';
    return { run, answers: human.answers, approvals: await listApprovals({ dynamo, table: TABLE }, execution), messages: slackOf(sandbox).messages };
  } finally {
    human.stop();
  }
}

export interface PendingApproval {
  sandbox: Sandbox;
  fake: SlackFake;
  approvalId: string;
  message: RecordedMessage;
  /** SendTaskSuccess / SendTaskFailure calls the sandbox's Step Functions received so far. */
  sendTaskCalls(): string[];
  /** Waits until every decision recorded so far has been delivered (the acknowledgement comes before). */
  delivered(): Promise<void>;
  row(): Promise<ApprovalRecord | undefined>;
  /** A click as Slack would send it, signed, at the virtual clock's now (+ offset seconds). */
  click(click: Omit<Click, 'approvalId'> & { approvalId?: string }, offsetSeconds?: number, headers?: Record<string, string>): SignedInteraction;
  post(request: { headers: Record<string, string>; body: string | Buffer; method?: string }): Promise<CallbackAnswer>;
  /** Lets time run again and waits for the execution to end. */
  finish(): Promise<ExecutionRecord>;
}

/**
 * Starts P0 beyond the budget and stops at the on-call's approval request, holding the clock so
 * the approval stays open while `body` plays with the callback. Afterwards time runs on: an
 * undecided approval then escalates and fails closed.
 */
export async function withPendingApproval(body: (p: PendingApproval) => Promise<void>, scenario: ScenarioInput = { faults: [{ service: SERVICE, kind: 'crash-loop' }] }): Promise<void> {
  await withSandbox(scenario, async (sandbox) => {
    sandbox.playOut();
    const fake = slackOf(sandbox);
    const dynamo = documentClient(sandbox.clientOptions());
    let held = false;
    const posted = new Promise<RecordedMessage>((resolve) => {
      const stop = fake.onMessage((m) => {
        if (held) return;
        held = true;
        sandbox.clock.enter();
        stop();
        resolve(m);
      });
    });
    const executionArn = sandbox.sfn.start('incident-flows-p0-system-down', beyondBudget());
    const message = await posted;
    const approvalId = approvalIdOf(message)!;
    for (let i = 0; i < 200 && !(await getApproval({ dynamo, table: TABLE }, approvalId))?.messageTs; i++) await new Promise((r) => setTimeout(r, 5));
    let released = false;
    const finish = async () => {
      if (!released) {
        released = true;
        sandbox.clock.leave();
      }
      return sandbox.sfn.wait(executionArn);
    };
    try {
      await body({
        sandbox,
        fake,
        approvalId,
        message,
        sendTaskCalls: () => sandbox.calls.filter((c) => c.api === 'sfn' && c.operation.startsWith('SendTask')).map((c) => c.operation),
        delivered: () => fake.deliveries(),
        row: () => getApproval({ dynamo, table: TABLE }, approvalId),
        click: (c, offset = 0, headers = {}) =>
          signedInteraction(fake, blockActionsPayload(fake, { approvalId, ...c }, message), Math.floor(sandbox.clock.nowMs() / 1000) + offset, headers),
        post: (request) => postToCallback(fake, request),
        finish,
      });
    } finally {
      await finish();
      await fake.deliveries();
    }
  });
}
