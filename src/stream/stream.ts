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
import type { Channel } from "../channel/channel.ts";
import {
  AN_REQ_ALL_HTTP,
  AN_REQ_HTTP_XFER_BODY,
  AN_REQ_WAIT_HTTP,
  AN_RES_WAIT_HTTP,
  CF_AUTO_CLOSE,
  CF_DONT_READ,
  CF_READ_ERROR,
  CF_READ_NULL,
  CF_READ_TIMEOUT,
  CF_SHUTR,
  CF_SHUTW,
  CF_SHUTW_NOW,
  CF_WRITE_ERROR,
  CF_WRITE_TIMEOUT,
  CHN_INFINITE_FORWARD,
} from "../channel/types.ts";
import type { Timeouts } from "../config/types.ts";
import { abortTxn, endQuietly, httpError, logAbortedTxn, logTxn } from "../http/txn_end.ts";
import {
  type HttpTxn,
  TX_LOGGED,
  TX_REQ_DONE,
  TX_REUSED_CONN,
  TX_SRV_CLOSE,
  TX_TUNNEL,
} from "../http/txn.ts";
import type { HttpStream } from "../http/http_stream.ts";
import { REQ_ANALYSERS, RES_ANALYSERS, runAnalysers } from "./analysers.ts";
import { tcpHttpInspect, tcpStreamStart } from "../tcp/tcp_inspect.ts";
import { connectServer } from "./server_connect.ts";
import { serverSni, sniMatches } from "./server_sni.ts";
import { isResourceError } from "../listener/listener.ts";
import type { Conn, ConnTls, PeerAddr } from "../listener/protocol.ts";
import { writeSessionLine } from "../log/session_log.ts";
import type { Frontend } from "../frontend/frontend.ts";
import type { ProcessCtx } from "./process_ctx.ts";
import { tickAdd, tickIsExpired } from "../task/ticks.ts";
import {
  type Task,
  TASK_RUNNING,
  TASK_WOKEN_INIT,
  TASK_WOKEN_IO,
  TASK_WOKEN_MSG,
  TASK_WOKEN_RES,
} from "../task/types.ts";
import { type SiOwner, StreamInterface } from "../si/stream_interface.ts";
import { clientExpiry, nextExpiry, noteActivity, serverExpiry } from "./stream_timeouts.ts";
import {
  SF_ERR_CLICL,
  SF_ERR_CLITO,
  SF_ERR_INTERNAL,
  SF_ERR_KILLED,
  SF_ERR_LOCAL,
  SF_ERR_NONE,
  SF_ERR_PRXCOND,
  SF_ERR_RESOURCE,
  SF_ERR_SRVCL,
  SF_ERR_SRVTO,
  SF_FINST_C,
  SF_FINST_D,
  SF_FINST_NONE,
  SF_FINST_Q,
  SF_FINST_R,
} from "../log/termination.ts";
import {
  SI_ST_ASS,
  SI_ST_CER,
  SI_ST_CLO,
  SI_ST_CON,
  SI_ST_EST,
  SI_ST_INI,
  SI_ST_QUE,
  SI_ST_REQ,
  SI_ST_TAR,
} from "../si/types.ts";
import type { SessionNode } from "./session_list.ts";
import type { StkCounters } from "../stick/track.ts";
import { countResponseTime, countStreamEnd } from "./stream_counters.ts";
import { noteWrite, writeNeedsRun } from "./stream_wake.ts";
import { releaseStreamParts, takeStreamParts } from "./stream_parts.ts";

/** How long a closing HTTP connection reads and drops what the client still sends. */
const LINGER_MS = 1000;

/** Longest pause between two connection retries (HAProxy's turn-around). */
const TURNAROUND_MAX = 1000;

export class Stream implements SiOwner, LbRequest, HttpStream {
  readonly ctx: ProcessCtx;
  readonly fe: Frontend;
  be: Backend | null = null;
  srv: Server | null = null;
  readonly task: Task;
  readonly req: Channel;
  readonly res: Channel;
  /** si[0]: client side; si[1]: server side (a new one per server connection in HTTP mode). */
  readonly cli: StreamInterface;
  srvSi: StreamInterface;
  /** The HTTP transaction (HTTP mode), null in TCP mode. */
  readonly txn: HttpTxn | null;
  /** Stick counters of the connection (the txn's in HTTP mode; in TCP mode made by a track). */
  stk: StkCounters | null = null;
  readonly clientAddr: PeerAddr;
  readonly frontAddr: PeerAddr;
  /** What the client's TLS handshake negotiated (fetches, logs); null in cleartext. */
  readonly clientTls: ConnTls | null;
  /** Termination cause (SF_ERR_*) and stage (SF_FINST_*). */
  err: number = SF_ERR_NONE;
  finst: number = SF_FINST_NONE;
  /** Epoch ms of the accept, and ticks of the stages for the log timers. */
  readonly acceptDate: number;
  readonly tAccept: number;
  tConnStart = 0;
  tConnected = 0;
  tQueued = 0;
  /** Retries done so far and whether the last one was a redispatch. */
  retries = 0;
  redispatched = false;
  /** The stream has ended (logged); waiting for I/O to settle to free buffers. */
  #ended = false;
  /** The stream is being aborted: what is still queued for the client never leaves. */
  #aborted = false;
  /** A server slot is held (srv.cur counts this stream). */
  #taken = false;
  /**
   * How the last connect attempt failed: SF_ERR_SRVTO (timeout, sC),
   * SF_ERR_SRVCL (refused or reset, SC) or SF_ERR_RESOURCE (no descriptor
   * or memory for a socket, RC).
   */
  #connErr: number = SF_ERR_SRVCL;
  /** Tick the current connect attempt started. */
  #connStartThis = 0;
  /** Positions in the server / backend queue when this stream was queued (log %sq/%bq). */
  srvQueuePos = 0;
  beQueuePos = 0;
  /** Lingering close deadline (tick), 0 when not lingering. */
  #lingerExp = 0;
  /** Aborts the connect attempt in flight (connect timeout, stream end). */
  #connAbort: AbortController | null = null;
  /** The SNI of the connect in flight, its connection's reuse key (server_sni.ts). */
  #sni: string | null = null;
  /** The server whose queue this stream waits in. */
  #queueSrv: Server | null = null;
  #tQueueStart = 0;
  /** Identifies the connect attempt a completion belongs to (late ones are dropped). */
  #connectSeq = 0;
  /** Closed server-side interfaces whose I/O has not settled yet (buffers stay held). */
  #orphans = 0;
  /** An unused server-side interface (state INI), kept for the next parking. */
  #spareSi: StreamInterface | null = null;
  /** The channels and interfaces went back to the pool (stream_parts.ts). */
  #given = false;
  /** HTTP transactions logged on this stream. */
  #loggedTxns = 0;
  /** The session it belongs to when that is not its own (an HTTP/2 connection's). */
  session: { streamEnded(): void } | null = null;
  /** Links in the process's session list (SessionList). */
  sessPrev: SessionNode | null = null;
  sessNext: SessionNode | null = null;

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
    return this.txn !== null ? this.txn.requestHeader(name) : null;
  }

  constructor(ctx: ProcessCtx, fe: Frontend, conn: Conn, remote: PeerAddr, local: PeerAddr) {
    this.ctx = ctx;
    this.fe = fe;
    this.task = ctx.sched.newTask(this);
    const parts = takeStreamParts(ctx.pools, this);
    this.req = parts.req!;
    this.res = parts.res!;
    this.cli = parts.cli!;
    this.srvSi = parts.srv!;
    this.txn = null;
    this.clientAddr = remote;
    this.frontAddr = local;
    this.clientTls = conn.tls ?? null;
    this.acceptDate = Date.now();
    // The cached scheduler time may be old (the accept loop runs outside drains).
    this.tAccept = ctx.sched.now = ctx.sched.clock.now();
    this.cli.attach(conn, this.tAccept);
    if (fe.cfg.mode === "http") {
      // HTTP mode: the analysers own the data; the switching rules pick a backend.
      const txn = this.txn = ctx.txnPool.alloc(this.tAccept);
      txn.sample.setConnection(remote.ip, remote.port, local.ip, local.port, this.clientTls);
      this.stk = txn.sample.stk;
      this.req.analysers = (AN_REQ_ALL_HTTP & ~AN_REQ_HTTP_XFER_BODY) | tcpHttpInspect(fe);
      // A slow POST must not pin the bulk buffer its last burst went through; a
      // response is read whole if the last one outgrew the small buffer.
      this.req.shrinkAfterBurst = this.res.keepMessageSize = true;
      // A request already there (HTTP/2) is parsed by the first run.
      this.cli.readNow();
    } else {
      // TCP mode: both channels forward everything (the request once its layer-4
      // rules and use_backend are done, if any: tcp/tcp_inspect.ts), and a FIN on
      // one side is passed to the other once the data before it is out.
      this.res.toForward = CHN_INFINITE_FORWARD;
      this.req.flags |= CF_AUTO_CLOSE;
      this.res.flags |= CF_AUTO_CLOSE;
      tcpStreamStart(this, ctx.backends[fe.cfg.defaultBackend] ?? null);
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
      this.#abort(SF_ERR_INTERNAL, this.#stage());
    } catch {
      // The state is too broken to end cleanly: close the sockets, count the end.
      if (!this.#ended) {
        this.#ended = true;
        this.cli.close();
        this.srvSi.close();
        this.ctx.sessions.delete(this);
        this.#sessionEnd();
      }
    }
  }

  /** Runtime API `shutdown session`: ends the stream now, killed (K). */
  kill(): void {
    if (!this.#ended) this.#abort(SF_ERR_KILLED, this.#stage());
  }
  /** A soft stop began: run, so an idle keep-alive connection can close. */
  softStop(): void {
    this.ctx.sched.wake(this.task, TASK_WOKEN_MSG);
  }

  now(): number {
    return this.ctx.sched.now;
  }

  onIo(side: number, wrote: boolean): void {
    // A writeNow() to the client completes inside the run, in cli.update().
    const inRun = side === 0 && (this.task.state & TASK_RUNNING) !== 0;
    if (wrote && !writeNeedsRun(this, side, inRun)) {
      // In a run, the scheduler's time is the one its next run would have used.
      const sched = this.ctx.sched;
      noteWrite(side === 0 ? this.cli : this.srvSi, inRun ? sched.now : sched.clock.now());
      return;
    }
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /** The server-side timeouts: the backend's, the frontend's before one is chosen. */
  #beT(): Timeouts {
    return this.be !== null ? this.be.cfg.timeouts : this.fe.cfg.timeouts;
  }

  /** The task handler: processStream(). */
  process(_task: Task): void {
    if (this.#ended) return;
    const now = this.ctx.sched.now;
    const req = this.req, res = this.res;
    const http = this.txn !== null && !(this.txn.flags & TX_TUNNEL);

    // 0. Activity the interfaces saw since the last run refreshes their inactivity timers.
    noteActivity(this, now);

    // 1. Hard stop; on a soft stop an HTTP connection idle after a request closes
    //    now (idle-close-on-response: after the next one).
    if (this.ctx.killing) {
      this.#abort(SF_ERR_KILLED, this.#stage());
      return;
    }
    if (
      this.ctx.stopping && http && (req.analysers & AN_REQ_WAIT_HTTP) && !this.txn!.gotByte &&
      req.input === 0 && this.txn!.count > 0 && !this.fe.cfg.options.has("idle-close-on-response")
    ) {
      endQuietly(this, SF_ERR_LOCAL, SF_FINST_R, false);
      return;
    }

    // 2. Errors reported by I/O. In TCP mode and tunnels a reset of one side shuts that side only:
    //    what was read from it still goes to the other side, then a FIN (HAProxy does the same;
    //    an HTTP/2 tunnel's client: RST_STREAM CONNECT_ERROR). In HTTP mode a client reset ends it.
    if ((req.flags & CF_READ_ERROR) || (res.flags & CF_WRITE_ERROR)) {
      if (http || this.srvSi.state !== SI_ST_EST) {
        this.#abort(SF_ERR_CLICL, this.#stage());
        return;
      }
      if (this.cli.state !== SI_ST_CLO) {
        this.setTermination(SF_ERR_CLICL, SF_FINST_D);
        this.cli.shutAfterReset();
      }
    }
    if (
      this.srvSi.state === SI_ST_EST &&
      ((res.flags & CF_READ_ERROR) || (req.flags & CF_WRITE_ERROR))
    ) {
      if (!http) {
        this.countServerError();
        this.setTermination(SF_ERR_SRVCL, SF_FINST_D);
        this.srvSi.shutAfterReset();
        this.cli.conn?.peerFailed?.();
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

    // option abortonclose: a client that closes while its request waits for a server
    // (queued, connecting) gives the request up (CQ, CC), not to a server for nobody.
    const st = this.srvSi.state;
    if (
      (req.flags & CF_SHUTR) && st >= SI_ST_REQ && st <= SI_ST_CER && this.be !== null &&
      this.be.cfg.options.has("abortonclose") && (!http || (this.txn!.flags & TX_REQ_DONE))
    ) {
      if (http) abortTxn(this, SF_ERR_CLICL, this.#stage());
      else this.#abort(SF_ERR_CLICL, this.#stage());
      return;
    }

    // 3. Server side: assign, connect, retry.
    if (st >= SI_ST_REQ && st <= SI_ST_CER) {
      if (!this.#serverSide(now)) return;
    }

    // 4. Analysers (HTTP), then inactivity timeouts. When they give the client
    //    something to read after a quiet time (a slow server's response, an error
    //    reply), its inactivity timer starts now: the wait for the server was not
    //    the client's (HAProxy arms the write timeout when output starts).
    const resQuiet = http && !res.sending();
    if (http || req.analysers !== 0) {
      for (let i = 0; i < 4; i++) {
        const an = req.analysers | (res.analysers << 16);
        // An analyser that answered (ANA_ABORT, stream not ended) needs the I/O below.
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
    if (resQuiet && !res.isEmpty()) this.cli.lastActivity = now;
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

    // 7. HTTP keep-alive: once a transaction is over and its response written,
    //    the server connection goes back to its server's idle pool while the
    //    client is idle (conn_reuse.ts); the next request takes it back, or
    //    another one. Then start I/O and decide whether everything is over.
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
    // An idle server connection's read (it watches for a close) waits for the response's
    // write, to land at the emptied buffer's start (not further on: new region views).
    if (!http || res.analysers !== 0 || !res.writing || this.txn!.tReqSent !== 0) si.update(now);
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
    this.task.expire = nextExpiry(this);
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
      this.#connErr = SF_ERR_SRVTO;
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
        this.#serverFailed(this.#connErr);
        return false;
      }
      si.connRetries--;
      this.retries++;
      const be = this.be!;
      const failure = this.#connErr;
      this.#connErr = SF_ERR_SRVCL;
      if (
        be.mayRedispatch(srv, be.cfg.retries - si.connRetries, this.txn?.persistSrv === srv)
      ) {
        const other = be.assign(this, srv);
        if (other !== null && other !== srv) {
          // A redispatch is counted as such, not as a retry (HAProxy).
          this.#releaseServer();
          this.redispatched = true;
          be.counters.redispatches++;
          srv.counters.redispatches++;
          this.srv = other;
          si.state = SI_ST_ASS;
          return this.#serverSide(now);
        }
      }
      srv.counters.retries++;
      be.counters.retries++;
      // Turn-around: the same server refused, it will likely refuse again at
      // once, so pause min(1 s, timeout connect) first. Not after a connect
      // timeout (the attempt already took that long), nor when the proxy
      // lacked a socket (the server is not at fault; HAProxy retries at once).
      if (failure !== SF_ERR_SRVCL) {
        si.state = SI_ST_ASS;
        return this.#serverSide(now);
      }
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
      connectServer(this.ctx.proto, srv, this, ac.signal, this.#sni = serverSni(srv, this)).then(
        (c) => this.#connected(c, seq),
        (e) => this.#connectFailed(seq, e),
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
      httpError(this, 503, err, finst, "no server");
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
    si.attach(c, now, this.#sni);
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

  #connectFailed(seq: number, e: unknown): void {
    const si = this.srvSi;
    if (seq !== this.#connectSeq || si.state !== SI_ST_CON || this.#ended) return;
    si.state = SI_ST_CER;
    this.#connErr = isResourceError(e) ? SF_ERR_RESOURCE : SF_ERR_SRVCL;
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /** Checks inactivity timers; ends the stream and returns true when one expired. */
  #checkTimeouts(now: number): boolean {
    const cliExp = clientExpiry(this);
    if (tickIsExpired(cliExp, now)) {
      // A client that does not read what waits for it timed out writing
      // (HAProxy's CF_WRITE_TIMEOUT on res); otherwise reading.
      if (this.res.sending()) this.res.flags |= CF_WRITE_TIMEOUT;
      else this.req.flags |= CF_READ_TIMEOUT;
      this.#abort(SF_ERR_CLITO, this.#stage());
      return true;
    }
    if (this.srvSi.state === SI_ST_EST) {
      const srvExp = serverExpiry(this);
      if (tickIsExpired(srvExp, now)) {
        if (this.res.analysers & AN_RES_WAIT_HTTP) return false; // 504 by the analyser
        if (this.req.sending()) this.req.flags |= CF_WRITE_TIMEOUT;
        else this.res.flags |= CF_READ_TIMEOUT;
        this.countServerError();
        this.#abort(SF_ERR_SRVTO, SF_FINST_D);
        return true;
      }
    }
    return false;
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
    this.setTermination(err, finst);
    if (!this.req.writing) this.req.erase();
    if (!this.res.writing) this.res.erase();
    // %B then counts what reached the client, not what was still queued for it.
    this.#aborted = true;
    if (this.txn !== null) logAbortedTxn(this);
    this.#end();
  }

  /** Where the stream is, for a termination state: in a queue, connecting, or in the data phase. */
  #stage(): number {
    const st = this.srvSi.state;
    return st === SI_ST_EST ? SF_FINST_D : st === SI_ST_QUE ? SF_FINST_Q : SF_FINST_C;
  }

  // -------------------------------------------------------------------------
  // HTTP helpers used by the analysers (http_ana.ts)

  /** A response head was parsed: count its response time, bind the editor and sample context. */
  bindResponse(): void {
    countResponseTime(this);
    this.txn!.bindResponse();
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
      !(this.res.flags & (CF_SHUTR | CF_READ_ERROR)) && this.srv.usable && sniMatches(cur, this);
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
    // http-reuse: may this request take another stream's parked connection?
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
      !connIsClean(si, res, req)
    ) return false;
    const now = this.ctx.sched.now;
    // A parked connection notices its server closing only through its read:
    // one must be in flight (none is after a burst that slowed down, see
    // Channel.readRegion()).
    if (!res.reading) si.update(now);
    if (!res.reading || !parkConn(srv, si, res, this.ctx.pools, now)) return false;
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
    const ic = takeConn(srv, this.ctx.sched.now, minTxns, serverSni(srv, this));
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

  /** Whether the server connection is established (the HTTP analysers ask). */
  serverEstablished(): boolean {
    return this.srvSi.state === SI_ST_EST;
  }
  /** Tick of the server side's last activity (`timeout server` counts from it). */
  serverLastActivity(): number {
    return this.srvSi.lastActivity;
  }
  /**
   * A keep-alive connection's next transaction starts: the per-request
   * server-side facts of the last one (queue wait and positions, retries,
   * redispatch, connect start) must not show in its log line or counters.
   */
  beginNextTxn(): void {
    this.tQueued = 0;
    this.srvQueuePos = 0;
    this.beQueuePos = 0;
    this.retries = 0;
    this.redispatched = false;
    this.tConnStart = 0;
    if (!this.queued) this.#queueSrv = null;
  }
  // Primitives of HttpStream the transaction's end uses (http/txn_end.ts).

  setTermination(err: number, finst: number): void {
    if (this.err === SF_ERR_NONE) {
      this.err = err;
      this.finst = finst;
    }
  }

  endStream(): void {
    this.#abort(this.err, this.finst);
  }

  releaseServer(): void {
    this.#releaseServer();
  }

  serverTxnDone(): void {
    this.srvSi.txns++;
  }

  writeLog(final: boolean): void {
    this.#loggedTxns++;
    this.#log(final);
  }

  wake(): void {
    this.ctx.sched.wake(this.task, TASK_WOKEN_IO);
  }

  prefixLeft(): number {
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
    countStreamEnd(this, ctx.sched.now);
    this.#releaseServer();
    if (this.txn === null) this.#log();
    else if (
      !(this.txn.flags & TX_LOGGED) && (this.#loggedTxns === 0 || (this.txn.flags & TX_TUNNEL))
    ) {
      logTxn(this);
    }
    if (this.txn !== null) {
      this.txn.releaseScratch(ctx.pools.big);
      ctx.txnPool.release(this.txn);
    }
    ctx.sessions.delete(this);
    this.#sessionEnd();
    this.onSettled(null);
  }

  #sessionEnd(): void {
    if (this.session !== null) this.session.streamEnded();
    else this.ctx.sessionEnded(this.fe);
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
    if (this.cli.state !== SI_ST_CLO || this.srvSi.state !== SI_ST_CLO || this.#given) return;
    this.req.releaseBuffer();
    this.res.releaseBuffer();
    // Nothing can reach them any more: the next stream takes them.
    this.#given = true;
    releaseStreamParts(this.req, this.res, this.cli, this.srvSi);
  }

  /**
   * Writes one line (the clock is an op call: read only for a line written).
   * `final`: the stream's last line, which HAProxy writes once the server side
   * is closed: %sc no longer counts this stream (its cur_sess drops after a
   * keep-alive line, before a final one).
   */
  #log(final = true): void {
    const fmt = this.fe.logFormat;
    if (fmt === null) return;
    const ctx = this.ctx;
    writeSessionLine(ctx.logger, fmt, this, ctx.sched.clock.now(), final, ctx.actconn, this.fe.id);
  }

  // LogSource (log/session_log.ts): log facts the stream keeps private.

  logQueued(): boolean {
    return this.#queueSrv !== null;
  }

  logPendingOut(): number {
    return this.#aborted ? 0 : this.res.out + this.prefixLeft();
  }

  logSelfInBackend(): number {
    return this.#ended ? 0 : 1;
  }

  logHeldSlot(final: boolean): number {
    return final && this.#taken ? 1 : 0;
  }
}
