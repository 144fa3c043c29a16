// Copies and comparisons between byte buffers, sized for the hot path: a
// short copy goes byte by byte, because set() needs a subarray view of the source, which
// costs about what a 100-byte loop does here and then costs the scavenger
// too (request heads, small frames, header lines are mostly that short).

/** Copies shorter than this go byte by byte. */
const SMALL_COPY = 128;

/** dst[at, at + end - start) = src[start, end). */
export function copyBytes(
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  start: number,
  end: number,
): void {
  if (end - start >= SMALL_COPY) {
    dst.set(src.subarray(start, end), at);
    return;
  }
  for (let i = start; i < end; i++) dst[at++] = src[i]!;
}

/** Whether a[aStart, aStart + n) and b[bStart, bStart + n) hold the same bytes. */
export function bytesEqual(
  a: Uint8Array,
  aStart: number,
  b: Uint8Array,
  bStart: number,
  n: number,
): boolean {
  for (let i = 0; i < n; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}
