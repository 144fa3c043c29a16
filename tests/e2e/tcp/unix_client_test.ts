// Clients on a unix-socket bind: %ci is 'unix' and %cp the listener id,
// option forwardfor adds no X-Forwarded-For, and balance source falls back
// to round robin (no address to hash), as HAProxy does.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { get, httpServer } from "./_address.ts";

Deno.test("address: unix-socket client: %ci is 'unix' and %cp the listener id (HAProxy: 'unix:1')", async () => {
  const dir = await Deno.makeTempDir();
  const front = `${dir}/front.sock`;
  const srv = httpServer({ hostname: "127.0.0.1", port: 0 }, "s1");
  const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "unix@${front}", default_backend: be, option: [httplog] }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${srv.port}" } ] }
`);
  try {
    const r = await get({ transport: "unix", path: front });
    assert.equal(r.status, 200);
    const line = await proxy.waitForLog(/ fe be\/s1 /, 3000);
    assert.ok(line.startsWith("unix:"), line);
    // HAProxy (tcplog/httplog client_port): "If the connection was accepted on a
    // UNIX socket instead, the port would be replaced with the ID of the
    // accepting socket" — the first bind of a frontend is 1, never 0.
    assert.ok(line.startsWith("unix:1 ["), line);
  } finally {
    await proxy.stop();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("address: option forwardfor adds no X-Forwarded-For for a unix-socket client (HAProxy adds it for IPv4/IPv6 only)", async () => {
  const dir = await Deno.makeTempDir();
  const front = `${dir}/front.sock`;
  const srv = httpServer({ hostname: "127.0.0.1", port: 0 }, "s1");
  const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "unix@${front}", default_backend: be, option: [forwardfor] }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${srv.port}" } ] }
`);
  try {
    const r = await get({ transport: "unix", path: front });
    assert.equal(r.status, 200);
    assert.equal(r.xff, "(none)", `X-Forwarded-For sent to the server: ${r.xff}`);
  } finally {
    await proxy.stop();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("address: balance source with unix-socket clients falls back to round robin (no address to hash)", async () => {
  const dir = await Deno.makeTempDir();
  const front = `${dir}/front.sock`;
  const a = httpServer({ hostname: "127.0.0.1", port: 0 }, "a");
  const b = httpServer({ hostname: "127.0.0.1", port: 0 }, "b");
  const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "unix@${front}", default_backend: be }
backends:
  be:
    balance: source
    servers:
      - { name: a, address: "127.0.0.1:${a.port}" }
      - { name: b, address: "127.0.0.1:${b.port}" }
`);
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await get({ transport: "unix", path: front });
      assert.equal(r.status, 200);
      seen.add(r.body);
    }
    assert.deepEqual([...seen].sort(), ["a", "b"], "every unix client pinned to one server");
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
