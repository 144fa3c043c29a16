// Shared pieces of the HTTP_RULES.md end-to-end tests: the proxy
// configuration, parsed httplog lines, and a raw HTTP/1.1 client that frames
// responses itself (so that tests see exactly the bytes the proxy sent).
//
// Nothing here is lenient: a response the client cannot frame is an error
// that quotes the bytes, and every wait has a deadline.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeQuietly, concat, connect, latin1, withDeadline } from "../../_helpers/client.ts";
import { type HttpLog, logLineOf, parseHttpLog, type ProxyProcess } from "../../_helpers/proxy.ts";

export { type HttpLog, latin1, parseHttpLog };

/** Deadline of one client read or write in these tests. */
export const IO_MS = 3_000;

/** Latin-1 encoding (each char code & 0xff): for requests with raw bytes ≥ 0x80 or controls. */
export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/** JSON-quotes bytes for failure messages (first `max` bytes). */
export function show(b: Uint8Array | string, max = 400): string {
  const s = typeof b === "string" ? b : latin1(b);
  return JSON.stringify(s.length > max ? s.slice(0, max) + "…" : s);
}

// ---------------------------------------------------------------------------
// Configuration

export interface ConfigOptions {
  /** Port of the stub server behind backend `be`. */
  serverPort: number;
  /** Extra `global` keys, YAML flow map content (`bufsize: 4k, maxhdr: 5`). */
  global?: string;
  /** Timeout map content for defaults. */
  timeouts?: string;
  /** Extra YAML lines appended under `backends.be` (indented 4 spaces). */
  backendExtra?: string;
  /** Extra YAML lines appended under `frontends.fe` (indented 4 spaces). */
  frontendExtra?: string;
  /** Extra frontends / backends sections, appended verbatim. */
  extraFrontends?: string;
  extraBackends?: string;
}

/** Default timeouts: short enough for a bounded suite, long enough not to fire by accident. */
export const DEFAULT_TIMEOUTS =
  "connect: 1s, client: 5s, server: 5s, http-request: 2s, http-keep-alive: 2s";

/** The usual configuration: frontend `fe` → backend `be` → one server `s1`. */
export function httpConfig(o: ConfigOptions): string {
  return `
global: { log: stdout${o.global !== undefined ? ", " + o.global : ""} }
defaults:
  mode: http
  timeout: { ${o.timeouts ?? DEFAULT_TIMEOUTS} }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
${o.frontendExtra ?? ""}
${o.extraFrontends ?? ""}
backends:
  be:
    retries: 0
    servers: [ { name: s1, address: "127.0.0.1:${o.serverPort}" } ]
${o.backendExtra ?? ""}
${o.extraBackends ?? ""}
`;
}

// ---------------------------------------------------------------------------
// httplog

/** Waits for the `count`-th log line of client port `port` and returns all of them, parsed. */
export async function logsOf(
  proxy: ProxyProcess,
  port: number,
  count = 1,
  timeoutMs = IO_MS,
): Promise<HttpLog[]> {
  const lines = await proxy.waitForLogs(logLineOf(port), count, timeoutMs);
  return lines.map(parseHttpLog);
}

/**
 * Runs `fn`; when it throws, waits briefly for the log lines of client port
 * `port()` and appends them (and the proxy's recent stderr) to the error, so a
 * failure shows what the proxy thought happened.
 */
export async function explainFailure<T>(
  proxy: ProxyProcess,
  port: () => number | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const p = port();
    let lines: string[] = [];
    if (p !== undefined) {
      await proxy.waitForLog(logLineOf(p), 1_000).catch(() => {});
      lines = proxy.logs.filter((l) => logLineOf(p).test(l));
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(
      `${msg}\n--- log lines of this client ---\n${lines.join("\n") || "(none)"}\n` +
        `--- proxy stderr (last 5) ---\n${proxy.stderr.slice(-5).join("\n")}`,
      { cause: e },
    );
  }
}

// ---------------------------------------------------------------------------
// Raw client

/** One response as the client received it. */
export interface RawResponse {
  /** Head and body bytes exactly as received. */
  raw: Uint8Array;
  /** The head, latin1, including the final CRLFCRLF. */
  head: string;
  version: string;
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  /** Body bytes as on the wire (chunked framing included). */
  body: Uint8Array;
  /** Values of every header named `name` (case-insensitive). */
  header(name: string): string[];
}

function find(b: Uint8Array, pat: number[], from: number): number {
  outer: for (let i = Math.max(0, from); i + pat.length <= b.length; i++) {
    for (let j = 0; j < pat.length; j++) if (b[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}
const CRLFCRLF = [13, 10, 13, 10];
const CRLF = [13, 10];

/**
 * A client connection with a read buffer. Every read has a deadline (the
 * connection is closed when it expires, and the error says what was awaited
 * and what had arrived).
 */
export class RawClient {
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  /** Every byte received so far. */
  #all: Uint8Array[] = [];
  readonly localPort: number;

  private constructor(readonly conn: Deno.TcpConn) {
    this.localPort = (conn.localAddr as Deno.NetAddr).port;
  }

  /** Connects to the proxy's port. */
  static async open(port: number): Promise<RawClient> {
    return new RawClient(await connect(port, IO_MS));
  }

  /** Everything received so far, in order. */
  get received(): Uint8Array {
    return concat(this.#all);
  }

  /** Writes all of `data` (string = latin1 bytes). */
  async send(data: string | Uint8Array, deadlineMs = IO_MS): Promise<void> {
    const b = typeof data === "string" ? bytes(data) : data;
    await withDeadline(
      async () => {
        let off = 0;
        while (off < b.length) off += await this.conn.write(b.subarray(off));
      },
      deadlineMs,
      `writing ${b.length} bytes`,
      () => closeQuietly(this.conn),
    );
  }

  /** Reads once more into the buffer; false at EOF. Throws on a reset. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const tmp = new Uint8Array(64 * 1024);
    const n = await this.conn.read(tmp);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const got = tmp.slice(0, n);
    this.#all.push(got);
    this.#buf = this.#buf.length === 0 ? got : concat([this.#buf, got]);
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /**
   * Reads one response, framed as RFC 9112 §6.3 says for a request with
   * `method`: no body for HEAD, 1xx, 204, 304; chunked; Content-Length;
   * else until EOF. A 1xx interim response is returned on its own.
   */
  readResponse(method = "GET", deadlineMs = IO_MS): Promise<RawResponse> {
    return withDeadline(
      () => this.#readResponse(method),
      deadlineMs,
      `reading a response to ${method}`,
      () => closeQuietly(this.conn),
    ).catch((e) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}; received so far: ${show(this.received)}`,
        { cause: e },
      );
    });
  }

  async #readResponse(method: string): Promise<RawResponse> {
    let end: number;
    while ((end = find(this.#buf, CRLFCRLF, 0)) < 0) {
      if (!(await this.#fill())) {
        throw new Error(`EOF before a complete response head (${this.#buf.length} bytes pending)`);
      }
    }
    const headBytes = this.#take(end + 4);
    const head = latin1(headBytes);
    const lines = head.slice(0, -4).split("\r\n");
    const sl = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (sl === null) throw new Error(`Bad status line ${show(lines[0]!)}`);
    const headers: Array<[string, string]> = [];
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      if (c <= 0) throw new Error(`Bad header line ${show(l)}`);
      headers.push([l.slice(0, c), l.slice(c + 1).trim()]);
    }
    const header = (name: string) =>
      headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    const status = Number(sl[2]);
    const parts: Uint8Array[] = [];
    const noBody = method === "HEAD" || (status >= 100 && status < 200) || status === 204 ||
      status === 304 || (method === "CONNECT" && status >= 200 && status < 300);
    const te = header("transfer-encoding").join(",").toLowerCase();
    const cl = header("content-length");
    if (noBody) {
      // nothing
    } else if (/(^|,)\s*chunked\s*$/.test(te)) {
      for (;;) {
        let eol: number;
        while ((eol = find(this.#buf, CRLF, 0)) < 0) {
          if (!(await this.#fill())) throw new Error("EOF inside a chunked response body");
        }
        const sizeLine = latin1(this.#buf.subarray(0, eol));
        parts.push(this.#take(eol + 2).slice());
        const size = parseInt(sizeLine, 16);
        if (Number.isNaN(size)) throw new Error(`Bad chunk size line ${show(sizeLine)}`);
        if (size === 0) {
          for (;;) {
            while ((eol = find(this.#buf, CRLF, 0)) < 0) {
              if (!(await this.#fill())) throw new Error("EOF inside response trailers");
            }
            parts.push(this.#take(eol + 2).slice());
            if (eol === 0) break;
          }
          break;
        }
        parts.push(await this.#readN(size + 2));
      }
    } else if (cl.length > 0) {
      parts.push(await this.#readN(Number(cl[0])));
    } else {
      while (await this.#fill());
      parts.push(this.#take(this.#buf.length).slice());
    }
    const body = concat(parts);
    return {
      raw: concat([headBytes, body]),
      head,
      version: sl[1]!,
      status,
      reason: sl[3] ?? "",
      headers,
      body,
      header,
    };
  }

  async #readN(n: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let left = n;
    for (;;) {
      const k = Math.min(left, this.#buf.length);
      if (k > 0) {
        parts.push(this.#take(k).slice());
        left -= k;
      }
      if (left === 0) return concat(parts);
      if (!(await this.#fill())) throw new Error(`EOF after ${n - left} of ${n} bytes`);
    }
  }

  /**
   * Reads a response head, then hashes its Content-Length body without
   * keeping it (for bodies of many MiB). Returns the head and the digest.
   */
  readLargeResponse(
    deadlineMs = IO_MS,
  ): Promise<{ head: RawResponse; sha256: string; length: number }> {
    return withDeadline(
      async () => {
        let end: number;
        while ((end = find(this.#buf, CRLFCRLF, 0)) < 0) {
          if (!(await this.#fill())) throw new Error("EOF before a complete response head");
        }
        const headBytes = this.#take(end + 4).slice();
        const rest = this.#take(this.#buf.length).slice();
        this.#buf = headBytes;
        const head = await this.#readResponse("HEAD");
        const cl = Number(head.header("content-length")[0]);
        const h = createHash("sha256");
        let length = Math.min(rest.length, cl);
        h.update(rest.subarray(0, length));
        this.#buf = rest.slice(length);
        const tmp = new Uint8Array(256 * 1024);
        while (length < cl) {
          const n = await this.conn.read(tmp.subarray(0, Math.min(tmp.length, cl - length)));
          if (n === null) throw new Error(`EOF after ${length} of ${cl} body bytes`);
          h.update(tmp.subarray(0, n));
          length += n;
        }
        return { head, sha256: h.digest("hex"), length };
      },
      deadlineMs,
      "reading a large response",
      () => closeQuietly(this.conn),
    );
  }

  /** Reads exactly `n` bytes (after what is buffered). */
  readExactly(n: number, deadlineMs = IO_MS): Promise<Uint8Array> {
    return withDeadline(
      () => this.#readN(n),
      deadlineMs,
      `reading ${n} bytes`,
      () => closeQuietly(this.conn),
    );
  }

  /**
   * Reads until the proxy closes: returns the bytes that came after what was
   * already consumed, and how the connection ended ("eof" or "reset").
   */
  readEnd(deadlineMs = IO_MS): Promise<{ extra: Uint8Array; end: "eof" | "reset" }> {
    return withDeadline(
      async () => {
        let end: "eof" | "reset" = "eof";
        try {
          while (await this.#fill());
        } catch {
          end = "reset";
        }
        return { extra: this.#take(this.#buf.length).slice(), end };
      },
      deadlineMs,
      "waiting for the proxy to close the connection",
      () => closeQuietly(this.conn),
    );
  }

  /** Asserts that nothing else arrives and that the proxy closes the connection cleanly. */
  async expectClosed(deadlineMs = IO_MS): Promise<void> {
    const { extra, end } = await this.readEnd(deadlineMs);
    assert.equal(extra.length, 0, `unexpected bytes after the response: ${show(extra)}`);
    assert.equal(end, "eof", "the proxy reset the connection instead of closing it");
  }

  close(): void {
    closeQuietly(this.conn);
  }
}

// ---------------------------------------------------------------------------
// Error replies

/** Reason phrases of the error replies the proxy produces. */
export const ERROR_REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * Asserts that `r` is a proxy error reply with `status` in the format
 * HTTP_RULES.md gives: HTTP/1.1 status line, exactly one each of
 * Content-Length (matching the body), Content-Type text/html, Cache-Control
 * no-cache and Connection close, and a short HTML body naming the status.
 */
export function assertErrorReply(r: RawResponse, status: number, what = ""): void {
  const ctx = `${what ? what + ": " : ""}reply ${show(r.raw)}`;
  assert.equal(r.version, "HTTP/1.1", ctx);
  assert.equal(r.status, status, ctx);
  const reason = ERROR_REASONS[status];
  if (reason !== undefined) assert.equal(r.reason, reason, ctx);
  assert.deepEqual(r.header("content-length"), [String(r.body.length)], ctx);
  assert.equal(r.header("content-type").length, 1, ctx);
  assert.match(r.header("content-type")[0]!, /^text\/html\b/i, ctx);
  assert.deepEqual(r.header("cache-control").map((v) => v.toLowerCase()), ["no-cache"], ctx);
  assert.deepEqual(r.header("connection").map((v) => v.toLowerCase()), ["close"], ctx);
  assert.equal(r.header("transfer-encoding").length, 0, ctx);
  const body = latin1(r.body);
  assert.ok(r.body.length > 0 && r.body.length < 1024, `${ctx}: body should be short HTML`);
  assert.match(body, /^\s*<html[\s>]/i, ctx);
  assert.match(body, /<\/html>\s*$/i, ctx);
  assert.ok(body.includes(String(status)), `${ctx}: body does not name ${status}`);
}
