// Map routing bench: keep-alive requests/s through
// `use_backend %[req.hdr(host),lower,map_dom(hosts.map,be_default)]` with a
// map of 10 entries and with one of 100,000, same proxy build, same backend
// (nginx when installed, else bench/lib/stub_backend.ts), same wrk load.
// The map lookup must not grow with the map: the ratio should be ~1.0.
//
// Usage: deno run -A bench/map_bench.ts
// Environment: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (runs per
// size, alternated, default 3), BENCH_CONNECTIONS (default 32), BENCH_PROXY_CPU
// / BENCH_LOAD_CPU (taskset CPU lists, defaults "1" / "0").
//
// The figures are medians of the rounds; the machine may be shared, so read
// the ratio, not the absolute rates.

import { envInt } from "./lib/env.ts";
import { freePort, hasCommand, ProcessGroup, waitForPort } from "./lib/proc.ts";
import { median } from "./lib/report.ts";
import { runWrk } from "./lib/wrk.ts";
import { startNginx } from "./lib/nginx.ts";

const DURATION = envInt("BENCH_DURATION", 5, 1);
const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const CONNS = envInt("BENCH_CONNECTIONS", 32, 1);
const PROXY_CPU = Deno.env.get("BENCH_PROXY_CPU") ?? "1";
const LOAD_CPU = Deno.env.get("BENCH_LOAD_CPU") ?? "0";
const SIZES = [10, 100_000];
const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;

const tmp = await Deno.makeTempDir({ prefix: "sluice_map_bench_" });
const group = new ProcessGroup(true);
try {
  if (!(await hasCommand("wrk"))) throw new Error("wrk is not installed");
  const backendPort = freePort();
  if (await hasCommand("nginx")) {
    await startNginx(group, { dir: tmp, port: backendPort, cpus: LOAD_CPU });
  } else {
    const stub = new URL("./lib/stub_backend.ts", import.meta.url).pathname;
    const p = group.spawn("stub", Deno.execPath(), [
      "run",
      "--allow-net",
      stub,
      String(backendPort),
      "0",
    ], { cpus: LOAD_CPU });
    await waitForPort(backendPort, p, 30_000);
  }

  // Host host5.example.com is in both maps and routes to `be`; every other
  // entry names a backend too, so the lookup does the same work in both.
  const host = "www.Host5.example.com";
  const rates = new Map<number, number[]>(SIZES.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of SIZES) {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(`host${i}.example.com ${i === 5 ? "be" : "be_other"}`);
      await Deno.writeTextFile(`${tmp}/hosts_${n}.map`, lines.join("\n") + "\n");
      const port = freePort();
      const cfg = `${tmp}/sluice_${n}.yaml`;
      await Deno.writeTextFile(
        cfg,
        `global: { maxconn: 4096, log: none }
defaults:
  mode: http
  timeout: { connect: 5s, client: 30s, server: 30s }
frontends:
  fe:
    bind: "127.0.0.1:${port}"
    use_backend: ["%[req.hdr(host),lower,map_dom(hosts_${n}.map,be_default)]"]
    default_backend: be_default
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ] }
  be_other: { servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ] }
  be_default: { servers: [ { name: s1, address: "127.0.0.1:1" } ] }
`,
      );
      const p = group.spawn("sluice", Deno.execPath(), ["run", "-A", MAIN_TS, "-f", cfg], {
        cpus: PROXY_CPU,
        stderrFile: `${tmp}/sluice_${n}.stderr`,
        env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
      });
      await waitForPort(port, p, 60_000);
      // Warm-up (JIT), then the measured run.
      await runWrk(`http://127.0.0.1:${port}/`, {
        threads: 1,
        connections: CONNS,
        durationS: 1,
        cpus: LOAD_CPU,
        headers: [`Host: ${host}`],
      });
      const r = await runWrk(`http://127.0.0.1:${port}/`, {
        threads: 1,
        connections: CONNS,
        durationS: DURATION,
        cpus: LOAD_CPU,
        headers: [`Host: ${host}`],
      });
      if (r.non2xx > 0 || r.socketErrors > 0) {
        throw new Error(`${n} entries: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      }
      rates.get(n)!.push(r.requestsPerSec);
      await group.stop(p);
    }
  }
  const small = median(rates.get(10)!) ?? 0;
  const large = median(rates.get(100_000)!) ?? 0;
  console.log(`map_dom routing, keep-alive, ${CONNS} connections, ${DURATION}s x ${ROUNDS} rounds`);
  for (const n of SIZES) {
    const rs = rates.get(n)!;
    console.log(
      `  ${String(n).padStart(7)} entries: median ${Math.round(median(rs) ?? 0)} req/s ` +
        `(runs: ${rs.map((x) => Math.round(x)).join(", ")})`,
    );
  }
  console.log(`  ratio 100,000 / 10: ${(large / small).toFixed(3)} (1.0 = no cost from map size)`);
} finally {
  await group.stopAll();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}
