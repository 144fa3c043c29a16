// `show table`, `set table` and `clear table` on Sluice's own stats socket,
// against a table filled by real requests (track-sc0 src): the entry's
// counters as the traffic made them, a value set at run time seen by the
// rules of the next request, clearing, and the levels (user may show, not
// clear). HAProxy's byte-for-byte format is checked in
// tests/e2e/stick/show_table_haproxy_test.ts.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { fetchOnce, get, httpStub } from "../http/_http.ts";
import { cli, tempSocket } from "./_cli.ts";

function config(sock: string, stubPort: number, level: string): string {
  return `
global:
  log: stdout
  stats: { socket: "${sock}", mode: 600, level: ${level} }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stick-table: "type ip size 100 expire 1m store http_req_cnt,gpc0"
    http-request:
      - "track-sc0 src"
      - "deny deny_status 429 if { sc_get_gpc0(0) gt 0 }"
backends:
  be:
    servers: [{ name: a, address: "127.0.0.1:${stubPort}" }]
`;
}

Deno.test("runtime API: show/set/clear table act on the table the traffic fills", async () => {
  const stub = httpStub("a");
  const sock = await tempSocket();
  let p: ProxyProcess | null = null;
  try {
    p = await startProxy(config(sock.path, stub.port, "admin"));
    const port = p.port("fe");
    for (let i = 0; i < 3; i++) assert.equal((await fetchOnce(port, get("/"))).status, 200);

    const heads = await cli(sock.path, "show table");
    assert.match(heads, /^# table: fe, type: ip, size:100, used:1$/m);
    const dump = await cli(sock.path, "show table fe");
    assert.match(dump, /key=127\.0\.0\.1 use=0 exp=\d+ (shard=0 )?gpc0=0 http_req_cnt=3/);

    // A value set at run time is what the next request's rule sees.
    assert.equal(await cli(sock.path, "set table fe key 127.0.0.1 data.gpc0 1"), "\n");
    assert.match(await cli(sock.path, "show table fe"), /gpc0=1 http_req_cnt=3/);
    assert.equal((await fetchOnce(port, get("/"))).status, 429);

    // Cleared: the next request starts a fresh entry and passes again.
    await cli(sock.path, "clear table fe");
    assert.match(await cli(sock.path, "show table fe"), /used:0/);
    assert.equal((await fetchOnce(port, get("/"))).status, 200);
    assert.match(await cli(sock.path, "show table fe"), /gpc0=0 http_req_cnt=1/);

    assert.equal(await cli(sock.path, "show table nosuch"), "No such table\n\n");
  } finally {
    await p?.stop();
    await stub.close();
    await sock.cleanup();
  }
});

Deno.test("runtime API: a user-level socket shows tables but may not change them", async () => {
  const stub = httpStub("a");
  const sock = await tempSocket();
  let p: ProxyProcess | null = null;
  try {
    p = await startProxy(config(sock.path, stub.port, "user"));
    assert.equal((await fetchOnce(p.port("fe"), get("/"))).status, 200);
    assert.match(await cli(sock.path, "show table fe"), /http_req_cnt=1/);
    assert.equal(await cli(sock.path, "clear table fe"), "Permission denied\n\n");
    assert.equal(
      await cli(sock.path, "set table fe key 127.0.0.1 data.gpc0 1"),
      "Permission denied\n\n",
    );
    assert.match(await cli(sock.path, "show table fe"), /used:1/);
  } finally {
    await p?.stop();
    await stub.close();
    await sock.cleanup();
  }
});
