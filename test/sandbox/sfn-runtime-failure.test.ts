import { describe, expect, it } from 'vitest';
import { VirtualClock } from '#sandbox/clock';
import { SfnFacade, type Handlers } from '#sandbox/sfn/facade';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';

/** Resolves when `work` does, or rejects after `ms` of real time (a hang fails the test instead of timing it out). */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);
}

/** Text of arrays nested `depth` deep: JSON.parse reads it, JSON.stringify overflows the stack on it. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/**
 * A throw while the execution records what the runner did (the history, the event listeners) must
 * fail the execution — States.Runtime, as Step Functions reports an execution it cannot go on
 * with — not leave its task waiting for a history entry that never comes with the clock held.
 */
describe('an execution that cannot record its own history', () => {
  it('fails with States.Runtime (not a bare RangeError) when a state makes a value too deep to carry, and the clock still moves', async () => {
    const clock = new VirtualClock();
    // The handler answers with text; the Pass state turns it into a value 200,000 arrays deep,
    // which neither the runner nor the history (JSON.stringify) can handle.
    const handlers: Handlers = { deep: async () => ({ text: nested(200_000) }) };
    const facade = new SfnFacade({ clock, region: REGION, accountId: ACCOUNT, handlers, validate: false });
    facade.addDefinition('too-deep', {
      StartAt: 'Fetch',
      States: {
        Fetch: { Type: 'Task', Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:deep`, Next: 'Parse' },
        Parse: { Type: 'Pass', Parameters: { 'value.$': 'States.StringToJson($.text)' }, Next: 'Use' },
        Use: { Type: 'Task', Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:deep`, End: true },
      },
    } as never);
    const arn = facade.start('too-deep', {});
    const record = await within(facade.wait(arn), 10_000);
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('States.Runtime');
    expect(record.cause).toContain('Maximum call stack size exceeded');
    expect(facade.history(arn).at(-1)?.type).toBe('ExecutionFailed');
    await within(clock.sleep(60), 2000);
  });

  it('fails with States.Runtime when an event listener throws, releases the clock and leaves nothing unhandled', async () => {
    const clock = new VirtualClock();
    const handlers: Handlers = { echo: async (event) => event };
    const facade = new SfnFacade({ clock, region: REGION, accountId: ACCOUNT, handlers, validate: false });
    facade.addDefinition('listener-throws', {
      StartAt: 'Call',
      States: {
        Call: { Type: 'Task', Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:echo`, Next: 'Settle' },
        Settle: { Type: 'Wait', Seconds: 30, End: true },
      },
    } as never);
    facade.onEvent((event) => {
      if (event.type === 'TaskStateEntered') throw new RangeError('Maximum call stack size exceeded');
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const arn = facade.start('listener-throws', { service: 'acme-axon' });
      const record = await within(facade.wait(arn), 5000);
      expect(record).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
      expect(record.cause).toContain('Maximum call stack size exceeded');
      expect(facade.history(arn).map((e) => e.type)).toEqual(['ExecutionStarted', 'TaskStateEntered', 'ExecutionFailed']);
      // Nothing holds the clock: a sleeper wakes at once.
      const before = clock.nowMs();
      await within(clock.sleep(600), 2000);
      expect(clock.nowMs() - before).toBe(600_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('fails at once when a listener throws on every event, ExecutionStarted included, without holding the clock', async () => {
    const clock = new VirtualClock();
    const facade = new SfnFacade({ clock, region: REGION, accountId: ACCOUNT, handlers: { echo: async (event) => event }, validate: false });
    facade.addDefinition('always-throws', { StartAt: 'Settle', States: { Settle: { Type: 'Wait', Seconds: 30, End: true } } } as never);
    facade.onEvent(() => {
      throw new TypeError('listener broke');
    });
    const arn = facade.start('always-throws', {});
    const record = await within(facade.wait(arn), 5000);
    expect(record).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(record.cause).toContain('TypeError: listener broke');
    expect(facade.history(arn).map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFailed']);
    await within(clock.sleep(60), 2000);
  });
});
