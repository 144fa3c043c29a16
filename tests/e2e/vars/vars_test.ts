// Variables through a running proxy: `http-request set-var(txn.X) EXPR`,
// `unset-var`, `http-response set-var`, the `var()` fetch in values and
// ACLs, and the lifetimes of the scopes (txn per request, sess per client
// connection, proc for the process, req not visible in response rules).

import assert from "node:assert/strict";
import { runCli, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, httpStub, oneBackend, reqHeader, withClient } from "../http/_http.ts";

const CONFIG = (port: number) =>
  oneBackend(
    port,
    `
    http-request:
      - 'set-var(txn.host) req.hdr(host),lower'
      - 'set-var(req.path) path'
      - 'set-var(sess.first) path if !{ var(sess.first) -m found }'
      - 'set-var(proc.last) path'
      - 'set-var(txn.n) int(42)'
      - 'set-var(txn.tag) str(tagged) if { path_beg /tag }'
      - 'unset-var(txn.host) if { path /unset }'
      - 'set-header X-Host "[%[var(txn.host)]]"'
      - 'set-header X-First %[var(sess.first)]'
      - 'set-header X-Tag "%[var(txn.tag,none)]"'
      - 'set-header X-Big yes if { var(txn.n) -m int gt 41 }'
      - 'set-header X-Proc %[var(proc.last)]'
    http-response:
      - 'set-var(res.server) res.hdr(x-backend)'
      - 'set-header X-Seen "%[var(txn.host)]/%[var(res.server)]/[%[var(req.path)]]"'`,
  );

Deno.test("set-var, unset-var and var(): scopes and lifetimes", async () => {
  const be = httpStub("be1");
  const proxy = await startProxy(CONFIG(be.port));
  try {
    const c = await connectHttp(proxy.port("fe"));
    const ask = async (path: string, host = "Www.Example.COM") => {
      await c.send(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      const res = await c.readResponse();
      assert.equal(res.status, 200);
      const got = be.requests[be.requests.length - 1]!;
      return { res, h: (n: string) => reqHeader(got, n) };
    };
    try {
      let r = await ask("/tag/1");
      assert.deepEqual(r.h("x-host"), ["[www.example.com]"]);
      assert.deepEqual(r.h("x-first"), ["/tag/1"]);
      assert.deepEqual(r.h("x-tag"), ["tagged"]);
      assert.deepEqual(r.h("x-big"), ["yes"]);
      assert.deepEqual(r.h("x-proc"), ["/tag/1"]);
      // Response rules see txn vars and their own res vars, not req vars.
      assert.equal(r.res.get("x-seen"), "www.example.com/be1/[]");
      // Second request, same connection: txn vars are new, sess vars stay.
      r = await ask("/unset", "other");
      assert.deepEqual(r.h("x-host"), ["[]"]);
      assert.deepEqual(r.h("x-first"), ["/tag/1"]);
      assert.deepEqual(r.h("x-tag"), ["none"]);
    } finally {
      c.close();
    }
    // A new connection: a new session; proc vars are shared.
    await withClient(proxy.port("fe"), async (c2) => {
      await c2.send(`GET /second HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal((await c2.readResponse()).status, 200);
      const got = be.requests[be.requests.length - 1]!;
      assert.deepEqual(reqHeader(got, "x-first"), ["/second"]);
      assert.deepEqual(reqHeader(got, "x-proc"), ["/second"]);
    });
  } finally {
    await proxy.stop();
    await be.close();
  }
});

Deno.test("bad variable names and expressions are refused at their line", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/v.yaml`;
  await Deno.writeTextFile(
    file,
    oneBackend(
      1,
      `
    http-request:
      - 'set-var(foo.bar) path'
      - 'set-var(txn.x) nosuchfetch'
      - 'set-var(txn.y) status'
      - 'unset-var(txn.x) extra'
      - 'set-header X %[var(txn)]'`,
    ),
  );
  try {
    const r = await runCli(["-c", "-f", file]);
    assert.notEqual(r.code, 0);
    const out = r.stderr;
    assert.match(out, /v\.yaml:12:\d+: .*invalid variable name 'foo\.bar'/);
    assert.match(out, /v\.yaml:13:\d+: .*unknown fetch method 'nosuchfetch'/);
    assert.match(out, /v\.yaml:14:\d+: .*'status' reads the response/);
    assert.match(out, /v\.yaml:15:\d+: .*takes no argument/);
    assert.match(out, /v\.yaml:16:\d+: .*invalid variable name 'txn'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tcp-request content set-var: HTTP rules and the log see the variables", async () => {
  const be = httpStub("be1");
  const sluice = await startProxy(
    oneBackend(
      be.port,
      `
    log-format: "sess=%[var(sess.peer)] txn=%[var(txn.first,none)] %HU"
    tcp-request:
      - "content set-var(sess.peer) src"
      - "content set-var(txn.first) str(yes)"
      - "content unset-var(sess.none)"
    http-request:
      - 'set-header X-Peer %[var(sess.peer)]'
      - 'set-header X-First %[var(txn.first,none)]'`,
    ),
  );
  try {
    await withClient(sluice.port("fe"), async (c) => {
      for (const p of ["/1", "/2"]) {
        await c.send(`GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.equal((await c.readResponse()).status, 200);
      }
    });
    // sess variables stay for the connection; txn ones belong to its first request.
    assert.deepEqual(be.requests.map((r) => reqHeader(r, "x-peer")[0]), ["127.0.0.1", "127.0.0.1"]);
    assert.deepEqual(be.requests.map((r) => reqHeader(r, "x-first")[0]), ["yes", "none"]);
    assert.deepEqual(await sluice.waitForLogs(/^sess=/, 2), [
      "sess=127.0.0.1 txn=yes /1",
      "sess=127.0.0.1 txn=none /2",
    ]);
  } finally {
    await sluice.stop();
    await be.close();
  }
});
