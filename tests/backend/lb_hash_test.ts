// Behaviour of the hash algorithms (source, uri, url_param, hdr) beyond the
// conformance suite: the hash functions, stickiness and spread, consistent
// hashing on removal/addition, the documented key of each algorithm, the
// round-robin fallback, and the parsing of the balance arguments.

import assert from "node:assert/strict";
import type { BalanceConfig, UriHashOptions } from "../../src/config/types.ts";
import { BalanceArgsError, balanceArgsError, parseBalanceArgs } from "../../src/config/balance.ts";
import { createLoadBalancer } from "../_helpers/balance.ts";
import { hashHeaderValue, hashUri, hashUrlParam, uriPathStart } from "../../src/backend/lb.ts";
import { hashAvalanche, HashLb, hashString, RING_POINTS_MAX } from "../../src/backend/lb_hash.ts";
import type { LbRequest, LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";

/** A reusable request. */
class Req implements LbRequest {
  src = "127.0.0.1";
  uri: string | null = null;
  headers = new Map<string, string>();
  header(name: string): string | null {
    return this.headers.get(name.toLowerCase()) ?? null;
  }
}

/** Servers with the given weights, ids 0..n-1. */
function servers(weights: number[]): LbServer[] {
  return weights.map((weight, id) => ({
    id,
    name: `s${id}`,
    weight,
    usable: true,
    backup: false,
    cur: 0,
    maxconn: 0,
  }));
}

function cfg(
  algo: BalanceConfig["algo"],
  args: string[],
  hashType: BalanceConfig["hashType"],
): BalanceConfig {
  return { algo, args, hashType };
}

/** Client address number i, all distinct for i < 2^24. */
function ip(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Server id chosen for each of `n` distinct source addresses. */
function mapSources(lb: LoadBalancer, n: number): number[] {
  const req = new Req();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    req.src = ip(i);
    out.push(lb.pick(req, null)!.id);
  }
  return out;
}

const URI_DEFAULT: UriHashOptions = { len: 0, depth: 0, whole: false, pathOnly: false };

Deno.test("hash: sdbm and the avalanche step match HAProxy's C code", () => {
  // Reference values computed with HAProxy's hash_sdbm() and full_hash().
  assert.equal(hashString(""), 0);
  assert.equal(hashString("a"), 97);
  assert.equal(hashString("10.0.0.1"), 2328198470);
  assert.equal(hashString("/index.html"), 858007926);
  assert.deepEqual(
    [0, 1, 2, 12345, 0xffffffff, 0x80000000, 0xdeadbeef].map(hashAvalanche),
    [2874071335, 881230262, 3798448204, 4132584531, 2120532354, 4269489170, 4293978842],
  );
});

for (const ht of ["map-based", "consistent"] as const) {
  Deno.test(`source ${ht}: the same address always goes to the same server`, () => {
    const lb = createLoadBalancer(cfg("source", [], ht), servers([1, 1, 1, 1]), {
      allbackups: false,
    });
    const req = new Req();
    req.src = "192.0.2.77";
    const first = lb.pick(req, null)!;
    for (let i = 0; i < 1000; i++) {
      req.src = ip(i); // interleave other clients
      lb.pick(req, null);
      req.src = "192.0.2.77";
      assert.equal(lb.pick(req, null), first);
    }
    req.src = "::1";
    const v6 = lb.pick(req, null);
    for (let i = 0; i < 100; i++) assert.equal(lb.pick(req, null), v6);
  });

  Deno.test(`source ${ht}: 1,000 distinct addresses spread over all servers`, () => {
    const lb = createLoadBalancer(cfg("source", [], ht), servers([1, 1, 1, 1]), {
      allbackups: false,
    });
    const c = [0, 0, 0, 0];
    for (const id of mapSources(lb, 1000)) c[id]!++;
    for (const n of c) assert.ok(n >= 150, `uneven spread ${c}`);
  });

  Deno.test(`source ${ht}: weights are respected roughly`, () => {
    const lb = createLoadBalancer(cfg("source", [], ht), servers([1, 3]), {
      allbackups: false,
    });
    const c = [0, 0];
    for (const id of mapSources(lb, 10000)) c[id]!++;
    assert.ok(Math.abs(c[1]! / 10000 - 0.75) < 0.05, `share ${c}`);
  });

  Deno.test(`source ${ht}: the mapping is deterministic across balancers`, () => {
    const a = createLoadBalancer(cfg("source", [], ht), servers([1, 2, 1, 1, 1]), {
      allbackups: false,
    });
    const b = createLoadBalancer(cfg("source", [], ht), servers([1, 2, 1, 1, 1]), {
      allbackups: false,
    });
    assert.deepEqual(mapSources(a, 2000), mapSources(b, 2000));
  });
}

Deno.test("consistent: removing one of 5 servers moves only its keys (<= 1.3/N)", () => {
  const list = servers([1, 1, 1, 1, 1]);
  const lb = createLoadBalancer(cfg("source", [], "consistent"), list, { allbackups: false });
  const before = mapSources(lb, 10000);
  for (const removed of list) {
    removed.usable = false;
    lb.update();
    const after = mapSources(lb, 10000);
    let moved = 0;
    for (let i = 0; i < after.length; i++) {
      if (after[i] === before[i]) continue;
      moved++;
      assert.equal(before[i], removed.id, `key ${i} moved from ${before[i]} to ${after[i]}`);
    }
    assert.ok(moved <= (1.3 / 5) * 10000, `removing ${removed.name} moved ${moved} keys`);
    removed.usable = true;
    lb.update();
    assert.deepEqual(mapSources(lb, 10000), before, "keys come back when the server does");
  }
});

Deno.test("consistent: adding a server only takes keys for itself", () => {
  const list = servers([1, 1, 1, 1, 1]);
  list[4]!.usable = false;
  const lb = createLoadBalancer(cfg("source", [], "consistent"), list, { allbackups: false });
  const before = mapSources(lb, 10000);
  list[4]!.usable = true;
  lb.update();
  const after = mapSources(lb, 10000);
  let moved = 0;
  for (let i = 0; i < after.length; i++) {
    if (after[i] === before[i]) continue;
    moved++;
    assert.equal(after[i], 4);
  }
  assert.ok(moved > 1000 && moved < 3000, `moved ${moved}`);
});

Deno.test("consistent: the ring stays bounded with many servers and awkward weights", () => {
  const weights: number[] = [];
  for (let i = 0; i < 200; i++) weights.push(i % 2 === 0 ? 256 : 255);
  const lb = new HashLb(servers(weights), false, "consistent", (r) => hashString(r.src));
  assert.ok(lb.tableSize <= RING_POINTS_MAX, `${lb.tableSize} points`);
  assert.ok(lb.tableSize >= 200, `${lb.tableSize} points`);
});

Deno.test("map-based: removal remaps keys deterministically", () => {
  const make = () => {
    const list = servers([1, 1, 1, 1, 1]);
    const lb = createLoadBalancer(cfg("source", [], "map-based"), list, { allbackups: false });
    list[2]!.usable = false;
    lb.update();
    return lb;
  };
  const a = mapSources(make(), 5000);
  assert.deepEqual(mapSources(make(), 5000), a);
  assert.ok(!a.includes(2));
});

Deno.test("uri: each option selects the documented part of the URI", () => {
  const h = (uri: string, o: Partial<UriHashOptions>) => hashUri(uri, { ...URI_DEFAULT, ...o });
  assert.equal(h("/a/b/c?x=1", {}), hashString("/a/b/c"), "default stops at '?'");
  assert.equal(h("/a/b/c?x=1", { whole: true }), hashString("/a/b/c?x=1"));
  assert.equal(h("/a/b/c?x=1", { len: 4 }), hashString("/a/b"));
  assert.equal(h("/ab?cd", { len: 5 }), hashString("/ab"), "len, then '?'");
  assert.equal(h("/ab?cd", { len: 5, whole: true }), hashString("/ab?c"));
  assert.equal(h("/a/b/c?x=1", { depth: 1 }), hashString("/a"));
  assert.equal(h("/a/b/c?x=1", { depth: 2 }), hashString("/a/b"));
  assert.equal(h("/a/b/c?x=1", { depth: 5 }), hashString("/a/b/c"));
  assert.equal(h("/a/b/c?x=/y/z", { depth: 3, whole: true }), hashString("/a/b/c?x="));
  assert.equal(h("http://h.example/a/b?x", {}), hashString("http://h.example/a/b"));
  assert.equal(h("http://h.example/a/b?x", { pathOnly: true }), hashString("/a/b"));
  assert.equal(h("http://h.example/a/b?x", { pathOnly: true, whole: true }), hashString("/a/b?x"));
  assert.equal(h("http://h.example/a/b?x", { pathOnly: true, depth: 1 }), hashString("/a"));
  assert.equal(h("http://h.example", { pathOnly: true }), hashString(""));
  assert.equal(uriPathStart("/x"), 0);
  assert.equal(uriPathStart("*"), 1);
  assert.equal(uriPathStart("https://h:8443/p"), 14);
});

for (const ht of ["map-based", "consistent"] as const) {
  Deno.test(`uri ${ht}: the query string does not change the server unless 'whole'`, () => {
    const byPath = createLoadBalancer(cfg("uri", [], ht), servers([1, 1, 1, 1]), {
      allbackups: false,
    });
    const whole = createLoadBalancer(cfg("uri", ["whole"], ht), servers([1, 1, 1, 1]), {
      allbackups: false,
    });
    const req = new Req();
    let differs = 0;
    for (let i = 0; i < 200; i++) {
      req.uri = `/obj/${i}?v=1`;
      const a = byPath.pick(req, null);
      const w = whole.pick(req, null);
      req.uri = `/obj/${i}?v=2`;
      assert.equal(byPath.pick(req, null), a);
      if (whole.pick(req, null) !== w) differs++;
    }
    assert.ok(differs > 50, `whole: only ${differs} of 200 changed server`);
  });

  Deno.test(`uri ${ht}: len and depth group URIs by their prefix`, () => {
    const byLen = createLoadBalancer(cfg("uri", ["len", "4"], ht), servers([1, 1, 1]), {
      allbackups: false,
    });
    const byDepth = createLoadBalancer(cfg("uri", ["depth", "1"], ht), servers([1, 1, 1]), {
      allbackups: false,
    });
    const req = new Req();
    for (const dir of ["/img", "/css", "/api", "/js/"]) {
      req.uri = `${dir}/first`;
      const l = byLen.pick(req, null);
      const d = byDepth.pick(req, null);
      for (let i = 0; i < 50; i++) {
        req.uri = `${dir}/${i}/x.png?y=${i}`;
        assert.equal(byLen.pick(req, null), l);
        assert.equal(byDepth.pick(req, null), d);
      }
    }
  });
}

Deno.test("url_param: hashes the value of the named parameter only", () => {
  assert.equal(hashUrlParam("/x?a=1&id=42&b=2", "id"), hashString("42"));
  assert.equal(hashUrlParam("/x?id=42", "id"), hashString("42"));
  assert.equal(hashUrlParam("/x?uid=7&id=9", "id"), hashString("9"), "not a suffix match");
  assert.equal(hashUrlParam("/x?id=", "id"), 0, "an empty value is hashed");
  assert.equal(hashUrlParam("/x?id=&z=1", "id"), 0, "an empty value is hashed");
  assert.equal(hashUrlParam("/x?ID=1", "id"), -1, "case-sensitive");
  assert.equal(hashUrlParam("/x?a=1", "id"), -1);
  assert.equal(hashUrlParam("/x", "id"), -1);
  assert.equal(hashUrlParam("/x?id", "id"), -1);
});

Deno.test("hdr: use_domain_only hashes the label before the TLD", () => {
  assert.equal(hashHeaderValue("www.haproxy.org", false), hashString("www.haproxy.org"));
  assert.equal(hashHeaderValue("www.haproxy.org", true), hashString("haproxy"));
  assert.equal(hashHeaderValue("haproxy.org", true), hashString("haproxy"));
  assert.equal(hashHeaderValue("a.b.haproxy.org:8080", true), hashString("haproxy"));
  assert.equal(hashHeaderValue("localhost", true), hashString("localhost"));
  assert.equal(hashHeaderValue(".org", true), hashString(".org"));
});

/** Ids of n picks of a request that has no key: round robin over 4 equal servers. */
function assertRoundRobin(lb: LoadBalancer, req: Req): void {
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) ids.push(lb.pick(req, null)!.id);
  assert.deepEqual(ids, [0, 1, 2, 3, 0, 1, 2, 3]);
}

for (const ht of ["map-based", "consistent"] as const) {
  Deno.test(`url_param ${ht}: same value same server; round robin when absent`, () => {
    const lb = createLoadBalancer(cfg("url_param", ["user"], ht), servers([1, 1, 1, 1]), {
      allbackups: false,
    });
    const req = new Req();
    req.uri = "/cart?user=alice&item=1";
    const a = lb.pick(req, null);
    for (let i = 0; i < 100; i++) {
      req.uri = `/page/${i}?x=${i}&user=alice`;
      assert.equal(lb.pick(req, null), a);
    }
    req.uri = "/cart?item=1";
    assertRoundRobin(lb, req);
    req.uri = null; // TCP mode
    assertRoundRobin(lb, req);
  });

  Deno.test(`hdr ${ht}: same value same server; round robin when absent or empty`, () => {
    const lb = createLoadBalancer(
      cfg("hdr", ["Host", "use_domain_only"], ht),
      servers([1, 1, 1, 1]),
      {
        allbackups: false,
      },
    );
    const req = new Req();
    req.headers.set("host", "www.example.com");
    const a = lb.pick(req, null);
    req.headers.set("host", "api.example.net:8080");
    assert.equal(lb.pick(req, null), a, "only the domain label counts");
    req.headers.delete("host");
    assertRoundRobin(lb, req);
    req.headers.set("host", "");
    assertRoundRobin(lb, req);
  });
}

Deno.test("hash: with a single candidate no key is needed", () => {
  let calls = 0;
  const list = servers([1, 1]);
  const lb = new HashLb(list, false, "consistent", () => {
    calls++;
    return 1;
  });
  list[1]!.usable = false;
  lb.update();
  assert.equal(lb.pick(new Req(), null), list[0]);
  assert.equal(calls, 0);
});

Deno.test("balance arguments are parsed and checked", () => {
  const ok = (c: BalanceConfig) => assert.equal(balanceArgsError(c), null);
  const bad = (c: BalanceConfig, re: RegExp) => {
    assert.throws(() => parseBalanceArgs(c), BalanceArgsError);
    assert.match(balanceArgsError(c) ?? "", re);
    assert.throws(() => createLoadBalancer(c, [], { allbackups: false }), BalanceArgsError);
  };
  ok(cfg("roundrobin", [], "map-based"));
  ok(cfg("uri", ["len", "12", "depth", "3", "whole", "path-only"], "consistent"));
  ok(cfg("url_param", ["id"], "map-based"));
  ok(cfg("hdr", ["Host", "use_domain_only"], "map-based"));
  ok(cfg("random", ["5"], "map-based"));
  assert.deepEqual(parseBalanceArgs(cfg("uri", ["len", "12", "whole"], "map-based")).uri, {
    len: 12,
    depth: 0,
    whole: true,
    pathOnly: false,
  });
  assert.equal(parseBalanceArgs(cfg("hdr", ["X-Key"], "map-based")).header, "x-key");
  assert.equal(parseBalanceArgs(cfg("random", [], "map-based")).draws, 2);
  bad(cfg("roundrobin", ["x"], "map-based"), /Unexpected argument "x"/);
  bad(cfg("uri", ["len"], "map-based"), /uri len/);
  bad(cfg("uri", ["depth", "-1"], "map-based"), /"-1"/);
  bad(cfg("uri", ["full"], "map-based"), /"full"/);
  bad(cfg("url_param", [], "map-based"), /parameter name/);
  bad(cfg("url_param", ["id", "check_post"], "map-based"), /check_post/);
  bad(cfg("hdr", [], "map-based"), /header name/);
  bad(cfg("hdr", ["Host", "domain"], "map-based"), /"domain"/);
  bad(cfg("random", ["0"], "map-based"), /random draws/);
});
