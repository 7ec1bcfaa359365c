import { describe, expect, test } from 'vitest';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { runP0, stateOutputs, withSandbox, type ExecutionResult } from '../support/p0.ts';
import { imageOf, runWithPeople, SERVICE, serviceState } from '../deployments/support.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/** A deploy by deploy-bot `minutesAgo` brought in revision 2, whose image crash-loops; revision 1 ran a day before. */
function badDeploy(extra: { minutesAgo?: number; previousRevision?: 'stable' | 'failing'; previousRevisions?: number; alsoBad?: string[] } = {}): ScenarioInput {
  const current = `${ECR}/${SERVICE}:v${(extra.previousRevisions ?? 1) + 1}`;
  return {
    services: [{ name: SERVICE, previousRevisions: extra.previousRevisions ?? 1, previousRevision: extra.previousRevision ?? 'stable', healthPath: '/health' }],
    cloudTrail: [{ eventName: 'UpdateService', service: SERVICE, minutesAgo: extra.minutesAgo ?? 6, username: 'deploy-bot' }],
    images: [current, ...(extra.alsoBad ?? [])].map((image) => ({ service: SERVICE, image, kind: 'crash-loop' as const })),
  };
}

const decisionOf = (run: ExecutionResult) => stateOutputs(run, 'Choose the fix: roll back or restart').at(-1)?.decision;

describe('P0 chooses the fix the evidence points to', () => {
  test('bad deploy: a deployment minutes ago brought in a crashing revision → rolled back to the previous one, at its desired count, on its own', async () => {
    await withSandbox(badDeploy(), async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('rolled-back');
      expect(run.path).toContain('Roll back the deployment');
      expect(run.path).not.toContain('Restart the service');
      const decision = decisionOf(run);
      expect(decision).toMatchObject({ fix: 'rollback', needsApproval: false, rollbackTo: expect.stringMatching(/acme-axon:1$/) });
      expect(decision.reasons.join(' ')).toMatch(/acme-axon:2 came in at .* by deploy-bot .*task\(s\) of acme-axon:2 failed.*acme-axon:1 ran stable before it/);
      expect(await serviceState(sandbox)).toMatchObject({ revision: 1, image: imageOf(sandbox, 1), desired: 2, running: 2, deployments: 1 });
    });
  });

  test('crash-loop with only an old deployment (none in the lookback) → restart, as before', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }], cloudTrail: [{ eventName: 'UpdateService', service: SERVICE, minutesAgo: 300 }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(run.output.outcome).toBe('recovered');
      expect(decisionOf(run)).toMatchObject({ fix: 'restart' });
      expect(decisionOf(run).reasons.at(-1)).toMatch(/no change to acme-axon:2 in the last 60 min/);
      expect(run.path).toContain('Restart the service');
    });
  });

  test('the runbook\'s drill: a deploy 42 min ago that ran stable, then crashed → the change is not the suspect, restart', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(run.output.outcome).toBe('recovered');
      expect(decisionOf(run).reasons.at(-1)).toMatch(/ran stable for \d+ min before failing: the change is not the suspect/);
    });
  });

  test('recent change, but the previous revision was failing too → restart, and escalate when that fails; the desired count intact', async () => {
    await withSandbox(badDeploy({ previousRevision: 'failing' }), async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(decisionOf(run)).toMatchObject({ fix: 'restart' });
      expect(decisionOf(run).reasons.at(-1)).toMatch(/did not run stable before the change \(ECS: unable to consistently start tasks\)/);
      expect(run).toMatchObject({ status: 'FAILED', error: 'IncidentEscalated' });
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2, desired: 2 });
    });
  });

  test('no previous revision → restart', async () => {
    await withSandbox(badDeploy({ previousRevisions: 0 }), async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(decisionOf(run)).toMatchObject({ fix: 'restart' });
      expect(decisionOf(run).reasons.at(-1)).toMatch(/no known ACTIVE previous revision/);
      expect(run.path).toContain('Restart the service');
    });
  });

  test('a person asked about the rollback picks "restart instead" (Reject): the restart runs, nothing is rolled back', async () => {
    await withSandbox(badDeploy(), async (sandbox) => {
      sandbox.playOut();
      const { run, messages } = await runWithPeople(sandbox, 'p0-system-down', { service: SERVICE, requireApproval: true }, (i) =>
        i === 0 ? { action: 'reject', user: SLACK_USERS.onCall } : i === 1 ? { action: 'approve', user: SLACK_USERS.onCall } : undefined,
      );
      expect(JSON.stringify(messages[0])).toContain('Reject: restart instead');
      expect(run.path).toContain('Ask the on-call engineer to approve the rollback');
      expect(run.path).not.toContain('Roll back the deployment');
      expect(run.path).toContain('Restart the service');
      // The crashing image survives a restart: people take over, the desired count as it was.
      expect(run.error).toBe('IncidentEscalated');
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2, desired: 2 });
    });
  });

  test('the rollback fails (the previous image crashes now too) → the fail-safe: escalated, the desired count as before, on a known revision', async () => {
    await withSandbox(badDeploy({ alsoBad: [`${ECR}/${SERVICE}:v1`] }), async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(run.path).toContain('Roll back the deployment');
      expect(run.path).toContain('Restore the desired count');
      expect(run).toMatchObject({ status: 'FAILED', error: 'IncidentEscalated' });
      const state = await serviceState(sandbox);
      expect(state.desired).toBe(2);
      expect([1, 2]).toContain(state.revision);
    });
  });
});
