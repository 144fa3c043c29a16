// HTTP/2 on a frontend connection: the hook that starts the h2 mux on an
// accepted connection (HAProxy's mux selection in conn_install_mux_fe()).
//
// `acceptH2()` is called for a connection accepted on a bind marked
// `proto h2` (cleartext prior knowledge), and is the function a TLS
// transport calls once ALPN chose "h2". The connection is one session of
// its frontend, as in HAProxy (maxconn, scur, stot and CurrConns count
// connections; tune.h2.max-concurrent-streams bounds the streams of one),
// and each HTTP/2 stream is a request with its own Stream: the analysers,
// rules, logs and backends see an HTTP/1.1 request whose txn knows the
// client spoke HTTP/2.

import type { Frontend } from "../frontend/frontend.ts";
import type { Conn, PeerAddr } from "../listener/protocol.ts";
import { formatLogDate } from "../log/log_format.ts";
import { H2Conn } from "../mux/h2_conn.ts";
import type { H2Owner, H2Settings } from "../mux/types.ts";
import type { RequestHead } from "../mux/h2_request.ts";
import type { H2Stream } from "../mux/h2_stream.ts";
import { Stream } from "../stream/stream.ts";
import type { ProcessCtx } from "../stream/process_ctx.ts";
import type { Sample } from "../sample/types.ts";
import { h2SettingsOf } from "./h2_settings.ts";

/** What acceptH2() needs of the process beyond a stream's context. */
export interface H2Process extends ProcessCtx {
  /** Live HTTP/2 connections (soft stop sends them GOAWAY). */
  readonly h2Conns: Set<H2Conn>;
}

class H2Session implements H2Owner {
  readonly remote: PeerAddr;
  readonly local: PeerAddr;
  #p: H2Process;
  #fe: Frontend;
  /** Streams opened on this connection so far. */
  #streams: number;
  /** Its Streams that have not ended yet. */
  #live: number;
  /** The connection closed; the session ends with its last Stream. */
  #connClosed: boolean;
  /** The session's variables (`sess.*`), shared by the connection's streams. */
  readonly #sessVars: Map<string, Sample>;

  constructor(p: H2Process, fe: Frontend, remote: PeerAddr, local: PeerAddr) {
    this.#p = p;
    this.#fe = fe;
    this.remote = remote;
    this.local = local;
    this.#streams = 0;
    this.#live = 0;
    this.#connClosed = false;
    this.#sessVars = new Map();
  }

  get pools() {
    return this.#p.pools;
  }

  get sched() {
    return this.#p.sched;
  }

  openStream(conn: H2Stream, head: RequestHead): boolean {
    const p = this.#p, fe = this.#fe;
    if (p.killing) return false;
    try {
      // The connection is the session (counted once by acceptH2()'s caller,
      // as HAProxy counts it): a stream is a request, not one more session.
      const s = new Stream(p, fe, conn, this.remote, this.local);
      s.session = this;
      this.#live++;
      if (s.txn !== null) {
        s.txn.clientMajor = 2;
        s.txn.presetRequest(head, p.cfg.global.maxhdr);
        s.txn.sample.vars.shareSession(this.#sessVars);
        s.txn.resSink = conn;
        // The connection is the session: its second and later streams are
        // not a session's first request (http-reuse safe may give them
        // another stream's idle server connection, as HAProxy does).
        if (this.#streams > 0) s.txn.count = 1;
      }
      this.#streams++;
    } catch (e) {
      p.logger.alert(`h2 stream setup failed: ${e instanceof Error ? e.message : e}`);
      return false;
    }
    return true;
  }

  log(message: string): void {
    const r = this.remote, fe = this.#fe;
    // The frontend's log targets, as its other lines (none with `log: false`).
    if (fe.logFormat === null) return;
    this.#p.logger.session(
      `${r.ip}:${r.port} [${formatLogDate(Date.now())}] ${fe.name} ${message}`,
      fe.id,
    );
  }

  /**
   * The connection closed. Its session ends once its Streams have (a stream
   * the client's reset aborted still logs), as HAProxy frees a session
   * with its last stream: a soft stop waits for them.
   */
  closed(): void {
    this.#connClosed = true;
    if (this.#live === 0) this.#p.sessionEnded(this.#fe);
  }

  /** A Stream of this connection ended (Stream.session). */
  streamEnded(): void {
    if (--this.#live === 0 && this.#connClosed) this.#p.sessionEnded(this.#fe);
  }

  stopping(): boolean {
    return this.#p.stopping;
  }
}

/**
 * Starts the HTTP/2 mux on an accepted connection of `fe`, already counted
 * as a session of it (as sessionAccept() counts every connection). The
 * connection's end calls sessionEnded(fe) once.
 */
export function acceptH2(
  p: H2Process,
  fe: Frontend,
  conn: Conn,
  remote: PeerAddr,
  local: PeerAddr,
): void {
  const settings: H2Settings = h2SettingsOf(p.cfg, fe);
  const owner = new H2Session(p, fe, remote, local);
  const h2 = new H2Conn(conn, owner, settings);
  p.h2Conns.add(h2);
  const closed = owner.closed.bind(owner);
  owner.closed = () => {
    p.h2Conns.delete(h2);
    closed();
  };
  h2.start();
}
