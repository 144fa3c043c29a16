// The running proxy process: builds frontends, backends and listeners from a
// RuntimeConfig, owns the scheduler, pools and logger, accepts sessions, and
// implements soft and hard stop (HAProxy's haproxy.c main loop and
// proxy.c's stop logic).

import { NodeTlsListenSocket, type TlsServerParams } from "../listener/tls_node.ts";
import { Backend } from "../backend/backend.ts";
import { CheckManager } from "../check/mod.ts";
import { createPools, type Pools, SLAB_IDLE_MS, trimPools } from "../buf/pool.ts";
import { IdleBudget } from "../backend/idle_conns.ts";
import { formatIssue } from "../config/mod.ts";
import type { BindConfig, RuntimeConfig } from "../config/types.ts";
import { HttpTxnPool } from "../http/txn.ts";
import { ErrorCaptures, type ErrorSnapshot } from "../http/error_capture.ts";
import { Listener, type ListenerOwner } from "../listener/listener.ts";
import type { AcceptedConn, Conn, PeerAddr, Protocol } from "../listener/protocol.ts";
import { protoTcp } from "../listener/proto_tcp.ts";
import { bindTls } from "../listener/proto_tls.ts";
import { completeTls } from "../stream/tls_accept.ts";
import { LI_FULL, LI_LIMITED } from "../listener/types.ts";
import { Logger } from "../log/log.ts";
import type { StatsApplet } from "../http/applet.ts";
import { statsApplet } from "../stats/stats_service.ts";
import { type CliServer, type CliSession, startCli } from "../cli/mod.ts";
import type { Stream } from "../stream/stream.ts";
import { Scheduler } from "../task/scheduler.ts";
import { TICK_ETERNITY, tickAdd } from "../task/ticks.ts";
import type { Task } from "../task/types.ts";
import { fullGcFunction, IdleGc } from "./idle_gc.ts";
import { compileConfig, type CompiledConfig } from "./compile.ts";
import type { StickTable } from "../stick/table.ts";
import { Frontend } from "../frontend/frontend.ts";
import type { ProcessCtx } from "../stream/process_ctx.ts";
import { SessionList } from "../stream/session_list.ts";
import { acceptHandshake, needsHandshake, openSession } from "../stream/session_accept.ts";
import { VERSION } from "../version.ts";
import { acceptH2, type H2Process } from "./h2_accept.ts";
import type { H2Conn } from "../mux/h2_conn.ts";

export interface StartOptions {
  quiet: boolean;
  debug: boolean;
  /** Binary upgrade (`-sf`/`-st`): bind next to the old process's sockets. */
  takeOver?: boolean;
  /** `-p FILE`: the process id is written there once bound, before the ready notice. */
  pidfile?: string;
}

export class Process implements ProcessCtx, ListenerOwner<Frontend>, H2Process {
  // cfg, frontends, backends, maxconn, maxaccept and checks are replaced by
  // a reload (src/proxy/reload.ts); listeners is changed in place.
  cfg: RuntimeConfig;
  readonly sched: Scheduler;
  readonly pools: Pools;
  readonly logger: Logger;
  frontends: Frontend[];
  backends: Backend[];
  readonly listeners: Listener<Frontend>[];
  readonly proto: Protocol;
  readonly txnPool: HttpTxnPool;
  /** Stick tables by name (the runtime API's `show table` reads them: src/stick/cli.ts). */
  tables: Map<string, StickTable>;
  readonly sessions: SessionList;
  readonly stats: StatsApplet;
  /** Live HTTP/2 client connections (h2_accept.ts). */
  readonly h2Conns: Set<H2Conn> = new Set();
  maxconn: number;
  maxaccept: number;
  /** The budget of parked server connections every server shares. */
  readonly idleBudget: IdleBudget;
  /** Reloads the configuration file (set by main.ts; the runtime API's `reload`). */
  reloader: { reload(): Promise<{ ok: boolean; messages: string[] }> } | null;
  actconn: number;
  killing: boolean;
  /** Soft stop in progress: listeners closed, waiting for sessions to end. */
  stopping: boolean;
  /** Health checks, started once the listeners are bound. */
  checks: CheckManager | null;
  /** The runtime API socket, when `global.stats.socket` is set and the process started. */
  cli: CliServer | null;
  /** Refused requests and responses kept for the runtime API's `show errors`. */
  readonly errorCaptures: ErrorCaptures;
  /** Epoch ms of the start (stats uptime). */
  readonly startedAt: number;
  #onIdle: (() => void) | null;
  #compiled: CompiledConfig;
  /** TLS of listeners whose handshake follows their connection rules or PROXY header. */
  readonly #lateTls = new WeakMap<Listener<Frontend>, TlsServerParams>();
  #lastAcceptError: number;
  /** Gives idle pool slabs back (armed only while one waits: no timer of its own). */
  #trimTask: Task;
  /** A full collection once idle after a burst (idle_gc.ts), and its task. */
  readonly #idleGc = new IdleGc();
  #idleGcTask: Task;

  /**
   * Builds the runtime objects. `compiled` comes from the loader; when absent
   * (configs built in code) it is compiled here and an error throws.
   */
  constructor(cfg: RuntimeConfig, opts: StartOptions, compiled: CompiledConfig | null = null) {
    if (compiled === null) {
      const c = compileConfig(cfg, undefined);
      const errs = c.issues.filter((i) => i.severity === "error");
      if (errs.length > 0) throw new Error(errs.map(formatIssue).join("\n"));
      compiled = c.compiled;
    }
    const cc = compiled;
    this.cfg = cfg;
    this.sched = new Scheduler();
    this.sched.onCrash = (task, e) => {
      this.logger.alert(`internal error, session closed: ${e instanceof Error ? e.stack : e}`);
      (task.owner as { crash?: (e: unknown) => void }).crash?.(e);
    };
    this.pools = createPools(
      cfg.global.bufsize,
      cfg.global.bufferLimit,
      cfg.global.bulkBufsize,
      () => this.sched.now,
    );
    // A slab of buffers left entirely free by a burst is given back after
    // SLAB_IDLE_MS: checked when buffers come back, and by this task in the
    // scheduler's wait queue for a proxy that went quiet meanwhile.
    this.#trimTask = this.sched.newTask({
      process: (t) => {
        t.expire = trimPools(this.pools, this.sched.now);
      },
    });
    const armTrim = () => {
      const t = this.#trimTask;
      if (t.expire !== TICK_ETERNITY) return;
      t.expire = tickAdd(this.sched.now, SLAB_IDLE_MS + 1);
      this.sched.queue(t);
    };
    this.#idleGcTask = this.sched.newTask({
      process: (t) => {
        t.expire = TICK_ETERNITY;
        if (this.#idleGc.run(this.actconn, this.sched.now)) fullGcFunction()?.();
      },
    });
    this.pools.big.onIdleSlab = armTrim;
    this.pools.small.onIdleSlab = armTrim;
    this.pools.bulk.onIdleSlab = armTrim;
    this.pools.out.onIdleSlab = armTrim;
    this.logger = new Logger(
      cfg.global.log,
      opts.quiet,
      opts.debug,
      cfg.frontends.map((f) => f.logTargets),
    );
    // Parked server connections, all servers together: half of maxconn
    // (HAProxy keeps idle ones within a quarter of its descriptors).
    const idle = this.idleBudget = IdleBudget.forMaxconn(cfg.global.maxconn);
    this.backends = cfg.backends.map((b, i) => new Backend(i, b, cc.backends[i]!, idle));
    setServerTls(this.backends, cc);
    this.#compiled = cc;
    this.frontends = cfg.frontends.map((f, i) =>
      new Frontend(i, f, cc.frontends[i]!, this.backends)
    );
    this.listeners = [];
    this.proto = protoTcp;
    this.txnPool = new HttpTxnPool(cfg.global.maxhdr);
    this.tables = cc.tables;
    // Their expiry runs on this scheduler (one task per table with `expire`).
    for (const t of this.tables.values()) t.attach(this.sched);
    this.sessions = new SessionList();
    this.stats = statsApplet(this);
    this.maxconn = cfg.global.maxconn;
    this.maxaccept = cfg.global.maxaccept;
    this.reloader = null;
    this.actconn = 0;
    this.killing = false;
    this.stopping = false;
    this.checks = null;
    this.cli = null;
    this.errorCaptures = new ErrorCaptures();
    this.startedAt = Date.now();
    this.#onIdle = null;
    this.#lastAcceptError = 0;
  }

  /**
   * Binds every listener (all or nothing) and starts accepting. Throws on a
   * bind error. `takeOver`: next to sockets already listening (`-sf`).
   */
  start(takeOver = false, pidfile: string | null = null): void {
    for (const fe of this.frontends) {
      fe.cfg.binds.forEach((b, i) => this.listeners.push(new Listener(fe, b, this, i + 1)));
    }
    for (const l of this.listeners) {
      try {
        this.bindListener(l, takeOver, this.#compiled);
      } catch (e) {
        for (const o of this.listeners) o.stop();
        // Name the frontend and the address, as HAProxy does: with several
        // binds the OS error alone does not say which one failed.
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(`frontend '${l.fe.name}': cannot bind ${l.addrName()}: ${msg}`);
      }
    }
    // The runtime API socket binds with the listeners: all or nothing.
    const sock = this.cfg.global.statsSocket;
    if (sock !== undefined) {
      try {
        this.cli = startCli(this, sock, this.logger);
      } catch (e) {
        for (const l of this.listeners) l.stop();
        throw new Error(`cannot bind the stats socket: ${e instanceof Error ? e.message : e}`);
      }
    }
    for (const l of this.listeners) {
      this.logger.notice(`listening ${l.fe.name} ${l.boundName()}`);
      l.start();
    }
    this.checks = this.newChecks(this.backends);
    this.checks.start();
    if (pidfile !== null) {
      try {
        Deno.writeTextFileSync(pidfile, `${Deno.pid}\n`);
      } catch (e) {
        this.logger.alert(`cannot write pidfile: ${e instanceof Error ? e.message : e}`);
      }
    }
    // A TLS listener on node:net listens a moment after bind(): ready once all do.
    const pending = this.listeners.flatMap((l) => {
      const r = l.sock?.ready;
      return r === undefined ? [] : [
        r.catch((e) => {
          throw new Error(
            `frontend '${l.fe.name}': cannot bind ${l.addrName()}: ${
              e instanceof Error ? e.message : e
            }`,
          );
        }),
      ];
    });
    if (pending.length === 0) this.logger.notice(`sluice ${VERSION} ready`);
    else {
      Promise.all(pending).then(() => this.logger.notice(`sluice ${VERSION} ready`), (e) => {
        this.logger.alert(`cannot start: ${e instanceof Error ? e.message : e}`);
        this.hardStop();
        Deno.exit(1);
      });
    }
  }

  /**
   * The health checks of `backends`, not started. Throws a CheckConfigError
   * on a bad `http-check` line.
   */
  newChecks(backends: readonly Backend[]): CheckManager {
    return new CheckManager({
      sched: this.sched,
      logger: this.logger,
      proto: this.proto,
      backends,
      checkHooks: {
        // Streams queued on a server that went down choose another server.
        // A server coming UP takes queued streams at once.
        requeue: (srv, up) =>
          up
            ? backends[srv.backendId]!.serveQueues(srv)
            : backends[srv.backendId]!.redistribute(srv),
      },
    });
  }

  /**
   * Binds `l` with the TLS settings `cc` has for its bind, if any: on the
   * socket itself, or, with connection rules or a PROXY header first, on a
   * cleartext socket with the handshake after them (session_accept.ts asks
   * tlsFor()). A listener a reload keeps keeps its socket; renewTls() gives
   * it the certificates read again.
   */
  bindListener(l: Listener<Frontend>, takeOver: boolean, cc: CompiledConfig): void {
    const tls = cc.tls.binds.get(l.bindCfg);
    if (tls !== undefined && needsHandshake(l)) {
      l.bind(this.proto, takeOver);
      this.#lateTls.set(l, tls);
      return;
    }
    l.bind(
      tls === undefined
        ? this.proto
        : { ...this.proto, bind: (addr, opts) => bindTls(addr, opts, tls) },
      takeOver,
    );
  }

  /**
   * A reload kept `l` (bound for a bind equal to `b`): its TLS handshakes
   * take the certificates `cc` read again (HAProxy reads every file on
   * reload) from the next connection on, without closing the socket.
   * Returns a note when they cannot (the Deno.listenTls route keeps the
   * certificates it was bound with until a restart), else null.
   */
  renewTls(l: Listener<Frontend>, b: BindConfig, cc: CompiledConfig): string | null {
    const tls = cc.tls.binds.get(b);
    if (tls === undefined) return null;
    if (this.#lateTls.has(l)) this.#lateTls.set(l, tls);
    else if (l.sock instanceof NodeTlsListenSocket) l.sock.setParams(tls);
    else {
      return `frontend '${l.fe.name}': bind ${l.addrName()}: certificates kept until the next ` +
        `start (SLUICE_TLS_LISTENER=deno cannot change them on an open socket)`;
    }
    return null;
  }

  tlsFor(l: Listener<Frontend>): TlsServerParams | undefined {
    return this.#lateTls.get(l);
  }

  sessionAccept(l: Listener<Frontend>, a: AcceptedConn): void {
    const fe = l.fe;
    this.actconn++;
    fe.feconn++;
    for (let n = fe.successor; n !== null; n = n.successor) n.feconn++; // see sessionEnded()
    fe.counters.cumSessions++;
    if (fe.feconn > fe.counters.maxSessions) fe.counters.maxSessions = fe.feconn;
    const tls = a.tls;
    if (tls !== undefined) {
      // The handshake runs away from the accept loop; the connection counts
      // in actconn/feconn meanwhile (maxconn bounds handshakes too).
      void completeTls(this, fe, { ...a, tls }, (conn) => {
        a.conn = conn;
        this.#openSession(l, a);
      }, () => this.sessionEnded(fe));
      return;
    }
    this.#openSession(l, a);
  }

  /** Creates the stream of a counted connection (after its handshake on a TLS bind). */
  #openSession(l: Listener<Frontend>, a: AcceptedConn): void {
    const fe = l.fe;
    try {
      // A unix-socket peer has no port: HAProxy logs the listener's id instead.
      const unix = a.remote.ip === "unix";
      const remote = unix ? { ip: "unix", port: l.id } : a.remote;
      const local = unix ? { ip: "unix", port: l.id } : a.local;
      // tcp-request connection rules, a PROXY header: before the stream (session_accept.ts).
      if (needsHandshake(l)) acceptHandshake(this, l, a.conn, remote, local);
      else openSession(this, l, a.conn, remote, local, null);
    } catch (e) {
      // A bug in stream setup must not reach the accept loop.
      this.logger.alert(`session setup failed: ${e instanceof Error ? e.message : e}`);
      try {
        a.conn.close();
      } catch { /* ignore */ }
      this.sessionEnded(fe);
    }
  }

  startH2(fe: Frontend, conn: Conn, remote: PeerAddr, local: PeerAddr): void {
    acceptH2(this, fe, conn, remote, local);
  }

  acceptError(l: Listener<Frontend>, e: unknown, resource: boolean): void {
    // A connection gone before it was accepted is the client's business, as
    // in HAProxy: no warning (a reset storm would flood stderr), debug only.
    if (!resource) {
      if (this.logger.debugEnabled) {
        this.logger.debug(
          `accept() on ${l.fe.name} ${l.boundName()}: ${e instanceof Error ? e.message : e}`,
        );
      }
      return;
    }
    const now = Date.now();
    if (now - this.#lastAcceptError > 1000) {
      this.#lastAcceptError = now;
      this.logger.warning(
        `accept() failed on ${l.fe.name} ${l.boundName()}: ${e instanceof Error ? e.message : e}`,
      );
    }
  }

  sessionEnded(fe: Frontend): void {
    this.actconn--;
    fe.feconn--;
    // After a reload the session counted in the frontends that replaced fe too.
    for (let n = fe.successor; n !== null; n = n.successor) n.feconn--;
    const chained = fe.successor !== null;
    // Indexed: an iterator per ended session (each HTTP/2 stream is one) is garbage.
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!;
      if (l.state === LI_LIMITED || (l.state === LI_FULL && (l.fe === fe || chained))) l.wake();
    }
    if (this.actconn === 0 && this.#onIdle !== null) this.#onIdle();
    const due = this.#idleGc.sessionEnded(this.actconn, this.sched.now);
    if (due !== 0 && this.#idleGcTask.expire === TICK_ETERNITY) {
      this.#idleGcTask.expire = due;
      this.sched.queue(this.#idleGcTask);
    }
  }

  /** The live sessions, newest first (runtime API `show sess`, `shutdown session`). */
  liveSessions(): Iterable<CliSession> {
    return this.sessions.toArray() as Stream[];
  }

  /** The kept error snapshots (runtime API `show errors`). */
  errorSnapshots(): readonly ErrorSnapshot[] {
    return this.errorCaptures.list();
  }

  /** Soft stop: stop listening, let sessions finish; resolves when none is left. */
  softStop(): Promise<void> {
    this.stopping = true;
    void this.checks?.stop();
    this.logger.notice("soft stop: listeners closed, waiting for sessions to end");
    for (const l of this.listeners) l.stop();
    this.cli?.close();
    // Idle keep-alive connections close now; busy ones after their response.
    for (const s of this.sessions.toArray()) s.softStop();
    for (const h of [...this.h2Conns]) h.softStop();
    if (this.actconn === 0) return Promise.resolve();
    return new Promise((r) => this.#onIdle = r);
  }

  /** Hard stop: close listeners and end every session now. */
  hardStop(): void {
    this.killing = true;
    void this.checks?.stop();
    for (const l of this.listeners) l.stop();
    this.cli?.close();
    this.logger.flush();
  }
}

/** Builds and starts a process on a resolved configuration. */
export function start(
  cfg: RuntimeConfig,
  opts: StartOptions,
  compiled: CompiledConfig | null = null,
): Process {
  const p = new Process(cfg, opts, compiled);
  p.start(opts.takeOver ?? false, opts.pidfile ?? null);
  return p;
}

/** TLS towards the servers of `backends` and for their checks, as the compile pass loaded it. */
export function setServerTls(backends: readonly Backend[], cc: CompiledConfig): void {
  for (const b of backends) {
    for (const s of b.servers) {
      const t = cc.tls.servers.get(s.cfg) ?? null;
      s.tls = s.cfg.ssl ? t : null;
      s.checkTls = s.cfg.checkSsl ? cc.tls.checks.get(s.cfg) ?? null : null;
      s.sniExpr = s.tls !== null ? cc.tls.sniExprs.get(s.cfg) ?? null : null;
    }
  }
}
