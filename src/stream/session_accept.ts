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
//   3. HOOK(tls): a bind with `ssl` upgrades the connection here, after
//      the header and before the stream (server-side TLS over the accepted
//      Conn that step 2 returns, which may hand back bytes read with a v1
//      line first);
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
  SUBJECT.expectProxy = l.bindCfg.acceptProxy === true;
  const rules = fe.tcpRules?.connection;
  if (rules !== undefined && rules.length > 0) {
    L4.bind(remote, local, null);
    const r = runRules(rules, SUBJECT, L4, true);
    L4.unbind();
    if (r === TCP_ACT_DENY) {
      fe.counters.deniedConn++;
      try {
        conn.close();
      } catch { /* already gone */ }
      ctx.sessionEnded(fe);
      return;
    }
  }
  if (!SUBJECT.expectProxy) {
    openSession(ctx, l, conn, remote, local);
    return;
  }
  void new ProxyHeaderWait(ctx, l, conn, remote, local).run();
}

/** The session of a connection once its handshake is done: an HTTP/2 mux (`proto h2`) or a Stream. */
function openSession(
  ctx: ProcessCtx,
  l: Listener<Frontend>,
  conn: Conn,
  remote: PeerAddr,
  local: PeerAddr,
): void {
  if (l.bindCfg.proto === "h2" && ctx.startH2 !== undefined) {
    ctx.startH2(l.fe, conn, remote, local);
  } else new Stream(ctx, l.fe, conn, remote, local);
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
  #timedOut = false;

  constructor(
    ctx: ProcessCtx,
    l: Listener<Frontend>,
    conn: Conn,
    remote: PeerAddr,
    local: PeerAddr,
  ) {
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
    const ctx = this.#ctx, fe = this.#l.fe;
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
    // HOOK(tls): `ssl` on the bind: wrap res.conn here (the TLS branch).
    try {
      openSession(ctx, this.#l, res.conn, h.src ?? this.#remote, h.dst ?? this.#local);
    } catch (e) {
      ctx.logger.alert(`session setup failed: ${e instanceof Error ? e.message : e}`);
      this.#close();
      ctx.sessionEnded(fe);
    }
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
