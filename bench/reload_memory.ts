// Memory over many reloads: runs a proxy in this process, reloads it
// BENCH_RELOADS times (default 100) alternating two configurations that
// differ in servers and rules, with keep-alive HTTP traffic between reloads
// (a client on an old frontend gets `Connection: close` and reconnects), and
// prints the heap and RSS after a full GC at a few points, and how many old
// configuration generations are still alive (tracked with WeakRefs on the
// old frontends). Old generations must all be collected once their last
// stream ended: the heap stays flat. The RSS of this process also counts
// the client's own memory (compare BENCH_CONTROL=1), so a second phase runs
// main.ts as a child, reloads it with SIGHUP as often, and prints the
// child's RSS and descriptor count (from /proc).
//
//   deno run -A --v8-flags=--expose-gc bench/reload_memory.ts
//   BENCH_RELOADS=100 BENCH_REQUESTS=20 BENCH_JSON=1 ... (JSON on the last line)
//   BENCH_CONTROL=1 ...  the same traffic without the reloads, for comparison
//   BENCH_CHILD=0 ...    the first phase only
//
// tests/e2e/ops/reload_memory_test.ts runs it and checks that no old
// generation is left.

import { envFlag, envInt } from "./lib/env.ts";
import { freePort, ProcessGroup, sleep, waitForPort } from "./lib/proc.ts";
import { countFds, readRssKiB } from "./lib/procfs.ts";
import { start } from "../src/proxy/process.ts";
import { loadConfigFile } from "../src/proxy/load.ts";
import { Reloader } from "../src/proxy/reload.ts";
import type { Frontend } from "../src/frontend/frontend.ts";

const RELOADS = envInt("BENCH_RELOADS", 100, 1);
const REQUESTS = envInt("BENCH_REQUESTS", 20, 1);
const JSON_OUT = envFlag("BENCH_JSON", false);
/** Control run: the same traffic, the file rewritten, but no reload (what traffic alone costs). */
const CONTROL = envFlag("BENCH_CONTROL", false);
/** Run the second phase (main.ts in a child process). */
const CHILD = envFlag("BENCH_CHILD", true);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with --v8-flags=--expose-gc");
  Deno.exit(2);
}

/** Two origins answering 200 with their name. */
function origin(name: string): Deno.HttpServer {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(name),
  );
}
const origins = [origin("o1"), origin("o2"), origin("o3")];
const ports = origins.map((o) => (o.addr as Deno.NetAddr).port);

function config(gen: number): string {
  const servers = gen % 2 === 0 ? [0, 1] : [1, 2];
  return `
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s, http-keep-alive: 300ms }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    acl: ["is_x path_beg /x${gen % 2}"]
    http-request: ["set-header X-Gen ${gen % 2} if is_x"]
    http-response: ["set-header X-Gen ${gen % 2}"]
backends:
  be:
    balance: roundrobin
    servers:
${servers.map((i) => `      - { name: o${i + 1}, address: "127.0.0.1:${ports[i]}" }`).join("\n")}
`;
}

const file = await Deno.makeTempFile({ prefix: "sluice-reload-mem-", suffix: ".yaml" });
await Deno.writeTextFile(file, config(0));
const loaded = await loadConfigFile(file);
if (loaded.config === null) throw new Error("bad bench config");
const proc = start(loaded.config, { quiet: true, debug: false }, loaded.compiled);
const reloader = new Reloader(proc, file);
const port = proc.listeners[0]!.sock!.local as { port: number };
const url = `http://127.0.0.1:${port.port}/`;
const client = Deno.createHttpClient({});

const old: WeakRef<Frontend>[] = [];
const mem = () => {
  gc();
  const m = Deno.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, heapTotal: m.heapTotal };
};
const mib = (n: number) => (n / 1048576).toFixed(1);

async function traffic(): Promise<void> {
  for (let i = 0; i < REQUESTS; i++) {
    const r = await fetch(url, { client });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`status ${r.status}`);
  }
}

const points: {
  reloads: number;
  heapUsed: number;
  rss: number;
  external: number;
  heapTotal: number;
  alive: number;
}[] = [];
/** Duration of each measured reload (read, validate, compile, apply), ms. */
const reloadMs: number[] = [];
const alive = () => old.filter((w) => w.deref() !== undefined).length;
// Warm-up: JIT, pools and caches reach their working size first.
for (let i = 0; i < 5; i++) {
  await traffic();
  old.push(new WeakRef(proc.frontends[0]!));
  const r = await reloader.reload();
  if (!r.ok) throw new Error(r.messages.join("\n"));
}
old.length = 0;
await new Promise((r) => setTimeout(r, 600));
points.push({ reloads: 0, ...mem(), alive: 0 });
for (let i = 1; i <= RELOADS; i++) {
  await traffic();
  old.push(new WeakRef(proc.frontends[0]!));
  await Deno.writeTextFile(file, config(i));
  if (!CONTROL) {
    const t0 = performance.now();
    const r = await reloader.reload();
    reloadMs.push(performance.now() - t0);
    if (!r.ok) throw new Error(r.messages.join("\n"));
  }
  if (i === 10 || i === Math.floor(RELOADS / 2) || i === RELOADS) {
    // Idle keep-alive connections of old frontends end after http-keep-alive.
    await new Promise((r) => setTimeout(r, 600));
    points.push({ reloads: i, ...mem(), alive: alive() });
  }
}
await new Promise((r) => setTimeout(r, 600));
const final = { reloads: RELOADS, ...mem(), alive: alive() };

for (const p of points) {
  console.log(
    `after ${String(p.reloads).padStart(4)} reloads: heap ${mib(p.heapUsed)} MiB, ` +
      `rss ${mib(p.rss)} MiB, external ${mib(p.external)} MiB, heapTotal ${
        mib(p.heapTotal)
      } MiB, old generations alive ${p.alive}`,
  );
}
console.log(
  `client closed: heap ${mib(final.heapUsed)} MiB, rss ${mib(final.rss)} MiB, ` +
    `old generations alive ${final.alive} of ${RELOADS}`,
);
proc.hardStop();

// Phase 2: main.ts in a child, reloaded by SIGHUP; its RSS and descriptors.
const child: { reloads: number; rssKiB: number; fds: number }[] = [];
if (CHILD && !CONTROL) {
  const group = new ProcessGroup(true);
  const errFile = await Deno.makeTempFile({ prefix: "sluice-reload-mem-", suffix: ".err" });
  const cport = freePort();
  const childConfig = (gen: number) => config(gen).replace('"127.0.0.1:0"', `"127.0.0.1:${cport}"`);
  await Deno.writeTextFile(file, childConfig(0));
  const main = new URL("../main.ts", import.meta.url).pathname;
  try {
    const p = group.spawn("sluice", Deno.execPath(), ["run", "-A", main, "-f", file], {
      stderrFile: errFile,
    });
    await waitForPort(cport, p, 30_000);
    const curl = `http://127.0.0.1:${cport}/`;
    const done = (n: number) => Deno.readTextFileSync(errFile).includes(`reload #${n} done`);
    const childTraffic = async () => {
      for (let i = 0; i < REQUESTS; i++) {
        const r = await fetch(curl, { client });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`status ${r.status}`);
      }
    };
    for (let i = 1; i <= RELOADS + 5; i++) {
      await childTraffic();
      await Deno.writeTextFile(file, childConfig(i));
      Deno.kill(p.pid, "SIGHUP");
      const end = Date.now() + 10_000;
      while (!done(i)) {
        if (Date.now() > end) throw new Error(`reload ${i}: ${p.stderrTail()}`);
        await sleep(5);
      }
      const k = i - 5; // the first 5 are the warm-up
      if (k === 0 || k === 10 || k === Math.floor(RELOADS / 2) || k === RELOADS) {
        await sleep(600);
        child.push({ reloads: k, rssKiB: readRssKiB(p.pid), fds: countFds(p.pid) });
      }
    }
  } finally {
    await group.stopAll();
    await Deno.remove(errFile).catch(() => {});
  }
  for (const c of child) {
    console.log(
      `main.ts child after ${String(c.reloads).padStart(4)} SIGHUP reloads: ` +
        `rss ${(c.rssKiB / 1024).toFixed(1)} MiB, ${c.fds} descriptors`,
    );
  }
}
client.close();
if (reloadMs.length > 0) {
  const sorted = [...reloadMs].sort((a, b) => a - b);
  console.log(
    `reload duration (read + validate + compile + apply, in-process): median ` +
      `${sorted[sorted.length >> 1]!.toFixed(1)} ms, max ${
        sorted[sorted.length - 1]!.toFixed(1)
      } ms`,
  );
}
if (JSON_OUT) console.log(JSON.stringify({ points, final, child }));
for (const o of origins) await o.shutdown();
await Deno.remove(file);
Deno.exit(0);
