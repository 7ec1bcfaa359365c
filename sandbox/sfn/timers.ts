import type { SimClock } from '#sandbox/clock';

/**
 * A virtual-time callback (timeouts, heartbeats, the machine deadline). It never counts as work
 * nor as a sleeping actor: it enters the clock as an actor of its own and sleeps, so it neither
 * blocks a jump nor causes one — it only adds a stop at its wake-up time. Cancelling withdraws
 * both, so a finished execution leaves nothing behind on the clock.
 */
export class VirtualTimer {
  private readonly abort = new AbortController();

  constructor(
    clock: SimClock,
    seconds: number,
    onFire: () => void,
  ) {
    clock.enter();
    clock.sleep(seconds, this.abort.signal).then(
      () => {
        clock.leave();
        onFire();
      },
      () => clock.leave(),
    );
  }

  cancel(): void {
    this.abort.abort();
  }
}

export class SleepInterruptedError extends Error {
  override name = 'SleepInterruptedError';
}

/** The calling actor sleeps `seconds` of virtual time; an abort ends the sleep early, rejecting with the signal's reason. */
export function interruptibleSleep(clock: SimClock, seconds: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return clock.sleep(seconds, signal).catch(() => Promise.reject(abortReason(signal)));
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new SleepInterruptedError('sleep interrupted');
}
