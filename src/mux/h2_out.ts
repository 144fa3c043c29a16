// The output side of an HTTP/2 connection: two pooled buffers, one being
// written to the socket while frames are added to the other (HAProxy's
// mux buffer ring, two deep). Frames are serialized straight into `buf`
// at `len`; a flush is scheduled once per event-loop turn. It never
// decides what to send: the connection does, and is told when room comes
// back (`onDrained`) or the socket failed (`onError`).

import type { BufferPool } from "../buf/pool.ts";
import {
  FF_END_HEADERS,
  FF_END_STREAM,
  FRAME_HEADER_LEN,
  FT_CONTINUATION,
  FT_HEADERS,
  writeFrameHeader,
} from "../h2/frame.ts";
import type { HpackEncoder } from "../h2/hpack.ts";
import type { Conn } from "../listener/protocol.ts";

/** Size of an output buffer when the pool's are too small for a frame. */
const FALLBACK_SIZE = 65536;

export class H2Out {
  /** The buffer frames are added to (null until needed). */
  buf: Uint8Array | null;
  /** Bytes in `buf`. */
  len: number;
  /** A write is in flight. */
  writing: boolean;
  /** No more writes: the connection is closed. */
  closed: boolean;
  #conn: Conn;
  #pool: BufferPool;
  #spare: Uint8Array | null;
  #flushQueued: boolean;
  #schedule: () => void;
  #onDrained: () => void;
  #onError: () => void;
  /** The buffer being written, its length, and the bytes written so far. */
  #wBuf: Uint8Array | null;
  #wLen: number;
  #wOff: number;
  readonly #wrote: (n: number) => void;
  readonly #failed: () => void;

  /**
   * `schedule` arranges for flush() to run soon: the connection wakes its
   * task, which runs after the streams the same scheduler batch runs, so
   * that their frames leave in one write.
   */
  constructor(
    conn: Conn,
    pool: BufferPool,
    schedule: () => void,
    onDrained: () => void,
    onError: () => void,
  ) {
    this.buf = null;
    this.len = 0;
    this.writing = false;
    this.closed = false;
    this.#conn = conn;
    this.#pool = pool;
    this.#spare = null;
    this.#flushQueued = false;
    this.#schedule = schedule;
    this.#onDrained = onDrained;
    this.#onError = onError;
    this.#wBuf = null;
    this.#wLen = 0;
    this.#wOff = 0;
    this.#wrote = this.#onWrote.bind(this);
    this.#failed = this.#onFailed.bind(this);
  }

  /** Size of one output buffer. */
  cap(): number {
    return this.#pool.size >= 16384 ? this.#pool.size : FALLBACK_SIZE;
  }

  /** Free bytes in the buffer being filled. */
  free(): number {
    return this.buf === null ? this.cap() : this.buf.length - this.len;
  }

  /** The buffer being filled when it has `n` free bytes (taken when needed), else null. */
  room(n: number): Uint8Array | null {
    if (this.buf === null) {
      this.buf = this.#spare ??
        ((this.#pool.size >= 16384 ? this.#pool.alloc() : null) ?? new Uint8Array(this.cap()));
      this.#spare = null;
      this.len = 0;
    }
    return this.buf.length - this.len >= n ? this.buf : null;
  }

  /**
   * Encodes `count` fields with `enc` as one header block straight into the
   * buffer being filled, behind its HEADERS frame header (no copy of the
   * block); one larger than `maxFrame` is then cut into HEADERS and
   * CONTINUATION frames with nothing between them (§6.10). The caller made
   * room for the block and its frame headers. False when the block did not
   * fit (the encoder's table may then hold entries the peer never saw: the
   * connection must end).
   */
  headers(
    enc: HpackEncoder,
    names: readonly string[],
    values: readonly string[],
    count: number,
    sid: number,
    endStream: boolean,
    maxFrame: number,
  ): boolean {
    const out = this.buf!;
    const at = this.len + FRAME_HEADER_LEN;
    const end = enc.encode(names, values, count, out, at);
    if (end < 0) return false;
    const len = end - at;
    if (len <= maxFrame) {
      const flags = FF_END_HEADERS | (endStream ? FF_END_STREAM : 0);
      writeFrameHeader(out, this.len, len, FT_HEADERS, flags, sid);
      this.len = end;
      return true;
    }
    // Larger than a frame (rare): the frames are written over the block's place.
    const block = out.slice(at, end);
    let w = this.len, off = 0, first = true;
    do {
      const n = Math.min(maxFrame, len - off);
      const flags = (off + n === len ? FF_END_HEADERS : 0) |
        (first && endStream ? FF_END_STREAM : 0);
      w = writeFrameHeader(out, w, n, first ? FT_HEADERS : FT_CONTINUATION, flags, sid);
      out.set(block.subarray(off, off + n), w);
      w += n;
      off += n;
      first = false;
    } while (off < len);
    this.len = w;
    return true;
  }

  /** Schedules a flush (once until it runs). */
  kick(): void {
    if (this.#flushQueued || this.writing || this.len === 0 || this.closed) return;
    this.#flushQueued = true;
    this.#schedule();
  }

  /** Starts writing what is queued, unless a write is in flight. */
  flush(): void {
    this.#flushQueued = false;
    if (!this.writing && this.len > 0 && !this.closed) {
      this.writing = true;
      this.#next();
    }
  }

  /**
   * Writes the filled buffer, then the one filled meanwhile, until none is
   * left (`writing` is set); each written buffer becomes the spare. The
   * completions are handlers bound once: no async function, and its
   * promises, per write.
   */
  #next(): void {
    if (this.len > 0 && !this.closed) {
      const buf = this.buf!;
      this.#wBuf = buf;
      this.#wLen = this.len;
      this.#wOff = 0;
      this.buf = null;
      this.len = 0;
      this.#write();
      return;
    }
    this.writing = false;
    this.#onDrained();
    if (this.closed) this.release();
  }

  /** Writes what is left of the buffer being written (a socket that throws has failed). */
  #write(): void {
    let p: Promise<number>;
    try {
      p = this.#conn.write(this.#wBuf!.subarray(this.#wOff, this.#wLen));
    } catch {
      this.#onFailed();
      return;
    }
    p.then(this.#wrote, this.#failed);
  }

  /** A write completed with `n` bytes: the rest of the buffer, or the next one. */
  #onWrote(n: number): void {
    const buf = this.#wBuf!;
    this.#wOff += n;
    if (this.#wOff < this.#wLen) {
      this.#write();
      return;
    }
    this.#wBuf = null;
    if (this.#spare === null) this.#spare = buf;
    else this.#give(buf);
    this.#onDrained();
    this.#next();
  }

  /** The socket failed: the buffer written goes back (the write is over), then the others. */
  #onFailed(): void {
    const buf = this.#wBuf;
    this.#wBuf = null;
    if (buf !== null) this.#give(buf);
    this.writing = false;
    this.#onError();
    this.release();
  }

  #give(b: Uint8Array): void {
    // A buffer allocated when the pool was exhausted has the pool's size too.
    if (this.#pool.owns(b)) this.#pool.release(b);
  }

  /** Gives the buffers back; a write in flight gives its own back when it settles. */
  release(): void {
    if (this.writing) return;
    if (this.buf !== null) this.#give(this.buf);
    if (this.#spare !== null) this.#give(this.#spare);
    this.buf = this.#spare = null;
    this.len = 0;
  }
}
