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
// Usage: deno run -A bench/op_floor.ts
// Tunables: BENCH_DURATION (s per round, 5), BENCH_ROUNDS (3), BENCH_CONNS
// (50), and the common ones (BENCH_PROXY_CPU for the client, BENCH_LOAD_CPU
// for nginx).

import { cpuUsage } from "node:process";
import { commonSettings, envInt } from "./lib/env.ts";
import { ProcessGroup } from "./lib/proc.ts";
import { startNginx } from "./lib/nginx.ts";
import { freePort } from "./lib/proc.ts";

const DURATION = envInt("BENCH_DURATION", 5, 1);
const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const CONNS = envInt("BENCH_CONNS", 50, 1);

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

/** The client (a child process pinned to the proxy's core). */
async function client(port: number): Promise<void> {
  const internal = Reflect.get(Deno, "internal") as symbol;
  const core = Reflect.get(Reflect.get(Deno, internal), "core") as { read: RidOp; write: RidOp };
  const loops: Loop[] = [];
  for (let i = 0; i < CONNS; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const sym = Object.getOwnPropertySymbols(c).find((s) => s.description === "Deno.internal.rid");
    loops.push(new Loop(Reflect.get(c, sym!) as number, core));
  }
  for (const l of loops) l.start();
  const total = () => loops.reduce((n, l) => n + l.count, 0);
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
        `the client on core ${s.proxyCpu}, core.write + core.read per request`,
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
