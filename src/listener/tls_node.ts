// TLS through node:tls: the route where Deno's own TLS API lacks a feature
// (DESIGN.md §8).
//
// Server side, node:tls's TLSSocket wraps a connection that was already
// accepted (over a node Duplex that reads and writes our Conn): the route
// after a PROXY protocol header, for client certificates (Deno.listenTls
// cannot ask for one), for `ssl-min-ver TLSv1.3`, and when a frontend reads
// the SNI, protocol or cipher of a connection (Deno.listenTls tells only the
// ALPN protocol). Client side, node:tls is the only API that connects without
// verifying the server's certificate (`verify none`): Deno.connectTls and
// Deno.startTls always verify the chain.
//
// The cost: node streams deliver data in chunks of their own, so a read
// copies into the caller's buffer; handshakes are slower than
// Deno.listenTls's, because the runtime builds a TLS configuration per
// socket (tlsSocketOptions(); docs/tls.md has figures). Everything
// here is per connection, never per process; nothing throws past the
// promise it returns.

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import net from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type {
  AcceptedConn,
  Conn,
  ConnTls,
  ListenSocket,
  PeerAddr,
  PendingTls,
} from "./protocol.ts";

/** Chunks queued on a node-backed connection before the socket is paused. */
const HIGH_WATER_CHUNKS = 4;

/**
 * A Conn over a node TLSSocket. Reads take queued chunks (the socket is
 * paused while the queue is full: back-pressure), writes resolve once the
 * TLS layer has consumed the bytes.
 */
export class NodeTlsConn implements Conn {
  tls: ConnTls | null;
  readonly #s: tls.TLSSocket;
  readonly #chunks: Uint8Array[];
  #off: number;
  #eof: boolean;
  #err: Error | null;
  #wait: ((v: void) => void) | null;

  constructor(s: tls.TLSSocket, info: ConnTls | null) {
    this.tls = info;
    this.#s = s;
    this.#chunks = [];
    this.#off = 0;
    this.#eof = false;
    this.#err = null;
    this.#wait = null;
    s.on("data", (c: Uint8Array) => {
      this.#chunks.push(c);
      if (this.#chunks.length >= HIGH_WATER_CHUNKS) s.pause();
      this.#wake();
    });
    s.on("end", () => {
      this.#eof = true;
      this.#wake();
    });
    s.on("error", (e: Error) => {
      this.#err ??= e;
      this.#wake();
    });
    s.on("close", () => {
      this.#eof = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#wait;
    if (w !== null) {
      this.#wait = null;
      w();
    }
  }

  async read(view: Uint8Array): Promise<number> {
    while (this.#chunks.length === 0) {
      if (this.#err !== null) throw this.#err;
      if (this.#eof) return 0;
      await new Promise<void>((r) => this.#wait = r);
    }
    const c = this.#chunks[0]!;
    const n = Math.min(view.length, c.length - this.#off);
    view.set(c.subarray(this.#off, this.#off + n));
    this.#off += n;
    if (this.#off === c.length) {
      this.#chunks.shift();
      this.#off = 0;
      if (this.#chunks.length === 0 && !this.#eof) this.#s.resume();
    }
    return n;
  }

  write(view: Uint8Array): Promise<number> {
    if (this.#err !== null) return Promise.reject(this.#err);
    // No copy: node calls back once the TLS layer has consumed the bytes
    // (encrypted them into its own records), and only then may the caller
    // reuse its buffer.
    return new Promise((resolve, reject) => {
      this.#s.write(view, (e?: Error | null) => e ? reject(e) : resolve(view.length));
    });
  }

  closeWrite(): Promise<void> {
    this.#s.end();
    return Promise.resolve();
  }

  close(): void {
    this.#s.destroy();
  }
}

/** A node Duplex over one of our Conns: what a TLSSocket wraps server-side. */
function connDuplex(conn: Conn, readSize: number): Duplex {
  let reading = false;
  const buf = new Uint8Array(readSize);
  const d: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      conn.read(buf).then((n) => {
        reading = false;
        if (n === 0) d.push(null);
        else d.push(Buffer.from(buf.subarray(0, n)));
      }, (e) => d.destroy(e instanceof Error ? e : new Error(String(e))));
    },
    write(chunk: Uint8Array, _enc, cb) {
      writeAll(conn, chunk).then(() => cb(), (e) => cb(e));
    },
    final(cb) {
      conn.closeWrite().then(() => cb(), () => cb());
    },
    destroy(err, cb) {
      try {
        conn.close();
      } catch { /* already closed */ }
      cb(err);
    },
  });
  return d;
}

async function writeAll(conn: Conn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

/** What a server-side handshake needs (built once per bind by proto_tls.ts). */
export interface TlsServerParams {
  /** The certificate for a server name ("" or null: the default). */
  contextFor(sni: string | null): tls.SecureContext;
  /**
   * Whether the certificate depends on the SNI (the bind has several). Only
   * then is node's SNICallback set: in Deno 2.9.6 the callback makes the
   * runtime build a second TLS configuration per handshake (certificate
   * chain and private key parsed again from PEM), see tlsSocketOptions().
   */
  bySni: boolean;
  alpn: readonly string[];
  minVer: "TLSv1.2" | "TLSv1.3";
  verify: "none" | "optional" | "required";
  /** CAs that sign accepted client certificates. */
  caCerts: readonly X509Certificate[];
}

/** OpenSSL's X509_V_OK and the codes Sluice reports in ssl_c_verify. */
export const X509_V_OK = 0;
/** X509_V_ERR_CERT_NOT_YET_VALID. */
export const X509_V_ERR_CERT_NOT_YET_VALID = 9;
/** X509_V_ERR_CERT_HAS_EXPIRED. */
export const X509_V_ERR_CERT_HAS_EXPIRED = 10;
/** X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: no CA of ca-file signed it. */
export const X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;

/**
 * Verifies a client certificate against the CAs (one level: the CA signed
 * the leaf, or signed the intermediate the client sent after it), and its
 * dates. Returns an X509_V_* code.
 */
export function verifyClientCert(
  chain: readonly X509Certificate[],
  cas: readonly X509Certificate[],
  now = Date.now(),
): number {
  const leaf = chain[0];
  if (leaf === undefined) return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
  for (const c of chain) {
    if (Date.parse(c.validTo) < now) return X509_V_ERR_CERT_HAS_EXPIRED;
    if (Date.parse(c.validFrom) > now) return X509_V_ERR_CERT_NOT_YET_VALID;
  }
  const signedBy = (c: X509Certificate, by: X509Certificate) => {
    try {
      return c.checkIssued(by) && c.verify(by.publicKey);
    } catch {
      return false;
    }
  };
  for (const ca of cas) if (signedBy(leaf, ca)) return X509_V_OK;
  for (const mid of chain.slice(1)) {
    if (!signedBy(leaf, mid)) continue;
    for (const ca of cas) if (signedBy(mid, ca)) return X509_V_OK;
  }
  return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
}

/** "/CN=x/O=y", OpenSSL's oneline form that HAProxy's ssl_c_s_dn returns. */
function onelineDn(subject: string): string {
  return subject.split("\n").filter((l) => l !== "").map((l) => "/" + l).join("");
}

/** The client's certificate chain as node gives it, parsed; [] when none. */
function peerChain(s: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  try {
    // deno-lint-ignore no-explicit-any
    let pc: any = s.getPeerCertificate(true);
    const seen = new Set<unknown>();
    while (pc !== null && pc !== undefined && pc.raw !== undefined && !seen.has(pc)) {
      seen.add(pc);
      out.push(new X509Certificate(pc.raw));
      pc = pc.issuerCertificate;
    }
  } catch { /* no certificate, or one node cannot give */ }
  return out;
}

function requestsCert(p: TlsServerParams): boolean {
  return p.verify !== "none";
}

/**
 * A SecureContext without a certificate: what a socket starts with when
 * SNICallback gives the real one (see tlsSocketOptions()).
 */
let noCertContext: tls.SecureContext | null = null;

/** The TLSSocket options of a bind, built once per TlsServerParams (they are never mutated). */
const socketOptions = new WeakMap<TlsServerParams, tls.TLSSocketOptions>();

/**
 * The server-side TLSSocket options of `p`, shared by all its connections.
 *
 * What a handshake costs in Deno 2.9.6 (ext/node/ops/tls_wrap.rs): every
 * TLSSocket builds a rustls ServerConfig from its SecureContext's PEM text
 * (certificate chain decoded, private key loaded and checked against the
 * certificate), per connection; with an SNICallback it builds a second one
 * from the context the callback returns, once the ClientHello is in. So a
 * bind with one certificate sets no SNICallback (one build per handshake),
 * and a bind with several starts each socket on a context without a
 * certificate (a build that loads no key) and loads the chosen one in the
 * callback.
 */
export function tlsSocketOptions(p: TlsServerParams): tls.TLSSocketOptions {
  let o = socketOptions.get(p);
  if (o !== undefined) return o;
  o = {
    isServer: true,
    ALPNProtocols: p.alpn.length > 0 ? [...p.alpn] : undefined,
    requestCert: requestsCert(p),
    rejectUnauthorized: false,
  };
  if (p.bySni) {
    o.secureContext = noCertContext ??= tls.createSecureContext({});
    o.SNICallback = (name: string, cb: (e: Error | null, ctx?: tls.SecureContext) => void) =>
      cb(null, p.contextFor(name));
  } else {
    o.secureContext = p.contextFor(null);
  }
  socketOptions.set(p, o);
  return o;
}

/**
 * The TLS handshake of the server side over an accepted connection `conn`
 * (a socket, or a socket after its PROXY header). Resolves to the
 * decrypted connection with its `tls` facts; rejects with an Error whose
 * message is the reason (for the "SSL handshake failure" log line). `abort`
 * is handed a function that cuts the handshake (timeout client).
 */
export function wrapTlsServer(
  conn: Conn,
  p: TlsServerParams,
  setAbort?: (abort: () => void) => void,
): Promise<Conn> {
  return wrapTlsServerSocket(connDuplex(conn, 16384), p, setAbort);
}

/**
 * The server-side handshake over a node stream: a node:net socket (the
 * default route of a TLS bind, without the Duplex copy) or connDuplex().
 */
export function wrapTlsServerSocket(
  sock: Duplex,
  p: TlsServerParams,
  setAbort?: (abort: () => void) => void,
): Promise<Conn> {
  const requestCert = requestsCert(p);
  const s = new tls.TLSSocket(sock as net.Socket, tlsSocketOptions(p));
  return new Promise<Conn>((resolve, reject) => {
    let done = false;
    const fail = (e: unknown) => {
      if (done) return;
      done = true;
      s.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    setAbort?.(() => fail(new Error("timeout during handshake")));
    s.once("error", fail);
    s.once("close", () => fail(new Error("connection closed during handshake")));
    s.once("secure", () => {
      if (done) return;
      const protocol = s.getProtocol() ?? null;
      if (p.minVer === "TLSv1.3" && protocol !== "TLSv1.3") {
        return fail(new Error(`protocol ${protocol ?? "?"} below ssl-min-ver TLSv1.3`));
      }
      const chain = requestCert ? peerChain(s) : [];
      const verify = chain.length === 0 ? X509_V_OK : verifyClientCert(chain, p.caCerts);
      if (p.verify === "required" && chain.length === 0) {
        return fail(new Error("no client certificate (verify required)"));
      }
      if (p.verify !== "none" && chain.length > 0 && verify !== X509_V_OK) {
        // HAProxy refuses a bad certificate even with verify optional.
        return fail(new Error(`client certificate refused (verify error ${verify})`));
      }
      done = true;
      s.removeListener("error", fail);
      const alpn = s.alpnProtocol;
      const sni: unknown = Reflect.get(s, "servername");
      const info: ConnTls = {
        sni: typeof sni === "string" && sni !== "" ? sni : null,
        alpn: typeof alpn === "string" && alpn !== "" ? alpn : null,
        protocol,
        cipher: s.getCipher()?.name ?? null,
        clientCert: chain.length > 0,
        verify,
        clientDn: chain.length > 0 ? onelineDn(chain[0]!.subject) : null,
      };
      resolve(new NodeTlsConn(s, info));
    });
  });
}

/** What a client-side node:tls connection needs (verify none, or a client certificate). */
export interface TlsClientParams {
  /** SNI and the name verified; null: no SNI, the chain alone is verified. */
  servername: string | null;
  alpn: readonly string[];
  cert: string | null;
  key: string | null;
  /** Verify the chain and the name (against `ca`, else the system roots). */
  verify: boolean;
  ca: readonly string[];
}

/**
 * Connects to `host:port` with TLS through node:tls: for `verify none`
 * (nothing checked) and for servers that want a client certificate
 * (Deno.startTls cannot send one). Resolves once the handshake is done;
 * rejects on failure, a refused certificate included, or abort.
 */
export function connectTlsNode(
  host: string,
  port: number,
  p: TlsClientParams,
  signal?: AbortSignal,
  preamble: Uint8Array | null = null,
): Promise<Conn> {
  return new Promise<Conn>((resolve, reject) => {
    const opts: tls.ConnectionOptions = {
      host,
      port,
      rejectUnauthorized: p.verify,
      ALPNProtocols: p.alpn.length > 0 ? [...p.alpn] : undefined,
    };
    if (p.ca.length > 0) opts.ca = [...p.ca];
    // The name verified is the SNI name, not the address connected to.
    if (p.verify && p.servername !== null) {
      const name = p.servername;
      opts.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
    } else if (p.verify) opts.checkServerIdentity = () => undefined; // no name: the chain only
    // An IP address is never sent as SNI (RFC 6066).
    if (p.servername !== null && !/^[\d.]+$|:/.test(p.servername)) opts.servername = p.servername;
    if (p.cert !== null && p.key !== null) {
      opts.cert = p.cert;
      opts.key = p.key;
    }
    if (preamble !== null) {
      // A PROXY protocol header goes in clear before the handshake: node
      // sends what was written before the connection completed first.
      const raw = net.connect({ host, port });
      raw.on("error", () => {});
      raw.write(preamble);
      delete opts.host;
      delete opts.port;
      opts.socket = raw;
    }
    const s = tls.connect(opts);
    let done = false;
    const onAbort = () => fail(new Error("connect aborted"));
    const fail = (e: unknown) => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      s.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    if (signal?.aborted) return fail(new Error("connect aborted"));
    signal?.addEventListener("abort", onAbort);
    s.once("error", fail);
    s.once("secureConnect", () => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      s.removeListener("error", fail);
      s.setNoDelay(true);
      resolve(new NodeTlsConn(s, null));
    });
  });
}

/** An accepted node:net socket before its handshake: only close() is meaningful. */
class NetSocketConn implements Conn {
  readonly #s: net.Socket;

  constructor(s: net.Socket) {
    this.#s = s;
  }

  read(): Promise<number> {
    return Promise.reject(new Error("handshake not done"));
  }

  write(): Promise<number> {
    return Promise.reject(new Error("handshake not done"));
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#s.destroy();
  }
}

/** The handshake of a socket accepted by NodeTlsListenSocket. */
class NetPendingTls implements PendingTls {
  readonly #s: net.Socket;
  readonly #p: TlsServerParams;
  #abort: (() => void) | null;

  constructor(s: net.Socket, p: TlsServerParams) {
    this.#s = s;
    this.#p = p;
    this.#abort = null;
  }

  complete(): Promise<Conn> {
    const done = wrapTlsServerSocket(this.#s, this.#p, (a) => this.#abort = a);
    this.#s.resume();
    return done;
  }

  abort(): void {
    if (this.#abort !== null) this.#abort();
    else this.#s.destroy();
  }
}

/**
 * The default listener of a TLS bind: a node:net server whose sockets a
 * TLSSocket wraps directly (twice the handshakes per CPU-second of a
 * TLSSocket over a Duplex around a Deno socket, docs/tls.md).
 *
 * The address is first bound with Deno.listen, which reports a failure at
 * once (the process binds all or nothing, synchronously) and resolves port
 * 0; node then listens on that port, a moment later (`ready`: the process
 * announces itself ready only then, and gives up if the port was taken
 * meanwhile). node accepts by itself, whatever
 * maxconn says: sockets the accept loop has not taken wait here, at most
 * `backlog` of them (beyond, they are closed at once, as the kernel drops
 * SYNs beyond its queue).
 */
export class NodeTlsListenSocket implements ListenSocket {
  readonly local: PeerAddr;
  readonly ready: Promise<void>;
  readonly #server: net.Server;
  readonly #queue: net.Socket[];
  readonly #max: number;
  #p: TlsServerParams;
  #waiter: { resolve: (s: net.Socket) => void; reject: (e: Error) => void } | null;
  #error: Error | null;

  constructor(
    host: string,
    port: number,
    backlog: number,
    p: TlsServerParams,
    takeOver = false,
  ) {
    // As proto_tcp: a plain bind first refuses an address in use (and
    // resolves port 0), unless this process takes over from another one
    // (`-sf`), whose socket it then listens beside (SO_REUSEPORT).
    let bound = port;
    if (!takeOver) {
      const probe = Deno.listen({ hostname: host, port });
      bound = (probe.addr as Deno.NetAddr).port;
      probe.close();
    }
    this.local = { ip: host, port: bound };
    this.#queue = [];
    this.#max = Math.max(backlog, 16);
    this.#p = p;
    this.#waiter = null;
    this.#error = null;
    this.#server = net.createServer({ pauseOnConnect: true }, (s: net.Socket) => this.#push(s));
    this.#server.on("error", (e: Error) => this.#fail(e));
    this.ready = new Promise<void>((resolve, reject) => {
      this.#server.once("listening", () => resolve());
      this.#server.once("error", reject);
    });
    // node's `reusePort` (Node 23.1+, and Deno's node:net) sets SO_REUSEPORT.
    this.#server.listen({ host, port: bound, backlog, reusePort: true } as net.ListenOptions);
  }

  #push(s: net.Socket): void {
    // A reset before the handshake starts must not become an unhandled error.
    s.on("error", () => {});
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve(s);
    } else if (this.#queue.length >= this.#max) s.destroy();
    else this.#queue.push(s);
  }

  #fail(e: Error): void {
    this.#error ??= e;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.reject(e);
    }
  }

  async accept(): Promise<AcceptedConn> {
    let s = this.#queue.shift();
    if (s === undefined) {
      if (this.#error !== null) throw this.#error;
      s = await new Promise<net.Socket>((resolve, reject) => this.#waiter = { resolve, reject });
    }
    try {
      s.setNoDelay(true);
    } catch { /* gone already: the handshake will tell */ }
    return {
      conn: new NetSocketConn(s),
      remote: { ip: unmapped(s.remoteAddress ?? "?"), port: s.remotePort ?? 0 },
      local: {
        ip: unmapped(s.localAddress ?? this.local.ip),
        port: s.localPort ?? this.local.port,
      },
      tls: new NetPendingTls(s, this.#p),
    };
  }

  /**
   * Serves `p` (certificates re-read by a reload) from the next accepted
   * connection on; handshakes already accepted finish with the old ones.
   */
  setParams(p: TlsServerParams): void {
    this.#p = p;
  }

  close(): void {
    this.#fail(new Error("listener closed"));
    this.#server.close();
    for (const s of this.#queue.splice(0)) s.destroy();
  }
}

/** "::ffff:1.2.3.4" as "1.2.3.4" on an IPv4 listener (node may report either). */
function unmapped(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
