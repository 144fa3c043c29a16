// Random with power of N choices (`balance random(<draws>)`; HAProxy's
// get_server_rnd() in backend.c over the lb_chash.c tree).
//
// Each draw picks a server at random in proportion to its weight; after
// `draws` draws (default 2) the least loaded of the drawn servers wins, load
// being cur / weight compared by cross multiplication, and on equal load the
// later draw wins (as HAProxy). With draws = 1 this is plain weighted random;
// with 2 it is the classic "power of two choices", which keeps the spread of
// connection counts small without any shared state.
//
// Weighted draws use a table of cumulative weights built at update() and a
// binary search: pick() is O(draws * log n) without allocation. A draw that
// lands on a server that cannot take the connection (full, avoided, down since
// the last update()) moves on to the next candidate. The generator is a
// 32-bit mulberry32, seeded from Math.random() unless a seed is given (tests).
// update() is O(n). Never touches sockets.

import { LbAlgorithm } from "./lb_algo.ts";
import { type LbRequest, type LbServer, srvCanTake } from "./lb_types.ts";

/** Default number of draws of `balance random` (HAProxy's default). */
import { RANDOM_DEFAULT_DRAWS } from "../config/balance.ts";
export { RANDOM_DEFAULT_DRAWS };

/** `balance random(draws)`: the least loaded of `draws` weighted random draws. */
export class RandomLb extends LbAlgorithm {
  readonly draws: number;
  /** #cum[i] = sum of the weights of candidates 0..i, as of update(). */
  #cum: Float64Array;
  #total: number;
  /** mulberry32 state. */
  #rng: number;

  /**
   * Builds the balancer over `servers` (not copied: the core mutates them) and
   * runs update(). `draws` must be an integer >= 1; `seed` makes the sequence
   * reproducible (tests), otherwise it is random.
   */
  constructor(
    servers: readonly LbServer[],
    allbackups: boolean,
    draws: number = RANDOM_DEFAULT_DRAWS,
    seed: number | null = null,
  ) {
    if (!Number.isInteger(draws) || draws < 1) {
      throw new RangeError(`Invalid random draws "${draws}": expected an integer >= 1`);
    }
    super(servers, allbackups);
    this.draws = draws;
    this.#cum = new Float64Array(0);
    this.#total = 0;
    this.#rng = (seed ?? Math.random() * 0x100000000) | 0;
    this.update();
  }

  /** Recomputes the candidates and the cumulative weights with the weights as they are now. */
  update(): void {
    const cands = this.cands;
    this.collect();
    if (this.#cum.length < cands.length) this.#cum = new Float64Array(cands.length);
    let total = 0;
    for (let i = 0; i < cands.length; i++) {
      total += cands[i]!.weight;
      this.#cum[i] = total;
    }
    this.#total = total;
  }

  /**
   * The least loaded of `draws` weighted random draws among the candidates
   * that can take a connection; null when none can.
   */
  choose(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    let best: LbServer | null = null;
    for (let d = 0; d < this.draws; d++) {
      const s = this.#draw(avoid);
      if (s === null) return null;
      // Keep the newer draw unless it is strictly more loaded (cur / weight).
      if (best === null || s.cur * best.weight <= best.cur * s.weight) best = s;
    }
    return best;
  }

  /** One weighted draw, moved on to the next takeable candidate if needed; null if none. */
  #draw(avoid: LbServer | null): LbServer | null {
    const cands = this.cands;
    const n = cands.length;
    if (n === 0) return null;
    const r = this.#next() * this.#total;
    const cum = this.#cum;
    // First candidate whose cumulative weight exceeds r.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    let i = lo;
    for (let k = 0; k < n; k++) {
      const s = cands[i]!;
      if (srvCanTake(s, avoid)) return s;
      i = i + 1 === n ? 0 : i + 1;
    }
    return null;
  }

  /** mulberry32: the next uniform number in [0, 1). */
  #next(): number {
    let t = (this.#rng = (this.#rng + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }
}
