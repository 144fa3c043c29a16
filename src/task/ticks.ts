// Ticks: the time base of timers (HAProxy's ticks.h).
//
// A tick is an integer number of milliseconds on a monotonic clock. The value
// 0 is TICK_ETERNITY, "never", so that an unset expiry is just a zero field and
// refreshing a timeout is assigning a number. This file never arms a timer.

/** The tick that never expires. */
export const TICK_ETERNITY = 0;

/** A monotonic clock in milliseconds, never returning 0 (injectable for tests). */
export interface Clock {
  now(): number;
  /** Arms a one-shot timer; the handle is opaque (Deno returns a Timeout object). */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/**
 * The tick read in the current run of the microtask queue, 0 when none was.
 * performance.now() is a runtime op (about 0.2 µs): a keep-alive request read
 * it once or twice (a write completion, an HTTP/2 stream's start) though the
 * I/O completions of one event-loop turn all run, one after the other,
 * without waiting between them. They now share one read, as HAProxy's events
 * of one poll loop share its now_ms: the tick may be as old as the CPU time
 * spent since in this turn, never a wait (the cache is forgotten by a
 * microtask queued at the first read, which runs before the event loop polls
 * again: every completion already queued in this turn runs before it).
 */
let turnTick = 0;
const forgetTurnTick = () => {
  turnTick = 0;
};

/** The real clock: performance.now() plus one so that no tick is 0, read once per turn. */
export const realClock: Clock = {
  now: () => {
    if (turnTick !== 0) return turnTick;
    queueMicrotask(forgetTurnTick);
    return turnTick = Math.floor(performance.now()) + 1;
  },
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** now + timeout, or TICK_ETERNITY when the timeout is 0 (not set). */
export function tickAdd(now: number, timeout: number): number {
  return timeout > 0 ? now + timeout : TICK_ETERNITY;
}

/** The earlier of two ticks, ignoring TICK_ETERNITY. */
export function tickFirst(a: number, b: number): number {
  if (a === TICK_ETERNITY) return b;
  if (b === TICK_ETERNITY) return a;
  return a < b ? a : b;
}

/** True when tick t is set and not later than now. */
export function tickIsExpired(t: number, now: number): boolean {
  return t !== TICK_ETERNITY && t <= now;
}
