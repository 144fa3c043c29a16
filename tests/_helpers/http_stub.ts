// Raw HTTP/1.1 stub server for end-to-end tests of the HTTP mode.
//
// It stands for the "origin server" behind the proxy and records, byte for
// byte, everything the proxy sends it: every connection's raw input, and every
// request it could frame (head bytes, body bytes as they arrived on the wire,
// chunk framing and trailers included). It answers with scripted raw bytes, so
// tests can send exactly the valid or broken responses they need, and it keeps
// connections alive like a real server (several requests on one connection).
//
// Framing (the stub's own, deliberately plain): a request body is chunked when
// a Transfer-Encoding header ends in `chunked`, else Content-Length bytes when
// there is one, else empty. It never needs to be lenient: what it receives is
// what the proxy forwarded, and bytes it cannot frame are recorded as an error
// (`errors`) with the connection's raw input kept in `connections`.
//
// After each request the `respond` script decides what happens: which bytes
// to write, then keep the connection for the next request, close it, go
// silent, or turn it into a tunnel (echo every byte back) as after a 101.
// With no script, every request gets `200 OK` with the body `ok N` (N = the
// request's index across the server, from 0), and the connection is closed
// after the response when the request asked for it (`Connection: close`, or
// HTTP/1.0 without keep-alive).
//
// `Expect: 100-continue` is answered with an interim `100 Continue` before
// the body is read unless `interim` says otherwise.
//
// Large bodies are hashed while they arrive: only the first `keepBodyBytes`
// bytes are kept (`body` is null beyond that), `bodySha256` and `bodyLength`
// always cover all of it.
//
// `close()` stops accepting, closes every connection and awaits every
// handler, so a test that calls it in `finally` leaves no op behind.

import { createHash } from "node:crypto";
import { AcceptLoop } from "./accept.ts";
import { indexOfCrlfCrlf } from "./client.ts";
import { Events, Signal } from "./signal.ts";

export { Events };

const latin1 = new TextDecoder("latin1");

/** Bytes of a body kept in memory by default (beyond: hashed only). */
const KEEP_BODY_BYTES_DEFAULT = 1024 * 1024;
/** A head larger than this is an error (the proxy would never forward one). */
const MAX_HEAD_BYTES = 256 * 1024;

/** One request as the stub received it. */
export interface StubRequest {
  /** Index across the whole server (order of complete heads), from 0. */
  readonly index: number;
  /** Index of the connection that carried it (order of accept), from 0. */
  readonly conn: number;
  /** Index within its connection, from 0. */
  readonly seq: number;
  /** The head exactly as received, from the request line to the blank line. */
  readonly head: Uint8Array;
  /** The head decoded as latin1 (one char per byte). */
  readonly headText: string;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Header lines in order, names as sent, values trimmed. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Body bytes as on the wire (chunk sizes, extensions, trailers included); null when over `keepBodyBytes`. */
  body: Uint8Array | null;
  /** SHA-256 (hex) of the body bytes as on the wire. */
  bodySha256: string;
  /** Length of the body as on the wire. */
  bodyLength: number;
  /** True once the whole body was read. */
  complete: boolean;
  /** Values of every header named `name` (case-insensitive), in order. */
  header(name: string): string[];
}

/** What the stub does after a request (a scripted answer). */
export interface StubReply {
  /** Bytes (or latin1 text) written at once; none when absent. */
  bytes?: Uint8Array | string;
  /**
   * Then: "keep" reads the next request (default, unless the request asked
   * for close); "close" closes the connection; "shutw" sends FIN and keeps
   * reading (recorded, not answered); "silent" neither answers nor closes
   * until the test closes the server; "echo" turns the connection into a
   * tunnel that writes back every byte it receives (after `bytes`).
   */
  then?: "keep" | "close" | "shutw" | "silent" | "echo";
}

/** Script called once per complete request (after its body). */
export type Responder = (req: StubRequest) => StubReply | Promise<StubReply>;

/** Per-connection record. */
export class StubConnection {
  /** Requests framed on it. */
  readonly requests: StubRequest[] = [];
  /** "eof" after the proxy's FIN, "reset" after a read error, "server" when the stub closed it, null while open. */
  end: "eof" | "reset" | "server" | null = null;
  readonly rawLog = new ByteLog(4 * 1024 * 1024);
  readonly writtenLog = new ByteLog(4 * 1024 * 1024);
  #changed = new Signal();
  constructor(readonly index: number) {}

  /** Records received bytes and wakes `waitRaw()` callers. */
  received(b: Uint8Array): void {
    this.rawLog.push(b);
    this.#changed.notify();
  }

  /** Marks the end of the connection and wakes `waitRaw()` callers. */
  ended(how: "eof" | "reset" | "server"): void {
    if (this.end === null) this.end = how;
    this.#changed.notify();
  }

  /**
   * Resolves once at least `n` bytes were received on this connection;
   * rejects when the connection ends first or after `timeoutMs`.
   */
  async waitRaw(n: number, timeoutMs: number): Promise<void> {
    await this.#changed.until(
      () => {
        if (this.rawLength >= n) return true;
        if (this.end !== null) {
          throw new Error(
            `Connection ${this.index} ended (${this.end}) after ${this.rawLength} of ${n} bytes`,
          );
        }
        return undefined;
      },
      timeoutMs,
      () => `${n} bytes (have ${this.rawLength})`,
    );
  }

  /** Resolves once the connection has ended (any way); rejects after `timeoutMs`. */
  waitEnd(timeoutMs: number): Promise<"eof" | "reset" | "server"> {
    return this.#changed.until(
      () => this.end ?? undefined,
      timeoutMs,
      `connection ${this.index} to end`,
    );
  }

  /** Every byte received on it, in order (the first 4 MiB; `rawLength` counts all). */
  get raw(): Uint8Array {
    return this.rawLog.bytes();
  }
  get rawLength(): number {
    return this.rawLog.length;
  }
  /** Every byte the stub wrote on it, in order (the first 4 MiB). */
  get written(): Uint8Array {
    return this.writtenLog.bytes();
  }
}

export interface HttpStubOptions {
  /** The script; default answers 200 `ok N`. */
  respond?: Responder;
  /**
   * Bytes written as soon as a head with `Expect: 100-continue` has arrived
   * (before the body); default `HTTP/1.1 100 Continue\r\n\r\n`; null sends nothing.
   */
  interim?: ((req: StubRequest) => Uint8Array | string | null) | null;
  /** Body bytes kept per request (default 1 MiB); more are only hashed. */
  keepBodyBytes?: number;
}

/** The default answer to request `index`: 200 with body `ok INDEX`. */
export function okReply(index: number, extraHeaders = ""): string {
  const body = `ok ${index}`;
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extraHeaders}\r\n${body}`;
}

/** True when the request asked the server to close after the response. */
export function wantsClose(req: StubRequest): boolean {
  const tokens = req.header("connection").join(",").toLowerCase().split(",").map((t) => t.trim());
  if (tokens.includes("close")) return true;
  return req.version === "HTTP/1.0" && !tokens.includes("keep-alive");
}

function defaultRespond(req: StubRequest): StubReply {
  return { bytes: okReply(req.index), then: wantsClose(req) ? "close" : "keep" };
}

function toBytes(b: Uint8Array | string): Uint8Array {
  return typeof b === "string" ? Uint8Array.from(b, (c) => c.charCodeAt(0) & 0xff) : b;
}

/** Growable byte accumulator with a cap on what is kept. */
class ByteLog {
  #parts: Uint8Array[] = [];
  #kept = 0;
  length = 0;
  constructor(readonly cap: number) {}
  push(b: Uint8Array): void {
    this.length += b.length;
    if (this.#kept >= this.cap) return;
    const piece = b.subarray(0, Math.min(b.length, this.cap - this.#kept));
    this.#parts.push(piece.slice());
    this.#kept += piece.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#kept);
    let off = 0;
    for (const p of this.#parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/** Reader with a pushback buffer over a connection. */
class ConnReader {
  #buf = new Uint8Array(0);
  #eof = false;
  readonly readBuf = new Uint8Array(256 * 1024);
  constructor(
    readonly conn: Deno.Conn,
    readonly onRaw: (b: Uint8Array) => void,
  ) {}

  get buffered(): Uint8Array {
    return this.#buf;
  }
  get eof(): boolean {
    return this.#eof;
  }
  /** Reads more into the buffer; false at EOF. Throws on a read error. */
  async fill(): Promise<boolean> {
    if (this.#eof) return false;
    const n = await this.conn.read(this.readBuf);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const got = this.readBuf.subarray(0, n);
    this.onRaw(got);
    const nb = new Uint8Array(this.#buf.length + n);
    nb.set(this.#buf, 0);
    nb.set(got, this.#buf.length);
    this.#buf = nb;
    return true;
  }
  /** Removes and returns the first `n` buffered bytes. */
  take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

class StubError extends Error {}

function indexOfCrlf(b: Uint8Array, from: number): number {
  for (let i = from; i + 1 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10) return i;
  }
  return -1;
}

/** The raw HTTP/1.1 stub server (see the file header). */
export class HttpStub {
  readonly port: number;
  /** Handler errors (unframeable input, write failures), as strings. */
  readonly errors: string[] = [];
  /** Every connection, in accept order. */
  readonly connections = new Events<StubConnection>();
  /** Every request whose head arrived, in order (body may still be arriving). */
  readonly heads = new Events<StubRequest>();
  /** Every complete request (head and body), in order. */
  readonly requests = new Events<StubRequest>();
  /** Connections that ended (any way), in order of their end. */
  readonly ends = new Events<StubConnection>();

  #loop: AcceptLoop;
  #release!: () => void;
  #released = new Promise<void>((r) => (this.#release = r));
  #respond: Responder;
  #interim: ((req: StubRequest) => Uint8Array | string | null) | null;
  #keepBody: number;
  #headCount = 0;

  constructor(opts: HttpStubOptions = {}) {
    this.#respond = opts.respond ?? defaultRespond;
    this.#interim = opts.interim === undefined
      ? (
        req,
      ) => (req.header("expect").some((v) => v.toLowerCase() === "100-continue")
        ? "HTTP/1.1 100 Continue\r\n\r\n"
        : null)
      : opts.interim;
    this.#keepBody = opts.keepBodyBytes ?? KEEP_BODY_BYTES_DEFAULT;
    this.#loop = new AcceptLoop(
      (conn, index) => {
        const rec = new StubConnection(index);
        this.connections.push(rec);
        return this.#serve(conn, rec);
      },
      {
        onError: (e, index) => {
          this.errors.push(`conn ${index}: ${e instanceof Error ? e.message : String(e)}`);
        },
        onEnd: (index) => {
          const rec = this.connections.items[index]!;
          rec.ended("server");
          this.ends.push(rec);
        },
      },
    );
    this.port = this.#loop.port;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#loop.accepted;
  }

  /** Total bytes received over all connections. */
  get bytesReceived(): number {
    return this.connections.items.reduce((a, c) => a + c.rawLength, 0);
  }

  async #serve(conn: Deno.TcpConn, rec: StubConnection): Promise<void> {
    const onRaw = (b: Uint8Array) => rec.received(b);
    const write = async (b: Uint8Array) => {
      rec.writtenLog.push(b);
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    };
    const r = new ConnReader(conn, onRaw);
    const fill = async (): Promise<boolean> => {
      try {
        return await r.fill();
      } catch (e) {
        rec.ended("reset");
        throw e;
      }
    };
    for (let seq = 0;; seq++) {
      // --- head
      let scanned = 0;
      let endHead: number;
      for (;;) {
        endHead = indexOfCrlfCrlf(r.buffered, scanned - 3);
        if (endHead >= 0) break;
        scanned = r.buffered.length;
        if (scanned > MAX_HEAD_BYTES) throw new StubError("request head too large");
        if (!(await fill())) {
          rec.ended("eof");
          if (r.buffered.length > 0) {
            throw new StubError(
              `EOF inside a request head (${r.buffered.length} bytes: ${
                JSON.stringify(latin1.decode(r.buffered.subarray(0, 200)))
              })`,
            );
          }
          return;
        }
      }
      const head = r.take(endHead + 4).slice();
      const req = this.#makeRequest(head, rec.index, seq);
      rec.requests.push(req);
      this.heads.push(req);
      // --- interim
      const interim = this.#interim?.(req) ?? null;
      if (interim !== null) await write(toBytes(interim));
      // --- body
      const h = createHash("sha256");
      const body = new ByteLog(this.#keepBody);
      const eat = (n: number) => {
        const b = r.take(n);
        h.update(b);
        body.push(b);
      };
      const te = req.header("transfer-encoding").join(",").toLowerCase().split(",").map((t) =>
        t.trim()
      );
      const cl = req.header("content-length");
      if (te.length > 0 && te[te.length - 1] === "chunked") {
        await this.#readChunked(r, fill, eat);
      } else if (cl.length > 0) {
        let left = Number(cl[0]);
        if (!/^\d+$/.test(cl[0]!)) throw new StubError(`bad content-length ${cl[0]}`);
        while (left > 0) {
          if (r.buffered.length === 0 && !(await fill())) {
            rec.ended("eof");
            throw new StubError(`EOF with ${left} body bytes missing`);
          }
          const n = Math.min(left, r.buffered.length);
          eat(n);
          left -= n;
        }
      }
      req.bodySha256 = h.digest("hex");
      req.bodyLength = body.length;
      req.body = body.length <= this.#keepBody ? body.bytes() : null;
      req.complete = true;
      this.requests.push(req);
      // --- answer
      const reply = await this.#respond(req);
      if (reply.bytes !== undefined) await write(toBytes(reply.bytes));
      const then = reply.then ?? (wantsClose(req) ? "close" : "keep");
      if (then === "close") return;
      if (then === "silent") {
        // Keeps reading (and recording) without a sound until the proxy
        // closes; then stays open until the test closes the server.
        try {
          while (await r.fill()) r.take(r.buffered.length);
          rec.ended("eof");
        } catch {
          rec.ended("reset");
        }
        await this.#released;
        return;
      }
      if (then === "shutw") {
        await conn.closeWrite();
        while (await fill()) r.take(r.buffered.length);
        rec.ended("eof");
        await this.#released;
        return;
      }
      if (then === "echo") {
        if (r.buffered.length > 0) await write(r.take(r.buffered.length).slice());
        while (await fill()) await write(r.take(r.buffered.length).slice());
        rec.ended("eof");
        await conn.closeWrite().catch(() => {});
        return;
      }
    }
  }

  async #readChunked(
    r: ConnReader,
    fill: () => Promise<boolean>,
    eat: (n: number) => void,
  ): Promise<void> {
    const line = async (): Promise<string> => {
      let crlf: number;
      while ((crlf = indexOfCrlf(r.buffered, 0)) < 0) {
        if (r.buffered.length > 8192) throw new StubError("chunk line too long");
        if (!(await fill())) throw new StubError("EOF inside a chunked body");
      }
      const text = latin1.decode(r.buffered.subarray(0, crlf));
      eat(crlf + 2);
      return text;
    };
    for (;;) {
      const sizeLine = await line();
      const m = /^([0-9a-fA-F]+)[ \t]*(;.*)?$/.exec(sizeLine);
      if (m === null) throw new StubError(`bad chunk size line ${JSON.stringify(sizeLine)}`);
      let left = parseInt(m[1]!, 16);
      if (left === 0) {
        // trailers until an empty line
        while ((await line()) !== "");
        return;
      }
      left += 2; // data then CRLF
      while (left > 0) {
        if (r.buffered.length === 0 && !(await fill())) {
          throw new StubError("EOF inside chunk data");
        }
        const n = Math.min(left, r.buffered.length);
        eat(n);
        left -= n;
      }
    }
  }

  #makeRequest(head: Uint8Array, conn: number, seq: number): StubRequest {
    const headText = latin1.decode(head);
    const lines = headText.slice(0, -4).split("\r\n");
    const start = lines[0] ?? "";
    const parts = start.split(" ");
    if (parts.length !== 3) throw new StubError(`bad request line ${JSON.stringify(start)}`);
    const headers: Array<[string, string]> = [];
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      if (c <= 0) throw new StubError(`bad header line ${JSON.stringify(l)}`);
      headers.push([l.slice(0, c), l.slice(c + 1).trim()]);
    }
    return {
      index: this.#headCount++,
      conn,
      seq,
      head,
      headText,
      method: parts[0]!,
      target: parts[1]!,
      version: parts[2]!,
      headers,
      body: null,
      bodySha256: "",
      bodyLength: 0,
      complete: false,
      header(name: string): string[] {
        const n = name.toLowerCase();
        return headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
      },
    };
  }

  /** Stops accepting, releases silent connections, closes all, awaits all handlers. */
  close(): Promise<void> {
    this.#release();
    return this.#loop.close();
  }
}

/** Starts a stub server on 127.0.0.1, port 0. */
export function httpStub(opts: HttpStubOptions = {}): HttpStub {
  return new HttpStub(opts);
}
