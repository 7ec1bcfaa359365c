import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { expect, test } from 'vitest';
import { documentClient, ecsClient, elbv2Client } from '#commons/clients';
import { RestorePoints } from '#safety/restore-points';
import { resolveIncident } from '#commons/incident';
import { restartService } from '../../handlers/restart-service.ts';
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
};

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:test';

test('scale-to-zero comes back to the current desired count when it was raised after the assessment (e.g. during an approval wait)', async () => {
  await withSandbox({}, async (sandbox) => {
    const ecs = ecsClient(sandbox.clientOptions());
    // Assessed at 2; autoscaling then raised the service to 4 while people decided.
    await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 4 }));
    const incident = resolveIncident({ service: 'acme-axon', restartMode: 'scale-to-zero' }, config);
    const deps = { ecs, elbv2: elbv2Client(sandbox.clientOptions()), clock: sandbox.clock, points: new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents') };
    const scaleIn = await restartService({ incident, desiredCount: 2, attempt: 'restart', execution: EXECUTION }, deps);
    expect(scaleIn).toMatchObject({ phase: 'scale-in', goal: 'stopped', desiredBefore: 4 });
    const scaleOut = await restartService({ incident, desiredCount: scaleIn.desiredBefore, attempt: 'scale-out', execution: EXECUTION }, deps);
    expect(scaleOut).toMatchObject({ phase: 'scale-out', goal: 'serving' });
    expect(sandbox.trail.mutatingEvents().map((e) => e.requestParameters.desiredCount)).toEqual([4, 0, 4]);
    expect(sandbox.fleet.snapshot('acme-axon')!.desiredCount).toBe(4);
  });
});

test('a retried scale-in that finds the service at 0 still plans to come back to the assessed count', async () => {
  await withSandbox({}, async (sandbox) => {
    const ecs = ecsClient(sandbox.clientOptions());
    await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 0 }));
    const incident = resolveIncident({ service: 'acme-axon', restartMode: 'scale-to-zero' }, config);
    const points = new RestorePoints(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
    const result = await restartService({ incident, desiredCount: 2, attempt: 'restart', execution: EXECUTION }, { ecs, elbv2: elbv2Client(sandbox.clientOptions()), clock: sandbox.clock, points });
    expect(result.desiredBefore).toBe(2);
    expect(result.changes.map((c) => c.desiredCount)).toEqual([0, 2]);
  });
});
