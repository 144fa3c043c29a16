// The Prometheus exposition across scrapes: counters never decrease, no
// series appears twice, and every family has its TYPE.

import assert from "node:assert/strict";
import { HttpConn } from "../backends/_common.ts";
import { parseExposition } from "./_exposition.ts";
import { get, withProxy } from "./_counters.ts";

Deno.test("stats: Prometheus counters never decrease across scrapes; no duplicate series; TYPEs", async () => {
  await withProxy(async (fe, st) => {
    const scrape = async () => {
      const text = await get(st, "/metrics");
      const fams = parseExposition(text);
      const m = new Map<string, { type: string; v: number }>();
      for (const [name, f] of fams) {
        for (const s of f.samples) {
          const k = name + JSON.stringify(Object.entries(s.labels).sort());
          assert.ok(!m.has(k), `duplicate ${k}`);
          m.set(k, { type: f.type, v: s.value });
        }
      }
      return { fams, m };
    };
    const one = await scrape();
    for (const p of ["/x", "/close", "/bedeny", "/rdeny", "/bad"]) {
      const c = await HttpConn.open(fe);
      try {
        await c.get(p, ["connection: close"]);
      } finally {
        await c.close();
      }
    }
    const two = await scrape();
    for (const [k, { type, v }] of one.m) {
      const now = two.m.get(k);
      assert.ok(now !== undefined, `series ${k} vanished`);
      if (type === "counter") assert.ok(now.v >= v, `${k} went down: ${v} → ${now.v}`);
    }
    for (const [name, f] of two.fams) {
      assert.equal(f.type === "counter", name.endsWith("_total"), `${name}: ${f.type}`);
    }
    assert.equal(
      two.m.get('sluice_frontend_sessions_total[["proxy","fe"]]')!.v -
        one.m.get('sluice_frontend_sessions_total[["proxy","fe"]]')!.v,
      5,
    );
  });
});
