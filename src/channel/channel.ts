// A channel: one direction of a stream's data (HAProxy's channel.c).
//
// It owns a ring buffer taken from the pool, the CF_* flags, the analysers
// bitmask and the forwarding budget. Bytes are [head, head+len) modulo size;
// the first `out` of them are forwarded (released to the consumer), the rest
// are input still owned by analysers. Reads land after the tail, writes take
// from the head, so a read and a write can be in flight at the same time
// without ever touching the same bytes.
//
// Buffers: an empty, idle channel reads into a small (1 KiB) buffer so idle
// connections pin little memory; it moves to a big `bufsize` buffer when the
// small one fills up. Buffers are only swapped or released when no I/O is in
// flight on them (the caller guarantees it via `ioBusy`).
// This file never touches sockets.

import { type BufferPool, type Pools, SMALL_BUFSIZE } from "../buf/pool.ts";
import { CF_WAIT_BUFFER, CHN_INFINITE_FORWARD } from "./types.ts";

export class Channel {
  /** CF_* flags. */
  flags!: number;
  /** AN_* bits of analysers still to run on this channel. */
  analysers!: number;
  buf!: Uint8Array | null;
  /** The pool `buf` came from (to give it back to the right one). */
  bufPool!: BufferPool | null;
  /** Offset of the first byte. */
  head!: number;
  /** Bytes held (forwarded + input). */
  len!: number;
  /** Bytes at the head already forwarded (to be written out). */
  out!: number;
  /** Input bytes still allowed to be forwarded without analysers. */
  toForward!: number;
  /** Total bytes received / sent, for logs and counters. */
  totalIn!: number;
  totalOut!: number;
  /** The last read filled all the room it was given (more data is likely pending). */
  lastReadFull!: boolean;
  /** Bytes of the last read. */
  lastReadLen!: number;
  /** A read into this channel is in flight (set by the producing stream interface). */
  reading!: boolean;
  /** A write from this channel is in flight (set by the consuming stream interface). */
  writing!: boolean;
  /** Expiry tick for analysers (e.g. http-request timeout). */
  analyseExp!: number;
  /**
   * Bytes to write before the buffer's output: a rewritten HTTP head. It lives
   * in its own pool buffer so a rewrite never moves bytes a read may target.
   */
  prefix!: Uint8Array | null;
  prefixLen!: number;
  prefixOff!: number;
  /** The prefix is a pool buffer (a rewritten head) rather than a shared reply. */
  prefixPooled!: boolean;
  /**
   * Reads from a peer that may stall on purpose (HTTP clients: a slow POST):
   * after a burst that left the bulk buffer more than half empty, the next
   * read waits for the write and goes small (see #nextPool()). Off for
   * flows where the bulk size pays (responses, TCP), where that rule turned
   * some downloads into cycles of 1 KiB / 16 KiB / 64 KiB reads.
   */
  shrinkAfterBurst!: boolean;
  /**
   * An empty channel whose last burst outgrew the small buffer starts its
   * next read in a big one (server responses in HTTP mode): a 1-16 KiB
   * response then arrives in one read, with one completion and one stream
   * run, instead of 1 KiB, a grow, and the rest. The idle connections this
   * pins a big buffer for are server connections, bounded by the servers'
   * maxconn and idle pools; client connections keep the small idle buffer.
   */
  keepMessageSize!: boolean;
  /** The read before the last one filled all its room (the last one ended a longer burst). */
  #afterFull!: boolean;
  #pools!: Pools;
  // The last region views handed out, reused when the same region is asked
  // again (the usual case on keep-alive connections): a subarray view is the
  // biggest allocation of a request after the runtime's own promises.
  #rView: RegionView;
  #wView: RegionView;

  constructor(pools: Pools) {
    this.#rView = new RegionView();
    this.#wView = new RegionView();
    this.reuse(pools);
  }

  /**
   * Sets every field of a new channel (the constructor, and an ended
   * stream's channel for the next stream: the region views stay, so that a
   * buffer the pool hands out again needs no new view). For a reused one,
   * the caller guarantees that no I/O is in flight and that the buffers
   * were released.
   */
  reuse(pools: Pools): void {
    this.flags = 0;
    this.analysers = 0;
    this.buf = null;
    this.bufPool = null;
    this.head = 0;
    this.len = 0;
    this.out = 0;
    this.toForward = 0;
    this.totalIn = 0;
    this.totalOut = 0;
    this.lastReadFull = false;
    this.lastReadLen = 0;
    this.reading = false;
    this.writing = false;
    this.analyseExp = 0;
    this.prefix = null;
    this.prefixLen = 0;
    this.prefixOff = 0;
    this.prefixPooled = false;
    this.shrinkAfterBurst = false;
    this.keepMessageSize = false;
    this.#afterFull = false;
    this.#pools = pools;
  }

  /** True when nothing is left to write (no prefix, no byte held). */
  isEmpty(): boolean {
    return this.len === 0 && this.prefix === null;
  }

  /** Offset of the first input byte (after the forwarded part). */
  inPos(): number {
    const buf = this.buf;
    if (buf === null) return 0;
    const p = this.head + this.out;
    return p >= buf.length ? p - buf.length : p;
  }

  /**
   * Drops the first n input bytes without writing them (a head replaced by a
   * prefix). Only legal when nothing is forwarded yet (out === 0).
   */
  skipInput(n: number): void {
    this.head += n;
    if (this.buf !== null && this.head >= this.buf.length) this.head -= this.buf.length;
    this.len -= n;
    if (this.len === 0 && !this.reading) this.head = 0;
  }

  /**
   * Accounts n bytes an analyser inserted into the input in place (a head
   * that grew in the buffer, HeadEditor.appendInPlace()): the input, which
   * did not wrap, now ends n bytes later. Not counted as read (totalIn).
   */
  insertInput(n: number): void {
    this.len += n;
  }

  /**
   * Queues `bytes[0, len)` to be written before anything else: a big pool
   * buffer (ownership taken, `pooled`) or a read-only reply shared by
   * streams. Only one prefix at a time; returns false otherwise.
   */
  setPrefix(bytes: Uint8Array, len: number, pooled = true): boolean {
    if (this.prefix !== null) return false;
    this.prefix = bytes;
    this.prefixPooled = pooled;
    this.prefixLen = len;
    this.prefixOff = 0;
    return true;
  }

  /** Allocates a big buffer for a prefix (null when the pool is exhausted). */
  allocPrefixBuffer(): Uint8Array | null {
    return this.#pools.big.alloc();
  }

  /**
   * Output is still on its way: forwarded bytes not yet written, a prefix,
   * or a write in flight. What follows in this direction must wait.
   */
  sending(): boolean {
    return this.out > 0 || this.writing || this.prefix !== null;
  }

  /** Bytes received but not yet forwarded. */
  get input(): number {
    return this.len - this.out;
  }

  /** True when the buffer has no free byte (or there is no buffer). */
  isFull(): boolean {
    return this.buf === null ? false : this.len >= this.buf.length;
  }

  /**
   * Returns the contiguous free region to read into, taking or swapping the
   * buffer as needed, or null when no read is possible now (buffer full, a
   * needed swap blocked by a write in flight, or the pool is exhausted: then
   * CF_WAIT_BUFFER semantics apply and the caller waits).
   * Must only be called with no read in flight.
   */
  readRegion(): Uint8Array | null {
    const pools = this.#pools;
    if (this.len === 0 && !this.writing) {
      // Empty: pick the buffer size for the next read from the last one.
      this.head = 0;
      this.out = 0;
      const want = this.#nextPool();
      if (this.bufPool !== want) {
        const nb = want.alloc();
        if (nb !== null) {
          this.releaseBuffer();
          this.buf = nb;
          this.bufPool = want;
        } else if (this.buf === null) {
          // The wanted pool is exhausted (buffer-limit): an idle-size read still helps.
          const sb = pools.small.alloc();
          if (sb === null) {
            this.flags |= CF_WAIT_BUFFER; // no buffer at all: the read waits
            return null;
          }
          this.buf = sb;
          this.bufPool = pools.small;
        }
      }
    }
    let buf = this.buf;
    if (buf === null) return null;
    this.flags &= ~CF_WAIT_BUFFER;
    if (this.len === this.out && this.len > 0 && this.#shrinking()) {
      // Everything held is on its way out and the flow slowed down: the next
      // read waits for the write (it then gets a smaller buffer) rather than
      // pinning this bulk buffer if the peer stalls (a stalled upload).
      return null;
    }
    if (this.len >= buf.length) {
      // Full. A small buffer grows into a big one when no write is using it.
      if (this.bufPool === pools.small && !this.writing) {
        if (!this.#grow()) return null;
        buf = this.buf!;
      } else {
        return null;
      }
    }
    const size = buf.length;
    let tail = this.head + this.len;
    if (tail < size) {
      // Data does not wrap: free space is [tail, size) then [0, head). A
      // small tail room while the start is free would split the next
      // message over two reads (and two wakes): compact first, or, when a
      // write holds the bytes, wait for it; the channel then restarts at 0.
      if (size - tail < size >> 2 && this.head > 0) {
        if (this.writing) return null;
        this.realign();
        tail = this.len;
      }
      return this.#rView.of(buf, tail, size);
    }
    return this.#rView.of(buf, tail - size, this.head);
  }

  /** Accounts n bytes read into the region last returned by readRegion(). */
  commitRead(n: number, regionSize: number): void {
    this.len += n;
    this.totalIn += n;
    this.#afterFull = this.lastReadFull;
    this.lastReadFull = n === regionSize;
    this.lastReadLen = n;
  }

  /**
   * Moves up to `toForward` input bytes into the forwarded part.
   * Returns the number of bytes newly forwarded.
   */
  forward(): number {
    const inp = this.len - this.out;
    if (inp <= 0 || this.toForward <= 0) return 0;
    const n = inp < this.toForward ? inp : this.toForward;
    this.out += n;
    if (this.toForward !== CHN_INFINITE_FORWARD) this.toForward -= n;
    return n;
  }

  /** Forwards exactly n input bytes, regardless of toForward (analysers releasing a head). */
  forwardBytes(n: number): void {
    this.out += n;
  }

  /** The contiguous forwarded region to write next, or null when nothing is forwarded. */
  writeRegion(): Uint8Array | null {
    if (this.prefix !== null) return this.prefix.subarray(this.prefixOff, this.prefixLen);
    const buf = this.buf;
    if (buf === null || this.out === 0) return null;
    const end = this.head + this.out;
    return this.#wView.of(buf, this.head, end <= buf.length ? end : buf.length);
  }

  /** Accounts n bytes written from the head. */
  commitWrite(n: number): void {
    if (this.prefix !== null) {
      this.prefixOff += n;
      this.totalOut += n;
      if (this.prefixOff >= this.prefixLen) {
        if (this.prefixPooled) this.#pools.big.release(this.prefix);
        this.prefix = null;
      }
      return;
    }
    this.head += n;
    if (this.buf !== null && this.head >= this.buf.length) this.head -= this.buf.length;
    this.len -= n;
    this.out -= n;
    this.totalOut += n;
    // Restart at offset 0 when empty, unless a read in flight targets the old
    // tail: its bytes must land where the accounting expects them.
    if (this.len === 0 && !this.reading) this.head = 0;
  }

  /** Drops everything held (used when a side is aborted). No write may be in flight. */
  erase(): void {
    if (!this.reading) this.head = 0;
    else if (this.buf !== null) {
      // Keep the tail where the in-flight read lands: head = old tail (read
      // before len is cleared, or the next owner would parse the dropped bytes).
      this.head = (this.head + this.len) % this.buf.length;
    }
    this.len = 0;
    this.out = 0;
    this.#dropPrefix();
  }

  #dropPrefix(): void {
    if (this.prefix !== null && this.prefixPooled) this.#pools.big.release(this.prefix);
    this.prefix = null;
  }

  /**
   * Hands this channel's buffer, and the read that may be in flight into it,
   * to `to` (a server connection parked in an idle pool, or adopted from
   * it): the read's bytes then land in `to`, at the offset its accounting
   * expects (an empty channel keeps its head while a read is in flight).
   * Both channels must hold no byte and no prefix, and no write may be in
   * flight on either; `to` must have no read in flight. `to`'s own buffer
   * goes back to its pool; this channel is left with none.
   */
  moveReadTo(to: Channel): void {
    to.releaseBuffer();
    to.buf = this.buf;
    to.bufPool = this.bufPool;
    to.reading = this.reading;
    to.head = this.head;
    to.len = to.out = 0;
    // The cached views follow the buffer they view (a reused server
    // connection's buffer goes from stream to stream: the next read and
    // write then need no new subarray).
    const rv = to.#rView, wv = to.#wView;
    to.#rView = this.#rView;
    to.#wView = this.#wView;
    this.#rView = rv;
    this.#wView = wv;
    this.buf = null;
    this.bufPool = null;
    this.reading = false;
    this.head = this.len = this.out = 0;
  }

  /** Gives the buffers back to their pools. Caller guarantees no I/O is in flight on them. */
  releaseBuffer(): void {
    this.#dropPrefix();
    if (this.buf !== null && this.bufPool !== null) this.bufPool.release(this.buf);
    this.buf = null;
    this.bufPool = null;
  }

  /**
   * The pool for the next read of an empty channel: small after a small read
   * (idle, interactive), one size up after a read that filled all its room
   * (small → big → bulk: a busy flow reads in fewer, larger chunks), with
   * `shrinkAfterBurst`, small again after a read that left a bulk buffer
   * more than half empty (the flow slowed down or stopped: an upload that
   * stalls would otherwise pin a bulk or big buffer with its next read; a
   * flow that goes on grows back), else the current size. With
   * `keepMessageSize`, a short read that ended a burst bigger than the
   * small buffer (the read before it filled its room) keeps a big one.
   */
  #nextPool(): BufferPool {
    const pools = this.#pools;
    const cur = this.bufPool;
    if (cur === null) return this.lastReadFull ? pools.big : pools.small;
    if (this.lastReadLen < SMALL_BUFSIZE) {
      return this.keepMessageSize && this.#afterFull ? pools.big : pools.small;
    }
    if (!this.lastReadFull) {
      if (cur === pools.small) return pools.big;
      return this.#shrinking() ? pools.small : cur;
    }
    return cur === pools.small ? pools.big : pools.bulk;
  }

  /** A bulk buffer that the last read left more than half empty (small next). */
  #shrinking(): boolean {
    const cur = this.bufPool;
    return this.shrinkAfterBurst && cur === this.#pools.bulk && cur.size > this.#pools.big.size &&
      !this.lastReadFull && this.lastReadLen < cur.size >> 1;
  }

  /** Moves the content of a small buffer into a big one (no I/O in flight). */
  #grow(): boolean {
    const nb = this.#pools.big.alloc();
    if (nb === null) return false;
    const old = this.buf!;
    this.#copyOut(old, nb);
    this.bufPool!.release(old);
    this.buf = nb;
    this.bufPool = this.#pools.big;
    this.head = 0;
    return true;
  }

  /** Copies the held bytes of `from` (ring order) to the start of `to`. */
  #copyOut(from: Uint8Array, to: Uint8Array): void {
    const first = Math.min(this.len, from.length - this.head);
    to.set(from.subarray(this.head, this.head + first), 0);
    if (first < this.len) to.set(from.subarray(0, this.len - first), first);
  }

  /**
   * Makes the held bytes contiguous from offset 0 (HTTP heads must be
   * contiguous to be parsed). Only possible with no I/O in flight; returns
   * false otherwise. Uses a scratch buffer from the pool.
   */
  realign(): boolean {
    const buf = this.buf;
    if (buf === null || this.head === 0) return true;
    if (this.reading || this.writing) return false;
    if (this.head + this.len <= buf.length) {
      buf.copyWithin(0, this.head, this.head + this.len);
    } else {
      const pool = this.bufPool!;
      const tmp = pool.alloc();
      if (tmp === null) return false;
      this.#copyOut(buf, tmp);
      buf.set(tmp.subarray(0, this.len), 0);
      pool.release(tmp);
    }
    this.head = 0;
    return true;
  }
}

/** The last view handed out for one direction, and the region it covers. */
class RegionView {
  #src: Uint8Array | null = null;
  #start = 0;
  #end = 0;
  #view: Uint8Array | null = null;

  /**
   * buf[start, end): the buffer itself when that is the whole of it (an empty
   * channel's read: no view to make whichever pool buffer it got), the
   * previous view when it is that region, else a new one.
   */
  of(buf: Uint8Array, start: number, end: number): Uint8Array {
    if (start === 0 && end === buf.length) return buf;
    if (this.#src !== buf || this.#start !== start || this.#end !== end) {
      this.#src = buf;
      this.#start = start;
      this.#end = end;
      this.#view = buf.subarray(start, end);
    }
    return this.#view!;
  }
}
