// Static weighted round robin (`balance static-rr`; HAProxy's lb_map.c).
//
// update() lays the candidates out in a map of (sum of weights / their gcd)
// slots, filled in smooth order (the same smooth-WRR walk as roundrobin, done
// once), and pick() walks that map with a cursor. Weights are therefore frozen
// at update(): a weight change without update() does not change the ratio
// (HAProxy's static-rr cannot change weights at run time at all). The same map
// serves `hash-type map-based` in lb_hash.ts (key % map size).
//
// pick() is O(1) while the slot under the cursor can take the connection;
// skipping full servers walks further, bounded by one lap of the map after an
// O(n) check that someone can take it. update() is O(map size * n), with
// map size <= 256 * n. Never touches sockets.

import {
  anyCanTake,
  anyUsable,
  collectCandidates,
  type LbRequest,
  type LbServer,
  type LoadBalancer,
  srvCanTake,
  weightGcd,
} from "./lb_types.ts";

/**
 * Fills `map` with the servers of `cands` in smooth weighted order: each server
 * appears weight/gcd times, interleaved as smooth WRR would pick them
 * (HAProxy's map_recalc()). Weights are read once, here. Returns the map size
 * (0 when `cands` is empty). `map` is reused (its length is set).
 */
export function buildSmoothMap(cands: readonly LbServer[], map: LbServer[]): number {
  map.length = 0;
  const n = cands.length;
  if (n === 0) return 0;
  const g = weightGcd(cands);
  const w = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const wi = Math.max(0, cands[i]!.weight) / g;
    w[i] = wi;
    total += wi;
  }
  const score = new Float64Array(n);
  for (let slot = 0; slot < total; slot++) {
    let best = 0;
    for (let i = 0; i < n; i++) {
      score[i] = score[i]! + w[i]!;
      if (score[i]! > score[best]!) best = i;
    }
    score[best] = score[best]! - total;
    map.push(cands[best]!);
  }
  return total;
}

/** `balance static-rr`: weighted round robin over a map frozen at update(). */
export class StaticRrLb implements LoadBalancer {
  allFull: boolean;
  readonly #servers: readonly LbServer[];
  readonly #allbackups: boolean;
  readonly #cands: LbServer[];
  /** Servers in smooth order, each weight/gcd times. */
  readonly #map: LbServer[];
  /** Next slot of #map to try. */
  #idx: number;

  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    this.allFull = false;
    this.#servers = servers;
    this.#allbackups = allbackups;
    this.#cands = [];
    this.#map = [];
    this.#idx = 0;
    this.update();
  }

  /** Recomputes the candidates and rebuilds the map with the weights as they are now. */
  update(): void {
    collectCandidates(this.#servers, this.#allbackups, this.#cands);
    buildSmoothMap(this.#cands, this.#map);
    // Keep the place in the rotation (HAProxy's rr_idx survives a rebuild):
    // restarting at 0 on each state change would feed the first server only
    // when changes are as frequent as requests.
    if (this.#idx >= this.#map.length) this.#idx = 0;
  }

  /**
   * Returns the next server of the map that can take a connection (usable,
   * weight > 0, not full, not `avoid`), `avoid` when it is the only one, or
   * null (allFull set when usable servers exist but are all full).
   */
  pick(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    let s = this.#choose(avoid);
    if (s === null && avoid !== null) s = this.#choose(null);
    this.allFull = s === null && anyUsable(this.#cands);
    return s;
  }

  /** Walks the map from the cursor to the first takeable slot; null when there is none. */
  #choose(avoid: LbServer | null): LbServer | null {
    const map = this.#map;
    const size = map.length;
    if (size === 0) return null;
    let idx = this.#idx;
    const first = map[idx]!;
    if (srvCanTake(first, avoid)) {
      this.#idx = idx + 1 === size ? 0 : idx + 1;
      return first;
    }
    if (!anyCanTake(this.#cands, avoid)) return null;
    for (let k = 1; k < size; k++) {
      idx = idx + 1 === size ? 0 : idx + 1;
      const s = map[idx]!;
      if (srvCanTake(s, avoid)) {
        this.#idx = idx + 1 === size ? 0 : idx + 1;
        return s;
      }
    }
    return null;
  }

  /** Nothing to do: static-rr does not look at connection counts. */
  onTake(_s: LbServer): void {}

  /** Nothing to do: static-rr does not look at connection counts. */
  onRelease(_s: LbServer): void {}
}
