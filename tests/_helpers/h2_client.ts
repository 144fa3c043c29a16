// A raw HTTP/2 test client: sends exact frames (valid or not) and reads the
// frames the proxy answers with, one by one, within deadlines. Header blocks
// are encoded with a fresh HPACK encoder (or given as raw bytes) and the
// proxy's header blocks are decoded, so tests assert on statuses, bodies,
// RST_STREAM and GOAWAY codes as a conformance suite (h2spec) would.

import {
  FF_ACK,
  FF_END_HEADERS,
  FF_END_STREAM,
  FRAME_HEADER_LEN,
  FT_CONTINUATION,
  FT_DATA,
  FT_GOAWAY,
  FT_HEADERS,
  FT_PING,
  FT_RST_STREAM,
  FT_SETTINGS,
  FT_WINDOW_UPDATE,
  h2ErrorToString,
  PREFACE,
  writeFrameHeader,
  writeU32,
} from "../../src/h2/frame.ts";
import { HeaderList, HPACK_OK, HpackDecoder, HpackEncoder } from "../../src/h2/hpack.ts";
import { closeQuietly, concat } from "./client.ts";

/** One frame as received. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
  /** On the frame that ends a header block (END_HEADERS): the decoded block. */
  headers?: [string, string][];
}

/** A response as collected by request(). */
export interface H2Response {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  trailers: [string, string][];
  /** RST_STREAM code when the stream was reset, else -1. */
  reset: number;
}

/** What ended a wait: a GOAWAY (its code), the connection's end, or a timeout. */
export class H2Closed extends Error {
  constructor(readonly goaway: number, readonly why: string) {
    super(why);
  }
}

export class H2RawClient {
  readonly conn: Deno.TcpConn;
  readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder(4096, 1 << 20);
  /** Every frame received so far, in order. */
  readonly frames: Frame[] = [];
  /** The GOAWAY error code received, -1 before one. */
  goaway = -1;
  /** The connection ended (EOF or error). */
  closed = false;
  #buf = new Uint8Array(0);
  #read = 0;
  #waiters: (() => void)[] = [];
  /** Fragments of the header block being received. */
  #block: Uint8Array[] = [];
  /** Our preface and SETTINGS are out: the server's SETTINGS may be acknowledged. */
  #started = false;
  #owedAcks = 0;
  /** Acknowledge the server's SETTINGS (false: a client that never does). */
  #ack = true;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    void this.#pump();
  }

  /**
   * Connects, sends the preface and `settings` (id, value pairs), and
   * acknowledges the server's SETTINGS when it comes.
   */
  static async connect(
    port: number,
    settings: number[] = [],
    preface = true,
    ack = true,
    prefix: Uint8Array | null = null,
  ): Promise<H2RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const c = new H2RawClient(conn);
    c.#ack = ack;
    // Bytes before the preface (a PROXY protocol header).
    if (prefix !== null) await c.send(prefix);
    if (preface) {
      await c.send(PREFACE);
      await c.sendFrame(FT_SETTINGS, 0, 0, settingsPayload(settings));
    }
    c.#started = true;
    for (; c.#owedAcks > 0; c.#owedAcks--) {
      await c.sendFrame(FT_SETTINGS, FF_ACK, 0, new Uint8Array(0));
    }
    return c;
  }

  async #pump(): Promise<void> {
    const chunk = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.conn.read(chunk);
        if (n === null) break;
        const nb = new Uint8Array(this.#buf.length + n);
        nb.set(this.#buf);
        nb.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = nb;
        let pos = 0;
        while (this.#buf.length - pos >= FRAME_HEADER_LEN) {
          const b = this.#buf;
          const len = (b[pos]! << 16) | (b[pos + 1]! << 8) | b[pos + 2]!;
          if (b.length - pos < FRAME_HEADER_LEN + len) break;
          const f: Frame = {
            type: b[pos + 3]!,
            flags: b[pos + 4]!,
            streamId: ((b[pos + 5]! & 0x7f) << 24) | (b[pos + 6]! << 16) | (b[pos + 7]! << 8) |
              b[pos + 8]!,
            payload: b.slice(pos + FRAME_HEADER_LEN, pos + FRAME_HEADER_LEN + len),
          };
          pos += FRAME_HEADER_LEN + len;
          // HPACK state is the connection's: every block is decoded in order.
          if (f.type === FT_HEADERS || f.type === FT_CONTINUATION) {
            this.#block.push(f.payload);
            if (f.flags & FF_END_HEADERS) {
              f.headers = this.#decode(concat(this.#block));
              this.#block = [];
            }
          }
          this.frames.push(f);
          // The connection window is given back as DATA arrives, whatever
          // stream it is for (stream windows are given back by response()):
          // a test that reads streams one by one never starves the others.
          if (f.type === FT_DATA && f.payload.length > 0) {
            void this.sendWindowUpdate(0, f.payload.length).catch(() => {});
          }
          if (f.type === FT_SETTINGS && !(f.flags & FF_ACK) && this.#ack) {
            if (!this.#started) this.#owedAcks++;
            else void this.sendFrame(FT_SETTINGS, FF_ACK, 0, new Uint8Array(0)).catch(() => {});
          }
          if (f.type === FT_GOAWAY) this.goaway = u32(f.payload, 4);
        }
        this.#buf = this.#buf.slice(pos);
        this.#wake();
      }
    } catch { /* reset: closed */ }
    this.closed = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits for the next frame not yet returned by next() (any type). */
  async next(timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.frames.length) {
      if (this.closed) throw new H2Closed(this.goaway, "connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new H2Closed(this.goaway, "timeout waiting for a frame");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.frames[this.#read++]!;
  }

  /** Waits until `pred` holds for a received frame (from the start); returns it. */
  async waitFrame(pred: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed) throw new H2Closed(this.goaway, "connection closed before the frame");
      const left = deadline - Date.now();
      if (left <= 0) throw new H2Closed(this.goaway, "timeout waiting for a frame");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Waits for the connection to end; returns the GOAWAY code (-1 without one). */
  async waitClosed(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timeout waiting for the connection to close");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.goaway;
  }

  /** Waits for a GOAWAY; returns its error code. */
  async waitGoaway(timeoutMs = 10_000): Promise<number> {
    const f = await this.waitFrame((f) => f.type === FT_GOAWAY, timeoutMs);
    return u32(f.payload, 4);
  }

  /** Waits for RST_STREAM on `sid`; returns its code. */
  async waitReset(sid: number, timeoutMs = 10_000): Promise<number> {
    const f = await this.waitFrame(
      (f) => f.type === FT_RST_STREAM && f.streamId === sid,
      timeoutMs,
    );
    return u32(f.payload, 0);
  }

  async send(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Sends one frame. */
  sendFrame(type: number, flags: number, sid: number, payload: Uint8Array): Promise<void> {
    const out = new Uint8Array(FRAME_HEADER_LEN + payload.length);
    writeFrameHeader(out, 0, payload.length, type, flags, sid);
    out.set(payload, FRAME_HEADER_LEN);
    return this.send(out);
  }

  /** A header block for `headers` with this client's encoder. */
  block(headers: [string, string][]): Uint8Array {
    const out = new Uint8Array(65536);
    const n = this.encoder.encode(
      headers.map((h) => h[0]),
      headers.map((h) => h[1]),
      headers.length,
      out,
      0,
    );
    return out.slice(0, n);
  }

  /** Sends HEADERS (END_HEADERS, END_STREAM when `end`). */
  sendHeaders(sid: number, headers: [string, string][], end = true, extraFlags = 0): Promise<void> {
    return this.sendFrame(
      FT_HEADERS,
      FF_END_HEADERS | (end ? FF_END_STREAM : 0) | extraFlags,
      sid,
      this.block(headers),
    );
  }

  sendData(sid: number, data: Uint8Array, end = false): Promise<void> {
    return this.sendFrame(FT_DATA, end ? FF_END_STREAM : 0, sid, data);
  }

  sendWindowUpdate(sid: number, inc: number): Promise<void> {
    const p = new Uint8Array(4);
    writeU32(p, 0, inc);
    return this.sendFrame(FT_WINDOW_UPDATE, 0, sid, p);
  }

  sendRst(sid: number, code: number): Promise<void> {
    const p = new Uint8Array(4);
    writeU32(p, 0, code);
    return this.sendFrame(FT_RST_STREAM, 0, sid, p);
  }

  sendPing(data: Uint8Array = new Uint8Array(8)): Promise<void> {
    return this.sendFrame(FT_PING, 0, 0, data);
  }

  /**
   * Collects the response of stream `sid`: HEADERS (+CONTINUATION), DATA up
   * to END_STREAM, trailers; or a reset. Gives window back as DATA comes.
   */
  async response(sid: number, timeoutMs = 10_000): Promise<H2Response> {
    const r: H2Response = {
      status: 0,
      headers: [],
      body: new Uint8Array(0),
      trailers: [],
      reset: -1,
    };
    const chunks: Uint8Array[] = [];
    let blockEnd = false;
    let i = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (i >= this.frames.length) {
        if (this.closed) {
          throw new H2Closed(this.goaway, `connection closed before stream ${sid} ended`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new H2Closed(this.goaway, `timeout waiting for stream ${sid}`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          this.#waiters.push(() => {
            clearTimeout(t);
            res();
          });
        });
      }
      const f = this.frames[i++]!;
      if (f.type === FT_GOAWAY && f.streamId === 0 && u32(f.payload, 4) !== 0) {
        throw new H2Closed(u32(f.payload, 4), `GOAWAY ${h2ErrorToString(u32(f.payload, 4))}`);
      }
      if (f.streamId !== sid) continue;
      if (f.type === FT_RST_STREAM) {
        r.reset = u32(f.payload, 0);
        return r;
      }
      if (f.type === FT_HEADERS || f.type === FT_CONTINUATION) {
        if (f.type === FT_HEADERS) blockEnd = (f.flags & FF_END_STREAM) !== 0;
        if (f.headers !== undefined) {
          const list = f.headers;
          if (r.status === 0 || (r.status >= 100 && r.status < 200 && list[0]?.[0] === ":status")) {
            r.status = Number(list.find((h) => h[0] === ":status")?.[1] ?? 0);
            r.headers = list;
          } else r.trailers = list;
          if (blockEnd) break;
        }
      } else if (f.type === FT_DATA) {
        chunks.push(f.payload);
        if (f.payload.length > 0) {
          if (!(f.flags & FF_END_STREAM)) {
            await this.sendWindowUpdate(sid, f.payload.length).catch(() => {});
          }
        }
        if (f.flags & FF_END_STREAM) break;
      }
    }
    r.body = concat(chunks);
    return r;
  }

  #decode(block: Uint8Array): [string, string][] {
    const l = new HeaderList();
    const rc = this.decoder.decode(block, 0, block.length, l);
    if (rc !== HPACK_OK) throw new Error(`HPACK error in the proxy's block: ${this.decoder.error}`);
    const out: [string, string][] = [];
    for (let i = 0; i < l.count; i++) out.push([l.names[i]!, l.values[i]!]);
    return out;
  }

  close(): void {
    closeQuietly(this.conn);
  }
}

/** A GET's pseudo-headers (and extra fields). */
export function getHeaders(path: string, extra: [string, string][] = []): [string, string][] {
  return [[":method", "GET"], [":scheme", "http"], [":authority", "example.test"], [
    ":path",
    path,
  ], ...extra];
}

export function settingsPayload(pairs: number[]): Uint8Array {
  const p = new Uint8Array((pairs.length / 2) * 6);
  for (let i = 0; i < pairs.length; i += 2) {
    p[i * 3] = pairs[i]! >> 8;
    p[i * 3 + 1] = pairs[i]! & 0xff;
    writeU32(p, i * 3 + 2, pairs[i + 1]!);
  }
  return p;
}

export function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}
