// Set-up shared by the address tests: whether this host has an IPv6
// loopback, a small HTTP server that records request heads on TCP or unix
// sockets, and a GET over either.

import { td, te } from "../../_helpers/client.ts";

export interface Srv {
  port: number;
  /** Requests seen (raw heads). */
  heads: string[];
  close(): Promise<void>;
}

/** An HTTP/1.1 server answering every request with `name` as body and the request head echoed in X-Head. */
export function httpServer(
  opts: Deno.ListenOptions | Deno.UnixListenOptions & { transport: "unix" },
  name: string,
): Srv {
  const l = Deno.listen(opts as Deno.ListenOptions);
  const heads: string[] = [];
  const conns = new Set<Deno.Conn>();
  const loop = (async () => {
    for await (const c of l) {
      conns.add(c);
      (async () => {
        const buf = new Uint8Array(16384);
        let acc = "";
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            acc += td.decode(buf.subarray(0, n));
            let end: number;
            while ((end = acc.indexOf("\r\n\r\n")) >= 0) {
              const head = acc.slice(0, end);
              acc = acc.slice(end + 4);
              heads.push(head);
              const xff = /^x-forwarded-for: *(.*)$/im.exec(head)?.[1] ?? "(none)";
              const body = name;
              await c.write(te.encode(
                `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nx-xff: ${xff}\r\n\r\n${body}`,
              ));
            }
          }
        } catch { /* client gone */ }
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      })();
    }
  })();
  const addr = l.addr;
  return {
    port: addr.transport === "tcp" ? addr.port : 0,
    heads,
    async close() {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop.catch(() => {});
    },
  };
}

/** One GET on a new connection; returns status line, x-xff header and body. */
export async function get(
  opts: Deno.ConnectOptions | Deno.UnixConnectOptions,
): Promise<{ status: number; xff: string; body: string }> {
  const c = await Deno.connect(opts as Deno.ConnectOptions);
  try {
    await c.write(te.encode("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
    let acc = "";
    const buf = new Uint8Array(16384);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const n = await c.read(buf);
      if (n === null) break;
      acc += td.decode(buf.subarray(0, n));
      const m = /\r\ncontent-length: (\d+)\r\n[\s\S]*?\r\n\r\n/i.exec(acc);
      if (m !== null && acc.length >= m.index + m[0].length + Number(m[1])) break;
    }
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(acc)?.[1] ?? "0");
    const xff = /\r\nx-xff: ([^\r]*)/i.exec(acc)?.[1] ?? "";
    const body = acc.slice(acc.indexOf("\r\n\r\n") + 4);
    return { status, xff, body };
  } finally {
    c.close();
  }
}
