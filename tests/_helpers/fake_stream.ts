// Drives Stream.process() without sockets or real time: a ProcessCtx built
// from a code-made RuntimeConfig (the same compiled frontends and backends as
// Process), a fake clock behind the scheduler, scripted client and server
// connections behind the Conn contract, and a logger that keeps the session
// lines. A test feeds bytes to a side, lets the stream run, and asserts what
// a user would notice: the bytes each connection was given, FINs and closes,
// the log line, the counters.
//
// Nothing here touches the network; everything settles through promise jobs
// and zero-delay macrotasks, so a test moves time only with clock.advance().

import { Backend } from "../../src/backend/backend.ts";
import { createPools, type Pools } from "../../src/buf/pool.ts";
import { compileConfig } from "../../src/proxy/compile.ts";
import { formatIssue } from "../../src/proxy/load.ts";
import type { Address, RuntimeConfig } from "../../src/config/types.ts";
import { HttpTxnPool } from "../../src/http/txn.ts";
import type { BindOptions, Conn, ListenSocket, Protocol } from "../../src/listener/protocol.ts";
import { Logger } from "../../src/log/log.ts";
import { Frontend } from "../../src/frontend/frontend.ts";
import type { StatsApplet } from "../../src/http/applet.ts";
import type { ProcessCtx } from "../../src/stream/process_ctx.ts";
import { SessionList } from "../../src/stream/session_list.ts";
import { Stream } from "../../src/stream/stream.ts";
import { Scheduler } from "../../src/task/scheduler.ts";
import type { Clock } from "../../src/task/ticks.ts";
import { concat, latin1, te } from "./client.ts";

/** A clock that moves only when told; timers fire in expiry order. */
export class FakeClock implements Clock {
  #now = 1000;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /**
   * Moves time forward by `ms`. Each due timer fires at its own time, then
   * `settle` runs (the woken tasks run and may arm new timers) before the
   * next one is looked at. Bounded: a test that re-arms forever fails.
   */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const end = this.#now + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.#timers) {
        if (e[1].at <= end && (next === null || e[1].at < next[1].at)) next = e;
      }
      if (next === null) {
        this.#now = end;
        await settle();
        return;
      }
      this.#timers.delete(next[0]);
      if (next[1].at > this.#now) this.#now = next[1].at;
      next[1].fn();
      await settle();
    }
    throw new Error(`FakeClock: timers kept firing while advancing ${ms} ms`);
  }
}

/** One scripted side of a connection (client or server) behind the Conn contract. */
export class FakeConn implements Conn {
  /** Bytes the proxy wrote to this connection, in order. */
  readonly writes: Uint8Array[] = [];
  /** The proxy sent its FIN (closeWrite) / closed the socket. */
  finSent = false;
  closed = false;
  /**
   * The peer is slow to take bytes: a write completes only when
   * takeWrites() is called (its bytes are in `writes` from the start).
   */
  holdWrites = false;
  #held: { n: number; resolve: (n: number) => void }[] = [];
  #inbox: (Uint8Array | "eof" | Error)[] = [];
  #reader: { view: Uint8Array; resolve: (n: number) => void; reject: (e: unknown) => void } | null =
    null;

  /** Bytes the peer sends (the proxy reads them). */
  feed(data: string | Uint8Array): void {
    this.#inbox.push(typeof data === "string" ? te.encode(data) : data);
    this.#serve();
  }
  /** The peer's FIN: reads return end of stream from now on. */
  end(): void {
    this.#inbox.push("eof");
    this.#serve();
  }
  /** The peer resets: the next read fails. */
  reset(): void {
    this.#inbox.push(new Error("connection reset by peer"));
    this.#serve();
  }

  /** Everything the proxy wrote, as latin1 text. */
  text(): string {
    return latin1(concat(this.writes));
  }

  read(view: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Error("read on a closed connection"));
    return new Promise((resolve, reject) => {
      this.#reader = { view, resolve, reject };
      this.#serve();
    });
  }
  write(view: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Error("write on a closed connection"));
    this.writes.push(view.slice());
    if (this.holdWrites) {
      return new Promise((resolve) => this.#held.push({ n: view.length, resolve }));
    }
    return Promise.resolve(view.length);
  }
  /** The peer takes what the held writes gave it: they complete. */
  takeWrites(): void {
    for (const w of this.#held.splice(0)) w.resolve(w.n);
  }
  closeWrite(): Promise<void> {
    this.finSent = true;
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
    const r = this.#reader;
    this.#reader = null;
    r?.reject(new Error("connection closed"));
  }

  #serve(): void {
    const r = this.#reader;
    const item = this.#inbox[0];
    if (r === null || item === undefined) return;
    this.#reader = null;
    if (item === "eof") return r.resolve(0); // stays queued: every later read is EOF too
    if (item instanceof Error) {
      this.#inbox.shift();
      return r.reject(item);
    }
    const n = Math.min(item.length, r.view.length);
    r.view.set(item.subarray(0, n));
    if (n < item.length) this.#inbox[0] = item.subarray(n);
    else this.#inbox.shift();
    r.resolve(n);
  }
}

/** A transport whose connects succeed at once with a FakeConn (the server side). */
export class FakeProtocol implements Protocol {
  readonly name = "fake";
  /** Server connections opened by the proxy, in order, with the address asked for. */
  readonly conns: FakeConn[] = [];
  readonly addrs: Address[] = [];
  /** The next server connections are slow to take bytes (FakeConn.holdWrites). */
  holdWrites = false;

  bind(_addr: Address, _opts: BindOptions): ListenSocket {
    throw new Error("FakeProtocol does not listen: use FakeProcess.accept()");
  }
  connect(addr: Address, _signal?: AbortSignal): Promise<Conn> {
    const c = new FakeConn();
    c.holdWrites = this.holdWrites;
    this.conns.push(c);
    this.addrs.push(addr);
    return Promise.resolve(c);
  }
}

/** A Logger that keeps session lines instead of writing them. */
export class RecordingLogger extends Logger {
  readonly lines: string[] = [];
  constructor() {
    super("none", true, false);
  }
  override sessionLine(): void {
    this.lines.push(this.lineText());
  }
}

/** The running-process view a Stream needs, with fakes for time, transport and logs. */
export class FakeProcess implements ProcessCtx {
  readonly cfg: RuntimeConfig;
  readonly clock = new FakeClock();
  readonly sched: Scheduler;
  readonly pools: Pools;
  readonly logger = new RecordingLogger();
  readonly proto = new FakeProtocol();
  readonly txnPool: HttpTxnPool;
  readonly frontends: Frontend[];
  readonly backends: Backend[];
  readonly sessions = new SessionList();
  /** No stats page in these tests: no request is a stats request. */
  readonly stats: StatsApplet = {
    target: () => null,
    authorized: () => false,
    reply: () => ({ status: 500, contentType: "text/plain", body: "", headers: [] }),
  };
  readonly maxconn: number;
  readonly startedAt = Date.now();
  stopping = false;
  killing = false;
  actconn = 0;
  /** Errors thrown by Stream.process() (a bug): a test expects none. */
  readonly crashes: unknown[] = [];
  #nextPort = 40000;

  constructor(cfg: RuntimeConfig) {
    const c = compileConfig(cfg, undefined);
    const errs = c.issues.filter((i) => i.severity === "error");
    if (errs.length > 0) throw new Error(errs.map(formatIssue).join("\n"));
    this.cfg = cfg;
    this.sched = new Scheduler(this.clock);
    this.sched.onCrash = (task, e) => {
      this.crashes.push(e);
      (task.owner as { crash?: (e: unknown) => void }).crash?.(e);
    };
    this.pools = createPools(cfg.global.bufsize, cfg.global.bufferLimit, cfg.global.bulkBufsize);
    this.txnPool = new HttpTxnPool(cfg.global.maxhdr);
    this.backends = cfg.backends.map((b, i) => new Backend(i, b, c.compiled.backends[i]!));
    this.frontends = cfg.frontends.map((f, i) =>
      new Frontend(i, f, c.compiled.frontends[i]!, this.backends)
    );
    this.maxconn = cfg.global.maxconn;
  }

  /**
   * A client connects to frontend `feIdx` (as Process.sessionAccept counts
   * it); returns the client side's connection. Call settle() to let the
   * stream run.
   */
  accept(feIdx = 0): FakeConn {
    const fe = this.frontends[feIdx]!;
    const conn = new FakeConn();
    this.actconn++;
    fe.feconn++;
    fe.counters.cumSessions++;
    if (fe.feconn > fe.counters.maxSessions) fe.counters.maxSessions = fe.feconn;
    new Stream(this, fe, conn, { ip: "127.0.0.1", port: this.#nextPort++ }, {
      ip: "127.0.0.1",
      port: 8080,
    });
    return conn;
  }

  sessionEnded(fe: Frontend): void {
    this.actconn--;
    fe.feconn--;
  }

  /** Lets every promise job and zero-delay task run (stream runs, I/O completions). */
  async settle(): Promise<void> {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  }

  /** Moves the fake time forward, letting the stream react to each timer. */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms, () => this.settle());
  }

  /** Stops the scheduler's timer (end of test). */
  stop(): void {
    this.sched.stop();
  }
}
