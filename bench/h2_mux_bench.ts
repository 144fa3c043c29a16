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
import { HpackEncoder } from "../src/h2/hpack.ts";
import type { PeerAddr } from "../src/listener/protocol.ts";
import { clientHello, MemConn, Requests } from "./lib/h2_mem.ts";
import { H2Conn } from "../src/mux/h2_conn.ts";
import type { H2Stream } from "../src/mux/h2_stream.ts";
import { parseResponseHead as parseHttp1Response } from "../src/http/h1_parse.ts";
import { HttpHead, METH_GET } from "../src/http/types.ts";
import { H2_DEFAULTS, type H2Owner } from "../src/mux/types.ts";
import { Scheduler } from "../src/task/scheduler.ts";
import { Session } from "node:inspector";
import { cpuUsage } from "node:process";
import { envFlag, envInt } from "./lib/env.ts";
import { profileInProcess } from "./lib/cpu_profile.ts";

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

async function main(): Promise<void> {
  const owner = new Owner();
  const conn = new MemConn();
  const h2 = new H2Conn(conn, owner, { ...H2_DEFAULTS, maxConcurrentStreams: 1000 });
  h2.start();
  conn.feed(clientHello());
  const reqs = new Requests(new HpackEncoder(), BATCH);
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
  if (HEAP) session.connect();
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
    await profileInProcess(async () => {
      for (let i = 0; i < ITER; i++) await batch();
    }, envInt("BENCH_PROFILE_TOP", 30, 1));
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
