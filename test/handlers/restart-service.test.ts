import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { expect, test } from 'vitest';
import { ecsClient } from '#commons/clients';
import { resolveIncident } from '#commons/incident';
import { restartService } from '../../handlers/restart-service.ts';
import { withSandbox } from '../support/p0.ts';

const config = {
  defaultCluster: 'acme-cluster',
  managedServices: [],
  logGroupPattern: '/ecs/{service}',
  serviceLogGroups: {},
  expectedStartSeconds: 30,
  healthRequestTimeoutMs: 2000,
  incidentsTable: 'incidents',
  approvalsTable: 'approvals',
};

test('scale-to-zero comes back to the current desired count when it was raised after the assessment (e.g. during an approval wait)', async () => {
  await withSandbox({}, async (sandbox) => {
    const ecs = ecsClient(sandbox.clientOptions());
    // Assessed at 2; autoscaling then raised the service to 4 while people decided.
    await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 4 }));
    const incident = resolveIncident({ service: 'acme-axon', restartMode: 'scale-to-zero' }, config);
    const result = await restartService({ incident, desiredCount: 2, attempt: 'restart' }, { ecs, clock: sandbox.clock });
    expect(result.desiredBefore).toBe(4);
    expect(sandbox.trail.mutatingEvents().map((e) => e.requestParameters.desiredCount)).toEqual([4, 0, 4]);
    expect(sandbox.fleet.snapshot('acme-axon')!.desiredCount).toBe(4);
  });
});

test('a retried scale-to-zero that finds the service at 0 still comes back to the assessed count', async () => {
  await withSandbox({}, async (sandbox) => {
    const ecs = ecsClient(sandbox.clientOptions());
    await ecs.send(new UpdateServiceCommand({ cluster: 'acme-cluster', service: 'acme-axon', desiredCount: 0 }));
    const incident = resolveIncident({ service: 'acme-axon', restartMode: 'scale-to-zero' }, config);
    const result = await restartService({ incident, desiredCount: 2, attempt: 'restart' }, { ecs, clock: sandbox.clock });
    expect(result.desiredBefore).toBe(2);
    expect(sandbox.fleet.snapshot('acme-axon')!.desiredCount).toBe(2);
  });
});
