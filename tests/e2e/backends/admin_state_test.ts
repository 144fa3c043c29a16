// Server admin states set at run time through the stats page: a disabled
// unchecked server set ready reads UP, and a weight set on a drained server
// leaves it drained.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  closeAll,
  feBeConfig,
  fetchOnce,
  HttpConn,
  type NameServer,
  nameServers,
  serverLines,
  statsJson,
} from "./_common.ts";
import { parseExposition } from "../stats/_exposition.ts";
import { STATS_FE } from "./_raw.ts";

// A server without `check` that starts `disabled: true` and is put back with
// the admin `ready` action takes traffic, but the stats keep reading MAINT:
// its check state says "no check", which serverStats() replaces with
// defaultStatus(), and defaultStatus() looks at the configuration's
// `disabled` flag (src/stats/snapshot.ts:512) instead of the live state.
Deno.test("stats: a disabled unchecked server set ready reads UP (json and prometheus), not MAINT", async () => {
  const servers = nameServers(2);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: STATS_FE,
      servers: serverLines(servers, (_s, i) => (i === 1 ? "disabled: true" : "")),
    }));
    const port = proxy.port("fe");
    let snap = await statsJson(port);
    assert.equal(snap.backends[0]!.servers[1]!.status, "MAINT");
    const r = await adminPost(port, "be/s2", "ready");
    assert.equal(r.status, 200);
    const got = new Set<string | null>();
    for (let i = 0; i < 4; i++) got.add((await fetchOnce(port, `/r${i}`)).server);
    assert.ok(got.has("s2"), "s2 takes traffic after ready");
    snap = await statsJson(port);
    const j1 = snap.backends[0]!.servers[0]!, j2 = snap.backends[0]!.servers[1]!;
    assert.equal(j2.status, j1.status, `s2 reads ${j2.status}, s1 ${j1.status}`);
    const prom = parseExposition((await fetchOnce(port, "/metrics")).body);
    const st = prom.get("sluice_server_status")!.samples.filter((s) =>
      s.labels.server === "s2" && s.value === 1
    );
    assert.deepEqual(st.map((s) => s.labels.state), ["UP"]);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

// The admin `weight` action writes server.weight directly
// (src/stats/stats_service.ts:26), which is also where drain keeps its 0:
// setting a weight on a drained server ends the drain in all but name (it
// takes new traffic while the stats say DRAIN). HAProxy keeps a drained
// server out of the balancing whatever its user weight (the drain is an
// admin flag; `set weight` changes the weight restored when it ends).
Deno.test("admin: a weight set on a drained server does not undrain it", async () => {
  const servers = nameServers(2);
  const [, s2] = servers as [NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: STATS_FE,
      backend: "    balance: roundrobin",
      servers: serverLines(servers),
    }));
    const port = proxy.port("fe");
    assert.equal((await adminPost(port, "be/s2", "drain")).status, 200);
    const c = await HttpConn.open(port);
    try {
      const body = "s=be%2Fs2&action=weight&weight=5";
      const r = await c.request(
        `POST /stats HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n` +
          `content-length: ${body.length}\r\n\r\n${body}`,
        "POST",
      );
      assert.equal(r.status, 200);
    } finally {
      await c.close();
    }
    const before = s2.served;
    for (let i = 0; i < 10; i++) assert.equal((await fetchOnce(port, `/d${i}`)).status, 200);
    const snap = await statsJson(port);
    assert.match(snap.backends[0]!.servers[1]!.status, /^DRAIN/);
    assert.equal(s2.served - before, 0, "the drained server got new requests");
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});
