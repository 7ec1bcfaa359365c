import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, test } from 'vitest';
import { ecsClient } from '#commons/clients';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { SERVICE, withPendingApproval } from '../approvals/support.ts';
import { mutatingCalls } from '../support/p0.ts';

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
