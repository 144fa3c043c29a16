// Where the HTTP/2 mux spends its CPU: Sluice (`proto h2` bind, nginx
// backend) under `h2load -c C -m M` while V8's sampling profiler runs
// through the inspector (Deno's V8 logs are not readable by Node's
// --prof-process). Prints the functions with the most self and inclusive
// time, the files with the most self time, and the busy time by area (src/
// folder, socket I/O, Deno's glue, GC) in µs per request.
//
// Usage: flock /work/bench.lock deno run -A bench/h2_profile.ts
// Tunables: BENCH_DURATION (5 s), BENCH_H2_CLIENTS (10), BENCH_H2_STREAMS
// (10), BENCH_PROFILE_TOP (40), BENCH_PROFILE_OUT (a .cpuprofile file to
// write for DevTools), and the common ones (bench/README.md).

import { commonSettings, envInt } from "./lib/env.ts";
import { capture, freePort, ProcessGroup, sleep, waitForPort } from "./lib/proc.ts";
import { startNginx } from "./lib/nginx.ts";
import { clockTicksPerSecond, readCpuTicks } from "./lib/procfs.ts";
import { printProfile, type Profile } from "./lib/cpu_profile.ts";
import { runH2load, sluiceH2Config, spawnSluice } from "./lib/h2_sluice.ts";

const s = commonSettings("");
const DURATION = envInt("BENCH_DURATION", 5, 1);
const CLIENTS = envInt("BENCH_H2_CLIENTS", 10, 1);
const STREAMS = envInt("BENCH_H2_STREAMS", 10, 1);
const TOP = envInt("BENCH_PROFILE_TOP", 40, 1);

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
class Inspector {
  #ws: WebSocket;
  #seq = 0;
  #wait = new Map<number, (r: unknown) => void>();
  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id !== undefined) this.#wait.get(m.id)?.(m.result);
    };
  }
  static async open(port: number): Promise<Inspector> {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise((r, j) => {
      ws.onopen = r;
      ws.onerror = j;
    });
    return new Inspector(ws);
  }
  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#seq;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((r) => this.#wait.set(id, r));
  }
  close(): void {
    this.#ws.close();
  }
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-h2-prof-" });
  const group = new ProcessGroup(true);
  try {
    const backend = freePort();
    await startNginx(group, { dir, port: backend, cpus: s.loadCpu });
    const port = freePort(), insp = freePort();
    await Deno.writeTextFile(`${dir}/sluice.yaml`, sluiceH2Config(s, port, backend));
    const proc = spawnSluice(group, s, dir, [`--inspect=127.0.0.1:${insp}`]);
    await waitForPort(port, proc, 60_000);
    const url = `http://127.0.0.1:${port}/`;
    await capture("h2load", ["-n", "20000", "-c", "4", "-m", "10", url]); // JIT warm-up
    const ins = await Inspector.open(insp);
    await ins.call("Profiler.enable");
    await ins.call("Profiler.setSamplingInterval", { interval: 100 });
    await ins.call("Profiler.start");
    const hz = await clockTicksPerSecond();
    const t0 = readCpuTicks(proc.pid);
    const r = await runH2load(s, {
      clients: CLIENTS,
      streams: STREAMS,
      duration: DURATION,
      url,
    });
    const cpu = (readCpuTicks(proc.pid) - t0) / hz;
    const res = await ins.call("Profiler.stop") as { profile: Profile };
    ins.close();
    console.log(/finished in .*/.exec(r.stdout)?.[0] ?? r.stdout.slice(-400));
    const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(r.stdout)?.[1] ?? 0);
    const usPerReq = done > 0 ? cpu * 1e6 / done : 0;
    console.log(`proxy CPU per request (user + system, profiler on): ${usPerReq.toFixed(1)} µs`);
    const out = Deno.env.get("BENCH_PROFILE_OUT");
    if (out) await Deno.writeTextFile(out, JSON.stringify(res.profile));
    printProfile(res.profile, TOP, usPerReq);
    await sleep(100);
  } finally {
    await group.stopAll();
    if (!s.keepTmp) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();
