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

import { LbAlgorithm } from "./lb_algo.ts";
import { type LbRequest, type LbServer, srvCanTake } from "./lb_types.ts";

/** `balance roundrobin`: smooth weighted round robin over the current candidates. */
export class RoundRobinLb extends LbAlgorithm {
  /** Running score of each candidate (same index as cands). */
  #score: Float64Array;

  /** Builds the balancer over `servers` (not copied: the core mutates them) and runs update(). */
  constructor(servers: readonly LbServer[], allbackups: boolean) {
    super(servers, allbackups);
    this.#score = new Float64Array(0);
    this.update();
  }

  /**
   * Recomputes the candidate set. Servers that stay keep their running
   * scores, joining ones start at 0: restarting every score on each state
   * change (a flapping check) would feed the first server only.
   */
  update(): void {
    const cands = this.cands;
    const old = new Map<LbServer, number>();
    for (let i = 0; i < cands.length; i++) old.set(cands[i]!, this.#score[i]!);
    this.collect();
    if (this.#score.length < cands.length) this.#score = new Float64Array(cands.length);
    for (let i = 0; i < cands.length; i++) this.#score[i] = old.get(cands[i]!) ?? 0;
  }

  /**
   * One smooth-WRR step: the candidate with the highest running score among
   * those that can take a connection; null when there is none.
   */
  choose(_req: LbRequest, avoid: LbServer | null): LbServer | null {
    const cands = this.cands;
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
}
