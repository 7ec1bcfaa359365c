import { expect, test } from 'vitest';
import { VirtualClock } from '../../sandbox/clock.ts';
import { runP0, withSandbox } from '../support/p0.ts';

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('a cancelled sleep neither holds time back nor pulls it forward', async () => {
  const clock = new VirtualClock(0);
  const abort = new AbortController();
  const cancelled = clock.sleep(3600, abort.signal).catch(() => 'cancelled');
  abort.abort();
  expect(await cancelled).toBe('cancelled');
  await clock.sleep(5);
  await settle();
  expect(clock.nowMs()).toBe(5000);
});

test('time stands still once an execution has ended (no jump to its leftover deadline)', async () => {
  await withSandbox({}, async (sandbox) => {
    sandbox.playOut();
    const started = sandbox.clock.nowMs();
    const run = await runP0(sandbox, { service: 'acme-axon' });
    expect(run.status).toBe('SUCCEEDED');
    const ended = started + run.simulatedSeconds * 1000;
    await settle();
    // The machine's 1 h+ deadline timer was cancelled with the execution, so an idle sandbox
    // (the `incident-flows sandbox` server between two alarms) keeps its time.
    expect(sandbox.clock.nowMs()).toBe(ended);
  });
});
