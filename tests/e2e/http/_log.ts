// Set-up shared by the log line tests: a raw exchange with the proxy, a
// proxy with given frontends in front of one server, log-format checks and
// the log line of one request.

import { te, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { httpStub } from "./_http.ts";

/**
 * Sends `bytes` on a fresh connection to `port`, half-closes nothing, reads
 * until the proxy closes (or `deadlineMs`), and returns the client's port.
 */
export async function exchange(
  port: number,
  bytes: Uint8Array,
  deadlineMs = 3_000,
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const local = (conn.localAddr as Deno.NetAddr).port;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, deadlineMs);
  try {
    await writeFull(conn, bytes);
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the deadline
    }
  }
  return local;
}

export function req(target: string, extra = ""): Uint8Array {
  return te.encode(`GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
}

export function proxyFor(backendPort: number, frontends: string): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  option: [httplog]
  timeout: { connect: 1s, client: 3s, server: 3s, http-request: 2s }
frontends:
${frontends}
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ]
  bet:
    mode: tcp
    servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ]
`);
}

/** A stub origin and a proxy with `frontends` in front of it, for `fn`; both stopped after. */
export async function withStubProxy(
  frontends: string,
  fn: (proxy: ProxyProcess) => Promise<void>,
): Promise<void> {
  const stub = httpStub("s1");
  let proxy: ProxyProcess | null = null;
  try {
    proxy = await proxyFor(stub.port, frontends);
    await fn(proxy);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
}
