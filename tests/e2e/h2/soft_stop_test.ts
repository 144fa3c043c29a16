// Soft stop with HTTP/2 clients: every connection gets GOAWAY NO_ERROR with
// the last stream id at once, the streams in progress finish, then the
// connection closes and the stop completes (HAProxy's behaviour on reload).

import assert from "node:assert/strict";
import { FT_GOAWAY, H2_NO_ERROR } from "../../../src/h2/frame.ts";
import { Process } from "../../../src/proxy/process.ts";
import { getHeaders, H2RawClient, u32 } from "../../_helpers/h2_client.ts";
import { backend, frontend, runtimeConfig, server } from "../../_helpers/runtime_config.ts";
import { startOrigin } from "./_h2.ts";

Deno.test("h2 soft stop: GOAWAY NO_ERROR with the last stream id, the open stream finishes", async () => {
  const origin = startOrigin();
  const fe = frontend("fe", { mode: "http" });
  fe.binds = [{ ...fe.binds[0]!, proto: "h2" }];
  const cfg = runtimeConfig([fe], [backend("be", [server("s1", origin.port)], { mode: "http" })]);
  const p = new Process(cfg, { quiet: true, debug: false });
  p.start();
  try {
    const l = p.listeners[0]!.sock!.local;
    assert.ok(!("path" in l));
    const c = await H2RawClient.connect(l.port);
    await c.sendHeaders(1, getHeaders("/slow/600"));
    await new Promise((r) => setTimeout(r, 150));
    const stopped = p.softStop();
    const g = await c.waitFrame((f) => f.type === FT_GOAWAY);
    assert.equal(u32(g.payload, 0), 1, "last stream id");
    assert.equal(u32(g.payload, 4), H2_NO_ERROR);
    const r = await c.response(1);
    assert.equal(r.status, 200);
    assert.equal(new TextDecoder().decode(r.body), "slow 600\n");
    await c.waitClosed();
    c.close();
    await stopped;
    assert.equal(p.actconn, 0);
  } finally {
    p.hardStop();
    await origin.close();
  }
});
