// Set-up shared by the tunnel tests (WebSocket Upgrade answered 101, CONNECT
// answered 2xx): the proxy configuration with tunnel timeouts, the requests
// and replies that open a tunnel, a scripted tunnel server, and a client
// whose tunnel is open.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { concat, latin1, readAll, te, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { ByteReader, connectHttp, type HttpClient } from "./_http.ts";
import { within } from "./_bytes.ts";

/** Reads until EOF or reset from a ByteReader (what it read ahead included). */
export async function drain(rd: ByteReader): Promise<{ data: Uint8Array; end: "eof" | "reset" }> {
  const parts: Uint8Array[] = [];
  if (rd.pending > 0) parts.push(await rd.readN(rd.pending));
  if (rd.eof) return { data: concat(parts), end: "eof" };
  const r = await readAll(rd.conn, 15_000);
  parts.push(r.data);
  return { data: concat(parts), end: r.end };
}

export interface T {
  client?: string;
  server?: string;
  tunnel?: string;
  clientFin?: string;
  serverFin?: string;
}

export function proxyFor(port: number, t: T = {}): Promise<ProxyProcess> {
  const extra = [
    t.tunnel !== undefined ? `tunnel: ${t.tunnel}` : "",
    t.clientFin !== undefined ? `client-fin: ${t.clientFin}` : "",
    t.serverFin !== undefined ? `server-fin: ${t.serverFin}` : "",
  ].filter((s) => s !== "").map((s) => ", " + s).join("");
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: ${t.client ?? "5s"}, server: ${
    t.server ?? "5s"
  }, http-request: 2s, http-keep-alive: 2s${extra} }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${port}" }
`);
}

export const CONNECT_REQ = "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n";

export const UPGRADE_REQ =
  "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

export const OK_200 = "HTTP/1.1 200 Connection established\r\n\r\n";

export const SWITCH_101 =
  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

/**
 * A server that reads one head, answers `reply`, then hands the tunnel to
 * `tunnel(conn, reader)`. `done` resolves with what the handler returns.
 */
export function tunnelServer<R>(
  reply: string,
  tunnel: (conn: Deno.TcpConn, rd: ByteReader) => Promise<R>,
): { loop: AcceptLoop; done: Promise<R> } {
  let resolve!: (r: R) => void, reject!: (e: unknown) => void;
  const done = new Promise<R>((a, b) => {
    resolve = a;
    reject = b;
  });
  const loop = new AcceptLoop(async (conn) => {
    try {
      const rd = new ByteReader(conn);
      await rd.readHead();
      await writeFull(conn, te.encode(reply));
      resolve(await tunnel(conn, rd));
    } catch (e) {
      reject(e);
    }
  });
  return { loop, done };
}

/** Opens the tunnel from the client side: sends `req`, reads the head, checks its status. */
export async function open(proxy: ProxyProcess, req: string, status: number): Promise<HttpClient> {
  const c = await connectHttp(proxy.port("fe"));
  await c.send(req);
  const head = latin1((await within(c.reader.readHead(), 3000, "tunnel head"))!);
  assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
  return c;
}
