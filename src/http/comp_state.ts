// The compression state of one response (compression.ts), apart so that
// the transaction (txn.ts) can hold it without importing the compressor,
// which reads the stream. Only data; no logic but the constructor.

/** Compression of one response. */
export class CompState {
  /** "gzip" or "deflate". */
  readonly algo: string;
  /** The response head was rewritten: the body is being compressed. */
  active: boolean;
  /** The header was sent (first chunk). */
  started: boolean;
  /** The trailer and the last chunk were queued. */
  finished: boolean;
  /** CRC-32 (gzip) or Adler-32 (deflate) of the raw body so far, and its size. */
  check: number;
  size: number;
  /** Compressed bytes sent (body of the chunks, framing excluded). */
  outBytes: number;

  constructor(algo: string) {
    this.algo = algo;
    this.active = false;
    this.started = false;
    this.finished = false;
    this.check = algo === "gzip" ? 0 : 1;
    this.size = 0;
    this.outBytes = 0;
  }
}

// Note about invariants: `finished` implies `started` and `active`; `check`
// and `size` cover exactly the raw bytes compressed so far.
