// TLS towards servers (HAProxy's ssl_sock.c, client side): what an `ssl`
// server connection runs after the TCP connect.
//
// Deno.connect then Deno.startTls: the SNI and the name verified are chosen
// apart from the address (`sni`), the CAs of `ca-file` are added to the
// system's roots (Deno has no way to trust only them). `verify none` and a
// client certificate (`crt`) go through node:tls (tls_node.ts): Deno's own
// API always verifies the chain (the only switch that turns it off is the
// process-wide --unsafely-ignore-certificate-errors flag), and
// Deno.startTls sends no client certificate. There `ca-file` replaces the
// system roots, as in HAProxy.

import type { Address } from "../config/types.ts";
import { denoConn } from "./deno_conn.ts";
import type { Conn, TlsClientConfig } from "./protocol.ts";

export type { TlsClientConfig };
import { connectTlsNode } from "./tls_node.ts";

/**
 * TlsClientConfig.sni for "send no SNI" (health checks without `check-sni`,
 * as HAProxy's): the chain is still verified, the name is not (there is
 * none to verify, as in HAProxy without `verifyhost`).
 */
export const NO_SNI = "";

/**
 * Connects to a server with TLS (`preamble`, a PROXY protocol header, is
 * written in clear first): TCP, then the handshake (verification as
 * configured). Rejects on any failure, the handshake's included, or when
 * `signal` aborts.
 */
export async function connectTls(
  addr: Address,
  t: TlsClientConfig,
  signal?: AbortSignal,
  preamble: Uint8Array | null = null,
): Promise<Conn> {
  if (addr.kind !== "tcp") throw new Error("TLS to a unix socket server is not supported");
  const name = t.sni ?? addr.host;
  // Deno.startTls always sends and verifies a name: no SNI takes node:tls too.
  if (t.verify === "none" || t.cert !== null || name === NO_SNI) {
    return connectTlsNode(
      addr.host,
      addr.port,
      {
        servername: name === NO_SNI ? null : name,
        alpn: t.alpn,
        cert: t.cert,
        key: t.key,
        verify: t.verify !== "none",
        ca: t.caCerts,
      },
      signal,
      preamble,
    );
  }
  const opts: Deno.ConnectOptions = { hostname: addr.host, port: addr.port };
  if (signal !== undefined) opts.signal = signal;
  const tcp = await Deno.connect(opts);
  try {
    tcp.setNoDelay(true);
  } catch { /* reported by the handshake */ }
  if (preamble !== null) {
    // A PROXY protocol header goes in clear, before the handshake.
    try {
      let off = 0;
      while (off < preamble.length) off += await tcp.write(preamble.subarray(off));
    } catch (e) {
      tcp.close();
      throw e;
    }
  }
  const so: Deno.StartTlsOptions = { hostname: name };
  if (t.caCerts.length > 0) so.caCerts = [...t.caCerts];
  if (t.alpn.length > 0) so.alpnProtocols = [...t.alpn];
  let c: Deno.TlsConn;
  try {
    c = await Deno.startTls(tcp, so);
  } catch (e) {
    try {
      tcp.close();
    } catch { /* already closed */ }
    throw e;
  }
  const onAbort = () => {
    try {
      c.close();
    } catch { /* already closed */ }
  };
  signal?.addEventListener("abort", onAbort);
  try {
    await c.handshake();
  } catch (e) {
    onAbort();
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return denoConn(c);
}
