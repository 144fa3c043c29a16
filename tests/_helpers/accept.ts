// The accept loop of the stub servers (TCP, HTTP, WebSocket): listens on
// 127.0.0.1, runs a handler per connection and closes the connection when its
// handler ends. A handler's failure goes to `onError` (never out of the loop,
// like a real server). `close()` stops accepting, closes every open connection
// and awaits every handler, so a test that calls it in `finally` leaves no op
// or resource behind.

import { closeQuietly } from "./client.ts";

export interface AcceptLoopOptions {
  /** Port to listen on; default 0 (any free port). */
  port?: number;
  /** A handler failed; `closing` says whether close() had been called by then. */
  onError?: (e: unknown, index: number, closing: boolean) => void;
  /** The handler of connection `index` has ended and the connection is closed. */
  onEnd?: (index: number) => void;
}

/** Accepts connections on 127.0.0.1 and serves each with `serve(conn, index)` (index from 0). */
export class AcceptLoop {
  readonly port: number;
  /** Connections accepted so far. */
  accepted = 0;
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #handlers = new Set<Promise<void>>();
  #loop: Promise<void>;
  #closing = false;

  constructor(
    serve: (conn: Deno.TcpConn, index: number) => Promise<void>,
    opts: AcceptLoopOptions = {},
  ) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: opts.port ?? 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#loop = this.#run(serve, opts);
  }

  /** True once close() was called. */
  get closing(): boolean {
    return this.#closing;
  }

  async #run(
    serve: (conn: Deno.TcpConn, index: number) => Promise<void>,
    opts: AcceptLoopOptions,
  ): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return; // listener closed
        // One connection's failure (a client that reset before the accept):
        // the next one is served, as the proxy itself does (issue 14).
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      if (this.#closing) {
        closeQuietly(conn);
        return;
      }
      const index = this.accepted++;
      this.#conns.add(conn);
      const p: Promise<void> = serve(conn, index)
        .catch((e) => opts.onError?.(e, index, this.#closing))
        .finally(() => {
          this.#conns.delete(conn);
          closeQuietly(conn);
          this.#handlers.delete(p);
          opts.onEnd?.(index);
        });
      this.#handlers.add(p);
    }
  }

  /** Stops accepting, closes all connections, awaits all handlers. */
  async close(): Promise<void> {
    this.#closing = true;
    closeQuietly(this.#listener);
    await this.#loop;
    for (const c of this.#conns) closeQuietly(c);
    await Promise.all([...this.#handlers]);
  }
}
