// The Conn of a Deno socket: reads and writes go straight to the runtime's
// read/write ops on the socket's resource id.
//
// Why not Deno.Conn.read(): in Deno 2 it is an async function that puts the
// op's promise in a Set on the connection and takes it out when it settles
// (for ref/unref). Per read that is a second promise, the async function's
// suspended frame and a hash table that grows then shrinks: about 40 % of
// the young-generation bytes a keep-alive request allocated (3,982 -> 2,339
// per request without it). With the proxy pinned to one core the garbage
// collector's helper threads take the main thread's core whenever they run,
// so that garbage was a good part of the keep-alive latency tail
// (docs/benchmarks.md, 2026-12-05 evening). The op is the one
// Deno.Conn.read() awaits, so errors and end of stream are the same.
//
// The ops and the resource id are not public API: they are looked up once
// per process and per connection, and whenever one is missing (another Deno
// version) the connection is used through its public methods instead.

import type { Conn, ConnTls } from "./protocol.ts";

type RidOp = (rid: number, view: Uint8Array) => Promise<number>;

interface CoreOps {
  read: RidOp;
  write: RidOp;
}

function findCore(): CoreOps | null {
  const internal = Reflect.get(Deno, "internal");
  if (typeof internal !== "symbol") return null;
  const core = Reflect.get(Reflect.get(Deno, internal) ?? {}, "core");
  if (core === null || typeof core !== "object") return null;
  const read = Reflect.get(core, "read"), write = Reflect.get(core, "write");
  if (typeof read !== "function" || typeof write !== "function") return null;
  return { read, write };
}

/** The runtime's ops, or null when this Deno does not expose them. */
const CORE: CoreOps | null = findCore();

/** The symbol under which Deno's connections keep their resource id (found once). */
let ridSymbol: symbol | null = null;

function ridOf(c: Deno.Conn): number | null {
  if (ridSymbol === null) {
    const found = Object.getOwnPropertySymbols(c).find((s) =>
      s.description === "Deno.internal.rid"
    );
    if (found === undefined) return null;
    ridSymbol = found;
  }
  const rid = Reflect.get(c, ridSymbol);
  return typeof rid === "number" ? rid : null;
}

/** A Deno socket through its public methods (the fallback, and what OpConn keeps). */
class PublicConn implements Conn {
  protected readonly c: Deno.Conn;
  /** Set by the TLS transport once the handshake is done (proto_tls.ts). */
  tls: ConnTls | null;

  constructor(c: Deno.Conn) {
    this.c = c;
    this.tls = null;
  }

  async read(view: Uint8Array): Promise<number> {
    return (await this.c.read(view)) ?? 0;
  }

  write(view: Uint8Array): Promise<number> {
    return this.c.write(view);
  }

  closeWrite(): Promise<void> {
    return this.c.closeWrite();
  }

  close(): void {
    this.c.close();
  }
}

/** A Deno socket whose reads and writes go through the core ops (0 from read: end of stream). */
class OpConn extends PublicConn {
  readonly #rid: number;

  constructor(c: Deno.Conn, rid: number) {
    super(c);
    this.#rid = rid;
  }

  override read(view: Uint8Array): Promise<number> {
    return CORE!.read(this.#rid, view);
  }

  override write(view: Uint8Array): Promise<number> {
    return CORE!.write(this.#rid, view);
  }
}

/**
 * Wraps a Deno socket as a Conn. `useOps: false` forces the public methods
 * (tests of the fallback).
 */
export function denoConn(c: Deno.Conn, useOps = true): Conn & { tls: ConnTls | null } {
  if (useOps && CORE !== null) {
    const rid = ridOf(c);
    if (rid !== null) return new OpConn(c, rid);
  }
  return new PublicConn(c);
}

/** Whether `conn` is driven through the core ops (tests: a Deno upgrade must not lose the fast path unnoticed). */
export function usesOps(conn: Conn): boolean {
  return conn instanceof OpConn;
}
