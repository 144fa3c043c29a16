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
  /** Sends FIN (half-close). */
  closeWrite(): Promise<void>;
  /** Closes the socket; in-flight reads and writes reject. */
  close(): void;
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
  close(): void;
}

export interface AcceptedConn {
  conn: Conn;
  remote: PeerAddr;
  local: PeerAddr;
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
  connect(addr: Address, signal?: AbortSignal): Promise<Conn>;
}
