// Hash-based balancing (`balance source|uri|url_param|hdr`): the hash functions
// (HAProxy's hash.c / backend.c gen_hash), the map-based table (lb_map.c) and
// the consistent-hashing ring (lb_chash.c).
//
// A HashLb is given a key function (built in lb.ts from the balance arguments)
// that hashes the part of the request the algorithm looks at, or returns -1
// when that part is absent; then it falls back to smooth weighted round robin,
// as HAProxy falls back to round robin.
//
// Hash function: sdbm over the UTF-16 code units of the key (HAProxy's default,
// `hash-type ... sdbm`): h = h * 65599 + c, in 32 bits. For ASCII keys (IPs,
// URIs, header values) this equals HAProxy's byte-wise sdbm.
// - map-based: the raw sdbm value indexes a smooth weighted map
//   (buildSmoothMap: weight/gcd slots per server): server = map[h % size].
//   Adding or removing a server remaps most keys.
// - consistent: the sdbm value goes through an avalanche step (Bob Jenkins'
//   full_hash, as HAProxy's `avalanche` modifier) and is looked up on a ring:
//   each server owns (weight / gcd of all weights) * F points, F = 160 unless
//   that would exceed RING_POINTS_MAX points in total. A point's position
//   depends only on the server's name and the point's rank, so removing a
//   server moves only the keys it held, and adding one steals keys only for
//   itself. The ring is two typed arrays (positions, owners), binary-searched.
//
// pick() is O(key length) to hash plus O(1) (map) or O(log points) (ring).
// When the hashed server cannot take the connection (full, avoided, or down
// since the last update()), the next slots of the map / next points of the
// ring are tried, after an O(n) check that someone can take it. update() is
// O(map size * n) for the map, O(points log points) for the ring. No
// allocation per pick; never touches sockets.

import { LbAlgorithm } from "./lb_algo.ts";
import { RoundRobinLb } from "./lb_roundrobin.ts";
import { buildSmoothMap, mapFindFrom } from "./lb_static_rr.ts";
import { anyCanTake, type LbRequest, type LbServer, srvCanTake, weightGcd } from "./lb_types.ts";

/**
 * Hashes the part of a request an algorithm looks at: an unsigned 32-bit sdbm
 * value, or -1 when the part is absent (the balancer then uses round robin).
 */
export type HashKeyFn = (req: LbRequest) => number;

/** The two lookup methods of `hash-type`. */
export type HashType = "map-based" | "consistent";

/** Ring points per unit of (weight / gcd of the weights). */
export const RING_POINTS_PER_UNIT = 160;
/** Cap on the total number of ring points; F shrinks to stay under it. */
export const RING_POINTS_MAX = 1 << 16;

/** Multiplier packing (position, owner) into one float64 for sorting: owner < 2^20. */
const OWNER_SCALE = 1 << 20;

/**
 * sdbm hash of s[start, end) (HAProxy's hash_sdbm): h = c + (h << 6) +
 * (h << 16) - h, i.e. h * 65599 + c, on 32 bits. Returns an unsigned 32-bit
 * integer; the empty range hashes to 0. Indexes are not checked.
 */
export function hashSdbm(s: string, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = (Math.imul(h, 65599) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

/** sdbm hash of a whole string. */
export function hashString(s: string): number {
  return hashSdbm(s, 0, s.length);
}

/**
 * Avalanche step (Bob Jenkins' 32-bit integer hash, HAProxy's full_hash()):
 * every input bit affects every output bit, so that close keys land far apart
 * on the ring. Input and output are unsigned 32-bit integers.
 */
export function hashAvalanche(h: number): number {
  let a = h | 0;
  a = (a + 0x7ed55d16 + (a << 12)) | 0;
  a = a ^ 0xc761c23c ^ (a >>> 19);
  a = (a + 0x165667b1 + (a << 5)) | 0;
  a = ((a + 0xd3a2646c) | 0) ^ (a << 9);
  a = (a + 0xfd7046c5 + (a << 3)) | 0;
  a = a ^ 0xb55a4f09 ^ (a >>> 16);
  // Spread values over the whole 32-bit space (multiply by a prime near 3/4 of it).
  return Math.imul(a, 0xc0000001) >>> 0;
}

/** Position on the ring of point `rank` of the server whose name hashes to `nameHash`. */
function ringPointKey(nameHash: number, rank: number): number {
  return hashAvalanche((nameHash ^ Math.imul(rank + 1, 0x9e3779b1)) >>> 0);
}

/** Hash-based balancing (source, uri, url_param, hdr) with map-based or consistent lookup. */
export class HashLb extends LbAlgorithm {
  readonly hashType: HashType;
  readonly #key: HashKeyFn;
  /** Round robin used when the key is absent. */
  readonly #rr: RoundRobinLb;
  /** map-based: servers in smooth weighted order. */
  readonly #map: LbServer[];
  /** consistent: sorted point positions, and the cands index owning each point. */
  #ringKeys: Uint32Array;
  #ringOwners: Uint32Array;
  /** consistent: ring points per weight unit, fixed from the configured weights. */
  #ringUnit: number;

  /**
   * Builds the balancer over `servers` (not copied: the core mutates them),
   * hashing requests with `key`, and runs update().
   */
  constructor(
    servers: readonly LbServer[],
    allbackups: boolean,
    hashType: HashType,
    key: HashKeyFn,
  ) {
    super(servers, allbackups);
    this.hashType = hashType;
    this.#key = key;
    this.#rr = new RoundRobinLb(servers, allbackups);
    this.#map = [];
    this.#ringKeys = new Uint32Array(0);
    this.#ringOwners = new Uint32Array(0);
    // Fixed once: a server's points then depend on its own weight only, so a
    // drain or a weight change of one server moves no other server's keys.
    const g = weightGcd(servers);
    let units = 0;
    for (const s of servers) if (s.weight > 0) units += s.weight / g;
    const f = Math.max(1, Math.min(RING_POINTS_PER_UNIT, Math.floor(RING_POINTS_MAX / units)));
    this.#ringUnit = f / g;
    this.update();
  }

  /** Number of points on the ring (consistent) or slots in the map (map-based). */
  get tableSize(): number {
    return this.hashType === "consistent" ? this.#ringKeys.length : this.#map.length;
  }

  /** Recomputes the candidates and rebuilds the map or the ring, and the fallback. */
  update(): void {
    this.collect();
    this.#rr.update();
    if (this.hashType === "map-based") buildSmoothMap(this.cands, this.#map);
    else this.#buildRing();
  }

  /** Ring points of a server: its own weight times the fixed unit (at least 1 when weighted). */
  #points(s: LbServer): number {
    return s.weight > 0 ? Math.max(1, Math.round(s.weight * this.#ringUnit)) : 0;
  }

  /**
   * Builds the ring from the candidates. The points per weight unit come
   * from the configured weights (usable or not, see the constructor), so
   * that a server going down or up, drained or reweighted, changes no other
   * server's points.
   */
  #buildRing(): void {
    const cands = this.cands;
    let total = 0;
    for (const s of cands) total += this.#points(s);
    const packed = new Float64Array(total);
    let p = 0;
    for (let i = 0; i < cands.length; i++) {
      const s = cands[i]!;
      const nameHash = hashAvalanche(hashString(s.name));
      const pts = this.#points(s);
      for (let r = 0; r < pts; r++) packed[p++] = ringPointKey(nameHash, r) * OWNER_SCALE + i;
    }
    packed.sort();
    const keys = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let j = 0; j < total; j++) {
      const v = packed[j]!;
      const owner = v % OWNER_SCALE;
      owners[j] = owner;
      keys[j] = (v - owner) / OWNER_SCALE;
    }
    this.#ringKeys = keys;
    this.#ringOwners = owners;
  }

  /**
   * The server the request's key hashes to or, if it cannot take the
   * connection (full, down, or `avoid`), the next one in the map/ring that
   * can; a round-robin choice when the key is absent; null when none can.
   * With one candidate, no hash is computed.
   */
  choose(req: LbRequest, avoid: LbServer | null): LbServer | null {
    const cands = this.cands;
    if (cands.length <= 1) {
      const only = cands[0];
      return only !== undefined && srvCanTake(only, avoid) ? only : null;
    }
    const h = this.#key(req);
    return h < 0 ? this.#rr.choose(req, avoid) : this.#lookup(h, avoid);
  }

  /** Looks hash `h` up in the map or on the ring, walking past servers that cannot take it. */
  #lookup(h: number, avoid: LbServer | null): LbServer | null {
    if (this.hashType === "map-based") {
      const map = this.#map;
      const size = map.length;
      if (size === 0) return null;
      const idx = mapFindFrom(map, h % size, this.cands, avoid);
      return idx < 0 ? null : map[idx]!;
    }
    const keys = this.#ringKeys;
    const size = keys.length;
    if (size === 0) return null;
    const hv = hashAvalanche(h);
    // First point at or after hv, wrapping to point 0.
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < hv) lo = mid + 1;
      else hi = mid;
    }
    let idx = lo === size ? 0 : lo;
    const cands = this.cands;
    const owners = this.#ringOwners;
    const first = cands[owners[idx]!]!;
    if (srvCanTake(first, avoid)) return first;
    if (!anyCanTake(cands, avoid)) return null;
    for (let k = 1; k < size; k++) {
      idx = idx + 1 === size ? 0 : idx + 1;
      const s = cands[owners[idx]!]!;
      if (srvCanTake(s, avoid)) return s;
    }
    return null;
  }
}
