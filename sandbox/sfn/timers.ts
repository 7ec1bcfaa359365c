import type { VirtualClock } from '#sandbox/clock';

/**
 * VirtualClock.sleep cannot be cancelled, and a forgotten sleeper still counts towards "every
 * actor is asleep", which would let time jump while an execution is busy. Both helpers here keep
 * the count honest by pairing any sleeper that nobody waits for with a clock actor ("ghost")
 * until it wakes: a balanced sleeper+actor never blocks a jump and never causes one, it only adds
 * a harmless intermediate stop at its wake-up time.
 */

/** A virtual-time callback (timeouts, heartbeats); never counts as work or as a sleeping actor. */
export class VirtualTimer {
  private cancelled = false;

  constructor(clock: VirtualClock, seconds: number, onFire: () => void) {
    clock.enter();
    void clock.sleep(seconds).then(() => {
      clock.leave();
      if (!this.cancelled) onFire();
    });
  }

  cancel(): void {
    this.cancelled = true;
  }
}

export class SleepInterruptedError extends Error {
  override name = 'SleepInterruptedError';
}

/**
 * The calling actor sleeps `seconds` of virtual time; an abort ends the sleep early (rejecting
 * with the signal's reason) and leaves a ghost actor to balance the orphaned sleeper.
 */
export function interruptibleSleep(clock: VirtualClock, seconds: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  if (seconds <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      clock.enter();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void clock.sleep(seconds).then(() => {
      if (settled) {
        clock.leave();
        return;
      }
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new SleepInterruptedError('sleep interrupted');
}
