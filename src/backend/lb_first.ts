// First available server (`balance first`; HAProxy's lb_ffirst.c).
//
// The candidate with the lowest id that has a free slot (cur < maxconn, and a
// server with maxconn 0 always has one) takes the connection, so servers fill
// up one after the other and the last ones can be powered down when idle.
// Weights only matter through weight 0 (no new traffic). Meant to be used with
// a maxconn on the servers; without one, the first server takes everything.
//
// pick() is O(n) in the worst case (O(k) for the first k full servers);
// update() is O(n). Never touches sockets.

import { LbAlgorithm } from "./lb_algo.ts";
import { type LbRequest, type LbServer, srvCanTake } from "./lb_types.ts";

/** `balance first`: the first server by id with a free slot. */
export class FirstLb extends LbAlgorithm {
  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    super(servers, allbackups);
    this.update();
  }

  /** Recomputes the candidate set (ordered by id). */
  update(): void {
    this.collect();
  }

  /** The lowest-id candidate that can take a connection, or null. */
  choose(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    const cands = this.cands;
    for (let i = 0; i < cands.length; i++) {
      const s = cands[i]!;
      if (srvCanTake(s, avoid)) return s;
    }
    return null;
  }
}
