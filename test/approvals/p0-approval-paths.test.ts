import { describe, expect, test } from 'vitest';
import { mutatingCalls, runP0, withSandbox } from '../support/p0.ts';
import { SLACK_USERS, slackOf } from '../../sandbox/slack.ts';
import { beyondBudget, runP0WithPeople, SERVICE, withPendingApproval } from './support.ts';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ecsClient } from '#commons/clients';

const CRASH_LOOP = { faults: [{ service: SERVICE, kind: 'crash-loop' as const }] };

describe('P0 with a person in charge of the restart (remediation budget spent)', () => {
  test('approved by on-call: the restart runs and the service recovers', async () => {
    await withSandbox(CRASH_LOOP, async (sandbox) => {
      sandbox.playOut();
      const { run, approvals, messages } = await runP0WithPeople(sandbox, beyondBudget(), (i) =>
        i === 0 ? { action: 'approve', user: SLACK_USERS.onCall } : undefined,
      );
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.output.approval).toMatchObject({ decision: 'approved', tier: 'on-call', by: { id: SLACK_USERS.onCall.id, via: 'slack' } });
      expect(approvals.map((a) => [a.tier, a.status, a.decidedBy?.id])).toEqual([['on-call', 'approved', SLACK_USERS.onCall.id]]);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.text).toMatch(/P0 approval needed: restart acme-axon/);
      expect(slackOf(sandbox).currentText(messages[0]!)).toMatch(/approved/);
      expect(mutatingCalls(sandbox).map((c) => c.eventName)).toEqual(['UpdateService']);
      expect(sandbox.fleet.snapshot(SERVICE)).toMatchObject({ desiredCount: 2, runningCount: 2 });
    });
  });

  test('rejected by on-call: the execution stops as rejected and nothing is changed on the service', async () => {
    await withSandbox(CRASH_LOOP, async (sandbox) => {
      sandbox.playOut();
      const before = sandbox.fleet.snapshot(SERVICE)!;
      const { run, approvals, messages } = await runP0WithPeople(sandbox, beyondBudget(), (i) =>
        i === 0 ? { action: 'reject', user: SLACK_USERS.onCall } : undefined,
      );
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('ApprovalRejected');
      expect(run.path).not.toContain('Restart the service');
      expect(approvals.map((a) => [a.tier, a.status])).toEqual([['on-call', 'rejected']]);
      expect(slackOf(sandbox).currentText(messages[0]!)).toMatch(/rejected/);
      expect(mutatingCalls(sandbox)).toEqual([]);
      const after = sandbox.fleet.snapshot(SERVICE)!;
      expect(after.desiredCount).toBe(before.desiredCount);
      expect(after.deployments.map((d) => d.id)).toEqual(before.deployments.map((d) => d.id));
    });
  });

  test('on-call silent for 15 min: the team lead is asked, approves, and the service recovers', async () => {
    await withSandbox(CRASH_LOOP, async (sandbox) => {
      sandbox.playOut();
      const { run, approvals, messages } = await runP0WithPeople(sandbox, beyondBudget(), (i) =>
        i === 1 ? { action: 'approve', user: SLACK_USERS.teamLead } : undefined,
      );
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(approvals.map((a) => [a.tier, a.status])).toEqual([
        ['on-call', 'expired'],
        ['team-lead', 'approved'],
      ]);
      expect(Date.parse(approvals[1]!.requestedAt) - Date.parse(approvals[0]!.requestedAt)).toBe(15 * 60_000);
      // The escalation mentions who did not answer; the silent tier's request says it moved on.
      expect(JSON.stringify(messages[1]!.blocks)).toMatch(/on-call engineer did not answer within 15 min/);
      expect(slackOf(sandbox).currentText(messages[0]!)).toMatch(/escalated to the team lead/);
      expect(sandbox.fleet.snapshot(SERVICE)).toMatchObject({ desiredCount: 2, runningCount: 2 });
    });
  });

  test('nobody answers on any tier: fails closed after 4 h, escalated, service untouched', async () => {
    await withSandbox(CRASH_LOOP, async (sandbox) => {
      sandbox.playOut();
      const { run, approvals, messages } = await runP0WithPeople(sandbox, beyondBudget(), () => undefined);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('IncidentEscalated');
      expect(run.path.at(-1)).toBe('Escalate: nobody approved the restart');
      expect(run.path).not.toContain('Restart the service');
      expect(approvals.map((a) => a.tier)).toEqual(['on-call', 'team-lead', 'vp']);
      expect(approvals.every((a) => a.status !== 'approved' && a.status !== 'rejected')).toBe(true);
      expect(messages).toHaveLength(3);
      expect(run.simulatedSeconds).toBe(4 * 3600);
      expect(mutatingCalls(sandbox)).toEqual([]);
      expect(sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(2);
    });
  });
});

describe('P0 under the default policy: people are asked only when the input says so', () => {
  test('first restart within the budget: runs on its own, nobody is asked', async () => {
    await withSandbox(CRASH_LOOP, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      expect(run.path.some((s) => s.startsWith('Ask the'))).toBe(false);
      expect(slackOf(sandbox).messages).toEqual([]);
    });
  });

  test('dry run beyond the budget: nothing would change, so nobody is asked', async () => {
    await withSandbox(CRASH_LOOP, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, beyondBudget({ dryRun: true }));
      expect(run.output.outcome).toBe('dry-run');
      expect(slackOf(sandbox).messages).toEqual([]);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });
});

describe('P0 looks again after an approval before acting', () => {
  test('the service recovered while people decided: approved, re-assessed healthy, no restart', async () => {
    await withPendingApproval(async (p) => {
      // Meanwhile someone fixed it by hand (a forced deployment clears this crash loop) and it settled.
      const ecs = ecsClient(p.sandbox.clientOptions());
      await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: SERVICE, forceNewDeployment: true }));
      p.sandbox.clock.advance(120);
      expect(p.sandbox.fleet.snapshot(SERVICE)).toMatchObject({ runningCount: 2, healthyCount: 2 });
      const answer = await p.post(p.click({ action: 'approve', user: SLACK_USERS.onCall }));
      expect(answer.status).toBe(200);
      const run = await p.finish();
      expect(run.status).toBe('SUCCEEDED');
      expect(JSON.parse(run.output ?? '{}').outcome).toBe('no-action');
      const path = p.sandbox.sfn.history(run.executionArn).filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name);
      expect(path).toContain('Assess again after approval');
      expect(path).not.toContain('Restart the service');
      // Only the person's own UpdateService: the workflow changed nothing.
      expect(mutatingCalls(p.sandbox)).toHaveLength(1);
    });
  });
});
