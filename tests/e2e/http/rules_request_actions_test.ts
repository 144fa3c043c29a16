// http-request actions: return with hdr lines, set-method seen by later
// rules, replace-header / replace-value back-references, del-header -m,
// obs-text and header order kept by a rewrite, the first final action
// stopping the rules, and a rewrite past the buffer answered 500 / 502.
//
// End to end through real sockets, checked against HAProxy's documented
// behaviour: the exact bytes the server receives (the stub records the raw
// head), and the status, headers and bytes the client receives.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, httpStub, reqHeader } from "./_http.ts";
import { must, one, send, withProxy } from "./_rules.ts";

// `return ... hdr NAME VALUE` is compiled and rendered into the verdict,
// but Stream.applyRequestRules() calls buildReply() without v.headers: the
// extra headers never reach the client.
Deno.test("http-request return: hdr NAME VALUE lines are sent to the client", async () => {
  await withProxy(async (env) => {
    const { res, got } = await send(env, "/ret-hdr");
    assert.equal(got, null);
    assert.equal(res.status, 200);
    assert.equal(res.text, "ok");
    assert.equal(res.get("x-ret"), "yes");
    assert.equal(res.get("x-who"), "127.0.0.1");
  });
});

Deno.test("set-method is seen by later rules; replace-header/-value back-refs; del-header -m beg/reg", async () => {
  await withProxy(async (env) => {
    const sm = must((await send(env, "/sm")).got, "sm");
    assert.equal(sm.method, "POST");
    assert.equal(one(sm, "x-method-after"), "POST");
    const r = must(
      (await send(env, "/rep", [
        "X-Rh: left-right",
        "X-Rv: v1, x, v2",
        "X-Del-One: 1",
        "x-del-two: 2",
        "X-Rx-12: 3",
        "X-Rx-a: 4",
        "X-Keep: k",
      ])).got,
      "rep",
    );
    assert.equal(one(r, "x-rh"), "right-left");
    assert.equal(one(r, "x-rv"), "w1, x, w2");
    assert.equal(one(r, "x-del-one"), undefined);
    assert.equal(one(r, "x-del-two"), undefined);
    assert.equal(one(r, "x-rx-12"), undefined);
    assert.equal(one(r, "x-rx-a"), "4");
    assert.ok(r.head.raw.includes("\r\nX-Rx-a: 4\r\nX-Keep: k\r\n"), r.head.raw);
  });
});

Deno.test("obs-text bytes and same-name header order survive a materialised rewrite", async () => {
  await withProxy(async (env) => {
    const r = must(
      (await send(env, "/obs", [
        "X-Gone: 1",
        "X-Dup:  one\x80",
        "X-Raw: \xe9t\xe9\xff",
        "x-dup: two\t",
      ])).got,
      "obs",
    );
    // Untouched lines byte for byte (spacing included), then the new ones.
    assert.ok(
      r.head.raw.includes("\r\nX-Dup:  one\x80\r\nX-Raw: \xe9t\xe9\xff\r\nx-dup: two\t\r\n"),
    );
    assert.deepEqual(reqHeader(r, "x-dup"), ["one\x80", "two", "three"]);
    assert.equal(one(r, "x-obs"), "\xe9t\xe9\xff");
  });
});

Deno.test("the first final action stops the rules (deny_status 429)", async () => {
  await withProxy(async (env) => {
    const { res, got } = await send(env, "/order");
    assert.equal(res.status, 429);
    assert.equal(got, null);
  });
});

// A rewrite that makes the head larger than a buffer must end in an error
// reply (500 request side, 502 response side), never in a truncated head.
Deno.test("a header rewrite past the buffer answers 500 / 502, nothing truncated is sent", async () => {
  const be = httpStub("be", {
    respond: (r) =>
      r.target === "/res-big" ? { headers: [["X-Big", "r".repeat(2500)]], body: "x" } : {},
  });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(`
global: { log: stdout, bufsize: 4k, maxrewrite: 1k }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s, http-request: 2s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request:
      - 'set-header X-Copy %[hdr(x-big)]'
    http-response:
      - 'set-header X-Copy %[res.hdr(x-big)]'
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${be.port}" } ] }
`);
    const port = proxy.port("fe");
    // Fits in the reserve: forwarded whole.
    const small = await connectHttp(port);
    try {
      const r = await small.request(
        `GET /small HTTP/1.1\r\nHost: h\r\nX-Big: ${"s".repeat(500)}\r\n\r\n`,
      );
      assert.equal(r.status, 200);
    } finally {
      small.close();
    }
    const got = be.requests.find((r) => r.target === "/small");
    assert.equal(got && reqHeader(got, "x-copy")[0], "s".repeat(500));
    // 2.5k head + 2.5k copy > 4k buffer.
    const big = await connectHttp(port);
    try {
      const r = await big.request(
        `GET /big HTTP/1.1\r\nHost: h\r\nX-Big: ${"b".repeat(2500)}\r\n\r\n`,
      );
      assert.equal(r.status, 500);
    } finally {
      big.close();
    }
    assert.equal(be.requests.find((r) => r.target === "/big"), undefined);
    const res = await connectHttp(port);
    try {
      const r = await res.request(`GET /res-big HTTP/1.1\r\nHost: h\r\n\r\n`);
      assert.equal(r.status, 502);
      assert.equal(r.get("x-big"), undefined);
    } finally {
      res.close();
    }
  } finally {
    await proxy?.stop();
    await be.close();
  }
});
