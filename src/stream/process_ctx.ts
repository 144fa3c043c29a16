// What a stream and a listener may use of the running process: the shared
// scheduler, pools, logger, backends and connection counts. Kept as an
// interface so streams can be tested without a whole process.

import type { Listener } from "../listener/listener.ts";
import type { TlsServerParams } from "../listener/tls_node.ts";
import type { Backend } from "../backend/backend.ts";
import type { RuntimeConfig } from "../config/types.ts";
import type { StatsApplet } from "../http/applet.ts";
import type { HttpTxnPool } from "../http/txn.ts";
import type { Pools } from "../buf/pool.ts";
import type { Conn, PeerAddr, Protocol } from "../listener/protocol.ts";
import type { Logger } from "../log/log.ts";
import type { Scheduler } from "../task/scheduler.ts";
import type { Frontend } from "../frontend/frontend.ts";
import type { SessionList } from "./session_list.ts";

export interface ProcessCtx {
  /** Reused HTTP transactions. */
  readonly txnPool: HttpTxnPool;
  readonly cfg: RuntimeConfig;
  readonly sched: Scheduler;
  readonly pools: Pools;
  readonly logger: Logger;
  readonly backends: readonly Backend[];
  readonly frontends: readonly Frontend[];
  readonly maxconn: number;
  /** Soft stop in progress. */
  readonly stopping: boolean;
  /** Epoch ms of the start. */
  readonly startedAt: number;
  readonly proto: Protocol;
  /** Current sessions in the whole process. */
  actconn: number;
  /** A hard stop is in progress: streams end at their next run. */
  killing: boolean;
  /** Live sessions, told when a soft stop begins (idle HTTP connections close then). */
  readonly sessions: SessionList;
  /** The stats applet the HTTP analysers answer stats requests with. */
  readonly stats: StatsApplet;
  /** A session of `fe` ended: update counts and resume paused listeners. */
  sessionEnded(fe: Frontend): void;
  /**
   * The TLS of a bind whose handshake runs after the embryonic steps
   * (`accept-proxy ssl`, or connection rules on a TLS bind), undefined
   * otherwise (cleartext, or the listener's own TLS route). Absent: none.
   */
  tlsFor?(l: Listener<Frontend>): TlsServerParams | undefined;
  /**
   * Starts the HTTP/2 mux on an accepted connection of `fe`, already counted
   * as a session (bind `proto h2`; ALPN `h2` on a TLS bind). Absent in
   * contexts built for tests: such connections then get an HTTP/1.1 Stream.
   */
  startH2?(fe: Frontend, conn: Conn, remote: PeerAddr, local: PeerAddr): void;
}
