// One HTTP/2 stream seen from the proxy's Stream: a `Conn` (HAProxy's h2s as
// a stream connector's endpoint).
//
// Reading it gives the request as HTTP/1.1 bytes: the head the mux built
// from HEADERS, then the DATA payloads as they come (chunked when the
// request has no content-length), held in pooled buffers until the Stream
// reads them; each byte read gives the client window back, so a fast
// uploader is held by flow control, not by our memory. Writing it takes the
// HTTP/1.1 response the analysers released and sends it as HEADERS, DATA
// and trailers; a write completes only as far as the windows and the
// connection's output buffer allow, so a slow reader holds the Stream, not
// our memory. The Stream's transaction closes the client side once the
// response is out (one request per HTTP/2 stream, http/txn_end.ts); after
// the response's last byte the read also gives end of stream, which ends a
// Stream still reading what is left of an upload its server answered early.
// A CONNECT answered 2xx makes the stream a tunnel instead (RFC 9113 §8.5,
// docs/http2.md "CONNECT"): the server's bytes become DATA until its FIN
// (END_STREAM) or its reset (RST_STREAM CONNECT_ERROR), the client's DATA
// are read until its END_STREAM, each direction ending on its own.
// This file never touches the socket: its connection (`H2Sender`) does.

import type { BufferPool } from "../buf/pool.ts";
import { copyBytes } from "../buf/copy.ts";
import { H2_CONNECT_ERROR, H2_INTERNAL_ERROR } from "../h2/frame.ts";
import type { Conn } from "../listener/protocol.ts";
import {
  dropFields,
  type ParsedHead,
  parseResponseHead,
  ResponseFields,
  responseFromIndex,
} from "./h2_response_head.ts";

/** What a stream needs of its connection. */
export interface H2Sender {
  /** Sends a header block (HEADERS + CONTINUATION); false when there is no room now. */
  sendHeaders(
    s: H2Stream,
    names: readonly string[],
    values: readonly string[],
    count: number,
    endStream: boolean,
  ): boolean;
  /**
   * Sends up to `len` bytes of `src` at `start` as DATA, END_STREAM when all
   * were taken and `last`; returns the count taken (0: blocked by a window
   * or the output buffer: the stream is retried later through retryWrite()).
   * Calls s.markDone() once END_STREAM is out.
   */
  sendData(s: H2Stream, src: Uint8Array, start: number, len: number, last: boolean): number;
  /** The Stream read `n` bytes of request payload: the windows may be given back. */
  consumed(s: H2Stream, n: number): void;
  /** The response is complete (END_STREAM sent). */
  responseDone(s: H2Stream): void;
  /** Resets the stream (RST_STREAM with `code`): it cannot go on. */
  resetStream(s: H2Stream, code: number, why: string): void;
  /** The Stream closed its side; `complete`: the response was entirely sent. */
  streamClosed(s: H2Stream, complete: boolean): void;
}

/** The error reads and writes reject with once the client reset the stream or the connection failed. */
export class H2StreamReset extends Error {
  constructor(why: string) {
    super(why);
    this.name = "H2StreamReset";
  }
}

/**
 * The one instance every rejection uses: an Error's stack costs more than
 * a whole request (the Stream ignores the reason; the connection logs it).
 */
const RESET: H2StreamReset = new H2StreamReset("HTTP/2 stream reset");

// Response parser states.
const R_HEAD = 0;
const R_LENGTH = 1;
const R_CHUNK_SIZE = 2;
const R_CHUNK_DATA = 3;
const R_CHUNK_CRLF = 4;
const R_TRAILERS = 5;
const R_UNTIL_CLOSE = 6;
/** A tunnel (2xx to CONNECT): like R_UNTIL_CLOSE, but only the write shutdown ends it. */
const R_TUNNEL = 7;
const R_DONE = 8;

/** Largest response head or trailer section kept while it arrives. */
const MAX_HEAD = 65536;

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09;

export class H2Stream implements Conn {
  /** Set again when the stream is reused (H2StreamPool). */
  id!: number;
  /** What we may still send on it (the client's window for this stream). */
  sendWindow!: number;
  /** What the client may still send on it before a WINDOW_UPDATE. */
  recvWindow!: number;
  /** Request payload read by the Stream and not yet given back as window. */
  credit!: number;
  /** END_STREAM received from the client. */
  reqDone!: boolean;
  /** content-length of the request, -1 when absent; payload bytes received. */
  reqLength!: number;
  reqReceived!: number;
  /** The request body goes chunked. */
  chunked!: boolean;
  /** The request is HEAD: the response has no body. */
  isHead!: boolean;
  /** The request is CONNECT: a 2xx answer opens a tunnel. */
  isConnect!: boolean;
  /** A 2xx answered the CONNECT: the stream is a tunnel (each side half-closes on its own). */
  tunnel!: boolean;
  /** The tunnel's server failed (peerFailed()): its end is RST_STREAM CONNECT_ERROR. */
  #peerFailed!: boolean;
  /** END_STREAM sent. */
  resDone!: boolean;
  /** The response's HEADERS were sent (a reset after them is not a rapid reset). */
  resStarted!: boolean;
  /** Reset by the client, or the connection failed: reads and writes fail. */
  reset!: boolean;
  /** The Stream closed this endpoint. */
  closed!: boolean;
  /** In the connection's list of streams waiting to send. */
  blocked!: boolean;
  /** Tick the stream was opened (rapid-reset accounting, logs). */
  opened!: number;
  #sender: H2Sender;
  #pool: BufferPool;
  // Request bytes waiting for the Stream: pooled buffers, read from #rxStart
  // of the first, written up to #rxEnd of the last. The first is apart: a
  // request that fits one buffer (most) never touches the array, which V8
  // would shrink when emptied and grow again for the next request.
  #rx0: Uint8Array | null;
  #rx: Uint8Array[];
  #rxStart!: number;
  #rxEnd!: number;
  #rxLen!: number;
  /**
   * The request head the connection lends while the Stream is made
   * (lendHead()), bytes #hdPos to #hdEnd of it, counted in #rxLen and read
   * before #rx0: the Stream takes it in its constructor (readNow), so it
   * never goes through a pool buffer; keepHead() copies what it left.
   */
  #hd: Uint8Array | null;
  #hdPos!: number;
  #hdEnd!: number;
  /** Request payload bytes in #rx (window not yet given back). */
  #rxPayload!: number;
  #rdView!: Uint8Array | null;
  #rdResolve!: ((n: number) => void) | null;
  #rdReject!: ((e: unknown) => void) | null;
  // Response.
  #state!: number;
  /**
   * A head or trailer section split over several writes, collected until
   * its empty line (null while none is); and the bytes of the current line
   * seen so far (at most 2 counted: the empty line is "\r\n").
   */
  #acc: Uint8Array | null;
  #accLen!: number;
  /** #acc came from the pool (a section larger than its buffers does not). */
  #accPooled: boolean;
  #lineLen!: number;
  /** Parsed response head or trailers waiting for room (HEADERS not sent yet). */
  #h: ResponseFields;
  #hPending!: boolean;
  #hEnd!: boolean;
  /**
   * A head translated when the analysers committed it (headCommitted()):
   * the buffer and byte position its bytes will be written from, and how
   * many are still to come (0: none).
   */
  #preBuf!: ArrayBufferLike | null;
  #preAt!: number;
  #preLeft!: number;
  /** Bytes left in the current content-length body or chunk. */
  #left!: number;
  /** Chunk-size line: its value so far, and whether an extension (;...) started. */
  #chunkSize!: number;
  #chunkExt!: boolean;
  /** An END_STREAM owed (until-close body ended, empty trailers) but not yet sent. */
  #finPending!: boolean;
  #wrView!: Uint8Array | null;
  #wrResolve!: ((n: number) => void) | null;
  #wrReject!: ((e: unknown) => void) | null;
  /** The executors of read() and write()'s promises, made once (not a closure per call). */
  readonly #rdWait: (resolve: (n: number) => void, reject: (e: unknown) => void) => void;
  readonly #wrWait: (resolve: (n: number) => void, reject: (e: unknown) => void) => void;

  constructor(
    id: number,
    sender: H2Sender,
    pool: BufferPool,
    sendWindow: number,
    recvWindow: number,
    now: number,
  ) {
    // What a stream keeps for its whole life (reopen() included); every
    // other field is set by reopen(), the one list of a new stream's state.
    this.#sender = sender;
    this.#pool = pool;
    this.#rx0 = null;
    this.#rx = [];
    this.#hd = null;
    this.#acc = null;
    this.#accPooled = false;
    this.#h = new ResponseFields();
    this.#rdWait = (resolve, reject) => {
      this.#rdResolve = resolve;
      this.#rdReject = reject;
    };
    this.#wrWait = (resolve, reject) => {
      this.#wrResolve = resolve;
      this.#wrReject = reject;
    };
    this.reopen(id, sendWindow, recvWindow, now);
  }

  /**
   * Makes the stream a new one (the constructor, and H2StreamPool for a
   * stream its Stream closed): only the sender, the pool and the storage of
   * its arrays and parsed fields stay.
   */
  reopen(id: number, sendWindow: number, recvWindow: number, now: number): void {
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.credit = 0;
    this.reqDone = false;
    this.reqLength = -1;
    this.reqReceived = 0;
    this.chunked = false;
    this.isHead = false;
    this.isConnect = false;
    this.tunnel = false;
    this.#peerFailed = false;
    this.resDone = false;
    this.resStarted = false;
    this.reset = false;
    this.closed = false;
    this.blocked = false;
    this.opened = now;
    this.#freeRx();
    this.#clearRead();
    this.#state = R_HEAD;
    this.#dropAcc();
    this.#lineLen = 0;
    this.#h.count = 0;
    this.#hPending = false;
    this.#hEnd = false;
    this.#preBuf = null;
    this.#preAt = 0;
    this.#preLeft = 0;
    this.#left = 0;
    this.#chunkSize = 0;
    this.#chunkExt = false;
    this.#finPending = false;
    this.#clearWrite();
  }

  // ---- request side (called by the connection) ----

  /** Appends request bytes (head, chunk framing: not payload). False when no buffer is left. */
  pushString(s: string): boolean {
    for (let i = 0; i < s.length;) {
      const b = this.#rxRoom();
      if (b === null) return false;
      const n = Math.min(s.length - i, b.length - this.#rxEnd);
      for (let k = 0; k < n; k++) b[this.#rxEnd + k] = s.charCodeAt(i + k);
      this.#rxEnd += n;
      this.#rxLen += n;
      i += n;
    }
    this.#feed();
    return true;
  }

  /**
   * The request head, src[0, len), first of the request's bytes: only
   * referred to, valid until keepHead() (the connection writes the next
   * head there).
   */
  lendHead(src: Uint8Array, len: number): void {
    this.#hd = src;
    this.#hdPos = 0;
    this.#hdEnd = len;
    this.#rxLen += len;
  }

  /**
   * The lent head stops being valid: what the Stream did not read of it is
   * copied into pool buffers. False when no buffer is left.
   */
  keepHead(): boolean {
    const hd = this.#hd;
    if (hd === null) return true;
    const start = this.#hdPos, end = this.#hdEnd;
    this.#hd = null;
    this.#rxLen -= end - start;
    if (!this.#append(hd, start, end)) return false;
    this.#feed();
    return true;
  }

  /** Appends request payload. False when no buffer is left. */
  pushData(src: Uint8Array, start: number, end: number): boolean {
    // The common case: the Stream waits in read() and takes it directly.
    if (this.#rdView !== null && this.#rxLen === 0) {
      const v = this.#rdView;
      const n = Math.min(v.length, end - start);
      v.set(src.subarray(start, start + n), 0);
      this.#resolveRead(n);
      this.#sender.consumed(this, n);
      start += n;
    }
    this.#rxPayload += end - start;
    if (!this.#append(src, start, end)) return false;
    this.#feed();
    return true;
  }

  /** The request ended (END_STREAM): the Stream may see end of stream once the response is out. */
  requestEnded(): void {
    this.reqDone = true;
    this.#feed();
  }

  /** The client reset the stream, or the connection is gone. */
  abort(_why: string): void {
    if (this.reset) return;
    this.reset = true;
    this.#freeRx();
    this.#dropAcc();
    const e = RESET;
    if (this.#rdReject !== null) {
      const r = this.#rdReject;
      this.#clearRead();
      r(e);
    }
    if (this.#wrReject !== null) {
      const r = this.#wrReject;
      this.#clearWrite();
      r(e);
    }
  }

  /**
   * Copies src[start, end) behind the queued request bytes, taking pool
   * buffers as needed; false when none is left (what was copied stays).
   */
  #append(src: Uint8Array, start: number, end: number): boolean {
    while (start < end) {
      const b = this.#rxRoom();
      if (b === null) return false;
      const n = Math.min(end - start, b.length - this.#rxEnd);
      copyBytes(b, this.#rxEnd, src, start, start + n);
      this.#rxEnd += n;
      this.#rxLen += n;
      start += n;
    }
    return true;
  }

  /** The last buffer with room, or a new one from the pool (null when none is left). */
  #rxRoom(): Uint8Array | null {
    const last = this.#rx.length > 0 ? this.#rx[this.#rx.length - 1]! : this.#rx0;
    if (last !== null && this.#rxEnd < last.length) return last;
    const b = this.#pool.alloc();
    if (b === null) return null;
    if (this.#rx0 === null) {
      this.#rx0 = b;
      this.#rxStart = 0;
    } else this.#rx.push(b);
    this.#rxEnd = 0;
    return b;
  }

  /** Copies queued request bytes into `view`; returns the count. */
  #take(view: Uint8Array): number {
    let n = 0;
    const hd = this.#hd;
    if (hd !== null) {
      const p = this.#hdPos;
      n = Math.min(view.length, this.#hdEnd - p);
      copyBytes(view, 0, hd, p, p + n);
      this.#rxLen -= n;
      if ((this.#hdPos = p + n) === this.#hdEnd) this.#hd = null;
    }
    while (n < view.length && this.#rxLen > 0) {
      const b = this.#rx0!;
      const end = this.#rx.length === 0 ? this.#rxEnd : b.length;
      const k = Math.min(view.length - n, end - this.#rxStart);
      copyBytes(view, n, b, this.#rxStart, this.#rxStart + k);
      n += k;
      this.#rxStart += k;
      this.#rxLen -= k;
      if (this.#rxStart === end) {
        this.#pool.release(b);
        this.#rx0 = this.#rx.length > 0 ? this.#rx.shift()! : null;
        this.#rxStart = 0;
        if (this.#rx0 === null) this.#rxEnd = 0;
      }
    }
    const paid = Math.min(n, this.#rxPayload);
    this.#rxPayload -= paid;
    if (paid > 0) this.#sender.consumed(this, paid);
    return n;
  }

  #freeRx(): void {
    if (this.#rx0 !== null) this.#pool.release(this.#rx0);
    this.#rx0 = null;
    this.#hd = null;
    if (this.#rx.length > 0) {
      for (const b of this.#rx) this.#pool.release(b);
      this.#rx.length = 0;
    }
    this.#rxStart =
      this.#rxEnd =
      this.#rxLen =
      this.#rxPayload =
        0;
  }

  /** Whether the Stream should now see end of stream (a tunnel: as soon as the client's END_STREAM). */
  #eof(): boolean {
    return this.reqDone && (this.resDone || this.tunnel) && this.#rxLen === 0;
  }

  /** Completes a waiting read if something can complete it. */
  #feed(): void {
    if (this.#rdView === null) return;
    if (this.#rxLen > 0) this.#resolveRead(this.#take(this.#rdView));
    else if (this.#eof()) this.#resolveRead(0);
  }

  #resolveRead(n: number): void {
    const r = this.#rdResolve!;
    this.#clearRead();
    r(n);
  }

  #clearRead(): void {
    this.#rdView = null;
    this.#rdResolve = null;
    this.#rdReject = null;
  }

  #clearWrite(): void {
    this.#wrView = null;
    this.#wrResolve = null;
    this.#wrReject = null;
  }

  // ---- Conn (called by the Stream's interface) ----

  read(view: Uint8Array): Promise<number> {
    if (this.reset) return Promise.reject(RESET);
    if (this.closed) return Promise.resolve(0);
    if (this.#rxLen > 0) return Promise.resolve(this.#take(view));
    if (this.#eof()) return Promise.resolve(0);
    this.#rdView = view;
    return new Promise(this.#rdWait);
  }

  /**
   * read() without a promise (Conn.readTo): the outcome known now is handed
   * over at once, else `done`/`failed` wait where read()'s resolvers would.
   * The Stream then sees the request's end of stream in the run that ends
   * the response, not in a run of its own after a promise's microtask.
   */
  readTo(view: Uint8Array, done: (n: number) => void, failed: (e: unknown) => void): void {
    if (this.reset) return failed(RESET);
    if (this.closed) return done(0);
    if (this.#rxLen > 0) return done(this.#take(view));
    if (this.#eof()) return done(0);
    this.#rdView = view;
    this.#rdResolve = done;
    this.#rdReject = failed;
  }

  readNow(view: Uint8Array): number {
    return this.reset || this.closed ? 0 : this.#take(view);
  }

  write(view: Uint8Array): Promise<number> {
    if (this.reset || this.closed) return Promise.reject(RESET);
    const n = this.#process(view);
    // Reset while translating (#fail): the Stream sees a failed write, and
    // its log a termination state, not a response that went out whole.
    if (this.reset) return Promise.reject(RESET);
    if (n > 0 || view.length === 0) return Promise.resolve(n);
    this.#wrView = view;
    return new Promise(this.#wrWait);
  }

  writeNow(view: Uint8Array): number {
    if (this.reset || this.closed) return 0;
    const n = this.#process(view);
    // Reset while translating: nothing taken, the write() that follows fails.
    return this.reset ? 0 : n;
  }

  /** The connection has room or window again: go on with a blocked write. */
  retryWrite(): void {
    if (this.#finPending && this.#wrView === null) {
      this.#sendFin();
      return;
    }
    const v = this.#wrView;
    if (v === null) return;
    const n = this.#process(v);
    // (A reset during #process already failed the write: abort().)
    if (n > 0 && this.#wrResolve !== null) {
      const r = this.#wrResolve;
      this.#clearWrite();
      r(n);
    }
  }

  /**
   * The response ends here (until-close body, the server's FIN in a
   * tunnel): END_STREAM; RST_STREAM CONNECT_ERROR for a tunnel whose server
   * failed.
   */
  closeWrite(): Promise<void> {
    if (this.#state === R_TUNNEL && this.#peerFailed) this.#connectError();
    else if (this.#state === R_UNTIL_CLOSE || this.#state === R_TUNNEL) {
      this.#finPending = true;
      this.#sendFin();
    }
    return Promise.resolve();
  }

  /**
   * The tunnel's server connection failed (a reset, Conn.peerFailed): what
   * it sent before still goes out, then RST_STREAM CONNECT_ERROR instead of
   * END_STREAM (RFC 9113 §8.5); at once when END_STREAM is already out.
   */
  peerFailed(): void {
    if (!this.tunnel || this.reset || this.closed) return;
    this.#peerFailed = true;
    if (this.resDone) this.#connectError();
  }

  #connectError(): void {
    this.#state = R_DONE;
    this.#sender.resetStream(this, H2_CONNECT_ERROR, "the tunnel's server connection failed");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#freeRx();
    this.#dropAcc();
    if (this.#rdResolve !== null) this.#resolveRead(0);
    const cut = this.#wrReject !== null;
    if (this.#wrReject !== null) {
      const r = this.#wrReject;
      this.#clearWrite();
      r(RESET);
    }
    // A body delimited by the close (no length, not chunked) ends here, as
    // an HTTP/1.1 client would see it end: END_STREAM, not a reset. So does
    // a tunnel whose END_STREAM was owed (closeWrite()) but had no room.
    if (
      (this.#state === R_UNTIL_CLOSE || (this.#state === R_TUNNEL && this.#finPending)) &&
      !this.reset && !cut
    ) {
      this.#finPending = true;
      this.#sendFin();
    }
    // A tunnel is complete once both sides ended it; closed before (a
    // timeout, an abort), it is reset (CANCEL).
    this.#sender.streamClosed(this, this.resDone && (this.reqDone || !this.tunnel));
  }

  // ---- response translation ----

  /**
   * The analysers forwarded, unchanged, the response head they parsed as
   * `head`: buf[start, start + len). Its HEADERS fields are built now from
   * that parse; its bytes, when the Stream writes them from that very
   * place, are then only counted (HAProxy's mux reads the parsed HTX
   * message, not bytes). Ignored while another head is being read or waits
   * to be sent: the bytes are read as usual.
   */
  headCommitted(buf: Uint8Array, head: ParsedHead, start: number, len: number): void {
    if (this.#state !== R_HEAD || this.#hPending || this.#acc !== null || this.#lineLen !== 0) {
      return;
    }
    if (this.reset || this.closed || len <= 0) return;
    responseFromIndex(buf, head, start, len, this.#h);
    this.#preBuf = buf.buffer;
    this.#preAt = buf.byteOffset + start;
    this.#preLeft = len;
  }

  /**
   * Takes the bytes of the head headCommitted() translated from v[pos, len);
   * returns the new position, -1 when v[pos] is not where they were (an
   * error reply replaced them: the bytes are read as usual).
   */
  #takeCommitted(v: Uint8Array, pos: number, len: number): number {
    if (v.buffer !== this.#preBuf || v.byteOffset + pos !== this.#preAt) {
      this.#preBuf = null;
      this.#preLeft = 0;
      return -1;
    }
    const k = Math.min(this.#preLeft, len - pos);
    this.#preAt += k;
    this.#preLeft -= k;
    if (this.#preLeft === 0) {
      this.#preBuf = null;
      this.#headReady(false);
    }
    return pos + k;
  }

  #sendFin(): void {
    if (!this.#finPending || this.resDone) return;
    this.#sender.sendData(this, EMPTY, 0, 0, true);
    if (this.resDone) this.#finPending = false;
  }

  /** The response's END_STREAM went out. */
  markDone(): void {
    this.resDone = true;
    this.#state = R_DONE;
    this.#sender.responseDone(this);
    this.#feed();
  }

  /**
   * Turns as much of `v` as the windows and the output buffer allow into
   * frames; returns the bytes taken (0: blocked).
   */
  #process(v: Uint8Array): number {
    let pos = 0;
    const len = v.length;
    if (this.#hPending && !this.#flushHeaders()) return 0;
    while (pos < len) {
      if (this.#preLeft > 0 && this.#state === R_HEAD) {
        const p = this.#takeCommitted(v, pos, len);
        if (p >= 0) {
          pos = p;
          if (this.#hPending && !this.#flushHeaders()) return pos;
          continue;
        }
      }
      switch (this.#state) {
        case R_HEAD:
        case R_TRAILERS: {
          // Collect up to the empty line (the trailers may be just "\r\n").
          const start = pos;
          let done = false;
          while (pos < len) {
            const lf = v.indexOf(LF, pos);
            if (lf < 0) {
              this.#lineLen = Math.min(2, this.#lineLen + len - pos);
              pos = len;
              break;
            }
            // A line of at most one byte before its LF is the empty one (a CR).
            const line = this.#lineLen + lf - pos;
            pos = lf + 1;
            this.#lineLen = 0;
            if (line <= 1) {
              done = true;
              break;
            }
          }
          const trailers = this.#state === R_TRAILERS;
          if (done && this.#acc === null) {
            // The common case: the whole section is in this write.
            this.#headParsed(v, start, pos, trailers);
          } else {
            if (!this.#collect(v, start, pos)) return pos;
            if (!done) return pos;
            this.#headParsed(this.#acc!, 0, this.#accLen, trailers);
            this.#dropAcc();
          }
          if (this.#hPending && !this.#flushHeaders()) return pos;
          break;
        }
        case R_LENGTH:
        case R_CHUNK_DATA:
        case R_UNTIL_CLOSE:
        case R_TUNNEL: {
          const until = this.#state >= R_UNTIL_CLOSE; // R_UNTIL_CLOSE, R_TUNNEL
          let want = until ? len - pos : Math.min(this.#left, len - pos);
          const last = this.#state === R_LENGTH && want === this.#left;
          // One DATA frame per call: as many as the windows and the output
          // buffer take now (a write back per frame would cost a Stream run).
          while (want > 0) {
            const k = this.#sender.sendData(this, v, pos, want, last);
            if (k === 0) break;
            pos += k;
            want -= k;
            if (!until) this.#left -= k;
          }
          if (want > 0) return pos;
          if (this.#state === R_CHUNK_DATA && this.#left === 0) {
            this.#state = R_CHUNK_CRLF;
            this.#left = 2;
          }
          break;
        }
        case R_CHUNK_CRLF: {
          const k = Math.min(this.#left, len - pos);
          pos += k;
          this.#left -= k;
          if (this.#left === 0) {
            this.#state = R_CHUNK_SIZE;
            this.#chunkSize = 0;
            this.#chunkExt = false;
          }
          break;
        }
        case R_CHUNK_SIZE: {
          while (pos < len) {
            const c = v[pos++]!;
            if (c === LF) {
              if (this.#chunkSize === 0) {
                this.#state = R_TRAILERS;
                this.#lineLen = 0;
              } else {
                this.#state = R_CHUNK_DATA;
                this.#left = this.#chunkSize;
              }
              break;
            }
            if (this.#chunkExt || c === CR) continue;
            // The size ends at BWS or `;` (RFC 9112 §7.1.1: `3 ;ext`, `3 `;
            // the analysers checked the line): what follows is skipped.
            if (c === 0x3b || c === SP || c === HTAB) {
              this.#chunkExt = true;
              continue;
            }
            const d = hexVal(c);
            if (d < 0) {
              this.#fail("bad chunk size in the response");
              return len;
            }
            this.#chunkSize = this.#chunkSize * 16 + d;
          }
          break;
        }
        default:
          // After the response: nothing more belongs to this stream.
          return len;
      }
    }
    return pos;
  }

  /** Sends the waiting HEADERS; false when there is no room yet. */
  #flushHeaders(): boolean {
    const h = this.#h;
    if (!this.#sender.sendHeaders(this, h.names, h.values, h.count, this.#hEnd)) {
      return false;
    }
    this.#hPending = false;
    this.resStarted = true;
    if (this.#hEnd) this.markDone();
    return true;
  }

  /** Something this stream cannot translate: reset it (the Stream sees a failed write). */
  #fail(why: string): void {
    this.#state = R_DONE;
    this.#sender.resetStream(this, H2_INTERNAL_ERROR, why);
  }

  /**
   * Adds src[start, end) to the section being collected; false (the stream
   * reset) when it grows over MAX_HEAD or no buffer is left.
   */
  #collect(src: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    if (this.#accLen + n > MAX_HEAD) {
      this.#fail("response head too large");
      return false;
    }
    let acc = this.#acc;
    if (acc === null || acc.length < this.#accLen + n) {
      const pooled = this.#pool.size >= this.#accLen + n ? this.#pool.alloc() : null;
      const nb = pooled ?? new Uint8Array(MAX_HEAD);
      const len = this.#accLen;
      if (acc !== null) nb.set(acc.subarray(0, len), 0);
      this.#dropAcc();
      this.#acc = acc = nb;
      this.#accLen = len;
      this.#accPooled = pooled !== null;
    }
    acc.set(src.subarray(start, end), this.#accLen);
    this.#accLen += n;
    return true;
  }

  /** Lets go of the collected section's buffer. */
  #dropAcc(): void {
    if (this.#acc !== null && this.#accPooled) this.#pool.release(this.#acc);
    this.#acc = null;
    this.#accLen = 0;
    this.#accPooled = false;
  }

  /** A whole head or trailer section in src[start, end): what it means for the stream. */
  #headParsed(src: Uint8Array, start: number, end: number, trailers: boolean): void {
    parseResponseHead(src, start, end, trailers, this.#h);
    this.#headReady(trailers);
  }

  /** A head or trailer section is in #h: what it means for the stream. */
  #headReady(trailers: boolean): void {
    const h = this.#h;
    if (trailers) {
      // The trailer section of a chunked response: HEADERS with END_STREAM, or an empty DATA.
      this.#state = R_DONE;
      if (h.count === 0) {
        this.#finPending = true;
        this.#sendFin();
        return;
      }
      this.#hEnd = true;
      this.#hPending = true;
      return;
    }
    const code = h.status;
    this.#hPending = true;
    // RFC 9110 §8.6: no Content-Length in a 1xx or 204 (HTTP/2 clients such
    // as nghttp2, hence curl, reset the stream when one has it).
    if (h.length >= 0 && (code < 200 || code === 204)) dropFields(h, "content-length");
    if (code >= 100 && code < 200) {
      // Interim response (100 Continue, 103): HEADERS, then the real one.
      // 101 cannot be translated (no upgrade over HTTP/2).
      if (code === 101) {
        this.#hPending = false;
        this.#fail("101 Switching Protocols cannot be sent over HTTP/2");
        return;
      }
      this.#hEnd = false;
      this.#state = R_HEAD;
      return;
    }
    if (this.isConnect && code < 300) {
      // The tunnel is open: HEADERS without END_STREAM nor content-length
      // (RFC 9110 §9.3.6; transfer-encoding is never sent), then the server's bytes.
      if (h.length >= 0) dropFields(h, "content-length");
      this.#hEnd = false;
      this.#state = R_TUNNEL;
      this.tunnel = true;
      this.#feed(); // the client's END_STREAM may have come already
      return;
    }
    if (this.isHead || code === 204 || code === 304) {
      this.#hEnd = true;
      this.#state = R_DONE;
    } else if (h.chunked) {
      this.#hEnd = false;
      this.#state = R_CHUNK_SIZE;
      this.#chunkSize = 0;
      this.#chunkExt = false;
    } else if (h.length >= 0) {
      this.#hEnd = h.length === 0;
      this.#state = h.length === 0 ? R_DONE : R_LENGTH;
      this.#left = h.length;
    } else {
      this.#hEnd = false;
      this.#state = R_UNTIL_CLOSE;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Closed streams kept per connection; a client opens at most a few at a time. */
const SPARE_MAX = 16;

/**
 * The streams of one connection that their Streams closed, reused for the
 * next ones (a client that sends one request per stream would otherwise
 * cost a stream object, its parsed-fields arrays and their growth each).
 */
export class H2StreamPool {
  #sender: H2Sender;
  #pool: BufferPool;
  #free: H2Stream[];

  constructor(sender: H2Sender, pool: BufferPool) {
    this.#sender = sender;
    this.#pool = pool;
    this.#free = [];
  }

  /** A new stream: a reopened spare one, else one made now. */
  open(id: number, sendWindow: number, recvWindow: number, now: number): H2Stream {
    const s = this.#free.pop();
    if (s === undefined) {
      return new H2Stream(id, this.#sender, this.#pool, sendWindow, recvWindow, now);
    }
    s.reopen(id, sendWindow, recvWindow, now);
    return s;
  }

  /**
   * Takes back a stream its Stream closed (close() ran: no read, write or
   * frame reaches it any more). Not while it waits in the connection's
   * blocked list: the list still holds it.
   */
  give(s: H2Stream): void {
    if (s.closed && !s.blocked && this.#free.length < SPARE_MAX) this.#free.push(s);
  }
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
