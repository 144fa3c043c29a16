// The runtime's floor per server round trip: what Deno itself costs for the
// one request write and one response read a proxy makes per HTTP request on
// a keep-alive server connection, with no proxy logic at all. A client
// pinned to the proxy's core keeps CONNS connections to nginx busy, each
// writing a GET and reading the 6-byte reply in a loop, through the same
// runtime ops Sluice uses (src/listener/deno_conn.ts: core.write and
// core.read on the socket's resource id, a promise each, the callbacks bound
// once). It prints the client's CPU per round trip, user and system apart.
// Compare with the CPU per request of Sluice and HAProxy in bench/h2_load.ts:
// HAProxy's whole user time per HTTP/2 request is about twice this floor's.
//
// BENCH_FLOOR_FFI=1 makes the same round trips on raw system calls through
// Deno's FFI instead (libc socket, connect, send and recv with MSG_DONTWAIT
// as synchronous calls; epoll_wait as a non-blocking FFI call, one promise
// per batch of ready sockets): what a transport bypassing the runtime's ops
// could save at most.
//
// Usage: deno run -A bench/op_floor.ts
// Tunables: BENCH_DURATION (s per round, 5), BENCH_ROUNDS (3), BENCH_CONNS
// (50), BENCH_FLOOR_FFI (0), and the common ones (BENCH_PROXY_CPU for the client, BENCH_LOAD_CPU
// for nginx).

import { cpuUsage } from "node:process";
import { commonSettings, envInt } from "./lib/env.ts";
import { ProcessGroup } from "./lib/proc.ts";
import { startNginx } from "./lib/nginx.ts";
import { freePort } from "./lib/proc.ts";

const DURATION = envInt("BENCH_DURATION", 5, 1);
const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const CONNS = envInt("BENCH_CONNS", 50, 1);
const FFI = envInt("BENCH_FLOOR_FFI", 0, 0) === 1;

type RidOp = (rid: number, view: Uint8Array) => Promise<number>;

const REQUEST = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: bench\r\n\r\n");

/** One keep-alive connection doing write, read, write, read... until told to stop. */
class Loop {
  readonly #rid: number;
  readonly #ops: { read: RidOp; write: RidOp };
  readonly #buf = new Uint8Array(16384);
  readonly #onWrite = () => this.#read();
  readonly #onRead = (n: number) => {
    if (n <= 0) throw new Error("nginx closed the connection");
    this.count++;
    if (!this.stop) this.#write();
  };
  count = 0;
  stop = false;
  constructor(rid: number, ops: { read: RidOp; write: RidOp }) {
    this.#rid = rid;
    this.#ops = ops;
  }
  #write(): void {
    this.#ops.write(this.#rid, REQUEST).then(this.#onWrite);
  }
  #read(): void {
    this.#ops.read(this.#rid, this.#buf).then(this.#onRead);
  }
  start(): void {
    this.#write();
  }
}

/** The round trips through the runtime's ops; returns the count so far. */
async function opsLoops(port: number): Promise<() => number> {
  const internal = Reflect.get(Deno, "internal") as symbol;
  const core = Reflect.get(Reflect.get(Deno, internal), "core") as { read: RidOp; write: RidOp };
  const loops: Loop[] = [];
  for (let i = 0; i < CONNS; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const sym = Object.getOwnPropertySymbols(c).find((s) => s.description === "Deno.internal.rid");
    loops.push(new Loop(Reflect.get(c, sym!) as number, core));
  }
  for (const l of loops) l.start();
  return () => loops.reduce((n, l) => n + l.count, 0);
}

/** The round trips on raw system calls through FFI; returns the count so far. */
function ffiLoops(port: number): () => number {
  const libc = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
    recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
    epoll_create1: { parameters: ["i32"], result: "i32" },
    epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
    epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  });
  const L = libc.symbols;
  const MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, MAXEV = 256;
  const sa = new Uint8Array(16), ev = new Uint8Array(12), evs = new Uint8Array(12 * MAXEV);
  const sav = new DataView(sa.buffer), evv = new DataView(ev.buffer);
  const evsv = new DataView(evs.buffer);
  sav.setUint16(0, 2, true); // AF_INET
  sav.setUint16(2, port, false);
  sa.set([127, 0, 0, 1], 4);
  const one = new Uint8Array(new Int32Array([1]).buffer), buf = new Uint8Array(16384);
  const ep = L.epoll_create1(0);
  const fds: number[] = [];
  for (let i = 0; i < CONNS; i++) {
    const fd = L.socket(2, 1, 0); // AF_INET, SOCK_STREAM
    if (fd < 0 || L.connect(fd, sa, 16) !== 0) throw new Error("cannot connect to nginx");
    L.setsockopt(fd, 6, 1, one, 4); // TCP_NODELAY, as Sluice's sockets
    evv.setUint32(0, 1, true); // EPOLLIN
    evv.setUint32(4, fd, true);
    L.epoll_ctl(ep, 1, fd, ev); // EPOLL_CTL_ADD
    fds.push(fd);
  }
  let count = 0;
  const send = (fd: number) => L.send(fd, REQUEST, REQUEST.length, MSG_DONTWAIT | MSG_NOSIGNAL);
  (async () => {
    for (;;) {
      const n = await L.epoll_wait(ep, evs, MAXEV, 1000);
      for (let i = 0; i < n; i++) {
        const fd = evsv.getUint32(i * 12 + 4, true);
        if (L.recv(fd, buf, buf.length, MSG_DONTWAIT) <= 0) continue;
        count++;
        send(fd);
      }
    }
  })();
  for (const fd of fds) send(fd);
  return () => count;
}

/** The client (a child process pinned to the proxy's core). */
async function client(port: number): Promise<void> {
  const total = FFI ? ffiLoops(port) : await opsLoops(port);
  await new Promise((r) => setTimeout(r, 2000)); // JIT warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const n0 = total(), c0 = cpuUsage();
    await new Promise((res) => setTimeout(res, DURATION * 1000));
    const n = total() - n0, c = cpuUsage(c0);
    console.log(
      `round ${r + 1}: ${Math.round(n / DURATION)} round trips/s, CPU per round trip ` +
        `${((c.user + c.system) / n).toFixed(2)} µs (user ${(c.user / n).toFixed(2)}, ` +
        `system ${(c.system / n).toFixed(2)})`,
    );
  }
  Deno.exit(0);
}

async function main(): Promise<void> {
  if (Deno.args[0] === "--client") return await client(Number(Deno.args[1]));
  const s = commonSettings("");
  const group = new ProcessGroup(true);
  const dir = await Deno.makeTempDir({ prefix: "sluice-op-floor-" });
  try {
    const port = freePort();
    await startNginx(group, { dir, port, cpus: s.loadCpu });
    console.log(
      `Deno's floor per server round trip: ${CONNS} keep-alive connections to nginx (core ${s.loadCpu}), ` +
        `the client on core ${s.proxyCpu}, ` +
        (FFI
          ? "send + recv through FFI, epoll_wait per batch"
          : "core.write + core.read per request"),
    );
    const p = group.spawn("client", Deno.execPath(), [
      "run",
      "--allow-all",
      new URL(import.meta.url).pathname,
      "--client",
      String(port),
    ], { cpus: s.proxyCpu, stdoutFile: `${dir}/client.out`, stderrFile: `${dir}/client.err` });
    const st = await p.done();
    const out = await Deno.readTextFile(`${dir}/client.out`);
    console.log(out.trimEnd());
    if (!st.success) throw new Error(`the client failed: ${p.stderrTail()}`);
  } finally {
    await group.stopAll();
    if (!s.keepTmp) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();
