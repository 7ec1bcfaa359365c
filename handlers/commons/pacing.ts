import type { Clock } from './clock.ts';

/** A clock that can also wait: the sandbox's waits on virtual time; on AWS a timer does. */
export type SleepingClock = Clock & { sleep?(seconds: number): Promise<void> };

export function sleepOn(clock: SleepingClock, seconds: number): Promise<void> {
  return clock.sleep ? clock.sleep(seconds) : new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/**
 * At most `calls` calls in any `seconds` of the clock, under an API's account-wide rate (CloudTrail
 * LookupEvents 2/s, CloudWatch Logs FilterLogEvents 5/s): a quiet run never waits; a long one is
 * paced, sleeping on the clock (the sandbox's virtual time shows it).
 */
export function pacer(clock: SleepingClock, calls: number, seconds: number): () => Promise<void> {
  const recent: number[] = [];
  return async () => {
    for (;;) {
      const now = clock.now().getTime();
      while (recent.length > 0 && recent[0]! <= now - seconds * 1000) recent.shift();
      if (recent.length < calls) {
        recent.push(now);
        return;
      }
      await sleepOn(clock, (recent[0]! + seconds * 1000 - now) / 1000);
    }
  };
}
