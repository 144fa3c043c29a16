// Micro benches of the stick-table work one protected request costs
// (src/stick/): normalise the key, track (look up, count, touch), read the
// rate for the ACL, add the bytes and let go at the end of the request; and
// a lookup miss in a table of 100,000 entries.
//
//   deno bench --allow-all bench/stick_bench.ts

import { parseStickTable, StickTable } from "../src/stick/table.ts";
import { countBytes, endStreamCounters, StkCounters, trackContent } from "../src/stick/track.ts";
import { DT_HTTP_REQ_RATE } from "../src/stick/types.ts";

function table(text: string): StickTable {
  const c = parseStickTable("t", text);
  if ("error" in c) throw new Error(c.error);
  return new StickTable(c);
}

const t = table("type ip size 100k expire 30s store http_req_rate(10s),bytes_out_cnt");
const stk = new StkCounters();
let i = 0;
let sink = 0;

Deno.bench("stick: one protected request (key, track, rate read, bytes, release)", () => {
  const now = 1000 + (i++ >> 10);
  const k = t.keyOf("127.0.0.1")!;
  trackContent(stk, 0, t, k, now, true);
  sink += t.read(stk.entry(0)!, DT_HTTP_REQ_RATE, now)!;
  countBytes(stk, i * 100, i * 200, now);
  endStreamCounters(stk, now);
});

const big = table("type ip size 200k expire 1h store conn_cnt");
for (let n = 0; n < 100_000; n++) {
  big.getEntry(`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, 1000);
}
Deno.bench("stick: lookup miss in 100,000 entries", () => {
  sink += big.lookup("192.0.2.1") === null ? 1 : 0;
});

Deno.bench("stick: 2,000 new keys into a 1k table (half of them evict the LRU entry)", () => {
  const s = table("type integer size 1k");
  for (let n = 0; n < 2000; n++) s.getEntry(String(n), 1000 + n);
  sink += s.used;
});

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
