// Tools of the CONNECT-over-HTTP/2 tests: a tunnel server that reads an
// HTTP/1.1 CONNECT head and answers it (then echoes, closes, resets...), a
// proxy with an h2c frontend sending CONNECTs to it, and a raw-frame tunnel
// client that honours the proxy's flow-control windows when it sends and
// gives its own back as it reads.

import {
  FF_END_STREAM,
  FT_DATA,
  FT_HEADERS,
  FT_RST_STREAM,
  FT_SETTINGS,
  FT_WINDOW_UPDATE,
} from "../../../src/h2/frame.ts";
import { closeQuietly, concat, delay, indexOfCrlfCrlf, latin1 } from "../../_helpers/client.ts";
import { type H2RawClient, u32 } from "../../_helpers/h2_client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

/** A connection's bytes pumped in the background: what came, and whether it ended. */
export class Pumped {
  chunks: Uint8Array[] = [];
  count = 0;
  eof = false;
  error = false;
  #wake: (() => void)[] = [];
  readonly done: Promise<void>;

  constructor(
    readonly conn: Deno.Conn,
    first: Uint8Array,
    onData?: (b: Uint8Array) => Promise<void>,
  ) {
    if (first.length > 0) this.#push(first);
    this.done = (async () => {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          const b = buf.slice(0, n);
          this.#push(b);
          if (onData !== undefined) await onData(b);
        }
        this.eof = true;
      } catch {
        this.error = true;
      }
      this.#notify();
    })();
  }

  #push(b: Uint8Array): void {
    this.chunks.push(b);
    this.count += b.length;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = [];
    for (const f of w) f();
  }

  bytes(): Uint8Array {
    return concat(this.chunks);
  }

  /** Waits until `n` bytes came, or the end (eof/error). */
  async until(pred: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error("timeout in the tunnel server");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#wake.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

/** What the tunnel server does once it has the CONNECT head (and has answered it). */
export type Then = (conn: Deno.Conn, head: string, rest: Uint8Array) => Promise<void>;

export interface TunnelServer {
  /** The address for the proxy's server line ("127.0.0.1:port"). */
  readonly address: string;
  /** The heads received, in order. */
  readonly heads: string[];
  /** Each handler's end (errors included), in order. */
  readonly handled: Promise<void>[];
  close(): Promise<void>;
}

/** Reads a head (up to the empty line): its text and the bytes read after it. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array } | null> {
  let acc: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(16384);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return null;
    acc = concat([acc, buf.subarray(0, n)]);
    const e = indexOfCrlfCrlf(acc);
    if (e >= 0) return { head: latin1(acc.subarray(0, e + 4)), rest: acc.slice(e + 4) };
  }
}

/**
 * A server on 127.0.0.1 that reads each connection's head, waits
 * `delayMs`, answers `reply` (raw bytes), then runs `then`.
 */
export function tunnelServer(reply: string, then: Then, delayMs = 0): TunnelServer {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  const handled: Promise<void>[] = [];
  const conns: Deno.Conn[] = [];
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await l.accept();
      } catch {
        return;
      }
      conns.push(conn);
      handled.push((async () => {
        try {
          const h = await readHead(conn);
          if (h === null) return;
          heads.push(h.head);
          if (delayMs > 0) await delay(delayMs);
          await conn.write(new TextEncoder().encode(reply));
          await then(conn, h.head, h.rest);
        } catch { /* the test's assertions say what went wrong */ }
      })());
    }
  })();
  const address = `127.0.0.1:${l.addr.port}`;
  return {
    address,
    heads,
    handled,
    close: async () => {
      l.close();
      for (const c of conns) closeQuietly(c);
      await loop;
      await Promise.allSettled(handled);
    },
  };
}

/**
 * A proxy: frontend `fe` (h2c) sends CONNECTs to backend `tun` (the tunnel
 * server), everything else to `be` (`origin`, a Deno.serve origin); `fe`
 * gets the extra lines `fe`.
 */
export function connectProxy(
  tunnel: string,
  origin: number,
  fe = "",
  timeouts = "connect: 2s, client: 20s, server: 20s",
): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { ${timeouts}, http-request: 10s, http-keep-alive: 10s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0 proto h2"
    use_backend: ["tun if METH_CONNECT"]
    default_backend: be
${fe}
backends:
  be:
    servers: [{ name: s1, address: "127.0.0.1:${origin}" }]
  tun:
    servers: [{ name: t1, address: "${tunnel}" }]
`);
}

/** A CONNECT's header list. */
export function connectHeaders(
  authority: string | null,
  extra: [string, string][] = [],
): [string, string][] {
  const h: [string, string][] = [[":method", "CONNECT"]];
  if (authority !== null) h.push([":authority", authority]);
  return [...h, ...extra];
}

/** What a tunnel client saw on its stream so far. */
export interface TunnelView {
  status: number;
  headers: [string, string][];
  /** HEADERS carried END_STREAM. */
  headersEnd: boolean;
  data: Uint8Array;
  /** END_STREAM received (on DATA or HEADERS). */
  ended: boolean;
  /** RST_STREAM code, -1 without one. */
  reset: number;
}

/** Reads the frames of one stream: HEADERS, DATA (giving the stream window back), END_STREAM, RST_STREAM. */
export class TunnelReader {
  readonly view: TunnelView = {
    status: 0,
    headers: [],
    headersEnd: false,
    data: new Uint8Array(0),
    ended: false,
    reset: -1,
  };
  #i = 0;
  #chunks: Uint8Array[] = [];
  #count = 0;

  constructor(readonly c: H2RawClient, readonly sid: number) {}

  /** Takes the frames received so far. */
  async #scan(): Promise<void> {
    const v = this.view;
    while (this.#i < this.c.frames.length) {
      const f = this.c.frames[this.#i++]!;
      if (f.streamId !== this.sid) continue;
      if (f.type === FT_HEADERS && f.headers !== undefined && v.status === 0) {
        v.headers = f.headers;
        v.status = Number(f.headers.find((h) => h[0] === ":status")?.[1] ?? 0);
        if (f.flags & FF_END_STREAM) v.headersEnd = v.ended = true;
      } else if (f.type === FT_DATA) {
        if (f.payload.length > 0) {
          this.#chunks.push(f.payload);
          this.#count += f.payload.length;
          if (!(f.flags & FF_END_STREAM)) {
            await this.c.sendWindowUpdate(this.sid, f.payload.length).catch(() => {});
          }
        }
        if (f.flags & FF_END_STREAM) v.ended = true;
      } else if (f.type === FT_RST_STREAM) v.reset = u32(f.payload, 0);
    }
    if (this.#chunks.length > 1) this.#chunks = [concat(this.#chunks)];
    v.data = this.#chunks[0] ?? new Uint8Array(0);
  }

  /** Waits until `pred` holds (or the connection closed); returns the view. */
  async until(pred: (v: TunnelView) => boolean, ms = 10_000): Promise<TunnelView> {
    const deadline = Date.now() + ms;
    for (;;) {
      await this.#scan();
      if (pred(this.view)) return this.view;
      if (this.c.closed) {
        throw new Error(`connection closed; stream ${this.sid}: ${describe(this.view)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timeout; stream ${this.sid}: ${describe(this.view)}`);
      }
      await delay(5);
    }
  }

  get count(): number {
    return this.#count;
  }
}

function describe(v: TunnelView): string {
  return `status ${v.status}, ${v.data.length} bytes, ended ${v.ended}, reset ${v.reset}`;
}

/**
 * Sends `data` on stream `sid` as DATA frames of at most `frame` bytes,
 * within the proxy's windows (its SETTINGS_INITIAL_WINDOW_SIZE and
 * WINDOW_UPDATEs), END_STREAM on the last when `end`. Only one sender per
 * connection (the connection window is counted from this call's bytes).
 */
export async function sendWithinWindows(
  c: H2RawClient,
  sid: number,
  data: Uint8Array,
  end: boolean,
  frame = 16384,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  let sent = 0;
  const windows = () => {
    let init = 65535, conn = 65535, stream = 0;
    for (const f of c.frames) {
      if (f.type === FT_SETTINGS && f.payload.length > 0) {
        for (let i = 0; i + 6 <= f.payload.length; i += 6) {
          if (((f.payload[i]! << 8) | f.payload[i + 1]!) === 4) init = u32(f.payload, i + 2);
        }
      } else if (f.type === FT_WINDOW_UPDATE) {
        if (f.streamId === 0) conn += u32(f.payload, 0) & 0x7fffffff;
        else if (f.streamId === sid) stream += u32(f.payload, 0) & 0x7fffffff;
      }
    }
    return Math.min(conn, init + stream) - sent;
  };
  while (sent < data.length) {
    const room = windows();
    if (room <= 0) {
      if (Date.now() > deadline) throw new Error(`no window after ${sent} bytes`);
      if (c.closed) throw new Error(`connection closed after ${sent} bytes`);
      await delay(5);
      continue;
    }
    const n = Math.min(room, frame, data.length - sent);
    await c.sendData(sid, data.subarray(sent, sent + n), end && sent + n === data.length);
    sent += n;
  }
  if (end && data.length === 0) await c.sendData(sid, new Uint8Array(0), true);
}

/** `n` bytes of a fixed pseudo-random pattern. */
export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
