// Set-up shared by the TCP-mode end-to-end tests: the one-frontend,
// one-backend tcplog configuration, a slow reader that hashes what it gets,
// and the size unit of their transfers.

import { type HashedRead, readHashed, type ReadPace } from "../../_helpers/client.ts";

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
  pace: ReadPace,
  deadlineMs = 10_000,
): Promise<HashedRead> {
  return readHashed(conn, deadlineMs, pace);
}

export const MiB = 1024 * 1024;
