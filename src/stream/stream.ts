// A stream: one client session and its server connection, driven by one task
// (HAProxy's stream.c, process_stream()).
//
// processStream() is the one place that decides. Each run it turns I/O
// results and expired timers into states, advances the server side
// (assign → connect → retry/redispatch), runs the analysers of each channel
// (none in TCP mode: the channel forwards forever), forwards what they
// released, propagates shutdowns with the half-close rules of DESIGN.md §2,
// and computes the next expiry. When both sides are closed it logs, counts
// and frees. Network failures end here as termination states; they never
// throw out of this file.

import type { Backend } from "../backend/backend.ts";
import type { LbRequest } from "../backend/lb_types.ts";
import type { Server } from "../backend/server.ts";
import { Channel } from "../channel/channel.ts";
import {
  CF_AUTO_CLOSE,
  CF_READ_ERROR,
  CF_READ_PARTIAL,
  CF_READ_TIMEOUT,
  CF_SHUTR,
  CF_SHUTW,
  CF_SHUTW_NOW,
  CF_WRITE_ERROR,
  CF_WRITE_PARTIAL,
  CHN_INFINITE_FORWARD,
} from "../channel/types.ts";
import type { Timeouts } from "../config/types.ts";
import type { Conn, PeerAddr } from "../listener/protocol.ts";
import type { LogContext } from "../log/log_format.ts";
import type { Frontend } from "../proxy/frontend.ts";
import type { ProcessCtx } from "../proxy/process_ctx.ts";
import { TICK_ETERNITY, tickAdd, tickFirst, tickIsExpired } from "../task/ticks.ts";
import { type Task, TASK_WOKEN_INIT, TASK_WOKEN_IO } from "../task/types.ts";
import { type SiOwner, StreamInterface } from "./stream_interface.ts";
import {
  SF_ERR_CLICL,
  SF_ERR_CLITO,
  SF_ERR_KILLED,
  SF_ERR_NONE,
  SF_ERR_PRXCOND,
  SF_ERR_SRVCL,
  SF_ERR_SRVTO,
  SF_FINST_C,
  SF_FINST_D,
  SF_FINST_NONE,
  SF_FINST_R,
  SI_ST_ASS,
  SI_ST_CER,
  SI_ST_CLO,
  SI_ST_CON,
  SI_ST_EST,
  SI_ST_REQ,
  SI_ST_TAR,
  terminationState,
} from "./types.ts";

/** Longest pause between two connection retries (HAProxy's turn-around). */
const TURNAROUND_MAX = 1000;

export class Stream implements SiOwner, LbRequest {
  readonly ctx: ProcessCtx;
  readonly fe: Frontend;
  be: Backend | null;
  srv: Server | null;
  readonly task: Task;
  readonly req: Channel;
  readonly res: Channel;
  /** si[0]: client side; si[1]: server side. */
  readonly cli: StreamInterface;
  readonly srvSi: StreamInterface;
  readonly clientAddr: PeerAddr;
  readonly frontAddr: PeerAddr;
  /** Termination cause (SF_ERR_*) and stage (SF_FINST_*). */
  err: number;
  finst: number;
  /** Epoch ms of the accept, and ticks of the stages for the log timers. */
  readonly acceptDate: number;
  readonly tAccept: number;
  tConnStart: number;
  tConnected: number;
  tQueued: number;
  /** Retries done so far and whether the last one was a redispatch. */
  retries: number;
  redispatched: boolean;
  /** The stream has ended (logged); waiting for I/O to settle to free buffers. */
  #ended: boolean;
  /** A server slot is held (srv.cur counts this stream). */
  #taken: boolean;
  /** The last connect attempt failed by timeout (sC rather than SC). */
  #connErrTimeout: boolean;
  /** Tick the current connect attempt started. */
  #connStartThis: number;
  /** Identifies the connect attempt a completion belongs to (late ones are dropped). */
  #connectSeq: number;

  // LbRequest view for hashing algorithms.
  get src(): string {
    return this.clientAddr.ip;
  }
  readonly uri: string | null = null;
  header(_name: string): string | null {
    return null;
  }

  constructor(ctx: ProcessCtx, fe: Frontend, conn: Conn, remote: PeerAddr, local: PeerAddr) {
    this.ctx = ctx;
    this.fe = fe;
    this.be = null;
    this.srv = null;
    this.task = ctx.sched.newTask(this);
    this.req = new Channel(ctx.pools);
    this.res = new Channel(ctx.pools);
    this.cli = new StreamInterface(0, this.req, this.res, this);
    this.srvSi = new StreamInterface(1, this.res, this.req, this);
    this.clientAddr = remote;
    this.frontAddr = local;
    this.err = SF_ERR_NONE;
    this.finst = SF_FINST_NONE;
    this.acceptDate = Date.now();
    // The cached scheduler time may be old (the accept loop runs outside drains).
    this.tAccept = ctx.sched.now = ctx.sched.clock.now();
    this.tConnStart = 0;
    this.tConnected = 0;
    this.tQueued = 0;
    this.retries = 0;
    this.redispatched = false;
    this.#ended = false;
    this.#taken = false;
    this.#connErrTimeout = false;
    this.#connStartThis = 0;
    this.#connectSeq = 0;
    this.cli.attach(conn, this.tAccept);
    // TCP mode: no analysers, both channels forward everything, and a FIN on
    // one side is passed to the other once the data before it is out.
    this.req.toForward = CHN_INFINITE_FORWARD;
    this.res.toForward = CHN_INFINITE_FORWARD;
    this.req.flags |= CF_AUTO_CLOSE;
    this.res.flags |= CF_AUTO_CLOSE;
    const beIdx = fe.cfg.defaultBackend;
    if (beIdx >= 0) this.be = ctx.backends[beIdx]!;
    this.srvSi.state = SI_ST_REQ;
    ctx.sched.wake(this.task, TASK_WOKEN_INIT);
  }

  now(): number {
    return this.ctx.sched.now;
  }

  onIo(_side: number): void {
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /** The timeouts that apply: the backend's for server-side ones, the frontend's for client-side. */
  #feT(): Timeouts {
    return this.fe.cfg.timeouts;
  }
  #beT(): Timeouts {
    return this.be !== null ? this.be.cfg.timeouts : this.fe.cfg.timeouts;
  }

  /** The task handler: processStream(). */
  process(_task: Task): void {
    if (this.#ended) return;
    const now = this.ctx.sched.now;
    const req = this.req, res = this.res, cli = this.cli, si = this.srvSi;

    // 0. Activity seen by the interfaces since the last run refreshes their
    //    inactivity timers; the scheduler's clock was read when this batch began.
    this.#noteActivity(now);

    // 1. Hard stop requested by the process.
    if (this.ctx.killing) {
      this.#abort(SF_ERR_KILLED, si.state === SI_ST_EST ? SF_FINST_D : SF_FINST_C);
      return;
    }

    // 2. Errors reported by I/O. A reset on either side ends the stream: the
    //    peer can no longer receive what we would forward.
    if ((req.flags & CF_READ_ERROR) || (res.flags & CF_WRITE_ERROR)) {
      this.#abort(SF_ERR_CLICL, si.state === SI_ST_EST ? SF_FINST_D : SF_FINST_C);
      return;
    }
    if ((res.flags & CF_READ_ERROR) || (req.flags & CF_WRITE_ERROR)) {
      this.#countServerError();
      this.#abort(SF_ERR_SRVCL, SF_FINST_D);
      return;
    }

    // 3. Server side: assign, connect, retry.
    if (si.state !== SI_ST_EST && si.state !== SI_ST_CLO) {
      if (!this.#serverSide(now)) return;
    }

    // 4. Inactivity timeouts (data phase and client side during connect).
    if (this.#checkTimeouts(now)) return;

    // 5. Forward what the (absent, in TCP mode) analysers released.
    req.forward();
    res.forward();

    // 6. Half-close: a FIN is passed on only after every byte before it.
    if (
      (req.flags & (CF_SHUTR | CF_AUTO_CLOSE)) === (CF_SHUTR | CF_AUTO_CLOSE) &&
      !(req.flags & (CF_SHUTW | CF_SHUTW_NOW)) && si.state === SI_ST_EST
    ) {
      req.flags |= CF_SHUTW_NOW;
    }
    if (
      (res.flags & (CF_SHUTR | CF_AUTO_CLOSE)) === (CF_SHUTR | CF_AUTO_CLOSE) &&
      !(res.flags & (CF_SHUTW | CF_SHUTW_NOW))
    ) {
      res.flags |= CF_SHUTW_NOW;
    }

    // 7. Start I/O, then decide whether everything is over.
    cli.update();
    si.update();
    if (
      (req.flags & (CF_SHUTR | CF_SHUTW)) === (CF_SHUTR | CF_SHUTW) &&
      (res.flags & (CF_SHUTR | CF_SHUTW)) === (CF_SHUTR | CF_SHUTW) &&
      !req.writing && !res.writing && cli.pending === 0 && si.pending === 0
    ) {
      this.#end();
      return;
    }
    this.task.expire = this.#nextExpiry();
  }

  /**
   * Advances the server side from REQ to EST. Returns false when the stream
   * ended (no server, all retries failed).
   */
  #serverSide(now: number): boolean {
    const si = this.srvSi;
    if (si.state === SI_ST_CON && tickIsExpired(si.exp, now)) {
      // Connect timeout: the attempt is abandoned; a late success is closed.
      this.#connectSeq++;
      si.state = SI_ST_CER;
      this.#connErrTimeout = true;
    }
    if (si.state === SI_ST_TAR) {
      if (!tickIsExpired(si.exp, now)) return true;
      si.state = SI_ST_ASS;
    }
    if (si.state === SI_ST_CER) {
      const srv = this.srv!;
      srv.counters.connErrors++;
      this.be!.counters.connErrors++;
      this.#releaseServer();
      if (si.connRetries <= 0) {
        this.be!.counters.failedNoServer++;
        this.#abort(this.#connErrTimeout ? SF_ERR_SRVTO : SF_ERR_SRVCL, SF_FINST_C);
        return false;
      }
      si.connRetries--;
      this.retries++;
      srv.counters.retries++;
      this.be!.counters.retries++;
      // option redispatch: by default the last retry goes to another server.
      if (this.be!.cfg.redispatch && si.connRetries === 0 && this.be!.servers.length > 1) {
        const other = this.be!.assign(this, srv);
        if (other !== null && other !== srv) {
          this.redispatched = true;
          this.be!.counters.redispatches++;
          srv.counters.redispatches++;
          this.srv = other;
          this.#connErrTimeout = false;
          si.state = SI_ST_ASS;
          return this.#serverSide(now);
        }
      }
      this.#connErrTimeout = false;
      // Turn-around: pause before hitting the same server again.
      const t = Math.min(TURNAROUND_MAX, this.#beT().connect || TURNAROUND_MAX);
      si.state = SI_ST_TAR;
      si.exp = tickAdd(now, t);
      return true;
    }
    if (si.state === SI_ST_REQ) {
      const be = this.be;
      if (be === null) {
        this.#abort(SF_ERR_PRXCOND, SF_FINST_R);
        return false;
      }
      be.beconn++;
      be.counters.cumSessions++;
      if (be.beconn > be.counters.maxSessions) be.counters.maxSessions = be.beconn;
      si.connRetries = be.cfg.retries;
      const srv = be.assign(this, null);
      if (srv === null) {
        be.counters.failedNoServer++;
        this.#abort(SF_ERR_SRVCL, SF_FINST_C);
        return false;
      }
      this.srv = srv;
      si.state = SI_ST_ASS;
    }
    if (si.state === SI_ST_ASS) {
      const srv = this.srv!;
      this.be!.take(srv);
      this.#taken = true;
      si.state = SI_ST_CON;
      if (this.tConnStart === 0) this.tConnStart = now;
      this.#connStartThis = now;
      si.exp = tickAdd(now, this.#beT().connect);
      const seq = ++this.#connectSeq;
      // One closure pair per connect attempt (not per read): it tells a late
      // completion of an abandoned attempt from the current one.
      this.ctx.proto.connect(srv.address).then(
        (c) => this.#connected(c, seq),
        () => this.#connectFailed(seq),
      );
    }
    return true;
  }

  #connected(c: Conn, seq: number): void {
    const si = this.srvSi;
    if (seq !== this.#connectSeq || si.state !== SI_ST_CON || this.#ended) {
      // A timed-out or abandoned attempt: close what arrived late.
      try {
        c.close();
      } catch { /* already closed */ }
      return;
    }
    const now = this.ctx.sched.now = this.ctx.sched.clock.now();
    si.attach(c, now);
    this.tConnected = now;
    const be = this.be!;
    be.counters.connectTimeSum += now - this.#connStartThis;
    be.counters.connectSamples++;
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  #connectFailed(seq: number): void {
    const si = this.srvSi;
    if (seq !== this.#connectSeq || si.state !== SI_ST_CON || this.#ended) return;
    si.state = SI_ST_CER;
    this.#connErrTimeout = false;
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /** Turns READ/WRITE_PARTIAL flags into per-side activity ticks, and clears them. */
  #noteActivity(now: number): void {
    const req = this.req, res = this.res;
    if ((req.flags & CF_READ_PARTIAL) || (res.flags & CF_WRITE_PARTIAL)) {
      this.cli.lastActivity = now;
    }
    if ((res.flags & CF_READ_PARTIAL) || (req.flags & CF_WRITE_PARTIAL)) {
      this.srvSi.lastActivity = now;
    }
    req.flags &= ~(CF_READ_PARTIAL | CF_WRITE_PARTIAL);
    res.flags &= ~(CF_READ_PARTIAL | CF_WRITE_PARTIAL);
  }

  /** Checks inactivity timers; ends the stream and returns true when one expired. */
  #checkTimeouts(now: number): boolean {
    const cliExp = this.#clientExpiry();
    if (tickIsExpired(cliExp, now)) {
      this.req.flags |= CF_READ_TIMEOUT;
      this.#abort(SF_ERR_CLITO, this.srvSi.state === SI_ST_EST ? SF_FINST_D : SF_FINST_C);
      return true;
    }
    if (this.srvSi.state === SI_ST_EST) {
      const srvExp = this.#serverExpiry();
      if (tickIsExpired(srvExp, now)) {
        this.res.flags |= CF_READ_TIMEOUT;
        this.#abort(SF_ERR_SRVTO, SF_FINST_D);
        return true;
      }
    }
    return false;
  }

  /**
   * Client-side inactivity expiry: client-fin when one direction of the
   * client side is shut, else tunnel (once established, when set), else client.
   */
  #clientExpiry(): number {
    const fe = this.#feT(), be = this.#beT();
    const halfClosed = (this.req.flags & CF_SHUTR) || (this.res.flags & CF_SHUTW);
    let t: number;
    if (halfClosed && fe.clientFin > 0) t = fe.clientFin;
    else if (this.srvSi.state === SI_ST_EST && be.tunnel > 0) {
      return tickAdd(Math.max(this.cli.lastActivity, this.srvSi.lastActivity), be.tunnel);
    } else t = fe.client;
    return tickAdd(this.cli.lastActivity, t);
  }

  #serverExpiry(): number {
    const be = this.#beT();
    const halfClosed = (this.res.flags & CF_SHUTR) || (this.req.flags & CF_SHUTW);
    let t: number;
    if (halfClosed && be.serverFin > 0) t = be.serverFin;
    else if (be.tunnel > 0) return TICK_ETERNITY; // covered by the client-side tunnel expiry
    else t = be.server;
    return tickAdd(this.srvSi.lastActivity, t);
  }

  #nextExpiry(): number {
    let exp = this.#clientExpiry();
    const si = this.srvSi;
    if (si.state === SI_ST_EST) exp = tickFirst(exp, this.#serverExpiry());
    else if (si.state === SI_ST_CON || si.state === SI_ST_TAR) exp = tickFirst(exp, si.exp);
    return exp;
  }

  #countServerError(): void {
    if (this.srv !== null) this.srv.counters.respErrors++;
    if (this.be !== null) this.be.counters.respErrors++;
  }

  /** Gives back the server slot taken when connecting (ASS → CON). */
  #releaseServer(): void {
    if (this.srv !== null && this.#taken) {
      this.be!.release(this.srv);
      this.#taken = false;
    }
  }

  /** Ends the stream on an error or timeout with the given termination state. */
  #abort(err: number, finst: number): void {
    if (this.err === SF_ERR_NONE) {
      this.err = err;
      this.finst = finst;
    }
    this.req.erase();
    this.res.erase();
    this.#end();
  }

  /** Closes both sides, logs, counts, and frees once I/O has settled. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const ctx = this.ctx;
    ctx.sched.kill(this.task);
    const now = ctx.sched.clock.now();
    this.cli.close();
    // A connect in flight is abandoned: its completion sees #ended and closes.
    this.#connectSeq++;
    this.srvSi.close();
    this.#log(now);
    // Counters.
    const fc = this.fe.counters;
    fc.bytesIn += this.req.totalIn;
    fc.bytesOut += this.res.totalOut;
    if (this.be !== null) {
      this.be.counters.bytesIn += this.req.totalIn;
      this.be.counters.bytesOut += this.res.totalOut;
      this.be.beconn--;
    }
    if (this.srv !== null) {
      this.srv.counters.bytesIn += this.req.totalIn;
      this.srv.counters.bytesOut += this.res.totalOut;
    }
    this.#releaseServer();
    ctx.sessionEnded(this.fe);
  }

  onSettled(_si: unknown): void {
    // Both interfaces closed and every read/write settled: buffers are free.
    if (!this.#ended) return;
    if (this.cli.pending !== 0 || this.srvSi.pending !== 0) return;
    if (this.cli.state !== SI_ST_CLO || this.srvSi.state !== SI_ST_CLO) return;
    this.req.releaseBuffer();
    this.res.releaseBuffer();
  }

  #log(now: number): void {
    const fmt = this.fe.logFormat;
    if (fmt === null) return;
    const ctx = this.ctx;
    const srv = this.srv;
    const tt = now - this.tAccept;
    const tc = this.tConnected > 0 ? this.tConnected - this.tConnStart : -1;
    const tw = this.tConnStart > 0 ? this.tQueued : -1;
    const lc: LogContext = {
      clientIp: this.clientAddr.ip,
      clientPort: this.clientAddr.port,
      frontendIp: this.frontAddr.ip,
      frontendPort: this.frontAddr.port,
      acceptDate: this.acceptDate,
      requestDate: this.acceptDate,
      frontend: this.fe.name,
      backend: this.be !== null ? this.be.name : this.fe.name,
      server: srv !== null && this.tConnStart > 0 ? srv.name : "<NOSRV>",
      serverIp: srv !== null && srv.address.kind === "tcp" ? srv.address.host : "-",
      serverPort: srv !== null && srv.address.kind === "tcp" ? srv.address.port : 0,
      tq: -1,
      tw,
      tc,
      tr: -1,
      ta: tt,
      tt,
      status: -1,
      bytesOut: this.res.totalOut,
      bytesIn: this.req.totalIn,
      termState: terminationState(this.err, this.finst),
      actconn: ctx.actconn,
      feconn: this.fe.feconn,
      beconn: this.be !== null ? this.be.beconn : 0,
      srvconn: srv !== null ? srv.cur : 0,
      retries: this.redispatched ? `+${this.retries}` : String(this.retries),
      srvQueue: 0,
      beQueue: 0,
      requestLine: "",
      method: "",
      uri: "",
      httpVersion: "",
      pid: Deno.pid,
    };
    ctx.logger.session(fmt.render(lc));
  }
}
