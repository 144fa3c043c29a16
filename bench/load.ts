// The load bench: Sluice against HAProxy (and, in HTTP mode, nginx as a
// reverse proxy), same backend, same machine, same run.
//
// Usage: deno run --allow-all bench/load.ts      (tunables: BENCH_* env vars, see
// bench/README.md). `bench/load.ts h2` runs the HTTP/2 comparison (h2_load.ts).
// `bench/load.ts tls` runs the TLS comparison instead
// (bench/lib/tls_bench.ts). It is not a *_bench.ts file on purpose: `deno bench` must
// not pick it up.
//
// One run starts a backend (nginx when installed, else bench/lib/stub_backend.ts),
// then, per mode in BENCH_MODES, the proxies in front of it: Sluice and HAProxy
// in both modes, plus a second nginx as a reverse proxy (upstream keep-alive
// pool) in HTTP mode. All proxies are pinned to one core (BENCH_PROXY_CPU)
// while the backend and the clients share the other (BENCH_LOAD_CPU). For each
// proxy it measures, rotating the order of the proxies from round to round so
// that a noisy neighbour hurts all alike:
//   - memory per idle connection: RSS growth with BENCH_IDLE_CONNS idle
//     connections open through the proxy (each reaching the backend in TCP
//     mode), divided by their count;
//   - keep-alive requests/s: median over BENCH_ROUNDS wrk runs of
//     BENCH_DURATION seconds on BENCH_CONNECTIONS connections, with latency
//     p50/p99 (wrk --latency);
//   - HTTP mode: one-request-per-connection rate, the same wrk runs with
//     "Connection: close" (each request on a new connection);
//   - proxy CPU time per request: utime+stime growth over a wrk run / requests;
//   - throughput: median over BENCH_TRANSFERS downloads of a BENCH_BIG_MIB file.
// It prints one table per mode (metric | each proxy | Sluice/each reference |
// target, targets checked against HAProxy) and writes everything to
// bench/out/latest.json. Every process it starts is stopped on exit, on
// SIGINT/SIGTERM, and (through setpriv --pdeathsig) even when the bench itself
// is killed. A proxy that fails to start or dies is reported as such and the
// others are still measured; the exit status is then 1.

import { type CommonSettings, commonSettings, envFlag, envInt, envList } from "./lib/env.ts";
import { closeAll, curlDownload, type DownloadResult, openIdleConnections } from "./lib/clients.ts";
import { haproxyConfig, nginxProxyConfig, type ProxyParams, sluiceConfig } from "./lib/configs.ts";
import {
  capture,
  freePort,
  hasCommand,
  type ManagedProcess,
  pinProcess,
  type ProcessGroup,
  sleep,
  waitForPort,
} from "./lib/proc.ts";
import {
  clockTicksPerSecond,
  countEstablished,
  countFds,
  readCoreTicks,
  readCpuTicks,
  readPassiveOpens,
  readRssKiB,
} from "./lib/procfs.ts";
import {
  type Layout,
  median,
  ratio,
  renderTable,
  type Row,
  targetMet,
  targetSummary,
} from "./lib/report.ts";
import { runWrk, type WrkResult } from "./lib/wrk.ts";
import { runTlsBench } from "./lib/tls_bench.ts";
import { startNginx } from "./lib/nginx.ts";
import { spawnSluiceTree } from "./lib/sluice_proc.ts";
import { errorText, log, openFileLimits, runMain, withRun, writeResults } from "./lib/run.ts";

type Mode = "tcp" | "http";
type ProxyName = "sluice" | "haproxy" | "nginx" | "floor" | "sluice-log" | "haproxy-log";
/** A wrk round: keep-alive connections, or "Connection: close" (one request per connection). */
type RoundKind = "keepalive" | "close";

/** Run by default; "floor" (bench/lib/deno_floor.ts) only when BENCH_PROXIES names it. */
const DEFAULT_PROXIES: readonly ProxyName[] = ["sluice", "haproxy", "nginx"];
/**
 * The logged variants (BENCH_LOGS=1, HTTP mode): a log line per request on
 * both sides, Sluice's default (`log: stdout`, httplog) and HAProxy's `log
 * stdout format raw local0` with `option httplog`, each to a file. They run
 * in the same rounds as the others, so the Sluice/HAProxy ratio with logs on
 * and off comes from one run.
 */
const LOG_PROXIES: readonly ProxyName[] = ["sluice-log", "haproxy-log"];
const ALL_PROXIES: readonly ProxyName[] = [...DEFAULT_PROXIES, "floor", ...LOG_PROXIES];
const PROXY_LABEL: Record<ProxyName, string> = {
  sluice: "Sluice",
  haproxy: "HAProxy",
  nginx: "nginx",
  floor: "Deno floor",
  "sluice-log": "Sluice+logs",
  "haproxy-log": "HAProxy+logs",
};
/** Modes each proxy runs in: nginx is compared as an HTTP reverse proxy only. */
const PROXY_MODES: Record<ProxyName, readonly Mode[]> = {
  sluice: ["tcp", "http"],
  haproxy: ["tcp", "http"],
  nginx: ["http"],
  floor: ["tcp", "http"],
  "sluice-log": ["http"],
  "haproxy-log": ["http"],
};
const KIND_LABEL: Record<RoundKind, string> = { keepalive: "keep-alive", close: "close" };
const MIB = 1024 * 1024;
/** Sluice's absolute target for memory per idle connection (bytes). */
const IDLE_TARGET_BYTES = 16 * 1024;

// --- settings ----------------------------------------------------------------

/** Everything a run depends on; read once from the environment. */
interface Settings extends CommonSettings {
  rounds: number;
  durationS: number;
  warmupS: number;
  threads: number;
  connections: number;
  idleConns: number;
  idleSettleMs: number;
  transfers: number;
  bigMiB: number;
  modes: Mode[];
  proxies: ProxyName[];
  /** True when BENCH_PROXIES was given (a missing nginx is then an error, not a skip). */
  proxiesExplicit: boolean;
  /** HTTP mode: also run the "Connection: close" rounds. */
  closeRounds: boolean;
  /** HTTP mode: add the logged variants of Sluice and HAProxy (LOG_PROXIES). */
  logs: boolean;
  backend: "auto" | "nginx" | "deno";
  direct: boolean;
}

function readSettings(): Settings {
  const backend = Deno.env.get("BENCH_BACKEND") ?? "auto";
  if (backend !== "auto" && backend !== "nginx" && backend !== "deno") {
    throw new Error(`Invalid BENCH_BACKEND "${backend}": expected auto, nginx or deno`);
  }
  return {
    rounds: envInt("BENCH_ROUNDS", 3, 1),
    durationS: envInt("BENCH_DURATION", 10, 1),
    warmupS: envInt("BENCH_WARMUP", 3, 0),
    threads: envInt("BENCH_THREADS", 1, 1),
    connections: envInt("BENCH_CONNECTIONS", 50, 1),
    idleConns: envInt("BENCH_IDLE_CONNS", 5000, 0),
    idleSettleMs: envInt("BENCH_IDLE_SETTLE_MS", 1000, 0),
    transfers: envInt("BENCH_TRANSFERS", 3, 0),
    bigMiB: envInt("BENCH_BIG_MIB", 100, 1),
    modes: envList<Mode>("BENCH_MODES", ["tcp"], ["tcp", "http"]),
    proxies: envList<ProxyName>("BENCH_PROXIES", [...DEFAULT_PROXIES], ALL_PROXIES),
    proxiesExplicit: (Deno.env.get("BENCH_PROXIES") ?? "") !== "",
    closeRounds: envFlag("BENCH_CLOSE", true),
    logs: envFlag("BENCH_LOGS", false),
    backend,
    direct: envFlag("BENCH_DIRECT", true),
    ...commonSettings(new URL("./out/latest.json", import.meta.url).pathname),
  };
}

// --- results -------------------------------------------------------------------

/** One wrk round against one proxy. */
interface RoundResult {
  kind: RoundKind;
  requestsPerSec: number;
  requests: number;
  durationS: number;
  /** Proxy CPU time (utime + stime) during the round, ms. */
  cpuMs: number;
  /** Proxy CPU time per request, µs. */
  cpuUsPerRequest: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  socketErrors: number;
  non2xx: number;
  /**
   * TCP connections accepted during the round per request, system-wide
   * (/proc/net/snmp PassiveOpens): the proxy's accepts of wrk's connections
   * plus the backend's accepts of new connections from the proxy, plus any
   * other process's. About 1 in close rounds when the proxy reuses its server
   * connections, about 2 when it opens one per request; about 0 with
   * keep-alive.
   */
  acceptsPerRequest: number;
  /**
   * Share of the proxy core's time taken by other processes (or by the
   * hypervisor) during the round, in percent: noise. Null when the proxies
   * are not pinned to a single core.
   */
  otherLoadPct: number | null;
  /**
   * Share of the proxy core's time spent in softirqs (loopback receive
   * processing, mostly caused by the proxy's own traffic but charged to no
   * process), in percent; null as above.
   */
  softirqPct: number | null;
}

/** One download through one proxy. */
interface TransferResult extends DownloadResult {
  /** Proxy CPU time during the download, ms (clock-tick resolution). */
  cpuMs: number;
}

/** The idle-connection memory phase of one proxy. */
interface IdleResult {
  conns: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** (rssAfter − rssBefore) / conns, in bytes. */
  bytesPerConn: number;
  /** Open file descriptors of the proxy with the connections open. */
  fds: number;
  /** Seconds from the first connect to the last connection reaching its target count. */
  openSeconds: number;
}

/** Everything measured for one proxy in one mode. */
interface ProxyResult {
  name: ProxyName;
  /** Why measuring stopped early, null when all phases ran. */
  error: string | null;
  idle: IdleResult | null;
  rounds: RoundResult[];
  transfers: TransferResult[];
  summary: {
    /** Keep-alive rounds. */
    requestsPerSec: number | null;
    cpuUsPerRequest: number | null;
    latencyP50Ms: number | null;
    latencyP99Ms: number | null;
    /** "Connection: close" rounds (HTTP mode). */
    closeRequestsPerSec: number | null;
    closeCpuUsPerRequest: number | null;
    closeLatencyP50Ms: number | null;
    closeLatencyP99Ms: number | null;
    closeErrors: number;
    closeAcceptsPerRequest: number | null;
    throughputMiBPerSec: number | null;
    cpuMsPerGiB: number | null;
    idleBytesPerConn: number | null;
    errors: number;
    otherLoadPct: number | null;
    softirqPct: number | null;
  };
}

/** A proxy running for one mode. */
interface RunningProxy {
  name: ProxyName;
  port: number;
  proc: ManagedProcess | null;
  result: ProxyResult;
}

function newProxyResult(name: ProxyName): ProxyResult {
  return {
    name,
    error: null,
    idle: null,
    rounds: [],
    transfers: [],
    summary: {
      requestsPerSec: null,
      cpuUsPerRequest: null,
      latencyP50Ms: null,
      latencyP99Ms: null,
      closeRequestsPerSec: null,
      closeCpuUsPerRequest: null,
      closeLatencyP50Ms: null,
      closeLatencyP99Ms: null,
      closeErrors: 0,
      closeAcceptsPerRequest: null,
      throughputMiBPerSec: null,
      cpuMsPerGiB: null,
      idleBytesPerConn: null,
      errors: 0,
      otherLoadPct: null,
      softirqPct: null,
    },
  };
}

// --- the run -------------------------------------------------------------------

/** Shared state of one bench run. */
interface Run {
  s: Settings;
  group: ProcessGroup;
  tmp: string;
  clkTck: number;
  backendPort: number;
  bigBytes: number;
  /** Connection limit given to both proxies (fits their fd limit). */
  maxconn: number;
  /** Open-file limit asked for the proxies. */
  nofile: number;
}

async function startBackend(r: Run, useNginx: boolean): Promise<ManagedProcess> {
  const { s, group, tmp } = r;
  const www = `${tmp}/www`;
  await Deno.mkdir(www, { recursive: true });
  if (useNginx) {
    return await startNginx(group, {
      dir: tmp,
      port: r.backendPort,
      workerConnections: Math.max(4096, s.idleConns + s.connections + 1024),
      nofile: r.nofile,
      cpus: s.loadCpu,
      bigBytes: r.bigBytes,
    });
  }
  const stub = new URL("./lib/stub_backend.ts", import.meta.url).pathname;
  const p = group.spawn(
    "stub backend",
    Deno.execPath(),
    ["run", "--allow-net", stub, String(r.backendPort), String(r.bigBytes)],
    { cpus: s.loadCpu, nofile: r.nofile, stderrFile: `${tmp}/stub.stderr` },
  );
  await waitForPort(r.backendPort, p, 30_000);
  return p;
}

async function startProxy(r: Run, name: ProxyName, mode: Mode): Promise<RunningProxy> {
  const port = freePort();
  const rp: RunningProxy = { name, port, proc: null, result: newProxyResult(name) };
  const logs = LOG_PROXIES.includes(name);
  const params: ProxyParams = {
    mode,
    bindPort: port,
    backendPort: r.backendPort,
    maxconn: r.maxconn,
    bufsize: r.s.bufsize,
    logs,
  };
  const base = `${r.tmp}/${name}_${mode}`;
  const stderrFile = `${base}.stderr`;
  // The logged variants write their lines to a file, as a collector would read them;
  // BENCH_LOG_DIR puts it elsewhere (/dev/shm: a file in memory, no disk writeback).
  const logDir = Deno.env.get("BENCH_LOG_DIR");
  const stdoutFile = logs
    ? (logDir ? `${logDir}/sluice-bench-${Deno.pid}-${name}_${mode}.log` : `${base}.log`)
    : undefined;
  try {
    if (name === "haproxy" || name === "haproxy-log") {
      await Deno.writeTextFile(`${base}.cfg`, haproxyConfig(params));
      rp.proc = r.group.spawn(`haproxy (${mode})`, "haproxy", ["-db", "-f", `${base}.cfg`], {
        cpus: r.s.proxyCpu,
        nofile: r.nofile,
        stderrFile,
        ...(stdoutFile !== undefined ? { stdoutFile } : {}),
      });
    } else if (name === "nginx") {
      // A second nginx with its own prefix directory, apart from the backend's.
      await Deno.mkdir(base, { recursive: true });
      const conf = `${base}/nginx.conf`;
      await Deno.writeTextFile(conf, nginxProxyConfig({ ...params, dir: base, nofile: r.nofile }));
      rp.proc = r.group.spawn(
        `nginx proxy (${mode})`,
        "nginx",
        ["-e", `${base}/error.log`, "-p", `${base}/`, "-c", conf],
        { cpus: r.s.proxyCpu, nofile: r.nofile, stderrFile },
      );
    } else if (name === "floor") {
      const floor = new URL("./lib/deno_floor.ts", import.meta.url).pathname;
      rp.proc = r.group.spawn(
        `Deno floor (${mode})`,
        Deno.execPath(),
        ["run", "--allow-net", floor, String(port), String(r.backendPort)],
        {
          cpus: r.s.proxyCpu,
          nofile: r.nofile,
          stderrFile,
          env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        },
      );
    } else {
      await Deno.writeTextFile(`${base}.yaml`, sluiceConfig(params));
      rp.proc = spawnSluiceTree(r.group, `sluice (${mode})`, r.s.sluiceRoot, `${base}.yaml`, {
        denoFlags: r.s.sluiceV8Flags !== "" ? [`--v8-flags=${r.s.sluiceV8Flags}`] : [],
        cpus: r.s.proxyCpu,
        nofile: r.nofile,
        stderrFile,
        ...(stdoutFile !== undefined ? { stdoutFile } : {}),
      });
    }
    await waitForPort(port, rp.proc, 60_000);
  } catch (e) {
    rp.result.error = `start: ${errorText(e)}`;
    if (rp.proc !== null) await r.group.stop(rp.proc);
    rp.proc = null;
  }
  return rp;
}

/** The single core the proxies are pinned to, or null when BENCH_PROXY_CPU is a list. */
function proxyCore(s: Settings): number | null {
  return /^\d+$/.test(s.proxyCpu) ? Number(s.proxyCpu) : null;
}

function alive(p: RunningProxy): p is RunningProxy & { proc: ManagedProcess } {
  return p.result.error === null && p.proc !== null && p.proc.exitStatus === null;
}

/**
 * Runs one measuring phase for one proxy. An exception, or the proxy exiting,
 * ends all measuring for that proxy: its error says where and why.
 */
async function phase(
  r: Run,
  p: RunningProxy,
  what: string,
  fn: (proc: ManagedProcess) => Promise<void>,
): Promise<void> {
  if (!alive(p)) return;
  const proc = p.proc;
  try {
    await fn(proc);
    if (proc.exitStatus !== null) throw new Error("the proxy exited");
  } catch (e) {
    let msg = `${what}: ${errorText(e)}`;
    if (proc.exitStatus !== null) {
      msg += ` (exit code ${proc.exitStatus.code}${
        proc.exitStatus.signal ? `, signal ${proc.exitStatus.signal}` : ""
      })`;
      const tail = proc.stderrTail(800).trim();
      if (tail) msg += `\n${tail}`;
    }
    p.result.error = msg;
    log(`${PROXY_LABEL[p.name]}: ${msg}`);
    await r.group.stop(proc);
  }
}

/** Polls until `count()` reaches at least `want`, or throws after `timeoutMs`. */
async function waitForCount(
  count: () => Promise<number>,
  want: number,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let n = await count();
  while (n < want) {
    if (Date.now() > deadline) throw new Error(`${what}: ${n} of ${want} after ${timeoutMs} ms`);
    await sleep(100);
    n = await count();
  }
}

async function measureIdle(r: Run, p: RunningProxy, mode: Mode): Promise<void> {
  const n = r.s.idleConns;
  await phase(r, p, "idle connections", async (proc) => {
    // TCP mode: each client connection makes the proxy connect to the backend;
    // count those. HTTP mode: a server connection only comes with a request,
    // so count the client connections the proxy accepted.
    const count = mode === "tcp"
      ? () => countEstablished(r.backendPort, "dport")
      : () => countEstablished(p.port, "sport");
    const before = await count();
    const rssBeforeKiB = readRssKiB(proc.pid);
    const t0 = performance.now();
    const conns = await openIdleConnections(p.port, n);
    try {
      await waitForCount(count, before + n, 60_000, "connections established through the proxy");
      const openSeconds = (performance.now() - t0) / 1000;
      await sleep(r.s.idleSettleMs);
      if (proc.exitStatus !== null) throw new Error("the proxy exited");
      const rssAfterKiB = readRssKiB(proc.pid);
      const fds = countFds(proc.pid);
      const bytesPerConn = (rssAfterKiB - rssBeforeKiB) * 1024 / n;
      p.result.idle = { conns: n, rssBeforeKiB, rssAfterKiB, bytesPerConn, fds, openSeconds };
      log(
        `${
          PROXY_LABEL[p.name]
        } ${mode}: ${n} idle connections, RSS ${rssBeforeKiB} → ${rssAfterKiB} KiB, ` +
          `${Math.round(bytesPerConn)} B/connection, ${fds} fds`,
      );
    } finally {
      closeAll(conns);
    }
    // Let the proxy close its side before the next phase measures anything.
    const deadline = Date.now() + 20_000;
    while ((await count()) > before + 10 && Date.now() < deadline) await sleep(100);
  });
}

/** Extra wrk headers of a round kind. */
function kindHeaders(kind: RoundKind): string[] {
  return kind === "close" ? ["Connection: close"] : [];
}

async function measureRound(
  r: Run,
  p: RunningProxy,
  mode: Mode,
  round: number,
  kind: RoundKind,
): Promise<void> {
  await phase(r, p, `wrk ${KIND_LABEL[kind]} round ${round + 1}`, async (proc) => {
    const core = proxyCore(r.s);
    const c0 = core === null ? null : readCoreTicks(core);
    const t0 = readCpuTicks(proc.pid);
    const a0 = readPassiveOpens();
    const w: WrkResult = await runWrk(`http://127.0.0.1:${p.port}/`, {
      threads: r.s.threads,
      connections: r.s.connections,
      durationS: r.s.durationS,
      cpus: r.s.loadCpu,
      headers: kindHeaders(kind),
    });
    const dt = readCpuTicks(proc.pid) - t0;
    const accepts = readPassiveOpens() - a0;
    const c1 = core === null ? null : readCoreTicks(core);
    const cpuMs = dt * 1000 / r.clkTck;
    let otherLoadPct: number | null = null, softirqPct: number | null = null;
    if (c0 !== null && c1 !== null && c1.total > c0.total) {
      const total = c1.total - c0.total;
      otherLoadPct = Math.max(0, (c1.busy - c0.busy - dt) * 100 / total);
      softirqPct = (c1.softirq - c0.softirq) * 100 / total;
    }
    if (w.requests === 0) throw new Error("wrk completed no request");
    const rr: RoundResult = {
      kind,
      requestsPerSec: w.requestsPerSec,
      requests: w.requests,
      durationS: w.durationS,
      cpuMs,
      cpuUsPerRequest: cpuMs * 1000 / w.requests,
      latencyP50Ms: w.latencyMs?.p50 ?? null,
      latencyP99Ms: w.latencyMs?.p99 ?? null,
      socketErrors: w.socketErrors,
      non2xx: w.non2xx,
      acceptsPerRequest: accepts / w.requests,
      otherLoadPct,
      softirqPct,
    };
    p.result.rounds.push(rr);
    log(
      `${PROXY_LABEL[p.name]} ${mode} ${KIND_LABEL[kind]} round ${round + 1}: ` +
        `${w.requestsPerSec.toFixed(0)} req/s, ` +
        `${rr.cpuUsPerRequest.toFixed(2)} µs CPU/req, p99 ${rr.latencyP99Ms ?? "n/a"} ms, ` +
        `${rr.acceptsPerRequest.toFixed(2)} accepts/req` +
        (otherLoadPct === null || softirqPct === null
          ? ""
          : `, proxy core: ${otherLoadPct.toFixed(0)}% other processes, ${
            softirqPct.toFixed(0)
          }% softirq`) +
        (w.socketErrors + w.non2xx > 0
          ? `, ${w.socketErrors} socket errors, ${w.non2xx} non-2xx`
          : ""),
    );
  });
}

async function measureTransfer(r: Run, p: RunningProxy, mode: Mode, i: number): Promise<void> {
  await phase(r, p, `transfer ${i + 1}`, async (proc) => {
    const t0 = readCpuTicks(proc.pid);
    const d = await curlDownload(`http://127.0.0.1:${p.port}/big.bin`, r.bigBytes, r.s.loadCpu);
    const cpuMs = (readCpuTicks(proc.pid) - t0) * 1000 / r.clkTck;
    p.result.transfers.push({ ...d, cpuMs });
    log(`${PROXY_LABEL[p.name]} ${mode} transfer ${i + 1}: ${d.mibPerSec.toFixed(0)} MiB/s`);
  });
}

/**
 * The proxies in the order of round `i`: rotated by one each round, so that
 * none always goes first (with two proxies: alternating).
 */
function order(ps: RunningProxy[], i: number): RunningProxy[] {
  const k = ps.length === 0 ? 0 : i % ps.length;
  return [...ps.slice(k), ...ps.slice(0, k)];
}

function summarize(res: ProxyResult): void {
  const s = res.summary;
  const ka = res.rounds.filter((x) => x.kind === "keepalive");
  const cl = res.rounds.filter((x) => x.kind === "close");
  s.requestsPerSec = median(ka.map((x) => x.requestsPerSec));
  s.cpuUsPerRequest = median(ka.map((x) => x.cpuUsPerRequest));
  s.latencyP50Ms = median(ka.flatMap((x) => x.latencyP50Ms ?? []));
  s.latencyP99Ms = median(ka.flatMap((x) => x.latencyP99Ms ?? []));
  s.closeRequestsPerSec = median(cl.map((x) => x.requestsPerSec));
  s.closeCpuUsPerRequest = median(cl.map((x) => x.cpuUsPerRequest));
  s.closeLatencyP50Ms = median(cl.flatMap((x) => x.latencyP50Ms ?? []));
  s.closeLatencyP99Ms = median(cl.flatMap((x) => x.latencyP99Ms ?? []));
  s.closeErrors = cl.reduce((a, x) => a + x.socketErrors + x.non2xx, 0);
  s.closeAcceptsPerRequest = median(cl.map((x) => x.acceptsPerRequest));
  s.throughputMiBPerSec = median(res.transfers.map((x) => x.mibPerSec));
  const bytes = res.transfers.reduce((a, x) => a + x.bytes, 0);
  const cpu = res.transfers.reduce((a, x) => a + x.cpuMs, 0);
  s.cpuMsPerGiB = bytes > 0 ? cpu / (bytes / (1024 * MIB)) : null;
  s.idleBytesPerConn = res.idle?.bytesPerConn ?? null;
  s.errors = ka.reduce((a, x) => a + x.socketErrors + x.non2xx, 0);
  s.otherLoadPct = median(res.rounds.flatMap((x) => x.otherLoadPct ?? []));
  s.softirqPct = median(res.rounds.flatMap((x) => x.softirqPct ?? []));
}

type Summary = ProxyResult["summary"];

/** Targets of the load bench; HTTP mode has its own (the HTTP issue's). */
function targets(mode: Mode) {
  const ratioAtLeast = (v: number) =>
    ({ on: "ratio", op: ">=", value: v, text: `ratio ≥ ${v.toFixed(2)}` }) as const;
  return {
    requestsPerSec: ratioAtLeast(mode === "http" ? 0.8 : 0.9),
    closeRequestsPerSec: ratioAtLeast(0.8),
    latencyP99: mode === "http"
      ? ({ on: "ratio", op: "<=", value: 1.5, text: "ratio ≤ 1.50" }) as const
      : undefined,
    throughput: ratioAtLeast(0.9),
    idle: {
      on: "value",
      op: "<=",
      value: IDLE_TARGET_BYTES,
      text: `Sluice ≤ ${IDLE_TARGET_BYTES} B`,
    } as const,
  };
}

function buildRows(r: Run, mode: Mode, byName: Map<ProxyName, ProxyResult>): Row[] {
  const row = (
    metric: string,
    pick: (x: Summary) => number | null,
    digits: number,
    target?: Row["target"],
    hasRatio = true,
  ): Row => {
    const values: Record<string, number | null> = {};
    for (const [name, res] of byName) values[name] = pick(res.summary);
    const out: Row = { metric, values, digits };
    if (target !== undefined) out.target = target;
    if (!hasRatio) out.hasRatio = false;
    return out;
  };
  const s = r.s;
  const t = targets(mode);
  const idleWhat = mode === "tcp"
    ? "idle connection (client + server side)"
    : "idle client connection";
  const ka = mode === "http" ? "keep-alive " : "";
  const conns = `${s.connections} conns`;
  const rows: Row[] = [
    row(
      `${ka}requests/s (median of ${s.rounds} × ${s.durationS} s, ${conns})`,
      (x) => x.requestsPerSec,
      0,
      t.requestsPerSec,
    ),
    row(`${ka}proxy CPU µs/request (median)`, (x) => x.cpuUsPerRequest, 2),
    row(`${ka}latency p50 ms (median)`, (x) => x.latencyP50Ms, 3),
    row(`${ka}latency p99 ms (median)`, (x) => x.latencyP99Ms, 3, t.latencyP99),
  ];
  if (mode === "http" && s.closeRounds) {
    rows.push(
      row(
        `close (1 request/connection) requests/s (median of ${s.rounds} × ${s.durationS} s, ${conns})`,
        (x) => x.closeRequestsPerSec,
        0,
        t.closeRequestsPerSec,
      ),
      row("close: proxy CPU µs/request (median)", (x) => x.closeCpuUsPerRequest, 2),
      row("close: latency p50 ms (median; connect not included)", (x) => x.closeLatencyP50Ms, 3),
      row("close: latency p99 ms (median; connect not included)", (x) => x.closeLatencyP99Ms, 3),
      row(
        "close: TCP accepts/request (system-wide; 1 = server connections reused)",
        (x) => x.closeAcceptsPerRequest,
        2,
        undefined,
        false,
      ),
    );
  }
  rows.push(
    row(
      `throughput MiB/s (median of ${s.transfers} × ${s.bigMiB} MiB)`,
      (x) => x.throughputMiBPerSec,
      0,
      t.throughput,
    ),
    row("proxy CPU ms/GiB transferred", (x) => x.cpuMsPerGiB, 0),
    row(
      `memory B/${idleWhat}, ${s.idleConns} open`,
      (x) => x.idleBytesPerConn,
      0,
      t.idle,
    ),
    row(`${ka}wrk socket errors + non-2xx (all rounds)`, (x) => x.errors, 0, undefined, false),
  );
  if (mode === "http" && s.closeRounds) {
    rows.push(
      row(
        "close: wrk socket errors + non-2xx (all rounds)",
        (x) => x.closeErrors,
        0,
        undefined,
        false,
      ),
    );
  }
  rows.push(
    row(
      "proxy core: other processes % (median of all rounds; noise)",
      (x) => x.otherLoadPct,
      0,
      undefined,
      false,
    ),
    row(
      "proxy core: softirq % (median of all rounds; not in CPU µs/request)",
      (x) => x.softirqPct,
      0,
      undefined,
      false,
    ),
  );
  return rows;
}

/**
 * The cost of per-request logs: the Sluice/HAProxy keep-alive requests/s
 * ratio with logs off and with logs on (same run), and their difference
 * (issue 13's target: within 0.03). Null without the logged variants.
 */
function logCost(results: readonly ProxyResult[]): string | null {
  const pick = (n: ProxyName, k: "requestsPerSec" | "cpuUsPerRequest") =>
    results.find((x) => x.name === n)?.summary[k] ?? null;
  const names = ["sluice", "haproxy", "sluice-log", "haproxy-log"] as const;
  const [s, h, sl, hl] = names.map((n) => pick(n, "requestsPerSec"));
  const [cs, ch, csl, chl] = names.map((n) => pick(n, "cpuUsPerRequest"));
  if (s == null || h == null || sl == null || hl == null || h === 0 || hl === 0) return null;
  const off = s / h;
  const on = sl / hl;
  const d = off - on;
  const cpu = cs != null && ch != null && csl != null && chl != null
    ? `; proxy CPU µs/request Sluice/HAProxy ${(cs / ch).toFixed(3)} off, ${
      (csl / chl).toFixed(3)
    } on ` +
      `(a line costs Sluice ${(csl - cs).toFixed(2)} µs, HAProxy ${(chl - ch).toFixed(2)} µs)`
    : "";
  return `logs cost: Sluice/HAProxy keep-alive requests/s ${off.toFixed(3)} with logs off, ` +
    `${on.toFixed(3)} with a log line per request on both (difference ${d.toFixed(3)}, ` +
    `target ≤ 0.030: ${d <= 0.03 ? "met" : "missed"})${cpu}`;
}

/** Table layout of a mode: one column per proxy run, Sluice's ratio to each other one. */
function layout(names: readonly ProxyName[]): Layout {
  return {
    columns: names.map((n) => ({ key: n, label: PROXY_LABEL[n] })),
    subject: "sluice",
    references: names.filter((n) => n !== "sluice"),
    targetReference: "haproxy",
  };
}

interface ModeReport {
  mode: Mode;
  proxies: ProxyResult[];
  rows: (Row & { ratios: Record<string, number | null>; met: boolean | null })[];
  table: string;
  targets: string;
}

async function runMode(r: Run, mode: Mode): Promise<ModeReport> {
  const s = r.s;
  const asked = [
    ...s.proxies,
    ...(s.logs ? LOG_PROXIES.filter((n) => !s.proxies.includes(n)) : []),
  ];
  const names = asked.filter((n) => PROXY_MODES[n].includes(mode));
  for (const n of s.proxies) {
    if (!names.includes(n)) log(`${PROXY_LABEL[n]} is not run in ${mode} mode (HTTP mode only)`);
  }
  const kinds: RoundKind[] = mode === "http" && s.closeRounds ? ["keepalive", "close"] : [
    "keepalive",
  ];
  log(`mode ${mode}: starting ${names.map((n) => PROXY_LABEL[n]).join(", ")}`);
  const ps: RunningProxy[] = [];
  for (const name of names) {
    const p = await startProxy(r, name, mode);
    if (p.result.error !== null) {
      log(`${PROXY_LABEL[name]} (${mode}) not measured: ${p.result.error}`);
    }
    ps.push(p);
  }
  try {
    const warmUp = async (what: string, download: boolean) => {
      for (const p of ps) {
        await phase(r, p, what, async () => {
          for (const kind of kinds) {
            await runWrk(`http://127.0.0.1:${p.port}/`, {
              threads: s.threads,
              connections: s.connections,
              durationS: s.warmupS,
              cpus: s.loadCpu,
              headers: kindHeaders(kind),
            });
          }
          if (download && s.transfers > 0 && !LOG_PROXIES.includes(p.name)) {
            await curlDownload(`http://127.0.0.1:${p.port}/big.bin`, r.bigBytes, s.loadCpu);
          }
        });
      }
      await sleep(1000);
    };
    if (s.warmupS > 0) await warmUp("warm-up", true);
    if (s.idleConns > 0) {
      // Logs change nothing for idle connections nor bulk transfers: the logged variants skip them.
      for (const p of ps) if (!LOG_PROXIES.includes(p.name)) await measureIdle(r, p, mode);
      // The idle connections all close at once: a garbage-collected proxy
      // then spends seconds collecting them (docs/benchmarks.md, "a burst of
      // connections"). The rounds measure the steady state, so every proxy
      // gets the same unmeasured load again first.
      if (s.warmupS > 0) await warmUp("warm-up after the idle connections", false);
    }
    for (let i = 0; i < s.rounds; i++) {
      for (const kind of kinds) {
        for (const p of order(ps, i)) await measureRound(r, p, mode, i, kind);
      }
    }
    for (let i = 0; i < s.transfers; i++) {
      for (const p of order(ps, i)) {
        if (!LOG_PROXIES.includes(p.name)) await measureTransfer(r, p, mode, i);
      }
    }
  } finally {
    for (const p of ps) if (p.proc !== null) await r.group.stop(p.proc);
  }
  const byName = new Map<ProxyName, ProxyResult>();
  for (const p of ps) {
    summarize(p.result);
    byName.set(p.name, p.result);
  }
  const rows = buildRows(r, mode, byName);
  const l = layout(names);
  return {
    mode,
    proxies: ps.map((p) => p.result),
    rows: rows.map((row) => ({
      ...row,
      ratios: Object.fromEntries(l.references.map((k) => [k, ratio(row, l.subject, k)])),
      met: targetMet(row, l),
    })),
    table: renderTable(rows, l),
    targets: targetSummary(rows, l),
  };
}

/** The backend alone, without a proxy: context for the table (one wrk run, one download). */
async function measureDirect(
  r: Run,
): Promise<{ requestsPerSec: number | null; throughputMiBPerSec: number | null }> {
  const out = { requestsPerSec: null as number | null, throughputMiBPerSec: null as number | null };
  try {
    const w = await runWrk(`http://127.0.0.1:${r.backendPort}/`, {
      threads: r.s.threads,
      connections: r.s.connections,
      durationS: r.s.durationS,
      cpus: r.s.loadCpu,
    });
    out.requestsPerSec = w.requestsPerSec;
    await curlDownload(`http://127.0.0.1:${r.backendPort}/big.bin`, r.bigBytes, r.s.loadCpu); // warm-up
    const d = await curlDownload(
      `http://127.0.0.1:${r.backendPort}/big.bin`,
      r.bigBytes,
      r.s.loadCpu,
    );
    out.throughputMiBPerSec = d.mibPerSec;
    log(`backend direct: ${w.requestsPerSec.toFixed(0)} req/s, ${d.mibPerSec.toFixed(0)} MiB/s`);
  } catch (e) {
    log(`backend direct: ${errorText(e)}`);
  }
  return out;
}

async function versionLine(cmd: string, args: string[]): Promise<string | null> {
  try {
    const r = await capture(cmd, args);
    return (r.stdout + r.stderr).trim().split("\n")[0] ?? null;
  } catch {
    return null;
  }
}

/** Git revision of the Sluice tree (read-only `git rev-parse`), null outside a work tree. */
async function sluiceRevision(root: string): Promise<string | null> {
  try {
    const r = await capture("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
    return r.code === 0 ? r.stdout.trim() : null;
  } catch {
    return null;
  }
}

async function environment(s: Settings, useNginx: boolean): Promise<Record<string, unknown>> {
  let cpu: string | null = null;
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? null;
  } catch {
    // not Linux-like: leave it out
  }
  return {
    kernel: Deno.osRelease(),
    cpu,
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    sluiceRoot: s.sluiceRoot,
    sluiceV8Flags: s.sluiceV8Flags,
    sluiceRevision: await sluiceRevision(s.sluiceRoot),
    haproxy: await versionLine("haproxy", ["-v"]),
    backend: useNginx ? await versionLine("nginx", ["-v"]) : "stub_backend.ts (Deno.serve)",
    nginxProxy: s.proxies.includes("nginx") ? await versionLine("nginx", ["-v"]) : null,
    wrk: await versionLine("wrk", ["-v"]),
    curl: await versionLine("curl", ["--version"]),
  };
}

/** `bench/load.ts tls`: the TLS comparison (bench/lib/tls_bench.ts) alone. */
async function tlsMain(): Promise<number> {
  return await withRun("sluice-bench-tls-", false, async (group, tmp) => {
    console.log(await runTlsBench(group, tmp));
    return 0;
  });
}

async function main(): Promise<number> {
  if (Deno.args[0] === "tls") return await tlsMain();
  if (Deno.args[0] === "h2") {
    // The HTTP/2 comparison lives in its own file (h2c and TLS, h2load).
    const { h2Main } = await import("./h2_load.ts");
    await h2Main();
    return 0;
  }
  const s = readSettings();
  try {
    readCpuTicks(Deno.pid);
    readCoreTicks(0);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        "Deno reads /proc only with --allow-all: run deno run --allow-all bench/load.ts",
      );
    }
    throw e;
  }
  for (const tool of ["wrk", "taskset", "curl", "ss", "getconf", "bash"]) {
    if (!(await hasCommand(tool))) {
      throw new Error(
        `"${tool}" is not installed (Debian: wrk, util-linux, curl, iproute2, libc-bin)`,
      );
    }
  }
  if (s.proxies.includes("haproxy") && !(await hasCommand("haproxy"))) {
    throw new Error(`"haproxy" is not installed (apt-get install haproxy)`);
  }
  const nginxFound = await hasCommand("nginx");
  if (s.backend === "nginx" && !nginxFound) throw new Error(`"nginx" is not installed`);
  if (s.proxies.includes("nginx") && !nginxFound) {
    // The default list names nginx; only an explicit BENCH_PROXIES makes it an error.
    if (s.proxiesExplicit) throw new Error(`"nginx" is not installed (apt-get install nginx)`);
    s.proxies = s.proxies.filter((n) => n !== "nginx");
    log("nginx is not installed: HTTP mode is measured without the nginx reverse proxy");
  }
  const useNginx = s.backend === "nginx" || (s.backend === "auto" && nginxFound);

  const limits = await openFileLimits();
  const nofile = Math.min(65536, limits.hard);
  if (limits.soft < s.idleConns + 500) {
    throw new Error(
      `The open-file limit of this process (${limits.soft}) is too low for ${s.idleConns} idle ` +
        `connections: run "ulimit -n ${
          Math.min(limits.hard, 65536)
        }" first or lower BENCH_IDLE_CONNS`,
    );
  }
  // A proxy holds two fds per connection, plus some: keep maxconn within its fd limit.
  const maxconn = Math.min(20000, Math.floor((nofile - 500) / 2));
  if (maxconn < s.idleConns + s.connections) {
    throw new Error(
      `An open-file limit of ${nofile} allows maxconn ${maxconn}, below the ${s.idleConns} idle ` +
        `connections asked (BENCH_IDLE_CONNS)`,
    );
  }

  return await withRun("sluice-bench-", s.keepTmp, async (group, tmp) => {
    const r: Run = {
      s,
      group,
      tmp,
      clkTck: await clockTicksPerSecond(),
      backendPort: freePort(),
      bigBytes: s.bigMiB * MIB,
      maxconn,
      nofile,
    };
    const started = new Date();
    log(
      `backend ${useNginx ? "nginx" : "stub_backend.ts"} on CPU ${s.loadCpu} (with wrk, curl and ` +
        `this process); proxies on CPU ${s.proxyCpu}; maxconn ${maxconn}, nofile ${nofile}`,
    );
    await startBackend(r, useNginx);
    await pinProcess(Deno.pid, s.loadCpu);
    const direct = s.direct ? await measureDirect(r) : null;
    const reports: ModeReport[] = [];
    for (const mode of s.modes) reports.push(await runMode(r, mode));

    const wrkLine = `wrk -t${s.threads} -c${s.connections} -d${s.durationS}s --latency`;
    console.log("");
    for (const rep of reports) {
      const close = rep.mode === "http" && s.closeRounds
        ? ` (and -H "Connection: close" for the close rows)`
        : "";
      console.log(
        `## mode ${rep.mode}: ${wrkLine}${close}, ${s.rounds} rounds, proxy order rotated; ` +
          `proxies pinned to CPU ${s.proxyCpu}, backend and clients to CPU ${s.loadCpu}`,
      );
      console.log("");
      console.log(rep.table);
      console.log("");
      console.log(rep.targets);
      console.log("");
      const cost = logCost(rep.proxies);
      if (cost !== null) {
        console.log(cost);
        console.log("");
      }
      for (const p of rep.proxies) {
        if (p.error !== null) console.log(`${PROXY_LABEL[p.name]}: not fully measured: ${p.error}`);
      }
    }
    if (direct !== null) {
      console.log(
        `backend alone (no proxy): ${direct.requestsPerSec?.toFixed(0) ?? "n/a"} req/s, ` +
          `${direct.throughputMiBPerSec?.toFixed(0) ?? "n/a"} MiB/s`,
      );
    }

    const json = {
      version: 2,
      date: started.toISOString(),
      seconds: Math.round((Date.now() - started.getTime()) / 1000),
      settings: { ...s, maxconn, nofile, clkTck: r.clkTck },
      environment: await environment(s, useNginx),
      direct,
      modes: reports.map((rep) => ({ mode: rep.mode, rows: rep.rows, proxies: rep.proxies })),
    };
    await writeResults(s.out, json);

    const failed = reports.some((rep) => rep.proxies.some((p) => p.error !== null));
    const missed = reports.some((rep) => rep.rows.some((row) => row.met === false));
    if (failed) return 1;
    if (missed && s.strict) return 1;
    return 0;
  }, async () => {
    const logDir = Deno.env.get("BENCH_LOG_DIR");
    if (logDir && !s.keepTmp) {
      for (const e of Deno.readDirSync(logDir)) {
        if (e.name.startsWith(`sluice-bench-${Deno.pid}-`)) {
          await Deno.remove(`${logDir}/${e.name}`).catch(() => {});
        }
      }
    }
  });
}

if (import.meta.main) await runMain("load bench", main);
