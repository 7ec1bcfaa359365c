import { describe, expect, test } from 'vitest';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { withSandbox } from '../support/p0.ts';
import { executions, withIncidents } from './support.ts';

/** Nothing outside the stack's allow-list is ever started, locked or changed (issue 8, items 17 and 18). */

describe('an alarm starts automation only for a managed service', () => {
  test('an alarm measuring an unmanaged service is not routed to a managed one by its name prefix', async () => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const result = await eventBridge.fireAlarm({ alarmName: 'acme-axon-canary-unhealthy-hosts', dimensions: { ClusterName: 'acme-cluster', ServiceName: 'acme-axon-canary' } });
      expect(result).toEqual({ outcome: 'ignored', reason: 'alarm acme-axon-canary-unhealthy-hosts measures ECS service acme-axon-canary, which incident-flows does not manage' });
      expect(executions(sandbox)).toEqual([]);
      expect(await eventBridge.incident('x')).toBeUndefined();
    });
  });

  test('an alarm measuring a managed service goes to it, whatever its name', async () => {
    await withIncidents({}, async (_sandbox, eventBridge) => {
      const result = await eventBridge.fireAlarm({ alarmName: 'payments-latency-high', dimensions: { ClusterName: 'acme-cluster', ServiceName: 'acme-orbit' } });
      expect(result).toMatchObject({ outcome: 'started', service: 'acme-orbit' });
    });
  });

  test('tag routing to a service not in the allow-list starts nothing and locks nothing', async () => {
    await withIncidents(
      {},
      async (sandbox, eventBridge) => {
        const result = await eventBridge.fireAlarm({ alarmName: 'db-connections-high', tags: { 'incident-flows:service': 'ledger-prod' } });
        expect(result.outcome).toBe('ignored');
        expect(result.outcome === 'ignored' && result.reason).toMatch(/routes to ledger-prod \(alarm tag "incident-flows:service"\), which incident-flows does not manage/);
        expect(executions(sandbox)).toEqual([]);
      },
      { tagKeys: {} },
    );
  });
});

describe('an execution is part of an alarm\'s incident only if that incident lists it', () => {
  test('a console start named after another incident ("<incident>--p1") records an incident of its own and leaves the other untouched', async () => {
    await withSandbox({}, async (sandbox) => {
      const eventBridge = eventBridgeOf(sandbox);
      sandbox.playOut();
      const real = await eventBridge.fireAlarm({ alarmName: 'acme-axon-unhealthy-hosts' });
      expect(real.outcome).toBe('started');
      if (real.outcome !== 'started') return;
      await eventBridge.drain();
      const before = await eventBridge.incident(real.incidentId);
      expect(before).toMatchObject({ status: 'closed', outcome: 'no-action' });
      // Someone starts P0 from the console with a crafted name.
      const crafted = sandbox.sfn.start('incident-flows-p0-system-down', { service: 'acme-orbit' }, `${real.incidentId}--p1`);
      await sandbox.sfn.wait(crafted);
      await eventBridge.settled();
      const after = await eventBridge.incident(real.incidentId);
      expect(after?.outcome).toBe(before?.outcome);
      expect(after?.report).toBe(before?.report);
      expect(await eventBridge.incident(`${real.incidentId}--p1`)).toMatchObject({ service: 'acme-orbit', outcome: 'no-action' });
      expect(eventBridge.posts.filter((p) => p.incidentId === real.incidentId)).toHaveLength(1);
    });
  });
});

