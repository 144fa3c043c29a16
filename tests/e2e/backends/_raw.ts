// Set-up shared by the backend end-to-end tests that need finer control than
// _common.ts's NameServer: a raw TCP server running a handler per
// connection, a reader of request heads, a polling wait, and the frontend
// line that serves the stats page with admin and Prometheus.

import { closeQuietly, delay, td } from "../../_helpers/client.ts";

/** A raw TCP server on 127.0.0.1 running `handler` per connection. */
export class RawServer {
  readonly port: number;
  #l: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #handlers = new Set<Promise<void>>();
  #loop: Promise<void>;

  constructor(handler: (c: Deno.TcpConn) => Promise<void>) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#l = l;
    this.port = (l.addr as Deno.NetAddr).port;
    this.#loop = (async () => {
      for (;;) {
        let c: Deno.TcpConn;
        try {
          c = await l.accept();
        } catch {
          return;
        }
        this.#conns.add(c);
        const p: Promise<void> = handler(c).catch(() => {}).finally(() => {
          this.#conns.delete(c);
          closeQuietly(c);
          this.#handlers.delete(p);
        });
        this.#handlers.add(p);
      }
    })();
  }

  async close(): Promise<void> {
    closeQuietly(this.#l);
    await this.#loop;
    for (const c of this.#conns) closeQuietly(c);
    await Promise.all([...this.#handlers]);
  }
}

/** Reads request heads (no bodies) from `c`; null at EOF. */
export function headReader(c: Deno.Conn): () => Promise<string | null> {
  let buf = "";
  const chunk = new Uint8Array(4096);
  return async () => {
    for (;;) {
      const i = buf.indexOf("\r\n\r\n");
      if (i >= 0) {
        const h = buf.slice(0, i + 4);
        buf = buf.slice(i + 4);
        return h;
      }
      let n: number | null;
      try {
        n = await c.read(chunk);
      } catch {
        return null;
      }
      if (n === null) return null;
      buf += td.decode(chunk.subarray(0, n));
    }
  };
}

/** Waits until `pred` holds (polling), or throws naming `what`. */
export async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(20);
  }
}

export const STATS_FE = `    stats: { uri: /stats, admin: true, prometheus: /metrics }`;
