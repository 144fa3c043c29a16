// The buffer an HTTP/2 connection reads frames into: a small one while the
// connection is idle (what an idle HTTP/1.1 connection holds too), a bulk
// one once a frame does not fit, back to a small one when idle again.

import type { Pools } from "../buf/pool.ts";

/** A buffer for a whole frame of `size` bytes holding `b`'s first `len` bytes; `b` is given back. */
export function growInput(pools: Pools, b: Uint8Array, len: number, size: number): Uint8Array {
  const bulk = pools.bulk;
  const nb = (bulk.size >= size ? bulk.alloc() : null) ?? new Uint8Array(size);
  nb.set(b.subarray(0, len));
  releaseInput(pools, b);
  return nb;
}

/** A small buffer instead of the empty `b` (given back), or `b` when none is left. */
export function shrinkInput(pools: Pools, b: Uint8Array): Uint8Array {
  const small = pools.small.alloc();
  if (small === null) return b;
  releaseInput(pools, b);
  return small;
}

/** Gives `b` back to the pool it came from (one made for a larger frame to none). */
export function releaseInput(pools: Pools, b: Uint8Array): void {
  if (pools.small.owns(b)) pools.small.release(b);
  else if (pools.bulk.owns(b)) pools.bulk.release(b);
}
