// Micro bench of Sluice's own JavaScript per HTTP/2 request, the whole path
// in memory: the client's HEADERS through the h2 mux, a Stream and its
// analysers, a keep-alive server connection taken from the idle pool, the
// server's response parsed and turned into HEADERS/DATA, the Stream's end.
// No socket and no runtime op: what it prints is the part of the CPU per
// request that Sluice's code decides, without the kernel's loopback work and
// Deno's op machinery (bench/h2_load.ts measures the whole; the runtime's
// share per server round trip is bench/lib/deno_floor.ts's business).
//
// A Process is built from the configuration of bench/h2_load.ts (`proto h2`
// bind, one server, keep-alive) without binding anything; its protocol is
// replaced by one whose connections answer every request with nginx's reply
// of the load bench (6 bytes), and the HTTP/2 connection is handed to it as
// the listener would. Each of CONNS clients sends BATCH requests per read,
// as `h2load -c CONNS -m BATCH` does, and the next batches go once every
// response has ended (CONNS x BATCH requests in flight, as under h2load).
//
// Usage: deno run -A bench/h2_path_bench.ts
// Tunables: BENCH_H2_CLIENTS (10), BENCH_H2_STREAMS (batch, 10), BENCH_ROUNDS (5), BENCH_ITER
// (rounds of batches, 1000), BENCH_PROFILE=1 (one more round under the
// sampling profiler: the heaviest functions and files). Run it with the
// start task's V8 flags to measure what users run (docs/operations.md).

import { cpuUsage } from "node:process";
import { HpackEncoder } from "../src/h2/hpack.ts";
import type { Address } from "../src/config/types.ts";
import type { Conn, PeerAddr, Protocol } from "../src/listener/protocol.ts";
import { loadConfigText } from "../src/proxy/load.ts";
import { Process } from "../src/proxy/process.ts";
import { envFlag, envInt } from "./lib/env.ts";
import { profileInProcess } from "./lib/cpu_profile.ts";
import { clientHello, MemConn, Requests } from "./lib/h2_mem.ts";

const BATCH = envInt("BENCH_H2_STREAMS", 10, 1);
const CONNS = envInt("BENCH_H2_CLIENTS", 10, 1);
const ROUNDS = envInt("BENCH_ROUNDS", 5, 1);
const ITER = envInt("BENCH_ITER", 1000, 1);
const PROFILE = envFlag("BENCH_PROFILE", false);

const YAML = `
global: { maxconn: 4096, bufsize: 16k, log: none }
defaults: { mode: http, maxconn: 4096, timeout: { connect: 5s, client: 60s, server: 60s }, option: [http-keep-alive] }
frontends:
  fe:
    bind: "127.0.0.1:1 proto h2"
    default_backend: be
backends: { be: { balance: roundrobin, servers: [ { name: s1, address: "127.0.0.1:2" } ] } }
`;

/** nginx's reply in the load bench (`return 200 "hello\\n"`). */
const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 11:30:00 GMT\r\n" +
    "Content-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nhello\n",
);

/**
 * A keep-alive server connection: each write is one request (a GET head,
 * written whole), each read gets one response per request written.
 */
class ServerConn implements Conn {
  #owed = 0;
  #wait: ((n: number) => void) | null = null;
  #view: Uint8Array | null = null;
  write(view: Uint8Array): Promise<number> {
    const w = this.#wait;
    if (w !== null) {
      this.#wait = null;
      this.#view!.set(RESPONSE, 0);
      w(RESPONSE.length);
    } else this.#owed++;
    return Promise.resolve(view.length);
  }
  read(view: Uint8Array): Promise<number> {
    if (this.#owed > 0) {
      this.#owed--;
      view.set(RESPONSE, 0);
      return Promise.resolve(RESPONSE.length);
    }
    this.#view = view;
    return new Promise((r) => this.#wait = r);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    // A read in flight is dropped (never settles): the bench's server
    // connections stay in the idle pool and are not closed while it runs.
    this.#wait = null;
  }
}

/** Connects to the in-memory server; binds nothing. */
const memProto: Protocol = {
  name: "mem",
  bind(_addr: Address): never {
    throw new Error("the bench binds nothing");
  },
  connect(): Promise<Conn> {
    connects++;
    return Promise.resolve(new ServerConn());
  },
};
let connects = 0;

/** Counts the response frames that end a stream (DATA or HEADERS with END_STREAM). */
function endsIn(b: Uint8Array): number {
  let n = 0;
  for (let at = 0; at + 9 <= b.length;) {
    const len = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
    const type = b[at + 3]!, flags = b[at + 4]!;
    if ((type === 0 || type === 1) && (flags & 1)) n++;
    at += 9 + len;
  }
  return n;
}

async function main(): Promise<void> {
  const loaded = loadConfigText(YAML, "h2_path_bench.yaml");
  if (loaded.config === null) throw new Error("the bench's configuration does not load");
  const proc = new Process(loaded.config, { quiet: true, debug: false }, loaded.compiled);
  (proc as { proto: Protocol }).proto = memProto;
  const fe = proc.frontends[0]!;
  const addr: PeerAddr = { ip: "127.0.0.1", port: 40000 };
  const local: PeerAddr = { ip: "127.0.0.1", port: 1 };
  let ended = 0, want = 0;
  let done: (() => void) | null = null;
  const onWrite = (b: Uint8Array) => {
    ended += endsIn(b);
    if (ended >= want && done !== null) {
      const d = done;
      done = null;
      d();
    }
  };
  const conns: MemConn[] = [];
  for (let c = 0; c < CONNS; c++) {
    const conn = new MemConn();
    conn.onWrite = onWrite;
    proc.actconn++; // as the listener counts it
    proc.startH2(fe, conn, { ...addr, port: addr.port + c }, local);
    conn.feed(clientHello());
    conns.push(conn);
  }
  const reqs = conns.map(() => new Requests(new HpackEncoder(), BATCH));
  let sid = 1;
  const batch = async () => {
    want += BATCH * CONNS;
    const p = new Promise<void>((r) => done = r);
    for (let c = 0; c < CONNS; c++) {
      conns[c]!.feed(sid === 1 ? reqs[c]!.firstFrom(sid) : reqs[c]!.from(sid));
    }
    sid += 2 * BATCH;
    await p;
  };
  const writes = () => conns.reduce((n, c) => n + c.writes, 0);
  for (let i = 0; i < 100000 / (BATCH * CONNS); i++) await batch(); // JIT warm-up
  const stot = () => fe.counters.httpResp[2]!;
  for (let r = 0; r < ROUNDS; r++) {
    const w0 = writes(), q0 = stot();
    const t0 = performance.now(), c0 = cpuUsage();
    for (let i = 0; i < ITER; i++) await batch();
    const n = ITER * BATCH * CONNS;
    const us = (performance.now() - t0) * 1000 / n;
    const c = cpuUsage(c0), cpu = (c.user + c.system) / n;
    console.log(
      `round ${r + 1}: ${us.toFixed(2)} µs per request, ${cpu.toFixed(2)} µs CPU; ` +
        `${((writes() - w0) / (ITER * CONNS)).toFixed(2)} writes per client batch of ${BATCH}, ` +
        `${stot() - q0} 2xx responses counted, ${connects} server connections in all`,
    );
  }
  if (PROFILE) {
    await profileInProcess(async () => {
      for (let i = 0; i < ITER; i++) await batch();
    }, envInt("BENCH_PROFILE_TOP", 30, 1));
  }
  Deno.exit(0);
}

await main();
