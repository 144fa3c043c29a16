// The stream ids an HTTP/2 connection reset recently (RST_STREAM sent).
//
// RFC 9113 §5.1: a client may have sent, or queued, frames on a stream
// before our RST_STREAM reached it; they "MUST be ignored", not answered.
// Answering each with another RST_STREAM let a client make the proxy write
// a frame for every frame it sent, without limit. The set is a ring of the
// last RESET_IDS_KEPT ids: an id pushed out of it is an old stream, and the
// RFC lets an endpoint treat late frames on it as errors (a closed stream).
// Looked up only for frames on streams the connection no longer has.

/** Ids kept: more than a connection's concurrent streams reset in a burst (100 by default). */
export const RESET_IDS_KEPT = 128;

export class ResetIds {
  readonly #ids: Int32Array;
  #next: number;

  constructor() {
    this.#ids = new Int32Array(RESET_IDS_KEPT);
    this.#next = 0;
  }

  /** Notes that stream `sid` was reset by this endpoint. */
  add(sid: number): void {
    this.#ids[this.#next] = sid;
    this.#next = (this.#next + 1) % RESET_IDS_KEPT;
  }

  /** Whether stream `sid` (never 0) is among the ones reset last. */
  has(sid: number): boolean {
    const ids = this.#ids;
    for (let i = 0; i < RESET_IDS_KEPT; i++) if (ids[i] === sid) return true;
    return false;
  }
}
