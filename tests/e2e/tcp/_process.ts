// Set-up shared by the tests of the proxy process as an operator meets it
// (maxconn across listeners, bind failures, configuration files, signals):
// a TCP configuration with one echo server behind frontend `fe` and a choice
// of binds, an echo probe, and main.ts run on configuration text.

import { readExactly, td, te, writeAll } from "../../_helpers/client.ts";

/** A TCP proxy config: `fe` with the given binds in front of one echo server. */
export function tcpConfig(
  serverPort: number,
  opts: { binds?: string[]; global?: string; feExtra?: string; srvExtra?: string } = {},
): string {
  const binds = (opts.binds ?? ["127.0.0.1:0"]).map((b) => JSON.stringify(b)).join(", ");
  return `global: { log: stdout${opts.global ?? ""} }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s, queue: 5s }
  option: [tcplog]
frontends:
  fe:
    bind: [${binds}]
    default_backend: be
${opts.feExtra ?? ""}
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${serverPort}"${opts.srvExtra ?? ""} }
`;
}

/** Sends `msg` and expects it echoed within `ms`; returns false when nothing came back. */
export async function echoes(conn: Deno.TcpConn, msg: string, ms: number): Promise<boolean> {
  await writeAll(conn, te.encode(msg));
  try {
    return td.decode(await readExactly(conn, msg.length, ms)) === msg;
  } catch {
    return false;
  }
}
