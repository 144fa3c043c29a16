// The TLS part of the load bench (`deno run -A bench/load.ts tls`): Sluice
// against HAProxy 2.6 (OpenSSL), both terminating TLS with the same
// certificate in front of the same nginx backend, the proxies pinned to one
// core (BENCH_PROXY_CPU), clients and backend on the other (BENCH_LOAD_CPU).
//
// Sluice runs twice: its default route (node:tls over a node:net socket) and
// the runtime's listener (SLUICE_TLS_LISTENER=deno, docs/tls.md). Two more
// columns are the Deno floor of each route (bench/lib/tls_floor.ts: a tiny
// TLS server on the same API answering the same bytes without a backend):
// what Sluice costs above its floor is Sluice's, what the floor costs above
// HAProxy is the runtime's. With BENCH_TLS_REF_ROOT=<tree> (e.g. /work/main)
// one more column runs that tree's Sluice on its default route: an A/B in
// the same run. BENCH_SLUICE_ROOT runs another tree as "Sluice". Per proxy
// and certificate type (ECDSA P-256, RSA 2048):
//   - full handshakes per CPU-second of the proxy: `openssl s_time -new`
//     (a new connection and a full handshake each time) for BENCH_TLS_SECONDS,
//     divided by the proxy's utime+stime growth;
//   - resumed handshakes per CPU-second: `openssl s_time -reuse`;
// and with the ECDSA certificate:
//   - HTTPS keep-alive requests/s and p99 (wrk, BENCH_CONNECTIONS);
//   - throughput: a BENCH_BIG_MIB download over HTTPS (curl), median of 3.
// BENCH_TLS_PROXIES=sluice,haproxy limits the proxies run (names: sluice,
// sluice-deno, sluice-ref, floor-node, floor-deno, haproxy).
// It prints a table with the Sluice/HAProxy ratios and the issue's targets.

import { haproxyConfig, type ProxyParams, sluiceConfig } from "./configs.ts";
import { capture, freePort, type ProcessGroup, waitForPort } from "./proc.ts";
import { spawnSluiceTree } from "./sluice_proc.ts";
import { clockTicksPerSecond, readCpuTicks } from "./procfs.ts";
import { median } from "./report.ts";
import { runWrk } from "./wrk.ts";
import { startNginx } from "./nginx.ts";

interface TlsBenchSettings {
  proxyCpu: string;
  loadCpu: string;
  seconds: number;
  connections: number;
  bigMiB: number;
}

type Proxy = "sluice" | "sluice-deno" | "sluice-ref" | "floor-node" | "floor-deno" | "haproxy";
const ALL_PROXIES: readonly Proxy[] = [
  "sluice",
  "sluice-deno",
  "sluice-ref",
  "floor-node",
  "floor-deno",
  "haproxy",
];
const LABEL: Record<Proxy, string> = {
  sluice: "Sluice (node:tls)",
  "sluice-deno": "Sluice (Deno.listenTls)",
  "sluice-ref": "Sluice ref tree (node:tls)",
  "floor-node": "floor node:tls",
  "floor-deno": "floor Deno.listenTls",
  haproxy: "HAProxy",
};
const SHORT: Record<Proxy, string> = {
  sluice: "node",
  "sluice-deno": "deno",
  "sluice-ref": "ref",
  "floor-node": "floor node",
  "floor-deno": "floor deno",
  haproxy: "HAProxy",
};

function envInt(name: string, def: number): number {
  const v = Deno.env.get(name);
  const n = v === undefined ? def : Number(v);
  return Number.isFinite(n) && n > 0 ? n : def;
}

/** A self-signed certificate and key for bench.test in one PEM file; returns its path. */
export async function mkCert(dir: string, kind: "ecdsa" | "rsa"): Promise<string> {
  const key = `${dir}/${kind}.key`, crt = `${dir}/${kind}.crt`, pem = `${dir}/${kind}.pem`;
  const alg = kind === "ecdsa"
    ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    : ["-newkey", "rsa:2048"];
  const r = await capture("openssl", [
    "req",
    "-x509",
    ...alg,
    "-nodes",
    "-keyout",
    key,
    "-out",
    crt,
    "-subj",
    "/CN=bench.test",
    "-addext",
    "subjectAltName=DNS:bench.test",
    "-days",
    "2",
  ]);
  if (r.code !== 0) throw new Error(`openssl req: ${r.stderr}`);
  await Deno.writeTextFile(pem, (await Deno.readTextFile(crt)) + (await Deno.readTextFile(key)));
  return pem;
}

/** The proxies' settings: load.ts's HTTP configuration with TLS on the bind. */
function tlsParams(port: number, backend: number, pem: string): ProxyParams {
  return {
    mode: "http",
    bindPort: port,
    backendPort: backend,
    maxconn: 2000,
    bufsize: 16384,
    bindOptions: `ssl crt ${pem} alpn http/1.1`,
  };
}

/** Runs `openssl s_time` for `seconds`; returns the connection count. */
async function sTime(port: number, mode: "-new" | "-reuse", seconds: number, cpus: string) {
  const r = await capture("taskset", [
    "-c",
    cpus,
    "openssl",
    "s_time",
    "-connect",
    `127.0.0.1:${port}`,
    mode,
    "-time",
    String(seconds),
  ]);
  // "1234 connections in 5.01s; 246.3 connections/user sec, ..." (first line per mode)
  const m = /(\d+) connections in [\d.]+s/.exec(r.stdout);
  if (m === null) throw new Error(`openssl s_time: ${r.stdout}\n${r.stderr}`);
  return Number(m[1]);
}

interface Figures {
  fullEc: number | null;
  resumedEc: number | null;
  fullRsa: number | null;
  keepAlive: number | null;
  p99: number | null;
  mibPerSec: number | null;
}

/** Figures of a proxy not (yet) measured. */
function noFigures(): Figures {
  return {
    fullEc: null,
    resumedEc: null,
    fullRsa: null,
    keepAlive: null,
    p99: null,
    mibPerSec: null,
  };
}

/**
 * Runs the TLS comparison; returns the report text. Every process it
 * starts is registered in `group` (stopped by the caller).
 */
export async function runTlsBench(group: ProcessGroup, tmp: string): Promise<string> {
  const s: TlsBenchSettings = {
    proxyCpu: Deno.env.get("BENCH_PROXY_CPU") ?? "1",
    loadCpu: Deno.env.get("BENCH_LOAD_CPU") ?? "0",
    seconds: envInt("BENCH_TLS_SECONDS", 5),
    connections: envInt("BENCH_CONNECTIONS", 50),
    bigMiB: envInt("BENCH_BIG_MIB", 100),
  };
  const clk = await clockTicksPerSecond();
  const ec = await mkCert(tmp, "ecdsa");
  const rsa = await mkCert(tmp, "rsa");
  const big = s.bigMiB * 1024 * 1024;
  const backendPort = freePort();
  await startNginx(group, { dir: tmp, port: backendPort, cpus: s.loadCpu, bigBytes: big });

  const root = (Deno.env.get("BENCH_SLUICE_ROOT") || new URL("../..", import.meta.url).pathname)
    .replace(/\/$/, "");
  const refRoot = (Deno.env.get("BENCH_TLS_REF_ROOT") ?? "").replace(/\/$/, "");
  const floor = new URL("./tls_floor.ts", import.meta.url).pathname;
  const start = async (p: Proxy, pem: string) => {
    const port = freePort();
    const base = `${tmp}/${p}-${port}`;
    let proc;
    if (p === "floor-node" || p === "floor-deno") {
      const route = p === "floor-node" ? "node" : "deno";
      proc = group.spawn(
        p,
        Deno.execPath(),
        ["run", "-A", floor, route, `${port}`, pem, `${big}`],
        {
          cpus: s.proxyCpu,
          nofile: 8192,
          stderrFile: `${base}.stderr`,
        },
      );
    } else if (p === "haproxy") {
      await Deno.writeTextFile(`${base}.cfg`, haproxyConfig(tlsParams(port, backendPort, pem)));
      proc = group.spawn(p, "haproxy", ["-db", "-f", `${base}.cfg`], {
        cpus: s.proxyCpu,
        nofile: 8192,
        stderrFile: `${base}.stderr`,
      });
    } else {
      await Deno.writeTextFile(`${base}.yaml`, sluiceConfig(tlsParams(port, backendPort, pem)));
      const r = p === "sluice-ref" ? refRoot : root;
      proc = spawnSluiceTree(group, p, r, `${base}.yaml`, {
        cpus: s.proxyCpu,
        nofile: 8192,
        stderrFile: `${base}.stderr`,
        env: p === "sluice-deno" ? { SLUICE_TLS_LISTENER: "deno" } : {},
      });
    }
    try {
      await waitForPort(port, proc, 30_000);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : e}\n${proc.stderrTail()}`);
    }
    return { port, proc };
  };
  const perCpu = async (pid: number, port: number, mode: "-new" | "-reuse") => {
    const t0 = readCpuTicks(pid);
    const n = await sTime(port, mode, s.seconds, s.loadCpu);
    const cpu = (readCpuTicks(pid) - t0) / clk;
    return cpu > 0 ? n / cpu : null;
  };

  const only = (Deno.env.get("BENCH_TLS_PROXIES") ?? "").split(",").filter((x) => x !== "");
  const PROXIES = ALL_PROXIES.filter((p) => p !== "sluice-ref" || refRoot !== "");
  const results = new Map<Proxy, Figures>();
  for (const p of PROXIES) {
    if (only.length > 0 && !only.includes(p)) {
      results.set(p, noFigures());
      continue;
    }
    const fig = noFigures();
    results.set(p, fig);
    try {
      const a = await start(p, ec);
      fig.fullEc = await perCpu(a.proc.pid, a.port, "-new");
      fig.resumedEc = await perCpu(a.proc.pid, a.port, "-reuse");
      const w = await runWrk(`https://127.0.0.1:${a.port}/`, {
        threads: 1,
        connections: s.connections,
        durationS: s.seconds,
        cpus: s.loadCpu,
      });
      fig.keepAlive = w.requestsPerSec;
      fig.p99 = w.latencyMs?.p99 ?? null;
      const speeds: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await capture("taskset", [
          "-c",
          s.loadCpu,
          "curl",
          "-sSk",
          "-o",
          "/dev/null",
          "-w",
          "%{size_download} %{time_total}",
          `https://127.0.0.1:${a.port}/big.bin`,
        ]);
        const [size, t] = r.stdout.trim().split(" ").map(Number);
        if (size === big && t! > 0) speeds.push(big / t! / (1024 * 1024));
      }
      fig.mibPerSec = median(speeds);
      await a.proc.stop();
      const b = await start(p, rsa);
      fig.fullRsa = await perCpu(b.proc.pid, b.port, "-new");
      await b.proc.stop();
    } catch (e) {
      console.error(`${p}: ${e instanceof Error ? e.message : e}`);
    }
  }
  const ha = results.get("haproxy")!;
  const fmt = (v: number | null, d = 0) => v === null ? "—" : v.toFixed(d);
  const rows: Array<[string, keyof Figures, number, string]> = [
    ["full handshakes / CPU-s (ECDSA P-256)", "fullEc", 0, "≥ 0.9×"],
    ["full handshakes / CPU-s (RSA 2048)", "fullRsa", 0, "≥ 0.9×"],
    ["resumed handshakes / CPU-s (ECDSA)", "resumedEc", 0, ""],
    ["HTTPS keep-alive req/s", "keepAlive", 0, "≥ 0.8×"],
    ["HTTPS keep-alive p99 (ms)", "p99", 2, ""],
    [`HTTPS ${s.bigMiB} MiB download (MiB/s)`, "mibPerSec", 0, "≥ 0.9×"],
  ];
  const ran = PROXIES.filter((p) => only.length === 0 || only.includes(p));
  const rated = ran.filter((p) => p !== "haproxy");
  const lines = [
    `| metric | ${ran.map((p) => LABEL[p]).join(" | ")} | ${
      rated.map((p) => `${SHORT[p]}/HAProxy`).join(" | ")
    } | target |`,
    `| --- | ${ran.map(() => "---").join(" | ")} | ${rated.map(() => "---").join(" | ")} | --- |`,
  ];
  for (const [label, k, d, target] of rows) {
    const r = (x: number | null) =>
      x === null || ha[k] === null || ha[k] === 0 ? "—" : (x / ha[k]!).toFixed(2);
    lines.push(
      `| ${label} | ${ran.map((p) => fmt(results.get(p)![k], d)).join(" | ")} | ${
        rated.map((p) => r(results.get(p)![k])).join(" | ")
      } | ${target} |`,
    );
  }
  return lines.join("\n");
}
