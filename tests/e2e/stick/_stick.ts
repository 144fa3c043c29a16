// Set-up shared by the stick-table tests: HAProxy 2.6 started beside Sluice
// on the same rules, and a burst of keep-alive requests from several
// clients that reconnect after each refusal (both proxies close after a
// deny), counting the answers by status.

import { connectHttp, type HttpClient } from "../http/_http.ts";
import { closeQuietly } from "../../_helpers/client.ts";

/** A running haproxy -db on a temporary file. */
export interface Haproxy {
  readonly port: number;
  /** Every `…PORT` word of the configuration and the port it became. */
  readonly ports: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** A port free at the time of asking (HAProxy needs a number in its file). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts `haproxy -db -f FILE` with `cfg` (which must bind 127.0.0.1:PORT;
 * every `PORT` and `NAMEPORT` word becomes a free port, found in `ports`)
 * and waits until it accepts connections. A config that also binds
 * `READYPORT` (a listener of its own) is probed there, so that the probe is
 * no connection in the tables under test.
 */
export async function startHaproxy(cfg: string, deadlineMs = 20_000): Promise<Haproxy> {
  const ports: Record<string, number> = {};
  const text = cfg.replace(/\b([A-Z]*PORT)\b/g, (w) => String(ports[w] ??= freePort()));
  const port = ports["PORT"]!;
  const ready = ports["READYPORT"] ?? port;
  const file = await Deno.makeTempFile({ suffix: ".cfg" });
  await Deno.writeTextFile(file, text);
  const child = new Deno.Command("haproxy", {
    args: ["-db", "-f", file],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errText = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    await status;
    await errText;
    await Deno.remove(file).catch(() => {});
  };
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (exited) {
      throw new Error(`haproxy exited: ${await errText}`);
    }
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: ready });
      c.close();
      return { port, ports, stop };
    } catch {
      if (Date.now() > end) {
        await stop();
        throw new Error("haproxy did not start listening");
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * `total` GET requests from `clients` concurrent keep-alive clients (the
 * first clients take one more when it does not divide). A client opens a
 * new connection after any answer other than 200 and after a close.
 * Returns the count of each status.
 */
export async function burst(
  port: number,
  total: number,
  clients: number,
  path = "/",
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const one = async (n: number) => {
    let c: HttpClient | null = null;
    try {
      for (let i = 0; i < n; i++) {
        if (c === null) c = await connectHttp(port);
        const r = await c.request(`GET ${path} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
        counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        if (r.status !== 200 || (r.get("connection") ?? "").toLowerCase() === "close") {
          closeQuietly(c.conn);
          c = null;
        }
      }
    } finally {
      if (c !== null) closeQuietly(c.conn);
    }
  };
  const per = Math.floor(total / clients);
  const extra = total - per * clients;
  await Promise.all(Array.from({ length: clients }, (_, i) => one(per + (i < extra ? 1 : 0))));
  return counts;
}
