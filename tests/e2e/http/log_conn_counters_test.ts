// The connection counters of a log line (%bc, %sc): a stream that released
// its server is no longer counted in the line logged for it.
//
// The reference peer is HAProxy 2.6, run side by side on the same traffic:
// the expected values quoted in each test are HAProxy's output for the same
// exchange.

import assert from "node:assert/strict";
import { logLineOf } from "../../_helpers/proxy.ts";
import { exchange, req, withStubProxy } from "./_log.ts";

Deno.test("httplog/tcplog: %bc and %sc no longer count the logged stream once it released its server", async () => {
  await withStubProxy(
    `  fe: { bind: "127.0.0.1:0", default_backend: be }
  ft:
    mode: tcp
    option: [tcplog]
    bind: "127.0.0.1:0"
    default_backend: bet`,
    async (proxy) => {
      const cp = await exchange(proxy.port("fe"), req("/"));
      const line = await proxy.waitForLog(logLineOf(cp));
      // HAProxy: ... ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"   Sluice: 1/1/1/1/0
      assert.match(line, / ---- 1\/1\/0\/0\/0 0\/0 "GET \/ HTTP\/1\.1"$/);
      const cp2 = await exchange(proxy.port("ft"), req("/"));
      const tline = await proxy.waitForLog(logLineOf(cp2));
      // HAProxy: ... ft bet/s1 1/0/307 43 -- 1/1/0/0/0 0/0   Sluice: 1/1/1/1/0
      assert.match(tline, / -- 1\/1\/0\/0\/0 0\/0$/);
    },
  );
});
