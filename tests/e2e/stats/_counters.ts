// Set-up shared by the stats counter tests: a raw origin whose answer is
// chosen by the path, a proxy with a stats frontend in front of it and of a
// dead server, CSV scraping with per-row accessors and deltas, and a raw
// HTTP exchange. A separate stats frontend `st` keeps stats requests out of
// `fe`'s counters.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { HttpConn } from "../backends/_common.ts";
import { td, te } from "../../_helpers/client.ts";
import { deadPort } from "../../_helpers/servers.ts";

/** An origin: `/close*` closes without answering, `/rdeny*` answers 201, else 200 "ok". */
export class RawOrigin {
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

export function config(origin: number, dead: number): string {
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

export type Csv = Map<string, Record<string, string>>;

export async function get(port: number, path: string): Promise<string> {
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
export async function csv(st: number): Promise<{ header: string[]; rows: Csv }> {
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

export function num(rows: Csv, key: string, field: string): number {
  const r = rows.get(key);
  assert.ok(r !== undefined, `no row ${key}`);
  return Number(r[field] || "0");
}

/** Field deltas between two CSV snapshots, for the given rows and fields. */
export function delta(a: Csv, b: Csv, keys: string[], fields: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) for (const f of fields) out[`${k}.${f}`] = num(b, k, f) - num(a, k, f);
  return out;
}

export async function withProxy(
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

export const FE = "fe/FRONTEND", BE = "be/BACKEND", O1 = "be/o1";
