// Per-second counters of what a client may only do so often on one HTTP/2
// connection (the flood limits of H2Settings): cancelled streams (rapid
// reset), empty frames, SETTINGS and PING. One window per connection,
// restarted each second; it only counts, the connection decides.

import type { H2Tune } from "../config/types.ts";

/** Streams reset by the client before their response began. */
export const RATE_RESET = 0;
/** Empty DATA/HEADERS/CONTINUATION without END_STREAM. */
export const RATE_EMPTY = 1;
export const RATE_SETTINGS = 2;
export const RATE_PING = 3;

export class H2Rates {
  #start: number;
  #counts: Int32Array;
  #limits: Int32Array;

  constructor(t: H2Tune) {
    this.#start = 0;
    this.#counts = new Int32Array(4);
    this.#limits = Int32Array.of(
      t.maxResetsPerSec,
      t.maxEmptyFramesPerSec,
      t.maxSettingsPerSec,
      t.maxPingsPerSec,
    );
  }

  /** Counts one event of `kind` at `now` (ms); true when its limit is exceeded. */
  exceeded(kind: number, now: number): boolean {
    if (now - this.#start >= 1000) {
      this.#start = now;
      this.#counts.fill(0);
    }
    return ++this.#counts[kind]! > this.#limits[kind]!;
  }
}
