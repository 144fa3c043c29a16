// Statistics counters checked against real traffic: sessions per frontend,
// backend and server on keep-alive connections, bytes equal to the bytes on
// the client's wire, HTTP responses by class (proxy-generated errors counted
// at the frontend and backend, not at the server), denied requests and
// responses, connection errors and retries; the CSV header is HAProxy's;
// Prometheus counters never go down between scrapes.
// A separate stats frontend `st` keeps stats requests out of `fe`'s counters.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { HttpConn } from "../backends/_common.ts";
import { parseExposition } from "./_exposition.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** An origin: `/close*` closes without answering, `/rdeny*` answers 201, else 200 "ok". */
class RawOrigin {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly port = (this.listener.addr as Deno.NetAddr).port;
  #conns = new Set<Deno.Conn>();
  #loop: Promise<void>;
  constructor() {
    this.#loop = this.#accept();
  }
  async #accept(): Promise<void> {
    try {
      for await (const c of this.listener) {
        this.#conns.add(c);
        this.#serve(c).finally(() => this.#conns.delete(c));
      }
    } catch { /* closed */ }
  }
  async #serve(c: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(16384);
    let pending = "";
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        pending += td.decode(buf.subarray(0, n));
        let end;
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
          const head = pending.slice(0, end);
          pending = pending.slice(end + 4);
          const path = head.split(" ")[1] ?? "/";
          if (path.startsWith("/close")) {
            c.close();
            return;
          }
          const st = path.startsWith("/rdeny") ? "201 Created" : "200 OK";
          await c.write(te.encode(`HTTP/1.1 ${st}\r\ncontent-length: 2\r\n\r\nok`));
        }
      }
    } catch { /* reset */ }
    try {
      c.close();
    } catch { /* already */ }
  }
  async close(): Promise<void> {
    this.listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already */ }
    }
    await this.#loop;
  }
}

/** A port nothing listens on. */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

function config(origin: number, dead: number): string {
  return `
global: { maxconn: 100 }
defaults:
  mode: http
  timeout: { connect: 500ms, client: 10s, server: 10s, http-request: 5s, http-keep-alive: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request:
      - "deny if { path_beg /fedeny }"
    use_backend:
      - "bad if { path_beg /bad }"
    default_backend: be
  st:
    bind: "127.0.0.1:0"
    stats: { uri: /stats, prometheus: /metrics }
    default_backend: be
backends:
  be:
    http-request:
      - "deny if { path_beg /bedeny }"
    http-response:
      - "deny if { status 201 }"
    servers:
      - { name: o1, address: "127.0.0.1:${origin}" }
  bad:
    retries: 2
    servers:
      - { name: dead, address: "127.0.0.1:${dead}" }
`;
}

type Csv = Map<string, Record<string, string>>;

async function get(port: number, path: string): Promise<string> {
  const c = await HttpConn.open(port);
  try {
    const r = await c.get(path, ["connection: close"]);
    assert.equal(r.status, 200, r.body);
    return r.body;
  } finally {
    await c.close();
  }
}

/** `;csv` as rows keyed "pxname/svname", each a field → value record. */
async function csv(st: number): Promise<{ header: string[]; rows: Csv }> {
  const lines = (await get(st, "/stats;csv")).split("\n").filter((l) => l !== "");
  const header = lines[0]!.replace(/^# /, "").split(",");
  const rows: Csv = new Map();
  for (const l of lines.slice(1)) {
    const v = l.split(",");
    const rec: Record<string, string> = {};
    header.forEach((h, i) => {
      if (h !== "") rec[h] = v[i] ?? "";
    });
    rows.set(`${rec.pxname}/${rec.svname}`, rec);
  }
  return { header, rows };
}

function num(rows: Csv, key: string, field: string): number {
  const r = rows.get(key);
  assert.ok(r !== undefined, `no row ${key}`);
  return Number(r[field] || "0");
}

/** Field deltas between two CSV snapshots, for the given rows and fields. */
function delta(a: Csv, b: Csv, keys: string[], fields: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) for (const f of fields) out[`${k}.${f}`] = num(b, k, f) - num(a, k, f);
  return out;
}

async function withProxy(
  body: (fe: number, st: number) => Promise<void>,
): Promise<void> {
  const origin = new RawOrigin();
  const proxy = await startProxy(config(origin.port, deadPort()));
  try {
    await body(proxy.port("fe"), proxy.port("st"));
  } finally {
    await proxy.stop();
    await origin.close();
  }
}

/** Sends raw bytes on a new connection and reads to EOF; returns the bytes received. */
async function rawExchange(port: number, req: string): Promise<Uint8Array> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(te.encode(req));
    const parts: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  } finally {
    c.close();
  }
}

const FE = "fe/FRONTEND", BE = "be/BACKEND", O1 = "be/o1";

// HAProxy 2.6's `;csv` header, fields 0..76 (captured from `haproxy -db`).
const HAPROXY_HEADER =
  "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis," +
  "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot," +
  "tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx," +
  "hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt," +
  "srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime," +
  "ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall," +
  "check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo";

Deno.test("stats edge (guard): the CSV header is HAProxy's fields 0..76, every row as wide", async () => {
  await withProxy(async (_fe, st) => {
    const text = await get(st, "/stats;csv");
    const lines = text.split("\n").filter((l) => l !== "");
    assert.equal(lines[0], "# " + HAPROXY_HEADER + ",");
    for (const l of lines.slice(1)) assert.equal(l.split(",").length, 78, l);
    const { rows } = await csv(st);
    assert.equal(rows.get(FE)!.type, "0");
    assert.equal(rows.get(BE)!.type, "1");
    assert.equal(rows.get(O1)!.type, "2");
    assert.equal(rows.get(O1)!.status, "UP");
  });
});

Deno.test("stats edge (guard): bytes in/out of a frontend equal the bytes on the client's wire", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const req = "GET /bytes HTTP/1.1\r\nhost: x\r\nx-pad: " + "p".repeat(300) +
      "\r\nconnection: close\r\n\r\n";
    const got = await rawExchange(fe, req);
    assert.match(td.decode(got), /^HTTP\/1\.1 200/);
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE], ["bin", "bout", "stot"]), {
      "fe/FRONTEND.bin": req.length,
      "fe/FRONTEND.bout": got.length,
      "fe/FRONTEND.stot": 1,
    });
    assert.equal(num(b, BE, "bin") - num(a, BE, "bin"), req.length);
    assert.equal(num(b, O1, "bout") - num(a, O1, "bout"), got.length);
  });
});

Deno.test("stats edge: keep-alive requests are counted per request at the backend and server (HAProxy: a stream per request)", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await c.get(`/ka/${i}`)).status, 200);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(
      delta(a, b, [FE, BE, O1], ["stot", "hrsp_2xx"]),
      {
        "fe/FRONTEND.stot": 1,
        "fe/FRONTEND.hrsp_2xx": 3,
        "be/BACKEND.stot": 3,
        "be/BACKEND.hrsp_2xx": 3,
        "be/o1.stot": 3,
        "be/o1.hrsp_2xx": 3,
      },
    );
    assert.equal(num(b, FE, "req_tot") - num(a, FE, "req_tot"), 3);
  });
});

Deno.test("stats edge: a proxy-generated 502 counts at frontend and backend, not in the server's hrsp_5xx", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/close", ["connection: close"])).status, 502);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE, O1], ["hrsp_5xx"]), {
      "fe/FRONTEND.hrsp_5xx": 1,
      "be/BACKEND.hrsp_5xx": 1,
      "be/o1.hrsp_5xx": 0,
    });
    assert.equal(num(b, O1, "eresp") - num(a, O1, "eresp"), 1);
  });
});

Deno.test("stats edge: an http-request deny in the backend counts in the backend's dreq", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/bedeny", ["connection: close"])).status, 403);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE], ["dreq", "hrsp_4xx"]), {
      "fe/FRONTEND.dreq": 1,
      "fe/FRONTEND.hrsp_4xx": 1,
      "be/BACKEND.dreq": 1,
      "be/BACKEND.hrsp_4xx": 1,
    });
  });
});

Deno.test("stats edge (guard): an http-request deny in the frontend counts in its dreq and 4xx", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/fedeny", ["connection: close"])).status, 403);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE], ["dreq", "hrsp_4xx"]), {
      "fe/FRONTEND.dreq": 1,
      "fe/FRONTEND.hrsp_4xx": 1,
      "be/BACKEND.dreq": 0,
      "be/BACKEND.hrsp_4xx": 0,
    });
  });
});

Deno.test("stats edge: an http-response deny counts in dresp (frontend, backend, server), not in dreq", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/rdeny", ["connection: close"])).status, 502);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE, BE, O1], ["dreq", "dresp"]), {
      "fe/FRONTEND.dreq": 0,
      "fe/FRONTEND.dresp": 1,
      "be/BACKEND.dreq": 0,
      "be/BACKEND.dresp": 1,
      "be/o1.dreq": 0,
      "be/o1.dresp": 1,
    });
  });
});

Deno.test("stats edge: a 503 after failed connects to a dead server counts at the backend, not in the server's hrsp_5xx (retries, econ guarded)", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      assert.equal((await c.get("/bad", ["connection: close"])).status, 503);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    const d = delta(a, b, ["bad/BACKEND", "bad/dead"], ["econ", "wretr", "hrsp_5xx"]);
    assert.equal(d["bad/BACKEND.wretr"], 2, JSON.stringify(d));
    assert.equal(d["bad/dead.wretr"], 2, JSON.stringify(d));
    assert.ok(d["bad/BACKEND.econ"]! >= 1, JSON.stringify(d));
    assert.equal(d["bad/BACKEND.hrsp_5xx"], 1, JSON.stringify(d));
    assert.equal(d["bad/dead.hrsp_5xx"], 0, JSON.stringify(d));
  });
});

Deno.test("stats edge (guard): Prometheus counters never decrease across scrapes; no duplicate series; TYPEs", async () => {
  await withProxy(async (fe, st) => {
    const scrape = async () => {
      const text = await get(st, "/metrics");
      const fams = parseExposition(text);
      const m = new Map<string, { type: string; v: number }>();
      for (const [name, f] of fams) {
        for (const s of f.samples) {
          const k = name + JSON.stringify(Object.entries(s.labels).sort());
          assert.ok(!m.has(k), `duplicate ${k}`);
          m.set(k, { type: f.type, v: s.value });
        }
      }
      return { fams, m };
    };
    const one = await scrape();
    for (const p of ["/x", "/close", "/bedeny", "/rdeny", "/bad"]) {
      const c = await HttpConn.open(fe);
      try {
        await c.get(p, ["connection: close"]);
      } finally {
        await c.close();
      }
    }
    const two = await scrape();
    for (const [k, { type, v }] of one.m) {
      const now = two.m.get(k);
      assert.ok(now !== undefined, `series ${k} vanished`);
      if (type === "counter") assert.ok(now.v >= v, `${k} went down: ${v} → ${now.v}`);
    }
    for (const [name, f] of two.fams) {
      assert.equal(f.type === "counter", name.endsWith("_total"), `${name}: ${f.type}`);
    }
    assert.equal(
      two.m.get('sluice_frontend_sessions_total[["proxy","fe"]]')!.v -
        one.m.get('sluice_frontend_sessions_total[["proxy","fe"]]')!.v,
      5,
    );
  });
});
