// Load-balancing types (HAProxy's lb_*-t.h and the `struct lbprm` ops table),
// plus the few predicates every algorithm shares.
//
// An algorithm is a LoadBalancer built over the backend's LbServer objects
// (an LbAlgorithm, lb_algo.ts, which adds avoid and allFull to its choice).
// It never owns the servers: the core (server.ts, check.ts, the stats admin)
// changes weight/usable/cur on them and calls update(), onTake() and
// onRelease(). pick() runs once per request, so algorithms keep their tables
// (candidate list, map, ring, cumulative weights) from update() and allocate
// nothing per pick. No file of the balancer touches a socket.
//
// The shared predicates live here rather than in lb.ts because lb.ts imports
// every algorithm; keeping them here avoids an import cycle.

/** The balancer's view of one server; the core's server object implements it. */
export interface LbServer {
  /** Index in the backend, stable. */
  readonly id: number;
  readonly name: string;
  /** Effective weight 0..256, may change at run time (call lb.update()). */
  weight: number;
  /** Up and not disabled/maintenance/drain; false => never picked. */
  usable: boolean;
  readonly backup: boolean;
  /** Current connections to this server (the core maintains it). */
  cur: number;
  /** 0 = unlimited; a server at maxconn (cur >= maxconn) is "full". */
  maxconn: number;
}

/** What a pick may look at; reuse one object per stream. */
export interface LbRequest {
  /** Client IP text, e.g. "127.0.0.1" or "::1". */
  src: string;
  /** Request target (HTTP only), null in TCP mode. */
  uri: string | null;
  /** First value of a request header (HTTP only), null if absent or in TCP mode. */
  header(name: string): string | null;
}

/** One balancing algorithm over one backend's servers (HAProxy's lbprm ops). */
export interface LoadBalancer {
  /**
   * Picks a server for a new connection/request; `avoid` (may be null) is
   * skipped if any other candidate exists (used by redispatch). Returns null
   * when no server is usable. Full servers (maxconn reached) are skipped; if
   * all usable servers are full it returns null and sets `allFull` so the core
   * can queue.
   */
  pick(req: LbRequest, avoid: LbServer | null): LbServer | null;
  /** Set by the last pick(): true when it returned null because every usable server was full. */
  readonly allFull: boolean;
  /** Server weights/usable changed: rebuild tables (cheap, not per request). */
  update(): void;
  /** Connection to s started (the core updates s.cur before calling). */
  onTake(s: LbServer): void;
  /** Connection to s ended (the core updates s.cur before calling). */
  onRelease(s: LbServer): void;
}

/** Upper bound of a server weight, as in HAProxy (SRV_UWGHT_MAX). */
export const LB_WEIGHT_MAX = 256;

/** True when s may take new traffic at all: usable and weight > 0. */
export function srvIsUsable(s: LbServer): boolean {
  return s.usable && s.weight > 0;
}

/** True when s has reached its maxconn (0 = unlimited, never full). */
export function srvIsFull(s: LbServer): boolean {
  return s.maxconn > 0 && s.cur >= s.maxconn;
}

/** True when s may take this connection: usable, weight > 0, not full, not `avoid`. */
export function srvCanTake(s: LbServer, avoid: LbServer | null): boolean {
  return s !== avoid && s.usable && s.weight > 0 && (s.maxconn === 0 || s.cur < s.maxconn);
}

/**
 * Fills `out` with the servers eligible right now, ordered by id: every usable
 * active server with weight > 0; if there is none, the first usable backup
 * (lowest id), or every usable backup when `allbackups` is set (HAProxy's
 * tot_wact / fbck / PR_O_USE_ALL_BK logic). Returns true when backups are in
 * use. Allocates nothing when `out` already has the capacity; sorts only when
 * `servers` is not already ordered by id.
 */
export function collectCandidates(
  servers: readonly LbServer[],
  allbackups: boolean,
  out: LbServer[],
): boolean {
  out.length = 0;
  for (const s of servers) {
    if (!s.backup && srvIsUsable(s)) out.push(s);
  }
  let backups = false;
  if (out.length === 0) {
    backups = true;
    let first: LbServer | null = null;
    for (const s of servers) {
      if (!s.backup || !srvIsUsable(s)) continue;
      if (allbackups) out.push(s);
      else if (first === null || s.id < first.id) first = s;
    }
    if (first !== null) out.push(first);
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1]!.id > out[i]!.id) {
      out.sort((a, b) => a.id - b.id);
      break;
    }
  }
  return backups;
}

/**
 * True when at least one candidate is usable with weight > 0 (full or not).
 * Called only after a pick found nothing: then a true result means every
 * usable candidate is full, which is what `allFull` reports.
 */
export function anyUsable(cands: readonly LbServer[]): boolean {
  for (let i = 0; i < cands.length; i++) if (srvIsUsable(cands[i]!)) return true;
  return false;
}

/** True when some candidate may take a connection (see srvCanTake). */
export function anyCanTake(cands: readonly LbServer[], avoid: LbServer | null): boolean {
  for (let i = 0; i < cands.length; i++) if (srvCanTake(cands[i]!, avoid)) return true;
  return false;
}

/**
 * Greatest common divisor of the positive weights of `servers`, taken as
 * integers (1 when there is none).
 */
export function weightGcd(servers: readonly LbServer[]): number {
  let g = 0;
  for (const s of servers) {
    let a = Math.trunc(s.weight);
    if (a <= 0) continue;
    let b = g;
    while (b !== 0) {
      const t = a % b;
      a = b;
      b = t;
    }
    g = a;
  }
  return g === 0 ? 1 : g;
}

// Note about invariants: every algorithm returns only a server for which
// srvCanTake(s, avoid) held at the moment of the pick, or `avoid` itself when
// nothing else could take the connection, or null. Tables built by update()
// may be stale between a change and the next update(): the live checks above
// keep a stale table from ever returning an unusable, weight-0 or full server;
// a stale table may only miss a server that came back (until update()).
