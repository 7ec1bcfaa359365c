import { describe, expect, test, vi } from 'vitest';
import { executions, startInputOf, withIncidents } from './support.ts';

const AXON = 'acme-axon';

describe('alarm starts: one incident per service, one execution per incident', () => {
  test('an alarm going into ALARM opens an incident and starts exactly one P0 execution named after it', async () => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const result = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      expect(result.outcome).toBe('started');
      if (result.outcome !== 'started') return;
      expect(executions(sandbox)).toHaveLength(1);
      expect(result.executionArn).toContain(`:execution:incident-flows-p0-system-down:${result.incidentId}--p0`);
      const input = await startInputOf(sandbox, result.executionArn);
      expect(input).toMatchObject({ service: AXON, cluster: 'acme-cluster', trigger: { kind: 'alarm', alarmName: `${AXON}-unhealthy-hosts` } });
      expect(input.requireApproval).toBeUndefined();
      const incident = await eventBridge.incident(result.incidentId);
      expect(incident).toMatchObject({ service: AXON, severity: 'P0', status: 'open', trigger: { kind: 'alarm', alarmName: `${AXON}-unhealthy-hosts` }, alarmCount: 1 });
    });
  });

  test('a redelivered event starts no second execution and is on the timeline once', async () => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const first = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts`, eventId: 'event-1' });
      const again = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts`, eventId: 'event-1' });
      expect(first.outcome).toBe('started');
      expect(again.outcome).toBe('duplicate');
      expect(executions(sandbox)).toHaveLength(1);
      // Redelivered again after the execution ended and the incident closed: still nothing new.
      await eventBridge.drain();
      const late = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts`, eventId: 'event-1' });
      expect(late.outcome).toBe('duplicate');
      expect(executions(sandbox)).toHaveLength(1);
      const incident = await eventBridge.incident(first.outcome === 'started' ? first.incidentId : '');
      expect(incident?.timeline.filter((e) => e.eventId === 'event-1')).toHaveLength(1);
      expect(eventBridge.logs.filter((l) => /redelivered event/.test(l.message))).toHaveLength(2);
    });
  });

  test('an alarm for a service with an open incident joins its timeline and starts nothing', async () => {
    await withIncidents({ faults: [{ service: AXON, kind: 'crash-loop' }] }, async (sandbox, eventBridge) => {
      sandbox.playOut();
      const first = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      const second = await eventBridge.fireAlarm({ alarmName: `${AXON}-5xx-rate` });
      expect(second).toMatchObject({ outcome: 'appended', incidentId: first.outcome === 'started' ? first.incidentId : '?' });
      expect(executions(sandbox)).toHaveLength(1);
      expect(eventBridge.logs.some((l) => l.message.includes('no new execution') && l.data.alarmName === `${AXON}-5xx-rate`)).toBe(true);
      // Another service is another incident.
      const orbit = await eventBridge.fireAlarm({ alarmName: 'acme-orbit-unhealthy-hosts' });
      expect(orbit.outcome).toBe('started');
      expect(executions(sandbox)).toHaveLength(2);
      await eventBridge.drain();
      const incident = await eventBridge.incident(second.outcome === 'appended' ? second.incidentId : '');
      expect(incident?.timeline.filter((e) => e.kind === 'alarm').map((e) => e.alarmName)).toEqual([`${AXON}-unhealthy-hosts`, `${AXON}-5xx-rate`]);
    });
  });

  test('an alarm during the cool-down after an incident closed is recorded on it, not started again', async () => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const first = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      await eventBridge.drain();
      await eventBridge.elapse(60);
      const flap = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      expect(flap.outcome).toBe('appended');
      expect(executions(sandbox)).toHaveLength(1);
      const incident = await eventBridge.incident(first.outcome === 'started' ? first.incidentId : '');
      expect(incident?.timeline.some((e) => e.kind === 'alarm-after-close')).toBe(true);
      // After the cool-down the service is free again: a new alarm is a new incident.
      await eventBridge.elapse(300);
      const later = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      expect(later.outcome).toBe('started');
      expect(executions(sandbox)).toHaveLength(2);
    });
  });

  test('remediation budget spent: the workflow still starts, with requireApproval in its input', async () => {
    await withIncidents(
      {},
      async (sandbox, eventBridge) => {
        const first = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
        await eventBridge.drain();
        await eventBridge.elapse(120);
        const second = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
        expect(first).toMatchObject({ outcome: 'started', requireApproval: false });
        expect(second).toMatchObject({ outcome: 'started', requireApproval: true });
        if (second.outcome !== 'started') return;
        expect(await startInputOf(sandbox, second.executionArn)).toMatchObject({ service: AXON, requireApproval: true });
        expect(eventBridge.logs.find((l) => l.data.executionArn === second.executionArn)?.data.why).toMatch(/remediation budget spent: 1 automatic remediation/);
        await eventBridge.drain();
        // The window slides: an hour later automation may act on its own again.
        await eventBridge.elapse(3600);
        const third = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
        expect(third).toMatchObject({ outcome: 'started', requireApproval: false });
      },
      { budget: { maxAutomatic: 1, windowSeconds: 3600 }, cooldownSeconds: 60 },
    );
  });

  test('remediation budget spent on a crash-looping service: the restart waits for a person, nothing is changed meanwhile', async () => {
    await withIncidents(
      { faults: [{ service: AXON, kind: 'crash-loop' }] },
      async (sandbox, eventBridge) => {
        sandbox.playOut();
        const started = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
        expect(started).toMatchObject({ outcome: 'started', requireApproval: true });
        if (started.outcome !== 'started') return;
        await vi.waitFor(() => expect(sandbox.sfn.pendingTasks().map((t) => t.executionArn)).toContain(started.executionArn), { timeout: 5000 });
        expect(sandbox.trail.mutatingEvents()).toEqual([]);
        expect(sandbox.sfn.execution(started.executionArn).status).toBe('RUNNING');
      },
      { budget: { maxAutomatic: 0, windowSeconds: 3600 } },
    );
  });

  test('P1 alarm with no P1 procedure: the incident is recorded, the log says P1 is not deployed, a later P0 alarm escalates and starts P0', async () => {
    await withIncidents(
      {},
      async (sandbox, eventBridge) => {
        // A stack whose P1 procedure is not configured (P1 alarms would otherwise run p1-degraded).
        eventBridge.configure({ procedures: { P0: sandbox.stateMachineArn('p0-system-down') } });
        const p1 = await eventBridge.fireAlarm({ alarmName: `${AXON}-latency-p99` });
        expect(p1.outcome).toBe('recorded');
        expect(executions(sandbox)).toHaveLength(0);
        expect(eventBridge.logs.find((l) => l.message === 'procedure not deployed')?.data.reason).toMatch(/procedure P1 is not deployed yet/);
        const p0 = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
        expect(p0).toMatchObject({ outcome: 'escalated', from: 'P1', to: 'P0' });
        expect(executions(sandbox)).toHaveLength(1);
        const incident = await eventBridge.incident(p1.outcome === 'recorded' ? p1.incidentId : '');
        expect(incident?.severity).toBe('P0');
        expect(incident?.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['alarm', 'not-deployed', 'escalated', 'started']));
      },
      { routes: [{ alarmPrefix: `${AXON}-latency-`, service: AXON, severity: 'P1' }, { alarmPrefix: `${AXON}-`, service: AXON, severity: 'P0' }] },
    );
  });

  test('P1 mapped to the P0 procedure by configuration starts P0', async () => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const p0 = sandbox.stateMachineArn('p0-system-down');
      eventBridge.configure({ routes: [{ alarmPrefix: `${AXON}-latency-`, service: AXON, severity: 'P1' }], procedures: { P0: p0, P1: p0 } });
      const result = await eventBridge.fireAlarm({ alarmName: `${AXON}-latency-p99` });
      expect(result.outcome).toBe('started');
      expect(executions(sandbox).map((e) => e.name)).toEqual([expect.stringMatching(/--p1$/)]);
    });
  });

  test('an alarm whose name matches no route is mapped by its tags', async () => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const result = await eventBridge.fireAlarm({ alarmName: 'ledger-db-connections', tags: { 'incident-flows:service': 'acme-orbit', 'incident-flows:severity': 'p0' } });
      expect(result).toMatchObject({ outcome: 'started', service: 'acme-orbit' });
      expect(executions(sandbox)).toHaveLength(1);
    });
  });
});

describe('a claim whose execution never started does not leave the service without automation', () => {
  test('StartExecution fails after the claim: the next alarm (past a grace minute) starts the incident\'s one execution', async () => {
    // Step Functions refuses the first delivery's StartExecution on every SDK attempt (3), then recovers.
    const outage = { api: 'sfn' as const, kind: 'server-error' as const, rate: 1, operations: ['StartExecution'], maxFailures: 3 };
    await withIncidents({ faults: [outage] }, async (sandbox, eventBridge) => {
      await expect(eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` })).rejects.toMatchObject({ name: 'InternalFailure' });
      expect(executions(sandbox)).toHaveLength(0);
      // Within the grace minute another alarm just joins (the first delivery may still be starting it).
      const early = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      expect(early.outcome).toBe('appended');
      await eventBridge.elapse(90);
      const later = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      expect(later.outcome).toBe('started');
      expect(executions(sandbox)).toHaveLength(1);
      expect(eventBridge.logs.some((l) => /open incident had no execution: started it/.test(l.message))).toBe(true);
      // And once started, the incident's execution is not started again.
      await eventBridge.elapse(90);
      expect((await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` })).outcome).toBe('appended');
      expect(executions(sandbox)).toHaveLength(1);
    });
  });
});

describe('opening an incident is one transaction', () => {
  test('DynamoDB failing in the middle of opening leaves nothing half-done: the next alarm opens the incident and starts it', async () => {
    // Every attempt (the SDK's three) of the opening's write fails once the read went through.
    const outage = { api: 'dynamodb' as const, kind: 'server-error' as const, rate: 1, operations: ['UpdateItem', 'TransactWriteItems'], maxFailures: 3 };
    await withIncidents({ faults: [outage] }, async (sandbox, eventBridge) => {
      const first = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` }).catch((e: Error) => e);
      expect(first).toBeInstanceOf(Error);
      expect(executions(sandbox)).toHaveLength(0);
      const second = await eventBridge.fireAlarm({ alarmName: `${AXON}-5xx-rate` });
      expect(second.outcome).toBe('started');
      expect(executions(sandbox)).toHaveLength(1);
    });
  });
});
