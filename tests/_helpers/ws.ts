// Minimal WebSocket (RFC 6455) echo server and client over raw TCP, for
// testing that the proxy passes the Upgrade handshake and then tunnels the
// frames untouched.
//
// Server (`wsEchoServer()`): on 127.0.0.1:0; reads the HTTP Upgrade request,
// checks it (GET, `Upgrade: websocket`, `Connection: upgrade`, version 13, a
// key), answers 101 with Sec-WebSocket-Accept (SHA-1 via crypto.subtle), then
// echoes every text/binary message (reassembling fragments) unmasked,
// answers pings with pongs, and on a close frame echoes the close code and
// closes the connection. A protocol violation (an unmasked client frame, a
// bad opcode) is answered with close 1002 and recorded in `errors`. It
// records the handshake request heads and the messages it echoed.
//
// Client (`wsConnect()`): sends the Upgrade request with a random key,
// checks the 101 and the accept value, then sends masked frames (random
// mask per frame) and reads unmasked ones. `close()` does the closing
// handshake: sends close, waits for the peer's close frame, then for EOF.
//
// Every wait is bounded; nothing here swallows a failure.

import { AcceptLoop } from "./accept.ts";
import { closeQuietly, DEFAULT_DEADLINE_MS, te, withDeadline, writeFull } from "./client.ts";

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", te.encode(key + WS_GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** One frame: FIN bit, opcode, payload (unmasked). */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
  /** Whether the frame arrived masked. */
  masked: boolean;
}

/** Encodes a frame; masks it with a random key when `mask`. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  mask: boolean,
  fin = true,
): Uint8Array {
  const len = payload.length;
  const extLen = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = 2 + extLen + (mask ? 4 : 0);
  const out = new Uint8Array(head + len);
  out[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
  out[1] = (mask ? 0x80 : 0) | (extLen === 0 ? len : extLen === 2 ? 126 : 127);
  const dv = new DataView(out.buffer);
  if (extLen === 2) dv.setUint16(2, len);
  else if (extLen === 8) dv.setBigUint64(2, BigInt(len));
  if (mask) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    out.set(key, 2 + extLen);
    for (let i = 0; i < len; i++) out[head + i] = payload[i]! ^ key[i & 3]!;
  } else {
    out.set(payload, head);
  }
  return out;
}

/** Buffered frame reader over a connection. */
class FrameReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(256 * 1024);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.Conn, leftover: Uint8Array = new Uint8Array(0)) {
    this.#conn = conn;
    this.#ensureRoom(leftover.length);
    this.#buf.set(leftover, 0);
    this.#end = leftover.length;
  }

  #ensureRoom(n: number): void {
    const live = this.#end - this.#start;
    if (this.#buf.length - this.#end >= n) return;
    const next = live + n > this.#buf.length
      ? new Uint8Array(Math.max(this.#buf.length * 2, live + n))
      : this.#buf;
    next.set(this.#buf.subarray(this.#start, this.#end), 0);
    this.#buf = next;
    this.#start = 0;
    this.#end = live;
  }

  /** Ensures `n` buffered bytes; false on EOF before any byte of a frame when `atStart`. */
  async #need(n: number, atStart: boolean): Promise<boolean> {
    while (this.#end - this.#start < n) {
      this.#ensureRoom(n - (this.#end - this.#start));
      const got = await this.#conn.read(this.#buf.subarray(this.#end));
      if (got === null) {
        if (atStart && this.#end === this.#start) return false;
        throw new Error(`EOF inside a frame (${this.#end - this.#start} of ${n} bytes)`);
      }
      this.#end += got;
    }
    return true;
  }

  /** The next frame, or null on a clean EOF between frames. */
  async next(): Promise<Frame | null> {
    if (!(await this.#need(2, true))) return null;
    const b0 = this.#buf[this.#start]!, b1 = this.#buf[this.#start + 1]!;
    const masked = (b1 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let hl = 2;
    if (len === 126) {
      await this.#need(4, false);
      len = (this.#buf[this.#start + 2]! << 8) | this.#buf[this.#start + 3]!;
      hl = 4;
    } else if (len === 127) {
      await this.#need(10, false);
      const dv = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#start + 2, 8);
      const big = dv.getBigUint64(0);
      if (big > 64n * 1024n * 1024n) throw new Error(`Frame too large: ${big}`);
      len = Number(big);
      hl = 10;
    }
    if (masked) hl += 4;
    await this.#need(hl + len, false);
    const s = this.#start;
    const payload = this.#buf.slice(s + hl, s + hl + len);
    if (masked) {
      const key = this.#buf.subarray(s + hl - 4, s + hl);
      for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
    }
    this.#start += hl + len;
    return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, masked };
  }
}

/** Reads an HTTP head (to CRLFCRLF); returns it and any bytes read past it. */
async function readHttpHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  for (;;) {
    for (let i = 3; i < buf.length; i++) {
      if (buf[i - 3] === 13 && buf[i - 2] === 10 && buf[i - 1] === 13 && buf[i] === 10) {
        return {
          head: String.fromCharCode(...buf.subarray(0, i + 1)),
          rest: buf.slice(i + 1),
        };
      }
    }
    if (buf.length > 64 * 1024) throw new Error("HTTP head longer than 64 KiB");
    const n = await conn.read(chunk);
    if (n === null) {
      throw new Error(
        `EOF before the end of the HTTP head: ${JSON.stringify(String.fromCharCode(...buf))}`,
      );
    }
    const next = new Uint8Array(buf.length + n);
    next.set(buf, 0);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
}

/** Header values of a raw head (case-insensitive name). */
export function headerValues(head: string, name: string): string[] {
  const n = name.toLowerCase();
  const out: string[] = [];
  for (const line of head.split("\r\n").slice(1)) {
    const c = line.indexOf(":");
    if (c > 0 && line.slice(0, c).trim().toLowerCase() === n) out.push(line.slice(c + 1).trim());
  }
  return out;
}

function hasToken(values: string[], token: string): boolean {
  return values.some((v) => v.split(",").some((t) => t.trim().toLowerCase() === token));
}

// ---------------------------------------------------------------------------
// Server

export interface WsEchoServer {
  readonly port: number;
  /** Handshake request heads received (raw). */
  readonly handshakes: string[];
  /** Messages echoed, per connection index: opcode and length. */
  readonly echoed: Array<Array<{ opcode: number; length: number }>>;
  /** Close codes received from clients (null when the close frame had no code). */
  readonly closeCodes: Array<number | null>;
  /** Protocol errors and connection errors. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Starts the echo server (see the file header). */
export function wsEchoServer(): WsEchoServer {
  const handshakes: string[] = [];
  const echoed: Array<Array<{ opcode: number; length: number }>> = [];
  const closeCodes: Array<number | null> = [];
  const errors: string[] = [];

  const serve = async (conn: Deno.TcpConn, idx: number): Promise<void> => {
    const { head, rest } = await readHttpHead(conn);
    handshakes.push(head);
    const key = headerValues(head, "sec-websocket-key")[0];
    const ok = head.startsWith("GET ") &&
      hasToken(headerValues(head, "upgrade"), "websocket") &&
      hasToken(headerValues(head, "connection"), "upgrade") &&
      headerValues(head, "sec-websocket-version")[0] === "13" && key !== undefined;
    if (!ok) {
      errors.push(`bad handshake: ${JSON.stringify(head)}`);
      await writeFull(
        conn,
        te.encode("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
      );
      return;
    }
    await writeFull(
      conn,
      te.encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
      ),
    );
    const log: Array<{ opcode: number; length: number }> = [];
    echoed[idx] = log;
    const rd = new FrameReader(conn, rest);
    let msgOp = -1;
    let parts: Uint8Array[] = [];
    for (;;) {
      const f = await rd.next();
      if (f === null) {
        errors.push("EOF without a close frame");
        return;
      }
      if (!f.masked) {
        errors.push("unmasked client frame");
        await writeFull(conn, encodeFrame(OP_CLOSE, new Uint8Array([0x03, 0xea]), false));
        return;
      }
      if (f.opcode === OP_CLOSE) {
        const code = f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : null;
        closeCodes.push(code);
        await writeFull(conn, encodeFrame(OP_CLOSE, f.payload.subarray(0, 2), false));
        return; // the handler's end closes the TCP connection (server closes first)
      }
      if (f.opcode === OP_PING) {
        await writeFull(conn, encodeFrame(OP_PONG, f.payload, false));
        continue;
      }
      if (f.opcode === OP_PONG) continue;
      if (f.opcode === OP_TEXT || f.opcode === OP_BINARY) {
        if (msgOp !== -1) throw new Error("new message inside a fragmented one");
        msgOp = f.opcode;
        parts = [f.payload];
      } else if (f.opcode === OP_CONT && msgOp !== -1) {
        parts.push(f.payload);
      } else {
        errors.push(`unexpected opcode ${f.opcode}`);
        await writeFull(conn, encodeFrame(OP_CLOSE, new Uint8Array([0x03, 0xea]), false));
        return;
      }
      if (!f.fin) continue;
      const total = parts.reduce((a, p) => a + p.length, 0);
      const msg = new Uint8Array(total);
      let off = 0;
      for (const p of parts) {
        msg.set(p, off);
        off += p.length;
      }
      await writeFull(conn, encodeFrame(msgOp, msg, false));
      log.push({ opcode: msgOp, length: total });
      msgOp = -1;
      parts = [];
    }
  };

  const loop = new AcceptLoop(serve, {
    onError: (e, _index, closing) => {
      if (!closing) errors.push(String(e));
    },
  });

  return {
    port: loop.port,
    handshakes,
    echoed,
    closeCodes,
    errors,
    close: () => loop.close(),
  };
}

// ---------------------------------------------------------------------------
// Client

/** A message received by the client. */
export interface WsMessage {
  opcode: number;
  data: Uint8Array;
}

/** A client connection after a successful handshake. */
export class WsClient {
  readonly conn: Deno.TcpConn;
  /** The 101 response head as received. */
  readonly responseHead: string;
  #reader: FrameReader;
  #deadlineMs: number;

  constructor(conn: Deno.TcpConn, responseHead: string, rest: Uint8Array, deadlineMs: number) {
    this.conn = conn;
    this.responseHead = responseHead;
    this.#reader = new FrameReader(conn, rest);
    this.#deadlineMs = deadlineMs;
  }

  get localPort(): number {
    return (this.conn.localAddr as Deno.NetAddr).port;
  }

  /** Sends one message (masked): a string as text, bytes as binary. */
  send(data: string | Uint8Array): Promise<void> {
    const frame = typeof data === "string"
      ? encodeFrame(OP_TEXT, te.encode(data), true)
      : encodeFrame(OP_BINARY, data, true);
    return this.sendRaw(frame);
  }

  /** Writes raw bytes (e.g. hand-built frames). */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return withDeadline(
      () => writeFull(this.conn, bytes),
      this.#deadlineMs,
      `writing a ${bytes.length}-byte WebSocket frame`,
      () => closeQuietly(this.conn),
    );
  }

  /** Reads the next frame (control frames included); throws on EOF. */
  nextFrame(): Promise<Frame> {
    return withDeadline(
      async () => {
        const f = await this.#reader.next();
        if (f === null) throw new Error("EOF while waiting for a WebSocket frame");
        return f;
      },
      this.#deadlineMs,
      "reading a WebSocket frame",
      () => closeQuietly(this.conn),
    );
  }

  /** Reads the next data message (reassembles fragments; fails on an unexpected close). */
  async receive(): Promise<WsMessage> {
    let op = -1;
    const parts: Uint8Array[] = [];
    for (;;) {
      const f = await this.nextFrame();
      if (f.masked) throw new Error("the server sent a masked frame");
      if (f.opcode === OP_CLOSE) throw new Error("close frame received instead of a message");
      if (f.opcode === OP_PING || f.opcode === OP_PONG) continue;
      if (op === -1) op = f.opcode;
      parts.push(f.payload);
      if (f.fin) break;
    }
    const total = parts.reduce((a, p) => a + p.length, 0);
    const data = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    return { opcode: op, data };
  }

  /**
   * Closing handshake: sends close `code`, reads frames until the peer's
   * close frame (returns its code), then waits for the connection's EOF.
   */
  async close(code = 1000): Promise<{ code: number | null; eof: boolean }> {
    await this.sendRaw(encodeFrame(OP_CLOSE, new Uint8Array([code >> 8, code & 0xff]), true));
    let f: Frame;
    do f = await this.nextFrame(); while (f.opcode !== OP_CLOSE);
    const got = f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : null;
    const eof = await withDeadline(
      async () => {
        try {
          return (await this.#reader.next()) === null;
        } catch {
          return false;
        }
      },
      this.#deadlineMs,
      "waiting for EOF after the close handshake",
      () => closeQuietly(this.conn),
    );
    closeQuietly(this.conn);
    return { code: got, eof };
  }

  /** Closes the TCP connection without a closing handshake. */
  abort(): void {
    closeQuietly(this.conn);
  }
}

/** Thrown when the handshake does not end with a valid 101. */
export class WsHandshakeError extends Error {
  readonly responseHead: string;
  constructor(message: string, responseHead: string) {
    super(message);
    this.name = "WsHandshakeError";
    this.responseHead = responseHead;
  }
}

/**
 * Connects to `hostname`:`port`, performs the Upgrade handshake on `path`
 * (with `extraHeaders` lines) and checks the 101 and its accept value.
 * Rejects with WsHandshakeError (carrying the response head) otherwise.
 */
export async function wsConnect(
  port: number,
  path = "/",
  opts: { hostname?: string; extraHeaders?: string[]; deadlineMs?: number } = {},
): Promise<WsClient> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const conn = await Deno.connect({ hostname, port });
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const req = `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (opts.extraHeaders ?? []).map((h) => h + "\r\n").join("") + "\r\n";
    const { head, rest } = await withDeadline(
      async () => {
        await writeFull(conn, te.encode(req));
        return await readHttpHead(conn);
      },
      deadlineMs,
      "the WebSocket handshake",
      () => closeQuietly(conn),
    );
    if (!/^HTTP\/1\.1 101 /.test(head)) {
      throw new WsHandshakeError(
        `Expected 101, got ${JSON.stringify(head.split("\r\n")[0])}`,
        head,
      );
    }
    const accept = headerValues(head, "sec-websocket-accept")[0];
    if (accept !== (await acceptKey(key))) {
      throw new WsHandshakeError(`Bad Sec-WebSocket-Accept ${JSON.stringify(accept)}`, head);
    }
    return new WsClient(conn, head, rest, deadlineMs);
  } catch (e) {
    closeQuietly(conn);
    throw e;
  }
}
