// Hostile clients and broken peers, Sluice beside HAProxy (issue 14).
//
// Each scenario runs one proxy at a time in front of the same backend (an
// HTTP/1.1 server in this process) and prints what a user would notice:
//
//   resets    a reset storm (clients that connect and reset before being
//             accepted, RESETS_PER_S a second) while a legitimate client sends
//             a request on a new connection every 20 ms: its latency p50, p99
//             and max, and failed requests.
//   flap      roundrobin, retries 3, option redispatch, checks inter 200ms; s1
//             stops and restarts every second while two clients on new
//             connections and two on kept-alive connections send requests:
//             requests over 1 s, failed requests, max latency.
//   flood     maxconn 100 and 1,000 idle connections opened at once, then 50
//             legitimate requests on new connections: their wait, median/max.
//   stalled   a request whose promised body never comes, timeout client =
//             timeout server = 2 s: what the client gets and the log's state.
//
// Usage: deno run --allow-all bench/hostile.ts
//   HOSTILE_SCENARIOS=resets,flap,flood,stalled   which to run
//   HOSTILE_PROXIES=sluice,haproxy                which proxies
//   SLUICE_MAIN=/path/to/main.ts                  another Sluice (e.g. an old
//                                                 commit's worktree, for "before")
//   HOSTILE_SECONDS=8                             length of the timed phases
// The proxies are pinned to CPU 1 (taskset) when there are two CPUs or more.
// Needs haproxy, python3 (the reset clients) and taskset.

import { resetStorm } from "../tests/_helpers/reset_client.ts";
import { freePort, sleep } from "./lib/proc.ts";

const SCENARIOS = (Deno.env.get("HOSTILE_SCENARIOS") ?? "resets,flap,flood,stalled").split(",");
const PROXIES = (Deno.env.get("HOSTILE_PROXIES") ?? "sluice,haproxy").split(",");
const MAIN = Deno.env.get("SLUICE_MAIN") ?? new URL("../main.ts", import.meta.url).pathname;
const SECONDS = Number(Deno.env.get("HOSTILE_SECONDS") ?? "8");
const RESETS_PER_S = Number(Deno.env.get("RESETS_PER_S") ?? "30");
const PIN = navigator.hardwareConcurrency >= 2 ? ["taskset", "-c", "1"] : [];
const te = new TextEncoder();
const td = new TextDecoder();

// ---------------------------------------------------------------------------
// The backend: answers every request head with 200 "ok", keeps connections
// alive; stop() refuses new connections and closes idle ones, start() listens
// again on the same port.

class Backend {
  readonly port: number;
  #l: Deno.TcpListener | null = null;
  #conns = new Set<Deno.TcpConn>();

  constructor(port = 0) {
    this.port = port === 0 ? freePort() : port;
    this.start();
  }

  start(): void {
    if (this.#l !== null) return;
    const l = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#l = l;
    (async () => {
      for (;;) {
        let c: Deno.TcpConn;
        try {
          c = await l.accept();
        } catch {
          return;
        }
        this.#conns.add(c);
        this.#serve(c).finally(() => {
          this.#conns.delete(c);
          try {
            c.close();
          } catch { /* closed */ }
        });
      }
    })();
  }

  stop(): void {
    try {
      this.#l?.close();
    } catch { /* closed */ }
    this.#l = null;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
  }

  async #serve(c: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(16384);
    let have = "";
    const reply = te.encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) return;
        have += td.decode(buf.subarray(0, n));
        for (let i = have.indexOf("\r\n\r\n"); i >= 0; i = have.indexOf("\r\n\r\n")) {
          const head = have.slice(0, i);
          have = have.slice(i + 4);
          // The stalled-body scenario: the body never comes, so never answer.
          if (!head.startsWith("POST")) await c.write(reply);
        }
      }
    } catch { /* reset */ }
  }
}

// ---------------------------------------------------------------------------
// Proxies.

interface Proxy {
  name: string;
  port: number;
  logs(): string;
  stop(): Promise<void>;
}

interface Setup {
  servers: Array<{ port: number; check?: boolean }>;
  maxconn?: number;
  timeouts?: { client: string; server: string };
  redispatch?: boolean;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

async function startProxy(kind: string, s: Setup): Promise<Proxy> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "sluice-hostile-" });
  const logFile = `${dir}/log`;
  const t = s.timeouts ?? { client: "10s", server: "10s" };
  const check = (x: { check?: boolean }) => x.check === true;
  let cmd: string[];
  if (kind === "haproxy") {
    const cfg = `global
  maxconn ${s.maxconn ?? 4096}
  nbthread 1
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  retries 3
  ${s.redispatch ? "option redispatch" : ""}
  timeout connect 5s
  timeout client ${t.client}
  timeout server ${t.server}
  timeout http-request 5s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
${
      s.servers.map((x, i) =>
        `  server s${i + 1} 127.0.0.1:${x.port}${
          check(x) ? " check inter 200ms fall 2 rise 1" : ""
        }`
      ).join("\n")
    }
`;
    await Deno.writeTextFile(`${dir}/h.cfg`, cfg);
    cmd = [...PIN, "haproxy", "-db", "-f", `${dir}/h.cfg`];
  } else {
    const cfg = `global: { log: stdout, maxconn: ${s.maxconn ?? 4096} }
defaults:
  mode: http
  retries: 3
  option: [httplog${s.redispatch ? ", redispatch" : ""}]
  timeout: { connect: 5s, client: ${t.client}, server: ${t.server}, http-request: 5s }
frontends:
  fe: { bind: "127.0.0.1:${port}", default_backend: be }
backends:
  be:
    balance: roundrobin
    servers:
${
      s.servers.map((x, i) =>
        `      - { name: s${i + 1}, address: "127.0.0.1:${x.port}"${
          check(x) ? ", check: true, inter: 200ms, fall: 2, rise: 1" : ""
        } }`
      ).join("\n")
    }
`;
    await Deno.writeTextFile(`${dir}/s.yaml`, cfg);
    cmd = [...PIN, "deno", "run", "--allow-all", MAIN, "-q", "-f", `${dir}/s.yaml`];
  }
  const out = await Deno.open(logFile, { write: true, create: true });
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const pump = child.stdout.pipeTo(out.writable).catch(() => {});
  let stopped = false;
  let logText: string | null = null;
  await waitPort(port);
  return {
    name: kind,
    port,
    logs: () => logText ?? Deno.readTextFileSync(logFile),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await pump;
      logText = Deno.readTextFileSync(logFile);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------
// Clients.

/** One request; `conn` reused when given. Resolves to the status (0: failed) and the time. */
async function request(
  port: number,
  conn: Deno.TcpConn | null,
  keepAlive: boolean,
  path = "/",
): Promise<{ status: number; ms: number; conn: Deno.TcpConn | null }> {
  const t0 = performance.now();
  let c = conn;
  try {
    if (c === null) c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(
      te.encode(
        `GET ${path} HTTP/1.1\r\nhost: b\r\n${keepAlive ? "" : "connection: close\r\n"}\r\n`,
      ),
    );
    const buf = new Uint8Array(4096);
    let got = "";
    const deadline = setTimeout(() => c?.close(), 15_000);
    try {
      while (!complete(got)) {
        const n = await c.read(buf);
        if (n === null) break;
        got += td.decode(buf.subarray(0, n));
      }
    } finally {
      clearTimeout(deadline);
    }
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
    const status = m === null ? 0 : Number(m[1]);
    if (!keepAlive || status === 0 || /connection: close/i.test(got)) {
      c.close();
      c = null;
    }
    return { status, ms: performance.now() - t0, conn: c };
  } catch {
    try {
      c?.close();
    } catch { /* closed */ }
    return { status: 0, ms: performance.now() - t0, conn: null };
  }
}

/** Whether `got` holds a whole response (head and content-length body). */
function complete(got: string): boolean {
  const i = got.indexOf("\r\n\r\n");
  if (i < 0) return false;
  const m = /content-length:\s*(\d+)/i.exec(got.slice(0, i));
  return got.length - (i + 4) >= (m === null ? 0 : Number(m[1]));
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "-");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");

// ---------------------------------------------------------------------------
// Scenarios.

async function resets(kind: string): Promise<string> {
  const be = new Backend();
  const p = await startProxy(kind, { servers: [{ port: be.port }] });
  try {
    const storm = resetStorm(p.port, RESETS_PER_S, SECONDS * 1000);
    const lat: number[] = [];
    let failed = 0;
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) {
      const r = await request(p.port, null, false);
      if (r.status === 200) lat.push(r.ms);
      else failed++;
      await sleep(20);
    }
    const made = await storm;
    return `resets   ${
      kind.padEnd(8)
    } ${made} resets (${RESETS_PER_S}/s): ${lat.length} requests, p50 ${f1(pct(lat, 50))} ms, p99 ${
      f1(pct(lat, 99))
    } ms, max ${f0(Math.max(...lat))} ms, failed ${failed}`;
  } finally {
    await p.stop();
    be.stop();
  }
}

async function flap(kind: string): Promise<string> {
  const s1 = new Backend(), s2 = new Backend();
  const p = await startProxy(kind, {
    servers: [{ port: s1.port, check: true }, { port: s2.port, check: true }],
    redispatch: true,
  });
  let flapping = true;
  const flapper = (async () => {
    while (flapping) {
      s1.stop();
      await sleep(1000);
      s1.start();
      await sleep(1000);
    }
  })();
  try {
    const end = performance.now() + SECONDS * 1000;
    const lat: number[] = [];
    let failed = 0;
    const client = async (keepAlive: boolean) => {
      let conn: Deno.TcpConn | null = null;
      while (performance.now() < end) {
        const r = await request(p.port, conn, keepAlive);
        conn = r.conn;
        if (r.status === 200) lat.push(r.ms);
        else failed++;
        await sleep(10);
      }
      conn?.close();
    };
    await Promise.all([client(false), client(false), client(true), client(true)]);
    const slow = lat.filter((x) => x >= 1000).length;
    return `flap     ${kind.padEnd(8)} ${lat.length + failed} requests: ${
      f1((100 * slow) / (lat.length + failed))
    } % over 1 s, failed ${failed}, max ${f0(Math.max(...lat))} ms`;
  } finally {
    flapping = false;
    await flapper;
    await p.stop();
    s1.stop();
    s2.stop();
  }
}

async function flood(kind: string): Promise<string> {
  const be = new Backend();
  const p = await startProxy(kind, { servers: [{ port: be.port }], maxconn: 100 });
  const idle: Deno.TcpConn[] = [];
  try {
    // 1,000 idle connections, opened at once; those the kernel does not take
    // keep retrying their SYNs in the background.
    const opening = Array.from(
      { length: 1000 },
      () =>
        Deno.connect({ hostname: "127.0.0.1", port: p.port }).then((c) => {
          idle.push(c);
        }, () => {}),
    );
    await sleep(500);
    const waits: number[] = [];
    let failed = 0;
    await Promise.all(Array.from({ length: 5 }, async () => {
      for (let i = 0; i < 10; i++) {
        const r = await request(p.port, null, false);
        if (r.status === 200) waits.push(r.ms);
        else failed++;
      }
    }));
    for (const c of idle) c.close();
    await Promise.all(opening);
    for (const c of idle) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    return `flood    ${
      kind.padEnd(8)
    } 50 requests behind 1,000 idle connections (maxconn 100): median ${
      f0(pct(waits, 50))
    } ms, max ${f0(Math.max(...waits))} ms, failed ${failed}`;
  } finally {
    await p.stop();
    be.stop();
  }
}

async function stalled(kind: string): Promise<string> {
  const be = new Backend();
  const p = await startProxy(kind, {
    servers: [{ port: be.port }],
    timeouts: { client: "2s", server: "2s" },
  });
  try {
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: p.port });
      await c.write(te.encode("POST /up HTTP/1.1\r\nhost: b\r\ncontent-length: 100\r\n\r\n"));
      const buf = new Uint8Array(4096);
      const n = await c.read(buf).catch(() => null);
      const line = n === null ? "silent close" : td.decode(buf.subarray(0, n)).split("\r\n")[0]!;
      outcomes.push(line);
      c.close();
    }
    await p.stop();
    const states = [...p.logs().matchAll(/ (\S\S--) /g)].map((m) => m[1]).join(" ");
    return `stalled  ${kind.padEnd(8)} ${outcomes.join(" | ")}; log ${states}`;
  } finally {
    await p.stop();
    be.stop();
  }
}

const RUN: Record<string, (k: string) => Promise<string>> = { resets, flap, flood, stalled };
console.log(
  `# hostile clients: ${
    MAIN === new URL("../main.ts", import.meta.url).pathname ? "this tree" : MAIN
  }`,
);
for (const sc of SCENARIOS) {
  for (const kind of PROXIES) {
    console.log(await RUN[sc]!(kind));
  }
}
