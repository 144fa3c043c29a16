// Micro benches of what each line of issue 15's protection config costs one
// keep-alive request, in process (no sockets): the frontend's http-request
// rules as compile.ts builds them (unique-id-format + unique-id-header,
// capture request header, track-sc0 src, a rate ACL), the dynamic
// use_backend over a 10,000-line map, the end-of-request stick release and
// the commit of the edited head (appended lines written in place, else a
// serialization), on one parsed request through a
// HeadSampleCtx and a HeadEditor, as http_ana.ts runs them.
//
//   deno bench --allow-all bench/protect_bench.ts
//   deno run --allow-all bench/protect_bench.ts   # ns and bytes allocated per request
//   BENCH_ONLY=track deno run …                    # only the variants so named
//
// The second form prints, per variant, the best of 5 timed loops and the
// bytes the V8 heap allocated per request (total_allocated_bytes): the
// allocation figure does not move with the neighbours' load, so it is the
// one to compare between trees on a shared machine.
//
// What it answers: which of those lines costs what (compare each variant
// with "no protection"); bench/stick_protect.ts measures the same config
// end to end against HAProxy. Results go to a module-level sink so that the
// engine cannot drop the work.

import v8 from "node:v8";
import { parseConfigText } from "../src/config/load.ts";
import { parseRequestHead } from "../src/http/h1_parse.ts";
import { HeadEditor } from "../src/http/head_editor.ts";
import { HeadSampleCtx } from "../src/http/http_fetch.ts";
import { evalRules, type Rule } from "../src/http/http_rules.ts";
import { HttpHead } from "../src/http/types.ts";
import { compileConfig } from "../src/proxy/compile.ts";
import { Scheduler } from "../src/task/scheduler.ts";
import { realClock } from "../src/task/ticks.ts";
import { evalValue } from "../src/sample/value.ts";
import type { ValueExpr } from "../src/sample/types.ts";
import { countBytes, endStreamCounters } from "../src/stick/track.ts";

const dir = Deno.makeTempDirSync({ prefix: "sluice_protect_bench_" });
Deno.writeTextFileSync(
  `${dir}/hosts.map`,
  Array.from({ length: 10_000 }, (_, i) => `host${i}.example.com be\n`).join(""),
);
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** Frontend lines of each variant (YAML, indented under the frontend). */
const LINES = {
  track: [
    '    stick-table: "type ip size 100k expire 30s store http_req_rate(10s)"',
    "    http-request:",
    '      - "track-sc0 src"',
    '      - "deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }"',
  ],
  map: [`    use_backend: "%[req.hdr(host),lower,map_str(${dir}/hosts.map,be)]"`],
  capture: ['    capture: ["request header Host len 20"]'],
  uid: [
    '    unique-id-format: "%ci:%cp_%fi:%fp_%Ts_%rt:%pid"',
    "    unique-id-header: X-Unique-ID",
  ],
};

// The tables read the time as in the proxy: a scheduler's cached tick (a
// table without one reads the clock at each call, ~100 ns the call). Its
// timers are never armed, so that an expiry task does not keep the bench
// alive; the tick moves on between timed loops.
const SCHED = new Scheduler({
  now: () => realClock.now(),
  setTimer: () => 0,
  clearTimer: () => {},
});

interface Variant {
  rules: Rule[];
  useBackend: ValueExpr | null;
}

function variant(parts: Array<keyof typeof LINES>): Variant {
  const text = [
    "global: { log: none }",
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe:",
    '    bind: "127.0.0.1:1"',
    "    default_backend: be",
    ...parts.flatMap((p) => LINES[p]),
    "backends:",
    "  be:",
    '    servers: [ { name: s1, address: "127.0.0.1:2" } ]',
    "",
  ].join("\n");
  const { config, issues } = parseConfigText(text, "bench.yaml");
  if (config === null || issues.some((i) => i.severity === "error")) {
    throw new Error(JSON.stringify(issues));
  }
  const { compiled, issues: ci } = compileConfig(config, dir);
  if (ci.some((i) => i.severity === "error")) throw new Error(JSON.stringify(ci));
  for (const t of compiled.tables.values()) t.attach(SCHED);
  const fe = compiled.frontends[0]!;
  return { rules: fe.httpRequest, useBackend: fe.useBackends[0]?.name ?? null };
}

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
// What wrk sends, at the start of a channel buffer with room after it (the
// appended lines are written there, as commitHead() does).
const WRK = enc("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
const BUF = new Uint8Array(1024);
BUF.set(WRK, 0);
const HEAD = new HttpHead();
if (parseRequestHead(BUF, 0, WRK.length, HEAD) <= 0) throw new Error("request does not parse");
const OUT = new Uint8Array(4096);

const ctx = new HeadSampleCtx();
ctx.setConnection("127.0.0.1", 40000, "127.0.0.1", 8080);
const ed = new HeadEditor();
const sink = { n: 0, s: "" };
let date = Date.now();
let bytes = 0;

/** One request through `v`, as http_ana.ts and txn_end.ts run it. */
function request(v: Variant): void {
  ed.reset(BUF, HEAD);
  // The request's date, as the stream stamps it at the first byte (paid
  // without protection too).
  ctx.setRequest(BUF, HEAD, ed, date);
  if (evalRules(v.rules, ctx, ed) !== null) sink.n++;
  if (v.useBackend !== null) sink.s = evalValue(v.useBackend, ctx);
  // Appended lines only: written in place; other edits: a new head.
  if (ed.modified) {
    const end = ed.appendInPlace(HEAD.end);
    sink.n += end >= 0 ? end : ed.serializeInto(OUT, 0);
  }
  const stk = ctx.stk;
  if (stk.active) {
    bytes += 100;
    countBytes(stk, bytes, bytes, 1000);
    endStreamCounters(stk, 1000);
  }
}

const V_NONE = variant([]);
const V_TRACK = variant(["track"]);
const V_MAP = variant(["map"]);
const V_CAPTURE = variant(["capture"]);
const V_UID = variant(["uid"]);
const V_FULL = variant(["track", "map", "capture", "uid"]);

Deno.bench("no protection", { group: "protect", baseline: true }, () => request(V_NONE));
Deno.bench("track-sc0 src + rate ACL", { group: "protect" }, () => request(V_TRACK));
Deno.bench("use_backend map_str (10,000 lines)", { group: "protect" }, () => request(V_MAP));
Deno.bench("capture request header", { group: "protect" }, () => request(V_CAPTURE));
Deno.bench("unique-id-format + header", { group: "protect" }, () => request(V_UID));
Deno.bench("full protection", { group: "protect" }, () => request(V_FULL));

/** Bytes the V8 heap allocated so far (node:v8 has it; its types do not say so yet). */
function allocated(): number {
  return (v8.getHeapStatistics() as unknown as { total_allocated_bytes: number })
    .total_allocated_bytes;
}

if (import.meta.main) {
  // `deno run`: Deno.bench() above registered nothing; measure by hand.
  const N = Number(Deno.env.get("BENCH_N") ?? 300_000);
  const all: Array<[string, Variant]> = [
    ["no protection", V_NONE],
    ["track-sc0 + rate ACL", V_TRACK],
    ["use_backend map_str", V_MAP],
    ["capture", V_CAPTURE],
    ["unique-id + header", V_UID],
    ["full protection", V_FULL],
  ];
  // BENCH_ONLY=full: only the variants whose name contains it (for a perf profile).
  const only = Deno.env.get("BENCH_ONLY") ?? "";
  for (const [name, v] of all) {
    if (!name.includes(only)) continue;
    for (let i = 0; i < N; i++) request(v); // warm-up (JIT)
    let best = Infinity;
    let bytes = 0;
    for (let r = 0; r < 5; r++) {
      SCHED.now = realClock.now();
      date = Date.now();
      const a0 = allocated();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) request(v);
      best = Math.min(best, (performance.now() - t0) / N * 1e6);
      bytes = (allocated() - a0) / N;
    }
    console.log(
      `${name.padEnd(22)} ${best.toFixed(0).padStart(6)} ns/request   ${
        bytes.toFixed(0).padStart(6)
      } B/request allocated`,
    );
  }
}
