import { DescribeExecutionCommand, RedriveExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, test } from 'vitest';
import { getApproval } from '#commons/approvals';
import { documentClient } from '#commons/clients';
import { fullHistory } from '#commons/execution-history';
import { IncidentStore } from '#commons/incidents';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import { approvalIdOf, blockActionsPayload, postToCallback, signedInteraction, SLACK_USERS, slackOf, type RecordedMessage } from '../../sandbox/slack.ts';
import { beyondBudget, SERVICE, TABLE } from '../approvals/support.ts';
import { mutatingCalls, withSandbox } from '../support/p0.ts';

/**
 * RedriveExecution (Step Functions Developer Guide, "Redriving executions") restarts a failed,
 * aborted or timed-out execution from its unsuccessful state, under the same ARN, with the same
 * input and history. Each attempt's end is recorded and reported on its own, and the redrive's
 * restart takes the service's lock like any other restart.
 */

const P0 = 'p0-system-down';

/** Waits (real time, the clock held) until the execution waits on a task token again. */
async function untilWaitingOnToken(sandbox: Sandbox, executionArn: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const task = sandbox.sfn.pendingTasks().find((t) => t.executionArn === executionArn);
    if (task) return task.token;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${executionArn} never waited on a task token`);
}

describe('a redriven execution is recorded and acts under the lock', () => {
  test('stopped while waiting for approval, then redriven: the open request carries over, one click approves the redrive, it restarts, and both attempts are recorded and reported', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      const fake = slackOf(sandbox);
      const dynamo = documentClient(sandbox.clientOptions());
      const sfn = new SFNClient(sandbox.clientOptions());
      // Time stands still from the approval request on: the stop, the redrive and the click happen at once.
      const requested = new Promise<RecordedMessage>((resolve) => {
        const off = fake.onMessage((m) => {
          if (!approvalIdOf(m)) return;
          off();
          sandbox.clock.enter();
          resolve(m);
        });
      });
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(P0), input: JSON.stringify(beyondBudget()) }));
      const message = await requested;
      const approvalId = approvalIdOf(message)!;
      const firstToken = await untilWaitingOnToken(sandbox, executionArn!);
      await sfn.send(new StopExecutionCommand({ executionArn, cause: 'stopped by mistake from the console' }));
      await eventBridge.settled();
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
      expect(mutatingCalls(sandbox)).toEqual([]);
      const before = (await fullHistory(sfn, executionArn!)).length;

      const redriven = await sfn.send(new RedriveExecutionCommand({ executionArn }));
      expect(redriven.redriveDate).toBeInstanceOf(Date);
      // The redrive resumes at the approval step: the request people already have now answers for it.
      const token = await untilWaitingOnToken(sandbox, executionArn!);
      expect(token).not.toBe(firstToken);
      for (let i = 0; i < 200 && (await getApproval({ dynamo, table: TABLE }, approvalId))?.token !== token; i++) await new Promise((r) => setTimeout(r, 5));
      const click = signedInteraction(fake, blockActionsPayload(fake, { approvalId, action: 'approve', user: SLACK_USERS.onCall }, message), Math.floor(sandbox.clock.nowMs() / 1000));
      expect((await postToCallback(fake, click)).status).toBe(200);
      await fake.deliveries();
      sandbox.clock.leave();
      await sandbox.sfn.wait(executionArn!);
      await eventBridge.settled();

      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(d).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1, redriveStatus: 'NOT_REDRIVABLE' });
      expect(JSON.parse(d.output!).outcome).toBe('recovered');
      expect(JSON.parse(d.output!).approval).toMatchObject({ decision: 'approved', by: { id: SLACK_USERS.onCall.id } });
      // One request, decided once.
      expect(fake.messages.filter((m) => approvalIdOf(m))).toHaveLength(1);
      expect(await getApproval({ dynamo, table: TABLE }, approvalId)).toMatchObject({ status: 'approved' });
      // Same ARN, history kept: the redrive appends from the state that was interrupted.
      const history = await fullHistory(sfn, executionArn!);
      expect(history[0]!.type).toBe('ExecutionStarted');
      expect(history[before]).toMatchObject({ type: 'ExecutionRedriven', executionRedrivenEventDetails: { redriveCount: 1 } });
      const resumedAt = history[before + 1]!.stateEnteredEventDetails?.name;
      expect(history.slice(0, before).some((e) => e.stateEnteredEventDetails?.name === resumedAt)).toBe(true);
      expect(history.slice(before).some((e) => e.stateEnteredEventDetails?.name === 'Assess impact')).toBe(false);
      expect(mutatingCalls(sandbox).filter((c) => c.params.forceNewDeployment)).toHaveLength(1);

      // Each attempt recorded once, with its own report; the incident ends with the redrive's outcome.
      expect(eventBridge.recorded.map((r) => (r.outcome === 'recorded' ? r.result : r.outcome))).toEqual(['aborted', 'recovered']);
      expect(eventBridge.posts.map((p) => p.outcome)).toEqual(['aborted', 'recovered']);
      const incidentId = d.name!;
      const incident = await eventBridge.incident(incidentId);
      expect(incident).toMatchObject({ status: 'closed', outcome: 'recovered' });
      expect(incident!.recordedExecutions).toEqual(new Set([executionArn, `${executionArn}#redrive-1`]));
      expect(incident!.timeline.filter((e) => e.kind === 'closed').map((e) => e.what)).toEqual([
        expect.stringContaining('ended ABORTED'),
        expect.stringContaining('(redrive 1) ended SUCCEEDED'),
      ]);
      // The redrive's restart took the service's lock, and its end let it go.
      const lock = await new IncidentStore(dynamo, 'incident-flows-incidents').lock(SERVICE);
      expect(lock).toMatchObject({ incidentId, state: 'closed' });
    });
  });

  test('redriving a running or a succeeded execution is refused with ExecutionNotRedrivable, as AWS refuses it', async () => {
    await withSandbox({}, async (sandbox) => {
      sandbox.playOut();
      const sfn = new SFNClient(sandbox.clientOptions());
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(P0), input: JSON.stringify({ service: SERVICE }) }));
      const running = await sfn.send(new RedriveExecutionCommand({ executionArn })).catch((err: Error) => err);
      expect(running).toMatchObject({ name: 'ExecutionNotRedrivable', message: expect.stringContaining('RUNNING') });
      await sandbox.sfn.wait(executionArn!);
      const done = await sfn.send(new RedriveExecutionCommand({ executionArn })).catch((err: Error) => err);
      expect(done).toMatchObject({ name: 'ExecutionNotRedrivable', message: expect.stringContaining('SUCCEEDED') });
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).redriveCount).toBe(0);
    });
  });
});
