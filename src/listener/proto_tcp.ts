// proto_tcp / proto_unix: the Deno-native transports (HAProxy's proto_tcp.c).
//
// Binds with Deno.listen, TCP with SO_REUSEPORT as HAProxy does by default, so
// that `sluice -sf PID` can bind next to the process it replaces and a
// reload can bind a changed bind next to the old socket before closing it.
// Unlike HAProxy, a second instance started by mistake does not share the
// port silently: unless the bind is a take-over, the address is first bound
// without SO_REUSEPORT, which fails while anyone listens on it. Connects with
// Deno.connect, and sets TCP_NODELAY on every TCP socket. SO_KEEPALIVE stays off, as in HAProxy without `option tcpka`.

import type { Address } from "../config/types.ts";
import { denoConn } from "./deno_conn.ts";
import { connectTls, type TlsClientConfig } from "./tls_client.ts";
import type {
  AcceptedConn,
  BindOptions,
  Conn,
  ListenSocket,
  PeerAddr,
  Protocol,
} from "./protocol.ts";

function peer(a: Deno.Addr): PeerAddr {
  if (a.transport === "tcp" || a.transport === "udp") return { ip: a.hostname, port: a.port };
  return { ip: "unix", port: 0 };
}

class DenoListenSocket implements ListenSocket {
  readonly local: PeerAddr | { path: string };
  #l: Deno.Listener;
  #tcp: boolean;

  constructor(l: Deno.Listener, tcp: boolean) {
    this.#l = l;
    this.#tcp = tcp;
    const a = l.addr;
    this.local = a.transport === "unix" ? { path: a.path } : peer(a);
  }

  async accept(): Promise<AcceptedConn> {
    const c = await this.#l.accept();
    if (this.#tcp) {
      const t = c as Deno.TcpConn;
      try {
        t.setNoDelay(true);
      } catch { /* the peer may already be gone; the first read will tell */ }
    }
    return { conn: denoConn(c), remote: peer(c.remoteAddr), local: peer(c.localAddr) };
  }

  close(): void {
    try {
      this.#l.close();
    } catch { /* already closed */ }
  }
}

export const protoTcp: Protocol = {
  name: "tcp",
  bind(addr: Address, opts: BindOptions): ListenSocket {
    if (addr.kind === "unix") {
      try {
        Deno.removeSync(addr.path);
      } catch { /* no stale socket file */ }
      return new DenoListenSocket(Deno.listen({ transport: "unix", path: addr.path }), false);
    }
    // The accept queue: excess clients wait in it while the proxy is at
    // maxconn, and beyond it the kernel drops their SYNs (they retry) rather
    // than queueing more connections than the proxy will serve soon.
    let port = addr.port;
    if (opts.takeOver !== true) {
      // Throws AddrInUse while another socket listens there; resolves port 0.
      const probe = Deno.listen({ hostname: addr.host, port });
      port = (probe.addr as Deno.NetAddr).port;
      probe.close();
    }
    const l = Deno.listen({ hostname: addr.host, port, tcpBacklog: opts.backlog, reusePort: true });
    return new DenoListenSocket(l, true);
  },
  async connect(
    addr: Address,
    signal?: AbortSignal,
    tls?: TlsClientConfig | null,
    preamble?: Uint8Array | null,
  ): Promise<Conn> {
    if (tls !== undefined && tls !== null) return connectTls(addr, tls, signal, preamble ?? null);
    if (addr.kind === "unix") {
      return denoConn(await Deno.connect({ transport: "unix", path: addr.path }));
    }
    const opts: Deno.ConnectOptions = { hostname: addr.host, port: addr.port };
    if (signal !== undefined) opts.signal = signal;
    const c = await Deno.connect(opts);
    try {
      c.setNoDelay(true);
    } catch { /* reported by the first I/O */ }
    return denoConn(c);
  },
};
