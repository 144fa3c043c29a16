// The memory bench: memory and file descriptors per connection, Sluice next
// to HAProxy 2.6, for the kinds of connections that hold a proxy's memory
// while doing little.
//
// Usage: deno run --allow-all bench/conn_memory.ts   (tunables: BENCH_* env vars, see
// bench/README.md). `--allow-all` is needed to read /proc/PID/{status,fd}.
//
// One nginx backend (bench/lib/configs.ts: `GET /`, `GET /big.bin`, `POST
// /upload` which waits for the whole body). Per scenario and per proxy, a
// fresh proxy process is started with the load bench's settings (HTTP mode,
// keep-alive, same timeouts, bufsize and maxconn; HAProxy with its defaults,
// `http-reuse safe` included), warmed up with wrk, and measured alone:
//   - keepalive: N clients on keep-alive connections, one `GET /` a second
//     each, idle in between. Measured once every client has made two
//     requests and the proxy's server connections stopped dropping (HAProxy
//     closes surplus idle ones every pool-purge-delay, by halves).
//   - slowloris: N connections that sent part of a request head.
//   - upload: N POSTs with Content-Length whose body stalled after
//     BENCH_UPLOAD_SENT_KIB KiB (the proxy has connected to the backend).
//   - slowreader: N requests for a BENCH_SLOW_MIB MiB file, never read.
//   - garbage: BENCH_GARBAGE_ROUNDS rounds of BENCH_GARBAGE_CONNS short
//     connections that send a few non-HTTP bytes or nothing and close; RSS
//     after each round. Memory a proxy keeps after a burst shows as growth
//     from round to round.
// For the first four: (VmRSS with the connections open − VmRSS before) / N,
// and (open fds − fds before) / N, read from /proc. The table shows both
// proxies and Sluice's targets; everything goes to bench/out/conn_memory.json.
// Every process it starts is stopped on exit and on SIGINT/SIGTERM (and
// through setpriv --pdeathsig when the bench is killed).

import { type CommonSettings, commonSettings, envInt, envList } from "./lib/env.ts";
import {
  closeCrowd,
  garbageBurst,
  KeepAliveCrowd,
  openCrowd,
  sendPartialHead,
  sendPartialUpload,
  sendRequestNoRead,
} from "./lib/crowds.ts";
import { haproxyConfig, type ProxyParams, sluiceConfig } from "./lib/configs.ts";
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
import { countEstablished, countFds, readRssKiB } from "./lib/procfs.ts";
import { type Layout, renderTable, type Row, targetMet, targetSummary } from "./lib/report.ts";
import { runWrk } from "./lib/wrk.ts";
import { startNginx } from "./lib/nginx.ts";
import { spawnSluiceTree } from "./lib/sluice_proc.ts";
import { errorText, log, openFileLimits, runMain, withRun, writeResults } from "./lib/run.ts";

type ProxyName = "sluice" | "haproxy" | "floor";
type Scenario = "keepalive" | "slowloris" | "upload" | "slowreader" | "garbage";

const ALL_PROXIES: readonly ProxyName[] = ["sluice", "haproxy", "floor"];
/** Scenarios the Deno floor (bench/lib/idle_floor.ts) takes part in: it holds clients, it proxies nothing. */
const FLOOR_SCENARIOS: ReadonlySet<Scenario> = new Set(["keepalive", "slowloris"]);
const ALL_SCENARIOS: readonly Scenario[] = [
  "keepalive",
  "slowloris",
  "upload",
  "slowreader",
  "garbage",
];
const LABEL: Record<ProxyName, string> = {
  sluice: "Sluice",
  haproxy: "HAProxy",
  floor: "Deno floor",
};
const MIB = 1024 * 1024;

// --- settings ------------------------------------------------------------------

interface Settings extends CommonSettings {
  proxies: ProxyName[];
  scenarios: Scenario[];
  keepaliveConns: number;
  /** Milliseconds between two requests of one keep-alive client. */
  intervalMs: number;
  /** The keep-alive clients' first requests are spread over this many milliseconds. */
  rampMs: number;
  /** Longest wait for the proxy's server connections to settle (keepalive). */
  keepaliveHoldMaxS: number;
  slowlorisConns: number;
  uploadConns: number;
  uploadSentKiB: number;
  slowReaderConns: number;
  slowMiB: number;
  garbageRounds: number;
  garbageConns: number;
  garbageParallel: number;
  /** Wait after the connections are in place, before reading /proc. */
  settleMs: number;
  warmupS: number;
}

function readSettings(): Settings {
  // Per-connection figures are RSS growth divided by N: fixed costs (a
  // garbage-collected heap growing its young generation, pools carving
  // slabs) weigh less with more connections. 9,000 keep-alive clients is the
  // issue's figure; the others default to 2,000 (BENCH_CONNS sets them all).
  const n = envInt("BENCH_CONNS", 2000, 1);
  return {
    proxies: envList("BENCH_PROXIES", ALL_PROXIES, ALL_PROXIES),
    scenarios: envList("BENCH_SCENARIOS", ALL_SCENARIOS, ALL_SCENARIOS),
    keepaliveConns: envInt(
      "BENCH_KEEPALIVE_CONNS",
      Deno.env.get("BENCH_CONNS") ? n : 9000,
      1,
    ),
    intervalMs: envInt("BENCH_INTERVAL_MS", 1000, 10),
    rampMs: envInt("BENCH_RAMP_MS", 3000, 0),
    keepaliveHoldMaxS: envInt("BENCH_KEEPALIVE_HOLD_MAX_S", 90, 0),
    slowlorisConns: envInt("BENCH_SLOWLORIS_CONNS", n, 1),
    uploadConns: envInt("BENCH_UPLOAD_CONNS", n, 1),
    uploadSentKiB: envInt("BENCH_UPLOAD_SENT_KIB", 32, 1),
    // The kernel buffers about 7.5 MiB of each slow reader's response along
    // the way (socket buffers of both connections): the file must be larger
    // for the proxy's own buffers to fill, and 100 of them stay well below
    // tcp_mem's pressure threshold (about 1.5 GiB here).
    slowReaderConns: envInt("BENCH_SLOWREADER_CONNS", Math.min(n, 100), 1),
    slowMiB: envInt("BENCH_SLOW_MIB", 16, 1),
    garbageRounds: envInt("BENCH_GARBAGE_ROUNDS", 12, 2),
    garbageConns: envInt("BENCH_GARBAGE_CONNS", 20000, 1),
    garbageParallel: envInt("BENCH_GARBAGE_PARALLEL", 200, 1),
    settleMs: envInt("BENCH_SETTLE_MS", 2000, 0),
    warmupS: envInt("BENCH_WARMUP", 2, 0),
    ...commonSettings(new URL("./out/conn_memory.json", import.meta.url).pathname),
  };
}

// --- results ---------------------------------------------------------------------

/** Memory and descriptors of one proxy with N connections of one kind open. */
interface ConnFigures {
  conns: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** (rssAfter − rssBefore) / conns. */
  kibPerConn: number;
  fdsBefore: number;
  fdsAfter: number;
  /** (fdsAfter − fdsBefore) / conns. */
  fdsPerConn: number;
  /** Established proxy → backend connections with the crowd open (all, warm-up leftovers included). */
  serverConns: number;
  /** Scenario-specific notes (requests made, errors, seconds held). */
  notes: string;
}

interface GarbageFigures {
  rounds: number;
  connsPerRound: number;
  rssStartKiB: number;
  /** VmRSS after each round, KiB. */
  rssKiB: number[];
  failedConnects: number;
}

interface ProxyResults {
  name: ProxyName;
  errors: string[];
  keepalive: ConnFigures | null;
  slowloris: ConnFigures | null;
  upload: ConnFigures | null;
  slowreader: ConnFigures | null;
  garbage: GarbageFigures | null;
}

// --- the run ---------------------------------------------------------------------

interface Run {
  s: Settings;
  group: ProcessGroup;
  tmp: string;
  backendPort: number;
  maxconn: number;
  nofile: number;
}

async function startBackend(r: Run): Promise<ManagedProcess> {
  return await startNginx(r.group, {
    dir: r.tmp,
    port: r.backendPort,
    workerConnections: Math.min(r.nofile, 2 * r.maxconn + 1024),
    nofile: r.nofile,
    cpus: r.s.loadCpu,
    bigBytes: r.s.slowMiB * MIB,
  });
}

/** Starts one proxy in HTTP mode and waits until it listens. */
async function startProxy(r: Run, name: ProxyName, tag: string): Promise<{
  proc: ManagedProcess;
  port: number;
}> {
  const port = freePort();
  const params: ProxyParams = {
    mode: "http",
    bindPort: port,
    backendPort: r.backendPort,
    maxconn: r.maxconn,
    bufsize: r.s.bufsize,
  };
  const base = `${r.tmp}/${name}_${tag}`;
  let proc: ManagedProcess;
  if (name === "haproxy") {
    await Deno.writeTextFile(`${base}.cfg`, haproxyConfig(params));
    proc = r.group.spawn(`haproxy (${tag})`, "haproxy", ["-db", "-f", `${base}.cfg`], {
      cpus: r.s.proxyCpu,
      nofile: r.nofile,
      stderrFile: `${base}.stderr`,
    });
  } else if (name === "floor") {
    proc = r.group.spawn(
      `floor (${tag})`,
      Deno.execPath(),
      ["run", "--allow-net", new URL("./lib/idle_floor.ts", import.meta.url).pathname, `${port}`],
      {
        cpus: r.s.proxyCpu,
        nofile: r.nofile,
        stderrFile: `${base}.stderr`,
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      },
    );
  } else {
    await Deno.writeTextFile(`${base}.yaml`, sluiceConfig(params));
    proc = spawnSluiceTree(r.group, `sluice (${tag})`, r.s.sluiceRoot, `${base}.yaml`, {
      denoFlags: r.s.sluiceV8Flags !== "" ? [`--v8-flags=${r.s.sluiceV8Flags}`] : [],
      cpus: r.s.proxyCpu,
      nofile: r.nofile,
      stderrFile: `${base}.stderr`,
    });
  }
  await waitForPort(port, proc, 60_000);
  return { proc, port };
}

/** Polls until `count()` ≥ `want`; throws after `timeoutMs`. */
async function waitForCount(
  count: () => number | Promise<number>,
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

/** Polls until `count()` ≤ `want` or `timeoutMs` passed; returns the last count. */
async function waitForAtMost(
  count: () => number | Promise<number>,
  want: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = await count();
  while (n > want && Date.now() < deadline) {
    await sleep(100);
    n = await count();
  }
  return n;
}

/** Established connections from any proxy to the backend. */
function serverConns(r: Run): Promise<number> {
  return countEstablished(r.backendPort, "dport");
}

/**
 * Warms a fresh proxy up: JIT, pools and caches as after some traffic. Few
 * connections, so that few idle server connections are left behind (HAProxy
 * keeps them until its purge).
 */
async function warmUp(r: Run, port: number): Promise<void> {
  if (r.s.warmupS === 0) return;
  await runWrk(`http://127.0.0.1:${port}/`, {
    threads: 1,
    connections: 4,
    durationS: r.s.warmupS,
    cpus: r.s.loadCpu,
    headers: [],
  });
}

/** Memory the kernel holds for all TCP sockets (/proc/net/sockstat, pages), in MiB. */
function tcpMemMiB(): string {
  const m = /^TCP:.* mem (\d+)/m.exec(Deno.readTextFileSync("/proc/net/sockstat"));
  return m === null ? "?" : (Number(m[1]) * 4096 / MIB).toFixed(0);
}

function figures(
  n: number,
  before: { rss: number; fds: number },
  proc: ManagedProcess,
  srv: number,
  notes: string,
): ConnFigures {
  const rssAfterKiB = readRssKiB(proc.pid);
  const fdsAfter = countFds(proc.pid);
  return {
    conns: n,
    rssBeforeKiB: before.rss,
    rssAfterKiB,
    kibPerConn: (rssAfterKiB - before.rss) / n,
    fdsBefore: before.fds,
    fdsAfter,
    fdsPerConn: (fdsAfter - before.fds) / n,
    serverConns: srv,
    notes,
  };
}

/** Measures one connection scenario on a fresh proxy. */
async function measureConns(
  r: Run,
  name: ProxyName,
  sc: Exclude<Scenario, "garbage">,
): Promise<ConnFigures> {
  const s = r.s;
  const { proc, port } = await startProxy(r, name, sc);
  try {
    await warmUp(r, port);
    // Let the warm-up's server connections close (HAProxy purges its idle
    // ones by halves every 5 s; the few left count in `before`).
    await waitForAtMost(() => serverConns(r), 0, 6_000);
    await sleep(1000);
    const before = { rss: readRssKiB(proc.pid), fds: countFds(proc.pid) };
    const t0 = performance.now();
    let result: ConnFigures;
    if (sc === "keepalive") {
      const n = s.keepaliveConns;
      const crowd = new KeepAliveCrowd(n, s.intervalMs);
      try {
        // All connections first, then the requests: a proxy busy with 9,000
        // accepts and their first requests at once lets its listen queue
        // overflow (Deno's backlog is 511), and a connection the kernel
        // dropped that way loses its first request for a minute.
        await crowd.open(
          port,
          250,
          (k) => waitForCount(() => countFds(proc.pid), before.fds + k, 30_000, "accepted"),
        );
        crowd.run(s.rampMs);
        // Every client has made two requests: its second one may use another
        // client's idle server connection (http-reuse safe). A proxy too
        // slow for that is measured all the same, with a note.
        const reqDeadline = Date.now() + 60_000 + 3 * s.intervalMs;
        while (crowd.minDone() < 2 && crowd.errors === 0 && Date.now() < reqDeadline) {
          await sleep(200);
        }
        // Then hold until the proxy's server connections stop dropping
        // (HAProxy closes surplus idle ones every 5 s, by halves) or the hold ends.
        const holdEnd = Date.now() + s.keepaliveHoldMaxS * 1000;
        let last = await serverConns(r), stableSince = Date.now();
        while (Date.now() < holdEnd && Date.now() - stableSince < 10_000) {
          await sleep(1000);
          const c = await serverConns(r);
          if (c < last * 0.95 - 1) stableSince = Date.now();
          last = Math.min(last, c);
        }
        await sleep(s.settleMs);
        // A client that failed has left: measured without it would flatter
        // the figure, so more than a few make the scenario fail.
        if (crowd.errors > n / 100) {
          throw new Error(`${crowd.errors} keep-alive client errors, first: ${crowd.firstError}`);
        }
        const srv = await serverConns(r);
        const held = ((performance.now() - t0) / 1000).toFixed(0);
        let slow = 0;
        for (const d of crowd.done) if (d < 2) slow++;
        result = figures(
          n,
          before,
          proc,
          srv,
          `${crowd.total()} requests in ${held} s, ${crowd.minDone()}+ per client` +
            (slow > 0 ? `, ${slow} clients with fewer than 2 responses (proxy too slow)` : "") +
            (crowd.errors > 0 ? `, ${crowd.errors} client errors (${crowd.firstError})` : ""),
        );
      } finally {
        await crowd.stop();
      }
    } else {
      const n = sc === "slowloris"
        ? s.slowlorisConns
        : sc === "upload"
        ? s.uploadConns
        : s.slowReaderConns;
      const sent = s.uploadSentKiB * 1024;
      const first = (c: Deno.TcpConn) =>
        sc === "slowloris"
          ? sendPartialHead(c)
          : sc === "upload"
          ? sendPartialUpload(c, 1 << 30, sent)
          : sendRequestNoRead(c, "/big.bin");
      const conns = await openCrowd(port, n, first);
      try {
        if (sc === "slowloris") {
          await waitForCount(() => countFds(proc.pid), before.fds + n, 30_000, "accepted");
        } else {
          // The proxy forwarded every request: one server connection each
          // (the warm-up's leftovers, `srv0`, may be purged meanwhile).
          await waitForCount(() => serverConns(r), n, 30_000, "server connections");
        }
        await sleep(s.settleMs);
        const srv = await serverConns(r);
        result = figures(n, before, proc, srv, `kernel TCP memory ${tcpMemMiB()} MiB`);
      } finally {
        closeCrowd(conns);
      }
    }
    log(
      `${LABEL[name]} ${sc}: ${result.conns} connections, RSS ${result.rssBeforeKiB} → ` +
        `${result.rssAfterKiB} KiB = ${result.kibPerConn.toFixed(1)} KiB/conn, fds ` +
        `${result.fdsBefore} → ${result.fdsAfter} = ${result.fdsPerConn.toFixed(2)}/conn, ` +
        `${result.serverConns} server connections${result.notes ? `; ${result.notes}` : ""}`,
    );
    return result;
  } finally {
    await r.group.stop(proc);
    // The backend closes the connections of the stopped proxy.
    await waitForAtMost(() => serverConns(r), 0, 10_000);
  }
}

/** The garbage rounds on a fresh proxy: RSS after each burst. */
async function measureGarbage(r: Run, name: ProxyName): Promise<GarbageFigures> {
  const s = r.s;
  const { proc, port } = await startProxy(r, name, "garbage");
  try {
    await warmUp(r, port);
    await sleep(1000);
    const fds0 = countFds(proc.pid);
    const rssStartKiB = readRssKiB(proc.pid);
    const rssKiB: number[] = [];
    let failedConnects = 0;
    for (let i = 0; i < s.garbageRounds; i++) {
      const t0 = performance.now();
      failedConnects += await garbageBurst(port, s.garbageConns, s.garbageParallel);
      // Wait for the proxy to close them all, then a second more (a GC, a purge).
      await waitForAtMost(() => countFds(proc.pid), fds0 + 5, 30_000);
      await sleep(1000);
      const rss = readRssKiB(proc.pid);
      rssKiB.push(rss);
      log(
        `${LABEL[name]} garbage round ${i + 1}: ${s.garbageConns} connections in ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${rss} KiB`,
      );
    }
    return {
      rounds: s.garbageRounds,
      connsPerRound: s.garbageConns,
      rssStartKiB,
      rssKiB,
      failedConnects,
    };
  } finally {
    await r.group.stop(proc);
  }
}

// --- report ----------------------------------------------------------------------

/** Targets (Sluice's own figures; HAProxy's are shown beside them). */
const TARGET = {
  keepaliveKiB: 12,
  keepaliveFds: 1.05,
  slowlorisKiB: 16,
  uploadKiB: 32,
  garbageGrowth: 1.10,
} as const;

function valueTarget(value: number, text: string): Row["target"] {
  return { on: "value", op: "<=", value, text };
}

function buildRows(s: Settings, res: Map<ProxyName, ProxyResults>): Row[] {
  const row = (
    metric: string,
    pick: (x: ProxyResults) => number | null,
    digits: number,
    target?: Row["target"],
  ): Row => {
    const values: Record<string, number | null> = {};
    for (const [name, x] of res) values[name] = pick(x);
    const out: Row = { metric, values, digits };
    if (target !== undefined) out.target = target;
    return out;
  };
  const rows: Row[] = [];
  const sc = new Set(s.scenarios);
  if (sc.has("keepalive")) {
    const n = s.keepaliveConns;
    rows.push(
      row(
        `keep-alive client (${n}, 1 request/${s.intervalMs} ms each): KiB/client`,
        (x) => x.keepalive?.kibPerConn ?? null,
        1,
        valueTarget(TARGET.keepaliveKiB, `Sluice ≤ ${TARGET.keepaliveKiB} KiB`),
      ),
      row(
        "keep-alive client: fds/client",
        (x) => x.keepalive?.fdsPerConn ?? null,
        2,
        valueTarget(TARGET.keepaliveFds, `Sluice ≤ ${TARGET.keepaliveFds}`),
      ),
      row("keep-alive: server connections open", (x) => x.keepalive?.serverConns ?? null, 0),
    );
  }
  if (sc.has("slowloris")) {
    rows.push(
      row(
        `slowloris (${s.slowlorisConns}, partial head): KiB/connection`,
        (x) => x.slowloris?.kibPerConn ?? null,
        1,
        valueTarget(TARGET.slowlorisKiB, `Sluice ≤ ${TARGET.slowlorisKiB} KiB`),
      ),
      row("slowloris: fds/connection", (x) => x.slowloris?.fdsPerConn ?? null, 2),
    );
  }
  if (sc.has("upload")) {
    rows.push(
      row(
        `stalled upload (${s.uploadConns}, ${s.uploadSentKiB} KiB of the body sent): KiB/connection`,
        (x) => x.upload?.kibPerConn ?? null,
        1,
        valueTarget(TARGET.uploadKiB, `Sluice ≤ ${TARGET.uploadKiB} KiB`),
      ),
      row("stalled upload: fds/connection", (x) => x.upload?.fdsPerConn ?? null, 2),
    );
  }
  if (sc.has("slowreader")) {
    rows.push(
      row(
        `slow reader (${s.slowReaderConns}, ${s.slowMiB} MiB response never read): KiB/connection`,
        (x) => x.slowreader?.kibPerConn ?? null,
        1,
      ),
      row("slow reader: fds/connection", (x) => x.slowreader?.fdsPerConn ?? null, 2),
    );
  }
  if (sc.has("garbage")) {
    const g = (x: ProxyResults, i: number) => {
      const v = x.garbage?.rssKiB[i];
      return v === undefined ? null : v / 1024;
    };
    const last = s.garbageRounds - 1;
    rows.push(
      row(
        "garbage: RSS MiB before the rounds",
        (x) => x.garbage === null ? null : x.garbage.rssStartKiB / 1024,
        1,
      ),
      row("garbage: RSS MiB after round 2", (x) => g(x, 1), 1),
      row(`garbage: RSS MiB after round ${last + 1}`, (x) => g(x, last), 1),
      row(
        `garbage: RSS round ${last + 1} / round 2 (${s.garbageConns} connections a round)`,
        (x) => {
          const a = g(x, 1), b = g(x, last);
          return a === null || b === null ? null : b / a;
        },
        3,
        valueTarget(TARGET.garbageGrowth, `Sluice ≤ ${TARGET.garbageGrowth.toFixed(2)}`),
      ),
    );
  }
  return rows;
}

// --- main ------------------------------------------------------------------------

async function main(): Promise<number> {
  const s = readSettings();
  try {
    readRssKiB(Deno.pid);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error("Deno reads /proc only with --allow-all: run deno run --allow-all …");
    }
    throw e;
  }
  for (const tool of ["wrk", "taskset", "ss", "bash", "nginx"]) {
    if (!(await hasCommand(tool))) throw new Error(`"${tool}" is not installed`);
  }
  if (s.proxies.includes("haproxy") && !(await hasCommand("haproxy"))) {
    throw new Error(`"haproxy" is not installed (apt-get install haproxy)`);
  }
  const limits = await openFileLimits();
  const nofile = Math.min(65536, limits.hard);
  const most = Math.max(
    ...s.scenarios.map((sc) =>
      sc === "keepalive"
        ? s.keepaliveConns
        : sc === "slowloris"
        ? s.slowlorisConns
        : sc === "upload"
        ? s.uploadConns
        : sc === "slowreader"
        ? s.slowReaderConns
        : s.garbageParallel
    ),
  );
  // The bench holds one fd per client; the proxies get the hard limit.
  if (limits.soft < most + 500) {
    throw new Error(
      `The open-file limit of this process (${limits.soft}) is too low for ${most} connections: ` +
        `run "ulimit -n ${Math.min(limits.hard, 65536)}" first or lower BENCH_CONNS`,
    );
  }
  // As in the load bench: HAProxy refuses to start when 2 × maxconn does not
  // fit its fd limit (a proxy may need a server connection per client).
  const maxconn = Math.min(20000, Math.floor((nofile - 500) / 2));
  if (maxconn < most) {
    throw new Error(`An open-file limit of ${nofile} allows maxconn ${maxconn}, below ${most}`);
  }

  return await withRun("sluice-connmem-", s.keepTmp, async (group, tmp) => {
    const r: Run = { s, group, tmp, backendPort: freePort(), maxconn, nofile };
    const started = new Date();
    log(
      `nginx backend, wrk and this process on CPU ${s.loadCpu}; proxies on CPU ${s.proxyCpu}; ` +
        `maxconn ${maxconn}, nofile ${nofile}`,
    );
    await startBackend(r);
    await pinProcess(Deno.pid, s.loadCpu);
    const results = new Map<ProxyName, ProxyResults>();
    for (const name of s.proxies) {
      results.set(name, {
        name,
        errors: [],
        keepalive: null,
        slowloris: null,
        upload: null,
        slowreader: null,
        garbage: null,
      });
    }
    // Scenario by scenario, the proxies one after the other (each on a fresh process).
    for (const sc of s.scenarios) {
      for (const name of s.proxies) {
        const res = results.get(name)!;
        if (name === "floor" && !FLOOR_SCENARIOS.has(sc)) continue;
        try {
          if (sc === "garbage") res.garbage = await measureGarbage(r, name);
          else res[sc] = await measureConns(r, name, sc);
        } catch (e) {
          const msg = `${sc}: ${errorText(e)}`;
          res.errors.push(msg);
          log(`${LABEL[name]}: ${msg}`);
        }
      }
    }
    const layout: Layout = {
      columns: s.proxies.map((n) => ({ key: n, label: LABEL[n] })),
      subject: "sluice",
      references: s.proxies.filter((n) => n !== "sluice"),
      targetReference: "haproxy",
    };
    const rows = buildRows(s, results);
    console.log("");
    console.log(
      `## memory and descriptors per connection (HTTP mode, bufsize ${s.bufsize}, a fresh ` +
        `proxy per scenario)`,
    );
    console.log("");
    console.log(renderTable(rows, layout));
    console.log("");
    console.log(targetSummary(rows, layout));
    for (const res of results.values()) {
      for (const e of res.errors) console.log(`${LABEL[res.name]}: not measured: ${e}`);
      if (res.garbage !== null) {
        console.log(
          `${LABEL[res.name]} garbage rounds, RSS MiB: ` +
            res.garbage.rssKiB.map((k) => (k / 1024).toFixed(1)).join(" "),
        );
      }
    }
    const json = {
      version: 1,
      date: started.toISOString(),
      seconds: Math.round((Date.now() - started.getTime()) / 1000),
      settings: { ...s, maxconn, nofile },
      haproxy: (await capture("haproxy", ["-v"])).stdout.split("\n")[0],
      deno: Deno.version.deno,
      results: [...results.values()],
      rows: rows.map((row) => ({ ...row, met: targetMet(row, layout) })),
    };
    await writeResults(s.out, json);
    const failed = [...results.values()].some((x) => x.errors.length > 0);
    const missed = rows.some((row) => targetMet(row, layout) === false);
    if (failed) return 1;
    return missed && s.strict ? 1 : 0;
  });
}

if (import.meta.main) await runMain("conn_memory bench", main);
