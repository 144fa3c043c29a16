// Scheduler runs per request: how many times the tasks (mostly streams'
// processStream()) run for one keep-alive HTTP/1.1 request (wrk -c 50) and
// one HTTP/2 request (h2c, h2load -c 10 -m 10). Every run pays for the error
// checks, both analyser chains, the timeouts and both interfaces' update();
// a run with nothing to decide is pure cost (stream/stream_wake.ts). The
// count does not depend on the machine's load, unlike CPU per request.
//
//   deno run --allow-all bench/stream_runs.ts
//
// Sluice runs in this process (its Scheduler.runs counter is read before and
// after each load), behind it one nginx worker; wrk and h2load are spawned.
// Environment: BENCH_DURATION (s of wrk, default 5), BENCH_H2_REQUESTS
// (default 50000), BENCH_SLUICE_ROOT (another Sluice tree, e.g. /work/main,
// measured the same way after this one and marked "[base]").

import { envInt } from "./lib/env.ts";
import { capture, freePort, hasCommand, ProcessGroup } from "./lib/proc.ts";
import { runWrk } from "./lib/wrk.ts";
import { startNginx } from "./lib/nginx.ts";
import { sluiceConfig } from "./lib/configs.ts";

const DURATION = envInt("BENCH_DURATION", 5, 1);
const H2_REQUESTS = envInt("BENCH_H2_REQUESTS", 50_000, 1000);
const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const baseRoot = (Deno.env.get("BENCH_SLUICE_ROOT") ?? "").replace(/\/$/, "");

for (const cmd of ["wrk", "h2load", "nginx"]) {
  if (!(await hasCommand(cmd))) throw new Error(`${cmd} is not installed`);
}

/** What the bench uses of a tree's process module. */
interface Proc {
  readonly sched: { runs: number; stop(): void };
  hardStop(): void;
}

/** Starts the Sluice of tree `root` in this process on `yaml`. */
async function startSluice(root: string, yaml: string, file: string): Promise<Proc> {
  const load = await import(`${root}/src/proxy/load.ts`);
  const process = await import(`${root}/src/proxy/process.ts`);
  await Deno.writeTextFile(file, yaml);
  const { config, compiled } = await load.loadConfigFile(file);
  if (config === null) throw new Error(`${root}: bad config ${file}`);
  return process.start(config, { quiet: true, debug: false }, compiled) as Proc;
}

/** Runs per request of tree `root`: HTTP/1.1 keep-alive, then h2c. */
async function measure(root: string, dir: string, backendPort: number): Promise<number[]> {
  const out: number[] = [];
  for (const h2 of [false, true]) {
    const port = freePort();
    const yaml = sluiceConfig({
      mode: "http",
      bindPort: port,
      backendPort,
      maxconn: 4096,
      bufsize: 16384,
      ...(h2 ? { bindOptions: "proto h2" } : {}),
    });
    const p = await startSluice(root, yaml, `${dir}/sluice_${h2 ? "h2" : "h1"}.yaml`);
    try {
      // start() has bound the listener (Deno.listen is synchronous).
      const url = `http://127.0.0.1:${port}/`;
      let n: number, r0: number;
      if (!h2) {
        await runWrk(url, { threads: 1, connections: 50, durationS: 1 }); // warm-up
        r0 = p.sched.runs;
        n = (await runWrk(url, { threads: 1, connections: 50, durationS: DURATION })).requests;
      } else {
        await capture("h2load", ["-n", "10000", "-c", "10", "-m", "10", url]); // warm-up
        r0 = p.sched.runs;
        const r = await capture("h2load", ["-n", String(H2_REQUESTS), "-c", "10", "-m", "10", url]);
        const m = /requests: \d+ total, \d+ started, (\d+) done/.exec(r.stdout);
        if (m === null) throw new Error(`h2load: ${r.stdout}${r.stderr}`);
        n = Number(m[1]);
      }
      out.push((p.sched.runs - r0) / n);
    } finally {
      p.hardStop();
      p.sched.stop();
    }
  }
  return out;
}

const dir = await Deno.makeTempDir({ prefix: "sluice_runs_bench_" });
const group = new ProcessGroup(true);
try {
  const backendPort = freePort();
  await startNginx(group, { dir, port: backendPort });
  const rows: [string, number[]][] = [["Sluice", await measure(here, dir, backendPort)]];
  if (baseRoot !== "") rows.push(["Sluice [base]", await measure(baseRoot, dir, backendPort)]);
  console.log("\nscheduler runs per request (GET / from nginx)\n");
  console.log("| tree | HTTP/1.1 keep-alive (wrk -c 50) | h2c (h2load -c 10 -m 10) |");
  console.log("| --- | --- | --- |");
  for (const [name, [h1, h2]] of rows) {
    console.log(`| ${name} | ${h1!.toFixed(2)} | ${h2!.toFixed(2)} |`);
  }
} finally {
  await group.stopAll();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
Deno.exit(0);
