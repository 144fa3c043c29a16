// Types of the HTTP/2 mux: its settings (limits, with HAProxy's tune.h2.*
// names where HAProxy has one) and what it needs of the process above it.
//
// Note about invariants: the mux never creates a stream itself; it hands
// each new HTTP/2 stream's endpoint (a Conn) to its owner, which builds the
// proxy's Stream on it. The owner never reads frames.

import type { Pools } from "../buf/pool.ts";
import type { H2Tune } from "../config/types.ts";
import { H2_TUNE_DEFAULTS } from "../config/h2_keywords.ts";
import type { PeerAddr } from "../listener/protocol.ts";
import type { Scheduler } from "../task/scheduler.ts";
import type { RequestHead } from "./h2_request.ts";
import type { H2Stream } from "./h2_stream.ts";

/** The limits of one HTTP/2 connection: the global h2.* keys and the frontend's timeouts. */
export interface H2Settings extends H2Tune {
  /** ms a connection without streams may stay open (timeout http-keep-alive, else client). */
  idleTimeout: number;
}

/** Defaults (HAProxy 2.6's for the four tune.h2 keywords it has). */
export const H2_DEFAULTS: Readonly<H2Settings> = {
  ...H2_TUNE_DEFAULTS,
  idleTimeout: 30_000,
};

/** What the mux needs of the process. */
export interface H2Owner {
  readonly pools: Pools;
  readonly sched: Scheduler;
  /** The client's and our addresses (each stream's Stream gets them). */
  readonly remote: PeerAddr;
  readonly local: PeerAddr;
  /**
   * Builds a Stream whose client side is `conn` (an HTTP/2 stream, a Conn), whose
   * first bytes will be `head` (valid during the call only: the analysers
   * may take its line bounds instead of parsing them again). Returns false
   * when the process cannot take one now (maxconn): the stream is refused
   * (REFUSED_STREAM) and the client may retry it.
   */
  openStream(conn: H2Stream, head: RequestHead): boolean;
  /** Writes a log line about this connection (a limit reached, a malformed request). */
  log(message: string): void;
  /** The connection is gone (every stream ended): release what the owner counted. */
  closed(): void;
  /** True once a soft stop began: GOAWAY, then drain. */
  stopping(): boolean;
}
