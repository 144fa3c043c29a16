// http-response rules: return, redirect and deny replace the server's
// response, and the rules read the request path of an absolute-form target.
//
// End to end through real sockets, checked against HAProxy's documented
// behaviour: the exact bytes the server receives (the stub records the raw
// head), and the status, headers and bytes the client receives.

import assert from "node:assert/strict";
import { must, send, withProxy } from "./_rules.ts";

// Stream.applyResponseRules() only acts on "deny"; a "return" or "redirect"
// verdict just stops the loop (`if (v.kind !== "continue") break;`) and
// the server's response is forwarded unchanged. The docs (and HAProxy 2.2+)
// allow both in http-response rules.
Deno.test("http-response return replaces the server's response", async () => {
  await withProxy(async (env) => {
    const { res, got } = await send(env, "/res-404");
    must(got, "res-404");
    assert.equal(res.status, 200);
    assert.equal(res.text, "replaced");
  });
});

Deno.test("http-response redirect answers the redirect instead of the server's response", async () => {
  await withProxy(async (env) => {
    const { res } = await send(env, "/res-redir");
    assert.equal(res.status, 303);
    assert.equal(res.get("location"), "/elsewhere");
  });
});

// The response-side deny always answers 502: applyResponseRules() calls
// httpError(502, …) instead of using the verdict's deny_status.
Deno.test("http-response deny deny_status 403 answers 403", async () => {
  await withProxy(async (env) => {
    const { res } = await send(env, "/res-deny");
    assert.equal(res.status, 403);
    assert.ok(!res.text.includes("secret"));
  });
});

Deno.test("http-response rules read the request path of an absolute-form target", async () => {
  await withProxy(async (env) => {
    const { res } = await send(env, "http://test.local/abs/p?q=1");
    assert.equal(res.status, 200);
    assert.equal(res.get("x-req-path"), "/abs/p");
  });
});
