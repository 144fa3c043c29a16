// Sample fetches and converters in rules: upper keeps obs-text bytes,
// url_param parsing (';', names without '=', repeated names), hdr() and
// hdr_cnt splitting on commas against fhdr, and the fetches and set-*
// actions on an absolute-form target.
//
// End to end through real sockets, checked against HAProxy's documented
// behaviour: the exact bytes the server receives (the stub records the raw
// head), and the status, headers and bytes the client receives.

import assert from "node:assert/strict";
import { reqHeader } from "./_http.ts";
import { must, one, send, withProxy } from "./_rules.ts";

// The `upper` converter uses String.toUpperCase() on a byte string: 0xDF
// (ß) becomes "SS", 0xFF (ÿ) becomes U+0178 and 0xB5 (µ) U+039C, which the
// head writer truncates to one byte (0x78 'x', 0x9C). HAProxy's upper is
// toupper() in the C locale: bytes >= 0x80 are left alone.
Deno.test("converter upper: obs-text bytes are kept byte for byte, only ASCII changes", async () => {
  await withProxy(async (env) => {
    const { got } = await send(env, "/upper", ["X-Raw: a\xdfb\xffc\xb5d"]);
    const r = must(got, "upper");
    assert.equal(one(r, "x-up"), "A\xdfB\xffC\xb5D");
  });
});

// HAProxy's url_param ends a parameter at '&', ';' or the delimiter
// (http_is_param_delimiter) and only finds NAME followed by '='; here only
// '&' separates and a bare NAME counts as found with an empty value.
Deno.test("url_param: ';' separates parameters and a name without '=' is not found (HAProxy)", async () => {
  await withProxy(async (env) => {
    const { got } = await send(env, "/urlp?a=1;b=2&c");
    const r = must(got, "urlp");
    assert.equal(one(r, "x-p-a"), "[1]", "a ends at ';'");
    assert.equal(one(r, "x-p-b"), "[2]", "b starts after ';'");
    assert.equal(one(r, "x-p-c-found"), undefined, "'c' has no '=': not a parameter value");
  });
});

Deno.test("hdr() splits on commas (quotes kept), hdr_cnt counts values, fhdr whole lines", async () => {
  await withProxy(async (env) => {
    const { got } = await send(env, "/split", [
      'X-List: a, "b,c"',
      "X-List: b ,d",
      "X-Num: 42abc",
    ]);
    const r = must(got, "split");
    assert.equal(one(r, "x-last"), "d");
    assert.equal(one(r, "x-first"), "a");
    assert.equal(one(r, "x-second-last"), "b");
    assert.equal(one(r, "x-full"), "b ,d");
    assert.equal(one(r, "x-cnt"), "4");
    assert.equal(one(r, "x-fcnt"), "2");
    assert.equal(one(r, "x-has-b"), "yes");
    assert.equal(one(r, "x-fhdr-b"), undefined, "fhdr compares whole lines");
    assert.equal(one(r, "x-int"), "yes", "-m int takes the leading integer");
  });
});

Deno.test("url_param with a repeated name: first in a value, any in an ACL", async () => {
  await withProxy(async (env) => {
    const r = must((await send(env, "/urlp-rep?r=1&x=0&r=2")).got, "rep");
    assert.equal(one(r, "x-rep"), "[1]");
    assert.equal(one(r, "x-rep-has2"), "yes");
    const none = must((await send(env, "/urlp-rep")).got, "none");
    assert.equal(one(none, "x-rep"), "[]");
    assert.equal(one(none, "x-rep-has2"), undefined);
  });
});

Deno.test("absolute-form target: path/url/query fetches, set-path, set-query, set-uri and Host", async () => {
  await withProxy(async (env) => {
    const t = "http://test.local/abs/sp/x?q=1";
    const sp = must((await send(env, t)).got, "sp");
    assert.equal(sp.target, "http://test.local/new/abs/sp/x?q=1");
    assert.equal(one(sp, "x-path"), `/abs/sp/x|${t}|q=1|GET`);
    const sq = must((await send(env, "http://test.local/abs/sq")).got, "sq");
    assert.equal(sq.target, "http://test.local/abs/sq?q=2");
    const sqn = must((await send(env, "/sq-none/a?old=1&x=2")).got, "sqn");
    assert.equal(sqn.target, "/sq-none/a?q=3");
    const su = must((await send(env, "/abs/su?z")).got, "su");
    assert.equal(su.target, "http://other.example/u?x=1");
    assert.deepEqual(reqHeader(su, "host"), ["other.example"]);
  });
});
