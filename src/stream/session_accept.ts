// The embryonic session (HAProxy's session_accept_fd(), tcp_exec_l4_rules()
// and the handshake of conn_recv_proxy(), session_kill_embryonic()): what
// runs on an accepted connection before its stream exists.
//
// In order, each only when configured:
//   1. `tcp-request connection` rules on the socket's addresses (reject:
//      closed at once, no log, counted in the frontend's deniedConn);
//   2. the PROXY protocol header (bind `accept-proxy`, or the rule action
//      `expect-proxy layer4`), read under `timeout client`; a missing,
//      malformed or late header closes the connection with HAProxy's log
//      line; its addresses become the stream's client and frontend ones;
//   3. a bind with `ssl` upgrades the connection here, after the header and
//      before the stream: server-side TLS (node:tls) over the Conn step 2
//      returns, which may hand back bytes read with a v1 line first, under
//      `timeout client` (tls_accept.ts);
// then the Stream is created. Every connection runs as its own task: the
// accept loop only starts it and goes on. A failure here ends this
// connection alone and gives its slot back (sessionEnded()).

import type { Frontend } from "../frontend/frontend.ts";
import type { Listener } from "../listener/listener.ts";
import type { Conn, PeerAddr } from "../listener/protocol.ts";
import {
  PP_ERR_ABORT,
  PP_ERR_EMPTY,
  PP_ERR_TIMEOUT,
  proxyErrorText,
  readProxyHeader,
} from "../listener/proxy_proto.ts";
import { formatLogDate } from "../log/log_format.ts";
import { TICK_ETERNITY, tickAdd, tickIsExpired } from "../task/ticks.ts";
import type { Task } from "../task/types.ts";
import { L4SampleCtx, runRules } from "../tcp/tcp_rules.ts";
import { TCP_ACT_DENY, type TcpRuleSubject, type TcpStream } from "../tcp/types.ts";
import type { ProcessCtx } from "./process_ctx.ts";
import { Stream } from "./stream.ts";
import { adoptSessionCounters, endSessionCounters, StkCounters } from "../stick/track.ts";
import { completeTls } from "./tls_accept.ts";
import { pendingServerTls } from "../listener/proto_tls.ts";

/** Whether connections of `l` need this path (rules or a PROXY header) before their stream. */
export function needsHandshake(l: Listener<Frontend>): boolean {
  return l.bindCfg.acceptProxy === true || (l.fe.tcpRules?.connection.length ?? 0) > 0;
}

/** The one context connection rules are evaluated with (synchronous, never re-entered). */
const L4 = new L4SampleCtx();

class ConnSubject implements TcpRuleSubject {
  readonly sample = L4;
  readonly stream: TcpStream | null = null;
  expectProxy = false;
  stk: StkCounters | null = null;
}
const SUBJECT = new ConnSubject();

/**
 * Runs steps 1-3 for an accepted connection already counted in actconn and
 * feconn, then creates its Stream. Never throws for anything the client
 * does; never blocks the caller (the header is read by its own task).
 */
export function acceptHandshake(
  ctx: ProcessCtx,
  l: Listener<Frontend>,
  conn: Conn,
  remote: PeerAddr,
  local: PeerAddr,
): void {
  const fe = l.fe;
  let stk: StkCounters | null = null;
  SUBJECT.expectProxy = l.bindCfg.acceptProxy === true;
  const rules = fe.tcpRules?.connection;
  if (rules !== undefined && rules.length > 0) {
    L4.bind(remote, local, null);
    const r = runRules(rules, SUBJECT, L4, true);
    L4.unbind();
    stk = SUBJECT.stk ?? null;
    SUBJECT.stk = null;
    if (r === TCP_ACT_DENY) {
      // A refused connection lets go of what it tracked (conn_cur back).
      if (stk !== null) endSessionCounters(stk);
      fe.counters.deniedConn++;
      try {
        conn.close();
      } catch { /* already gone */ }
      ctx.sessionEnded(fe);
      return;
    }
  }
  if (!SUBJECT.expectProxy) {
    openStream(ctx, l, conn, remote, local, stk);
    return;
  }
  void new ProxyHeaderWait(ctx, l, conn, remote, local, stk).run();
}

/** The stream takes the counters its connection rules tracked (sess_cnt counted). */
function adoptCounters(s: Stream, stk: StkCounters | null): void {
  if (stk === null) return;
  adoptSessionCounters(s.stk ??= new StkCounters(), stk, s.now());
}

/**
 * Step 3 and the stream: on a bind with `ssl` whose TLS waits for steps 1-2
 * (ProcessCtx.tlsFor), the server-side handshake over `conn` under
 * `timeout client` (tls_accept.ts), then the Stream on the decrypted
 * connection; otherwise the Stream at once. Never throws.
 */
function openStream(
  ctx: ProcessCtx,
  l: Listener<Frontend>,
  conn: Conn,
  remote: PeerAddr,
  local: PeerAddr,
  stk: StkCounters | null,
): void {
  const fe = l.fe;
  const start = (c: Conn) => {
    try {
      openSession(ctx, l, c, remote, local, stk);
    } catch (e) {
      ctx.logger.alert(`session setup failed: ${e instanceof Error ? e.message : e}`);
      try {
        c.close();
      } catch { /* already closed */ }
      ctx.sessionEnded(fe);
    }
  };
  const tls = ctx.tlsFor?.(l);
  if (tls === undefined) {
    start(conn);
    return;
  }
  const pending = pendingServerTls(conn, tls);
  void completeTls(
    ctx,
    fe,
    { conn, remote, local, tls: pending },
    start,
    () => {
      // A failed handshake lets go of what the connection rules tracked (conn_cur back).
      if (stk !== null) endSessionCounters(stk);
      ctx.sessionEnded(fe);
    },
  );
}

/**
 * The session of a connection once its handshake is done: an HTTP/2 mux
 * (`proto h2`, or ALPN `h2` on a TLS bind) or a Stream.
 */
export function openSession(
  ctx: ProcessCtx,
  l: Listener<Frontend>,
  conn: Conn,
  remote: PeerAddr,
  local: PeerAddr,
  stk: StkCounters | null,
): void {
  if ((l.bindCfg.proto === "h2" || conn.tls?.alpn === "h2") && ctx.startH2 !== undefined) {
    // The mux does not carry counters tracked by connection rules: they are
    // let go at once (conn_cur back), as docs/http2.md says.
    if (stk !== null) endSessionCounters(stk);
    ctx.startH2(l.fe, conn, remote, local);
  } else adoptCounters(new Stream(ctx, l.fe, conn, remote, local), stk);
}

/** One connection waiting for its PROXY header, with its `timeout client` task. */
class ProxyHeaderWait {
  readonly #ctx: ProcessCtx;
  readonly #l: Listener<Frontend>;
  readonly #conn: Conn;
  readonly #remote: PeerAddr;
  readonly #local: PeerAddr;
  readonly #acceptDate: number;
  readonly #task: Task;
  readonly #stk: StkCounters | null;
  #timedOut = false;

  constructor(
    ctx: ProcessCtx,
    l: Listener<Frontend>,
    conn: Conn,
    remote: PeerAddr,
    local: PeerAddr,
    stk: StkCounters | null = null,
  ) {
    this.#stk = stk;
    this.#ctx = ctx;
    this.#l = l;
    this.#conn = conn;
    this.#remote = remote;
    this.#local = local;
    this.#acceptDate = Date.now();
    this.#task = ctx.sched.newTask(this);
    const now = ctx.sched.now = ctx.sched.clock.now();
    this.#task.expire = tickAdd(now, l.fe.cfg.timeouts.client);
    ctx.sched.queue(this.#task);
  }

  /** The task: `timeout client` struck; closing the socket ends the pending read. */
  process(task: Task): void {
    if (!tickIsExpired(task.expire, this.#ctx.sched.now)) return;
    task.expire = TICK_ETERNITY;
    this.#timedOut = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async run(): Promise<void> {
    const ctx = this.#ctx;
    let res;
    try {
      res = await readProxyHeader(this.#conn);
    } catch (e) {
      // readProxyHeader() reports failures as codes; this is a bug.
      res = { header: null, error: PP_ERR_ABORT, conn: this.#conn };
      ctx.logger.alert(`PROXY header read failed: ${e instanceof Error ? e.message : e}`);
    }
    ctx.sched.kill(this.#task);
    const h = res.header;
    // A header that completed just as the timeout closed the socket is late all the same.
    if (h === null || this.#timedOut) {
      this.#fail(this.#timedOut ? PP_ERR_TIMEOUT : res.error);
      return;
    }
    // Step 3: TLS over what follows the header when the bind has `ssl`.
    openStream(ctx, this.#l, res.conn, h.src ?? this.#remote, h.dst ?? this.#local, this.#stk);
  }

  #close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /**
   * Closes the connection and logs HAProxy's line for it: "ADDR:PORT [DATE]
   * FRONTEND/BIND: MESSAGE" (not with `log: false`; with `option
   * dontlognull`, not for a client that closed or reset before sending
   * anything).
   */
  #fail(code: number): void {
    const ctx = this.#ctx, l = this.#l, fe = l.fe;
    if (this.#stk !== null) endSessionCounters(this.#stk);
    this.#close();
    const quiet = fe.logFormat === null ||
      (fe.cfg.options.has("dontlognull") && (code === PP_ERR_EMPTY || code === PP_ERR_ABORT));
    if (!quiet) {
      const r = this.#remote;
      ctx.logger.session(
        `${r.ip}:${r.port} [${formatLogDate(this.#acceptDate)}] ${fe.name}/${l.id}: ${
          proxyErrorText(code)
        }`,
        fe.id,
      );
    }
    ctx.sessionEnded(fe);
  }
}
