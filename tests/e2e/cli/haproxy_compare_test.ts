// The runtime API next to HAProxy 2.6's: the same commands sent to `haproxy`
// and to Sluice, on equivalent configurations (one HTTP frontend `fe`, one
// backend `be` with a checked server s1 and an unchecked s2), and compared
// where tools parse them: field names, column headers, line layouts, typed
// and JSON encodings, and the exact answers (messages, empty lines, prompt)
// of commands whose answer carries no value. Values (pids, counters, times)
// are not compared.

import assert from "node:assert/strict";
import { DEFAULT_DEADLINE_MS, withDeadline } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  closeAll,
  feBeConfig,
  type NameServer,
  nameServers,
  serverLines,
} from "../backends/_common.ts";
import { cli, parseCsv, tempSocket } from "./_cli.ts";
import { freePort, type HaproxyProcess, startHaproxyConfig } from "../../_helpers/haproxy.ts";

/** Starts `haproxy -db` on an equivalent configuration; resolves once it listens. */
function startHaproxy(sock: string, servers: NameServer[]): Promise<HaproxyProcess> {
  const port = freePort();
  return startHaproxyConfig(
    `global
  stats socket ${sock} mode 600 level admin
  maxconn 500
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
  option httpchk GET /health
  server s1 127.0.0.1:${servers[0]!.port} check inter 200
  server s2 127.0.0.1:${servers[1]!.port}
`,
    // HAProxy binds its stats socket with its listeners, before it serves any.
    [port],
    { deadlineMs: DEFAULT_DEADLINE_MS * 2 },
  );
}

interface Pair {
  hx: string;
  sl: string;
}

/** Runs the comparisons with HAProxy and Sluice up on equivalent configurations. */
async function withBoth(
  fn: (hx: string, sl: string, p: ProxyProcess) => Promise<void>,
): Promise<void> {
  const servers = nameServers(2);
  const hsock = await tempSocket(), ssock = await tempSocket();
  let hx: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  let proxy: ProxyProcess | undefined;
  try {
    hx = await startHaproxy(hsock.path, servers);
    proxy = await startProxy(
      feBeConfig({
        servers: serverLines(servers, (_s, i) => (i === 0 ? "check: true, inter: 200ms" : "")),
        backend: '    option: ["httpchk GET /health"]',
      }).replace(
        "global: { log: stdout }",
        `global:\n  log: stdout\n  maxconn: 500\n  stats: { socket: "${ssock.path}", mode: 600, level: admin }`,
      ),
    );
    await fn(hsock.path, ssock.path, proxy);
  } finally {
    await proxy?.stop();
    await hx?.stop();
    await closeAll(servers);
    await hsock.cleanup();
    await ssock.cleanup();
  }
}

async function both(hx: string, sl: string, cmd: string): Promise<Pair> {
  return { hx: await cli(hx, cmd), sl: await cli(sl, cmd) };
}

/** `name → tags:type` of `show ... typed` lines, keyed by what identifies a field. */
function typedSpecs(text: string, key: (head: string[]) => string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const f = /^([^:]+):([A-Za-z?]{3}):(\w+):/.exec(line);
    if (f === null) continue;
    m.set(key(f[1]!.split(".")), `${f[2]}:${f[3]}`);
  }
  return m;
}

Deno.test("runtime API vs HAProxy 2.6: the same field names, headers and encodings", async () => {
  await withBoth(async (hx, sl) => {
    // show info: the same keys in the same order, in all three encodings.
    let r = await both(hx, sl, "show info");
    const keys = (t: string) =>
      t.split("\n").filter((l) => l.includes(": ")).map((l) => l.slice(0, l.indexOf(": ")));
    assert.deepEqual(keys(r.sl), keys(r.hx));
    assert.ok(r.hx.endsWith("\n\n") && r.sl.endsWith("\n\n"));
    r = await both(hx, sl, "show info typed");
    const infoKey = (h: string[]) => h.slice(0, 2).join(".");
    assert.deepEqual([...typedSpecs(r.sl, infoKey)], [...typedSpecs(r.hx, infoKey)]);
    r = await both(hx, sl, "show info json");
    const hj = JSON.parse(r.hx), sj = JSON.parse(r.sl);
    assert.equal(sj.length, hj.length);
    sj.forEach((f: Record<string, unknown>, i: number) => {
      const h = hj[i];
      assert.deepEqual(Object.keys(f), Object.keys(h));
      assert.deepEqual(f.field, h.field);
      assert.deepEqual(f.tags, h.tags);
      assert.equal((f.value as { type: string }).type, h.value.type, String(h.field.name));
    });

    // show stat: Sluice's columns are HAProxy's first 77, in order.
    r = await both(hx, sl, "show stat");
    const hc = parseCsv(r.hx), sc = parseCsv(r.sl);
    assert.equal(sc.header.length, 77);
    assert.deepEqual(sc.header, hc.header.slice(0, 77));
    const kinds = (c: typeof hc) =>
      c.rows.map((m) => `${m.get("pxname")}/${m.get("svname")}/${m.get("type")}`);
    assert.deepEqual(kinds(sc), kinds(hc), "the same rows, in the same order");
    // typed: every field Sluice prints has HAProxy's tags and type for that object.
    r = await both(hx, sl, "show stat typed");
    const statKey = (h: string[]) => `${h[0]}.${h[4]}.${h[2] === "0" ? "px" : "sv"}`;
    const hs = typedSpecs(r.hx, statKey), ss = typedSpecs(r.sl, statKey);
    let compared = 0;
    for (const [k, v] of ss) {
      const h = hs.get(k);
      if (h === undefined) continue; // a field HAProxy leaves empty in this state
      assert.equal(v, h, k);
      compared++;
    }
    assert.ok(compared >= 60, `only ${compared} typed fields compared`);
    assert.match(r.sl, /^F\.\d+\.0\.0\.pxname\.1:KNS:str:fe$/m);
    // json: arrays of objects with HAProxy's keys, tags and types.
    r = await both(hx, sl, "show stat json");
    const hjs = JSON.parse(r.hx) as Record<string, unknown>[][];
    const sjs = JSON.parse(r.sl) as Record<string, unknown>[][];
    assert.equal(sjs.length, hjs.length);
    const jkey = (o: Record<string, unknown>) =>
      `${o.objType}.${(o.field as { name: string }).name}.${o.id === 0 ? "px" : "sv"}`;
    const hjm = new Map(hjs.flat().map((o) => [jkey(o), o]));
    let jcompared = 0;
    for (const o of sjs.flat()) {
      const h = hjm.get(jkey(o));
      if (h === undefined) continue;
      assert.deepEqual(Object.keys(o), Object.keys(h));
      assert.deepEqual(o.field, h.field);
      assert.deepEqual(o.tags, h.tags, jkey(o));
      assert.equal((o.value as { type: string }).type, (h.value as { type: string }).type, jkey(o));
      jcompared++;
    }
    assert.ok(jcompared >= 60, `only ${jcompared} json fields compared`);

    // show servers state: the same header, lines as wide, the same names and ports.
    r = await both(hx, sl, "show servers state");
    const hl = r.hx.split("\n"), sll = r.sl.split("\n");
    assert.equal(sll[0], hl[0], "version line");
    assert.equal(sll[1], hl[1], "header line");
    assert.equal(sll.length, hl.length);
    for (let i = 2; i < hl.length; i++) {
      const hf = hl[i]!.split(" "), sf = sll[i]!.split(" ");
      assert.equal(sf.length, hf.length, sll[i]);
      for (const col of [1, 2, 3, 4, 8, 18]) {
        assert.equal(sf[col], hf[col], `column ${col} of ${sll[i]}`);
      }
    }
    // show backend, show errors (header), show pools, show sess: the same layout.
    r = await both(hx, sl, "show backend");
    assert.equal(r.sl, r.hx);
    r = await both(hx, sl, "show errors");
    const errHead =
      /^Total events captured on \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] : \d+\n/;
    assert.match(r.hx, errHead);
    assert.match(r.sl, errHead);
    r = await both(hx, sl, "show pools");
    const pool =
      /^ {2}- Pool \S+ \(\d+ bytes\) : \d+ allocated \(\d+ bytes\), \d+ used \(~\d+ by thread caches\), needed_avg \d+, \d+ failures, \d+ users/m;
    const total = /^Total: \d+ pools, \d+ bytes allocated, \d+ used \(~\d+ by thread caches\)\.$/m;
    for (const t of [r.hx, r.sl]) {
      assert.match(t, pool);
      assert.match(t, total);
    }
    // show sess: HAProxy lists its own CLI session; Sluice's lines use the same
    // leading keys in the same order (a keep-alive client makes one).
    const hxSess = (await cli(hx, "show sess")).split("\n")[0]!;
    const sessKeys = (l: string) => [...l.matchAll(/ (\w+)=/g)].map((m) => m[1]!);
    assert.match(hxSess, /^0x[0-9a-f]+: proto=/);
    const hk = sessKeys(hxSess);
    assert.deepEqual(hk.slice(0, 5), ["proto", "src", "fe", "be", "srv"]);
  });
});

Deno.test("runtime API vs HAProxy 2.6: byte-identical answers to commands without values", async () => {
  await withBoth(async (hx, sl, p) => {
    const sess = await (async () => {
      // A Sluice session for `show sess` to list.
      const c = await Deno.connect({ hostname: "127.0.0.1", port: p.port("fe") });
      await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n"));
      return c;
    })();
    try {
      const sLine = await withDeadline(
        async () => {
          for (let i = 0; i < 100; i++) {
            const l = (await cli(sl, "show sess")).split("\n")[0]!;
            if (l.startsWith("0x")) return l;
            await new Promise((r) => setTimeout(r, 20));
          }
          throw new Error("no session listed");
        },
        DEFAULT_DEADLINE_MS,
        "a session in show sess",
      );
      const keys = [...sLine.matchAll(/ (\w+)=/g)].map((m) => m[1]!);
      assert.deepEqual(keys.slice(0, 5), ["proto", "src", "fe", "be", "srv"]);
    } finally {
      sess.close();
    }
    const cmds = [
      "set server be/s2 state foo",
      "set server be/zz state ready",
      "set server zz/s1 state ready",
      "set server be/s2 weight 300",
      "set server be/s2 health meh",
      "set server be/s2 state drain",
      "set server be/s2 state maint",
      "set server be/s2 state ready",
      "set server be/s2 weight 50%",
      "set server be/s2 weight 1",
      "set server be/s2 addr bad",
      "set server be/s2 addr 127.0.0.2",
      "set server be/s2 addr 127.0.0.1",
      "set maxconn frontend zz 5",
      "set maxconn frontend fe 100",
      "set maxconn server be/s1 100",
      "set maxconn global 99999",
      "set maxconn global 400",
      "shutdown session",
      "shutdown sessions server be/s2",
      "clear counters",
      "clear counters all",
      "show servers state zz",
      "disable health be/s1",
      "enable health be/s1",
      "disable server be/s2",
      "enable server be/s2",
      "add server be/s2 127.0.0.1:1",
      "add server be/d1 127.0.0.1:1",
      "del server be/s1",
      "del server be/d1",
      "del server be/d1",
      "show cli level",
      "show backend;show backend",
      "prompt\nshow backend\nquit",
      "user;set server be/s1 state maint;show cli level",
      "operator;clear counters all",
    ];
    for (const cmd of cmds) {
      const r = await both(hx, sl, cmd);
      assert.equal(JSON.stringify(r.sl), JSON.stringify(r.hx), cmd);
    }
    // help: each command both know is listed with the same usage column.
    const r = await both(hx, sl, "help");
    assert.equal(r.sl.split("\n")[0], r.hx.split("\n")[0]);
    const hxLines = new Set(r.hx.split("\n").map((l) => l.slice(0, 44)));
    let same = 0;
    for (const l of r.sl.split("\n").slice(1)) if (l !== "" && hxLines.has(l.slice(0, 44))) same++;
    assert.ok(same >= 24, `only ${same} help lines laid out as HAProxy's`);
  });
});
