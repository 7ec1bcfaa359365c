/** Time comes through this interface so handlers run on the sandbox's virtual clock in drills and tests. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
