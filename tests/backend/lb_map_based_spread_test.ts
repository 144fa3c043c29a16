// Map-based hashing spreads keys by weight.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { cfg, count, ip4, lbOf, Req, servers } from "./_lb_common.ts";

Deno.test("map-based: keys spread by weight (1/2/3 within 10%)", () => {
  for (const algo of ["source", "hdr"] as const) {
    const lb = lbOf(cfg(algo, algo === "hdr" ? ["x-k"] : [], "map-based"), servers([1, 2, 3]));
    const req = new Req();
    const got: string[] = [];
    for (let i = 0; i < 12000; i++) {
      req.src = ip4(i * 7 + 3);
      req.headers.set("x-k", `user-${i}`);
      got.push(lb.pick(req, null)!.name);
    }
    const c = count(got);
    for (const [name, want] of [["s0", 2000], ["s1", 4000], ["s2", 6000]] as const) {
      assert.ok(Math.abs(c[name]! - want) < want * 0.1, `${algo}: ${JSON.stringify(c)}`);
    }
  }
});
