import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, test } from 'vitest';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { mutatingCalls } from '../support/p0.ts';
import { startWorkflow } from '../../cli/start.ts';
import { executions, withIncidents } from './support.ts';

const AXON = 'acme-axon';

describe('the incident record and the post-incident report, built from the execution', () => {
  test('drilled P0 on a crash loop: the record and the report hold the timeline, actions and durations', async () => {
    await withIncidents({ faults: [{ service: AXON, kind: 'crash-loop' }] }, async (sandbox, eventBridge) => {
      sandbox.playOut();
      const started = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      await eventBridge.fireAlarm({ alarmName: `${AXON}-5xx-rate` });
      await eventBridge.drain();
      if (started.outcome !== 'started') throw new Error(`expected a start, got ${started.outcome}`);
      const incident = await eventBridge.incident(started.incidentId);
      expect(incident).toMatchObject({ status: 'closed', outcome: 'recovered', service: AXON, severity: 'P0', alarmCount: 2 });
      expect(incident?.timeToMitigateSeconds).toBeGreaterThan(0);
      expect(incident?.actions).toEqual([expect.objectContaining({ planned: false, changes: [expect.objectContaining({ call: 'UpdateService', forceNewDeployment: true })] })]);
      const states = incident?.timeline.filter((e) => e.kind === 'step').map((e) => e.state);
      expect(states).toEqual(expect.arrayContaining(['Assess impact', 'Inspect recent changes', 'Review error logs', 'Restart the service', 'Verify recovery']));
      const report = incident?.report ?? '';
      expect(report).toMatch(/^# Incident .*acme-axon \(P0\) — RECOVERED/);
      for (const section of ['## Timeline', '## Changes found', '## Errors seen', '## Actions', '## Approvals', '## Durations']) expect(report).toContain(section);
      expect(report).toMatch(/\| Time to mitigate \| \d+ s \|/);
      expect(report).toMatch(/acme-axon-unhealthy-hosts OK → ALARM/);
      expect(report).toMatch(/\*\*Restart the service\*\*: force a new deployment/);
      expect(report).toMatch(/\*\*Wait until the restart is stable\*\*: 2\/2 running, 2 healthy, 1 deployment\(s\) — STABLE after \d+ s \(noticed by ECS event SERVICE_(DEPLOYMENT_COMPLETED|STEADY_STATE)\)/);
      expect(report).toMatch(/ERROR line\(s\) in `\/ecs\/acme-axon`/);
      expect(report).toMatch(/- Alarm to mitigation: \d+ s/);
      // Posted once, and the service is free again after the cool-down.
      expect(eventBridge.posts).toEqual([expect.objectContaining({ incidentId: started.incidentId, outcome: 'recovered', markdown: report })]);
    });
  });

  test('an escalated (FAILED) execution is recorded and reported, not silent', async () => {
    await withIncidents({ faults: [{ service: AXON, kind: 'bad-image' }] }, async (sandbox, eventBridge) => {
      sandbox.playOut();
      const started = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      await eventBridge.drain();
      if (started.outcome !== 'started') throw new Error('expected a start');
      const incident = await eventBridge.incident(started.incidentId);
      expect(incident).toMatchObject({ status: 'closed', outcome: 'escalated' });
      expect(incident?.timeToMitigateSeconds).toBeUndefined();
      expect(incident?.report).toMatch(/ESCALATED/);
      expect(incident?.report).toMatch(/not mitigated by automation/);
      expect(incident?.report).toMatch(/Restore the desired count/);
      expect(eventBridge.posts.map((p) => p.text)).toEqual([expect.stringMatching(/^:rotating_light: P0 acme-axon: escalated/)]);
      expect(eventBridge.logs.find((l) => l.message === 'incident recorded')?.level).toBe('warn');
    });
  });

  test('an aborted execution is recorded and reported, and releases the service', async () => {
    await withIncidents({ faults: [{ service: AXON, kind: 'crash-loop', survivesRestarts: 'always' }] }, async (sandbox, eventBridge) => {
      sandbox.playOut();
      const started = await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` });
      if (started.outcome !== 'started') throw new Error('expected a start');
      await new SFNClient(sandbox.clientOptions()).send(new StopExecutionCommand({ executionArn: started.executionArn, cause: 'operator took over' }));
      await eventBridge.drain();
      const incident = await eventBridge.incident(started.incidentId);
      expect(incident).toMatchObject({ status: 'closed', outcome: 'aborted' });
      expect(eventBridge.posts).toHaveLength(1);
      await eventBridge.elapse(301);
      expect((await eventBridge.fireAlarm({ alarmName: `${AXON}-unhealthy-hosts` })).outcome).toBe('started');
    });
  });

  test('dry run of P0 on a crash-looping service: a report of the planned changes and no mutating call', async () => {
    await withIncidents({ faults: [{ service: AXON, kind: 'crash-loop' }] }, async (sandbox) => {
      sandbox.playOut();
      const run = await startWorkflow({ workflow: 'p0', service: AXON, dryRun: true, wait: true, clients: sandbox.clientOptions(), by: 'jane' });
      const eventBridge = eventBridgeOf(sandbox);
      await eventBridge.drain();
      expect(run.status).toBe('SUCCEEDED');
      expect(run.outcome).toBe('dry-run');
      expect(run.plannedChanges).toEqual([{ call: 'UpdateService', cluster: 'acme-cluster', service: AXON, forceNewDeployment: true }]);
      expect(mutatingCalls(sandbox)).toEqual([]);
      const report = eventBridge.posts[0]?.markdown ?? '';
      expect(report).toMatch(/DRY-RUN/);
      expect(report).toMatch(/\(planned, dry run — not applied\) DRY RUN, would force a new deployment/);
      expect(report).toMatch(/`call=UpdateService cluster=acme-cluster service=acme-axon forceNewDeployment=true`/);
      expect(report).toMatch(/Trigger \| cli start by jane/);
      expect(executions(sandbox)).toHaveLength(1);
    });
  });
});
