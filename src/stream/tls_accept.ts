// The TLS handshake of an accepted connection, between the accept loop and
// the session (HAProxy's conn_complete_session() after ssl_sock's
// handshake, with the embryonic session's timeout).
//
// The accept loop hands the connection over and goes on at once: the
// handshake runs here, as its own promise. The connection counts in actconn
// and in its frontend's feconn from the accept, as in HAProxy, so maxconn
// bounds handshakes in progress too. A handshake is cut by the frontend's
// `timeout client` through a scheduler task (no host timer per connection).
// A failure (garbage instead of a ClientHello, no shared protocol or
// cipher, a client certificate refused, the timeout) logs HAProxy's
// "SSL handshake failure" line with the client's address and the reason,
// counts in the frontend's `failedHandshakes`, and ends there: nothing of
// it reaches the accept loop or another connection.

import type { AcceptedConn, Conn, PeerAddr, PendingTls } from "../listener/protocol.ts";
import { handshakeReason } from "../listener/proto_tls.ts";
import type { Logger } from "../log/log.ts";
import { formatLogDate } from "../log/log_format.ts";
import type { Scheduler } from "../task/scheduler.ts";
import { TICK_ETERNITY, tickAdd } from "../task/ticks.ts";
import type { Task } from "../task/types.ts";

/** What a handshake needs of the process and of the frontend. */
export interface TlsAcceptEnv {
  readonly sched: Scheduler;
  readonly logger: Logger;
}

/** What a handshake needs of the frontend the connection came in on (Frontend satisfies it). */
export interface TlsAcceptFrontend {
  readonly name: string;
  /** `timeout client` cuts a handshake (ms, 0: none). */
  readonly cfg: { readonly timeouts: { readonly client: number } };
  readonly counters: { failedHandshakes: number };
}

/** The timer of one handshake: a scheduler task that aborts it when it expires. */
class HandshakeTimer {
  readonly #p: PendingTls;
  timedOut: boolean;

  constructor(p: PendingTls) {
    this.#p = p;
    this.timedOut = false;
  }

  process(t: Task): void {
    if (t.expire === TICK_ETERNITY) return;
    this.timedOut = true;
    t.expire = TICK_ETERNITY;
    this.#p.abort();
  }
}

/**
 * Runs the handshake of `a`; calls `open` with the decrypted connection on
 * success, `failed` after a failure (logged and counted here). Never
 * throws, never rejects.
 */
export async function completeTls(
  env: TlsAcceptEnv,
  fe: TlsAcceptFrontend,
  a: AcceptedConn & { tls: PendingTls },
  open: (conn: Conn) => void,
  failed: () => void,
): Promise<void> {
  const timer = new HandshakeTimer(a.tls);
  let task: Task | null = null;
  const timeout = fe.cfg.timeouts.client;
  if (timeout > 0) {
    task = env.sched.newTask(timer);
    task.expire = tickAdd(env.sched.clock.now(), timeout);
    env.sched.queue(task);
  }
  let conn: Conn;
  try {
    conn = await a.tls.complete();
  } catch (e) {
    if (task !== null) env.sched.kill(task);
    const reason = timer.timedOut ? "timeout during handshake" : handshakeReason(e);
    fe.counters.failedHandshakes++;
    env.logger.session(handshakeFailureLine(a.remote, a.local, fe.name, reason));
    try {
      a.conn.close();
    } catch { /* already closed */ }
    failed();
    return;
  }
  if (task !== null) env.sched.kill(task);
  open(conn);
}

/**
 * HAProxy's line for a failed handshake (session_kill_embryonic's
 * "SSL handshake failure"): `IP:PORT [DATE] FRONTEND/BIND: SSL handshake
 * failure (REASON)`.
 */
export function handshakeFailureLine(
  remote: PeerAddr,
  local: PeerAddr,
  fe: string,
  reason: string,
): string {
  const ip = remote.ip.includes(":") ? `[${remote.ip}]` : remote.ip;
  const lip = local.ip.includes(":") ? `[${local.ip}]` : local.ip;
  return `${ip}:${remote.port} [${
    formatLogDate(Date.now())
  }] ${fe}/${lip}:${local.port}: SSL handshake failure (${reason})`;
}
