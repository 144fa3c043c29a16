// The value a `hdr()` balance hashes, end to end: the first value of a
// comma-separated header, as HAProxy's get_server_hh() does.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { closeAll, feBeConfig, HttpConn, nameServers, serverLines } from "./_common.ts";

// BUG: HAProxy's get_server_hh() takes the first *value* of the header
// (http_find_header(..., full=0) splits on commas), so "X-Fwd: 10.0.0.1,
// 192.168.0.N" hashes "10.0.0.1". Sluice's LbRequest.header() (stream.ts,
// `txn.req.headerValue()`) returns the whole line, so the same client behind
// different proxy chains lands on different servers.
Deno.test("hdr(X-Fwd): a comma-separated header is hashed by its first value, as HAProxy", async () => {
  const srvs = nameServers(4);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: '    balance: "hdr(X-Fwd)"',
      servers: serverLines(srvs),
    }));
    const c = await HttpConn.open(proxy.port("fe"));
    try {
      const first = (await c.get("/x", ["x-fwd: 10.0.0.1"])).server;
      const got: string[] = [];
      for (let i = 0; i < 12; i++) {
        got.push(String((await c.get(`/x/${i}`, [`x-fwd: 10.0.0.1, 192.168.0.${i}`])).server));
      }
      assert.deepEqual(got, Array(12).fill(first), `first value 10.0.0.1 -> ${first}`);
    } finally {
      await c.close();
    }
  } finally {
    await proxy?.stop();
    await closeAll(srvs);
  }
});
