// A backend at run time (HAProxy's backend.c): its servers, its load
// balancer, and server assignment for a stream. Works the same in TCP and
// HTTP mode; the request view passed to the balancer carries what hashing
// algorithms may look at.

import type { BackendConfig } from "../config/types.ts";
import { BackendCounters } from "../stats/counters.ts";
import { createLoadBalancer } from "./lb.ts";
import type { LbRequest, LoadBalancer } from "./lb_types.ts";
import { Server } from "./server.ts";

export class Backend {
  readonly id: number;
  readonly name: string;
  readonly cfg: BackendConfig;
  readonly servers: Server[];
  readonly lb: LoadBalancer;
  /** Current streams using this backend. */
  beconn: number;
  readonly counters: BackendCounters;

  constructor(id: number, cfg: BackendConfig) {
    this.id = id;
    this.name = cfg.name;
    this.cfg = cfg;
    this.servers = cfg.servers.map((s, i) => new Server(i, s, id));
    this.lb = createLoadBalancer(cfg.balance, this.servers, {
      allbackups: cfg.options.has("allbackups"),
    });
    this.beconn = 0;
    this.counters = new BackendCounters();
  }

  /**
   * Picks a server for a stream, avoiding `avoid` when another one is
   * usable (redispatch). Returns null when none is usable or all are full.
   */
  assign(req: LbRequest, avoid: Server | null): Server | null {
    return this.lb.pick(req, avoid) as Server | null;
  }

  /** A connection to `srv` starts: counts it and tells the balancer. */
  take(srv: Server): void {
    srv.cur++;
    srv.counters.cumSessions++;
    if (srv.cur > srv.counters.maxSessions) srv.counters.maxSessions = srv.cur;
    this.lb.onTake(srv);
  }

  /** A connection to `srv` ends. */
  release(srv: Server): void {
    srv.cur--;
    this.lb.onRelease(srv);
  }
}
