// What a binary upgrade (`sluice -f FILE -sf OLDPID`) costs under load,
// beside an in-process reload (SIGHUP) under the same load.
//
// wrk -c50 runs against a fixed port, keep-alive and `Connection: close`;
// every BENCH_EVERY_MS a hand-over happens: a new main.ts binds next to the
// old one (SO_REUSEPORT) and sends it SIGQUIT; the old one closes its
// listening socket (the kernel resets the connections still in that socket's
// accept queue: the client sees ECONNRESET after its connect succeeded),
// closes its idle keep-alive connections (a client that was sending a
// request on one at that moment sees the connection end), finishes the rest
// and exits. The SIGHUP variant reloads in place instead: the socket is
// never closed.
//
// Printed: wrk's requests and socket errors by kind, per variant, and the
// errors per hand-over. wrk counts a request that failed this way as one
// read (or write/connect) error and reconnects. "icor": the same hand-over
// with `option idle-close-on-response` (idle connections of the old process
// stay open until their next response, which carries Connection: close).
//
//   deno run -A bench/reload_handover.ts
//   BENCH_HANDOVERS=10 BENCH_EVERY_MS=1000 BENCH_MODES=keepalive,close
//   BENCH_VARIANTS=none,hup,sf,sf-icor

import { envInt, envList } from "./lib/env.ts";
import { freePort, ProcessGroup, sleep, waitForPort } from "./lib/proc.ts";

type Variant = "none" | "hup" | "sf" | "sf-icor";

const HANDOVERS = envInt("BENCH_HANDOVERS", 10, 1);
const EVERY_MS = envInt("BENCH_EVERY_MS", 1000, 100);
const MODES = envList("BENCH_MODES", ["keepalive", "close"], ["keepalive", "close"]);
const VARIANTS = envList<Variant>("BENCH_VARIANTS", ["none", "hup", "sf", "sf-icor"], [
  "none",
  "hup",
  "sf",
  "sf-icor",
]);
const MAIN = new URL("../main.ts", import.meta.url).pathname;

const backend = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => new Response("ok"),
);
const backendPort = (backend.addr as Deno.NetAddr).port;

interface WrkErrors {
  requests: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  non2xx: number;
}

function parseWrk(text: string): WrkErrors {
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN),
    connect: Number(se?.[1] ?? 0),
    read: Number(se?.[2] ?? 0),
    write: Number(se?.[3] ?? 0),
    timeout: Number(se?.[4] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
  };
}

function config(port: number, icor: boolean): string {
  return `
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 10s, server: 10s, http-keep-alive: 10s }
  option: [${icor ? "idle-close-on-response" : ""}]
frontends:
  fe: { bind: "127.0.0.1:${port}", default_backend: be }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ] }
`;
}

/** Waits until `file` contains `text` (bounded). */
async function waitFor(file: string, text: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!Deno.readTextFileSync(file).includes(text)) {
    if (Date.now() > end) throw new Error(`no "${text}" in ${file}`);
    await sleep(10);
  }
}

async function run(mode: string, variant: Variant): Promise<WrkErrors> {
  const group = new ProcessGroup(true);
  const port = freePort();
  const file = await Deno.makeTempFile({ prefix: "sluice-handover-", suffix: ".yaml" });
  await Deno.writeTextFile(file, config(port, variant === "sf-icor"));
  const errFiles: string[] = [];
  const spawn = async (extra: string[]) => {
    const err = await Deno.makeTempFile({ prefix: "sluice-handover-", suffix: ".err" });
    errFiles.push(err);
    const p = group.spawn("sluice", Deno.execPath(), ["run", "-A", MAIN, "-f", file, ...extra], {
      stderrFile: err,
    });
    return { p, err };
  };
  try {
    let cur = await spawn([]);
    await waitForPort(port, cur.p, 30_000);
    await waitFor(cur.err, "ready", 30_000);
    const durationS = Math.ceil((HANDOVERS * EVERY_MS + 2000) / 1000);
    const wrk = new Deno.Command("wrk", {
      args: [
        "-t1",
        "-c50",
        `-d${durationS}s`,
        "--timeout",
        "10s",
        ...(mode === "close" ? ["-H", "Connection: close"] : []),
        `http://127.0.0.1:${port}/`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    await sleep(1000);
    for (let i = 1; i <= HANDOVERS; i++) {
      if (variant === "sf" || variant === "sf-icor") {
        const next = await spawn(["-sf", String(cur.p.pid)]);
        await waitFor(next.err, "ready", 30_000);
        const old = cur.p;
        cur = next;
        await Promise.race([old.done(), sleep(15_000)]);
        if (old.exitStatus === null) throw new Error("the old process did not exit");
      } else if (variant === "hup") {
        Deno.kill(cur.p.pid, "SIGHUP");
        await waitFor(cur.err, `reload #${i} done`, 10_000);
      }
      await sleep(EVERY_MS);
    }
    const out = await wrk;
    return parseWrk(new TextDecoder().decode(out.stdout));
  } finally {
    await group.stopAll();
    await Deno.remove(file).catch(() => {});
    for (const f of errFiles) await Deno.remove(f).catch(() => {});
  }
}

const LABELS: Record<Variant, string> = {
  none: "no reload       ",
  hup: "SIGHUP          ",
  sf: "-sf PID         ",
  "sf-icor": "-sf PID + icor  ",
};
console.log(
  `wrk -t1 -c50, ${HANDOVERS} hand-overs ${EVERY_MS} ms apart (machine shared: figures vary)`,
);
for (const mode of MODES) {
  for (const variant of VARIANTS) {
    const r = await run(mode, variant);
    const errs = r.connect + r.read + r.write + r.timeout;
    const label = LABELS[variant];
    console.log(
      `${mode.padEnd(9)} ${label} ${String(r.requests).padStart(7)} requests, socket errors: ` +
        `connect ${r.connect}, read ${r.read}, write ${r.write}, timeout ${r.timeout}` +
        ` (${variant === "none" ? "-" : (errs / HANDOVERS).toFixed(1)} per hand-over), ` +
        `non-2xx ${r.non2xx}`,
    );
  }
}
await backend.shutdown();
