// Shared tools of the backend and stats end-to-end tests.
//
// - NameServer: an HTTP/1.1 origin on 127.0.0.1 that answers every request
//   with its own name (body and `X-Server`), keeps connections alive, and
//   records what a test asserts on: the paths it served, how many requests it
//   was working on at once (and the maximum), its health-check requests. A
//   request can be held (a Gate, or a delay) to make the server "slow". It can
//   be stopped (the port refuses connections; requests in progress are still
//   answered) and restarted on the same port, which is how a test kills and
//   revives a server without cutting a response in half.
// - HttpConn: a client connection (Deno.connect, or node:net when the test
//   needs a chosen source address such as 127.0.0.2) that sends requests and
//   reads responses one by one, keep-alive included.
// - parseHttpLog() (from _helpers/proxy.ts): an httplog line split into named
//   fields; logOfPort() waits for the line of one client.
// - Stats helpers: basic-auth header, admin POSTs, the JSON snapshot.
//
// Every wait has a deadline and says what it waited for; `close()` of a
// server awaits every handler, so a test that calls it in `finally` leaves no
// op behind (sanitizers stay on).

import net from "node:net";
import type { Buffer } from "node:buffer";
import {
  closeQuietly,
  concat,
  DEFAULT_DEADLINE_MS,
  indexOfCrlfCrlf,
  td,
  te,
  withDeadline,
  writeFull,
} from "../../_helpers/client.ts";
import { type HttpLog, logLineOf, parseHttpLog, type ProxyProcess } from "../../_helpers/proxy.ts";
import { Signal } from "../../_helpers/signal.ts";

export { type HttpLog, parseHttpLog };

/** The `global`/`defaults` head of the HTTP test configurations. */
export const HTTP_HEAD = `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 10s, server: 10s, http-request: 5s, http-keep-alive: 5s }
  option: [httplog]
`;

/** The parts of a feBeConfig() configuration. */
export interface FeBeOptions {
  /** YAML lines under frontend `fe`, indented 4 spaces (more frontends may follow, indented 2). */
  frontend?: string;
  /** YAML lines under backend `be` before its `servers:`, indented 4 spaces. */
  backend?: string;
  /** The lines of `be`'s server list (serverLines()). */
  servers: string;
  /** YAML after backend `be`: more backends, indented 2 spaces. */
  moreBackends?: string;
}

/**
 * The usual configuration of these tests: HTTP_HEAD, then frontend `fe`
 * (127.0.0.1:0) whose default backend is `be`, with the given lines added.
 */
export function feBeConfig(o: FeBeOptions): string {
  return HTTP_HEAD + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
${o.frontend ?? ""}
backends:
  be:
${o.backend ?? ""}
    servers:
${o.servers}
${o.moreBackends ?? ""}
`;
}

// ---------------------------------------------------------------------------
// Holding requests.

/** A gate that held requests wait on until the test opens it. */
export class Gate {
  #open = false;
  #release!: () => void;
  #opened = new Promise<void>((r) => (this.#release = r));

  wait(): Promise<void> {
    return this.#open ? Promise.resolve() : this.#opened;
  }

  open(): void {
    this.#open = true;
    this.#release();
  }
}

// ---------------------------------------------------------------------------
// The origin server.

/** A parsed request or response head. */
export interface Head {
  startLine: string;
  /** Header names lower-cased, values trimmed, in order. */
  headers: Array<[string, string]>;
}

function parseHead(raw: Uint8Array): Head {
  const text = td.decode(raw);
  const lines = text.slice(0, -4).split("\r\n");
  const startLine = lines.shift() ?? "";
  const headers: Array<[string, string]> = [];
  for (const l of lines) {
    const c = l.indexOf(":");
    if (c > 0) headers.push([l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()]);
  }
  return { startLine, headers };
}

/** Values of header `name` (lower case) of a head. */
export function headerValues(h: Head, name: string): string[] {
  return h.headers.filter(([k]) => k === name).map(([, v]) => v);
}

/** A byte stream both clients and the server read from. */
interface ByteSource {
  /** The next chunk, or null at EOF. Throws on a reset. */
  read(): Promise<Uint8Array | null>;
}

/** Buffered head/body reader over a ByteSource. */
class Reader {
  #buf = new Uint8Array(0);
  #eof = false;
  constructor(readonly src: ByteSource) {}

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const c = await this.src.read();
    if (c === null) {
      this.#eof = true;
      return false;
    }
    const nb = new Uint8Array(this.#buf.length + c.length);
    nb.set(this.#buf, 0);
    nb.set(c, this.#buf.length);
    this.#buf = nb;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** The next head (CRLFCRLF included), or null on EOF before any byte. */
  async head(): Promise<Uint8Array | null> {
    let scanned = 0;
    for (;;) {
      const i = indexOfCrlfCrlf(this.#buf, scanned - 3);
      if (i >= 0) return this.#take(i + 4);
      scanned = this.#buf.length;
      if (scanned > 256 * 1024) throw new Error("head larger than 256 KiB");
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new Error(`EOF inside a head: ${JSON.stringify(td.decode(this.#buf))}`);
      }
    }
  }

  async exactly(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) throw new Error(`EOF after ${this.#buf.length} of ${n} bytes`);
    }
    return this.#take(n);
  }

  async line(): Promise<string> {
    for (;;) {
      for (let i = 0; i + 1 < this.#buf.length; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
          const l = td.decode(this.#buf.subarray(0, i));
          this.#take(i + 2);
          return l;
        }
      }
      if (!(await this.#fill())) throw new Error("EOF inside a chunked body");
    }
  }

  async chunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const size = parseInt((await this.line()).split(";")[0]!.trim(), 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size");
      if (size === 0) {
        while ((await this.line()) !== "");
        break;
      }
      parts.push(await this.exactly(size));
      await this.line();
    }
    return concat(parts);
  }

  async toEof(): Promise<Uint8Array> {
    while (await this.#fill());
    return this.#take(this.#buf.length);
  }
}

function denoSource(conn: Deno.Conn): ByteSource {
  const buf = new Uint8Array(64 * 1024);
  return {
    async read() {
      const n = await conn.read(buf);
      return n === null ? null : buf.slice(0, n);
    },
  };
}

/** One request as the server received it. */
export interface SeenRequest {
  method: string;
  path: string;
  head: Head;
  /** The client address the server saw. */
  peer: string;
}

export interface NameServerOptions {
  /** Called for every non-health request; the response waits for it (a slow server). */
  hold?: (req: SeenRequest) => Promise<void> | void;
  /** Status of `/health` answers (read at each check); default 200. */
  healthStatus?: () => number;
}

const REASON: Record<number, string> = {
  200: "OK",
  404: "Not Found",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * An HTTP/1.1 origin answering `200` with its name as the body (see the file
 * header). `/health*` paths are health checks: counted apart, answered with
 * `healthStatus()` and never counted as traffic.
 */
export class NameServer {
  readonly name: string;
  readonly port: number;
  /** Non-health requests in arrival order. */
  readonly requests: SeenRequest[] = [];
  /** Health-check requests received (paths starting with /health). */
  readonly healthRequests: SeenRequest[] = [];
  /** Non-health requests being worked on now / at most. */
  inflight = 0;
  maxInflight = 0;
  /** Connections accepted (all of them, health checks included). */
  accepted = 0;
  readonly errors: string[] = [];
  readonly changed = new Signal();

  #opts: NameServerOptions;
  #listener: Deno.TcpListener | null = null;
  #loop: Promise<void> = Promise.resolve();
  #conns = new Set<Deno.TcpConn>();
  /** Connections with a request being answered (not closed by stop() until done). */
  #busy = new Set<Deno.TcpConn>();
  /** Connections that answered at least one request (kept-alive ones when idle). */
  #used = new Set<Deno.TcpConn>();
  #handlers = new Set<Promise<void>>();
  #stopping = false;
  #spareFresh = false;

  constructor(name: string, opts: NameServerOptions = {}) {
    this.name = name;
    this.#opts = opts;
    this.port = this.#listen(0);
  }

  /** Health-check requests received. */
  get healthChecks(): number {
    return this.healthRequests.length;
  }

  /** Requests served (health checks excluded). */
  get served(): number {
    return this.requests.length;
  }

  /** Whether the port accepts connections. */
  get running(): boolean {
    return this.#listener !== null;
  }

  #listen(port: number): number {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    this.#listener = l;
    this.#stopping = false;
    this.#loop = this.#acceptLoop(l);
    return (l.addr as Deno.NetAddr).port;
  }

  async #acceptLoop(l: Deno.TcpListener): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await l.accept();
      } catch {
        return;
      }
      if (this.#stopping && !this.#spareFresh) {
        closeQuietly(conn);
        continue;
      }
      this.accepted++;
      this.#conns.add(conn);
      this.changed.notify();
      const p: Promise<void> = this.#serve(conn)
        .catch((e) => {
          if (!this.#stopping) this.errors.push(String(e));
        })
        .finally(() => {
          this.#conns.delete(conn);
          this.#busy.delete(conn);
          this.#used.delete(conn);
          closeQuietly(conn);
          this.#handlers.delete(p);
          this.changed.notify();
        });
      this.#handlers.add(p);
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const rd = new Reader(denoSource(conn));
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    for (;;) {
      let raw: Uint8Array | null;
      try {
        raw = await rd.head();
      } catch {
        return; // reset or EOF inside a head: the peer went away
      }
      if (raw === null) return;
      this.#busy.add(conn);
      const head = parseHead(raw);
      const [method = "", path = ""] = head.startLine.split(" ");
      const cl = headerValues(head, "content-length")[0];
      if (cl !== undefined) await rd.exactly(Number(cl));
      const wantsClose = headerValues(head, "connection").some((v) => /close/i.test(v));
      const req: SeenRequest = { method, path, head, peer };
      let status = 200;
      let body = this.name;
      if (path.startsWith("/health")) {
        this.healthRequests.push(req);
        status = this.#opts.healthStatus?.() ?? 200;
        body = `${this.name} health ${status}`;
        this.changed.notify();
      } else {
        this.requests.push(req);
        this.inflight++;
        if (this.inflight > this.maxInflight) this.maxInflight = this.inflight;
        this.changed.notify();
        try {
          await this.#opts.hold?.(req);
        } finally {
          this.inflight--;
        }
      }
      const b = te.encode(body);
      const closeNow = wantsClose || this.#stopping;
      const out = te.encode(
        `HTTP/1.1 ${status} ${REASON[status] ?? "Status"}\r\ncontent-type: text/plain\r\n` +
          `x-server: ${this.name}\r\ncontent-length: ${b.length}\r\n` +
          (closeNow ? "connection: close\r\n" : "") + "\r\n" + body,
      );
      try {
        await writeFull(conn, out);
      } finally {
        this.#used.add(conn);
        this.#busy.delete(conn);
        this.changed.notify();
      }
      if (closeNow) return;
    }
  }

  /**
   * Stops the server: the port refuses new connections at once, requests in
   * progress are answered (with `connection: close`), idle connections are
   * closed. Resolves when no connection is left. With `spareFresh`, a
   * connection accepted but not yet used is not closed: it answers its first
   * request (with `connection: close`), as a server draining gracefully does
   * for a request already on its way (closing it would be a 502 on any proxy).
   */
  async stop(opts: { spareFresh?: boolean } = {}): Promise<void> {
    if (this.#listener === null) return;
    this.#stopping = true;
    this.#spareFresh = opts.spareFresh ?? false;
    closeQuietly(this.#listener);
    this.#listener = null;
    await this.#loop;
    for (const c of this.#conns) {
      if (!this.#busy.has(c) && (!opts.spareFresh || this.#used.has(c))) closeQuietly(c);
    }
    await this.changed.until(
      () => (this.#busy.size === 0 && (!opts.spareFresh || this.#conns.size === 0)
        ? true
        : undefined),
      10_000,
      () => `${this.name}: ${this.#busy.size} requests in progress to finish`,
    );
    for (const c of this.#conns) closeQuietly(c);
    await Promise.all([...this.#handlers]);
  }

  /** Listens again on the same port (after stop()). */
  restart(): void {
    if (this.#listener !== null) return;
    this.#listen(this.port);
  }

  /** Stops for good (idempotent): nothing is left pending. */
  async close(): Promise<void> {
    await this.stop();
    await Promise.all([...this.#handlers]);
  }

  /** Waits until at least `n` non-health requests were received. */
  waitServed(n: number, ms = 5_000): Promise<SeenRequest[]> {
    return this.changed.until(
      () => (this.requests.length >= n ? this.requests : undefined),
      ms,
      () => `${this.name} to receive ${n} requests (has ${this.requests.length})`,
    );
  }

  /** Waits until `n` requests are in progress at once. */
  waitInflight(n: number, ms = 5_000): Promise<void> {
    return this.changed.until(
      () => (this.inflight >= n ? true : undefined),
      ms,
      () => `${this.name} to work on ${n} requests at once (has ${this.inflight})`,
    ).then(() => {});
  }
}

/** Starts `n` servers named `${prefix}1` … `${prefix}n`. */
export function nameServers(
  n: number,
  prefix = "s",
  opts: (name: string) => NameServerOptions = () => ({}),
): NameServer[] {
  const out: NameServer[] = [];
  for (let i = 1; i <= n; i++) out.push(new NameServer(`${prefix}${i}`, opts(`${prefix}${i}`)));
  return out;
}

/** Closes every server, even when one close fails. */
export async function closeAll(servers: ReadonlyArray<{ close(): Promise<void> }>): Promise<void> {
  await Promise.allSettled(servers.map((s) => s.close()));
}

/** `{ name, address }` YAML lines of a server list, with extra keys per server. */
export function serverLines(
  servers: ReadonlyArray<NameServer>,
  extra: (s: NameServer, i: number) => string = () => "",
  indent = "      ",
): string {
  return servers.map((s, i) => {
    const more = extra(s, i);
    return `${indent}- { name: ${s.name}, address: "127.0.0.1:${s.port}"${
      more === "" ? "" : ", " + more
    } }`;
  }).join("\n");
}

// ---------------------------------------------------------------------------
// The client.

/** A response as the client saw it. */
export interface Response {
  status: number;
  head: Head;
  body: string;
  /** The `x-server` header (which origin answered), or null (proxy's own replies). */
  server: string | null;
}

interface Duplex extends ByteSource {
  write(b: Uint8Array): Promise<void>;
  close(): void;
  /** Resolves when the socket is fully released. */
  closed(): Promise<void>;
  localPort: number;
}

function denoDuplex(conn: Deno.TcpConn): Duplex {
  const src = denoSource(conn);
  return {
    read: () => src.read(),
    write: (b) => writeFull(conn, b),
    close: () => closeQuietly(conn),
    closed: () => Promise.resolve(),
    localPort: (conn.localAddr as Deno.NetAddr).port,
  };
}

/** A node:net socket as a Duplex (for a chosen local address). */
function nodeDuplex(sock: net.Socket): Duplex {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let error: Error | null = null;
  const sig = new Signal();
  const gone = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  sock.on("data", (d: Buffer) => {
    chunks.push(new Uint8Array(d));
    sig.notify();
  });
  sock.on("end", () => {
    ended = true;
    sig.notify();
  });
  sock.on("error", (e: Error) => {
    error = e;
    sig.notify();
  });
  sock.on("close", () => {
    ended = true;
    sig.notify();
  });
  return {
    async read() {
      await sig.until(
        () => (chunks.length > 0 || ended || error !== null ? true : undefined),
        DEFAULT_DEADLINE_MS * 3,
        () => "data on a node:net socket",
      );
      const c = chunks.shift();
      if (c !== undefined) return c;
      if (error !== null) throw error;
      return null;
    },
    write: (b) =>
      new Promise<void>((resolve, reject) => {
        sock.write(b, (e) => (e ? reject(e) : resolve()));
      }),
    close: () => sock.destroy(),
    closed: () => gone,
    get localPort() {
      return sock.localPort ?? 0;
    },
  };
}

/** A client connection speaking HTTP/1.1, one request at a time. */
export class HttpConn {
  #d: Duplex;
  #rd: Reader;
  constructor(d: Duplex) {
    this.#d = d;
    this.#rd = new Reader(d);
  }

  /** The client port (the `%cp` of the proxy's log line). */
  get localPort(): number {
    return this.#d.localPort;
  }

  /** Connects to 127.0.0.1:`port`, from `localAddress` when given (node:net). */
  static async open(port: number, localAddress?: string): Promise<HttpConn> {
    if (localAddress === undefined) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), DEFAULT_DEADLINE_MS);
      try {
        return new HttpConn(
          denoDuplex(await Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal })),
        );
      } finally {
        clearTimeout(timer);
      }
    }
    const sock = net.connect({ host: "127.0.0.1", port, localAddress });
    const d = nodeDuplex(sock);
    try {
      await withDeadline(
        () =>
          new Promise<void>((resolve, reject) => {
            sock.once("connect", () => resolve());
            sock.once("error", reject);
          }),
        DEFAULT_DEADLINE_MS,
        `connecting from ${localAddress}`,
        () => sock.destroy(),
      );
    } catch (e) {
      sock.destroy();
      await d.closed();
      throw e;
    }
    return new HttpConn(d);
  }

  /** Sends raw request bytes and reads one response (deadline `ms`). */
  request(raw: string, method = "GET", ms = DEFAULT_DEADLINE_MS): Promise<Response> {
    return withDeadline(
      async () => {
        await this.#d.write(te.encode(raw));
        const h = await this.#rd.head();
        if (h === null) throw new Error(`EOF before a response to ${JSON.stringify(raw)}`);
        const head = parseHead(h);
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head.startLine);
        if (m === null) throw new Error(`bad status line ${JSON.stringify(head.startLine)}`);
        const status = Number(m[1]);
        let body: Uint8Array = new Uint8Array(0);
        const cl = headerValues(head, "content-length")[0];
        const chunked = headerValues(head, "transfer-encoding").some((v) => /chunked/i.test(v));
        if (method === "HEAD" || status === 204 || status === 304) {
          // no body
        } else if (chunked) body = await this.#rd.chunked();
        else if (cl !== undefined) body = await this.#rd.exactly(Number(cl));
        else body = await this.#rd.toEof();
        return {
          status,
          head,
          body: td.decode(body),
          server: headerValues(head, "x-server")[0] ?? null,
        };
      },
      ms,
      `a response to ${JSON.stringify(raw.split("\r\n")[0])}`,
      () => this.#d.close(),
    );
  }

  /** `GET path` with Host and extra header lines. */
  get(path: string, headers: string[] = [], ms?: number): Promise<Response> {
    return this.request(getRequest(path, headers), "GET", ms);
  }

  /** Closes the connection and waits for the socket to be released. */
  async close(): Promise<void> {
    this.#d.close();
    await this.#d.closed();
  }
}

/** The bytes of `GET path HTTP/1.1` with Host and the given header lines. */
export function getRequest(path: string, headers: string[] = []): string {
  return `GET ${path} HTTP/1.1\r\nhost: sluice.test\r\n${
    headers.map((h) => h + "\r\n").join("")
  }\r\n`;
}

/** One request on a new connection, closed afterwards. */
export async function fetchOnce(
  port: number,
  path: string,
  headers: string[] = [],
  ms?: number,
): Promise<Response> {
  const c = await HttpConn.open(port);
  try {
    return await c.get(path, ["connection: close", ...headers], ms);
  } finally {
    await c.close();
  }
}

/** Counts of `values` by value. */
export function tally(values: Iterable<string | null>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(String(v), (m.get(String(v)) ?? 0) + 1);
  return m;
}

/** A map as a sorted plain object, for readable assertion messages. */
export function show(m: Map<string, number>): string {
  return JSON.stringify(Object.fromEntries([...m].sort()));
}

// ---------------------------------------------------------------------------
// Log lines.

/** The parsed log line of the request sent from client port `port` (waits for it). */
export async function logOfPort(proxy: ProxyProcess, port: number, ms = 5_000): Promise<HttpLog> {
  return parseHttpLog(await proxy.waitForLog(logLineOf(port), ms));
}

// ---------------------------------------------------------------------------
// Stats.

/** The Authorization header line for user:password. */
export function basicAuth(userPass: string): string {
  return `authorization: Basic ${btoa(userPass)}`;
}

/** POSTs an admin action (`s=be/srv&action=...`) to the stats URI; returns the response. */
export async function adminPost(
  port: number,
  target: string,
  action: "ready" | "drain" | "maint",
  opts: { uri?: string; auth?: string } = {},
): Promise<Response> {
  const body = `s=${encodeURIComponent(target)}&action=${action}`;
  const c = await HttpConn.open(port);
  try {
    return await c.request(
      `POST ${opts.uri ?? "/stats"} HTTP/1.1\r\nhost: sluice.test\r\nconnection: close\r\n` +
        (opts.auth === undefined ? "" : basicAuth(opts.auth) + "\r\n") +
        `content-type: application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n` +
        body,
      "POST",
    );
  } finally {
    await c.close();
  }
}

/** Minimal view of the `;json` snapshot used by the tests. */
export interface JsonServer {
  name: string;
  status: string;
  weight: number;
  backup: boolean;
  queueCur: number;
  curSessions: number;
  totalSessions: number;
}
export interface JsonBackend {
  name: string;
  status: string;
  queueCur: number;
  servers: JsonServer[];
}
export interface JsonSnapshot {
  frontends: Array<{ name: string; status: string; totalSessions: number; httpRequests: number }>;
  backends: JsonBackend[];
}

/** GETs `<uri>;json` and parses it. */
export async function statsJson(
  port: number,
  opts: { uri?: string; auth?: string } = {},
): Promise<JsonSnapshot> {
  const r = await fetchOnce(
    port,
    `${opts.uri ?? "/stats"};json`,
    opts.auth === undefined ? [] : [basicAuth(opts.auth)],
  );
  if (r.status !== 200) throw new Error(`;json answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as JsonSnapshot;
}
