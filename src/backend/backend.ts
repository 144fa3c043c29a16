// A backend at run time (HAProxy's backend.c): its servers, its load
// balancer, and server assignment for a stream. Works the same in TCP and
// HTTP mode; the request view passed to the balancer carries what hashing
// algorithms may look at.

import type { CompiledBackend } from "./types.ts";
import type { BackendConfig } from "../config/types.ts";
import { type ForwardFor, type Rule, rulesUseRequest } from "../http/http_rules.ts";
import type { CookieConfig } from "../http/cookie.ts";
import { balanceDefaults } from "../config/balance.ts";
import { BackendCounters } from "./counters.ts";
import { createLoadBalancer } from "./lb.ts";
import type { LbRequest, LoadBalancer } from "./lb_types.ts";
import { IdleBudget } from "./idle_conns.ts";
import { Server, serverHasSlot } from "./server.ts";
import type { TcpRuleSet, TcpServerRule } from "../tcp/types.ts";

/** Balancing algorithms that hash the request: the same input picks the same server. */
const HASH_ALGOS: ReadonlySet<string> = new Set(["source", "uri", "url_param", "hdr"]);

/**
 * What a backend built without its compiled config gets (TCP backends in
 * unit tests): no HTTP rules and the balancing without arguments. Balance
 * arguments are compiled by compileConfig() only: a config that has some
 * is refused here rather than silently balanced without them.
 */
function uncompiled(cfg: BackendConfig): CompiledBackend {
  if (cfg.balance.args.length > 0) {
    throw new RangeError(
      `backend '${cfg.name}': balance arguments need the compiled config (compileConfig())`,
    );
  }
  return {
    balance: balanceDefaults(cfg.balance.algo, cfg.balance.hashType),
    httpRequest: [],
    httpResponse: [],
    forwardFor: null,
    cookie: null,
  };
}

export class Backend {
  readonly id: number;
  readonly name: string;
  readonly cfg: BackendConfig;
  readonly servers: Server[];
  readonly lb: LoadBalancer;
  readonly httpReqRules: readonly Rule[];
  readonly httpResRules: readonly Rule[];
  readonly forwardFor: ForwardFor | null;
  /** Its http-response rules read request fetches (computed once, read per request). */
  readonly resRulesUseRequest: boolean;
  /** Cookie persistence settings, null when the backend has no `cookie` line. */
  readonly cookie: CookieConfig | null;
  /**
   * The algorithm hashes something of the request (HAProxy's BE_LB_KIND_HI):
   * a retry should then stay on the same server rather than redispatch early.
   */
  readonly hashBalance: boolean;
  /** `tcp-request` rules, null without any (TCP mode: tcp/tcp_inspect.ts). */
  readonly tcpRules: TcpRuleSet | null;
  /** `use-server` lines, in order. */
  readonly useServers: readonly TcpServerRule[];
  /** Current streams using this backend. */
  beconn: number;
  readonly counters: BackendCounters;

  /**
   * `compiled` defaults to no HTTP rules and no balance argument (see
   * uncompiled()); `idle` is the process's budget of parked server connections.
   */
  constructor(
    id: number,
    cfg: BackendConfig,
    compiled: CompiledBackend = uncompiled(cfg),
    idle: IdleBudget = IdleBudget.forMaxconn(0),
  ) {
    this.id = id;
    this.name = cfg.name;
    this.cfg = cfg;
    this.servers = cfg.servers.map((s, i) => new Server(i, s, id, idle));
    this.lb = createLoadBalancer(compiled.balance, this.servers, {
      allbackups: cfg.options.has("allbackups"),
    });
    this.httpReqRules = compiled.httpRequest;
    this.tcpRules = compiled.tcpRules ?? null;
    this.useServers = compiled.useServers ?? [];
    this.httpResRules = compiled.httpResponse;
    this.forwardFor = compiled.forwardFor;
    this.resRulesUseRequest = rulesUseRequest(compiled.httpResponse);
    this.cookie = compiled.cookie;
    this.hashBalance = HASH_ALGOS.has(cfg.balance.algo);
    this.beconn = 0;
    this.counters = new BackendCounters();
  }

  /**
   * Whether a failed connect to `srv` retries on another server (`option
   * redispatch`), after `tries` retries counting this one; `persistent`: a
   * persistence cookie chose it: HAProxy's
   * stream_choose_redispatch(). Yes when the server is no longer usable, on
   * the retries the interval names (the last one by default), and at once
   * whenever nothing ties the stream to this server: no persistence cookie
   * chose it, the algorithm does not hash the request, and another active
   * server exists. (HAProxy 2.6 does the last only for round-robin kinds;
   * later versions for every non-hash algorithm, which Sluice follows: a
   * leastconn pick would otherwise keep choosing the emptiest, dead server.)
   */
  mayRedispatch(srv: Server, tries: number, persistent: boolean): boolean {
    if (!this.cfg.redispatch) return false;
    if (!srv.usable) return true;
    const after = this.cfg.redispatchAfter;
    if (after > 0 && tries % after === 0) return true;
    if (after < 0 && tries % (this.cfg.retries + 1 + after) === 0) return true;
    return !persistent && !this.hashBalance && this.activeServers() > 1;
  }

  /** Active (non-backup) servers that may take traffic: HAProxy's srv_act. */
  activeServers(): number {
    let n = 0;
    for (const s of this.servers) if (s.usable && s.weight > 0 && !s.cfg.backup) n++;
    return n;
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

  /**
   * A connection to `srv` ends. When streams wait, the freed slot goes to
   * one at once (it is counted here, before it runs): see serveQueues().
   */
  release(srv: Server): void {
    srv.cur--;
    this.lb.onRelease(srv);
    this.serveQueues(srv);
  }

  /**
   * Gives the free slots of `srv` to waiting streams: its own queue first,
   * then, as HAProxy's backend queue does, the longest queue of another
   * server (a stream queued behind a busy server must not wait while this
   * one is free). A backup server serves only its own queue. Returns how
   * many streams got a slot (a server coming UP calls it too).
   */
  serveQueues(srv: Server): number {
    let n = 0;
    while (srv.usable && serverHasSlot(srv)) {
      let q: Server | null = srv.queue.length > 0 ? srv : null;
      if (q === null && srv.weight > 0 && !srv.cfg.backup) {
        for (const s of this.servers) {
          if (s !== srv && s.queue.length > 0 && (q === null || s.queue.length > q.queue.length)) {
            q = s;
          }
        }
      }
      if (q === null) break;
      const w = q.queue.shift();
      if (w === null) continue; // only abandoned entries were left in it
      this.take(srv);
      w.dequeued(srv);
      n++;
    }
    return n;
  }

  /**
   * Picks the queue a stream should wait in when every usable server is
   * full: the usable server with the shortest queue that is below its
   * maxqueue (0 = unlimited). Null when every queue is full (503).
   */
  queueFor(avoid: Server | null): Server | null {
    let best: Server | null = null;
    for (const s of this.servers) {
      if (!s.usable || s.weight === 0 || s === avoid) continue;
      if (s.cfg.maxqueue > 0 && s.queue.length >= s.cfg.maxqueue) continue;
      if (best === null || s.queue.length < best.queue.length) best = s;
    }
    return best;
  }

  /**
   * A server went down: the streams waiting for it choose again (HAProxy's
   * pendconn_redistribute). Returns how many moved.
   */
  redistribute(srv: Server): number {
    let n = 0;
    for (let w = srv.queue.shift(); w !== null; w = srv.queue.shift()) {
      w.requeue();
      n++;
    }
    return n;
  }

  /** Streams waiting in the queues of this backend's servers. */
  queued(): number {
    let n = 0;
    for (const s of this.servers) n += s.queue.length;
    return n;
  }
}
