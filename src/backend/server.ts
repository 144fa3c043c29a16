// A server at run time (HAProxy's struct server): its configuration, its
// load-balancing view (weight, usable, cur), and its counters.
// Health checks and queues (issue #4) attach here.

import type { TlsClientConfig } from "../listener/tls_client.ts";
import type { Fetch } from "../sample/types.ts";
import type { Address, ServerConfig } from "../config/types.ts";
import { BackendCounters } from "./counters.ts";
import type { LbServer } from "./lb_types.ts";
import { PendQueue } from "./queue.ts";
import { IdleBudget, IdlePool } from "./idle_conns.ts";

export class Server implements LbServer {
  readonly id: number;
  /** Id of the backend the server belongs to. */
  readonly backendId: number;
  readonly name: string;
  readonly cfg: ServerConfig;
  /** Where it is connected to; the configured one unless changed at run time. */
  address: Address;
  weight: number;
  usable: boolean;
  readonly backup: boolean;
  /** Current connections to this server. */
  cur: number;
  maxconn: number;
  /** Streams waiting for a slot of this server (maxconn reached). */
  readonly queue: PendQueue;
  /** Parked keep-alive connections to this server (HTTP). */
  readonly idle: IdlePool;
  /** Carried over from the server of the same backend/name by a reload (src/proxy/reload.ts). */
  counters: BackendCounters;
  /** The server of the same backend/name a reload put in service after this one, else null. */
  successor: Server | null;
  /** TLS towards the server (`ssl: true`), set by the process from the compiled config. */
  tls: TlsClientConfig | null;
  /** TLS of its health checks (`check-ssl`), likewise. */
  checkTls: TlsClientConfig | null;
  /**
   * `sni` as a sample expression, evaluated against the stream when a
   * connection is opened (stream/server_sni.ts); null: `tls.sni` as is.
   */
  sniExpr: Fetch | null;

  /** `idle`: the process's budget of parked connections, shared by every server. */
  constructor(
    id: number,
    cfg: ServerConfig,
    backendId: number,
    idle: IdleBudget = IdleBudget.forMaxconn(0),
  ) {
    this.id = id;
    this.backendId = backendId;
    this.name = cfg.name;
    this.cfg = cfg;
    this.address = cfg.address;
    this.weight = cfg.weight;
    this.usable = !cfg.disabled;
    this.backup = cfg.backup;
    this.cur = 0;
    this.maxconn = cfg.maxconn;
    this.queue = new PendQueue();
    this.idle = new IdlePool(idle);
    this.counters = new BackendCounters();
    this.successor = null;
    this.tls = null;
    this.checkTls = null;
    this.sniExpr = null;
  }
}

/** True when the server can take one more connection now. */
export function serverHasSlot(s: Server): boolean {
  return s.maxconn === 0 || s.cur < s.maxconn;
}
