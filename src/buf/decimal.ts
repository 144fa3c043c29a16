// Decimal digits written as bytes: log lines, header values, timers. One
// writer for every layer that turns a non-negative integer into text
// without making a string per request.

/** Number of decimal digits of `v` (an integer in 0..2^31-1). */
export function decimalLength(v: number): number {
  let digits = 1;
  for (let q = v; q >= 10; q = (q / 10) | 0) digits++;
  return digits;
}

/**
 * Writes the decimal digits of `v` (an integer in 0..2^31-1) at dst[at];
 * returns the offset after them. The caller made room.
 */
export function putDecimal(dst: Uint8Array, at: number, v: number): number {
  const end = at + decimalLength(v);
  let pos = end;
  do {
    const q = (v / 10) | 0;
    dst[--pos] = 0x30 + v - q * 10;
    v = q;
  } while (v > 0);
  return end;
}
