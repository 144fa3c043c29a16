// Raw TCP client utilities for end-to-end tests.
//
// Everything here talks to 127.0.0.1 with plain `Deno.connect` and bounds every
// wait with a deadline: a test that would hang fails instead, with a message
// that says what it was waiting for. A deadline never leaks its timer (it is
// cleared when the awaited operation settles), so Deno.test's op sanitizer stays
// happy. On a deadline the connection is closed, which makes the pending
// read/write reject; the helpers turn that into a `DeadlineError`.
//
// These helpers must never hide a failure: a reset is reported as an error
// (with the bytes received so far), an EOF as the end of data.
//
// The byte helpers at the end (concat, writeFull, latin1, indexOfCrlfCrlf) are
// shared by the stub servers and the HTTP clients of the other helpers.

import { createHash, type Hash } from "node:crypto";

/** Default deadline of one helper call, in milliseconds. */
export const DEFAULT_DEADLINE_MS = 10_000;

/** Thrown when a helper's deadline expires. */
export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`Deadline of ${ms} ms expired while ${what}`);
    this.name = "DeadlineError";
  }
}

/**
 * Runs `fn` with a deadline. When the deadline expires first, `onExpire` runs
 * (typically closing a connection so that `fn`'s pending I/O rejects) and the
 * returned promise rejects with a DeadlineError. The timer is always cleared.
 */
export async function withDeadline<T>(
  fn: () => Promise<T>,
  ms: number,
  what: string,
  onExpire?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expired = false;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      try {
        onExpire?.();
      } catch {
        // closing an already closed resource: nothing to do
      }
      reject(new DeadlineError(what, ms));
    }, ms);
  });
  const work = fn();
  try {
    return await Promise.race([work, expiry]);
  } catch (e) {
    if (expired) {
      // Let `work` settle (it rejects once onExpire closed its resource) so
      // that no op is left pending when the test ends.
      await work.catch(() => {});
      throw new DeadlineError(what, ms);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds (only for pacing traffic, never to wait for an event). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connects to 127.0.0.1:`port` within `deadlineMs` (aborts the attempt on expiry). */
export async function connect(
  port: number,
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<Deno.TcpConn> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), deadlineMs);
  try {
    return await Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal });
  } catch (e) {
    if (ac.signal.aborted) throw new DeadlineError(`connecting to 127.0.0.1:${port}`, deadlineMs);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection, ignoring "already closed". */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Half-closes: sends FIN, keeps the read side open. Ignores "not connected" when `quiet`. */
export async function closeWrite(conn: Deno.Conn, quiet = false): Promise<void> {
  try {
    await conn.closeWrite();
  } catch (e) {
    if (!quiet) throw e;
  }
}

/** Writes all of `data` (loops on partial writes). Rejects on error or deadline. */
export function writeAll(
  conn: Deno.Conn,
  data: Uint8Array,
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<void> {
  return withDeadline(
    async () => {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    deadlineMs,
    `writing ${data.length} bytes`,
    () => closeQuietly(conn),
  );
}

/** The outcome of reading a connection to its end. */
export interface ReadResult {
  data: Uint8Array;
  /** "eof" when the peer closed cleanly; "reset" when the read failed (RST, closed). */
  end: "eof" | "reset";
  /** The error of a failed read, when `end` is "reset". */
  error: unknown;
}

/**
 * Reads until EOF (or a read error) and returns everything read. Never throws
 * on a reset: the caller decides whether a reset is a failure. Throws a
 * DeadlineError (closing the connection) when EOF does not come in time.
 */
export function readAll(
  conn: Deno.Conn,
  deadlineMs = DEFAULT_DEADLINE_MS,
  maxBytes = 64 * 1024 * 1024,
): Promise<ReadResult> {
  return withDeadline(
    async () => {
      const parts: Uint8Array[] = [];
      let total = 0;
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (error) {
          return { data: concat(parts), end: "reset", error };
        }
        if (n === null) return { data: concat(parts), end: "eof", error: null };
        if (total + n > maxBytes) throw new Error(`readAll: more than ${maxBytes} bytes`);
        parts.push(buf.slice(0, n));
        total += n;
      }
    },
    deadlineMs,
    "reading until EOF",
    () => closeQuietly(conn),
  );
}

/** Reads until EOF and requires a clean EOF (a reset throws with the byte count). */
export async function readToEof(
  conn: Deno.Conn,
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<Uint8Array> {
  const r = await readAll(conn, deadlineMs);
  if (r.end !== "eof") {
    throw new Error(`Connection reset after ${r.data.length} bytes: ${String(r.error)}`);
  }
  return r.data;
}

/** Reads exactly `n` bytes; throws on EOF/reset before that, or on deadline. */
export function readExactly(
  conn: Deno.Conn,
  n: number,
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<Uint8Array> {
  return withDeadline(
    async () => {
      const out = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const got = await conn.read(out.subarray(off));
        if (got === null) throw new Error(`EOF after ${off} of ${n} bytes`);
        off += got;
      }
      return out;
    },
    deadlineMs,
    `reading ${n} bytes`,
    () => closeQuietly(conn),
  );
}

/** SHA-256 of everything read until EOF, streaming (nothing kept in memory). */
export interface HashedRead {
  sha256: string;
  count: number;
  end: "eof" | "reset";
  error: unknown;
}

/** How a reader consumes: its first read after `startMs`, `chunk` bytes at most per read, `pauseMs` between reads. */
export interface ReadPace {
  startMs: number;
  chunk: number;
  pauseMs: number;
}

/**
 * Reads and hashes until EOF or a read error, within `deadlineMs`; with
 * `pace`, like a slow consumer.
 */
export function readHashed(
  conn: Deno.Conn,
  deadlineMs = DEFAULT_DEADLINE_MS,
  pace: ReadPace | null = null,
): Promise<HashedRead> {
  return withDeadline(
    async () => {
      if (pace !== null) await delay(pace.startMs);
      const h = createHash("sha256");
      const buf = new Uint8Array(pace?.chunk ?? 256 * 1024);
      let count = 0;
      for (;;) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (error) {
          return { sha256: h.digest("hex"), count, end: "reset", error };
        }
        if (n === null) return { sha256: h.digest("hex"), count, end: "eof", error: null };
        h.update(buf.subarray(0, n));
        count += n;
        if (pace !== null) await delay(pace.pauseMs);
      }
    },
    deadlineMs,
    pace === null ? "reading (hashed) until EOF" : "reading slowly until EOF",
    () => closeQuietly(conn),
  );
}

/**
 * Deterministic pseudo-random bytes (xorshift32), generated chunk by chunk so
 * that 100 MiB never sits in memory at once. Two generators with the same seed
 * produce the same stream.
 */
export class SeededBytes {
  #state: number;
  constructor(seed: number) {
    this.#state = (seed >>> 0) || 0x9e3779b9;
  }
  /** Fills `out` (its length must be a multiple of 4) with the next bytes. */
  fill(out: Uint8Array): Uint8Array {
    const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
    let x = this.#state;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    this.#state = x >>> 0;
    return out;
  }
  /** A fresh array of `n` bytes (any length). */
  bytes(n: number): Uint8Array {
    const padded = new Uint8Array((n + 3) & ~3);
    this.fill(padded);
    return padded.subarray(0, n);
  }
}

/**
 * Writes `total` seeded pseudo-random bytes in chunks of `chunk` bytes and
 * returns the SHA-256 of what was written. `onDone` (e.g. closeWrite) is not
 * called here: the caller decides how to end the stream.
 */
export function writeSeeded(
  conn: Deno.Conn,
  total: number,
  seed: number,
  deadlineMs = DEFAULT_DEADLINE_MS,
  chunk = 256 * 1024,
): Promise<{ sha256: string; count: number }> {
  return withDeadline(
    async () => {
      const gen = new SeededBytes(seed);
      const h: Hash = createHash("sha256");
      const buf = new Uint8Array(chunk);
      let sent = 0;
      while (sent < total) {
        const n = Math.min(chunk, total - sent);
        gen.fill(buf);
        const piece = buf.subarray(0, n);
        h.update(piece);
        let off = 0;
        while (off < n) off += await conn.write(piece.subarray(off));
        sent += n;
      }
      return { sha256: h.digest("hex"), count: sent };
    },
    deadlineMs,
    `writing ${total} seeded bytes`,
    () => closeQuietly(conn),
  );
}

/** SHA-256 (hex) of a byte array. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** One request/response exchange: connect, write, half-close, read to EOF. */
export async function exchange(
  port: number,
  request: Uint8Array,
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<ReadResult> {
  const conn = await connect(port, deadlineMs);
  try {
    const reading = readAll(conn, deadlineMs, 256 * 1024 * 1024);
    try {
      await writeAll(conn, request, deadlineMs);
      await closeWrite(conn);
    } finally {
      // the read is always awaited so that no op outlives the call
      await reading.catch(() => {});
    }
    return await reading;
  } finally {
    closeQuietly(conn);
  }
}

export const te = new TextEncoder();
export const td = new TextDecoder();

/** The parts joined into one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Writes all of `data` (loops on partial writes), with no deadline of its own. */
export async function writeFull(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Latin-1 decoding: one char per byte, so byte offsets and string offsets agree. */
export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, i + 8192));
  }
  return s;
}

/** Index of the first CRLFCRLF starting in `b[from, to)`, or -1 (a negative `from` counts as 0). */
export function indexOfCrlfCrlf(b: Uint8Array, from = 0, to = b.length): number {
  for (let i = Math.max(0, from); i + 3 < to; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}
