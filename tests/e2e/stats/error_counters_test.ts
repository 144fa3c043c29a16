// Where a proxy-generated error is counted: a 502 and a 503 after failed
// connects count at the frontend and backend, never in the server's
// hrsp_5xx.

import assert from "node:assert/strict";
import { HttpConn } from "../backends/_common.ts";
import { BE, csv, delta, FE, num, O1, withProxy } from "./_counters.ts";

Deno.test("stats: a proxy-generated 502 counts at frontend and backend, not in the server's hrsp_5xx", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/close", ["connection: close"])).status, 502);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE, O1], ["hrsp_5xx"]), {
      "fe/FRONTEND.hrsp_5xx": 1,
      "be/BACKEND.hrsp_5xx": 1,
      "be/o1.hrsp_5xx": 0,
    });
    assert.equal(num(b, O1, "eresp") - num(a, O1, "eresp"), 1);
  });
});

Deno.test("stats: a 503 after failed connects to a dead server counts at the backend, not in the server's hrsp_5xx (retries, econ guarded)", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/bad", ["connection: close"])).status, 503);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    const d = delta(a, b, ["bad/BACKEND", "bad/dead"], ["econ", "wretr", "hrsp_5xx"]);
    assert.equal(d["bad/BACKEND.wretr"], 2, JSON.stringify(d));
    assert.equal(d["bad/dead.wretr"], 2, JSON.stringify(d));
    assert.ok(d["bad/BACKEND.econ"]! >= 1, JSON.stringify(d));
    assert.equal(d["bad/BACKEND.hrsp_5xx"], 1, JSON.stringify(d));
    assert.equal(d["bad/dead.hrsp_5xx"], 0, JSON.stringify(d));
  });
});
