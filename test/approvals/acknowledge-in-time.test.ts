import { describe, expect, test } from 'vitest';
import { vi } from 'vitest';
import { performance } from 'node:perf_hooks';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';
import { SERVICE, withPendingApproval, type PendingApproval } from './support.ts';

/**
 * Slack waits 3 s for an interaction's acknowledgement, then shows the person an error (and may
 * deliver the click again). The callback records the decision and answers; telling Step Functions
 * and replacing the message come after — and must still happen, exactly once.
 */
const onCallApproves = { action: 'approve' as const, user: SLACK_USERS.onCall };
const SLACK_LIMIT_MS = 3000;

function scenario(...apiFaults: NonNullable<ScenarioInput['faults']>): ScenarioInput {
  return { faults: [{ service: SERVICE, kind: 'crash-loop' }, ...apiFaults] };
}

/** How many times the waiting task was completed: what Step Functions actually took, not how often it was asked. */
function tasksClosedByPeople(p: PendingApproval, executionArn: string): number {
  return p.sandbox.sfn
    .history(executionArn)
    .filter((e) => (e.type === 'TaskSucceeded' && e.taskSucceededEventDetails?.output?.includes(p.approvalId)) || (e.type === 'TaskFailed' && e.taskFailedEventDetails?.error === 'ApprovalRejected')).length;
}

describe('Slack is answered within its 3 s, and the decision still reaches the workflow exactly once', () => {
  test('Step Functions answering in 2.5 s and chat.update in 1.5 s: the click is acknowledged well inside 3 s, then delivered once', async () => {
    await withPendingApproval(
      async (p) => {
        p.fake.slowDown('chat.update', 1500);
        const started = performance.now();
        const answer = await p.post(p.click(onCallApproves));
        const ackMs = performance.now() - started;
        expect(answer).toMatchObject({ status: 200, body: { code: 'approved' } });
        // The slow calls alone add up to 4 s: none of them may sit between the click and its answer.
        expect(ackMs).toBeLessThan(SLACK_LIMIT_MS - 500);
        expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.onCall.id } });

        await p.delivered();
        expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
        expect(await p.row()).toMatchObject({ status: 'approved', deliveredAt: expect.any(String) });
        // chat.update is slowed to 1.5 s and runs after the delivery is noted: wait for it, under load too.
        await vi.waitFor(() => expect(p.fake.currentText(p.message)).toMatch(/approved/), { timeout: 10_000, interval: 100 });
        expect(JSON.stringify(p.fake.messages[0]!.updates.at(-1)?.blocks)).not.toMatch(/"type":"actions"/);
        const execution = await p.finish();
        expect(execution.status).toBe('SUCCEEDED');
        expect(tasksClosedByPeople(p, execution.executionArn)).toBe(1);
      },
      scenario({ api: 'sfn', kind: 'slow-response', operations: ['SendTaskSuccess'], rate: 1, delayMs: 2500 }),
    );
  }, 60_000);

  test('Step Functions failing SendTaskSuccess four times in a row: the click is still acknowledged, the decision kept and delivered once it can be', async () => {
    await withPendingApproval(
      async (p) => {
        const answer = await p.post(p.click(onCallApproves));
        expect(answer).toMatchObject({ status: 200, body: { code: 'approved' } });
        await p.delivered();
        // The SDK's own three attempts fail, the delivery is handed back and retried: the fifth call goes through.
        expect(p.sendTaskCalls()).toEqual(Array(5).fill('SendTaskSuccess'));
        expect(await p.row()).toMatchObject({ status: 'approved', deliveredAt: expect.any(String) });
        expect(p.fake.ephemeral).toEqual([]);
        expect(p.fake.currentText(p.message)).toMatch(/approved/);
        const execution = await p.finish();
        expect(execution.status).toBe('SUCCEEDED');
        expect(tasksClosedByPeople(p, execution.executionArn)).toBe(1);
      },
      scenario({ api: 'sfn', kind: 'server-error', operations: ['SendTaskSuccess'], rate: 1, maxFailures: 4 }),
    );
  }, 60_000);

  test('a decision whose delivery gave up (Step Functions down through every retry) stays recorded, and the next click on it delivers it once', async () => {
    await withPendingApproval(
      async (p) => {
        expect((await p.post(p.click(onCallApproves))).status).toBe(200);
        await p.delivered();
        // Every attempt of every retry failed: not delivered, and not lost either.
        expect(p.fake.stream?.batches.every((b) => b.failed)).toBe(true);
        expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.onCall.id } });
        expect((await p.row())?.deliveredAt).toBeUndefined();
        expect(p.fake.currentText(p.message)).not.toMatch(/approved/);

        // Step Functions is back; a minute later the team lead clicks too: told it is decided, and that click pushes it through.
        p.sandbox.clock.advance(60);
        const late = await p.post(p.click({ action: 'approve', user: SLACK_USERS.teamLead }));
        expect(late).toMatchObject({ status: 409, body: { code: 'approval_already_decided' } });
        await p.delivered();
        expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.onCall.id }, deliveredAt: expect.any(String) });
        expect(p.fake.currentText(p.message)).toMatch(/approved/);
        const execution = await p.finish();
        expect(execution.status).toBe('SUCCEEDED');
        expect(tasksClosedByPeople(p, execution.executionArn)).toBe(1);
      },
      // 5 deliveries × 3 SDK attempts: the stand-in for the stream's retries gives up.
      scenario({ api: 'sfn', kind: 'server-error', operations: ['SendTaskSuccess'], rate: 1, maxFailures: 15 }),
    );
  }, 60_000);
});
