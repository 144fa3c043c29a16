// Set-up shared by the HTTP framing tests: a proxy in front of a list of
// servers (one backend, roundrobin) with adjustable timeouts and sections,
// a writer that trickles slices, and a chunked encoder.

import { concat, te } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

export interface ProxyOpts {
  global?: string;
  client?: string;
  server?: string;
  fe?: string;
  be?: string;
}

/** A proxy in front of the servers on `ports` (one backend, roundrobin). */
export function proxyFor(ports: number[], o: ProxyOpts = {}): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout${o.global ?? ""} }
defaults:
  mode: http
  timeout: { connect: 1s, client: ${o.client ?? "5s"}, server: ${
    o.server ?? "5s"
  }, http-request: 2s, http-keep-alive: 2s, tunnel: 5s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
${o.fe ?? ""}
backends:
  be:
    balance: roundrobin
${o.be ?? ""}
    servers:
${ports.map((p, i) => `      - { name: s${i + 1}, address: "127.0.0.1:${p}" }`).join("\n")}
`);
}

/** A chunked encoding of `body` with the given chunk sizes, extensions and trailers. */
export function chunked(body: Uint8Array, sizes: number[], ext = "", trailers = ""): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0, k = 0;
  while (off < body.length) {
    const n = Math.min(sizes[k++ % sizes.length]!, body.length - off);
    parts.push(
      te.encode(`${n.toString(16)}${ext}\r\n`),
      body.subarray(off, off + n),
      te.encode("\r\n"),
    );
    off += n;
  }
  parts.push(te.encode(`0${ext}\r\n${trailers}\r\n`));
  return concat(parts);
}
