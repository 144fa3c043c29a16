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

import { LbAlgorithm } from "./lb_algo.ts";
import { anyCanTake, type LbRequest, type LbServer, srvCanTake, weightGcd } from "./lb_types.ts";

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

/**
 * Index of the first slot of `map`, from `idx` on and wrapping around, whose
 * server can take a connection (srvCanTake(s, avoid)), or -1. `idx` must be
 * a slot of a non-empty map. When the first slot cannot, `cands` is checked
 * once (O(n)) before the walk, so that a map where no server can take it is
 * not walked for nothing (HAProxy's map lookup walks past unusable servers
 * the same way).
 */
export function mapFindFrom(
  map: readonly LbServer[],
  idx: number,
  cands: readonly LbServer[],
  avoid: LbServer | null,
): number {
  if (srvCanTake(map[idx]!, avoid)) return idx;
  if (!anyCanTake(cands, avoid)) return -1;
  const size = map.length;
  for (let k = 1; k < size; k++) {
    idx = idx + 1 === size ? 0 : idx + 1;
    if (srvCanTake(map[idx]!, avoid)) return idx;
  }
  return -1;
}

/** `balance static-rr`: weighted round robin over a map frozen at update(). */
export class StaticRrLb extends LbAlgorithm {
  /** Servers in smooth order, each weight/gcd times. */
  readonly #map: LbServer[];
  /** Next slot of #map to try. */
  #idx: number;

  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    super(servers, allbackups);
    this.#map = [];
    this.#idx = 0;
    this.update();
  }

  /** Recomputes the candidates and rebuilds the map with the weights as they are now. */
  update(): void {
    this.collect();
    buildSmoothMap(this.cands, this.#map);
    // Keep the place in the rotation (HAProxy's rr_idx survives a rebuild):
    // restarting at 0 on each state change would feed the first server only
    // when changes are as frequent as requests.
    if (this.#idx >= this.#map.length) this.#idx = 0;
  }

  /** Walks the map from the cursor to the first slot that can take a connection; null when none can. */
  choose(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    const map = this.#map;
    const size = map.length;
    if (size === 0) return null;
    const idx = mapFindFrom(map, this.#idx, this.cands, avoid);
    if (idx < 0) return null;
    this.#idx = idx + 1 === size ? 0 : idx + 1;
    return map[idx]!;
  }
}
