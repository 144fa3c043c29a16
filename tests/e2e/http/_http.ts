// HTTP/1.1 test tools for the end-to-end HTTP tests: a raw client that sends
// exact bytes and reads responses one by one on a persistent connection, and
// a stub origin server that records every request exactly as it arrived
// (raw head, parsed fields, decoded body, which connection carried it, and
// whether the proxy closed that connection).
//
// Every wait is bounded (a deadline closes the connection and fails with a
// message saying what was awaited). Nothing here hides a failure: a reset or
// an early EOF is an error that quotes the bytes received so far.

import {
  closeQuietly,
  concat,
  DeadlineError,
  DEFAULT_DEADLINE_MS,
  indexOfCrlfCrlf,
  latin1,
  td,
  te,
  withDeadline,
  writeFull,
} from "../../_helpers/client.ts";
import { type HttpLog, logLineOf, parseHttpLog, type ProxyProcess } from "../../_helpers/proxy.ts";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { Signal } from "../../_helpers/signal.ts";

export { type HttpLog, latin1, parseHttpLog };

/**
 * Buffered reader over a connection: heads up to CRLFCRLF, exact byte counts,
 * chunked bodies, and the rest until EOF. Reads never exceed what is asked
 * beyond one socket read, and what was read ahead stays for the next call.
 */
export class ByteReader {
  readonly conn: Deno.Conn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Bytes read ahead and not consumed yet. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** True once the peer's EOF was seen. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Reads more into the buffer; false on EOF. Throws on a read error. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      const live = this.#end - this.#start;
      const next = live * 2 > this.#buf.length ? new Uint8Array(this.#buf.length * 2) : this.#buf;
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** The head (up to and including CRLFCRLF), or null on EOF before any byte. */
  async readHead(maxBytes = 256 * 1024): Promise<Uint8Array | null> {
    // Bytes already scanned, relative to #start (#fill may move the data).
    let scanned = 0;
    for (;;) {
      const i = indexOfCrlfCrlf(this.#buf, this.#start + Math.max(0, scanned - 3), this.#end);
      if (i >= 0) {
        const head = this.#buf.slice(this.#start, i + 4);
        this.#start = i + 4;
        return head;
      }
      scanned = this.#end - this.#start;
      if (this.#end - this.#start > maxBytes) throw new Error(`Head longer than ${maxBytes} bytes`);
      if (!(await this.#fill())) {
        if (this.#end === this.#start) return null;
        throw new Error(
          `EOF inside a head after ${this.#end - this.#start} bytes: ${
            JSON.stringify(latin1(this.#buf.subarray(this.#start, this.#end)))
          }`,
        );
      }
    }
  }

  /** Exactly `n` bytes; throws on EOF first. */
  async readN(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (this.#start === this.#end && !(await this.#fill())) {
        throw new Error(`EOF after ${off} of ${n} body bytes`);
      }
      const k = Math.min(n - off, this.#end - this.#start);
      out.set(this.#buf.subarray(this.#start, this.#start + k), off);
      this.#start += k;
      off += k;
    }
    return out;
  }

  /** One CRLF-terminated line (without the CRLF). */
  async readLine(): Promise<string> {
    for (;;) {
      for (let i = this.#start; i + 1 < this.#end; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
          const line = latin1(this.#buf.subarray(this.#start, i));
          this.#start = i + 2;
          return line;
        }
      }
      if (!(await this.#fill())) throw new Error("EOF inside a chunked body line");
    }
  }

  /** A chunked body, decoded; trailers are read and returned raw. */
  async readChunked(): Promise<{ body: Uint8Array; trailers: string }> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const line = await this.readLine();
      const size = parseInt(line.split(";")[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new Error(`Bad chunk size line ${line}`);
      if (size === 0) break;
      parts.push(await this.readN(size));
      const crlf = await this.readLine();
      if (crlf !== "") throw new Error(`Missing CRLF after a chunk: ${JSON.stringify(crlf)}`);
    }
    let trailers = "";
    for (;;) {
      const t = await this.readLine();
      if (t === "") break;
      trailers += t + "\r\n";
    }
    return { body: concat(parts), trailers };
  }

  /** Everything until EOF (what was read ahead included). */
  async readToEof(maxBytes = 128 * 1024 * 1024): Promise<Uint8Array> {
    while (await this.#fill()) {
      if (this.#end - this.#start > maxBytes) throw new Error(`More than ${maxBytes} bytes`);
    }
    const out = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end;
    return out;
  }
}

/** A parsed head: start line and headers in arrival order. */
export interface Head {
  /** The head as received, latin-1 decoded, CRLFs included. */
  raw: string;
  startLine: string;
  headers: Array<[string, string]>;
}

function parseHead(raw: Uint8Array): Head {
  const text = latin1(raw);
  const lines = text.slice(0, -4).split("\r\n");
  const startLine = lines.shift() ?? "";
  const headers: Array<[string, string]> = [];
  for (const l of lines) {
    const c = l.indexOf(":");
    headers.push(c < 0 ? [l, ""] : [l.slice(0, c), l.slice(c + 1).trim()]);
  }
  return { raw: text, startLine, headers };
}

/** All values of header `name` (case-insensitive), in order. */
function valuesOf(headers: Array<[string, string]>, name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

/** A response as the client saw it. */
export class HttpResponse {
  readonly head: Head;
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly body: Uint8Array;
  readonly trailers: string;

  constructor(head: Head, body: Uint8Array, trailers = "") {
    this.head = head;
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(head.startLine);
    if (m === null) throw new Error(`Bad status line ${JSON.stringify(head.startLine)}`);
    this.version = m[1]!;
    this.status = Number(m[2]);
    this.reason = m[3] ?? "";
    this.body = body;
    this.trailers = trailers;
  }

  /** Values of a header (case-insensitive). */
  all(name: string): string[] {
    return valuesOf(this.head.headers, name);
  }

  /** The only value of a header, undefined when absent; throws when repeated. */
  get(name: string): string | undefined {
    const v = this.all(name);
    if (v.length > 1) throw new Error(`Header ${name} repeated: ${JSON.stringify(v)}`);
    return v[0];
  }

  /** The body as text (UTF-8). */
  get text(): string {
    return td.decode(this.body);
  }
}

/** How a response body is delimited, from the client's point of view. */
function noBody(status: number, method: string): boolean {
  return method === "HEAD" || (status >= 100 && status < 200) || status === 204 ||
    status === 304;
}

/**
 * A client connection to the proxy (or any server) speaking HTTP/1.x with
 * exact bytes. `request()` writes bytes and reads one final response,
 * skipping and keeping 1xx interim responses in `interim`.
 */
export class HttpClient {
  readonly conn: Deno.TcpConn;
  readonly reader: ByteReader;
  /** Interim (1xx) responses seen before the last final one. */
  interim: HttpResponse[] = [];

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.reader = new ByteReader(conn);
  }

  /** The local port (the `%cp` of the proxy's log line). */
  get localPort(): number {
    return (this.conn.localAddr as Deno.NetAddr).port;
  }

  /** Writes all bytes (a string is UTF-8 encoded). */
  send(data: string | Uint8Array, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    const bytes = typeof data === "string" ? te.encode(data) : data;
    return withDeadline(
      async () => {
        let off = 0;
        while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
      },
      deadlineMs,
      `writing ${bytes.length} request bytes`,
      () => closeQuietly(this.conn),
    );
  }

  /**
   * Reads one final response (1xx responses are collected in `interim`).
   * `method` tells whether a body follows (HEAD has none).
   */
  readResponse(method = "GET", deadlineMs = DEFAULT_DEADLINE_MS): Promise<HttpResponse> {
    this.interim = [];
    return withDeadline(
      async () => {
        for (;;) {
          const raw = await this.reader.readHead();
          if (raw === null) throw new Error("EOF before a response head");
          const head = parseHead(raw);
          const probe = new HttpResponse(head, new Uint8Array(0));
          if (probe.status >= 100 && probe.status < 200 && probe.status !== 101) {
            this.interim.push(probe);
            continue;
          }
          if (noBody(probe.status, method) || probe.status === 101) return probe;
          const tenc = valuesOf(head.headers, "transfer-encoding").join(",").toLowerCase();
          if (tenc.includes("chunked")) {
            const { body, trailers } = await this.reader.readChunked();
            return new HttpResponse(head, body, trailers);
          }
          const cl = valuesOf(head.headers, "content-length")[0];
          if (cl !== undefined) {
            return new HttpResponse(head, await this.reader.readN(Number(cl)));
          }
          return new HttpResponse(head, await this.reader.readToEof());
        }
      },
      deadlineMs,
      `reading a response to ${method}`,
      () => closeQuietly(this.conn),
    );
  }

  /** Sends `data` and reads the response. */
  async request(
    data: string | Uint8Array,
    method = "GET",
    deadlineMs = DEFAULT_DEADLINE_MS,
  ): Promise<HttpResponse> {
    await this.send(data, deadlineMs);
    return await this.readResponse(method, deadlineMs);
  }

  /**
   * Waits for the connection's end: resolves with the bytes that arrived
   * before EOF ("" expected), or rejects when the peer did not close in time.
   */
  readUntilClosed(deadlineMs = 3_000): Promise<{ extra: Uint8Array; end: "eof" | "reset" }> {
    return withDeadline(
      async () => {
        try {
          const extra = await this.reader.readToEof();
          return { extra, end: "eof" as const };
        } catch {
          return { extra: new Uint8Array(0), end: "reset" as const };
        }
      },
      deadlineMs,
      "waiting for the proxy to close the connection",
      () => closeQuietly(this.conn),
    );
  }

  /**
   * True when the peer keeps the connection open for `ms` (no byte, no EOF).
   * Used to check keep-alive after a response; the connection is closed
   * afterwards either way (the probe read must end).
   */
  async staysOpen(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const probe = this.reader.readHead().then(
      (h) => (h === null ? "eof" : "data"),
      () => "error",
    );
    const r = await Promise.race([
      probe,
      new Promise<"open">((resolve) => (timer = setTimeout(() => resolve("open"), ms))),
    ]);
    clearTimeout(timer);
    if (r === "open") {
      // End the pending read so no op outlives the test.
      closeQuietly(this.conn);
      await probe;
      return true;
    }
    return false;
  }

  close(): void {
    closeQuietly(this.conn);
  }
}

/** Connects to `host`:`port` (127.0.0.1 or ::1) within a deadline. */
export async function connectHttp(
  port: number,
  hostname = "127.0.0.1",
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<HttpClient> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), deadlineMs);
  try {
    return new HttpClient(await Deno.connect({ hostname, port, signal: ac.signal }));
  } catch (e) {
    if (ac.signal.aborted) throw new DeadlineError(`connecting to ${hostname}:${port}`, deadlineMs);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** One request over a fresh connection; the connection is closed afterwards. */
export async function fetchOnce(
  port: number,
  request: string | Uint8Array,
  opts: { method?: string; hostname?: string; deadlineMs?: number } = {},
): Promise<HttpResponse> {
  const c = await connectHttp(port, opts.hostname ?? "127.0.0.1");
  try {
    return await c.request(request, opts.method ?? "GET", opts.deadlineMs);
  } finally {
    c.close();
  }
}

/** `GET path` with Host and the given extra header lines. */
export function get(path: string, extra: string[] = [], method = "GET"): string {
  return `${method} ${path} HTTP/1.1\r\nHost: test.local\r\n${
    extra.map((l) => l + "\r\n").join("")
  }\r\n`;
}

// ---------------------------------------------------------------------------
// Stub origin server.

/** A request as the stub received it. */
export interface StubRequest {
  /** Index of the connection that carried it (0-based, per server). */
  conn: number;
  /** Position of the request on its connection (0-based). */
  seq: number;
  head: Head;
  method: string;
  target: string;
  version: string;
  body: Uint8Array;
  /** The client address the stub saw (the proxy's side). */
  peer: string;
}

/** Values of a header of a recorded request (case-insensitive). */
export function reqHeader(r: StubRequest, name: string): string[] {
  return valuesOf(r.head.headers, name);
}

/** What the stub answers. */
export interface StubReply {
  status?: number;
  reason?: string;
  headers?: Array<[string, string]>;
  body?: string | Uint8Array;
  /** Close the connection after this response. */
  close?: boolean;
  /** Send this exact response instead (head and body); `close` still applies. */
  raw?: Uint8Array | string;
}

/** One connection as the stub saw it. */
export interface StubConn {
  index: number;
  requests: number;
  /** "peer" when the proxy closed it (EOF/reset), "self" when the stub did, null while open. */
  closedBy: "peer" | "self" | null;
}

export interface HttpStub {
  readonly port: number;
  readonly tag: string;
  readonly requests: StubRequest[];
  readonly conns: StubConn[];
  readonly errors: string[];
  /** Waits until at least `n` requests were received. */
  waitRequests(n: number, timeoutMs?: number): Promise<StubRequest[]>;
  /** Waits until connection `index` is closed; returns who closed it. */
  waitClosed(index: number, timeoutMs?: number): Promise<"peer" | "self">;
  close(): Promise<void>;
}

/**
 * A stub origin on 127.0.0.1:0. Parses requests (Content-Length or chunked
 * bodies), records them, and answers `respond(req)` or by default
 * `200 OK` with `x-backend: TAG` and the body `TAG METHOD TARGET`. Keeps
 * connections alive unless the request asks to close (HTTP/1.1
 * `Connection: close`, HTTP/1.0 without keep-alive) or `ignoreClose` is set
 * (then only the proxy can end the connection). Answers `100 Continue` to
 * `Expect: 100-continue` before reading the body.
 */
export function httpStub(
  tag: string,
  opts: { respond?: (r: StubRequest) => StubReply; ignoreClose?: boolean } = {},
): HttpStub {
  const requests: StubRequest[] = [];
  const conns: StubConn[] = [];
  const errors: string[] = [];
  const changed = new Signal();

  const serve = async (conn: Deno.TcpConn, info: StubConn): Promise<void> => {
    const rd = new ByteReader(conn);
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    for (let seq = 0;; seq++) {
      let raw: Uint8Array | null;
      try {
        raw = await rd.readHead();
      } catch {
        info.closedBy = "peer"; // a reset or an EOF inside a head: the proxy ended it
        return;
      }
      if (raw === null) {
        info.closedBy = "peer";
        return;
      }
      const head = parseHead(raw);
      const [method = "", target = "", version = ""] = head.startLine.split(" ");
      const expect = valuesOf(head.headers, "expect")[0]?.toLowerCase();
      if (expect === "100-continue") {
        await writeFull(conn, te.encode("HTTP/1.1 100 Continue\r\n\r\n"));
      }
      let body: Uint8Array = new Uint8Array(0);
      const tenc = valuesOf(head.headers, "transfer-encoding").join(",").toLowerCase();
      const cl = valuesOf(head.headers, "content-length")[0];
      if (tenc.includes("chunked")) body = (await rd.readChunked()).body;
      else if (cl !== undefined) body = await rd.readN(Number(cl));
      const req: StubRequest = { conn: info.index, seq, head, method, target, version, body, peer };
      requests.push(req);
      info.requests++;
      changed.notify();
      const reply = opts.respond?.(req) ?? {};
      const connHdr = valuesOf(head.headers, "connection").join(",").toLowerCase();
      const wantsClose = version === "HTTP/1.0"
        ? !connHdr.includes("keep-alive")
        : connHdr.includes("close");
      const close = reply.close ?? (opts.ignoreClose !== true && wantsClose);
      await writeFull(conn, renderReply(tag, req, reply, close));
      if (close) {
        info.closedBy = "self";
        return;
      }
    }
  };

  const loop = new AcceptLoop(
    (conn, index) => {
      const info: StubConn = { index, requests: 0, closedBy: null };
      conns.push(info);
      return serve(conn, info);
    },
    {
      onError: (e, index, closing) => {
        if (!closing) errors.push(String(e));
        if (conns[index]!.closedBy === null) conns[index]!.closedBy = "peer";
      },
      onEnd: () => changed.notify(),
    },
  );

  return {
    port: loop.port,
    tag,
    requests,
    conns,
    errors,
    waitRequests: (n, ms = 5_000) =>
      changed.until(
        () => (requests.length >= n ? requests : undefined),
        ms,
        () => `${n} requests (have ${requests.length}) at stub ${tag}`,
      ),
    waitClosed: (index, ms = 5_000) =>
      changed.until(
        () => conns[index]?.closedBy ?? undefined,
        ms,
        `connection #${index} to close at stub ${tag}`,
      ),
    close: () => loop.close(),
  };
}

function renderReply(tag: string, req: StubRequest, r: StubReply, close: boolean): Uint8Array {
  if (r.raw !== undefined) return typeof r.raw === "string" ? te.encode(r.raw) : r.raw;
  const status = r.status ?? 200;
  const body = r.body === undefined
    ? te.encode(`${tag} ${req.method} ${req.target}`)
    : typeof r.body === "string"
    ? te.encode(r.body)
    : r.body;
  let head = `HTTP/1.1 ${status} ${r.reason ?? "OK"}\r\n`;
  const hdrs = r.headers ?? [["Content-Type", "text/plain"]];
  for (const [k, v] of hdrs) head += `${k}: ${v}\r\n`;
  head += `X-Backend: ${tag}\r\n`;
  if (!(status === 204 || status === 304 || (status >= 100 && status < 200))) {
    head += `Content-Length: ${body.length}\r\n`; // for HEAD too: the length a GET would get
  }
  if (close) head += "Connection: close\r\n";
  head += "\r\n";
  const h = te.encode(head);
  const send = req.method === "HEAD" ? new Uint8Array(0) : body;
  const out = new Uint8Array(h.length + send.length);
  out.set(h, 0);
  out.set(send, h.length);
  return out;
}

// ---------------------------------------------------------------------------
// Log lines.

/** Waits for `n` log lines of a client port and parses them. */
export async function logsOf(
  proxy: ProxyProcess,
  port: number,
  n = 1,
  ip = "127.0.0.1",
  timeoutMs = 5_000,
): Promise<HttpLog[]> {
  const lines = await proxy.waitForLogs(logLineOf(port, ip), n, timeoutMs);
  return lines.map(parseHttpLog);
}

/**
 * The port of frontend `fe` bound on `family` ("v4": 127.0.0.1, "v6": [::1]),
 * from the proxy's `listening FE ADDR` notices (proxy.port() keeps only the first).
 */
export function bindPort(proxy: ProxyProcess, fe: string, family: "v4" | "v6"): number {
  const re = family === "v6"
    ? new RegExp(`\\blistening ${fe} \\[[0-9a-fA-F:]+\\]:(\\d+)\\s*$`)
    : new RegExp(`\\blistening ${fe} \\d+\\.\\d+\\.\\d+\\.\\d+:(\\d+)\\s*$`);
  for (const l of proxy.stderr) {
    const m = re.exec(l);
    if (m !== null) return Number(m[1]);
  }
  throw new Error(`No ${family} listener announced for ${fe}:\n${proxy.stderr.join("\n")}`);
}

/** Common `global`/`defaults` head of the test configurations. */
export const HTTP_DEFAULTS = `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s, http-request: 2s, http-keep-alive: 2s, tunnel: 10s }
  option: [httplog]
`;

/**
 * HTTP_DEFAULTS with frontend `fe` in front of backend `be`, one server `s`
 * at 127.0.0.1:`port`. `frontend` holds fe's keys between `bind` and
 * `default_backend` (YAML lines indented 4; a leading newline is dropped),
 * so that the text has the line numbers of the same file written by hand.
 */
export function oneBackend(port: number, frontend: string): string {
  return HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
${frontend.replace(/^\n/, "").trimEnd()}
    default_backend: be
backends:
  be: { servers: [ { name: s, address: "127.0.0.1:${port}" } ] }
`;
}

/** Runs `fn` with a keep-alive client on `port`, closed afterwards whatever `fn` does. */
export async function withClient<T>(port: number, fn: (c: HttpClient) => Promise<T>): Promise<T> {
  const c = await connectHttp(port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
