// Set-up shared by the TCP-mode end-to-end tests: the one-frontend,
// one-backend tcplog configuration, a slow reader that hashes what it gets,
// and the size unit of their transfers.

import { createHash } from "node:crypto";
import { closeQuietly, delay, type HashedRead, withDeadline } from "../../_helpers/client.ts";

/** A TCP-mode proxy: one frontend `fe` on `bind`, backend `be` with `servers` lines. */
export function tcpConfig(opts: {
  bind?: string;
  servers: string[];
  timeouts?: string;
  backendExtra?: string;
}): string {
  return `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { ${opts.timeouts ?? "connect: 1s, client: 5s, server: 5s"} }
  option: [tcplog]
frontends:
  fe:
    bind: "${opts.bind ?? "127.0.0.1:0"}"
    default_backend: be
backends:
  be:
${opts.backendExtra ?? ""}
    servers:
${opts.servers.map((s) => `      - ${s}`).join("\n")}
`;
}

/**
 * Reads and hashes until EOF or a read error, like a slow consumer: nothing
 * for `startMs`, then at most `chunk` bytes per read with `pauseMs` between
 * reads.
 */
export function slowReadHashed(
  conn: Deno.Conn,
  opts: { startMs: number; chunk: number; pauseMs: number },
  deadlineMs = 10_000,
): Promise<HashedRead> {
  return withDeadline(
    async () => {
      await delay(opts.startMs);
      const h = createHash("sha256");
      const buf = new Uint8Array(opts.chunk);
      let count = 0;
      for (;;) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (error) {
          return { sha256: h.digest("hex"), count, end: "reset", error };
        }
        if (n === null) return { sha256: h.digest("hex"), count, end: "eof", error: null };
        h.update(buf.subarray(0, n));
        count += n;
        await delay(opts.pauseMs);
      }
    },
    deadlineMs,
    "reading slowly until EOF",
    () => closeQuietly(conn),
  );
}

export const MiB = 1024 * 1024;
