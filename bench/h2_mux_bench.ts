// Micro bench of the HTTP/2 mux alone (src/mux/*, src/h2/*): what one
// stream costs between the client's HEADERS and the response's frames,
// without the proxy's Stream, the analysers or any socket.
//
// An H2Conn runs on an in-memory client connection. Its owner answers each
// stream the way a Stream does on a keep-alive backend: it takes the
// HTTP/1.1 request head the mux wrote while the stream opens (readNow, as
// the Stream's constructor does), hands over the parse of the response
// nginx gives the load bench (`200`, five headers, "hello\n") as the
// analysers do (headCommitted), writes that response, reads the end of
// stream and closes. The client sends BATCH requests per read, as
// `h2load -m BATCH` does (HPACK-indexed after the first), and waits for
// every stream to close before the next batch.
//
// Usage: deno run -A bench/h2_mux_bench.ts
// Tunables: BENCH_H2_STREAMS (batch, 10), BENCH_ROUNDS (5),
// BENCH_ITER (batches per round, 20000), BENCH_PROFILE=1 (one more round
// under the sampling profiler: the heaviest functions and files),
// BENCH_HEAP=1 (one more round under the sampling heap profiler: bytes
// allocated per stream, by allocating function).

import { createPools } from "../src/buf/pool.ts";
import {
  FF_END_HEADERS,
  FF_END_STREAM,
  FT_HEADERS,
  PREFACE,
  writeFrameHeader,
  writeSettings,
  writeWindowUpdate,
} from "../src/h2/frame.ts";
import { HpackEncoder } from "../src/h2/hpack.ts";
import type { Conn, PeerAddr } from "../src/listener/protocol.ts";
import { H2Conn } from "../src/mux/h2_conn.ts";
import type { H2Stream } from "../src/mux/h2_stream.ts";
import { parseResponseHead as parseHttp1Response } from "../src/http/h1_parse.ts";
import { HttpHead, METH_GET } from "../src/http/types.ts";
import { H2_DEFAULTS, type H2Owner } from "../src/mux/types.ts";
import { Scheduler } from "../src/task/scheduler.ts";
import { Session } from "node:inspector";
import { cpuUsage } from "node:process";
import { envFlag, envInt } from "./lib/env.ts";
import { printProfile, type Profile } from "./lib/cpu_profile.ts";

const BATCH = envInt("BENCH_H2_STREAMS", 10, 1);
const ROUNDS = envInt("BENCH_ROUNDS", 5, 1);
const ITER = envInt("BENCH_ITER", 20000, 1);
const PROFILE = envFlag("BENCH_PROFILE", false);
const HEAP = envFlag("BENCH_HEAP", false);

const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 11:30:00 GMT\r\n" +
    "Content-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nhello\n",
);

const READ_BUF = new Uint8Array(16384);

/** The analysers' parse of RESPONSE's head. */
const PARSED = new HttpHead();
if (parseHttp1Response(RESPONSE, 0, RESPONSE.length, PARSED, 101, METH_GET) <= 0) {
  throw new Error("the bench's response does not parse");
}

/** The client side: reads hand out what the bench queued; writes are counted and dropped. */
class MemConn implements Conn {
  #pending: Uint8Array | null = null;
  #wait: ((n: number) => void) | null = null;
  #view: Uint8Array | null = null;
  written = 0;
  writes = 0;
  feed(b: Uint8Array): void {
    if (this.#wait !== null) {
      const v = this.#view!, r = this.#wait;
      this.#wait = null;
      v.set(b, 0);
      r(b.length);
    } else this.#pending = b;
  }
  read(view: Uint8Array): Promise<number> {
    const p = this.#pending;
    if (p !== null) {
      this.#pending = null;
      view.set(p, 0);
      return Promise.resolve(p.length);
    }
    this.#view = view;
    return new Promise((r) => this.#wait = r);
  }
  write(view: Uint8Array): Promise<number> {
    this.written += view.length;
    this.writes++;
    return Promise.resolve(view.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

const ADDR: PeerAddr = { ip: "127.0.0.1", port: 1, family: "ipv4" } as unknown as PeerAddr;

class Owner implements H2Owner {
  readonly sched = new Scheduler();
  // The process's pools read the scheduler's cached tick, not the clock.
  readonly pools = createPools(16384, 0, 16384, () => this.sched.now);
  readonly remote = ADDR;
  readonly local = ADDR;
  closedStreams = 0;
  onBatch: (() => void) | null = null;
  openStream(conn: H2Stream): boolean {
    // One buffer for every stream: the bench does not look at the request.
    conn.readNow(READ_BUF);
    void this.#serve(conn);
    return true;
  }
  async #serve(c: H2Stream): Promise<void> {
    const buf = READ_BUF;
    c.headCommitted(RESPONSE, PARSED, 0, PARSED.end);
    let off = 0;
    while (off < RESPONSE.length) off += await c.write(RESPONSE.subarray(off));
    await c.read(buf); // end of stream once the response is out
    c.close();
    if (++this.closedStreams % BATCH === 0) this.onBatch?.();
  }
  log(m: string): void {
    console.error(m);
  }
  closed(): void {}
  stopping(): boolean {
    return false;
  }
}

/**
 * The client's requests: BATCH HEADERS frames in one buffer, rewritten with
 * new stream ids each batch (the blocks are the same once HPACK indexed
 * them, as h2load's are).
 */
class Requests {
  readonly buf: Uint8Array;
  readonly #at: number[] = [];
  constructor(enc: HpackEncoder) {
    const names = [":method", ":path", ":scheme", ":authority", "user-agent"];
    const values = ["GET", "/", "http", "127.0.0.1:8080", "h2load nghttp2/1.52.0"];
    const blk = new Uint8Array(200);
    const first = new Uint8Array(BATCH * 200);
    let at = 0;
    this.#at = [];
    for (let i = 0; i < BATCH; i++) {
      // The first batch indexes the fields; the next ones are indexes only.
      const len = enc.encode(names, values, names.length, blk, 0);
      this.#at.push(at);
      at = writeFrameHeader(first, at, len, FT_HEADERS, FF_END_HEADERS | FF_END_STREAM, 1);
      first.set(blk.subarray(0, len), at);
      at += len;
    }
    this.first = first.slice(0, at);
    const len = enc.encode(names, values, names.length, blk, 0);
    this.buf = new Uint8Array(BATCH * (9 + len));
    for (let i = 0; i < BATCH; i++) this.buf.set(blk.subarray(0, len), i * (9 + len) + 9);
    this.#len = len;
  }
  first: Uint8Array;
  #len: number;
  /** The first batch (from stream `sid`). */
  firstFrom(sid: number): Uint8Array {
    for (let i = 0; i < BATCH; i++) {
      const at = this.#at[i]!, len = (this.#at[i + 1] ?? this.first.length) - at - 9;
      writeFrameHeader(
        this.first,
        at,
        len,
        FT_HEADERS,
        FF_END_HEADERS | FF_END_STREAM,
        sid + 2 * i,
      );
    }
    return this.first;
  }
  from(sid: number): Uint8Array {
    const len = this.#len;
    for (let i = 0; i < BATCH; i++) {
      writeFrameHeader(
        this.buf,
        i * (9 + len),
        len,
        FT_HEADERS,
        FF_END_HEADERS | FF_END_STREAM,
        sid + 2 * i,
      );
    }
    return this.buf;
  }
}

async function main(): Promise<void> {
  const owner = new Owner();
  const conn = new MemConn();
  const h2 = new H2Conn(conn, owner, { ...H2_DEFAULTS, maxConcurrentStreams: 1000 });
  h2.start();
  const hello = new Uint8Array(PREFACE.length + 9 + 9 + 13);
  hello.set(PREFACE, 0);
  let at = writeSettings(hello, PREFACE.length, []);
  // Our SETTINGS acknowledged, so that no settings timeout strikes.
  at = writeFrameHeader(hello, at, 0, 4, 1, 0);
  // The largest connection window: the responses never wait for it.
  writeWindowUpdate(hello, at, 0, 0x7fffffff - 65535);
  conn.feed(hello);
  const reqs = new Requests(new HpackEncoder());
  let sid = 1;
  const batch = async () => {
    const done = new Promise<void>((r) => owner.onBatch = r);
    conn.feed(sid === 1 ? reqs.firstFrom(sid) : reqs.from(sid));
    sid += 2 * BATCH;
    await done;
  };
  for (let i = 0; i < 2000; i++) await batch(); // JIT warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const w0 = conn.writes;
    const t0 = performance.now(), c0 = cpuUsage();
    for (let i = 0; i < ITER; i++) await batch();
    const us = (performance.now() - t0) * 1000 / (ITER * BATCH);
    // CPU time moves less than wall time when other processes share the core.
    const c = cpuUsage(c0), cpu = (c.user + c.system) / (ITER * BATCH);
    console.log(
      `round ${r + 1}: ${us.toFixed(2)} µs per stream (mux + fake stream), ${
        cpu.toFixed(2)
      } µs CPU, ${((conn.writes - w0) / ITER).toFixed(2)} socket writes per batch of ${BATCH}`,
    );
  }
  const session = new Session();
  const post = (m: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((res, rej) =>
      session.post(m, params, (e: unknown, r: unknown) => e ? rej(e) : res(r))
    );
  if (PROFILE || HEAP) session.connect();
  if (HEAP) {
    // One more round under V8's sampling heap profiler, keeping the samples
    // of objects the scavenger already freed: every byte allocated counts.
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    for (let i = 0; i < ITER; i++) await batch();
    const { profile } = await post("HeapProfiler.stopSampling") as { profile: HeapProfile };
    printHeapProfile(profile, ITER * BATCH, envInt("BENCH_PROFILE_TOP", 30, 1));
  }
  if (PROFILE) {
    // One more round under V8's sampling profiler (node:inspector, in process).
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: 50 });
    await post("Profiler.start");
    for (let i = 0; i < ITER; i++) await batch();
    const { profile } = await post("Profiler.stop") as { profile: Profile };
    printProfile(profile, envInt("BENCH_PROFILE_TOP", 30, 1));
  }
  Deno.exit(0);
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
interface HeapProfile {
  head: HeapNode;
}

/** Bytes allocated per stream by the `top` heaviest allocating functions (sampled). */
function printHeapProfile(p: HeapProfile, streams: number, top: number): void {
  const by = new Map<string, number>();
  let total = 0;
  const name = (n: HeapNode) => {
    const cf = n.callFrame;
    const short = cf.url.replace(/^.*\/(src|bench|ext)\//, "$1/").replace(/^file:\/\//, "");
    return `${cf.functionName || "(anon)"} ${short}:${cf.lineNumber + 1}`;
  };
  const walk = (n: HeapNode, caller: string) => {
    const k = name(n);
    if (n.selfSize > 0) {
      // A builtin (no url: subarray, Promise...) is shown with its caller.
      const key = n.callFrame.url === "" ? `${k} < ${caller}` : k;
      by.set(key, (by.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, k);
  };
  walk(p.head, "");
  console.log(`\nbytes allocated per stream (sampled): ${(total / streams).toFixed(0)}`);
  for (const [k, b] of [...by].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(b / streams).toFixed(0).padStart(6)}  ${k}`);
  }
}

await main();
