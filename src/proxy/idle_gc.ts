// One full garbage collection once the proxy falls idle after a burst.
//
// Short connections (a scan, a flood of garbage, a traffic peak) leave their
// objects in V8's old generation, which V8 collects lazily: the heap, and
// the memory it holds from the system, grows from burst to burst until a
// major collection it decides on its own (the memory bench's garbage rounds
// grew RSS by ~4 MiB a round, +36% over 12 rounds). When the last session
// ends after many others, a full collection costs nothing to anyone (no
// session is in progress) and gives that memory back: one is run then, at
// most once per IDLE_GC_MIN_INTERVAL_MS. The collector is V8's own, reached
// through node:v8 (the `--expose-gc` flag) and node:vm, where the runtime
// allows it; otherwise nothing happens.

import v8 from "node:v8";
import vm from "node:vm";

/** Sessions that must have ended since the last collection for one to be worth it. */
export const IDLE_GC_MIN_SESSIONS = 1000;
/** Quiet time (ms) with no session left before it runs: a lull, not a gap between requests. */
export const IDLE_GC_DELAY_MS = 250;
/** At most one collection per this many ms. */
export const IDLE_GC_MIN_INTERVAL_MS = 5000;

let gcFn: (() => void) | null | undefined;

/** V8's full collection, obtained once; null when the runtime does not give it. */
export function fullGcFunction(): (() => void) | null {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const f: unknown = vm.runInNewContext("gc");
      gcFn = typeof f === "function" ? (f as () => void) : null;
    } catch {
      gcFn = null;
    }
  }
  return gcFn;
}

/**
 * When to collect: the process reports each session's end and whether it
 * was the last one; `due()` says when to look again (0: not needed), `run()`
 * says whether to collect now.
 */
export class IdleGc {
  #ended = 0;
  #last = -Infinity;

  /** A session ended; returns the tick to check at (0 when there is nothing to do). */
  sessionEnded(actconn: number, now: number): number {
    this.#ended++;
    if (actconn > 0 || this.#ended < IDLE_GC_MIN_SESSIONS) return 0;
    return Math.max(now + IDLE_GC_DELAY_MS, this.#last + IDLE_GC_MIN_INTERVAL_MS);
  }

  /** The check is due: true when a collection should run now (and is counted as run). */
  run(actconn: number, now: number): boolean {
    if (actconn > 0 || this.#ended < IDLE_GC_MIN_SESSIONS) return false;
    if (now - this.#last < IDLE_GC_MIN_INTERVAL_MS) return false;
    this.#ended = 0;
    this.#last = now;
    return true;
  }
}
