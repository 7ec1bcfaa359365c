import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, test } from 'vitest';
import { ecsClient } from '#commons/clients';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { SERVICE, withPendingApproval } from '../approvals/support.ts';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { mutatingCalls, runP0, withSandbox } from '../support/p0.ts';

/** P0's promises where AWS and people behave less kindly than a drill (issue 8). */

describe('after an approval, P0 respects what people did meanwhile', () => {
  test('a person scaled the service to zero while the approval waited: approved, re-assessed, nothing restarted', async () => {
    await withPendingApproval(async (p) => {
      await ecsClient(p.sandbox.clientOptions()).send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: SERVICE, desiredCount: 0 }));
      p.sandbox.clock.advance(60);
      const answer = await p.post(p.click({ action: 'approve', user: SLACK_USERS.onCall }));
      expect(answer.status).toBe(200);
      const run = await p.finish();
      expect(run.status).toBe('SUCCEEDED');
      expect(JSON.parse(run.output ?? '{}').outcome).toBe('no-action');
      const path = p.sandbox.sfn.history(run.executionArn).filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name);
      expect(path).toContain('Record: scaled to zero by a person meanwhile');
      expect(path).not.toContain('Restart the service');
      // Only the person's own change; the service stays where they put it.
      expect(mutatingCalls(p.sandbox)).toHaveLength(1);
      expect(p.sandbox.fleet.snapshot(SERVICE)!.desiredCount).toBe(0);
    });
  });
});

describe('a change whose answer was lost is not made twice', () => {
  test('UpdateService applied but answered 5xx: the retried restart adopts the deployment it created, one deployment in all', async () => {
    // The first forced deployment takes effect, but its answer is a ServerException.
    const lost = { api: 'ecs' as const, kind: 'lost-response' as const, rate: 1, operations: ['UpdateService'], maxFailures: 1 };
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }, lost] }, async (sandbox) => {
      sandbox.playOut();
      const run = await runP0(sandbox, { service: SERVICE });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('recovered');
      // ECS saw one forced deployment (CloudTrail records calls that took effect), though the workflow had to retry.
      expect(mutatingCalls(sandbox)).toEqual([{ eventName: 'UpdateService', params: expect.objectContaining({ forceNewDeployment: true }) }]);
      expect(sandbox.calls.filter((c) => c.operation === 'UpdateService').map((c) => c.status)).toEqual([500]);
      expect(run.history.filter((e) => e.type === 'LambdaFunctionFailed')).toHaveLength(1);
      expect(run.output.restart.deploymentId).toBe(sandbox.fleet.snapshot(SERVICE)!.deployments[0]!.id);
    });
  });
});

describe('one restart loop per service', () => {
  test('a console start while an alarm\'s incident is remediating the service changes nothing, and says why', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      let consoleArn = '';
      // The moment the alarm's execution starts waiting for its restart, someone starts P0 from the console.
      const off = sandbox.sfn.onEvent((event, record) => {
        if (!consoleArn && record.name.endsWith('--p0') && event.stateEnteredEventDetails?.name === 'Wait until the restart is stable') {
          off();
          consoleArn = sandbox.sfn.start('incident-flows-p0-system-down', { service: SERVICE, trigger: { kind: 'manual', by: 'jane' } });
        }
      });
      const alarm = await eventBridge.fireAlarm({ alarmName: `${SERVICE}-unhealthy-hosts` });
      expect(alarm.outcome).toBe('started');
      await eventBridge.drain();
      const consoleRun = sandbox.sfn.execution(consoleArn);
      expect(consoleRun.status).toBe('FAILED');
      const failed = sandbox.sfn.history(consoleArn).find((e) => e.type === 'LambdaFunctionFailed');
      expect(failed?.lambdaFunctionFailedEventDetails?.error).toBe('ServiceBusyError');
      // Only the alarm's execution changed the service: one forced deployment.
      expect(mutatingCalls(sandbox)).toHaveLength(1);
      expect(sandbox.fleet.snapshot(SERVICE)).toMatchObject({ desiredCount: 2, runningCount: 2 });
    });
  });
});
