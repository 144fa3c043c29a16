// The conformance suite every balancing algorithm runs (the Hono model: one
// interface, one shared suite). Each case builds its balancer through
// createLoadBalancer() exactly as a backend does, and every behaviour below is
// checked for every case: eligibility (usable, weight, maxconn), null and
// allFull, backups and allbackups, `avoid`, update() after changes, and a
// seeded fuzz run that checks the invariants after random changes.

import assert from "node:assert/strict";
import type { BalanceConfig } from "../../src/config/types.ts";
import { createLoadBalancer } from "../_helpers/balance.ts";
import type { LbRequest, LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";
import { prng } from "../_helpers/fuzz.ts";

/** A plain LbServer for tests. */
class TestServer implements LbServer {
  readonly id: number;
  readonly name: string;
  weight: number;
  usable: boolean;
  readonly backup: boolean;
  cur: number;
  maxconn: number;

  constructor(id: number, weight = 1, backup = false) {
    this.id = id;
    this.name = `s${id}`;
    this.weight = weight;
    this.usable = true;
    this.backup = backup;
    this.cur = 0;
    this.maxconn = 0;
  }
}

/** A reusable request whose fields the cases vary per pick. */
class TestRequest implements LbRequest {
  src = "127.0.0.1";
  uri: string | null = "/";
  key: string | null = null;

  header(name: string): string | null {
    return name.toLowerCase() === "x-key" ? this.key : null;
  }

  /** Makes request number i: distinct source, URI, url parameter and header. */
  set(i: number): this {
    this.src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    this.uri = `/p/${i}?id=${i}&x=1`;
    this.key = `k${i}`;
    return this;
  }
}

interface Case {
  name: string;
  cfg: BalanceConfig;
}

const CASES: Case[] = [
  { name: "roundrobin", cfg: { algo: "roundrobin", args: [], hashType: "map-based" } },
  { name: "static-rr", cfg: { algo: "static-rr", args: [], hashType: "map-based" } },
  { name: "leastconn", cfg: { algo: "leastconn", args: [], hashType: "map-based" } },
  { name: "first", cfg: { algo: "first", args: [], hashType: "map-based" } },
  { name: "random", cfg: { algo: "random", args: [], hashType: "map-based" } },
  { name: "random(3)", cfg: { algo: "random", args: ["3"], hashType: "map-based" } },
  { name: "source map-based", cfg: { algo: "source", args: [], hashType: "map-based" } },
  { name: "source consistent", cfg: { algo: "source", args: [], hashType: "consistent" } },
  { name: "uri map-based", cfg: { algo: "uri", args: [], hashType: "map-based" } },
  {
    name: "uri consistent whole",
    cfg: { algo: "uri", args: ["whole"], hashType: "consistent" },
  },
  { name: "url_param map-based", cfg: { algo: "url_param", args: ["id"], hashType: "map-based" } },
  {
    name: "url_param consistent",
    cfg: { algo: "url_param", args: ["id"], hashType: "consistent" },
  },
  { name: "hdr map-based", cfg: { algo: "hdr", args: ["X-Key"], hashType: "map-based" } },
  { name: "hdr consistent", cfg: { algo: "hdr", args: ["X-Key"], hashType: "consistent" } },
];

/** Active servers 0..nActive-1 then backups, all weight 1. */
function makeServers(nActive: number, nBackup = 0): TestServer[] {
  const out: TestServer[] = [];
  for (let i = 0; i < nActive; i++) out.push(new TestServer(i));
  for (let i = 0; i < nBackup; i++) out.push(new TestServer(nActive + i, 1, true));
  return out;
}

/** Picks for request i and, when a server is returned, takes a connection on it. */
function take(lb: LoadBalancer, req: TestRequest, i: number): LbServer | null {
  const s = lb.pick(req.set(i), null);
  if (s !== null) {
    s.cur++;
    lb.onTake(s);
  }
  return s;
}

/** Ends one connection on s. */
function release(lb: LoadBalancer, s: LbServer): void {
  s.cur--;
  lb.onRelease(s);
}

for (const c of CASES) {
  const make = (servers: TestServer[], allbackups = false) =>
    createLoadBalancer(c.cfg, servers, { allbackups });

  Deno.test(`${c.name}: never picks an unusable, weight-0 or full server`, () => {
    const servers = makeServers(6);
    servers[0]!.usable = false;
    servers[1]!.weight = 0;
    servers[2]!.maxconn = 2;
    servers[2]!.cur = 2;
    const lb = make(servers);
    const req = new TestRequest();
    const ok = new Set<LbServer>([servers[3]!, servers[4]!, servers[5]!]);
    for (let i = 0; i < 600; i++) {
      const s = lb.pick(req.set(i), null);
      assert.ok(s !== null && ok.has(s), `pick ${i} returned ${s?.name}`);
      assert.equal(lb.allFull, false);
    }
    // Stale table: a server goes down without update(); it must still never be picked.
    servers[3]!.usable = false;
    for (let i = 0; i < 300; i++) {
      const s = lb.pick(req.set(i), null);
      assert.ok(s === servers[4] || s === servers[5], `stale pick ${i} returned ${s?.name}`);
    }
  });

  Deno.test(`${c.name}: returns null when no server is usable`, () => {
    const req = new TestRequest();
    const empty = make([]);
    assert.equal(empty.pick(req.set(1), null), null);
    assert.equal(empty.allFull, false);

    const servers = makeServers(3, 1);
    const lb = make(servers);
    for (const s of servers) s.usable = false;
    lb.update();
    for (let i = 0; i < 20; i++) {
      assert.equal(lb.pick(req.set(i), null), null);
      assert.equal(lb.allFull, false);
    }
    for (const s of servers) {
      s.usable = true;
      s.weight = 0;
    }
    lb.update();
    assert.equal(lb.pick(req.set(1), null), null);
    assert.equal(lb.allFull, false);
  });

  Deno.test(`${c.name}: all usable servers full gives null with allFull, until a slot frees`, () => {
    const servers = makeServers(3);
    for (const s of servers) s.maxconn = 1;
    const lb = make(servers);
    const req = new TestRequest();
    const got = new Set<LbServer>();
    for (let i = 0; i < 3; i++) {
      const s = take(lb, req, i);
      assert.ok(s !== null);
      got.add(s);
    }
    assert.equal(got.size, 3, "each server takes one connection before any is refused");
    assert.equal(take(lb, req, 3), null);
    assert.equal(lb.allFull, true);
    release(lb, servers[1]!);
    assert.equal(lb.pick(req.set(4), null), servers[1]);
    assert.equal(lb.allFull, false);
  });

  Deno.test(`${c.name}: uses the first backup only when no active server is usable`, () => {
    const servers = makeServers(2, 3);
    const lb = make(servers);
    const req = new TestRequest();
    for (let i = 0; i < 200; i++) assert.ok(!lb.pick(req.set(i), null)!.backup);
    // Full active servers do not send traffic to backups: the request waits.
    for (const s of servers.slice(0, 2)) {
      s.maxconn = 1;
      s.cur = 1;
    }
    assert.equal(lb.pick(req.set(1), null), null);
    assert.equal(lb.allFull, true);
    for (const s of servers.slice(0, 2)) {
      s.maxconn = 0;
      s.cur = 0;
    }

    servers[0]!.usable = false;
    servers[1]!.weight = 0;
    lb.update();
    for (let i = 0; i < 200; i++) assert.equal(lb.pick(req.set(i), null), servers[2]);

    servers[2]!.usable = false;
    lb.update();
    for (let i = 0; i < 200; i++) assert.equal(lb.pick(req.set(i), null), servers[3]);

    // Only the first backup is used: when it is full, the request waits.
    servers[3]!.maxconn = 1;
    servers[3]!.cur = 1;
    assert.equal(lb.pick(req.set(1), null), null);
    assert.equal(lb.allFull, true);
    servers[3]!.cur = 0;

    servers[0]!.usable = true;
    lb.update();
    for (let i = 0; i < 200; i++) assert.equal(lb.pick(req.set(i), null), servers[0]);
  });

  Deno.test(`${c.name}: allbackups balances among all usable backups`, () => {
    const servers = makeServers(1, 3);
    servers[0]!.usable = false;
    for (const s of servers) s.maxconn = 1;
    const lb = make(servers, true);
    const req = new TestRequest();
    const got = new Set<LbServer>();
    for (let i = 0; i < 3; i++) {
      const s = take(lb, req, i);
      assert.ok(s !== null && s.backup);
      got.add(s);
    }
    assert.equal(got.size, 3);
    assert.equal(take(lb, req, 3), null);
    assert.equal(lb.allFull, true);
  });

  Deno.test(`${c.name}: honours avoid when another server can take it`, () => {
    const servers = makeServers(4);
    const lb = make(servers);
    const req = new TestRequest();
    for (let i = 0; i < 300; i++) {
      const first = lb.pick(req.set(i), null)!;
      const other = lb.pick(req, first);
      assert.ok(other !== null && other !== first, `request ${i}: avoid ${first.name}`);
    }
    // With two servers left, avoiding one always gives the other.
    servers[2]!.usable = false;
    servers[3]!.usable = false;
    lb.update();
    for (let i = 0; i < 100; i++) {
      assert.equal(lb.pick(req.set(i), servers[0]!), servers[1]);
      assert.equal(lb.pick(req.set(i), servers[1]!), servers[0]);
    }
    servers[2]!.usable = true;
    servers[3]!.usable = true;
    // The avoided server is still returned when it is the only one that can take it.
    servers[1]!.maxconn = 1;
    servers[1]!.cur = 1;
    servers[2]!.usable = false;
    servers[3]!.weight = 0;
    lb.update();
    for (let i = 0; i < 50; i++) {
      assert.equal(lb.pick(req.set(i), servers[0]!), servers[0]);
      assert.equal(lb.allFull, false);
    }
    // An avoided server that is full is not returned.
    servers[0]!.maxconn = 1;
    servers[0]!.cur = 1;
    assert.equal(lb.pick(req.set(1), servers[0]!), null);
    assert.equal(lb.allFull, true);
  });

  Deno.test(`${c.name}: update() after a weight change or a server down takes effect`, () => {
    const servers = makeServers(3);
    const lb = make(servers);
    const req = new TestRequest();
    const target = servers[0]!;
    const seen = (n: number): boolean => {
      for (let i = 0; i < n; i++) if (lb.pick(req.set(i), null) === target) return true;
      return false;
    };
    assert.ok(seen(300));
    target.weight = 0;
    lb.update();
    assert.ok(!seen(300), "weight 0 takes no new traffic");
    target.weight = 1;
    lb.update();
    assert.ok(seen(300), "weight restored");
    target.usable = false;
    lb.update();
    assert.ok(!seen(300), "down server takes no traffic");
    target.usable = true;
    lb.update();
    assert.ok(seen(300), "server back up");
  });

  Deno.test(`${c.name}: random changes and many picks never break the invariants`, () => {
    const r = prng(0x5eed);
    const servers = makeServers(6, 2);
    const lb = make(servers, r() < 0.5);
    const req = new TestRequest();
    const held: LbServer[] = [];
    let picked = 0;
    for (let i = 0; i < 4000; i++) {
      const x = r();
      if (x < 0.1) {
        const s = servers[Math.floor(r() * servers.length)]!;
        const what = r();
        if (what < 0.4) s.usable = !s.usable;
        else if (what < 0.8) s.weight = Math.floor(r() * 4);
        else s.maxconn = Math.floor(r() * 4);
        if (r() < 0.5) lb.update();
      } else if (x < 0.4 && held.length > 0) {
        const k = Math.floor(r() * held.length);
        const s = held[k]!;
        held[k] = held[held.length - 1]!;
        held.pop();
        release(lb, s);
      } else {
        const avoid = r() < 0.2 ? servers[Math.floor(r() * servers.length)]! : null;
        const s = lb.pick(req.set(Math.floor(r() * 1000)), avoid);
        if (s === null) continue;
        assert.equal(lb.allFull, false);
        assert.ok(s.usable, `picked unusable ${s.name}`);
        assert.ok(s.weight > 0, `picked weight-0 ${s.name}`);
        assert.ok(s.maxconn === 0 || s.cur < s.maxconn, `picked full ${s.name}`);
        picked++;
        s.cur++;
        lb.onTake(s);
        held.push(s);
      }
    }
    assert.ok(picked > 500, `only ${picked} successful picks`);
  });
}
