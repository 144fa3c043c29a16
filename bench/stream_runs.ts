// Scheduler runs per request: how many times the tasks (mostly streams'
// processStream()) run for one keep-alive HTTP/1.1 request (wrk -c 50) and
// one HTTP/2 request (h2c, h2load -c 10 -m 10). Every run pays for the error
// checks, both analyser chains, the timeouts and both interfaces' update();
// a run with nothing to decide is pure cost (stream/stream_wake.ts). The
// count does not depend on the machine's load, unlike CPU per request.
// Also per request, two costs a run may hide: clock reads (performance.now()
// is a runtime op, task/ticks.ts) and Uint8Array views made by subarray()
// (an allocation each; channel/channel.ts keeps its region views), counted
// by wrapping both in this process.
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

/** Calls of performance.now() and of Uint8Array.prototype.subarray() so far. */
const calls = { now: 0, views: 0 };
{
  const now = performance.now.bind(performance);
  performance.now = () => {
    calls.now++;
    return now();
  };
  const subarray = Uint8Array.prototype.subarray;
  Uint8Array.prototype.subarray = function (this: Uint8Array, begin?: number, end?: number) {
    calls.views++;
    return subarray.call(this, begin, end);
  } as typeof subarray;
}

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

/** Per request of tree `root`: runs, clock reads, views; HTTP/1.1 keep-alive, then h2c. */
async function measure(root: string, dir: string, backendPort: number): Promise<number[][]> {
  const out: number[][] = [];
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
      let n: number, r0: number, c0 = { ...calls };
      if (!h2) {
        await runWrk(url, { threads: 1, connections: 50, durationS: 1 }); // warm-up
        r0 = p.sched.runs;
        c0 = { ...calls };
        n = (await runWrk(url, { threads: 1, connections: 50, durationS: DURATION })).requests;
      } else {
        await capture("h2load", ["-n", "10000", "-c", "10", "-m", "10", url]); // warm-up
        r0 = p.sched.runs;
        c0 = { ...calls };
        const r = await capture("h2load", ["-n", String(H2_REQUESTS), "-c", "10", "-m", "10", url]);
        const m = /requests: \d+ total, \d+ started, (\d+) done/.exec(r.stdout);
        if (m === null) throw new Error(`h2load: ${r.stdout}${r.stderr}`);
        n = Number(m[1]);
      }
      out.push([(p.sched.runs - r0) / n, (calls.now - c0.now) / n, (calls.views - c0.views) / n]);
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
  const rows: [string, number[][]][] = [["Sluice", await measure(here, dir, backendPort)]];
  if (baseRoot !== "") rows.push(["Sluice [base]", await measure(baseRoot, dir, backendPort)]);
  console.log("\nper request (GET / from nginx): scheduler runs / clock reads / subarray views\n");
  console.log("| tree | HTTP/1.1 keep-alive (wrk -c 50) | h2c (h2load -c 10 -m 10) |");
  console.log("| --- | --- | --- |");
  const cell = (v: number[]) => v.map((x) => x.toFixed(2)).join(" / ");
  for (const [name, [h1, h2]] of rows) console.log(`| ${name} | ${cell(h1!)} | ${cell(h2!)} |`);
} finally {
  await group.stopAll();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
Deno.exit(0);
