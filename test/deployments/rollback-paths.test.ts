import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, test } from 'vitest';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { mutatingCalls, runWorkflow, withSandbox } from '../support/p0.ts';
import { imageOf, runWithPeople, SERVICE, serviceState } from './support.ts';

const ROLLBACK = 'rollback';
const approve = () => ({ action: 'approve' as const, user: SLACK_USERS.onCall });

describe('rollback: the runbook\'s Rollback Procedure', () => {
  test('quick rollback after a deploy: back to the revision before it (from its backup), approved, stable and verified', async () => {
    await withSandbox({}, async (sandbox) => {
      const deployed = await runWorkflow(sandbox, 'deploy', { service: SERVICE, image: imageOf(sandbox, 'v3'), environment: 'staging', bakeMinutes: 0 });
      expect(deployed.output.outcome).toBe('deployed');
      const { run } = await runWithPeople(sandbox, ROLLBACK, { service: SERVICE, mode: 'quick', reason: 'v3 leaks memory' }, (i) => (i === 0 ? approve() : undefined));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('rolled-back');
      expect(run.output.deployment.why).toContain('the revision before deployment');
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2, image: imageOf(sandbox, 2), desired: 2, running: 2, deployments: 1 });
    });
  });

  test('quick rollback with no backup: the newest ACTIVE revision below the current one, as the runbook\'s list-task-definitions --sort DESC', async () => {
    await withSandbox({ services: [{ name: SERVICE, previousRevisions: 3, healthPath: '/health' }] }, async (sandbox) => {
      const { run } = await runWithPeople(sandbox, ROLLBACK, { service: SERVICE }, (i) => (i === 0 ? approve() : undefined));
      expect(run.output.outcome).toBe('rolled-back');
      expect(await serviceState(sandbox)).toMatchObject({ revision: 3, image: imageOf(sandbox, 3) });
    });
  });

  test('full rollback restores the backup: revision, desired count and deployment configuration', async () => {
    await withSandbox({}, async (sandbox) => {
      await runWorkflow(sandbox, 'deploy', { service: SERVICE, image: imageOf(sandbox, 'v3'), environment: 'staging', bakeMinutes: 0 });
      // After the deploy someone scaled the service to 3.
      await new ECSClient(sandbox.clientOptions()).send(new UpdateServiceCommand({ cluster: sandbox.scenario.cluster, service: SERVICE, desiredCount: 3 }));
      const { run } = await runWithPeople(sandbox, ROLLBACK, { service: SERVICE, mode: 'full' }, (i) => (i === 0 ? approve() : undefined));
      expect(run.output.outcome).toBe('rolled-back');
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2, desired: 2, running: 2, deployments: 1 });
      expect(mutatingCalls(sandbox).at(-1)).toMatchObject({ eventName: 'UpdateService', params: expect.objectContaining({ desiredCount: 2 }) });
    });
  });

  test('no previous revision: a clear error, and nothing changed', async () => {
    await withSandbox({ services: [{ name: SERVICE, previousRevisions: 0, healthPath: '/health' }] }, async (sandbox) => {
      const before = await serviceState(sandbox);
      const run = await runWorkflow(sandbox, ROLLBACK, { service: SERVICE });
      expect(run).toMatchObject({ status: 'FAILED', error: 'NoRollbackTargetError' });
      expect(run.message).toContain('no previous revision of acme-axon to roll back to');
      expect(await serviceState(sandbox)).toEqual(before);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('full rollback without a backup is refused: nothing to restore', async () => {
    await withSandbox({}, async (sandbox) => {
      const run = await runWorkflow(sandbox, ROLLBACK, { service: SERVICE, mode: 'full' });
      expect(run).toMatchObject({ status: 'FAILED', error: 'NoRollbackTargetError' });
      expect(run.message).toContain('no pre-deployment backup');
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('a rollback started by hand cannot declare itself automatic to skip approval', async () => {
    await withSandbox({}, async (sandbox) => {
      const run = await runWorkflow(sandbox, ROLLBACK, { service: SERVICE, automatic: true });
      expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
      expect(run.message).toContain('field "automatic"');
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('rejected at approval: nothing changed', async () => {
    await withSandbox({ services: [{ name: SERVICE, previousRevisions: 2, healthPath: '/health' }] }, async (sandbox) => {
      const before = await serviceState(sandbox);
      const { run } = await runWithPeople(sandbox, ROLLBACK, { service: SERVICE }, (i) => (i === 0 ? { action: 'reject', user: SLACK_USERS.onCall } : undefined));
      expect(run).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected' });
      expect(await serviceState(sandbox)).toEqual(before);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });
});

describe('rollback: a nested start is checked, not trusted', () => {
  test('a start naming a parent that is not running (or not ours) is refused before any change', async () => {
    await withSandbox({ services: [{ name: SERVICE, previousRevisions: 2, healthPath: '/health' }] }, async (sandbox) => {
      const fake = `arn:aws:states:us-east-1:123456789012:execution:incident-flows-deploy:made-up`;
      const notOurs = `arn:aws:states:us-east-1:123456789012:execution:someone-elses:x`;
      for (const parent of [fake, notOurs]) {
        const run = await runWorkflow(sandbox, ROLLBACK, { service: SERVICE, automatic: true, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent });
        expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
        expect(run.message).toContain('field "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"');
      }
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });
});
