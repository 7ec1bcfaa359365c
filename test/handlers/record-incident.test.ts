import { describe, expect, test } from 'vitest';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { mutatingCalls, runP0, withSandbox } from '../support/p0.ts';

const SERVICE = 'acme-axon';

/**
 * A start input the first state refuses changes nothing and is seen by whoever started it: it is
 * recorded (no execution ends silently) but pages nobody. One an alarm started is still paged.
 */
describe('record-incident and a start input refused at the first state', () => {
  test('a console start with a misspelt field is recorded and reported quietly, and pages nobody', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      const run = await runP0(sandbox, { servce: SERVICE });
      expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError', path: ['Assess impact'] });
      await eventBridge.settled();
      expect(eventBridge.recorded).toHaveLength(1);
      const recorded = eventBridge.recorded[0]!;
      expect(recorded).toMatchObject({ outcome: 'recorded', result: 'failed (InvalidInputError)', first: true });
      const incident = await eventBridge.incident(recorded.outcome === 'recorded' ? recorded.incidentId : '');
      expect(incident).toMatchObject({ status: 'closed', outcome: 'failed (InvalidInputError)', actions: [] });
      expect(sandbox.sns.published).toEqual([]);
      expect(eventBridge.posts.map((p) => p.text)).toEqual([expect.stringMatching(/^:information_source: .*start input refused \(InvalidInputError\), nothing changed, nobody paged/)]);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('a start input naming an unmanaged service is not paged either', async () => {
    await withSandbox({}, async (sandbox) => {
      const eventBridge = eventBridgeOf(sandbox);
      const run = await runP0(sandbox, { service: 'payments-db' });
      expect(run).toMatchObject({ status: 'FAILED', error: 'ServiceNotManagedError' });
      await eventBridge.settled();
      expect(eventBridge.recorded).toMatchObject([{ outcome: 'recorded' }]);
      expect(sandbox.sns.published).toEqual([]);
    });
  });

  test('a console start naming a cluster that does not exist is refused by name and pages nobody', async () => {
    await withSandbox({}, async (sandbox) => {
      const eventBridge = eventBridgeOf(sandbox);
      const run = await runP0(sandbox, { service: SERVICE, cluster: 'nope-cluster' });
      expect(run).toMatchObject({ status: 'FAILED', error: 'ClusterNotFoundError', path: ['Assess impact'] });
      expect(run.message).toMatch(/field "cluster": no ECS cluster named "nope-cluster"/);
      await eventBridge.settled();
      expect(eventBridge.recorded).toMatchObject([{ outcome: 'recorded', result: 'failed (ClusterNotFoundError)' }]);
      expect(sandbox.sns.published).toEqual([]);
      expect(mutatingCalls(sandbox)).toEqual([]);
    });
  });

  test('an alarm\'s start refused the same way is paged: the alarm is real and nothing acts on it', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const eventBridge = eventBridgeOf(sandbox);
      const run = await runP0(sandbox, { service: SERVICE, lookbackMinutes: 1, trigger: { kind: 'alarm', alarmName: `${SERVICE}-unhealthy-hosts` } });
      expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
      await eventBridge.settled();
      expect(eventBridge.recorded).toMatchObject([{ outcome: 'recorded', result: 'failed (InvalidInputError)' }]);
      expect(sandbox.sns.published.filter((p) => p.subject?.includes('people must take over'))).toHaveLength(1);
      expect(eventBridge.posts.map((p) => p.text)).toEqual([expect.stringMatching(/^:rotating_light:/)]);
    });
  });
});
