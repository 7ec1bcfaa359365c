import type { Clock } from '#commons/clock';

/**
 * The sandbox's time, in one of two modes behind one interface:
 *
 * - `VirtualClock` (drills, tests): nothing moves on its own; time jumps to the next wake-up once
 *   every participant is asleep — ten simulated minutes take milliseconds.
 * - `WallClock` (`incident-flows sandbox`): time follows the wall clock from now, `speed` times
 *   faster, so the runbook's own `aws` commands, pasted by a person, behave as on AWS.
 *
 * Simulated components (the ECS scheduler, EventBridge deliveries) register passive stops with
 * `at`: a stop fires when time reaches it, but never moves time by itself — an idle sandbox stays
 * idle, and a jump over a stop halts there first, so events carry the time they happened.
 */
export interface SimClock extends Clock {
  readonly mode: 'virtual' | 'wall';
  nowMs(): number;
  /** Moves time forward unconditionally, firing every stop on the way in order. */
  advance(seconds: number): void;
  /** A participant whose work must finish before time jumps (virtual mode; no-op on the wall clock). */
  enter(): void;
  leave(): void;
  /** Resolves once `seconds` have passed on this clock; an abort withdraws it and rejects with the reason. */
  sleep(seconds: number, signal?: AbortSignal): Promise<void>;
  /**
   * Time the automation's own machinery costs (a Lambda cold start, an API call's round trip:
   * sandbox/latency.ts). A sleep like any other, except that it is never stuck behind a participant
   * that holds the clock without sleeping: once nothing has happened on the clock for a moment of
   * real time, time moves on to the earliest such wake-up (and no further), so a driver holding the
   * clock while it waits for work that costs time does not deadlock it.
   */
  spend(seconds: number, signal?: AbortSignal): Promise<void>;
  /** Runs `run` when time reaches `atMs` (at once if it already has). Returns a cancel function. */
  at(atMs: number, run: () => void): () => void;
}

interface Sleeper {
  wakeAt: number;
  resolve: () => void;
  /** Spent by the automation (VirtualClock.spend): may move time while a holder does not sleep. */
  spent: boolean;
}

/**
 * Sleepers of one clock: `sleep` adds one, an abort withdraws it (a cancelled timeout must not
 * hold time back or pull it forward) and rejects with the signal's reason. `changed` runs after
 * either, so the clock can reconsider when to wake next.
 */
class Sleepers {
  private items: Sleeper[] = [];

  constructor(private readonly changed: () => void) {}

  get size(): number {
    return this.items.length;
  }

  /** The earliest wake-up, if anyone sleeps. */
  next(): number | undefined {
    return this.items.length === 0 ? undefined : Math.min(...this.items.map((s) => s.wakeAt));
  }

  /** The earliest wake-up of a latency being spent, if any. */
  nextSpent(): number | undefined {
    const spent = this.items.filter((s) => s.spent);
    return spent.length === 0 ? undefined : Math.min(...spent.map((s) => s.wakeAt));
  }

  sleep(nowMs: number, seconds: number, signal?: AbortSignal, spent = false): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (seconds <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = { wakeAt: nowMs + Math.round(seconds * 1000), resolve: () => {}, spent };
      const onAbort = () => {
        this.items = this.items.filter((x) => x !== sleeper);
        this.changed();
        reject(signal!.reason);
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.items.push(sleeper);
      this.changed();
    });
  }

  /** Wakes every sleeper due at `ms`. */
  wakeDue(ms: number): void {
    const due = this.items.filter((s) => s.wakeAt <= ms);
    this.items = this.items.filter((s) => s.wakeAt > ms);
    for (const s of due) s.resolve();
  }
}

interface Stop {
  at: number;
  seq: number;
  run: () => void;
}

/** Time-ordered passive stops; equal times fire in the order they were added. */
class Stops {
  private items: Stop[] = [];
  private seq = 0;

  add(at: number, run: () => void): () => void {
    const stop = { at, seq: (this.seq += 1), run };
    this.items.push(stop);
    this.items.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return () => {
      this.items = this.items.filter((s) => s !== stop);
    };
  }

  next(): number | undefined {
    return this.items[0]?.at;
  }

  /** Pops and runs every stop due at `ms`, one at a time (a stop may add or cancel others). */
  fireDue(ms: number): void {
    for (let s = this.items[0]; s && s.at <= ms; s = this.items[0]) {
      this.items.shift();
      s.run();
    }
  }
}

export class VirtualClock implements SimClock {
  readonly mode = 'virtual' as const;
  private ms: number;
  private actors = 0;
  private readonly sleepers = new Sleepers(() => this.schedule());
  private readonly stops = new Stops();
  private scheduled = false;
  /** Bumped by everything that happens on the clock: a spend may break a hold only when it stays put. */
  private activity = 0;
  private quietCheck: NodeJS.Timeout | undefined;

  constructor(start: Date | number = Date.parse('2026-11-28T03:00:00Z')) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  nowMs(): number {
    return this.ms;
  }

  advance(seconds: number): void {
    if (seconds < 0) throw new RangeError(`cannot move the clock backwards (${seconds}s)`);
    const target = this.ms + Math.round(seconds * 1000);
    for (let next = this.stops.next(); next !== undefined && next <= target; next = this.stops.next()) {
      this.ms = Math.max(this.ms, next);
      this.stops.fireDue(this.ms);
    }
    this.ms = target;
    this.wakeDue();
  }

  /** Registers a participant whose sleeps must all line up before time jumps. */
  enter(): void {
    this.actors += 1;
    this.activity += 1;
  }

  leave(): void {
    this.actors = Math.max(0, this.actors - 1);
    this.activity += 1;
    this.schedule();
  }

  /** Resolves once the virtual clock has moved `seconds` forward; costs no real time (see `Sleepers`). */
  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    return this.sleepers.sleep(this.ms, seconds, signal);
  }

  /**
   * A latency (see SimClock.spend). Its caller is usually a participant, or waited on by one, so it
   * counts as that participant asleep, as any sleep does. When the count still does not line up —
   * a participant holds the clock and waits on this very work without sleeping (a test or a drill
   * freezing time around a click) — time moves to the earliest spend once the clock has been quiet
   * for QUIET_MS of real time: far enough for the work to go on, never past anything due before it.
   */
  spend(seconds: number, signal?: AbortSignal): Promise<void> {
    return this.sleepers.sleep(this.ms, seconds, signal, true);
  }

  at(atMs: number, run: () => void): () => void {
    if (atMs <= this.ms) {
      queueMicrotask(run);
      return () => {};
    }
    return this.stops.add(atMs, run);
  }

  private schedule(): void {
    this.activity += 1;
    if (this.scheduled) return;
    this.scheduled = true;
    // Let in-flight work (other actors reaching their own sleep) settle before jumping.
    setImmediate(() => {
      this.scheduled = false;
      const wake = this.sleepers.next();
      if (wake === undefined) return;
      if (this.actors > 0 && this.sleepers.size < this.actors) {
        this.watchForStall();
        return;
      }
      const stop = this.stops.next();
      if (stop !== undefined && stop < wake) {
        // Halt at the stop; what it sets off (an event delivery) may enter before time goes on.
        this.ms = Math.max(this.ms, stop);
        this.stops.fireDue(this.ms);
        this.schedule();
        return;
      }
      if (wake > this.ms) this.ms = wake;
      this.stops.fireDue(this.ms);
      this.wakeDue();
    });
  }

  private wakeDue(): void {
    this.sleepers.wakeDue(this.ms);
    if (this.sleepers.size > 0) this.schedule();
  }

  /**
   * Time is held (a participant is not asleep) while a latency is being spent: if nothing happens on
   * the clock for QUIET_MS of real time, the holder is waiting on that latency — move to it.
   */
  private watchForStall(): void {
    if (this.quietCheck || this.sleepers.nextSpent() === undefined) return;
    const seen = this.activity;
    this.quietCheck = setTimeout(() => {
      this.quietCheck = undefined;
      const spent = this.sleepers.nextSpent();
      if (spent === undefined || !(this.actors > 0 && this.sleepers.size < this.actors)) return;
      if (this.activity !== seen) {
        this.watchForStall();
        return;
      }
      // In time order: stops and other sleepers due on the way fire first, as any jump does.
      this.advanceTo(spent);
    }, QUIET_MS);
    // A pending check must not keep a finished process alive.
    this.quietCheck.unref();
  }

  private advanceTo(target: number): void {
    for (let next = this.stops.next(); next !== undefined && next <= target; next = this.stops.next()) {
      this.ms = Math.max(this.ms, next);
      this.stops.fireDue(this.ms);
    }
    this.ms = Math.max(this.ms, target);
    this.wakeDue();
  }
}

/**
 * Real milliseconds without anything happening on the virtual clock after which a held clock lets a
 * latency be spent. In-process work between two clock events (a loopback request, a dynalite write)
 * takes a few ms at most; a participant still not asleep after this is waiting on the latency itself.
 */
const QUIET_MS = 15;

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Wall time from `start`, `speed` times faster: one real timer drives every sleeper and stop, so
 * `advance` (a person skipping ahead) fires them in order too.
 */
export class WallClock implements SimClock {
  readonly mode = 'wall' as const;
  private readonly realStart = performance.now();
  private offsetMs = 0;
  private readonly sleepers = new Sleepers(() => this.arm());
  private readonly stops = new Stops();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly startMs: number = Date.now(),
    readonly speed = 1,
  ) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number (got ${speed})`);
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return Math.floor(this.startMs + this.offsetMs + (performance.now() - this.realStart) * this.speed);
  }

  advance(seconds: number): void {
    if (seconds < 0) throw new RangeError(`cannot move the clock backwards (${seconds}s)`);
    this.offsetMs += Math.round(seconds * 1000);
    this.fire();
  }

  enter(): void {}

  leave(): void {}

  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    return this.sleepers.sleep(this.nowMs(), seconds, signal);
  }

  /** Wall time holds nobody back: a latency is a sleep. */
  spend(seconds: number, signal?: AbortSignal): Promise<void> {
    return this.sleep(seconds, signal);
  }

  at(atMs: number, run: () => void): () => void {
    const cancel = this.stops.add(atMs, run);
    this.arm();
    return cancel;
  }

  /** Stops the driving timer (the server is shutting down). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    const now = this.nowMs();
    this.stops.fireDue(now);
    this.sleepers.wakeDue(now);
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const wakes = [this.stops.next(), this.sleepers.next()].filter((x): x is number => x !== undefined);
    if (wakes.length === 0) return;
    const realMs = Math.max(0, (Math.min(...wakes) - this.nowMs()) / this.speed);
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMER_MS, Math.ceil(realMs)));
  }
}
