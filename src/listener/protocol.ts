// The protocol interface (HAProxy's struct protocol).
//
// Only protocol implementations touch Deno.listen / Deno.connect. The rest of
// the proxy sees a listening socket and connections through these types, so
// another transport (unix sockets, node:net when a socket option is needed)
// can back a feature without changing streams.

import type { Address } from "../config/types.ts";

/** A connected socket as the stream interfaces use it. */
export interface Conn {
  /** Reads into view (never empty); resolves to the byte count, 0 at end of stream. */
  read(view: Uint8Array): Promise<number>;
  /** Writes from view; resolves to the byte count written (may be partial). */
  write(view: Uint8Array): Promise<number>;
  /**
   * Takes what it can of view now, without waiting; returns the count (0:
   * nothing now, write() waits for room). Only a connection whose writes
   * land in memory has it (an HTTP/2 stream copies into its connection's
   * output buffer); a socket has none.
   */
  writeNow?(view: Uint8Array): number;
  /** Sends FIN (half-close). */
  closeWrite(): Promise<void>;
  /** Closes the socket; in-flight reads and writes reject. */
  close(): void;
  /**
   * Copies into view what the connection already holds, without waiting;
   * 0 when nothing is there yet (end of stream included: read() tells it).
   * Absent on sockets: an HTTP/2 stream has its request head before its
   * Stream exists, and a first read through a promise would cost that
   * Stream a run with an empty channel.
   */
  readNow?(view: Uint8Array): number;
  /**
   * read() without a promise, for a connection whose bytes are in memory (an
   * HTTP/2 stream): `done` or `failed` is called once, at once when the
   * outcome is known now (inside this call), else when it is. A socket has
   * none: its read is an op of the runtime, which answers with a promise.
   */
  readTo?(view: Uint8Array, done: (n: number) => void, failed: (e: unknown) => void): void;
  /**
   * The other side of the tunnel this connection is in failed (a reset):
   * the write shutdown that follows what it sent says so where the protocol
   * can (an HTTP/2 CONNECT stream: RST_STREAM CONNECT_ERROR, RFC 9113 §8.5,
   * instead of END_STREAM). A socket has none: it gets a FIN.
   */
  peerFailed?(): void;
  /**
   * What the TLS handshake of this connection negotiated (client side of a
   * `ssl` bind); null or absent for cleartext. Fetches (`ssl_fc_*`), logs
   * (`%sslv`) and a mux choosing h2 by ALPN read it.
   */
  readonly tls?: ConnTls | null;
}

/**
 * The facts of a finished TLS handshake, as HAProxy's ssl_fc_* / ssl_c_*
 * fetches give them. A field the transport cannot know is null (Deno's
 * listenTls tells only the ALPN protocol: see docs/tls.md).
 */
export interface ConnTls {
  /** Server name the client sent (SNI), null when none or unknown. */
  sni: string | null;
  /** ALPN protocol chosen, null when none. */
  alpn: string | null;
  /** "TLSv1.3", "TLSv1.2"; null when the transport does not tell. */
  protocol: string | null;
  /** Cipher suite (OpenSSL name); null when the transport does not tell. */
  cipher: string | null;
  /** The client sent a certificate. */
  clientCert: boolean;
  /** Verification result of the client certificate (X509_V_*: 0 = ok). */
  verify: number;
  /** Subject of the client certificate ("/CN=..."), null without one. */
  clientDn: string | null;
}

/**
 * A TLS connection accepted but not yet through its handshake. The process
 * completes it away from the accept loop, under the frontend's `timeout
 * client` (src/stream/tls_accept.ts).
 */
export interface PendingTls {
  /** Runs the handshake: resolves to the connection to use, rejects with the reason. */
  complete(): Promise<Conn>;
  /** Cuts the handshake (timeout): complete() rejects, the socket is closed. */
  abort(): void;
}

/** Where a connection comes from / goes to, already split for logs. */
export interface PeerAddr {
  ip: string;
  port: number;
}

/** A bound listening socket. */
export interface ListenSocket {
  /** Waits for the next connection. Rejects when the socket is closed. */
  accept(): Promise<AcceptedConn>;
  /** The address actually bound (port 0 resolved). */
  readonly local: PeerAddr | { path: string };
  /**
   * Present when the socket listens only some time after bind() returned
   * (node:net): resolves once it accepts, rejects when it cannot listen.
   */
  readonly ready?: Promise<void>;
  close(): void;
}

export interface AcceptedConn {
  conn: Conn;
  remote: PeerAddr;
  local: PeerAddr;
  /** Present on a TLS bind: the handshake still to run before the session starts. */
  tls?: PendingTls;
}

/** What a listening socket is created with (from the bind line). */
export interface BindOptions {
  /** Length of the kernel's accept queue (TCP; the kernel caps it at somaxconn). */
  backlog: number;
  /**
   * Bind next to a socket that already listens on the address (SO_REUSEPORT:
   * a binary upgrade, `-sf`; a reload of a changed bind). Without it an
   * address in use is refused, as if SO_REUSEPORT were not set.
   */
  takeOver?: boolean;
}

/** A transport: how to bind and how to connect. */
export interface Protocol {
  readonly name: string;
  bind(addr: Address, opts: BindOptions): ListenSocket;
  /**
   * Connects; rejects on failure or when `signal` aborts (a connect timeout:
   * the half-open socket is released at once).
   */
  /**
   * With `tls`, the connection is TLS (`preamble`, a PROXY protocol header,
   * is written in clear before the handshake).
   */
  connect(
    addr: Address,
    signal?: AbortSignal,
    tls?: TlsClientConfig | null,
    preamble?: Uint8Array | null,
  ): Promise<Conn>;
}

/** What a connection to an `ssl` server needs, built once at load time. */
export interface TlsClientConfig {
  verify: "none" | "required";
  /** PEM CAs added to the system roots (ca-file); [] for the system roots alone. */
  caCerts: readonly string[];
  /** SNI and the name verified; null: the address's host name; "" (NO_SNI): none, chain only. */
  sni: string | null;
  alpn: readonly string[];
  /** Client certificate chain and key (PEM), null for none. */
  cert: string | null;
  key: string | null;
}
