// A server at run time (HAProxy's struct server): its configuration, its
// load-balancing view (weight, usable, cur), and its counters.
// Health checks and queues (issue #4) attach here.

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
  readonly counters: BackendCounters;

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
  }
}

/** True when the server can take one more connection now. */
export function serverHasSlot(s: Server): boolean {
  return s.maxconn === 0 || s.cur < s.maxconn;
}
