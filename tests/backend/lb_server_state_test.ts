// Every algorithm with backups and servers changing state: backups take
// traffic only when every active server is down (not merely full),
// allbackups spreads over them, and servers going DOWN/UP during traffic
// never make a pick throw nor starve anyone.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import type { BalanceConfig } from "../../src/config/types.ts";
import type { LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";
import { cfg, ip4, lbOf, Req, servers } from "./_lb_common.ts";

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
  Deno.test(`${name}: backups only when every active is down (not full); allbackups spreads`, () => {
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

  Deno.test(`${name}: servers going DOWN/UP during traffic (with and without update()) never throw nor starve anyone`, () => {
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
