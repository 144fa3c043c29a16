// redirect rules: a location with non-ASCII bytes is sent as it is, and
// redirect prefix (drop-query or not) and scheme keep the Host and path.
//
// End to end through real sockets, checked against HAProxy's documented
// behaviour: the exact bytes the server receives (the stub records the raw
// head), and the status, headers and bytes the client receives.

import assert from "node:assert/strict";
import { send, utf8, withProxy } from "./_rules.ts";

// The Location value is a byte string, but buildReply() builds the head as
// a JS string and encodes it with TextEncoder: every byte >= 0x80 is UTF-8
// encoded a second time (config "é" = C3 A9 is sent as C3 83 C2 A9; a header
// byte E9 copied by %[hdr()] is sent as C3 A9).
Deno.test("redirect location: non-ASCII bytes are sent as they are, not re-encoded", async () => {
  await withProxy(async (env) => {
    const a = await send(env, "/redir-utf8");
    assert.equal(a.res.status, 302);
    assert.equal(a.res.get("location"), "https://example.com/" + utf8("café"));
    const b = await send(env, "/redir-hdr", ["X-Dest: caf\xe9"]);
    assert.equal(b.res.status, 302);
    assert.equal(b.res.get("location"), "https://example.com/caf\xe9");
  });
});

Deno.test("redirect prefix (drop-query / query kept) and scheme keep the Host and path", async () => {
  await withProxy(async (env) => {
    const a = await send(env, "/rp?x=1");
    assert.equal(a.res.status, 301);
    assert.equal(a.res.get("location"), "https://p.example/rp");
    const b = await send(env, "/rpq?x=1&y");
    assert.equal(b.res.status, 307);
    assert.equal(b.res.get("location"), "https://p.example/rpq?x=1&y");
    const c = await send(env, "/rs?k=v", [], { host: "h.example:8080" });
    assert.equal(c.res.status, 308);
    assert.equal(c.res.get("location"), "https://h.example:8080/rs?k=v");
    assert.equal(a.got, null);
  });
});
