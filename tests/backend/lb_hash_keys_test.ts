// The key each hashing algorithm hashes: source (IPv4 and IPv6, stable
// across instances and update()), url_param (round robin without the
// parameter), uri (len, depth, whole, path-only) and hdr use_domain_only.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { hashHeaderValue, hashUri } from "../../src/backend/lb.ts";
import { hashString } from "../../src/backend/lb_hash.ts";
import { cfg, count, ip4, lbOf, mapSources, picks, Req, servers } from "./_lb_common.ts";

/** Client address number i (IPv6). */
function ip6(i: number): string {
  return `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
}

for (const ht of ["map-based", "consistent"] as const) {
  Deno.test(`source ${ht}: IPv4 and IPv6 clients map stably (instances, repeated picks, update())`, () => {
    for (const addr of [ip4, ip6]) {
      const a = lbOf(cfg("source", [], ht), servers([1, 2, 3]));
      const b = lbOf(cfg("source", [], ht), servers([1, 2, 3]));
      const first = mapSources(a, 2000, addr);
      assert.deepEqual(mapSources(a, 2000, addr), first);
      assert.deepEqual(mapSources(b, 2000, addr), first);
      a.update();
      assert.deepEqual(mapSources(a, 2000, addr), first);
      const c = count(first.map(String));
      for (const id of ["0", "1", "2"]) assert.ok((c[id] ?? 0) > 100, JSON.stringify(c));
    }
  });

  Deno.test(`url_param ${ht}: a missing parameter falls back to exact round robin`, () => {
    const lb = lbOf(cfg("url_param", ["id"], ht), servers([1, 2, 3]));
    const req = new Req();
    for (const uri of ["/a", "/a?x=1", "/a?xid=3&idx=2", "/a?id", null]) {
      req.uri = uri;
      assert.deepEqual(count(picks(lb, 60, req)), { s0: 10, s1: 20, s2: 30 }, `uri ${uri}`);
    }
    req.uri = "/a?x=1&id=42";
    const one = lb.pick(req, null)!.name;
    req.uri = "/b?id=42";
    assert.equal(lb.pick(req, null)!.name, one);
  });
}

Deno.test("uri: len, depth, whole and path-only select the part HAProxy's get_server_uh() hashes", () => {
  const o = (x: Partial<Parameters<typeof hashUri>[1]>) => ({
    len: 0,
    depth: 0,
    whole: false,
    pathOnly: false,
    ...x,
  });
  const cases: [string, ReturnType<typeof o>, string][] = [
    ["/a/b/c?x=1", o({}), "/a/b/c"],
    ["/a/b/c?x=1", o({ whole: true }), "/a/b/c?x=1"],
    ["/a/b/c?x=1", o({ depth: 2 }), "/a/b"],
    ["/a/b/c?x=1", o({ depth: 5 }), "/a/b/c"],
    ["/a/b/c?x=/y", o({ depth: 3, whole: true }), "/a/b/c?x="],
    ["/abcdef/g", o({ len: 4 }), "/abc"],
    ["/ab?cdef", o({ len: 6, whole: true }), "/ab?cd"],
    ["/abcdef/g", o({ len: 20, depth: 1 }), "/abcdef"],
    ["http://h.example/a/b?q", o({ pathOnly: true }), "/a/b"],
    ["http://h.example/a/b?q", o({ pathOnly: true, len: 3 }), "/a/"],
    ["http://h.example/a/b?q", o({ pathOnly: true, depth: 1 }), "/a"],
    ["http://h.example/a/b?q", o({ pathOnly: true, whole: true }), "/a/b?q"],
    ["http://h.example/a/b?q", o({}), "http://h.example/a/b"],
    ["http://h.example/a/b?q", o({ depth: 1 }), "http:/"],
  ];
  for (const [uri, opts, part] of cases) {
    assert.equal(hashUri(uri, opts), hashString(part), `${uri} ${JSON.stringify(opts)}`);
  }
  // Through the balancer: the options are parsed and depth groups URIs.
  const lb = lbOf(cfg("uri", ["depth", "2", "len", "64"], "consistent"), servers([1, 1, 1, 1]));
  const req = new Req();
  for (let i = 0; i < 50; i++) {
    req.uri = `/shop/item${i}/a`;
    const s = lb.pick(req, null)!.name;
    req.uri = `/shop/item${i}/b/c?z=${i}`;
    assert.equal(lb.pick(req, null)!.name, s);
  }
});

Deno.test("hdr use_domain_only: every host of one domain goes to one server; header name case-insensitive", () => {
  assert.equal(hashHeaderValue("www.haproxy.org", true), hashString("haproxy"));
  assert.equal(hashHeaderValue("haproxy.org:8080", true), hashString("haproxy"));
  assert.equal(hashHeaderValue("a.b.haproxy.co", true), hashString("haproxy"));
  assert.equal(hashHeaderValue("localhost", true), hashString("localhost"));
  for (const ht of ["map-based", "consistent"] as const) {
    const lb = lbOf(cfg("hdr", ["Host", "use_domain_only"], ht), servers([1, 1, 1, 1]));
    const req = new Req();
    const seen = new Set<string>();
    for (let d = 0; d < 40; d++) {
      req.headers.set("host", `example${d}.com`);
      const s = lb.pick(req, null)!.name;
      seen.add(s);
      for (const host of [`www.example${d}.com`, `api.example${d}.com:8443`]) {
        req.headers.set("host", host);
        assert.equal(lb.pick(req, null)!.name, s, `${ht} ${host}`);
      }
    }
    assert.equal(seen.size, 4, `${ht}: domains spread over every server`);
  }
});
