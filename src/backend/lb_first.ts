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

import {
  anyUsable,
  collectCandidates,
  type LbRequest,
  type LbServer,
  type LoadBalancer,
  srvCanTake,
} from "./lb_types.ts";

/** `balance first`: the first server by id with a free slot. */
export class FirstLb implements LoadBalancer {
  allFull: boolean;
  readonly #servers: readonly LbServer[];
  readonly #allbackups: boolean;
  readonly #cands: LbServer[];

  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    this.allFull = false;
    this.#servers = servers;
    this.#allbackups = allbackups;
    this.#cands = [];
    this.update();
  }

  /** Recomputes the candidate set (ordered by id). */
  update(): void {
    collectCandidates(this.#servers, this.#allbackups, this.#cands);
  }

  /**
   * Returns the lowest-id candidate that can take a connection (usable,
   * weight > 0, not full, not `avoid`), `avoid` when it is the only one, or
   * null (allFull set when usable servers exist but are all full).
   */
  pick(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    let s = this.#choose(avoid);
    if (s === null && avoid !== null) s = this.#choose(null);
    this.allFull = s === null && anyUsable(this.#cands);
    return s;
  }

  /** The first takeable candidate in id order, or null. */
  #choose(avoid: LbServer | null): LbServer | null {
    const cands = this.#cands;
    for (let i = 0; i < cands.length; i++) {
      const s = cands[i]!;
      if (srvCanTake(s, avoid)) return s;
    }
    return null;
  }

  /** Nothing to maintain: cur is read live at each pick. */
  onTake(_s: LbServer): void {}

  /** Nothing to maintain: cur is read live at each pick. */
  onRelease(_s: LbServer): void {}
}
