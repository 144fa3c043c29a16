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

/** The real clock: performance.now() plus one so that no tick is 0. */
export const realClock: Clock = {
  now: () => Math.floor(performance.now()) + 1,
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
