// The HTTP/2 load bench: Sluice and HAProxy 2.6 in front of the same nginx
// backend, same run, over cleartext prior knowledge (`proto h2` binds, h2c)
// and over TLS (`ssl crt PEM alpn h2`, an ECDSA P-256 certificate made per
// run), as the HTTP/2 issue asks.
//
// Usage: deno run --allow-all bench/h2_load.ts   (or: bench/load.ts h2)
// Tunables: BENCH_ROUNDS (3), BENCH_DURATION (10 s per h2load run),
// BENCH_H2_CLIENTS (10), BENCH_H2_STREAMS (10), BENCH_BIG_MIB (100),
// BENCH_DOWNLOADS (3 downloads per round, their median kept),
// BENCH_H2_MODES (h2c,tls), BENCH_REF_ROOT (another Sluice tree run beside
// as "ref": an A/B in the same run), and the common ones (BENCH_PROXY_CPU,
// BENCH_LOAD_CPU, BENCH_BUFSIZE, BENCH_SLUICE_ROOT, BENCH_OUT...,
// bench/README.md). The proxies are pinned to the proxy core, nginx and the
// clients share the other. Per mode, round and proxy (their order rotating):
// `h2load -c C -m M -D DURATION` on `/` (requests/s; p50/p99 from h2load's
// per-request log), the proxy's CPU time per request (utime+stime over the
// run), and downloads of a BENCH_BIG_MIB file over one stream with curl
// (MiB/s). Prints medians, ratios to HAProxy and the targets
// (requests/s ≥ 0.8×, p99 ≤ 1.5×, throughput ≥ 0.9×) and writes
// bench/out/h2_latest.json. Besides the ratio of the medians, a column gives
// the median of the per-round ratios: Sluice's figure of a round over
// HAProxy's of the same round, run back to back, so that the host's slow
// drifts (a shared VM) cancel out of each pair.

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
import { mkCert } from "./lib/tls_bench.ts";

const s = commonSettings(new URL("./out/h2_latest.json", import.meta.url).pathname);
const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const DURATION = envInt("BENCH_DURATION", 10, 1);
const CLIENTS = envInt("BENCH_H2_CLIENTS", 10, 1);
const STREAMS = envInt("BENCH_H2_STREAMS", 10, 1);
const BIG_MIB = envInt("BENCH_BIG_MIB", 100, 1);
const DOWNLOADS = envInt("BENCH_DOWNLOADS", 3, 1);
const REF_ROOT = (Deno.env.get("BENCH_REF_ROOT") ?? "").replace(/\/$/, "");
type Mode = "h2c" | "tls";
const MODES = (Deno.env.get("BENCH_H2_MODES") ?? "h2c,tls").split(",").filter((m): m is Mode =>
  m === "h2c" || m === "tls"
);

type Name = "sluice" | "ref" | "haproxy";
const NAMES: readonly Name[] = REF_ROOT ? ["sluice", "ref", "haproxy"] : ["sluice", "haproxy"];

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
  mibPerSec: number;
}

/** One h2load run: requests/s and latency percentiles (ms) from its per-request log. */
async function h2load(
  url: string,
  dir: string,
): Promise<{ rps: number; p50: number; p99: number; done: number }> {
  const log = `${dir}/h2load.log`;
  const r = await runH2load(s, {
    clients: CLIENTS,
    streams: STREAMS,
    duration: DURATION,
    url,
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

async function download(base: string): Promise<number> {
  const r = await capture("taskset", [
    "-c",
    s.loadCpu,
    "curl",
    "-sS",
    ...(base.startsWith("https") ? ["--http2", "-k"] : ["--http2-prior-knowledge"]),
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download} %{time_total}",
    `${base}/big.bin`,
  ]);
  const [code, size, t] = r.stdout.trim().split(" ");
  if (code !== "200" || Number(size) !== BIG_MIB * 1048576) {
    throw new Error(`download: ${r.stdout} ${r.stderr}`);
  }
  return Number(size) / Number(t) / 1048576;
}

/** Each proxy of NAMES started for `mode`; its base URL. */
async function startProxies(
  group: ProcessGroup,
  dir: string,
  mode: Mode,
  backendPort: number,
  pem: string | undefined,
): Promise<Map<Name, { proc: ManagedProcess; base: string }>> {
  const procs = new Map<Name, { proc: ManagedProcess; base: string }>();
  for (const name of NAMES) {
    const port = freePort();
    let proc: ManagedProcess;
    if (name === "haproxy") {
      const cfg = `${dir}/haproxy_${mode}.cfg`;
      await Deno.writeTextFile(cfg, haproxyConfig(h2Params(s, port, backendPort, pem)));
      proc = group.spawn(`haproxy ${mode}`, "haproxy", ["-db", "-f", cfg], {
        cpus: s.proxyCpu,
        nofile: 65536,
        stderrFile: `${dir}/haproxy_${mode}.err`,
      });
    } else {
      const file = `${name}_${mode}`;
      await Deno.writeTextFile(`${dir}/${file}.yaml`, sluiceH2Config(s, port, backendPort, pem));
      proc = spawnSluice(group, s, dir, [], {
        name: file,
        root: name === "ref" ? REF_ROOT : undefined,
      });
    }
    await waitForPort(port, proc, 60_000);
    procs.set(name, { proc, base: `${pem === undefined ? "http" : "https"}://127.0.0.1:${port}` });
  }
  return procs;
}

/** The rounds of one mode; prints its table and returns its medians. */
async function runMode(
  group: ProcessGroup,
  dir: string,
  mode: Mode,
  backendPort: number,
  pem: string | undefined,
): Promise<Record<string, unknown>> {
  const procs = await startProxies(group, dir, mode, backendPort, pem);
  const hz = await clockTicksPerSecond();
  const samples = new Map<Name, Sample[]>(NAMES.map((n) => [n, []]));
  // Warm-up for each proxy, on both paths the rounds measure: Sluice's JIT
  // compiles the request path and the DATA path separately, and a first
  // download through a fresh process runs at half speed.
  for (const n of NAMES) {
    await capture("h2load", ["-n", "20000", "-c", "4", "-m", "10", `${procs.get(n)!.base}/`]);
    await download(procs.get(n)!.base);
  }
  for (let round = 0; round < ROUNDS; round++) {
    // The order rotates so that no proxy always runs first after a pause.
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]!);
    for (const n of order) {
      const { proc, base } = procs.get(n)!;
      const t0 = readCpuTicks(proc.pid);
      const r = await h2load(`${base}/`, dir);
      const cpu = (readCpuTicks(proc.pid) - t0) / hz;
      const mibs: number[] = [];
      for (let i = 0; i < DOWNLOADS; i++) mibs.push(await download(base));
      const mib = median(mibs)!;
      samples.get(n)!.push({
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        cpuUsPerReq: (cpu * 1e6) / r.done,
        mibPerSec: mib,
      });
      console.error(
        `${mode} round ${round + 1} ${n}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms, ${
          (cpu * 1e6 / r.done).toFixed(1)
        } µs CPU/req, ${mib.toFixed(0)} MiB/s`,
      );
      await sleep(500);
    }
  }
  for (const { proc } of procs.values()) await group.stop(proc);
  const med = (n: Name, k: keyof Sample) => median(samples.get(n)!.map((x) => x[k]))!;
  const rows: [string, keyof Sample, number, string][] = [
    [`requests/s (h2load -c ${CLIENTS} -m ${STREAMS})`, "rps", 0, "≥ 0.8×"],
    ["latency p50 (ms)", "p50", 2, ""],
    ["latency p99 (ms)", "p99", 2, "≤ 1.5×"],
    ["proxy CPU per request (µs)", "cpuUsPerReq", 1, ""],
    [
      `${BIG_MIB} MiB download, one stream (MiB/s, median of ${DOWNLOADS})`,
      "mibPerSec",
      0,
      "≥ 0.9×",
    ],
  ];
  const title = mode === "h2c" ? "cleartext (h2c, prior knowledge)" : "over TLS (ALPN h2, ECDSA)";
  const ref = REF_ROOT ? " ref |" : "";
  console.log(`\nHTTP/2 ${title}, medians of ${ROUNDS} rounds\n`);
  console.log(`| metric | Sluice |${ref} HAProxy | Sluice/HAProxy | per-round ratios | target |`);
  console.log(`| --- | --- |${REF_ROOT ? " --- |" : ""} --- | --- | --- | --- |`);
  const out: Record<string, unknown> = { samples: Object.fromEntries(samples) };
  for (const [label, k, digits, target] of rows) {
    const a = med("sluice", k), b = med("haproxy", k);
    out[k] = REF_ROOT ? { sluice: a, ref: med("ref", k), haproxy: b } : { sluice: a, haproxy: b };
    const refCell = REF_ROOT ? ` ${med("ref", k).toFixed(digits)} |` : "";
    const h = samples.get("haproxy")!;
    const paired = median(samples.get("sluice")!.map((x, i) => x[k] / h[i]![k]))!;
    out[`${k}PairedRatio`] = paired;
    console.log(
      `| ${label} | ${a.toFixed(digits)} |${refCell} ${b.toFixed(digits)} | ${
        (a / b).toFixed(2)
      } | ${paired.toFixed(2)} | ${target} |`,
    );
  }
  return out;
}

/** The whole bench: each mode of BENCH_H2_MODES in turn. */
export async function h2Main(): Promise<void> {
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
    const out: Record<string, unknown> = {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      duration: DURATION,
      refRoot: REF_ROOT || null,
    };
    for (const mode of MODES) {
      const pem = mode === "tls" ? await mkCert(dir, "ecdsa") : undefined;
      out[mode] = await runMode(group, dir, mode, backendPort, pem);
    }
    await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
    await Deno.writeTextFile(s.out, JSON.stringify(out, null, 2));
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    await group.stopAll();
    if (!s.keepTmp) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await h2Main();
