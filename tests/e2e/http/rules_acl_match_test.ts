// ACL matching as HAProxy does it: -i on non-ASCII patterns, the -m
// dom/end/sub/beg/len methods on Host, src networks (IPv4, IPv6, mapped),
// dst_port, and the condition operators (||, !, unless, anonymous ACLs,
// built-in ACLs).
//
// End to end through real sockets, checked against HAProxy's documented
// behaviour: the exact bytes the server receives (the stub records the raw
// head), and the status, headers and bytes the client receives.

import assert from "node:assert/strict";
import { must, one, send, utf8, withProxy } from "./_rules.ts";

// `-i` lower-cases the patterns with String.toLowerCase() (Unicode: the
// UTF-8 bytes of "é", C3 A9, become E3 A9) but compares the sample with an
// ASCII-only fold (pattern.ts hasAt/lc): a non-ASCII pattern with -i can no
// longer match the very bytes it was written as. HAProxy's -i folds ASCII
// only, so identical bytes always match.
Deno.test("acl -i: a non-ASCII pattern still matches the identical bytes", async () => {
  await withProxy(async (env) => {
    const { got } = await send(env, "/icase", [`X-Name: ${utf8("café")}`]);
    const r = must(got, "icase");
    assert.equal(one(r, "x-exact"), "yes", "control: without -i the bytes match");
    assert.equal(one(r, "x-icase"), "yes", "with -i the same bytes must match too");
  });
});

Deno.test("-m dom/end/sub/beg/len on Host (dot boundaries, -i, port)", async () => {
  await withProxy(async (env) => {
    const hit = must((await send(env, "/dom", [], { host: "www.Example.com:8080" })).got, "hit");
    assert.equal(one(hit, "x-dom"), undefined, "-m dom without -i is case-sensitive");
    assert.equal(one(hit, "x-dom-port"), "yes");
    assert.equal(one(hit, "x-end"), undefined, "case-sensitive end");
    assert.equal(one(hit, "x-sub"), "yes");
    assert.equal(one(hit, "x-beg"), "yes");
    assert.equal(one(hit, "x-len"), "yes");
    const lower = must((await send(env, "/dom", [], { host: "www.example.com:8080" })).got, "l");
    assert.equal(one(lower, "x-dom"), "yes");
    assert.equal(one(lower, "x-end"), "yes");
    const glued = must((await send(env, "/dom", [], { host: "notexample.com" })).got, "glued");
    assert.equal(one(glued, "x-dom"), undefined, "'example.com' is not a component run");
    assert.equal(one(glued, "x-dom-port"), undefined);
    const suffix = must((await send(env, "/dom", [], { host: "example.com.evil" })).got, "suf");
    assert.equal(one(suffix, "x-dom"), "yes", "HAProxy's dom matches any delimited run");
  });
});

Deno.test("src CIDR /0 /32, ::/0 and ::ffff:127.0.0.0/104 match an IPv4 client; dst_port", async () => {
  await withProxy(async (env) => {
    const r = must((await send(env, "/src")).got, "src");
    assert.equal(one(r, "x-src"), "127.0.0.1");
    assert.equal(one(r, "x-v4all"), "yes");
    assert.equal(one(r, "x-host32"), "yes");
    assert.equal(one(r, "x-other32"), undefined);
    assert.equal(one(r, "x-v6all"), "yes", "IPv4 is in the IPv6 space as ::ffff:a.b.c.d");
    assert.equal(one(r, "x-mapped"), "yes");
    assert.equal(one(r, "x-local"), "yes");
    assert.match(one(r, "x-dstport") ?? "", new RegExp(`^${env.port}:\\d+$`));
    assert.equal(one(r, "x-dstport-range"), env.port >= 1024 ? "yes" : undefined);
    assert.equal(one(r, "x-dstport-low"), env.port >= 1024 ? undefined : "yes");
  });
});

Deno.test("||, !, unless, !{ }, built-in ACLs and a missing header rendering empty", async () => {
  await withProxy(async (env) => {
    const none = must((await send(env, "/cond")).got, "none");
    assert.equal(one(none, "x-or"), undefined);
    assert.equal(one(none, "x-not"), "yes");
    assert.equal(one(none, "x-unless"), "yes", "unless (false || false)");
    assert.equal(one(none, "x-anon-neg"), "yes");
    assert.equal(one(none, "x-ver"), "1.1");
    assert.equal(one(none, "x-missing"), "<>");
    const b = must((await send(env, "/cond", ["X-B: on"])).got, "b");
    assert.equal(one(b, "x-or"), "yes");
    assert.equal(one(b, "x-not"), undefined);
    assert.equal(one(b, "x-unless"), "yes");
    const a = must((await send(env, "/cond", ["X-A: on"])).got, "a");
    assert.equal(one(a, "x-or"), "yes");
    assert.equal(one(a, "x-unless"), undefined, "unless (false || true)");
    assert.equal(one(a, "x-anon-neg"), undefined);
    const nope = must((await send(env, "/nope")).got, "nope");
    assert.equal(one(nope, "x-unless"), undefined, "unless (true || false)");
    const h10 = must((await send(env, "/cond", [], { ver: "1.0" })).got, "1.0");
    assert.equal(one(h10, "x-ver"), undefined);
  });
});
