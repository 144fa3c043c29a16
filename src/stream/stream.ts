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
import { type Server, serverHasSlot } from "../backend/server.ts";
import { adoptConn, connIsClean, parkConn, reuseMinTxns, takeConn } from "../backend/conn_reuse.ts";
import {
  findPersistCookie,
  insertSetCookie,
  requestCookieForServer,
  rewriteSetCookie,
} from "../http/cookie.ts";
import { Channel } from "../channel/channel.ts";
import {
  CF_AUTO_CLOSE,
  CF_DONT_READ,
  CF_READ_ERROR,
  CF_READ_NULL,
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
import { buildReply } from "../http/http_errors.ts";
import { httpCloseClientAfterFlush, httpResetForNextRequest } from "../http/http_ana.ts";
import {
  type HttpTxn,
  TX_CLI_CLOSE,
  TX_LOGGED,
  TX_REQ_DONE,
  TX_REUSED_CONN,
  TX_SRV_CLOSE,
  TX_TUNNEL,
} from "../http/txn.ts";
import type { HeadEditor } from "../http/head_editor.ts";
import type { HeadSampleCtx, SampleCtx } from "../http/sample.ts";
import {
  cidrListMatch,
  evalRules,
  type Rule,
  rulesUseRequest,
  type RuleVerdict,
} from "../http/http_rules.ts";
import {
  AN_REQ_ALL_HTTP,
  AN_REQ_HTTP_XFER_BODY,
  AN_REQ_WAIT_HTTP,
  AN_RES_HTTP_XFER_BODY,
  AN_RES_WAIT_HTTP,
  REQ_ANALYSERS,
  RES_ANALYSERS,
  runAnalysers,
} from "./analysers.ts";
import type { Conn, PeerAddr } from "../listener/protocol.ts";
import type { LogContext } from "../log/log_format.ts";
import type { Frontend } from "../proxy/frontend.ts";
import type { ProcessCtx } from "../proxy/process_ctx.ts";
import { TICK_ETERNITY, tickAdd, tickFirst, tickIsExpired } from "../task/ticks.ts";
import {
  type Task,
  TASK_WOKEN_INIT,
  TASK_WOKEN_IO,
  TASK_WOKEN_MSG,
  TASK_WOKEN_RES,
} from "../task/types.ts";
import { type SiOwner, StreamInterface } from "./stream_interface.ts";
import {
  SF_ERR_CLICL,
  SF_ERR_CLITO,
  SF_ERR_INTERNAL,
  SF_ERR_KILLED,
  SF_ERR_LOCAL,
  SF_ERR_NONE,
  SF_ERR_PRXCOND,
  SF_ERR_SRVCL,
  SF_ERR_SRVTO,
  SF_FINST_C,
  SF_FINST_D,
  SF_FINST_H,
  SF_FINST_NONE,
  SF_FINST_Q,
  SF_FINST_R,
  SI_ST_ASS,
  SI_ST_CER,
  SI_ST_CLO,
  SI_ST_CON,
  SI_ST_EST,
  SI_ST_INI,
  SI_ST_QUE,
  SI_ST_REQ,
  SI_ST_TAR,
  terminationState,
} from "./types.ts";
import type { SessionNode } from "../proxy/session_list.ts";

/** How long a closing HTTP connection reads and drops what the client still sends. */
const LINGER_MS = 1000;

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
  /** si[0]: client side; si[1]: server side (a new one per server connection in HTTP mode). */
  readonly cli: StreamInterface;
  srvSi: StreamInterface;
  /** The HTTP transaction (HTTP mode), null in TCP mode. */
  readonly txn: HttpTxn | null;
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
  /** The stream is being aborted: what is still queued for the client never leaves. */
  #aborted = false;
  /** The current transaction's answer is the proxy's own (error, deny, return, redirect). */
  #proxyReplied = false;
  /** A server slot is held (srv.cur counts this stream). */
  #taken: boolean;
  /** The last connect attempt failed by timeout (sC rather than SC). */
  #connErrTimeout: boolean;
  /** Tick the current connect attempt started. */
  #connStartThis: number;
  /** Positions in the server / backend queue when this stream was queued (log %sq/%bq). */
  srvQueuePos = 0;
  beQueuePos = 0;
  /** Lingering close deadline (tick), 0 when not lingering. */
  #lingerExp = 0;
  /** Aborts the connect attempt in flight (connect timeout, stream end). */
  #connAbort: AbortController | null = null;
  /** The server whose queue this stream waits in. */
  #queueSrv: Server | null = null;
  #tQueueStart = 0;
  /** Identifies the connect attempt a completion belongs to (late ones are dropped). */
  #connectSeq: number;
  /** Closed server-side interfaces whose I/O has not settled yet (buffers stay held). */
  #orphans: number;
  /** An unused server-side interface (state INI), kept for the next parking. */
  #spareSi: StreamInterface | null = null;
  #sample: HeadSampleCtx | null;
  #reqEd: HeadEditor | null;
  #resEd: HeadEditor | null;
  /** The frontend's http-response rules read the request (keep a copy of it). */
  #resRulesUseReq: boolean;
  /** HTTP transactions logged on this stream. */
  #loggedTxns: number;
  /** Links in the process's session list (SessionList). */
  sessPrev: SessionNode | null;
  sessNext: SessionNode | null;

  // LbRequest view for hashing algorithms.
  get src(): string {
    // A unix-socket client has no address: `balance source` falls back to round robin.
    const ip = this.clientAddr.ip;
    return ip === "unix" ? "" : ip;
  }
  get uri(): string | null {
    return this.txn !== null ? this.txn.uri : null;
  }
  header(name: string): string | null {
    const txn = this.txn;
    if (txn === null || txn.reqBuf === null) return null;
    return txn.req.headerValue(txn.reqBuf, name);
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
    this.txn = null;
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
    this.#orphans = 0;
    this.#sample = null;
    this.#reqEd = null;
    this.#resEd = null;
    this.#resRulesUseReq = false;
    this.#loggedTxns = 0;
    this.sessPrev = null;
    this.sessNext = null;
    this.cli.attach(conn, this.tAccept);
    if (fe.cfg.mode === "http") {
      // HTTP mode: the analysers own the data; the server side waits for a
      // backend to be chosen by the switching rules.
      const txn = this.txn = ctx.txnPool.alloc(this.tAccept);
      this.#sample = txn.sample;
      this.#sample.setConnection(remote.ip, remote.port, local.ip, local.port);
      this.#reqEd = txn.reqEd;
      this.#resEd = txn.resEd;
      this.#resRulesUseReq = rulesUseRequest(fe.httpResRules);
      this.req.analysers = AN_REQ_ALL_HTTP & ~AN_REQ_HTTP_XFER_BODY;
    } else {
      // TCP mode: no analysers, both channels forward everything, and a FIN on
      // one side is passed to the other once the data before it is out.
      this.req.toForward = CHN_INFINITE_FORWARD;
      this.res.toForward = CHN_INFINITE_FORWARD;
      this.req.flags |= CF_AUTO_CLOSE;
      this.res.flags |= CF_AUTO_CLOSE;
      const beIdx = fe.cfg.defaultBackend;
      if (beIdx >= 0) this.setBackend(ctx.backends[beIdx]!);
      this.srvSi.state = SI_ST_REQ;
    }
    ctx.sessions.add(this);
    ctx.sched.wake(this.task, TASK_WOKEN_INIT);
  }

  /**
   * processStream() threw (a bug): end this stream alone, as an internal
   * error (`I` in the log), and never let it reach the scheduler's other
   * tasks or the accept loop.
   */
  crash(_e: unknown): void {
    if (this.#ended) return;
    try {
      this.#setTermination(
        SF_ERR_INTERNAL,
        this.#stage(),
      );
      this.#abort(SF_ERR_INTERNAL, SF_FINST_D);
    } catch {
      // The state is too broken to end cleanly: close the sockets, count the end.
      if (!this.#ended) {
        this.#ended = true;
        this.cli.close();
        this.srvSi.close();
        this.ctx.sessions.delete(this);
        this.ctx.sessionEnded(this.fe);
      }
    }
  }

  /** A soft stop began: run, so an idle keep-alive connection can close. */
  softStop(): void {
    this.ctx.sched.wake(this.task, TASK_WOKEN_MSG);
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
    const req = this.req, res = this.res;
    const http = this.txn !== null && !(this.txn.flags & TX_TUNNEL);

    // 0. Activity seen by the interfaces since the last run refreshes their
    //    inactivity timers; the scheduler's clock was read when this batch began.
    this.#noteActivity(now);

    // 1. Hard stop requested by the process; on a soft stop, an HTTP
    //    connection idle between requests closes without waiting for one.
    if (this.ctx.killing) {
      this.#abort(SF_ERR_KILLED, this.#stage());
      return;
    }
    if (
      this.ctx.stopping && http && (req.analysers & AN_REQ_WAIT_HTTP) && !this.txn!.gotByte &&
      req.input === 0
    ) {
      this.endQuietly(SF_ERR_LOCAL, SF_FINST_R, false);
      return;
    }

    // 2. Errors reported by I/O. In TCP mode and tunnels a reset of one side
    //    shuts that side only: what was already read from it still goes to
    //    the other side, followed by a FIN (HAProxy does the same). In HTTP
    //    mode a reset of the client ends the stream.
    if ((req.flags & CF_READ_ERROR) || (res.flags & CF_WRITE_ERROR)) {
      if (http || this.srvSi.state !== SI_ST_EST) {
        this.#abort(SF_ERR_CLICL, this.#stage());
        return;
      }
      if (this.cli.state !== SI_ST_CLO) {
        this.#setTermination(SF_ERR_CLICL, SF_FINST_D);
        this.#shutSide(this.cli, res, req);
      }
    }
    if (
      this.srvSi.state === SI_ST_EST &&
      ((res.flags & CF_READ_ERROR) || (req.flags & CF_WRITE_ERROR))
    ) {
      if (!http) {
        this.countServerError();
        this.#setTermination(SF_ERR_SRVCL, SF_FINST_D);
        this.#shutSide(this.srvSi, req, res);
      } else if (res.analysers === 0) this.closeServerSide(); // an idle server connection died
      // Otherwise the response analysers report it (502 or an aborted body).
    } else if (
      http && this.srvSi.state === SI_ST_EST && res.analysers === 0 &&
      ((res.flags & CF_SHUTR) || res.input > 0)
    ) {
      // The server closed an idle keep-alive connection, or talked out of
      // turn on it: nothing it sends now can answer the next request.
      this.closeServerSide();
    }

    // option abortonclose: a client that closes while its request still
    // waits for a server (queued, connecting) gives the request up (CQ, CC)
    // instead of leaving it to a server for nobody.
    const st = this.srvSi.state;
    if (
      (req.flags & CF_SHUTR) && st >= SI_ST_REQ && st <= SI_ST_CER && this.be !== null &&
      this.be.cfg.options.has("abortonclose") && (!http || (this.txn!.flags & TX_REQ_DONE))
    ) {
      if (http) this.abortTxn(SF_ERR_CLICL, this.#stage());
      else this.#abort(SF_ERR_CLICL, this.#stage());
      return;
    }

    // 3. Server side: assign, connect, retry.
    if (st >= SI_ST_REQ && st <= SI_ST_CER) {
      if (!this.#serverSide(now)) return;
    }

    // 4. Analysers (HTTP), then inactivity timeouts.
    if (http) {
      for (let i = 0; i < 4; i++) {
        const an = req.analysers | (res.analysers << 16);
        // An analyser that answered (ANA_ABORT without ending the stream)
        // still needs the I/O below to send its reply.
        if (req.analysers !== 0) runAnalysers(this, req, REQ_ANALYSERS);
        if (this.#ended) return;
        if (res.analysers !== 0) runAnalysers(this, res, RES_ANALYSERS);
        if (this.#ended) return;
        if ((req.analysers | (res.analysers << 16)) === an) break;
      }
      // A new request may have asked for a server connection.
      const st2 = this.srvSi.state;
      if (st2 >= SI_ST_REQ && st2 <= SI_ST_ASS) {
        if (!this.#serverSide(now)) return;
      }
    }
    if (this.#checkTimeouts(now)) return;

    // 5. Forward what the analysers released (everything in TCP mode and tunnels).
    req.forward();
    res.forward();

    // 6. Half-close: a FIN is passed on only after every byte before it.
    if (
      (req.flags & (CF_SHUTR | CF_AUTO_CLOSE)) === (CF_SHUTR | CF_AUTO_CLOSE) &&
      !(req.flags & (CF_SHUTW | CF_SHUTW_NOW)) && this.srvSi.state === SI_ST_EST
    ) {
      req.flags |= CF_SHUTW_NOW;
    }
    if (
      (res.flags & (CF_SHUTR | CF_AUTO_CLOSE)) === (CF_SHUTR | CF_AUTO_CLOSE) &&
      !(res.flags & (CF_SHUTW | CF_SHUTW_NOW))
    ) {
      res.flags |= CF_SHUTW_NOW;
    }

    // 7. HTTP keep-alive: once a transaction is over and its response is
    //    written, the server connection goes back to its server's idle pool
    //    while the client is idle (conn_reuse.ts); the next request takes it
    //    back, or another one. Then start I/O and decide whether everything
    //    is over.
    if (
      http && this.srvSi.state === SI_ST_EST && res.analysers === 0 &&
      this.txn!.tReqSent === 0 && !res.writing && res.isEmpty()
    ) {
      this.#parkServerConn();
    }
    const cli = this.cli, si = this.srvSi;
    if (
      http && (res.flags & CF_SHUTW_NOW) && res.isEmpty() && !res.writing &&
      ((req.flags & (CF_SHUTR | CF_READ_ERROR)) ||
        (req.input === 0 && (this.txn!.flags & TX_REQ_DONE)))
    ) {
      // The closing reply is out and nothing of the request is left unread:
      // close() sends the FIN itself, no separate shutdown is needed.
      this.#end();
      return;
    }
    cli.update(now);
    si.update(now);
    if (http) {
      // HTTP: the stream is over once the reply that closes it is out, and,
      // when the client may still be sending a request we did not read
      // (an error reply mid-upload), after a lingering close: its bytes are
      // read and dropped for a moment, or until it closes, so that the
      // kernel does not answer them with a reset that would destroy the
      // reply it has not read yet.
      if ((res.flags & CF_SHUTW) && !res.writing) {
        const txn = this.txn!;
        const unread = !(req.flags & (CF_SHUTR | CF_READ_ERROR)) &&
          (req.input > 0 || !(txn.flags & TX_REQ_DONE));
        if (unread && this.#lingerExp === 0) {
          this.#lingerExp = tickAdd(now, LINGER_MS);
          req.flags &= ~CF_DONT_READ;
        }
        if (!unread || tickIsExpired(this.#lingerExp, now)) {
          this.#end();
          return;
        }
        req.erase();
        cli.update(now);
        this.task.expire = this.#lingerExp;
        return;
      }
    } else if (
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
   * TCP mode: side `si` failed (a reset). Nothing more can be written to it
   * (`toIt` is dropped) or read from it; what `fromIt` holds goes on to the
   * other side, then the FIN. The socket closes now; the stream ends once
   * the other side is done too.
   */
  #shutSide(si: StreamInterface, toIt: Channel, fromIt: Channel): void {
    toIt.flags |= CF_SHUTW;
    toIt.flags &= ~CF_SHUTW_NOW;
    if (!toIt.writing) toIt.erase();
    toIt.toForward = 0;
    fromIt.flags |= CF_SHUTR;
    si.close();
  }

  /**
   * Chooses the backend of the current request (once per HTTP transaction):
   * each request counts as a session of its backend (stot), as HAProxy's
   * stream per request; the connection counts in beconn once.
   */
  setBackend(be: Backend): void {
    if (this.be !== be) {
      if (this.be !== null) this.be.beconn--;
      this.be = be;
      be.beconn++;
      if (be.beconn > be.counters.maxSessions) be.counters.maxSessions = be.beconn;
    }
    be.counters.cumSessions++;
  }

  #serverSide(now: number): boolean {
    const si = this.srvSi;
    if (si.state === SI_ST_QUE) {
      if (!tickIsExpired(si.exp, now)) return true;
      // timeout queue: give up the place and answer 503 (sQ).
      this.#queueSrv!.queue.abandon(this);
      this.tQueued = now - this.#tQueueStart;
      this.be!.counters.failedNoServer++;
      this.#serverFailed(SF_ERR_SRVTO, SF_FINST_Q);
      return false;
    }
    if (si.state === SI_ST_CON && tickIsExpired(si.exp, now)) {
      // Connect timeout: the attempt is abandoned and its socket released.
      this.#connectSeq++;
      this.#abortConnect();
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
      // A retry to the same server keeps its slot (HAProxy does): given back,
      // it would go to the next queued stream and the retry would then
      // exceed the server's maxconn.
      if (si.connRetries <= 0) {
        this.#releaseServer();
        this.be!.counters.failedNoServer++;
        this.#serverFailed(this.#connErrTimeout ? SF_ERR_SRVTO : SF_ERR_SRVCL);
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
          this.#releaseServer();
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
      si.connRetries = be.cfg.retries;
      const srv = be.assign(this, null);
      if (srv === null) {
        if (be.lb.allFull) {
          // Every usable server is at maxconn: wait for a slot in a queue.
          const q = be.queueFor(null);
          if (q !== null) {
            this.srvQueuePos = q.queue.push(this);
            this.beQueuePos = be.queued();
            this.#queueSrv = q;
            this.#tQueueStart = now;
            si.state = SI_ST_QUE;
            si.exp = tickAdd(now, be.cfg.timeouts.queue || be.cfg.timeouts.connect);
            return true;
          }
        }
        be.counters.failedNoServer++;
        this.#serverFailed(SF_ERR_SRVCL, be.lb.allFull ? SF_FINST_Q : SF_FINST_C);
        return false;
      }
      this.srv = srv;
      si.state = SI_ST_ASS;
    }
    if (si.state === SI_ST_ASS) {
      const srv = this.srv!;
      if (!this.#taken) this.be!.take(srv);
      this.#taken = true;
      si.state = SI_ST_CON;
      if (this.tConnStart === 0) this.tConnStart = now;
      this.#connStartThis = now;
      si.exp = tickAdd(now, this.#beT().connect);
      const seq = ++this.#connectSeq;
      const ac = this.#connAbort = new AbortController();
      // One closure pair per connect attempt (not per read): it tells a late
      // completion of an abandoned attempt from the current one.
      this.ctx.proto.connect(srv.address, ac.signal).then(
        (c) => this.#connected(c, seq),
        () => this.#connectFailed(seq),
      );
    }
    return true;
  }

  /** Aborts the connect attempt in flight, if any. */
  #abortConnect(): void {
    const ac = this.#connAbort;
    if (ac !== null) {
      this.#connAbort = null;
      ac.abort();
    }
  }

  /** No server could be reached: 503 in HTTP mode, a plain close in TCP mode. */
  #serverFailed(err: number, finst: number = SF_FINST_C): void {
    if (this.txn !== null && !(this.txn.flags & TX_TUNNEL)) {
      this.httpError(503, err, finst, "no server");
    } else {
      this.#abort(err, finst);
    }
  }

  /** Waiter: true while this stream sits in a server queue. */
  queued = false;

  /** Waiter: the server this stream queued for went down; choose again. */
  requeue(): void {
    const now = this.ctx.sched.clock.now();
    this.tQueued = now - this.#tQueueStart;
    this.#queueSrv = null;
    this.srvSi.state = SI_ST_REQ;
    this.ctx.sched.wake(this.task, TASK_WOKEN_RES);
  }

  /** Waiter: a slot of `srv` was freed for this stream (already counted by the backend). */
  dequeued(srv: unknown): void {
    const now = this.ctx.sched.clock.now();
    this.srv = srv as Server;
    this.#taken = true;
    this.tQueued = now - this.#tQueueStart;
    this.srvSi.state = SI_ST_ASS;
    this.ctx.sched.wake(this.task, TASK_WOKEN_RES);
  }

  #connected(c: Conn, seq: number): void {
    const si = this.srvSi;
    if (seq === this.#connectSeq) this.#connAbort = null;
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
    if (this.txn !== null) this.txn.tc = now - this.#connStartThis;
    be.counters.connectTimeSum += now - this.#connStartThis;
    be.counters.connectSamples++;
    const sc = this.srv!.counters;
    sc.connectTimeSum += now - this.#connStartThis;
    sc.connectSamples++;
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
      this.#abort(SF_ERR_CLITO, this.#stage());
      return true;
    }
    if (this.srvSi.state === SI_ST_EST) {
      const srvExp = this.#serverExpiry();
      if (tickIsExpired(srvExp, now)) {
        if (this.res.analysers & AN_RES_WAIT_HTTP) return false; // 504 by the analyser
        this.res.flags |= CF_READ_TIMEOUT;
        this.countServerError();
        this.#abort(SF_ERR_SRVTO, SF_FINST_D);
        return true;
      }
    }
    return false;
  }

  /** True in HTTP mode outside a tunnel. */
  #httpNoTunnel(): boolean {
    return this.txn !== null && !(this.txn.flags & TX_TUNNEL);
  }

  /**
   * Client-side inactivity expiry: client-fin when one direction of the
   * client side is shut, else tunnel (once established, when set), else client.
   * In HTTP mode it runs only while the client is expected to send a body or
   * to read a response; the head wait is the analyser's (http-request).
   */
  #clientExpiry(): number {
    const fe = this.#feT(), be = this.#beT();
    if (this.#httpNoTunnel()) {
      const req = this.req;
      const busy = (req.analysers & AN_REQ_HTTP_XFER_BODY) || !this.res.isEmpty();
      // A body the server is slow to take fills the request buffer and the
      // client is no longer read: it is not idle (HAProxy arms no read
      // timeout then); the server side's timeout covers the stall.
      if (!busy || (this.cli.readBlocked && this.res.isEmpty())) return req.analyseExp;
      return tickFirst(tickAdd(this.cli.lastActivity, fe.client), req.analyseExp);
    }
    const halfClosed = (this.req.flags & CF_SHUTR) || (this.res.flags & CF_SHUTW);
    let t: number;
    if (halfClosed && fe.clientFin > 0) t = fe.clientFin;
    else if (this.srvSi.state === SI_ST_EST && be.tunnel > 0) {
      return tickAdd(Math.max(this.cli.lastActivity, this.srvSi.lastActivity), be.tunnel);
    } else {
      // Not read because the server is slow to take what we hold, and
      // nothing to write to it: the client is not idle (timeout server).
      if (this.cli.readBlocked && this.res.out === 0 && this.srvSi.state === SI_ST_EST) {
        return TICK_ETERNITY;
      }
      t = fe.client;
    }
    return tickAdd(this.cli.lastActivity, t);
  }

  #serverExpiry(): number {
    const be = this.#beT();
    if (this.#httpNoTunnel()) {
      // Only while a response is expected or being received, and not while
      // the server is left unread because the client is slow to take what
      // is already buffered (the client side's timeout covers that stall).
      const res = this.res;
      if (!(res.analysers & (AN_RES_WAIT_HTTP | AN_RES_HTTP_XFER_BODY))) return TICK_ETERNITY;
      if (this.srvSi.readBlocked) return TICK_ETERNITY;
      return tickAdd(this.srvSi.lastActivity, be.server);
    }
    const halfClosed = (this.res.flags & CF_SHUTR) || (this.req.flags & CF_SHUTW);
    let t: number;
    if (halfClosed && be.serverFin > 0) t = be.serverFin;
    else if (be.tunnel > 0) return TICK_ETERNITY; // covered by the client-side tunnel expiry
    else {
      // Not read because the client is slow to take what we hold, and
      // nothing to write to it: the server is not idle (timeout client).
      if (this.srvSi.readBlocked && this.req.out === 0) return TICK_ETERNITY;
      t = be.server;
    }
    return tickAdd(this.srvSi.lastActivity, t);
  }

  #nextExpiry(): number {
    let exp = this.#clientExpiry();
    const si = this.srvSi;
    if (si.state === SI_ST_EST) exp = tickFirst(exp, this.#serverExpiry());
    else if (si.state === SI_ST_CON || si.state === SI_ST_TAR || si.state === SI_ST_QUE) {
      exp = tickFirst(exp, si.exp);
    }
    return exp;
  }

  countServerError(): void {
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

  /**
   * Ends the stream on an error or timeout with the given termination state;
   * an HTTP transaction in progress is logged with it.
   */
  #abort(err: number, finst: number): void {
    this.#setTermination(err, finst);
    if (!this.req.writing) this.req.erase();
    if (!this.res.writing) this.res.erase();
    // %B then counts what reached the client, not what was still queued for it.
    this.#aborted = true;
    if (this.txn !== null) this.#logAbortedTxn();
    this.#end();
  }

  /** Where the stream is, for a termination state: in a queue, connecting, or in the data phase. */
  #stage(): number {
    const st = this.srvSi.state;
    return st === SI_ST_EST ? SF_FINST_D : st === SI_ST_QUE ? SF_FINST_Q : SF_FINST_C;
  }

  #setTermination(err: number, finst: number): void {
    if (this.err === SF_ERR_NONE) {
      this.err = err;
      this.finst = finst;
    }
  }

  // -------------------------------------------------------------------------
  // HTTP helpers used by the analysers (http_ana.ts)

  /** The sample context over the current request/response (rules, ACLs). */
  sampleCtx(): SampleCtx {
    return this.#sample!;
  }

  /** The request head editor (bound by bindRequest()). */
  reqEditor(): HeadEditor {
    return this.#reqEd!;
  }

  /** The response head editor (bound by bindResponse()). */
  resEditor(): HeadEditor {
    return this.#resEd!;
  }

  /** A request head was parsed: bind the editor and the sample context to it. */
  bindRequest(): void {
    const txn = this.txn!;
    this.#reqEd!.reset(txn.reqBuf!, txn.req);
    this.#sample!.setRequest(txn.reqBuf!, txn.req, this.#reqEd);
  }

  /**
   * The request head is about to be forwarded (its bytes may then be
   * overwritten): response rules that read request fetches need a copy.
   */
  keepRequestForResponse(): void {
    if (this.#resRulesUseReq || (this.be !== null && rulesUseRequest(this.be.httpResRules))) {
      this.#sample!.keepRequest();
    }
  }

  /** A response head was parsed: bind the editor and the sample context to it. */
  bindResponse(): void {
    const txn = this.txn!;
    // Response time (Tr) for the stats: from when the request could reach the server.
    if (txn.tReqSent > 0 && this.be !== null && this.srv !== null) {
      const tr = this.now() - Math.max(txn.tReqSent, this.tConnected);
      this.be.counters.respTimeSum += tr;
      this.be.counters.respSamples++;
      this.srv.counters.respTimeSum += tr;
      this.srv.counters.respSamples++;
    }
    this.#resEd!.reset(txn.resBuf!, txn.res);
    this.#sample!.setResponse(txn.resBuf!, txn.res, this.#resEd);
  }

  /**
   * Applies http-request rules; on deny/return/redirect, answers and returns
   * false (the stream ends after the reply).
   */
  applyRequestRules(rules: readonly Rule[]): boolean {
    if (rules.length === 0) return true;
    const v = evalRules(rules, this.sampleCtx(), this.reqEditor());
    if (v.kind === "continue") return true;
    // A deny by the backend's rules counts in the backend's dreq too.
    if (v.kind === "deny" && this.be !== null && rules === this.be.httpReqRules) {
      this.be.counters.denied++;
    }
    return this.#answerVerdict(v, SF_FINST_R);
  }

  /**
   * A final rule action (deny, return, redirect) answers the client instead
   * of the server, request or response side alike (`finst` says which).
   * Returns false: the stream ends after the reply.
   */
  #answerVerdict(v: Exclude<RuleVerdict, { kind: "continue" }>, finst: number): false {
    switch (v.kind) {
      case "deny":
        if (finst === SF_FINST_R) this.fe.counters.denied++;
        else {
          // http-response deny: dresp at the frontend, the backend and the server.
          this.fe.counters.deniedResp++;
          if (this.be !== null) this.be.counters.deniedResp++;
          if (this.srv !== null) this.srv.counters.deniedResp++;
        }
        this.httpError(v.status, SF_ERR_PRXCOND, finst, "denied");
        break;
      case "return": {
        const extra = v.headers.map(([n, val]) => `${n}: ${val}`);
        this.#setTermination(SF_ERR_LOCAL, finst);
        this.localReply(buildReply(v.status, v.contentType, v.body, extra), v.status);
        break;
      }
      case "redirect":
        this.#setTermination(SF_ERR_LOCAL, finst);
        this.localReply(
          buildReply(v.code, null, new Uint8Array(0), [`location: ${v.location}`]),
          v.code,
        );
        break;
    }
    return false;
  }

  /** Applies http-response rules of the backend then the frontend; false after a 502. */
  applyResponseRules(): boolean {
    const beRules = this.be !== null ? this.be.httpResRules : [];
    const feRules = this.fe.httpResRules;
    if (beRules.length === 0 && feRules.length === 0) return true;
    const ed = this.resEditor();
    const sc = this.sampleCtx();
    for (const rules of beRules === feRules ? [beRules] : [beRules, feRules]) {
      if (rules.length === 0) continue;
      const v = evalRules(rules, sc, ed);
      if (v.kind !== "continue") return this.#answerVerdict(v, SF_FINST_H);
    }
    if (ed.modified) this.txn!.status = ed.status();
    return true;
  }

  /**
   * Cookie persistence, request side: remembers the server the cookie names
   * (when usable) and removes or unprefixes the cookie for the server.
   */
  applyCookieRequest(ed: HeadEditor): void {
    const ck = this.be!.cookie;
    if (ck === null) return;
    const values = ed.headerValues("cookie");
    if (values.length === 0) return;
    const v = findPersistCookie(values, ck);
    if (v !== null) {
      const srv = this.be!.servers.find((s) => s.cfg.cookie === v);
      if (srv !== undefined && srv.usable) this.txn!.persistSrv = srv;
    }
    if ((ck.mode === "insert" && ck.indirect) || ck.mode === "prefix") {
      const out: string[] = [];
      let changed = false;
      for (const val of values) {
        const nv = requestCookieForServer(val, ck);
        if (nv !== val) changed = true;
        if (nv !== null) out.push(nv);
      }
      if (changed) {
        ed.delHeader("cookie");
        for (const nv of out) ed.addHeader("cookie", nv);
      }
    }
  }

  /**
   * Cookie persistence, response side: insert tells the client its server
   * (unless the request already named it), rewrite/prefix edit the server's
   * own Set-Cookie.
   */
  applyCookieResponse(ed: HeadEditor): void {
    const be = this.be;
    const ck = be?.cookie ?? null;
    const srv = this.srv;
    if (ck === null || srv === null || srv.cfg.cookie === null) return;
    const value = srv.cfg.cookie;
    if (ck.mode === "insert") {
      const own = (l: string) => l.trim().startsWith(ck.name + "=");
      const lines = ed.headerValues("set-cookie");
      if (ck.preserve && lines.some(own)) return;
      // The server's own cookie of that name never reaches the client (it
      // would replace the persistence cookie), unless `preserve`.
      if (!ck.preserve && lines.some(own)) {
        ed.delHeader("set-cookie");
        for (const l of lines) if (!own(l)) ed.addHeader("set-cookie", l);
      }
      if (this.txn!.persistSrv === srv) return; // the client already has it
      ed.addHeader("set-cookie", insertSetCookie(ck, value));
      // nocache: a shared cache must not keep one client's persistence cookie.
      if (
        ck.nocache &&
        !ed.headerValues("cache-control").some((v) => /private|no-cache|no-store/i.test(v))
      ) {
        ed.addHeader("cache-control", "private");
      }
      return;
    }
    const lines = ed.headerValues("set-cookie");
    let changed = false;
    const out = lines.map((l) => {
      const nl = rewriteSetCookie(l, ck, value);
      if (nl === null) return l;
      changed = true;
      return nl;
    });
    if (changed) {
      ed.delHeader("set-cookie");
      for (const l of out) ed.addHeader("set-cookie", l);
    }
  }

  /**
   * option forwardfor (frontend and/or backend): adds the client address
   * header unless either side's `except` matches or either side's `if-none`
   * finds its header; the backend's header name wins (HAProxy checks both).
   */
  applyForwardFor(ed: HeadEditor): void {
    const fe = this.fe.forwardFor, be = this.be?.forwardFor ?? null;
    if (fe === null && be === null) return;
    const ip = this.clientAddr.ip;
    if (ip === "unix") return; // no address to forward (HAProxy: IPv4/IPv6 clients only)
    for (const ff of [fe, be]) {
      if (ff === null) continue;
      if (ff.except !== null && cidrListMatch(ff.except, ip)) return;
      if (ff.ifNone && ed.headerValues(ff.header).length > 0) return;
    }
    ed.addHeader((be ?? fe)!.header, ip.startsWith("::ffff:") ? ip.slice(7) : ip);
  }

  /**
   * The request head is committed: use the current server connection when it
   * is established to this backend, else ask for a new one.
   */
  requestServer(): void {
    const txn = this.txn!;
    const be = this.be!;
    txn.tReqSent = this.now();
    const cur = this.srvSi;
    const alive = cur.state === SI_ST_EST && this.srv !== null && this.srv.backendId === be.id &&
      !(this.res.flags & (CF_SHUTR | CF_READ_ERROR)) && this.srv.usable;
    // A persistence cookie names the server; otherwise every request is
    // balanced (HAProxy's default). The current connection carries the
    // request when that server is the one it is connected to.
    const persist = txn.persistSrv as Server | null;
    const pick = persist !== null && (persist === this.srv || serverHasSlot(persist))
      ? persist
      : be.assign(this, null);
    if (
      alive && (pick === this.srv || (pick === null && (this.#taken || serverHasSlot(this.srv!))))
    ) {
      if (!this.#taken) {
        this.be!.take(this.srv!);
        this.#taken = true;
      }
      txn.flags |= TX_REUSED_CONN;
      txn.tc = 0;
      // `timeout server` counts from this request, not from the last response.
      cur.lastActivity = txn.tReqSent;
      // The request has a server (log, counters) with no wait and no connect.
      if (this.tConnStart === 0) this.tConnStart = txn.tReqSent;
      return;
    }
    if (cur.state !== SI_ST_INI && !this.#parkServerConn()) this.closeServerSide();
    if (pick === null) {
      // No free server: the REQ state queues or answers 503.
      this.srvSi.state = SI_ST_REQ;
      return;
    }
    this.srv = pick;
    this.srvSi.connRetries = be.cfg.retries;
    // http-reuse: a follow-up request may use another stream's parked
    // connection unless the mode is never; a first request could not be
    // retried if the server closed that connection meanwhile, so in safe mode
    // it never does, in aggressive mode only on one that already carried two
    // transactions (its server keeps connections alive), in always mode on any.
    const minTxns = reuseMinTxns(be.cfg.httpReuse, txn.count > 0);
    if (minTxns >= 0 && this.#adoptIdle(pick, minTxns)) return;
    this.srvSi.state = SI_ST_ASS;
  }

  /**
   * Parks the established server connection in its server's idle pool, with
   * its read in flight, when the last transaction left it clean
   * (conn_reuse.ts). Returns false when it cannot be parked (then the
   * caller closes it, or keeps it under `http-reuse never`).
   */
  #parkServerConn(): boolean {
    const si = this.srvSi, res = this.res, req = this.req, srv = this.srv;
    const txn = this.txn;
    if (
      txn === null || srv === null || si.state !== SI_ST_EST || !srv.usable ||
      // http-reuse never: a server connection is private to its client.
      this.be === null || this.be.cfg.httpReuse === "never" ||
      (txn.flags & (TX_SRV_CLOSE | TX_TUNNEL)) || res.analysers !== 0 ||
      (res.flags & (CF_SHUTR | CF_READ_ERROR)) ||
      (req.flags & (CF_SHUTW | CF_SHUTW_NOW | CF_WRITE_ERROR)) || !connIsClean(si, res, req) ||
      !parkConn(srv, si, res, this.ctx.pools, this.ctx.sched.now)
    ) return false;
    this.#releaseServer();
    // The stream keeps an interface for its next server connection: the
    // spare one from its last adoption, so that a keep-alive client
    // parking and taking back its connection allocates nothing.
    this.srvSi = this.#spareSi ?? new StreamInterface(1, this.res, this.req, this);
    this.#spareSi = null;
    return true;
  }

  /**
   * Takes the most recently parked connection to `srv` that carried at least
   * `minTxns` transactions, read in flight included; false when none fits.
   */
  #adoptIdle(srv: Server, minTxns: number): boolean {
    const res = this.res;
    if (res.reading || res.writing || !res.isEmpty() || this.#orphans > 0) return false;
    if (!serverHasSlot(srv)) return false;
    const ic = takeConn(srv, this.ctx.sched.now, minTxns);
    if (ic === null) return false;
    const si = adoptConn(ic, res, this.req, this);
    // `timeout server` counts from this request, not from the parking.
    si.lastActivity = this.txn!.tReqSent;
    // The interface left (state INI, never connected) is kept for the next parking.
    this.#spareSi = this.srvSi;
    this.srvSi = si;
    this.be!.take(srv);
    this.#taken = true;
    // The stream now has a server (logs and per-server counters), with no wait and no connect.
    if (this.tConnStart === 0) this.tConnStart = this.txn!.tReqSent;
    this.txn!.flags |= TX_REUSED_CONN;
    this.txn!.tc = 0;
    return true;
  }

  /** Closes the server connection (keeps the client side) and readies a fresh interface. */
  closeServerSide(): void {
    const old = this.srvSi;
    if (old.state === SI_ST_CON) {
      this.#connectSeq++;
      this.#abortConnect();
    }
    old.close();
    if (old.pending > 0) this.#orphans++;
    this.#releaseServer();
    this.srvSi = new StreamInterface(1, this.res, this.req, this);
    const res = this.res, req = this.req;
    res.flags &= ~(CF_SHUTR | CF_READ_NULL | CF_READ_ERROR | CF_READ_TIMEOUT);
    req.flags &= ~(CF_SHUTW | CF_SHUTW_NOW | CF_WRITE_ERROR);
    // Bytes the server sent after its response are not forwarded anywhere.
    res.len = res.out;
  }

  /**
   * Answers the client with a proxy-made error reply, logs the transaction
   * and closes after the reply is written.
   */
  httpError(status: number, err: number, finst: number, _reason: string): void {
    this.#setTermination(err, finst);
    const reply = this.fe.errorReplies.get(status);
    this.#sendReply(reply, status);
  }

  /** Answers with a proxy-made reply (return, redirect, stats) and closes after it. */
  localReply(reply: Uint8Array, status: number): void {
    this.#setTermination(SF_ERR_LOCAL, SF_FINST_R);
    this.#sendReply(reply, status);
  }

  #sendReply(reply: Uint8Array, status: number): void {
    const txn = this.txn!;
    const res = this.res;
    txn.status = status;
    this.#proxyReplied = true;
    if (res.sending()) {
      // Part of a response is already on its way: nothing valid can follow.
      this.logTxn();
      this.#abort(this.err, this.finst);
      return;
    }
    if (this.srvSi.state !== SI_ST_INI) this.closeServerSide();
    res.erase();
    // The reply (prebuilt and shared, or made for this request) is written
    // as it is, whatever its size: no copy, no pool buffer.
    res.setPrefix(reply, reply.length, false);
    httpCloseClientAfterFlush(this);
    this.txn!.flags |= TX_CLI_CLOSE;
    this.logTxn();
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /**
   * A keep-alive connection's next transaction starts: the per-request
   * server-side facts of the last one (queue wait and positions, retries,
   * redispatch, connect start) must not show in its log line or counters.
   */
  beginNextTxn(): void {
    this.#proxyReplied = false;
    this.tQueued = 0;
    this.srvQueuePos = 0;
    this.beQueuePos = 0;
    this.retries = 0;
    this.redispatched = false;
    this.tConnStart = 0;
    if (!this.queued) this.#queueSrv = null;
  }

  /** Counts a response by status class (frontend, backend, server). */
  countStatus(status: number): void {
    const cls = status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
    this.fe.counters.httpResp[cls]!++;
    if (this.be !== null) this.be.counters.httpResp[cls]!++;
    // A server counts only the responses it sent, not the proxy's own
    // 502/503/504 about it (HAProxy does the same).
    const txn = this.txn;
    if (this.srv !== null && txn !== null && txn.tResHead > 0 && !this.#proxyReplied) {
      this.srv.counters.httpResp[cls]!++;
    }
  }

  /** Ends the stream without a reply; logs only when `log` and no transaction was logged. */
  endQuietly(err: number, finst: number, log: boolean): void {
    this.#setTermination(err, finst);
    if (log && !this.fe.cfg.options.has("dontlognull")) this.logTxn();
    else this.txn!.flags |= TX_LOGGED;
    this.#abort(err, finst);
  }

  /** A client or server aborted the transaction: log it and end the stream. */
  abortTxn(err: number, finst: number): void {
    this.#setTermination(err, finst);
    this.logTxn();
    this.#abort(err, finst);
  }

  /** The response was fully forwarded: log, then keep-alive or close. */
  endTxn(): void {
    const txn = this.txn!;
    // Bytes after the end of the response are not the next response.
    const srvClose = (txn.flags & TX_SRV_CLOSE) !== 0 || this.res.input > 0;
    // Request bytes the server never took (it answered early and closes)
    // would block the client's next request: close the client side too.
    const req = this.req;
    if (srvClose && req.sending()) txn.flags |= TX_CLI_CLOSE;
    // A transaction followed by another on this connection is not the final line.
    this.logTxn((txn.flags & TX_CLI_CLOSE) !== 0);
    txn.count++;
    this.srvSi.txns++;
    if (srvClose) this.closeServerSide();
    // An idle keep-alive server connection does not hold a maxconn slot: the
    // slot counts requests in progress, as HAProxy's served sessions do.
    else this.#releaseServer();
    if (txn.flags & TX_CLI_CLOSE) {
      httpCloseClientAfterFlush(this);
      return;
    }
    httpResetForNextRequest(this);
    // Pipelined bytes may already wait in the buffer: run again for them.
    // Without any, the next read's completion wakes the stream (a run
    // spent for nothing on every keep-alive request otherwise).
    if (this.req.input > 0) this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /**
   * A stream ends on an error or timeout: its transaction is logged when it
   * had started, or when the connection never carried a request (unless
   * `option dontlognull`); an idle keep-alive connection ending is not a
   * request and is not logged.
   */
  #logAbortedTxn(): void {
    const txn = this.txn!;
    if (txn.gotByte || txn.tHeadDone > 0) this.logTxn();
    else if (txn.count === 0 && !this.fe.cfg.options.has("dontlognull")) this.logTxn();
    else txn.flags |= TX_LOGGED;
  }

  /**
   * Logs the current HTTP transaction once. `final`: the stream ends after it
   * (false only for a keep-alive transaction another one follows).
   */
  logTxn(final = true): void {
    const txn = this.txn;
    if (txn === null || (txn.flags & TX_LOGGED)) return;
    txn.flags |= TX_LOGGED;
    this.#loggedTxns++;
    // Every transaction that got a status counts once, however it ended (a
    // 200 whose body then stalled too); a tunnel counted when it began.
    if (txn.status > 0 && !(txn.flags & TX_TUNNEL)) this.countStatus(txn.status);
    // The clock is an op call: read it only for a line that is written.
    if (this.fe.logFormat !== null) this.#log(this.ctx.sched.clock.now(), final);
    txn.bytesOutStart = this.res.totalOut + this.res.out + this.#prefixLeft();
    txn.bytesInStart = this.req.totalIn;
  }

  #prefixLeft(): number {
    const r = this.res;
    return r.prefix !== null ? r.prefixLen - r.prefixOff : 0;
  }

  // -------------------------------------------------------------------------

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
    this.#abortConnect();
    if (this.queued) this.#queueSrv!.queue.abandon(this);
    // A clean keep-alive server connection outlives its client (http-reuse).
    if (this.#parkServerConn()) this.srvSi.state = SI_ST_CLO;
    this.srvSi.close();
    // Counters. The backend and the server slot are released before the
    // final line, as HAProxy does: %bc and %sc no longer count this stream.
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
    if (this.txn === null) this.#log(now);
    else if (
      !(this.txn.flags & TX_LOGGED) && (this.#loggedTxns === 0 || (this.txn.flags & TX_TUNNEL))
    ) {
      this.logTxn();
    }
    if (this.txn !== null) {
      if (this.txn.scratch !== null) ctx.pools.big.release(this.txn.scratch);
      if (this.txn.scratchRes !== null) ctx.pools.big.release(this.txn.scratchRes);
      this.txn.scratch = null;
      this.txn.scratchRes = null;
      ctx.txnPool.release(this.txn);
    }
    ctx.sessions.delete(this);
    ctx.sessionEnded(this.fe);
    this.onSettled(null);
  }

  /** An interface settled all its I/O; buffers are freed once every one did. */
  onSettled(si: StreamInterface | null): void {
    if (si !== null && si !== this.srvSi && si !== this.cli) this.#orphans--;
    if (!this.#ended) {
      // A side shut after a reset: the stream may have been waiting for its
      // last operation to settle before it ends.
      if (si !== null && (si === this.cli || si === this.srvSi)) {
        this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
      }
      return;
    }
    if (this.cli.pending !== 0 || this.srvSi.pending !== 0 || this.#orphans !== 0) return;
    if (this.cli.state !== SI_ST_CLO || this.srvSi.state !== SI_ST_CLO) return;
    this.req.releaseBuffer();
    this.res.releaseBuffer();
  }

  /**
   * Writes one line. `final`: the stream's last line, which HAProxy writes
   * once the server side is closed: %sc no longer counts this stream (its
   * cur_sess drops after a keep-alive line, before a final one).
   */
  #log(now: number, final = true): void {
    const fmt = this.fe.logFormat;
    if (fmt === null) return;
    const ctx = this.ctx;
    const srv = this.srv;
    const txn = this.txn;
    const tt = now - this.tAccept;
    let tc = this.tConnected > 0 ? this.tConnected - this.tConnStart : -1;
    const tw = this.tConnStart > 0 || this.#queueSrv !== null ? this.tQueued : -1;
    let tq = -1, tr = -1, ta = tt;
    // HAProxy logs %ST 0 without an HTTP transaction (TCP mode).
    let status = 0;
    let requestLine = "";
    let bytesOut = this.res.totalOut;
    let bytesIn = this.req.totalIn;
    let reqDate = this.acceptDate;
    if (txn !== null) {
      // A follow-up request's timers start at its first byte (the idle time
      // before it is nobody's), a first request's at the accept.
      const start = txn.count > 0 && txn.tFirstByte > 0 ? txn.tFirstByte : this.tAccept;
      tq = txn.tHeadDone > 0 ? txn.tHeadDone - start : -1;
      // Tr counts from when the request could reach the server: sent on a
      // reused connection, or the moment a new one was established.
      tr = txn.tResHead > 0 && txn.tReqSent > 0
        ? txn.tResHead - Math.max(txn.tReqSent, this.tConnected)
        : -1;
      tc = txn.tc;
      ta = now - start;
      status = txn.status;
      requestLine = txn.requestLine; // "" renders <BADREQ>
      // Bytes of this transaction: everything queued for the client since the
      // last one; on an abort only what was written (the rest never leaves,
      // a write still in flight included).
      const queued = this.#aborted ? 0 : this.res.out + this.#prefixLeft();
      bytesOut = this.res.totalOut + queued - txn.bytesOutStart;
      bytesIn = this.req.totalIn - txn.bytesInStart;
      if (txn.requestDate > 0) reqDate = txn.requestDate;
    }
    const addr = srv !== null && this.tConnStart > 0 ? srv.address : null;
    const lc: LogContext = {
      clientIp: this.clientAddr.ip,
      clientPort: this.clientAddr.port,
      frontendIp: this.frontAddr.ip,
      frontendPort: this.frontAddr.port,
      acceptDate: this.acceptDate,
      requestDate: reqDate,
      frontend: this.fe.name,
      backend: this.be !== null ? this.be.name : this.fe.name,
      server: srv !== null && this.tConnStart > 0 ? srv.name : "<NOSRV>",
      // The server connection's address: none ("-") when no connection was attempted.
      serverIp: addr !== null && addr.kind === "tcp" ? addr.host : "",
      serverPort: addr !== null && addr.kind === "tcp" ? addr.port : null,
      tq,
      tw,
      tc,
      tr,
      ta,
      tt,
      status,
      bytesOut,
      bytesIn,
      termState: terminationState(this.err, this.finst),
      actconn: ctx.actconn,
      feconn: this.fe.feconn,
      // HAProxy lowers beconn before logging a transaction (at its end in
      // keep-alive, at the stream's end otherwise): this stream is not
      // counted. Sluice keeps it counted until #end, which releases it
      // before the final line.
      beconn: this.be !== null ? this.be.beconn - (this.#ended ? 0 : 1) : 0,
      // A slot still held (released right after this line) is not counted on a final line.
      srvconn: srv !== null ? srv.cur - (final && this.#taken ? 1 : 0) : 0,
      retries: this.redispatched ? `+${this.retries}` : String(this.retries),
      srvQueue: this.srvQueuePos,
      beQueue: this.beQueuePos,
      requestLine,
      pid: Deno.pid,
    };
    ctx.logger.session(fmt.render(lc));
  }
}
