import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { IncidentStore } from '#commons/incidents';
import { documentClient } from '#commons/clients';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { describe, expect, test } from 'vitest';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { finished, mutatingCalls, runWorkflow, stateOutputs, withSandbox } from '../support/p0.ts';
import { activeRevisions, backups, imageOf, runWithPeople, SERVICE, serviceState } from './support.ts';

const DEPLOY = 'deploy';
const approve = () => ({ action: 'approve' as const, user: SLACK_USERS.onCall });

describe('deploy: the runbook\'s Standard Deployment', () => {
  test('deploy succeeds: a new revision from the current one with the new image, approved, stable, verified, baked; the backup outlives the execution', async () => {
    await withSandbox({}, async (sandbox) => {
      const image = imageOf(sandbox, 'v3');
      const { run, messages } = await runWithPeople(sandbox, DEPLOY, { service: SERVICE, image, bakeMinutes: 5 }, (i) => (i === 0 ? approve() : undefined));
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('deployed');
      expect(run.path).toEqual(expect.arrayContaining(['Ask the on-call engineer to approve the deployment', 'Deploy the new revision', 'Wait until the deployment is stable', 'Verify the deployment', 'Watch the alarms while baking']));
      expect(messages[0]!.text ?? JSON.stringify(messages[0])).toContain(SERVICE);
      const state = await serviceState(sandbox);
      expect(state).toMatchObject({ revision: 3, image, desired: 2, running: 2, deployments: 1, rolloutState: 'COMPLETED' });
      // The bake looked for at least its 5 minutes.
      const bakes = stateOutputs(run, 'Watch the alarms while baking');
      expect(bakes.length).toBeGreaterThanOrEqual(5);
      expect(bakes.at(-1)!.bake).toMatchObject({ quiet: true, done: true });
      expect(bakes.at(-1)!.bake.watched).toContain(`${SERVICE}-unhealthy-hosts`);
      const backup = await backups(sandbox).get(sandbox.scenario.cluster, SERVICE);
      expect(backup).toMatchObject({ taskDefinition: expect.stringMatching(/acme-axon:2$/), desiredCount: 2, newRevision: expect.stringMatching(/acme-axon:3$/) });
      expect(mutatingCalls(sandbox).map((c) => c.eventName)).toEqual(['RegisterTaskDefinition', 'UpdateService']);
    });
  });

  test('bad image: tasks never start, the circuit of the wait gives up, the automatic rollback puts back the previous revision, stable and healthy', async () => {
    await withSandbox({ images: [{ service: SERVICE, image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v3-bad', kind: 'bad-image' }] }, async (sandbox) => {
      const run = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, image: imageOf(sandbox, 'v3-bad'), environment: 'staging' });
      expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
      expect(run.path).toEqual(expect.arrayContaining(['Note: the deployment did not stabilise', 'Roll back to the previous revision', 'Record: rolled back']));
      const state = await serviceState(sandbox);
      expect(state).toMatchObject({ revision: 2, image: imageOf(sandbox, 2), desired: 2, running: 2, deployments: 1 });
      // The nested rollback ran as its own execution, automatic (no approval), and verified the service.
      const child = sandbox.sfn.listExecutionRecords().find((e) => e.stateMachineArn.endsWith('rollback'))!;
      expect(child.status).toBe('SUCCEEDED');
      expect(JSON.parse(child.output ?? '{}').outcome).toBe('rolled-back');
      // The bad revision stays registered (it ran), and the backup names where the service came back to.
      expect(await activeRevisions(sandbox)).toContain('acme-axon:3');
    });
  });

  test('failing health: the tasks run but the health URL fails, the rollback puts back the previous revision', async () => {
    await withSandbox({ images: [{ service: SERVICE, image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v3-sick', kind: 'failing-health-check' }] }, async (sandbox) => {
      const run = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, image: imageOf(sandbox, 'v3-sick'), environment: 'staging' });
      expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2, desired: 2, running: 2, deployments: 1 });
    });
  });

  test('alarm during the bake: the deployment is rolled back, and the alarm opens no separate P0', async () => {
    await withSandbox({ images: [{ service: SERVICE, image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v3-5xx', kind: 'raises-alarm', alarmAfterSeconds: 120 }] }, async (sandbox) => {
      const run = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, image: imageOf(sandbox, 'v3-5xx'), environment: 'staging', bakeMinutes: 10 });
      expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
      expect(run.path).toContain('Note: an alarm fired while baking');
      const fired = stateOutputs(run, 'Watch the alarms while baking').at(-1)!.bake;
      expect(fired.firing[0].alarm).toBe(`${SERVICE}-5xx-errors`);
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2, desired: 2, running: 2 });
      const p0s = sandbox.sfn.listExecutionRecords().filter((e) => e.stateMachineArn.endsWith('p0-system-down'));
      expect(p0s).toEqual([]);
    });
  });

  test('rejected at approval: nothing changed on the service, the registered revision deregistered again', async () => {
    await withSandbox({}, async (sandbox) => {
      const before = await serviceState(sandbox);
      const { run } = await runWithPeople(sandbox, DEPLOY, { service: SERVICE, image: imageOf(sandbox, 'v3') }, (i) => (i === 0 ? { action: 'reject', user: SLACK_USERS.onCall } : undefined));
      expect(run).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected' });
      expect(await serviceState(sandbox)).toEqual(before);
      expect(await activeRevisions(sandbox)).toEqual(['acme-axon:1', 'acme-axon:2']);
      expect(mutatingCalls(sandbox).map((c) => c.eventName)).toEqual(['RegisterTaskDefinition', 'DeregisterTaskDefinition']);
    });
  });

  test('a second deploy while one runs is refused, and changes nothing', async () => {
    await withSandbox({}, async (sandbox) => {
      const sfn = new SFNClient(sandbox.clientOptions());
      const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(DEPLOY), input: JSON.stringify({ service: SERVICE, image: imageOf(sandbox, 'v3'), environment: 'staging' }) }));
      // Let the first one take the service and start its update.
      await sandbox.clock.sleep(30);
      const second = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, image: imageOf(sandbox, 'v4'), environment: 'staging' });
      expect(second).toMatchObject({ status: 'FAILED', error: 'ServiceBusyError' });
      expect(second.message).toContain('this deploy changed nothing');
      const done = await finished(sandbox, sfn, first.executionArn!);
      expect(done.output.outcome).toBe('deployed');
      expect(await serviceState(sandbox)).toMatchObject({ revision: 3, image: imageOf(sandbox, 'v3') });
      expect(await activeRevisions(sandbox)).not.toContain('acme-axon:4');
    });
  });

  test.each([
    ['a malformed image URI', { image: 'acme-axon v3' }, 'field "image": is not a container image URI'],
    ['an image without a tag or digest', { image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon' }, 'field "image": has no tag or digest'],
    ['an unknown revision', { taskDefinition: 'acme-axon:99' }, 'field "taskDefinition": no task definition "acme-axon:99"'],
    ['a revision of another family', { taskDefinition: 'acme-orbit:1' }, 'is of family "acme-orbit"'],
    ['both an image and a revision', { image: 'x/acme-axon:v3', taskDefinition: 'acme-axon:1' }, 'give exactly one of "image"'],
    ['a misspelt field', { image: 'x/acme-axon:v3', bakeMinute: 5 }, 'unknown field "bakeMinute"'],
    ['an alarm that does not exist', { image: 'x/acme-axon:v3', alarms: ['acme-axon-no-such-alarm'] }, 'field "alarms": no CloudWatch alarm named "acme-axon-no-such-alarm"'],
  ])('%s is rejected before any change, with an error naming the field', async (_what, extra, message) => {
    await withSandbox({}, async (sandbox) => {
      const run = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, environment: 'staging', ...extra });
      expect(run.status).toBe('FAILED');
      expect(run.message).toContain(message);
      expect(run.path).toEqual(['Back up the service and register the new revision']);
      expect(mutatingCalls(sandbox)).toEqual([]);
      expect(await backups(sandbox).get(sandbox.scenario.cluster, SERVICE)).toBeUndefined();
    });
  });

  test('an existing revision deploys without registering anything; the same revision again changes nothing', async () => {
    await withSandbox({ services: [{ name: SERVICE, previousRevisions: 2, healthPath: '/health' }] }, async (sandbox) => {
      const run = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, taskDefinition: 'acme-axon:2', environment: 'staging', bakeMinutes: 0 });
      expect(run.output.outcome).toBe('deployed');
      expect(await serviceState(sandbox)).toMatchObject({ revision: 2 });
      const again = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, taskDefinition: 'acme-axon:2', environment: 'staging' });
      expect(again.output.outcome).toBe('already-deployed');
      expect(mutatingCalls(sandbox).map((c) => c.eventName)).toEqual(['UpdateService']);
    });
  });

  test('every ending is recorded: a rolled-back deploy pages nobody; a deploy stopped mid-rollout (no Catch runs) releases the service and pages with the rollback to run', async () => {
    await withSandbox({ images: [{ service: SERVICE, image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v3-bad', kind: 'bad-image' }] }, async (sandbox) => {
      const rolled = await runWorkflow(sandbox, DEPLOY, { service: SERVICE, image: imageOf(sandbox, 'v3-bad'), environment: 'staging' });
      expect(rolled.error).toBe('DeploymentRolledBack');
      await eventBridgeOf(sandbox).drain();
      expect(sandbox.sns.published).toEqual([]);
      expect(eventBridgeOf(sandbox).posts.at(-1)!.text).toMatch(/^:warning: deploy acme-axon: rolled-back/);

      const sfn = new SFNClient(sandbox.clientOptions());
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(DEPLOY), input: JSON.stringify({ service: SERVICE, image: imageOf(sandbox, 'v3'), environment: 'staging' }) }));
      await sandbox.clock.sleep(40);
      await sfn.send(new StopExecutionCommand({ executionArn }));
      await eventBridgeOf(sandbox).drain();
      const lock = await new IncidentStore(documentClient(sandbox.clientOptions()), 'incident-flows-incidents').lock(SERVICE);
      expect(lock?.state).toBe('closed');
      expect(sandbox.sns.published).toHaveLength(1);
      expect(sandbox.sns.published[0]!.message).toContain(`incident-flows rollback --service ${SERVICE} --mode full --deployment ${executionArn!.split(':').pop()}`);
    });
  });
});
