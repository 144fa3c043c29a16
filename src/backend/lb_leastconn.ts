// Least connections (`balance leastconn`; HAProxy's lb_fwlc.c).
//
// The server with the lowest load after taking the connection wins, load
// being (cur + 1) / weight as in fwlc's key: with equal counts the heavier
// server is preferred, and a server with weight 2 carries twice the
// connections of a server with weight 1. Loads are compared by cross
// multiplication (no division, exact). Ties are broken round robin: the scan
// starts just after the previously chosen candidate, so idle equal servers
// are used in turn (fwlc gets the same effect by re-queuing a server behind
// its equals).
//
// pick() is an O(n) scan without allocation (fwlc keeps an ebtree for
// O(log n)); update() is O(n). cur is read live, so onTake()/onRelease() have
// nothing to maintain. Never touches sockets.

import { LbAlgorithm } from "./lb_algo.ts";
import { type LbRequest, type LbServer, srvCanTake } from "./lb_types.ts";

/** `balance leastconn`: fewest (cur + 1) / weight, round robin among ties. */
export class LeastConnLb extends LbAlgorithm {
  /** Candidate index where the next scan starts (just after the last winner). */
  #next: number;

  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    super(servers, allbackups);
    this.#next = 0;
    this.update();
  }

  /** Recomputes the candidate set. */
  update(): void {
    this.collect();
    if (this.#next >= this.cands.length) this.#next = 0;
  }

  /**
   * The least loaded candidate that can take a connection: scans every
   * candidate once from #next, the first strictly lowest load wins.
   */
  choose(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    const cands = this.cands;
    const n = cands.length;
    let best: LbServer | null = null;
    let bestIdx = 0;
    let i = this.#next;
    for (let k = 0; k < n; k++, i++) {
      if (i >= n) i = 0;
      const s = cands[i]!;
      if (!srvCanTake(s, avoid)) continue;
      // (s.cur + 1) / s.weight < (best.cur + 1) / best.weight
      if (best === null || (s.cur + 1) * best.weight < (best.cur + 1) * s.weight) {
        best = s;
        bestIdx = i;
      }
    }
    if (best !== null) this.#next = bestIdx + 1 >= n ? 0 : bestIdx + 1;
    return best;
  }
}
