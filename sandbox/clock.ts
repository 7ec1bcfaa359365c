import type { Clock } from '#commons/clock';

/**
 * Simulated time for the sandbox. Nothing moves on its own: time advances when a sleeper asks
 * for it (a Wait state, a retry interval, a drill step). With several concurrent executions
 * ("actors"), time only jumps once every actor is asleep, to the earliest wake-up — a
 * discrete-event scheduler — so one execution's 30 s wait does not age another by 30 s.
 */
export class VirtualClock implements Clock {
  private ms: number;
  private actors = 0;
  private sleepers: { wakeAt: number; resolve: () => void }[] = [];
  private scheduled = false;

  constructor(start: Date | number = Date.parse('2026-11-28T03:00:00Z')) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  nowMs(): number {
    return this.ms;
  }

  /** Moves time forward unconditionally (used before an incident to let a fault play out). */
  advance(seconds: number): void {
    if (seconds < 0) throw new RangeError(`cannot move the clock backwards (${seconds}s)`);
    this.ms += Math.round(seconds * 1000);
    this.wakeDue();
  }

  /** Registers a participant whose sleeps must all line up before time jumps. */
  enter(): void {
    this.actors += 1;
  }

  leave(): void {
    this.actors = Math.max(0, this.actors - 1);
    this.schedule();
  }

  /**
   * Resolves once the virtual clock has moved `seconds` forward; costs no real time. An abort
   * withdraws the sleeper (a cancelled timeout must not hold time back or pull it forward) and
   * rejects with the signal's reason.
   */
  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (seconds <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const sleeper = { wakeAt: this.ms + Math.round(seconds * 1000), resolve: () => {} };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((x) => x !== sleeper);
        this.schedule();
        reject(signal!.reason);
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Let in-flight work (other actors reaching their own sleep) settle before jumping.
    setImmediate(() => {
      this.scheduled = false;
      if (this.sleepers.length === 0) return;
      if (this.actors > 0 && this.sleepers.length < this.actors) return;
      const next = Math.min(...this.sleepers.map((s) => s.wakeAt));
      if (next > this.ms) this.ms = next;
      this.wakeDue();
    });
  }

  private wakeDue(): void {
    const due = this.sleepers.filter((s) => s.wakeAt <= this.ms);
    this.sleepers = this.sleepers.filter((s) => s.wakeAt > this.ms);
    for (const s of due) s.resolve();
    if (this.sleepers.length > 0) this.schedule();
  }
}
