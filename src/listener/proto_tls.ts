// proto_tls: TLS on a bind and towards servers (HAProxy's ssl_sock.c, as a
// transport under the Conn interface).
//
// A bind takes one of two routes, chosen once at load time (docs/tls.md):
// - node:tls over a socket accepted by Deno.listen (tls_node.ts), the
//   default: certificates chosen by SNI, client certificates, every fact of
//   the handshake known, and a handshake cut by `timeout client` closes its
//   socket at once.
// - Deno.listenTls, only when SLUICE_TLS_LISTENER=deno and the bind has one
//   certificate, no `verify`, no `ssl-min-ver TLSv1.3`, and its frontend
//   reads nothing but ALPN: rustls in the runtime, reads and writes through
//   the core ops, faster. But in Deno 2.9.6 closing a TLS connection whose
//   handshake is pending does not close its socket (the runtime's handshake
//   task owns it, and dropping the connection waits for that task): a
//   client that stalls its handshake keeps a descriptor until it leaves,
//   even after `timeout client` logged it. Hence not the default.
// Deno's listener can choose a certificate by SNI through its undocumented
// `unstableSniResolver` option, but in Deno 2.9.6 that path fails every
// handshake whose ClientHello does not arrive in the first read ("operation
// would block"): a ClientHello split over two TCP segments (browsers' post-
// quantum key shares make it larger than one segment) or sent slowly would
// be refused. So it is not used.
// Either way accept() returns at once with the handshake pending
// (AcceptedConn.tls): the process runs it away from the accept loop, under
// `timeout client`, so a client that stalls or sends garbage never holds up
// the next accept.
//
// Towards servers: tls_client.ts.

import tls from "node:tls";
import type { X509Certificate } from "node:crypto";
import type { Address, BindSsl } from "../config/types.ts";
import { denoConn } from "./deno_conn.ts";
import type {
  AcceptedConn,
  BindOptions,
  Conn,
  ListenSocket,
  PeerAddr,
  PendingTls,
} from "./protocol.ts";
import type { CertEntry, CertStore } from "./tls_certs.ts";
import { NodeTlsListenSocket, type TlsServerParams, wrapTlsServer } from "./tls_node.ts";

/** Everything a TLS bind needs, built once at load time (src/proxy/tls_load.ts). */
export interface TlsBindParams extends TlsServerParams {
  store: CertStore;
  /** Take the node:tls route (see the file header). */
  node: boolean;
}

/**
 * Builds the parameters of a TLS bind from its certificates and options.
 * `node` forces the node:tls route; it is also taken when the options need
 * it (verify, ssl-min-ver TLSv1.3).
 */
export function tlsBindParams(
  store: CertStore,
  ssl: BindSsl,
  caCerts: readonly X509Certificate[],
  node: boolean,
): TlsBindParams {
  const contexts = new Map<CertEntry, tls.SecureContext>();
  return {
    store,
    // Several certificates need the SNI choice: see the file header for
    // why the runtime's own hook for it cannot be used.
    node: node || !denoListenerChosen() || store.entries.length > 1 || ssl.verify !== "none" ||
      ssl.minVer === "TLSv1.3",
    bySni: store.entries.length > 1,
    alpn: ssl.alpn,
    minVer: ssl.minVer,
    verify: ssl.verify,
    caCerts,
    contextFor(sni: string | null): tls.SecureContext {
      const e = store.lookup(sni);
      let c = contexts.get(e);
      if (c === undefined) {
        c = tls.createSecureContext({ cert: e.cert, key: e.key });
        contexts.set(e, c);
      }
      return c;
    },
  };
}

/**
 * Whether SLUICE_TLS_LISTENER=deno asks for the runtime's listener where it
 * can serve (see the file header for what it costs).
 */
function denoListenerChosen(): boolean {
  try {
    return Deno.env.get("SLUICE_TLS_LISTENER") === "deno";
  } catch {
    return false;
  }
}

function peer(a: Deno.Addr): PeerAddr {
  if (a.transport === "tcp" || a.transport === "udp") return { ip: a.hostname, port: a.port };
  return { ip: "unix", port: 0 };
}

/** The reason text of a handshake error, without Deno's error-class prefix noise. */
export function handshakeReason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\(os error \d+\)\s*$/, "");
}

/** A handshake still to run on a Deno TLS connection. */
class DenoPendingTls implements PendingTls {
  readonly #c: Deno.TlsConn;
  readonly #conn: ReturnType<typeof denoConn>;
  #aborted: boolean;

  constructor(c: Deno.TlsConn, conn: ReturnType<typeof denoConn>) {
    this.#c = c;
    this.#conn = conn;
    this.#aborted = false;
  }

  async complete(): Promise<Conn> {
    let alpn: string | null;
    try {
      alpn = (await this.#c.handshake()).alpnProtocol;
    } catch (e) {
      try {
        this.#c.close();
      } catch { /* closed by abort() */ }
      throw this.#aborted ? new Error("timeout during handshake") : e;
    }
    this.#conn.tls = {
      sni: null,
      alpn,
      protocol: null,
      cipher: null,
      clientCert: false,
      verify: 0,
      clientDn: null,
    };
    return this.#conn;
  }

  abort(): void {
    this.#aborted = true;
    try {
      this.#c.close();
    } catch { /* already closed */ }
  }
}

/** Deno.listenTls with the SNI resolver: the fast route. */
class DenoTlsListenSocket implements ListenSocket {
  readonly local: PeerAddr;
  readonly #l: Deno.TlsListener;

  constructor(addr: Extract<Address, { kind: "tcp" }>, opts: BindOptions, p: TlsBindParams) {
    const o: Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem = {
      hostname: addr.host,
      port: addr.port,
      cert: p.store.default.cert,
      key: p.store.default.key,
    };
    if (p.alpn.length > 0) o.alpnProtocols = [...p.alpn];
    Reflect.set(o, "tcpBacklog", opts.backlog);
    this.#l = Deno.listenTls(o);
    this.local = peer(this.#l.addr);
  }

  async accept(): Promise<AcceptedConn> {
    const c = await this.#l.accept();
    try {
      // The TCP socket under it: TCP_NODELAY as on cleartext binds.
      Reflect.get(c, "setNoDelay")?.call(c, true);
    } catch { /* the peer may be gone; the handshake will tell */ }
    const conn = denoConn(c);
    return {
      conn,
      remote: peer(c.remoteAddr),
      local: peer(c.localAddr),
      tls: new DenoPendingTls(c, conn),
    };
  }

  close(): void {
    try {
      this.#l.close();
    } catch { /* already closed */ }
  }
}

/** A handshake through node:tls over an accepted cleartext connection. */
class NodePendingTls implements PendingTls {
  readonly #conn: Conn;
  readonly #p: TlsServerParams;
  #abort: (() => void) | null;

  constructor(conn: Conn, p: TlsServerParams) {
    this.#conn = conn;
    this.#p = p;
    this.#abort = null;
  }

  complete(): Promise<Conn> {
    return wrapTlsServer(this.#conn, this.#p, (a) => this.#abort = a);
  }

  abort(): void {
    if (this.#abort !== null) this.#abort();
    else {
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
  }
}

/** Binds a TLS listener (throws on failure, as a cleartext bind does). */
export function bindTls(addr: Address, opts: BindOptions, p: TlsBindParams): ListenSocket {
  if (addr.kind !== "tcp") throw new Error("TLS on a unix socket is not supported");
  if (p.node) {
    return new NodeTlsListenSocket(addr.host, addr.port, opts.backlog, p, opts.takeOver === true);
  }
  return new DenoTlsListenSocket(addr, opts, p);
}

/**
 * Starts the handshake of the server side on a connection that was accepted
 * in cleartext (after a PROXY protocol header): the hook for `accept-proxy
 * ssl`. Returns the pending handshake, to run as a TLS bind's.
 */
export function pendingServerTls(conn: Conn, p: TlsServerParams): PendingTls {
  return new NodePendingTls(conn, p);
}
