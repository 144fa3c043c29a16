// Edge cases of the balancing algorithms checked against HAProxy's documented
// semantics (docs/internals/balancing.md): exact weighted shares with weight
// 0, leastconn weights and ties, `first` filling order, source stability for
// IPv4/IPv6, the uri/url_param/hdr keys, consistent hashing when a server
// goes down, is drained or has its weight changed, map-based spread, random
// power-of-N choices, backups, run-time weight changes, and servers going
// DOWN/UP during traffic. Unit level against the LoadBalancer classes, plus
// one cheap end-to-end check of the header a `hdr()` balance hashes.

import assert from "node:assert/strict";
import type { BalanceConfig } from "../../src/config/types.ts";
import { createLoadBalancer } from "../_helpers/balance.ts";
import { hashHeaderValue, hashUri } from "../../src/backend/lb.ts";
import { hashString } from "../../src/backend/lb_hash.ts";
import { RandomLb } from "../../src/backend/lb_random.ts";
import type { LbRequest, LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";
import { type ProxyProcess, startProxy } from "../_helpers/proxy.ts";
import {
  closeAll,
  feBeConfig,
  HttpConn,
  nameServers,
  serverLines,
} from "../e2e/backends/_common.ts";

/** A reusable request. */
class Req implements LbRequest {
  src = "127.0.0.1";
  uri: string | null = "/";
  headers = new Map<string, string>();
  header(name: string): string | null {
    return this.headers.get(name.toLowerCase()) ?? null;
  }
}

/** Servers with the given weights, ids 0..n-1, named s0..s(n-1). */
function servers(weights: number[], backups: number[] = []): LbServer[] {
  const out: LbServer[] = weights.map((weight, id) => ({
    id,
    name: `s${id}`,
    weight,
    usable: true,
    backup: false,
    cur: 0,
    maxconn: 0,
  }));
  for (const weight of backups) {
    const id = out.length;
    out.push({ id, name: `b${id}`, weight, usable: true, backup: true, cur: 0, maxconn: 0 });
  }
  return out;
}

function cfg(
  algo: BalanceConfig["algo"],
  args: string[] = [],
  hashType: BalanceConfig["hashType"] = "map-based",
): BalanceConfig {
  return { algo, args, hashType };
}

function lbOf(c: BalanceConfig, list: LbServer[], allbackups = false): LoadBalancer {
  return createLoadBalancer(c, list, { allbackups });
}

/** Names of `n` picks (no connection taken). */
function picks(lb: LoadBalancer, n: number, req: LbRequest = new Req()): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(lb.pick(req, null)?.name ?? "null");
  return out;
}

function count(names: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const n of names) m[n] = (m[n] ?? 0) + 1;
  return m;
}

/** Client address number i (IPv4). */
function ip4(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Client address number i (IPv6). */
function ip6(i: number): string {
  return `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
}

/** Server id chosen for each of `n` source addresses. */
function mapSources(lb: LoadBalancer, n: number, addr: (i: number) => string = ip4): number[] {
  const req = new Req();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    req.src = addr(i);
    out.push(lb.pick(req, null)!.id);
  }
  return out;
}

/** Keys that changed server, as `key:from->to`, limited to those not involving `who`. */
function movedOthers(before: number[], after: number[], who: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < before.length; i++) {
    if (before[i] !== after[i] && before[i] !== who && after[i] !== who) {
      out.push(`${i}:${before[i]}->${after[i]}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// roundrobin / static-rr

for (const algo of ["roundrobin", "static-rr"] as const) {
  Deno.test(`edge ${algo}: weights 1/2/3 (+ a weight 0) give C B A C B C and exact shares in every window of 6`, () => {
    const list = servers([1, 2, 3, 0]);
    const lb = lbOf(cfg(algo), list);
    const seq = picks(lb, 60);
    assert.deepEqual(seq.slice(0, 6), ["s2", "s1", "s0", "s2", "s1", "s2"]);
    for (let w = 0; w + 6 <= seq.length; w++) {
      assert.deepEqual(count(seq.slice(w, w + 6)), { s0: 1, s1: 2, s2: 3 }, `window at ${w}`);
    }
    // The weight-0 server joins at its weight once given one (update()).
    list[3]!.weight = 2;
    lb.update();
    const seq2 = picks(lb, 80);
    for (let w = 0; w + 8 <= seq2.length; w += 8) {
      assert.deepEqual(count(seq2.slice(w, w + 8)), { s0: 1, s1: 2, s2: 3, s3: 2 });
    }
    // ... and leaves again when set back to 0.
    list[3]!.weight = 0;
    lb.update();
    assert.deepEqual(count(picks(lb, 60)), { s0: 10, s1: 20, s2: 30 });
  });

  // BUG: update() restarts the cycle (RoundRobinLb.update() zeroes the scores,
  // StaticRrLb.update() sets the cursor to 0). Each DOWN/UP of any server calls
  // update() (check.ts), so when state changes are as frequent as requests the
  // lowest-id/highest-weight server takes everything. HAProxy keeps the
  // rotation (fwrr positions, lb_map rr_idx survive a recalc).
  Deno.test(`edge ${algo}: a server flapping DOWN/UP between requests does not starve the others`, () => {
    const list = servers([1, 1, 1]);
    const lb = lbOf(cfg(algo), list);
    const got: string[] = [];
    for (let i = 0; i < 60; i++) {
      got.push(lb.pick(new Req(), null)!.name);
      list[2]!.usable = !list[2]!.usable; // s2's checks flap
      lb.update();
    }
    const c = count(got);
    // s2 is up half of the time; s0 and s1 are always up and must share.
    assert.ok((c.s1 ?? 0) >= 15, `s1 starved: ${JSON.stringify(c)}`);
  });
}

Deno.test("edge roundrobin: a run-time weight change (stats admin: weight + update()) applies on the next cycle", () => {
  const list = servers([1, 1, 1]);
  const lb = lbOf(cfg("roundrobin"), list);
  assert.deepEqual(count(picks(lb, 30)), { s0: 10, s1: 10, s2: 10 });
  list[0]!.weight = 4;
  lb.update();
  assert.deepEqual(count(picks(lb, 60)), { s0: 40, s1: 10, s2: 10 });
  // Without update(), roundrobin still follows a live weight change (documented).
  list[0]!.weight = 1;
  assert.deepEqual(count(picks(lb, 300)).s0! <= 102, true);
});

// ---------------------------------------------------------------------------
// leastconn

Deno.test("edge leastconn: held connections follow the weights exactly ((cur + 1) / weight)", () => {
  const list = servers([1, 2, 3]);
  const lb = lbOf(cfg("leastconn"), list);
  for (let i = 0; i < 600; i++) lb.pick(new Req(), null)!.cur++;
  assert.deepEqual(list.map((s) => s.cur), [100, 200, 300]);
  // Releasing connections on one server makes it the next choice until even.
  list[2]!.cur -= 30;
  for (let i = 0; i < 30; i++) {
    const s = lb.pick(new Req(), null)!;
    assert.equal(s.name, "s2");
    s.cur++;
  }
});

Deno.test("edge leastconn: equal loads rotate over every server, also after one goes DOWN and UP", () => {
  const list = servers([1, 1, 1, 1]);
  const lb = lbOf(cfg("leastconn"), list);
  assert.deepEqual(picks(lb, 8), ["s0", "s1", "s2", "s3", "s0", "s1", "s2", "s3"]);
  list[1]!.usable = false;
  lb.update();
  assert.deepEqual(count(picks(lb, 9)), { s0: 3, s2: 3, s3: 3 });
  list[1]!.usable = true;
  lb.update();
  assert.deepEqual(count(picks(lb, 12)), { s0: 3, s1: 3, s2: 3, s3: 3 });
});

// ---------------------------------------------------------------------------
// first

Deno.test("edge first: fills servers in id order up to maxconn, a freed slot of a lower id is refilled first", () => {
  const list = servers([1, 1, 1]);
  for (const s of list) s.maxconn = 2;
  // Declared out of id order: order is by id.
  const lb = lbOf(cfg("first"), [list[2]!, list[0]!, list[1]!]);
  const order: string[] = [];
  for (let i = 0; i < 6; i++) {
    const s = lb.pick(new Req(), null)!;
    order.push(s.name);
    s.cur++;
  }
  assert.deepEqual(order, ["s0", "s0", "s1", "s1", "s2", "s2"]);
  assert.equal(lb.pick(new Req(), null), null);
  assert.equal(lb.allFull, true);
  list[0]!.cur--;
  assert.equal(lb.pick(new Req(), null)!.name, "s0");
  list[1]!.cur--;
  list[0]!.cur++;
  assert.equal(lb.pick(new Req(), null)!.name, "s1");
});

// ---------------------------------------------------------------------------
// source, uri, url_param, hdr

for (const ht of ["map-based", "consistent"] as const) {
  Deno.test(`edge source ${ht}: IPv4 and IPv6 clients map stably (instances, repeated picks, update())`, () => {
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

  Deno.test(`edge url_param ${ht}: a missing parameter falls back to exact round robin`, () => {
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

Deno.test("edge uri: len, depth, whole and path-only select the part HAProxy's get_server_uh() hashes", () => {
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

Deno.test("edge hdr use_domain_only: every host of one domain goes to one server; header name case-insensitive", () => {
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

// ---------------------------------------------------------------------------
// consistent / map-based

Deno.test("edge consistent: a server going DOWN moves only its keys; UP brings exactly them back (weights 2/4/3/1)", () => {
  const list = servers([2, 4, 3, 1]);
  const lb = lbOf(cfg("source", [], "consistent"), list);
  const before = mapSources(lb, 8000);
  for (const s of list) {
    s.usable = false;
    lb.update();
    const after = mapSources(lb, 8000);
    assert.deepEqual(movedOthers(before, after, s.id), [], `${s.name} down`);
    assert.ok(!after.includes(s.id));
    s.usable = true;
    lb.update();
    assert.deepEqual(mapSources(lb, 8000), before, `${s.name} back`);
  }
});

// BUG: the ring's per-unit factor divides by the gcd of the *current* weights
// (lb_hash.ts #buildRing, weightGcd(this.#servers)). Draining a server (weight
// 0, what the stats admin `drain` does) or changing one server's weight can
// change that gcd, which rescales the point count of every other server, so
// keys move between servers that did not change. HAProxy's chash gives each
// server a number of points proportional to its own weight only.
Deno.test("edge consistent: draining a server (weight 0) moves only its keys", () => {
  const list = servers([2, 4, 3]);
  const lb = lbOf(cfg("source", [], "consistent"), list);
  const before = mapSources(lb, 8000);
  list[2]!.weight = 0; // setDrain(): weight 0, then lb.update()
  lb.update();
  const after = mapSources(lb, 8000);
  const others = movedOthers(before, after, 2);
  assert.equal(others.length, 0, `${others.length} keys moved between s0 and s1`);
  list[2]!.weight = 3; // drain ends
  lb.update();
  assert.deepEqual(mapSources(lb, 8000), before);
});

Deno.test("edge consistent: changing one server's weight moves keys only to or from that server", () => {
  const list = servers([2, 2, 2, 2]);
  const lb = lbOf(cfg("source", [], "consistent"), list);
  const before = mapSources(lb, 8000);
  list[3]!.weight = 3; // stats admin: weight 3, then lb.update()
  lb.update();
  const after = mapSources(lb, 8000);
  const others = movedOthers(before, after, 3);
  assert.equal(others.length, 0, `${others.length} keys moved between unchanged servers`);
});

Deno.test("edge map-based: keys spread by weight (1/2/3 within 10%)", () => {
  for (const algo of ["source", "hdr"] as const) {
    const lb = lbOf(cfg(algo, algo === "hdr" ? ["x-k"] : [], "map-based"), servers([1, 2, 3]));
    const req = new Req();
    const got: string[] = [];
    for (let i = 0; i < 12000; i++) {
      req.src = ip4(i * 7 + 3);
      req.headers.set("x-k", `user-${i}`);
      got.push(lb.pick(req, null)!.name);
    }
    const c = count(got);
    for (const [name, want] of [["s0", 2000], ["s1", 4000], ["s2", 6000]] as const) {
      assert.ok(Math.abs(c[name]! - want) < want * 0.1, `${algo}: ${JSON.stringify(c)}`);
    }
  }
});

// ---------------------------------------------------------------------------
// random(N)

Deno.test("edge random(N): the least loaded of N draws wins (P(idle) = 1 - (2/3)^N)", () => {
  for (const draws of [1, 2, 3]) {
    const list = servers([1, 1, 1]);
    list[1]!.cur = 10;
    list[2]!.cur = 10;
    const lb = new RandomLb(list, false, draws, 12345);
    const n = 9000;
    const idle = picks(lb, n).filter((x) => x === "s0").length / n;
    const want = 1 - (2 / 3) ** draws;
    assert.ok(Math.abs(idle - want) < 0.03, `draws ${draws}: ${idle} vs ${want}`);
  }
});

Deno.test("edge random(2): power of two choices keeps held connections close together", () => {
  const list = servers([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const lb = new RandomLb(list, false, 2, 7);
  for (let i = 0; i < 3000; i++) lb.pick(new Req(), null)!.cur++;
  const cur = list.map((s) => s.cur);
  assert.ok(Math.max(...cur) - Math.min(...cur) <= 6, `spread ${cur.join(",")}`);
  // With weights, cur / weight evens out.
  const w = servers([1, 3]);
  const lbw = new RandomLb(w, false, 2, 9);
  for (let i = 0; i < 4000; i++) lbw.pick(new Req(), null)!.cur++;
  assert.ok(Math.abs(w[1]!.cur / 3 - w[0]!.cur) <= 20, `cur ${w[0]!.cur} / ${w[1]!.cur}`);
});

// ---------------------------------------------------------------------------
// backups

const ALL_ALGOS: [string, BalanceConfig][] = [
  ["roundrobin", cfg("roundrobin")],
  ["static-rr", cfg("static-rr")],
  ["leastconn", cfg("leastconn")],
  ["first", cfg("first")],
  ["random", cfg("random")],
  ["source map-based", cfg("source")],
  ["source consistent", cfg("source", [], "consistent")],
  ["uri consistent", cfg("uri", [], "consistent")],
  ["hdr map-based", cfg("hdr", ["x-k"])],
];

/** A request that varies with i (source, URI, header). */
function varied(req: Req, i: number): Req {
  req.src = ip4(i);
  req.uri = `/k/${i}`;
  req.headers.set("x-k", `k${i}`);
  return req;
}

for (const [name, c] of ALL_ALGOS) {
  Deno.test(`edge ${name}: backups only when every active is down (not full); allbackups spreads`, () => {
    const list = servers([1, 1], [1, 2, 0]);
    const lb = lbOf(c, list);
    const req = new Req();
    // Connections are held during a round (leastconn, random look at them).
    const used = (l: LoadBalancer, n = 300) => {
      const s = new Set<string>();
      const held: LbServer[] = [];
      for (let i = 0; i < n; i++) {
        const p = l.pick(varied(req, i), null);
        s.add(p?.name ?? "null");
        if (p !== null) {
          p.cur++;
          held.push(p);
        }
      }
      for (const p of held) p.cur--;
      return [...s].sort().join(",");
    };
    assert.equal(used(lb), name === "first" ? "s0" : "s0,s1");
    // Full actives queue, they do not spill to backups.
    for (const s of list.slice(0, 2)) {
      s.maxconn = 1;
      s.cur = 1;
    }
    assert.equal(lb.pick(req, null), null);
    assert.equal(lb.allFull, true);
    for (const s of list.slice(0, 2)) s.cur = s.maxconn = 0;
    // One active down: still no backup.
    list[0]!.usable = false;
    lb.update();
    assert.equal(used(lb), "s1");
    // Weight 0 counts as not usable for the backup decision (drain).
    list[1]!.weight = 0;
    lb.update();
    assert.equal(used(lb), "b2");
    list[1]!.weight = 1;
    list[1]!.usable = false;
    lb.update();
    assert.equal(used(lb), "b2", "the first backup only");
    list[2]!.usable = false;
    lb.update();
    assert.equal(used(lb), "b3");
    list[2]!.usable = true;
    lb.update();
    // allbackups: every usable backup with weight > 0.
    const list2 = servers([1, 1], [1, 2, 0]);
    list2[0]!.usable = list2[1]!.usable = false;
    const lb2 = lbOf(c, list2, true);
    assert.equal(used(lb2), name === "first" ? "b2" : "b2,b3");
    // Actives come back: backups stop at once.
    list[0]!.usable = true;
    lb.update();
    list2[1]!.usable = true;
    lb2.update();
    assert.equal(used(lb), "s0");
    assert.equal(used(lb2), "s1");
  });

  Deno.test(`edge ${name}: servers going DOWN/UP during traffic (with and without update()) never throw nor starve anyone`, () => {
    const list = servers([1, 2, 3, 1, 2]);
    const lb = lbOf(c, list);
    const req = new Req();
    let seed = 42;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const got: Record<string, number> = {};
    for (let i = 0; i < 6000; i++) {
      if (i % 23 === 0) {
        const s = list[Math.floor(rnd() * list.length)]!;
        s.usable = !s.usable;
        if (list.every((x) => !x.usable)) s.usable = true;
        if (rnd() < 0.7) lb.update(); // sometimes the table is stale
      }
      const s = lb.pick(varied(req, i), null);
      if (s !== null) {
        assert.ok(s.usable && s.weight > 0, `${s.name} returned while unusable`);
        got[s.name] = (got[s.name] ?? 0) + 1;
        if (name === "leastconn" || name.startsWith("random")) {
          s.cur++;
          if (rnd() < 0.9) s.cur--;
        }
      }
    }
    for (const s of list) {
      if (name === "first") break;
      assert.ok((got[s.name] ?? 0) > 100, `${s.name} starved: ${JSON.stringify(got)}`);
    }
  });
}

// ---------------------------------------------------------------------------
// End to end: the value hdr() hashes.

// BUG: HAProxy's get_server_hh() takes the first *value* of the header
// (http_find_header(..., full=0) splits on commas), so "X-Fwd: 10.0.0.1,
// 192.168.0.N" hashes "10.0.0.1". Sluice's LbRequest.header() (stream.ts,
// `txn.req.headerValue()`) returns the whole line, so the same client behind
// different proxy chains lands on different servers.
Deno.test("edge e2e hdr(X-Fwd): a comma-separated header is hashed by its first value, as HAProxy", async () => {
  const srvs = nameServers(4);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: '    balance: "hdr(X-Fwd)"',
      servers: serverLines(srvs),
    }));
    const c = await HttpConn.open(proxy.port("fe"));
    try {
      const first = (await c.get("/x", ["x-fwd: 10.0.0.1"])).server;
      const got: string[] = [];
      for (let i = 0; i < 12; i++) {
        got.push(String((await c.get(`/x/${i}`, [`x-fwd: 10.0.0.1, 192.168.0.${i}`])).server));
      }
      assert.deepEqual(got, Array(12).fill(first), `first value 10.0.0.1 -> ${first}`);
    } finally {
      await c.close();
    }
  } finally {
    await proxy?.stop();
    await closeAll(srvs);
  }
});
