// Dynamic weighted round robin (`balance roundrobin`; HAProxy's lb_fwrr.c).
//
// Smooth weighted round robin (the nginx algorithm): at each pick every
// candidate's running score grows by its weight, the highest score wins and
// loses the sum of the weights. Over any window of `total weight` picks each
// server is chosen exactly in proportion to its weight, and the choices are
// interleaved (weights 1:2:3 give C B A C B C), never bursts. Weights are read
// live at each pick, so a weight change takes effect on the very next pick;
// update() is still needed when the candidate set changes (a server going up
// or down, backups taking over, a weight going to or from 0).
//
// Differences from HAProxy: fwrr keeps servers in ebtrees for O(log n) picks;
// this is an O(n) scan without allocation, simple and cheap for the backend
// sizes met in practice (tens to a few hundred servers). It never touches
// sockets.

import {
  anyUsable,
  collectCandidates,
  type LbRequest,
  type LbServer,
  type LoadBalancer,
  srvCanTake,
} from "./lb_types.ts";

/** `balance roundrobin`: smooth weighted round robin over the current candidates. */
export class RoundRobinLb implements LoadBalancer {
  allFull: boolean;
  readonly #servers: readonly LbServer[];
  readonly #allbackups: boolean;
  /** Servers eligible since the last update(), ordered by id. */
  readonly #cands: LbServer[];
  /** Running score of each candidate (same index as #cands). */
  #score: Float64Array;

  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    this.allFull = false;
    this.#servers = servers;
    this.#allbackups = allbackups;
    this.#cands = [];
    this.#score = new Float64Array(0);
    this.update();
  }

  /**
   * Recomputes the candidate set. Servers that stay keep their running
   * scores, joining ones start at 0: restarting every score on each state
   * change (a flapping check) would feed the first server only.
   */
  update(): void {
    const old = new Map<LbServer, number>();
    for (let i = 0; i < this.#cands.length; i++) old.set(this.#cands[i]!, this.#score[i]!);
    collectCandidates(this.#servers, this.#allbackups, this.#cands);
    if (this.#score.length < this.#cands.length) this.#score = new Float64Array(this.#cands.length);
    for (let i = 0; i < this.#cands.length; i++) this.#score[i] = old.get(this.#cands[i]!) ?? 0;
  }

  /**
   * Picks the candidate with the highest running score among those that can
   * take a connection (usable, weight > 0, not full, not `avoid`); falls back
   * to `avoid` when it is the only one. Returns null (and sets allFull when
   * usable servers exist but are all full) when nothing can take it.
   */
  pick(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    let s = this.#choose(avoid);
    if (s === null && avoid !== null) s = this.#choose(null);
    this.allFull = s === null && anyUsable(this.#cands);
    return s;
  }

  /** One smooth-WRR step over the takeable candidates; null when there is none. */
  #choose(avoid: LbServer | null): LbServer | null {
    const cands = this.#cands;
    const score = this.#score;
    let best = -1;
    let bestScore = 0;
    let total = 0;
    for (let i = 0; i < cands.length; i++) {
      const s = cands[i]!;
      if (!srvCanTake(s, avoid)) continue;
      const v = score[i]! + s.weight;
      score[i] = v;
      total += s.weight;
      if (best < 0 || v > bestScore) {
        best = i;
        bestScore = v;
      }
    }
    if (best < 0) return null;
    score[best] = bestScore - total;
    return cands[best]!;
  }

  /** Nothing to do: round robin does not look at connection counts. */
  onTake(_s: LbServer): void {}

  /** Nothing to do: round robin does not look at connection counts. */
  onRelease(_s: LbServer): void {}
}
