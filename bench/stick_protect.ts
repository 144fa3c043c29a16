// Keep-alive requests/s with a typical stick-table protection config
// (`stick-table type ip … store http_req_rate(10s)`, `track-sc0 src`, a
// rate ACL on `sc_http_req_rate(0)` that never refuses at this load) beside
// HAProxy 2.6 with the same lines, and beside Sluice without them: what the
// protection costs, and how far from HAProxy it is. The "full" variants add
// what issue 15's benchmark names: a 10,000-line map choosing the backend
// (`use_backend %[req.hdr(host),lower,map_str(FILE,be)]`; HAProxy indexes
// map_str in a tree but scans map_dom line by line: 6k req/s with 10,000
// lines), a captured header and a unique id added to each request.
//
//   deno run --allow-all bench/stick_protect.ts
//
// Environment: BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default
// 50), BENCH_ROUNDS (default 5, taking turns; the median is printed),
// BENCH_SLUICE_ROOT (another Sluice tree, e.g. /work/main: its three Sluice
// variants run beside this tree's, marked "[base]", for an A/B in one run).
// Needs wrk, haproxy
// and nginx (the backend). One HAProxy thread, one Sluice thread, one nginx
// worker; nothing is pinned: on a shared machine the figures move with the
// neighbours' load, so compare the columns of one run, not runs.

import { haproxyConfig, sluiceConfig } from "./lib/configs.ts";
import { envInt } from "./lib/env.ts";
import { freePort, hasCommand, ProcessGroup, sleep, waitForPort } from "./lib/proc.ts";
import { median } from "./lib/report.ts";
import { runWrk } from "./lib/wrk.ts";
import { clockTicksPerSecond, readCpuTicks } from "./lib/procfs.ts";
import { startNginx } from "./lib/nginx.ts";
import { startTaskV8Flags } from "./lib/sluice_proc.ts";

const DURATION = envInt("BENCH_DURATION", 5, 1);
const CONNS = envInt("BENCH_CONNECTIONS", 50, 1);
const ROUNDS = envInt("BENCH_ROUNDS", 5, 1);
const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const baseRoot = (Deno.env.get("BENCH_SLUICE_ROOT") ?? "").replace(/\/$/, "");

const TABLE = "type ip size 100k expire 30s store http_req_rate(10s)";
const MAP_LINES = 10_000;
const UNIQUE_ID = "%ci:%cp_%fi:%fp_%Ts_%rt:%pid";
const RULES = [
  "track-sc0 src",
  // Never true at this load: every request pays for the lookup and the ACL.
  "deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }",
];

for (const cmd of ["wrk", "haproxy", "nginx"]) {
  if (!(await hasCommand(cmd))) throw new Error(`${cmd} is not installed`);
}

const dir = await Deno.makeTempDir({ prefix: "sluice_stick_bench_" });
const group = new ProcessGroup(true);
try {
  const backendPort = freePort();
  await startNginx(group, { dir, port: backendPort });
  // Host names that never match wrk's Host (127.0.0.1:PORT): every request
  // walks the index and takes the default, as a miss does in production.
  const mapFile = `${dir}/hosts.map`;
  await Deno.writeTextFile(
    mapFile,
    Array.from({ length: MAP_LINES }, (_, i) => `host${i}.example.com be\n`).join(""),
  );

  const params = (bindPort: number) => ({
    mode: "http" as const,
    bindPort,
    backendPort,
    maxconn: 4096,
    bufsize: 16384,
  });
  let lastPort = 0;
  let n = 0;
  const startSluice = async (root: string, yaml: string): Promise<number> => {
    const f = `${dir}/sluice${++n}.yaml`;
    await Deno.writeTextFile(f, yaml);
    const args = ["run", "-A", ...startTaskV8Flags(root), "--config", `${root}/deno.json`];
    args.push(`${root}/main.ts`, "-f", f);
    const p = group.spawn("sluice", Deno.execPath(), args, { nofile: 8192 });
    await waitForPort(lastPort, p);
    return p.pid;
  };
  const startHaproxy = async (cfg: string): Promise<number> => {
    const f = `${dir}/haproxy${++n}.cfg`;
    await Deno.writeTextFile(f, cfg);
    const p = group.spawn("haproxy", "haproxy", ["-db", "-f", f], {
      nofile: 16384,
      stderrFile: `${dir}/haproxy${n}.err`,
    });
    await waitForPort(lastPort, p);
    return p.pid;
  };
  // A variant's frontend lines, each as both proxies spell it.
  type Line = { sluice: string; haproxy: string };
  const TRACK: Line[] = [
    { sluice: `    stick-table: "${TABLE}"`, haproxy: `  stick-table ${TABLE}` },
    { sluice: "    http-request:", haproxy: "" },
    ...RULES.map((r) => ({ sluice: `      - "${r}"`, haproxy: `  http-request ${r}` })),
  ];
  const full: Line[] = [
    {
      sluice: `    use_backend: "%[req.hdr(host),lower,map_str(${mapFile},be)]"`,
      haproxy: `  use_backend %[req.hdr(host),lower,map_str(${mapFile},be)]`,
    },
    {
      sluice: '    capture: ["request header Host len 20"]',
      haproxy: "  capture request header Host len 20",
    },
    { sluice: `    unique-id-format: "${UNIQUE_ID}"`, haproxy: `  unique-id-format ${UNIQUE_ID}` },
    { sluice: "    unique-id-header: X-Unique-ID", haproxy: "  unique-id-header X-Unique-ID" },
    ...TRACK,
  ];
  /** The bench's Sluice configuration with `lines` in its frontend. */
  const sluiceWith = (port: number, lines: Line[]): string =>
    sluiceConfig(params(port)).replace(
      `  fe: { bind: "127.0.0.1:${port}", default_backend: be }`,
      [
        "  fe:",
        `    bind: "127.0.0.1:${port}"`,
        "    default_backend: be",
        ...lines.map((l) => l.sluice),
      ].join("\n"),
    );
  /** The bench's HAProxy configuration with `lines` in its frontend. */
  const haproxyWith = (port: number, lines: Line[]): string =>
    haproxyConfig(params(port)).replace(
      "  default_backend be\n",
      ["  default_backend be", ...lines.map((l) => l.haproxy).filter((l) => l !== ""), ""].join(
        "\n",
      ),
    );
  const variants: Array<{ name: string; start: (port: number, root: string) => Promise<number> }> =
    [
      {
        name: "Sluice, no protection",
        start: (port, root) => startSluice(root, sluiceConfig(params(port))),
      },
      {
        name: "Sluice, track-sc0 + rate ACL",
        start: (port, root) => startSluice(root, sluiceWith(port, TRACK)),
      },
      {
        name: "HAProxy, track-sc0 + rate ACL",
        start: (port) => startHaproxy(haproxyWith(port, TRACK)),
      },
      {
        name: "Sluice, full protection",
        start: (port, root) => startSluice(root, sluiceWith(port, full)),
      },
      {
        name: "HAProxy, full protection",
        start: (port) => startHaproxy(haproxyWith(port, full)),
      },
    ];
  if (baseRoot !== "" && baseRoot !== here) {
    // The same Sluice lines run from the other tree.
    for (const v of variants.filter((v) => v.name.startsWith("Sluice"))) {
      variants.push({ name: `${v.name} [base]`, start: (port) => v.start(port, baseRoot) });
    }
  }
  // All the variants run at once (idle ones cost nothing) and the rounds take
  // turns, so that a neighbour's burst on the shared machine hits every
  // column alike instead of one variant's rounds.
  // Besides requests/s, the proxy's CPU time (user + system, /proc) per
  // request: what a request costs the proxy, which the neighbours' load
  // moves much less than the rate.
  const results: Array<{
    name: string;
    url: string;
    pid: number;
    rps: number[];
    cpuUs: number[];
    non2xx: number;
  }> = [];
  const hz = await clockTicksPerSecond();
  for (const v of variants) {
    lastPort = freePort();
    const pid = await v.start(lastPort, here);
    const url = `http://127.0.0.1:${lastPort}/`;
    await runWrk(url, { threads: 1, connections: CONNS, durationS: 2 }); // warm-up (JIT)
    results.push({ name: v.name, url, pid, rps: [], cpuUs: [], non2xx: 0 });
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const r of results) {
      const t0 = readCpuTicks(r.pid);
      const w = await runWrk(r.url, { threads: 1, connections: CONNS, durationS: DURATION });
      r.cpuUs.push((readCpuTicks(r.pid) - t0) / hz * 1e6 / Math.max(1, w.requests));
      r.rps.push(w.requestsPerSec);
      r.non2xx += w.non2xx;
      await sleep(200);
    }
  }
  const med = (n: string) => median(results.find((r) => r.name === n)!.rps)!;
  const cpu = (n: string) => median(results.find((r) => r.name === n)!.cpuUs)!;
  console.log(
    `\nkeep-alive GET /, ${CONNS} connections, ${DURATION}s x ${ROUNDS} rounds (median); ` +
      "shared machine: compare columns of this run only\n",
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(39)} ${med(r.name).toFixed(0).padStart(8)} req/s ${
        cpu(r.name).toFixed(1).padStart(6)
      } us CPU/req   rounds: ${r.rps.map((x) => x.toFixed(0)).join(", ")}   non-2xx: ${r.non2xx}`,
    );
  }
  const summary = (tag: string): void => {
    const noProt = med(`Sluice, no protection${tag}`);
    const prot = med(`Sluice, track-sc0 + rate ACL${tag}`);
    const full = med(`Sluice, full protection${tag}`);
    console.log(
      `\n${tag === "" ? "this tree" : `${baseRoot}`}: protection cost in Sluice ${
        ((1 - prot / noProt) * 100).toFixed(1)
      }% of requests/s; Sluice / HAProxy with the same protection ${
        (prot / med("HAProxy, track-sc0 + rate ACL")).toFixed(2)
      }x`,
    );
    console.log(
      `full protection (+ ${MAP_LINES}-line map, capture, unique id): Sluice / HAProxy ${
        (full / med("HAProxy, full protection")).toFixed(2)
      }x; its cost in Sluice: ${((1 - full / noProt) * 100).toFixed(1)}%`,
    );
    // Requests one CPU second serves, Sluice / HAProxy: the rate ratio of two
    // proxies that each had a core to themselves.
    const perCpu = (sluice: string, haproxy: string) => (cpu(haproxy) / cpu(sluice)).toFixed(2);
    console.log(
      `per CPU second (HAProxy us/req / Sluice us/req): track-sc0 + rate ACL ${
        perCpu(`Sluice, track-sc0 + rate ACL${tag}`, "HAProxy, track-sc0 + rate ACL")
      }x, full protection ${
        perCpu(`Sluice, full protection${tag}`, "HAProxy, full protection")
      }x; CPU per request: no protection ${cpu(`Sluice, no protection${tag}`).toFixed(1)} us, ` +
        `track ${cpu(`Sluice, track-sc0 + rate ACL${tag}`).toFixed(1)} us, full ${
          cpu(`Sluice, full protection${tag}`).toFixed(1)
        } us`,
    );
  };
  summary("");
  if (results.some((r) => r.name.endsWith(" [base]"))) summary(" [base]");
} finally {
  await group.stopAll();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
