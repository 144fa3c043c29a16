// Set-up shared by the TLS end-to-end tests: an HTTP backend that serves a
// seeded body of any size and hashes uploads, and curl run as a real client.

import { createHash } from "node:crypto";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { bytesOf } from "../http/_bytes.ts";

/** Deterministic bytes (http/_bytes.ts's xorshift, seed 12345), the body of GET /big?n=N. */
export function seeded(n: number): Uint8Array<ArrayBuffer> {
  return bytesOf(n, 12345);
}

/** SHA-256 (hex) of a byte array. */
export { sha256Hex as sha256 } from "../../_helpers/client.ts";

/**
 * A backend on 127.0.0.1: GET /big?n=N answers N seeded bytes; POST
 * answers the SHA-256 and length of the body; anything else "ok <path>".
 */
export function backend(): { port: number; close(): Promise<void> } {
  const ac = new AbortController();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const u = new URL(req.url);
      if (req.method === "POST") {
        const h = createHash("sha256");
        let n = 0;
        for await (const c of req.body ?? new ReadableStream<Uint8Array>()) {
          h.update(c);
          n += c.length;
        }
        return new Response(`${h.digest("hex")} ${n}`);
      }
      if (u.pathname === "/big") return new Response(seeded(Number(u.searchParams.get("n"))));
      return new Response(`ok ${u.pathname}`);
    },
  );
  return {
    port: srv.addr.port,
    close: async () => {
      ac.abort();
      await srv.finished;
    },
  };
}

/** Runs curl; returns its exit code, stdout and stderr. */
export async function curl(
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command("curl", {
    args: ["-sS", "--max-time", "60", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const o = await child.output();
  const td = new TextDecoder();
  return { code: o.code, out: td.decode(o.stdout), err: td.decode(o.stderr) };
}

/**
 * The configuration of the TLS tests: HTTP frontend `fe` with `bind` (the
 * YAML value as written: a quoted string or a flow list) and the lines
 * `feLines` after it, sending everything to backend `be`, one server `s1` at
 * 127.0.0.1:`srvPort` with `server` appended to its options; `timeout
 * client` is `clientTimeout` (default 30s). The bind stands on line 7,
 * value at column 11 (the error positions the tests assert).
 */
export function proxyConfig(
  bind: string,
  srvPort: number,
  opts: { feLines?: string[]; server?: string; clientTimeout?: string } = {},
): string {
  return [
    "global: { log: stdout }",
    "defaults:",
    "  mode: http",
    `  timeout: { connect: 5s, client: ${opts.clientTimeout ?? "30s"}, server: 30s }`,
    "frontends:",
    "  fe:",
    `    bind: ${bind}`,
    ...(opts.feLines ?? []),
    "    default_backend: be",
    "backends:",
    "  be:",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${srvPort}"${
      opts.server === undefined ? "" : `, ${opts.server}`
    } }`,
    "",
  ].join("\n");
}

/**
 * Starts the proxy on `yaml` with its TLS binds on `route`: "deno" is the
 * runtime's listener (SLUICE_TLS_LISTENER=deno, single-certificate binds),
 * "node" the default node:tls one.
 */
export function startOnRoute(route: "deno" | "node", yaml: string): Promise<ProxyProcess> {
  if (route === "deno") Deno.env.set("SLUICE_TLS_LISTENER", "deno");
  return startProxy(yaml).finally(() => Deno.env.delete("SLUICE_TLS_LISTENER"));
}
