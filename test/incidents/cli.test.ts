import { expect, test } from 'vitest';
import { alarmCommand } from '../../cli/alarm.ts';
import { startCommand } from '../../cli/start.ts';
import { listCommand, statusCommand } from '../../cli/status.ts';
import { withIncidents } from './support.ts';

const capture = () => {
  const chunks: string[] = [];
  return { out: (t: string) => void chunks.push(t), text: () => chunks.join('') };
};

test('CLI against a running sandbox (--endpoint): a dry-run start prints the ARN, console link and planned changes; status and list show it', async () => {
  await withIncidents({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }, async (sandbox, eventBridge) => {
    sandbox.playOut();
    const endpoint = ['--endpoint', sandbox.url];
    const start = capture();
    expect(await startCommand(['p0', '--service', 'acme-axon', '--dry-run', ...endpoint], start.out)).toBe(0);
    expect(start.text()).toMatch(/^started arn:aws:states:us-east-1:123456789012:execution:incident-flows-p0-system-down:cli-acme-axon-/);
    expect(start.text()).toMatch(/console: https:\/\/us-east-1\.console\.aws\.amazon\.com\/states\/home\?region=us-east-1#\/v2\/executions\/details\/arn:aws:states:/);
    expect(start.text()).toMatch(/DRY RUN — planned changes \(none made\):\n  call=UpdateService cluster=acme-cluster service=acme-axon forceNewDeployment=true/);
    await eventBridge.drain();

    const status = capture();
    expect(await statusCommand([...endpoint, '--report'], status.out)).toBe(0);
    expect(status.text()).toMatch(/SUCCEEDED — dry-run {2}\(dry run\)/);
    expect(status.text()).toMatch(/incident: cli-acme-axon-\S+ closed, dry-run/);
    expect(status.text()).toMatch(/## Actions/);

    const list = capture();
    expect(await listCommand(endpoint, list.out)).toBe(0);
    expect(list.text()).toMatch(/SUCCEEDED\s+\d+ s\s+incident-flows-p0-system-down\s+cli-acme-axon-/);
  });
});

test('CLI start: a bad service name is refused before anything starts, naming the field', async () => {
  await withIncidents({}, async (sandbox) => {
    await expect(startCommand(['p0', '--service', 'acme axon!', '--endpoint', sandbox.url], () => {})).rejects.toThrow(/field "service"/);
    await expect(startCommand(['p9', '--service', 'acme-axon', '--endpoint', sandbox.url], () => {})).rejects.toThrow(/unknown workflow "p9"/);
    expect(sandbox.sfn.listExecutionRecords()).toHaveLength(0);
  });
});

test('CLI alarm (set-alarm-state) against a running sandbox: ALARM starts P0 through start-incident; OK and unknown alarms start nothing', async () => {
  await withIncidents({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }, async (sandbox, eventBridge) => {
    sandbox.playOut();
    const endpoint = ['--endpoint', sandbox.url];
    const out = capture();
    expect(await alarmCommand(['acme-orbit-unhealthy-hosts', '--state', 'OK', ...endpoint], out.out)).toBe(0);
    await eventBridge.settled();
    expect(sandbox.sfn.listExecutionRecords()).toHaveLength(0);

    expect(await alarmCommand(['acme-axon-unhealthy-hosts', ...endpoint], out.out)).toBe(0);
    await eventBridge.drain();
    const runs = sandbox.sfn.listExecutionRecords();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'SUCCEEDED', name: expect.stringMatching(/^acme-axon-\d{8}T\d{6}Z-[0-9a-f]+--p0$/) });
    expect(JSON.parse(runs[0]!.input)).toMatchObject({ service: 'acme-axon', trigger: { kind: 'alarm', alarmName: 'acme-axon-unhealthy-hosts' } });
    expect(sandbox.fleet.snapshot('acme-axon')).toMatchObject({ desiredCount: 2, runningCount: 2 });

    await expect(alarmCommand(['no-such-alarm', ...endpoint], out.out)).rejects.toMatchObject({ name: 'ResourceNotFound' });
    await expect(alarmCommand(['acme-axon-unhealthy-hosts', '--state', 'red', ...endpoint], out.out)).rejects.toThrow(/--state "red": use one of ALARM, OK/);
    expect(sandbox.sfn.listExecutionRecords()).toHaveLength(1);
  });
});

test('CLI start refuses to run a second restart loop on a service whose alarm incident is still remediating, unless --force', async () => {
  await withIncidents(
    { faults: [{ service: 'acme-axon', kind: 'crash-loop' }] },
    async (sandbox, eventBridge) => {
      sandbox.playOut();
      // Budget spent: the alarm's execution waits for a person's approval, i.e. it is RUNNING.
      const alarm = await eventBridge.fireAlarm({ alarmName: 'acme-axon-unhealthy-hosts' });
      expect(alarm.outcome).toBe('started');
      const endpoint = ['--endpoint', sandbox.url];
      await expect(startCommand(['p0', '--service', 'acme-axon', ...endpoint], () => {})).rejects.toThrow(
        /acme-axon already has an open incident acme-axon-\S+ \(execution \S+--p0\) remediating it .* --force/,
      );
      expect(sandbox.sfn.listExecutionRecords()).toHaveLength(1);
      // A dry run changes nothing, so it is always allowed; --force is the person's explicit call.
      expect(await startCommand(['p0', '--service', 'acme-axon', '--dry-run', ...endpoint], () => {})).toBe(0);
      expect(await startCommand(['p0', '--service', 'acme-axon', '--force', ...endpoint], () => {})).toBe(0);
      expect(sandbox.sfn.listExecutionRecords()).toHaveLength(3);
    },
    { budget: { maxAutomatic: 0, windowSeconds: 3600 } },
  );
});
