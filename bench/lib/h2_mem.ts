// An HTTP/2 client in memory, for the benches that run the mux in process
// (h2_mux_bench.ts, h2_path_bench.ts): the connection the mux reads and
// writes, and the request batches h2load sends (`-m BATCH`: BATCH HEADERS
// frames in one read, HPACK-indexed after the first batch).

import {
  FF_END_HEADERS,
  FF_END_STREAM,
  FT_HEADERS,
  PREFACE,
  writeFrameHeader,
  writeSettings,
  writeWindowUpdate,
} from "../../src/h2/frame.ts";
import type { HpackEncoder } from "../../src/h2/hpack.ts";
import type { Conn } from "../../src/listener/protocol.ts";

/**
 * The client side: reads hand out what the bench queued (as much as the
 * reader's view holds, the rest at the next read); writes are counted and
 * dropped.
 */
export class MemConn implements Conn {
  #pending: Uint8Array | null = null;
  #off = 0;
  #wait: ((n: number) => void) | null = null;
  #view: Uint8Array | null = null;
  written = 0;
  writes = 0;
  /** Called with each write's bytes before they are dropped. */
  onWrite: ((b: Uint8Array) => void) | null = null;
  feed(b: Uint8Array): void {
    this.#pending = b;
    this.#off = 0;
    if (this.#wait !== null) {
      const r = this.#wait;
      this.#wait = null;
      r(this.#take(this.#view!));
    }
  }
  #take(view: Uint8Array): number {
    const p = this.#pending!, n = Math.min(view.length, p.length - this.#off);
    view.set(p.subarray(this.#off, this.#off + n), 0);
    this.#off += n;
    if (this.#off === p.length) this.#pending = null;
    return n;
  }
  read(view: Uint8Array): Promise<number> {
    if (this.#pending !== null) return Promise.resolve(this.#take(view));
    this.#view = view;
    return new Promise((r) => this.#wait = r);
  }
  write(view: Uint8Array): Promise<number> {
    this.written += view.length;
    this.writes++;
    this.onWrite?.(view);
    return Promise.resolve(view.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

/**
 * The client's first bytes: the preface, empty SETTINGS, the ACK of the
 * server's (so that no settings timeout strikes) and the largest connection
 * window (the responses never wait for it).
 */
export function clientHello(): Uint8Array {
  const hello = new Uint8Array(PREFACE.length + 9 + 9 + 13);
  hello.set(PREFACE, 0);
  let at = writeSettings(hello, PREFACE.length, []);
  at = writeFrameHeader(hello, at, 0, 4, 1, 0);
  writeWindowUpdate(hello, at, 0, 0x7fffffff - 65535);
  return hello;
}

/**
 * The client's requests: `batch` HEADERS frames in one buffer, rewritten with
 * new stream ids each batch (the blocks are the same once HPACK indexed
 * them, as h2load's are).
 */
export class Requests {
  readonly buf: Uint8Array;
  readonly first: Uint8Array;
  readonly #at: number[] = [];
  readonly #len: number;
  readonly #batch: number;
  constructor(enc: HpackEncoder, batch: number, authority = "127.0.0.1:8080") {
    this.#batch = batch;
    const names = [":method", ":path", ":scheme", ":authority", "user-agent"];
    const values = ["GET", "/", "http", authority, "h2load nghttp2/1.52.0"];
    const blk = new Uint8Array(200);
    const first = new Uint8Array(batch * 200);
    let at = 0;
    for (let i = 0; i < batch; i++) {
      // The first batch indexes the fields; the next ones are indexes only.
      const len = enc.encode(names, values, names.length, blk, 0);
      this.#at.push(at);
      at = writeFrameHeader(first, at, len, FT_HEADERS, FF_END_HEADERS | FF_END_STREAM, 1);
      first.set(blk.subarray(0, len), at);
      at += len;
    }
    this.first = first.slice(0, at);
    const len = enc.encode(names, values, names.length, blk, 0);
    this.buf = new Uint8Array(batch * (9 + len));
    for (let i = 0; i < batch; i++) this.buf.set(blk.subarray(0, len), i * (9 + len) + 9);
    this.#len = len;
  }
  /** The first batch (from stream `sid`). */
  firstFrom(sid: number): Uint8Array {
    for (let i = 0; i < this.#batch; i++) {
      const at = this.#at[i]!, len = (this.#at[i + 1] ?? this.first.length) - at - 9;
      writeFrameHeader(
        this.first,
        at,
        len,
        FT_HEADERS,
        FF_END_HEADERS | FF_END_STREAM,
        sid + 2 * i,
      );
    }
    return this.first;
  }
  /** A later batch (from stream `sid`). */
  from(sid: number): Uint8Array {
    const len = this.#len;
    for (let i = 0; i < this.#batch; i++) {
      writeFrameHeader(
        this.buf,
        i * (9 + len),
        len,
        FT_HEADERS,
        FF_END_HEADERS | FF_END_STREAM,
        sid + 2 * i,
      );
    }
    return this.buf;
  }
}
