import { describe, expect, test } from 'vitest';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { documentClient, sfnClient } from '#commons/clients';
import { decideFromCli, SANDBOX_IDENTITY } from '../../cli/approve.ts';
import { AwsServiceError } from '../../sandbox/http.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { SERVICE, TABLE, withPendingApproval, type PendingApproval } from './support.ts';

/**
 * What the approval record says, and what the person is told, must match what Step Functions did.
 * The sandbox's `lost-response` fault applies a call and answers it 5xx (a response lost on the
 * way back); the SDK retries as it does on AWS — and now finds the token closed (TaskTimedOut).
 */
const FIRST_SEND_TASK_SUCCESS_LOST: ScenarioInput = {
  faults: [
    { service: SERVICE, kind: 'crash-loop' },
    { api: 'sfn', kind: 'lost-response', operations: ['SendTaskSuccess'], rate: 1, maxFailures: 1 },
  ],
};

function tasksClosedWith(p: PendingApproval, executionArn: string): string[] {
  return p.sandbox.sfn
    .history(executionArn)
    .filter((e) => e.type === 'TaskSucceeded' && e.taskSucceededEventDetails?.output?.includes(p.approvalId))
    .map((e) => JSON.parse(e.taskSucceededEventDetails!.output!).decision as string);
}

describe('an approval that took effect is recorded as what Step Functions did', () => {
  test('Slack: SendTaskSuccess applied but answered 5xx, the retry gets TaskTimedOut — recorded approved, the message shows it, nobody told "nothing was decided"', async () => {
    await withPendingApproval(async (p) => {
      const answer = await p.post(p.click({ action: 'approve', user: SLACK_USERS.onCall }));
      expect(answer).toMatchObject({ status: 200, body: { code: 'approved' } });
      await p.delivered();

      // Asked twice (applied + 500, then TaskTimedOut), taken once.
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess', 'SendTaskSuccess']);
      expect(p.sandbox.calls.filter((c) => c.operation === 'SendTaskSuccess').map((c) => c.errorCode)).toEqual(['InternalFailure', 'TaskTimedOut']);
      expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.onCall.id }, deliveredAt: expect.any(String) });
      expect(p.fake.ephemeral.map((e) => e.text)).toEqual([]);
      expect(p.fake.currentText(p.message)).toMatch(/approved/);
      expect(JSON.stringify(p.fake.messages[0]!.updates.at(-1)?.blocks)).toMatch(/Approved by <@U0ONCALL>/);
      expect(JSON.stringify(p.fake.messages[0]!.updates.at(-1)?.blocks)).not.toMatch(/"type":"actions"/);

      const execution = await p.finish();
      expect(execution.status).toBe('SUCCEEDED');
      expect(tasksClosedWith(p, execution.executionArn)).toEqual(['approved']);
      expect((await p.row())?.status).toBe('approved');
    }, FIRST_SEND_TASK_SUCCESS_LOST);
  });

  test('CLI: the same lost answer — the command reports the approval as decided, the record agrees', async () => {
    await withPendingApproval(async (p) => {
      const deps = { dynamo: documentClient(p.sandbox.clientOptions()), sfn: sfnClient(p.sandbox.clientOptions()), clock: p.sandbox.clock, table: TABLE, identity: async () => SANDBOX_IDENTITY };
      const result = await decideFromCli(p.approvalId, 'approved', undefined, deps);
      expect(result.approval).toMatchObject({ status: 'approved', decidedBy: { via: 'cli' } });
      expect(await p.row()).toMatchObject({ status: 'approved', deliveredAt: expect.any(String) });
      const execution = await p.finish();
      expect(execution.status).toBe('SUCCEEDED');
      expect(tasksClosedWith(p, execution.executionArn)).toEqual(['approved']);
    }, FIRST_SEND_TASK_SUCCESS_LOST);
  });

  test('a decision that really came too late (the task had already timed out): recorded expired, the clicker told nothing was decided, the buttons gone', async () => {
    await withPendingApproval(async (p) => {
      // Step Functions closed the task a moment before the click reached it: not applied, token gone.
      // (No sandbox fault says that; this stands in front of the sandbox's Step Functions for the one call.)
      const sfn = p.sandbox.sfn;
      p.sandbox.server.registerJson('AWSStepFunctions', 'sfn', '1.0', async (op, body) => {
        if (op === 'SendTaskSuccess') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
        return sfn.handle(op, body);
      });
      const answer = await p.post(p.click({ action: 'approve', user: SLACK_USERS.onCall }));
      expect(answer.status).toBe(200); // recorded within Slack's 3 s; what Step Functions made of it comes after
      await p.delivered();
      expect(await p.row()).toMatchObject({ status: 'expired' });
      expect((await p.row())?.deliveredAt).toBeUndefined();
      expect(p.fake.ephemeral.map((e) => e.text)).toEqual([expect.stringMatching(/came too late.*nothing was decided/)]);
      expect(p.fake.currentText(p.message)).toMatch(/too late, nothing was decided/);
      expect(JSON.stringify(p.fake.messages[0]!.updates.at(-1)?.blocks)).not.toMatch(/"type":"actions"/);
      p.sandbox.server.registerJson('AWSStepFunctions', 'sfn', '1.0', sfn.handle);
      // (In this stand-in the task is in fact still open: end the execution rather than play out 4 h of escalation.)
      const executionArn = sfn.listExecutionRecords().at(-1)!.executionArn;
      await sfnClient(p.sandbox.clientOptions()).send(new StopExecutionCommand({ executionArn }));
      await p.finish();
      expect(tasksClosedWith(p, executionArn)).toEqual([]);
    });
  });
});
