// The HTTP/2 load bench: Sluice and HAProxy 2.6 with `proto h2` binds
// (cleartext prior knowledge), same nginx backend, same run.
//
// Usage: deno run --allow-all bench/h2_load.ts
// Tunables: BENCH_ROUNDS (3), BENCH_DURATION (10 s per h2load run),
// BENCH_H2_CLIENTS (10), BENCH_H2_STREAMS (10), BENCH_BIG_MIB (100), and the
// common ones (BENCH_PROXY_CPU, BENCH_LOAD_CPU, BENCH_BUFSIZE, BENCH_OUT...,
// bench/README.md). Both proxies are pinned to the proxy core, nginx and the
// clients share the other. Per round and proxy (their order rotating):
// `h2load -c C -m M -D DURATION` on `/` (requests/s; p50/p99 from h2load's
// per-request log), the proxy's CPU time per request (utime+stime over the
// run), and one download of a BENCH_BIG_MIB file over one stream with curl
// (MiB/s). Prints medians, ratios to HAProxy and the targets
// (requests/s ≥ 0.8×, p99 ≤ 1.5×, throughput ≥ 0.9×) and writes
// bench/out/h2_latest.json.

import { commonSettings, envInt } from "./lib/env.ts";
import {
  capture,
  freePort,
  type ManagedProcess,
  ProcessGroup,
  sleep,
  waitForPort,
} from "./lib/proc.ts";
import { clockTicksPerSecond, readCpuTicks } from "./lib/procfs.ts";
import { median } from "./lib/report.ts";
import { startNginx } from "./lib/nginx.ts";
import { h2Params, runH2load, sluiceH2Config, spawnSluice } from "./lib/h2_sluice.ts";
import { haproxyConfig } from "./lib/configs.ts";

const s = commonSettings(new URL("./out/h2_latest.json", import.meta.url).pathname);
const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const DURATION = envInt("BENCH_DURATION", 10, 1);
const CLIENTS = envInt("BENCH_H2_CLIENTS", 10, 1);
const STREAMS = envInt("BENCH_H2_STREAMS", 10, 1);
const BIG_MIB = envInt("BENCH_BIG_MIB", 100, 1);

type Name = "sluice" | "haproxy";
const NAMES: readonly Name[] = ["sluice", "haproxy"];

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
  mibPerSec: number;
}

/** One h2load run: requests/s and latency percentiles (ms) from its per-request log. */
async function h2load(
  port: number,
  dir: string,
): Promise<{ rps: number; p50: number; p99: number; done: number }> {
  const log = `${dir}/h2load.log`;
  const r = await runH2load(s, {
    clients: CLIENTS,
    streams: STREAMS,
    duration: DURATION,
    url: `http://127.0.0.1:${port}/`,
    extra: ["--log-file", log],
  });
  const m = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(r.stdout);
  const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(r.stdout);
  if (m === null || done === null || done[1] !== done[2]) {
    throw new Error(
      `h2load failed (exit ${r.code}): ${r.stdout.slice(-800)} ${r.stderr.slice(-400)}`,
    );
  }
  const lat = Deno.readTextFileSync(log).trim().split("\n").map((l) =>
    Number(l.split("\t")[2]) / 1000
  )
    .filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { rps: Number(m[1]), p50: pct(0.5), p99: pct(0.99), done: Number(done[1]) };
}

async function download(port: number): Promise<number> {
  const r = await capture("taskset", [
    "-c",
    s.loadCpu,
    "curl",
    "-sS",
    "--http2-prior-knowledge",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download} %{time_total}",
    `http://127.0.0.1:${port}/big.bin`,
  ]);
  const [code, size, t] = r.stdout.trim().split(" ");
  if (code !== "200" || Number(size) !== BIG_MIB * 1048576) {
    throw new Error(`download: ${r.stdout} ${r.stderr}`);
  }
  return Number(size) / Number(t) / 1048576;
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-h2-bench-" });
  const group = new ProcessGroup(true);
  const stop = () => void group.stopAll();
  Deno.addSignalListener("SIGINT", stop);
  try {
    await Deno.mkdir(`${dir}/www`);
    const f = await Deno.open(`${dir}/www/big.bin`, { write: true, create: true });
    const chunk = new Uint8Array(1048576).fill(0x61);
    for (let i = 0; i < BIG_MIB; i++) await f.write(chunk);
    f.close();
    const backendPort = freePort();
    await startNginx(group, { dir, port: backendPort, cpus: s.loadCpu });
    const procs = new Map<Name, { proc: ManagedProcess; port: number }>();
    for (const name of NAMES) {
      const port = freePort();
      let proc: ManagedProcess;
      if (name === "haproxy") {
        await Deno.writeTextFile(
          `${dir}/haproxy.cfg`,
          haproxyConfig(h2Params(s, port, backendPort)),
        );
        proc = group.spawn("haproxy", "haproxy", ["-db", "-f", `${dir}/haproxy.cfg`], {
          cpus: s.proxyCpu,
          nofile: 65536,
          stderrFile: `${dir}/haproxy.err`,
        });
      } else {
        await Deno.writeTextFile(`${dir}/sluice.yaml`, sluiceH2Config(s, port, backendPort));
        proc = spawnSluice(group, s, dir);
      }
      await waitForPort(port, proc, 60_000);
      procs.set(name, { proc, port });
    }
    const hz = await clockTicksPerSecond();
    const samples = new Map<Name, Sample[]>(NAMES.map((n) => [n, []]));
    // Warm-up (JIT) for each proxy.
    for (const n of NAMES) {
      await capture("h2load", [
        "-n",
        "2000",
        "-c",
        "4",
        "-m",
        "10",
        `http://127.0.0.1:${procs.get(n)!.port}/`,
      ]);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? NAMES : [...NAMES].reverse();
      for (const n of order) {
        const { proc, port } = procs.get(n)!;
        const t0 = readCpuTicks(proc.pid);
        const r = await h2load(port, dir);
        const cpu = (readCpuTicks(proc.pid) - t0) / hz;
        const mib = await download(port);
        samples.get(n)!.push({
          rps: r.rps,
          p50: r.p50,
          p99: r.p99,
          cpuUsPerReq: (cpu * 1e6) / r.done,
          mibPerSec: mib,
        });
        console.error(
          `round ${round + 1} ${n}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms, ${
            mib.toFixed(0)
          } MiB/s`,
        );
        await sleep(500);
      }
    }
    const med = (n: Name, k: keyof Sample) => median(samples.get(n)!.map((x) => x[k]))!;
    const rows: [string, keyof Sample, number, string][] = [
      [`requests/s (h2load -c ${CLIENTS} -m ${STREAMS})`, "rps", 0, "≥ 0.8×"],
      ["latency p50 (ms)", "p50", 2, ""],
      ["latency p99 (ms)", "p99", 2, "≤ 1.5×"],
      ["proxy CPU per request (µs)", "cpuUsPerReq", 1, ""],
      [`${BIG_MIB} MiB download, one stream (MiB/s)`, "mibPerSec", 0, "≥ 0.9×"],
    ];
    const out: Record<string, unknown> = {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      duration: DURATION,
    };
    console.log(`\nHTTP/2 cleartext (h2c), medians of ${ROUNDS} rounds\n`);
    console.log("| metric | Sluice | HAProxy | Sluice/HAProxy | target |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const [label, k, digits, target] of rows) {
      const a = med("sluice", k), b = med("haproxy", k);
      out[k] = { sluice: a, haproxy: b };
      console.log(
        `| ${label} | ${a.toFixed(digits)} | ${b.toFixed(digits)} | ${
          (a / b).toFixed(2)
        } | ${target} |`,
      );
    }
    await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
    await Deno.writeTextFile(
      s.out,
      JSON.stringify({ ...out, samples: Object.fromEntries(samples) }, null, 2),
    );
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    await group.stopAll();
    if (!s.keepTmp) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();
