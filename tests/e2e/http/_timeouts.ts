// Set-up shared by the HTTP timeout, queue and accounting tests: a proxy
// with given timeouts and server options, its stats snapshot (counters per
// frontend, backend and server), and a recognisable body.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { te, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { ByteReader, connectHttp, get, latin1 } from "./_http.ts";

export interface Cfg {
  /** The `timeout` map of `defaults` (YAML flow map body). */
  timeouts: string;
  /** Server lines (`{ name: ..., address: ... }` bodies). */
  servers: string[];
  /** Extra backend lines (4-space indented). */
  backendExtra?: string;
}

/** A proxy with frontend `fe` → backend `be`, and a stats frontend `st` (/stats, /metrics). */
export function proxyFor(c: Cfg): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  option: [httplog]
  timeout: { ${c.timeouts} }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
  st:
    bind: "127.0.0.1:0"
    default_backend: be
    stats: { uri: /stats, prometheus: /metrics }
backends:
  be:
    balance: roundrobin
${c.backendExtra ?? ""}
    servers:
${c.servers.map((s) => `      - { ${s} }`).join("\n")}
`);
}

export interface Counts {
  "1xx": number;
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
  other: number;
}

export interface SnapServer {
  name: string;
  curSessions: number;
  queueCur: number;
  connErrors: number;
  respErrors: number;
  retries: number;
  redispatches: number;
  httpResponses: Counts;
}

export interface SnapBackend extends Omit<SnapServer, "name"> {
  name: string;
  failedNoServer: number;
  servers: SnapServer[];
}

export interface Snap {
  frontends: Array<{ name: string; httpRequests: number; httpResponses: Counts }>;
  backends: SnapBackend[];
}

/** The JSON snapshot, fetched through the stats frontend (the `fe` counters stay untouched). */
export async function stats(proxy: ProxyProcess): Promise<Snap> {
  const c = await connectHttp(proxy.port("st"));
  try {
    const r = await c.request(get("/stats;json", ["Connection: close"]), "GET", 3000);
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text) as Snap;
  } finally {
    c.close();
  }
}

export function fe(s: Snap) {
  return s.frontends.find((f) => f.name === "fe")!;
}

export function be(s: Snap): SnapBackend {
  return s.backends.find((b) => b.name === "be")!;
}

/** A body of `n` bytes with a recognisable pattern. */
export function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (i * 7 + (i >> 10)) % 26;
  return b;
}

/** A server that answers /slow only once `release()` is called, and anything else at once. */
export function gatedServer() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const seen: string[] = [];
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    for (;;) {
      const head = await rd.readHead().catch(() => null);
      if (head === null) return;
      const text = latin1(head);
      const target = text.split(" ")[1] ?? "";
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      const body = cl !== null ? latin1(await rd.readN(Number(cl[1]))) : "";
      seen.push(`${text.split(" ")[0]} ${target} ${body}`.trim());
      if (target === "/slow") await gate;
      const b = `srv ${target} ${body}`.trim();
      await writeFull(
        conn,
        te.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n\r\n${b}`),
      );
    }
  });
  return { port: loop.port, seen, release: () => open(), close: () => loop.close() };
}
