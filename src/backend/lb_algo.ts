// What every balancing algorithm shares, around the one thing it does itself:
// choosing (HAProxy's assign_server() around the lbprm ops' get_next_server).
//
// Owns: the candidate list an algorithm chooses from (refilled by
// collectCandidates() at update()), and pick(), the rules of the
// LoadBalancer contract that are not about choosing: a server to avoid
// (redispatch) is skipped first and taken only when nothing else can take
// the connection, and `allFull` tells the core to queue. An algorithm
// extends LbAlgorithm and implements choose() and update(); it never touches
// `allFull` and never retries. Never touches sockets.

import {
  anyUsable,
  collectCandidates,
  type LbRequest,
  type LbServer,
  type LoadBalancer,
} from "./lb_types.ts";

/** A balancing algorithm: chooses among `cands`; pick() adds avoid and allFull. */
export abstract class LbAlgorithm implements LoadBalancer {
  allFull: boolean;
  /** Servers eligible since the last update(), ordered by id (see collectCandidates()). */
  protected readonly cands: LbServer[];
  readonly #servers: readonly LbServer[];
  readonly #allbackups: boolean;

  /**
   * Keeps `servers` (not copied: the core mutates them). The subclass sets its
   * own fields, then runs update(): the base cannot, they do not exist yet.
   */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    this.allFull = false;
    this.cands = [];
    this.#servers = servers;
    this.#allbackups = allbackups;
  }

  /**
   * Chooses with `avoid` excluded, then, when nothing was found, once more
   * without the exclusion, so that `avoid` is returned only when it is the one
   * server that can take the connection. Null when nothing can: `allFull` is
   * then set when usable candidates exist but are all full (the core queues),
   * cleared otherwise and after every successful pick.
   */
  pick(req: LbRequest, avoid: LbServer | null): LbServer | null {
    let s = this.choose(req, avoid);
    if (s === null && avoid !== null) s = this.choose(req, null);
    this.allFull = s === null && anyUsable(this.cands);
    return s;
  }

  /**
   * One choice among the candidates that can take a connection now
   * (srvCanTake(s, avoid)), or null when there is none.
   */
  abstract choose(req: LbRequest, avoid: LbServer | null): LbServer | null;

  /** Server weights or states changed: refill the candidates (collect()) and rebuild tables. */
  abstract update(): void;

  /** Refills `cands` with the servers eligible now; update() starts with it. */
  protected collect(): void {
    collectCandidates(this.#servers, this.#allbackups, this.cands);
  }

  /** Nothing by default: most algorithms read `cur` live at each choice. */
  onTake(_s: LbServer): void {}

  /** Nothing by default: most algorithms read `cur` live at each choice. */
  onRelease(_s: LbServer): void {}
}
