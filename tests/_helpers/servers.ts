// Stub servers for end-to-end tests (the "backend servers" behind the proxy).
//
// Every server listens on 127.0.0.1, port 0 unless a fixed port is asked for
// (the README demo), and records what a test needs to assert on: digests,
// byte counts, connection counts, concurrency. `close()` stops accepting,
// closes every open connection and awaits every per-connection handler, so a
// test that calls it in `finally` leaves no op or resource behind.
//
// Handlers never throw out of the accept loop: a connection error is recorded
// on the server (`errors`) and the connection is closed, like a real server.
//
// Kinds:
// - echoServer: writes back what it reads; half-closes after the client's FIN.
// - sinkServer: hashes everything it receives; at the client's FIN records the
//   digest and count, then optionally sends a reply and closes;
//   readThenAnswerServer is the sink with a fixed reply.
// - sourceServer / duplexServer: sends N seeded pseudo-random bytes; the duplex
//   one also hashes what it receives at the same time (both directions at once).
// - answerFirstServer: reads a first chunk, answers, then shuts its write side
//   (or closes completely) while the client may still be sending.
// - silentServer: reads and discards, never writes, never closes by itself.
// - countingServer: tracks concurrent connections and their maximum; each
//   connection reads a request to EOF, is held `holdMs`, then gets an answer.
// - blackholeServer: a port whose SYNs are dropped, so connects hang (see there).

import { createHash, type Hash } from "node:crypto";
import { AcceptLoop } from "./accept.ts";
import { closeQuietly, SeededBytes, writeFull } from "./client.ts";
import { Events } from "./signal.ts";

/** What every stub server exposes. */
export interface StubServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Errors met by connection handlers (resets, broken pipes), as strings. */
  readonly errors: string[];
  /** Stops accepting, closes all connections, awaits all handlers. */
  close(): Promise<void>;
}

/** Digest and count of what one connection delivered before its EOF. */
export interface Received {
  sha256: string;
  count: number;
  /** "eof" after a clean FIN, "reset" after a read error. */
  end: "eof" | "reset";
}

type Handler = (conn: Deno.TcpConn, index: number) => Promise<void>;

/** Base: an accept loop on 127.0.0.1 that runs `handler` per connection. */
class BaseServer extends AcceptLoop implements StubServer {
  readonly errors: string[];

  constructor(handler: Handler, port = 0) {
    const errors: string[] = [];
    super(handler, { port, onError: (e) => errors.push(String(e)) });
    this.errors = errors;
  }
}

/** Reads and hashes until EOF; a read error ends with "reset". */
async function hashUntilEof(
  conn: Deno.Conn,
  h: Hash = createHash("sha256"),
  count = 0,
): Promise<Received> {
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      return { sha256: h.digest("hex"), count, end: "reset" };
    }
    if (n === null) return { sha256: h.digest("hex"), count, end: "eof" };
    h.update(buf.subarray(0, n));
    count += n;
  }
}

// ---------------------------------------------------------------------------

/** Echo server: writes back every byte; after the client's FIN, sends FIN and closes. */
export function echoServer(opts: { port?: number } = {}): StubServer & {
  /** Bytes echoed per finished connection. */
  readonly echoed: number[];
} {
  const echoed: number[] = [];
  const srv = new BaseServer(async (conn) => {
    const buf = new Uint8Array(64 * 1024);
    let total = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeFull(conn, buf.subarray(0, n));
      total += n;
    }
    echoed.push(total);
    await conn.closeWrite().catch(() => {});
  }, opts.port ?? 0);
  return Object.assign(srv, { echoed });
}

/** Sink: hashes input until EOF, records it, then optionally replies and closes. */
export function sinkServer(opts: { reply?: Uint8Array | ((r: Received) => Uint8Array) } = {}):
  & StubServer
  & { readonly received: Events<Received> } {
  const received = new Events<Received>();
  const srv = new BaseServer(async (conn) => {
    const r = await hashUntilEof(conn);
    received.push(r);
    if (opts.reply !== undefined && r.end === "eof") {
      const data = typeof opts.reply === "function" ? opts.reply(r) : opts.reply;
      await writeFull(conn, data);
    }
    await conn.closeWrite().catch(() => {});
  });
  return Object.assign(srv, { received });
}

/** Reads the whole request until the client's FIN, then answers `answer` and closes. */
export function readThenAnswerServer(answer: Uint8Array): ReturnType<typeof sinkServer> {
  return sinkServer({ reply: answer });
}

/** Source: sends `bytes` seeded bytes, half-closes, then reads until the client's EOF. */
export function sourceServer(bytes: number, seed: number): StubServer {
  return duplexServer(bytes, seed);
}

/** What a duplex server reports per connection. */
export interface DuplexRecord {
  received: Received;
  sent: { sha256: string; count: number };
}

/**
 * Duplex: at the same time sends `bytes` seeded bytes (then FIN) and hashes
 * everything it receives until the client's FIN. Both directions run
 * concurrently, so nothing serialises the two transfers.
 */
export function duplexServer(bytes: number, seed: number): StubServer & {
  readonly records: Events<DuplexRecord>;
} {
  const records = new Events<DuplexRecord>();
  const srv = new BaseServer(async (conn) => {
    const sending = (async () => {
      const gen = new SeededBytes(seed);
      const h = createHash("sha256");
      const buf = new Uint8Array(256 * 1024);
      let sent = 0;
      while (sent < bytes) {
        const n = Math.min(buf.length, bytes - sent);
        gen.fill(buf);
        const piece = buf.subarray(0, n);
        h.update(piece);
        await writeFull(conn, piece);
        sent += n;
      }
      await conn.closeWrite();
      return { sha256: h.digest("hex"), count: sent };
    })();
    const [received, sent] = await Promise.all([hashUntilEof(conn), sending]);
    records.push({ received, sent });
  });
  return Object.assign(srv, { records });
}

/**
 * Answers first: reads `firstBytes` bytes (the request), writes `answer`, then
 * either half-closes (`mode: "shutw"`: keeps reading and hashing until the
 * client's EOF, so later client data can be checked) or closes the socket
 * completely (`mode: "close"`). Records what it received in total.
 */
export function answerFirstServer(opts: {
  firstBytes: number;
  answer: Uint8Array;
  mode: "shutw" | "close";
}): StubServer & { readonly received: Events<Received> } {
  const received = new Events<Received>();
  const srv = new BaseServer(async (conn) => {
    const h = createHash("sha256");
    const first = new Uint8Array(opts.firstBytes);
    let off = 0;
    while (off < first.length) {
      const n = await conn.read(first.subarray(off));
      if (n === null) break;
      off += n;
    }
    h.update(first.subarray(0, off));
    await writeFull(conn, opts.answer);
    if (opts.mode === "close") {
      received.push({ sha256: h.digest("hex"), count: off, end: "eof" });
      return; // the base closes the socket
    }
    await conn.closeWrite();
    received.push(await hashUntilEof(conn, h, off));
  });
  return Object.assign(srv, { received });
}

/**
 * Silent: optionally sends `greeting` and/or half-closes at once (`shutw`),
 * then reads and discards until EOF, and after EOF stays open without a
 * sound until the test closes the server. Records when each EOF arrived.
 */
export function silentServer(opts: { greeting?: Uint8Array; shutw?: boolean } = {}):
  & StubServer
  & { readonly eofs: Events<number> } {
  const eofs = new Events<number>();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const srv = new BaseServer(async (conn) => {
    if (opts.greeting !== undefined) await writeFull(conn, opts.greeting);
    if (opts.shutw === true) await conn.closeWrite();
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
    }
    eofs.push(Date.now());
    await released; // stay open, silent, until the server is closed
  });
  const close = srv.close.bind(srv);
  return Object.assign(srv, {
    eofs,
    close: () => {
      release();
      return close();
    },
  });
}

/**
 * Counting server: tracks how many connections are open at once
 * (`stats.current`) and the maximum seen (`stats.max`). Each connection reads its request to EOF,
 * waits `holdMs` (simulated work), answers `answer(request)` and closes.
 */
export function countingServer(opts: {
  holdMs: number;
  answer: (request: Uint8Array) => Uint8Array;
}): StubServer & { readonly stats: { current: number; max: number } } {
  const stats = { current: 0, max: 0 };
  const srv = new BaseServer(async (conn) => {
    stats.current++;
    if (stats.current > stats.max) stats.max = stats.current;
    try {
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(16 * 1024);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        parts.push(buf.slice(0, n));
      }
      const req = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let off = 0;
      for (const p of parts) {
        req.set(p, off);
        off += p.length;
      }
      await new Promise<void>((resolve) => setTimeout(resolve, opts.holdMs));
      await writeFull(conn, opts.answer(req));
    } finally {
      // the connection counts as open until the socket is closed
      closeQuietly(conn);
      stats.current--;
    }
  });
  return Object.assign(srv, { stats });
}

/**
 * Blackhole: a port on which connects hang (the SYN is dropped), for connect
 * timeouts. How: a listening socket with a backlog of 0 (Deno.listen's
 * `tcpBacklog`) that never calls accept(). Linux keeps backlog+1 = 1 completed
 * connection in the accept queue; we fill it with our own connection(s) until
 * one attempt does not complete within 200 ms. From then on the kernel drops
 * every SYN to that port (accept queue full, `tcp_abort_on_overflow` = 0), so a
 * client's connect stays in SYN-SENT and only its own timeout ends it. Nothing
 * is ever accepted, so nothing is ever answered.
 */
export async function blackholeServer(): Promise<StubServer> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const fillers: Deno.TcpConn[] = [];
  let full = false;
  try {
    for (let i = 0; i < 16 && !full; i++) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 200);
      try {
        fillers.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal }));
      } catch (e) {
        if (!ac.signal.aborted) throw e;
        full = true; // this SYN was dropped: the accept queue is full
      } finally {
        clearTimeout(timer);
      }
    }
    if (!full) throw new Error("blackholeServer: the accept queue never filled up");
  } catch (e) {
    for (const c of fillers) closeQuietly(c);
    listener.close();
    throw e;
  }
  return {
    port,
    accepted: 0,
    errors: [],
    close() {
      for (const c of fillers) closeQuietly(c);
      try {
        listener.close();
      } catch {
        // already closed
      }
      return Promise.resolve();
    },
  };
}

/**
 * A port with nothing listening (connects are refused). It is taken below
 * the kernel's ephemeral range (ip_local_port_range, 32768-60999 by
 * default), which binds to port 0 never use: a port merely released by a
 * closed listener was handed out again to a proxy's own `bind: ...:0` in a
 * full run, and the "dead" server then answered.
 */
export function deadPort(): number {
  for (let i = 0; i < 1000; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch { /* in use: try another */ }
  }
  throw new Error("no free port below the ephemeral range");
}
