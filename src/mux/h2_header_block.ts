// A header block while it arrives (HEADERS, then CONTINUATION frames): its
// stream, the HEADERS flags, its bytes within a size cap, and the count of
// CONTINUATION frames. The connection checks the limits' verdicts.

import { copyBytes } from "../buf/copy.ts";

export class HeaderBlock {
  /** Stream of the block being received, 0 when none. */
  stream: number;
  /** Flags of its HEADERS frame (END_STREAM). */
  flags: number;
  /** CONTINUATION frames so far. */
  frames: number;
  buf: Uint8Array;
  len: number;

  constructor() {
    this.stream = 0;
    this.flags = 0;
    this.frames = 0;
    this.buf = new Uint8Array(0);
    this.len = 0;
  }

  /** A HEADERS frame starts a block. */
  start(stream: number, flags: number): void {
    this.stream = stream;
    this.flags = flags;
    this.frames = 0;
    this.len = 0;
  }

  /** Adds a fragment; false when the block would exceed `cap` bytes (nothing is stored then). */
  append(b: Uint8Array, start: number, end: number, cap: number): boolean {
    const len = end - start;
    if (this.len + len > cap) return false;
    if (this.buf.length < this.len + len) {
      const nb = new Uint8Array(Math.min(cap, Math.max(1024, 2 * (this.len + len))));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    copyBytes(this.buf, this.len, b, start, end);
    this.len += len;
    return true;
  }

  /** The block was decoded: a large buffer is not kept. */
  done(): void {
    this.stream = 0;
    if (this.buf.length > 16384) this.buf = new Uint8Array(0);
  }
}
