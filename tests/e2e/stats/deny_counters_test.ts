// Where a denied request or response is counted: http-request deny in the
// frontend or the backend counts in that proxy's dreq (and 4xx), and
// http-response deny counts in dresp, not in dreq.

import assert from "node:assert/strict";
import { HttpConn } from "../backends/_common.ts";
import { BE, csv, delta, FE, O1, withProxy } from "./_counters.ts";

Deno.test("stats: an http-request deny in the backend counts in the backend's dreq", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/bedeny", ["connection: close"])).status, 403);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE], ["dreq", "hrsp_4xx"]), {
      "fe/FRONTEND.dreq": 1,
      "fe/FRONTEND.hrsp_4xx": 1,
      "be/BACKEND.dreq": 1,
      "be/BACKEND.hrsp_4xx": 1,
    });
  });
});

Deno.test("stats: an http-request deny in the frontend counts in its dreq and 4xx", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/fedeny", ["connection: close"])).status, 403);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE], ["dreq", "hrsp_4xx"]), {
      "fe/FRONTEND.dreq": 1,
      "fe/FRONTEND.hrsp_4xx": 1,
      "be/BACKEND.dreq": 0,
      "be/BACKEND.hrsp_4xx": 0,
    });
  });
});

Deno.test("stats: an http-response deny counts in dresp (frontend, backend, server), not in dreq", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/rdeny", ["connection: close"])).status, 502);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE, O1], ["dreq", "dresp"]), {
      "fe/FRONTEND.dreq": 0,
      "fe/FRONTEND.dresp": 1,
      "be/BACKEND.dreq": 0,
      "be/BACKEND.dresp": 1,
      "be/o1.dreq": 0,
      "be/o1.dresp": 1,
    });
  });
});
