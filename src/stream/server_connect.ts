// Connecting to a server (HAProxy's connect_server() with the PROXY
// protocol sender, conn_send_proxy()): the protocol's connect, then, for a
// server with `send-proxy` / `send-proxy-v2` / `send-proxy-v2-ssl`, the
// header written before any byte of the stream's, with the stream's client
// and frontend addresses (those a PROXY header of the client gave, when it
// sent one). A failed header write is a failed connect (retried as one).

import type { Server } from "../backend/server.ts";
import type { Conn, PeerAddr, Protocol } from "../listener/protocol.ts";
import { buildProxyV1, buildProxyV2, type ProxySslInfo } from "../listener/proxy_proto.ts";

/** What the header is made of: the stream's client side. */
export interface ProxySource {
  readonly clientAddr: PeerAddr;
  readonly frontAddr: PeerAddr;
  readonly cli: { readonly conn: Conn | null };
}

/**
 * The client's TLS facts for a v2 SSL TLV, null when it came in clear: a
 * Conn that terminated TLS exposes `tls` (ConnTls; its protocol is null on
 * the Deno.listenTls route, then the TLV carries no version); a PrefixedConn
 * left by a PROXY header forwards its inner one.
 */
export function clientSslInfo(conn: Conn | null): ProxySslInfo | null {
  let c: unknown = conn;
  for (let i = 0; i < 4 && c !== null && typeof c === "object"; i++) {
    const t = Reflect.get(c, "tls");
    if (t !== null && typeof t === "object") {
      const v = Reflect.get(t, "protocol");
      return { version: typeof v === "string" ? v : "" };
    }
    c = Reflect.get(c, "inner");
  }
  return null;
}

/** The header a server with `sendProxy` (ServerConfig) wants for this client, or null. */
export function proxyHeaderFor(mode: number, s: ProxySource): Uint8Array | null {
  if (mode === 0) return null;
  if (mode === 1) return buildProxyV1(s.clientAddr, s.frontAddr);
  return buildProxyV2(s.clientAddr, s.frontAddr, mode === 3, clientSslInfo(s.cli.conn));
}

/** Writes all of `b`; rejects when the connection fails. */
async function writeAll(c: Conn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await c.write(b.subarray(off));
}

/**
 * Connects to `srv` (the protocol's connect with the stream's abort
 * signal) and writes its PROXY header when it wants one. `sni`: the name an
 * `sni` expression gave for this stream (server_sni.ts; "" sends none),
 * null to use the server's TLS settings as they are. Resolves to the
 * connection ready for the stream's bytes; rejects on any failure (the
 * half-open socket is closed).
 */
export function connectServer(
  proto: Protocol,
  srv: Server,
  s: ProxySource,
  signal: AbortSignal,
  sni: string | null = null,
): Promise<Conn> {
  const hdr = proxyHeaderFor(srv.cfg.sendProxy ?? 0, s);
  // TLS: the header goes in clear before the handshake, inside the connect.
  if (srv.tls !== null && srv.tls !== undefined) {
    return proto.connect(srv.address, signal, sni === null ? srv.tls : { ...srv.tls, sni }, hdr);
  }
  const p = proto.connect(srv.address, signal);
  if (hdr === null) return p;
  return p.then(async (c) => {
    try {
      await writeAll(c, hdr);
    } catch (e) {
      try {
        c.close();
      } catch { /* already closed */ }
      throw e;
    }
    return c;
  });
}
