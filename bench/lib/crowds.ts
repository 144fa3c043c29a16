// Connection crowds of the memory bench (bench/conn_memory.ts): many TCP
// connections held by the bench process, each behaving like one kind of
// client, so that a proxy's memory and descriptors per connection can be read
// from /proc while they are open.
//
//   - keep-alive clients: one request a second each, the response read whole,
//     the connection kept open in between (idle most of the time);
//   - slowloris: a partial request head, then nothing;
//   - stalled uploads: a head with Content-Length and part of the body, then
//     nothing;
//   - slow readers: a request for a large response, never read;
//   - garbage bursts: connections that send a few non-HTTP bytes, or nothing,
//     and close at once.
//
// Connects are bounded in number in flight so that no listen backlog
// overflows. Everything talks to 127.0.0.1 only. This file never reads /proc
// and never starts a process; conn_memory.ts does.

import { sleep } from "./proc.ts";

const enc = new TextEncoder();

/** Closes a connection, ignoring one already closed. */
function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // already closed (the peer may have timed it out)
  }
}

/**
 * Opens `n` connections to 127.0.0.1:`port`, at most `parallel` connects in
 * flight, runs `first` on each as soon as it is open, and returns them open.
 * On a failure the ones already open are closed and the error (naming
 * `what` was opened) is thrown.
 */
export async function openCrowd(
  port: number,
  n: number,
  first: (c: Deno.TcpConn, i: number) => Promise<void>,
  parallel = 100,
  what = "connections",
): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < n) {
      const i = next++;
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(c);
        await first(c, i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  if (failure !== null) {
    const opened = conns.length;
    closeCrowd(conns);
    const msg = failure instanceof Error ? failure.message : String(failure);
    throw new Error(`Opening ${what} failed after ${opened} of ${n}: ${msg}`);
  }
  return conns;
}

/** Closes every connection of a crowd. */
export function closeCrowd(conns: Deno.Conn[]): void {
  for (const c of conns) closeQuietly(c);
  conns.length = 0;
}

/** Writes all of `bytes` (a write may be partial). */
async function writeAll(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await c.write(bytes.subarray(off));
}

/** A request for `path` with a Host header, as a keep-alive HTTP/1.1 client sends it. */
function getRequest(path: string): Uint8Array {
  return enc.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: conn-memory\r\n\r\n`);
}

/** Slowloris: the start of a request head, never finished. */
export function sendPartialHead(c: Deno.Conn): Promise<void> {
  return writeAll(
    c,
    enc.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: conn-memory\r\nX-Slow: 1"),
  );
}

/**
 * Stalled upload: a POST head announcing `total` bytes and the first `sent`
 * bytes of the body, then nothing.
 */
export function sendPartialUpload(c: Deno.Conn, total: number, sent: number): Promise<void> {
  const head = enc.encode(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Length: ${total}\r\n\r\n`,
  );
  const body = new Uint8Array(sent).fill(0x61);
  const all = new Uint8Array(head.length + body.length);
  all.set(head, 0);
  all.set(body, head.length);
  return writeAll(c, all);
}

/** Slow reader: asks for `path` (a large response) and never reads it. */
export function sendRequestNoRead(c: Deno.Conn, path: string): Promise<void> {
  return writeAll(c, getRequest(path));
}

/** A TLS ClientHello-like prefix: bytes a plain HTTP port gets from a confused client. */
const GARBAGE = new Uint8Array([
  0x16,
  0x03,
  0x01,
  0x00,
  0xa5,
  0x01,
  0x00,
  0x00,
  0xa1,
  0x03,
  0x03,
  ...enc.encode("not http at all, just bytes \x00\x01\x02\r\n\r\n"),
]);

/**
 * One burst of `n` short connections, `parallel` at a time: even ones send
 * a few garbage bytes and close, odd ones close without sending anything.
 * Returns the number of connects that failed (counted, not thrown: a burst
 * may meet a full backlog now and then).
 */
export async function garbageBurst(port: number, n: number, parallel: number): Promise<number> {
  let next = 0, failed = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      let c: Deno.TcpConn;
      try {
        c = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        failed++;
        continue;
      }
      try {
        if ((i & 1) === 0) await c.write(GARBAGE);
      } catch {
        // the proxy may already have answered and closed
      }
      closeQuietly(c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return failed;
}

/**
 * Keep-alive clients: each sends `GET /` once per `intervalMs` (the first at
 * a random moment of a ramp, so that the requests are spread), reads the
 * whole response (Content-Length framing), and waits for the next one.
 * Counts completed requests per client and errors; a client stops at its
 * first error.
 */
export class KeepAliveCrowd {
  readonly n: number;
  readonly intervalMs: number;
  /** Completed requests per client. */
  readonly done: Uint32Array;
  /** Responses other than 200, short reads, socket errors. */
  errors: number;
  /** The first error's message, for the report. */
  firstError: string | null;
  #conns: Deno.TcpConn[];
  #loops: Promise<void>[];
  #stopped: boolean;

  constructor(n: number, intervalMs: number) {
    this.n = n;
    this.intervalMs = intervalMs;
    this.done = new Uint32Array(n);
    this.errors = 0;
    this.firstError = null;
    this.#conns = [];
    this.#loops = [];
    this.#stopped = false;
  }

  /**
   * Opens the connections, idle: no request is sent before run(). After
   * every `step` connections, `accepted(k)` must resolve once the proxy
   * took the first k: a connect completes in the kernel before the proxy
   * accepts it, and a burst beyond its listen backlog would be dropped.
   */
  async open(
    port: number,
    step: number,
    accepted: (k: number) => Promise<void>,
    parallel = 100,
  ): Promise<void> {
    for (let k = 0; k < this.n; k += step) {
      const m = Math.min(step, this.n - k);
      this.#conns.push(...await openCrowd(port, m, () => Promise.resolve(), parallel));
      await accepted(k + m);
    }
  }

  /**
   * Starts every client's loop: its first request at a random moment of the
   * first `rampMs`, then one every interval.
   */
  run(rampMs: number): void {
    this.#conns.forEach((c, i) => this.#loops.push(this.#loop(c, i, rampMs)));
  }

  /** Fewest requests completed by any client so far. */
  minDone(): number {
    let m = Infinity;
    for (const d of this.done) if (d < m) m = d;
    return m === Infinity ? 0 : m;
  }

  /** Total requests completed. */
  total(): number {
    let t = 0;
    for (const d of this.done) t += d;
    return t;
  }

  /** Stops every client and closes its connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    closeCrowd(this.#conns);
    await Promise.allSettled(this.#loops);
  }

  #fail(e: unknown, c: Deno.TcpConn): void {
    this.errors++;
    this.firstError ??= `${e instanceof Error ? e.message : String(e)} (client port ${
      (c.localAddr as Deno.NetAddr).port
    })`;
  }

  async #loop(c: Deno.TcpConn, i: number, rampMs: number): Promise<void> {
    const req = getRequest("/");
    const buf = new Uint8Array(4096);
    await sleep(Math.random() * rampMs);
    while (!this.#stopped) {
      const t0 = performance.now();
      try {
        await writeAll(c, req);
        await readResponse(c, buf);
        this.done[i]!++;
      } catch (e) {
        if (!this.#stopped) this.#fail(e, c);
        return;
      }
      const wait = this.intervalMs - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
    }
  }
}

const dec = new TextDecoder("latin1");

/**
 * Reads one response with a Content-Length body into `buf` (which must hold
 * it whole). Throws on end of stream, a status other than 200, or a
 * response without Content-Length.
 */
async function readResponse(c: Deno.Conn, buf: Uint8Array): Promise<void> {
  let len = 0, need = -1;
  for (;;) {
    if (len >= buf.length) throw new Error("response larger than the client's buffer");
    const n = await c.read(buf.subarray(len));
    if (n === null) throw new Error("connection closed by the proxy");
    len += n;
    if (need < 0) {
      const text = dec.decode(buf.subarray(0, len));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (status === null || status[1] !== "200") {
        throw new Error(`unexpected response "${text.slice(0, text.indexOf("\r\n"))}"`);
      }
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (cl === null) throw new Error("response without Content-Length");
      need = end + 4 + Number(cl[1]);
    }
    if (len >= need) {
      if (len > need) throw new Error("bytes after the response");
      return;
    }
  }
}
