import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { expect, test } from 'vitest';
import { documentClient, ecsClient, elbv2Client } from '#commons/clients';
import { RestorePoints } from '#safety/restore-points';
import { IncidentStore } from '#commons/incidents';
import { resolveIncident } from '#commons/incident';
import { restartService } from '../../handlers/restart-service.ts';
import { restoreDesiredCount } from '../../handlers/restore-desired-count.ts';
import { withSandbox } from '../support/p0.ts';

const config = {
  defaultCluster: 'acme-cluster',
  managedServices: [],
  logGroupPattern: '/ecs/{service}',
  serviceSettings: {},
  expectedStartSeconds: 30,
  healthRequestTimeoutMs: 2000,
  incidentsTable: 'incidents',
  approvalsTable: 'approvals',
  watchesTable: 'watches',
  lockSeconds: 7200,
};

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:test';

test('scale-to-zero comes back to the count ECS had just before the change, raised after the assessment (e.g. during an approval wait)', async () => {
  await withSandbox({}, async (sandbox) => {
    const ecs = ecsClient(sandbox.clientOptions());
    // Assessed at 2; autoscaling then raised the service to 4 while people decided.
    await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 4 }));
    const incident = resolveIncident({ service: 'acme-axon', restartMode: 'scale-to-zero' }, config);
    const deps = { ecs, ecsOnce: ecs, elbv2: elbv2Client(sandbox.clientOptions()), clock: sandbox.clock, config, points: new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents'), incidents: new IncidentStore(documentClient(sandbox.clientOptions()), 'incident-flows-incidents') };
    const scaleIn = await restartService({ incident, attempt: 'restart', execution: EXECUTION }, deps);
    expect(scaleIn).toMatchObject({ phase: 'scale-in', goal: 'stopped', desiredBefore: 4 });
    const scaleOut = await restartService({ incident, attempt: 'scale-out', execution: EXECUTION }, deps);
    expect(scaleOut).toMatchObject({ phase: 'scale-out', goal: 'serving' });
    expect(sandbox.trail.mutatingEvents().map((e) => e.requestParameters.desiredCount)).toEqual([4, 0, 4]);
    expect(sandbox.fleet.snapshot('acme-axon')!.desiredCount).toBe(4);
  });
});

test('a retried scale-in that finds the service already at 0 still comes back to the count recorded before the first try', async () => {
  await withSandbox({}, async (sandbox) => {
    const ecs = ecsClient(sandbox.clientOptions());
    const incident = resolveIncident({ service: 'acme-axon', restartMode: 'scale-to-zero' }, config);
    const points = new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
    const deps = { ecs, ecsOnce: ecs, elbv2: elbv2Client(sandbox.clientOptions()), clock: sandbox.clock, points, config, incidents: new IncidentStore(documentClient(sandbox.clientOptions()), 'incident-flows-incidents') };
    await restartService({ incident, attempt: 'restart', execution: EXECUTION }, deps);
    sandbox.clock.advance(30);
    expect(sandbox.fleet.snapshot('acme-axon')!.desiredCount).toBe(0);
    const retry = await restartService({ incident, attempt: 'restart', execution: EXECUTION }, deps);
    expect(retry.desiredBefore).toBe(2);
    expect(retry.changes.map((c) => c.desiredCount)).toEqual([0, 2]);
  });
});

test('invoked by hand, the restart and the fail-safe never scale a service up, and never touch one not managed', async () => {
  await withSandbox({}, async (sandbox) => {
    const clients = sandbox.clientOptions();
    const ecs = ecsClient(clients);
    const points = new RestorePoints(documentClient(clients), 'incident-flows-incidents');
    const managed = { ...config, managedServices: ['acme-axon'] };
    const deps = { ecs, ecsOnce: ecs, elbv2: elbv2Client(clients), clock: sandbox.clock, points, config: managed, incidents: new IncidentStore(documentClient(clients), 'incident-flows-incidents') };
    const incident = resolveIncident({ service: 'acme-axon' }, config);
    // The fail-safe with a made-up count and no restore point: nothing to restore, nothing changed.
    expect(await restoreDesiredCount({ incident, desiredCount: 400 }, deps)).toMatchObject({ restored: false, to: 2 });
    // A scale-out with a made-up count ends only a scale-in this workflow made, at the recorded count.
    const scaleOut = await restartService({ incident: { ...incident, restartMode: 'scale-to-zero' }, desiredCount: 400, attempt: 'scale-out', execution: EXECUTION }, deps).catch((e: Error) => e);
    expect((scaleOut as Error).message).toMatch(/no restore point for acme-axon/);
    const orbit = resolveIncident({ service: 'acme-orbit' }, config);
    const refused = await restartService({ incident: orbit, attempt: 'restart', execution: EXECUTION }, deps).catch((e: Error) => e);
    expect((refused as Error).name).toBe('ServiceNotManagedError');
    expect(((await restoreDesiredCount({ incident: orbit, desiredCount: 400 }, deps).catch((e: Error) => e)) as Error).name).toBe('ServiceNotManagedError');
    expect(sandbox.trail.mutatingEvents()).toEqual([]);
  });
});
