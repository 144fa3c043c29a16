// Shared tools of the HTTP/2 end-to-end tests: an HTTP/1.1 origin with the
// routes the tests need, the proxy configuration with an h2c bind in front
// of it, and a runner for the real clients (curl, nghttp, h2load).
//
// Origin routes: `/slow/MS` answers after MS ms, `/big/N` streams N bytes
// (a fixed pattern), `/up` answers "LENGTH SHA256 TRANSFER" of the request
// body, `/head` answers the request head it received, anything else
// "hello PATH".

import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

export interface Origin {
  readonly port: number;
  /** Requests seen, in arrival order (method and path). */
  readonly seen: string[];
  /** Bytes of /big bodies produced so far (what the proxy took from the origin). */
  readonly produced: { bytes: number };
  close(): Promise<void>;
}

/** The byte at offset i of a /big body. */
export function bigByte(i: number): number {
  return (i * 31 + (i >>> 13)) & 0xff;
}

export function startOrigin(): Origin {
  const seen: string[] = [];
  const produced = { bytes: 0 };
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const u = new URL(req.url);
      seen.push(`${req.method} ${u.pathname}${u.search}`);
      const parts = u.pathname.split("/");
      if (parts[1] === "slow") {
        await new Promise((r) => setTimeout(r, Number(parts[2])));
        return new Response(`slow ${parts[2]}\n`);
      }
      if (parts[1] === "big") {
        const total = Number(parts[2]);
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (sent >= total) return c.close();
            const n = Math.min(65536, total - sent);
            const b = new Uint8Array(n);
            for (let i = 0; i < n; i++) b[i] = bigByte(sent + i);
            sent += n;
            produced.bytes += n;
            c.enqueue(b);
          },
        });
        return new Response(body, { headers: { "content-length": String(total) } });
      }
      if (parts[1] === "up") {
        const data = new Uint8Array(await req.arrayBuffer());
        const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
        const hex = Array.from(sum, (x) => x.toString(16).padStart(2, "0")).join("");
        return new Response(`${data.length} ${hex}`);
      }
      if (parts[1] === "head") {
        const lines = [...req.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
        return new Response(`${req.method} ${u.pathname}\n${lines}\n`);
      }
      return new Response(`hello ${u.pathname}\n`, { headers: { "content-type": "text/plain" } });
    },
  );
  return {
    port: server.addr.port,
    seen,
    produced,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

/** A proxy with one h2c frontend `fe` in front of the server on 127.0.0.1:`port`. */
export function h2cProxyTo(port: number): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0 proto h2", default_backend: be }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${port}" } ] }
`);
}

/** A proxy with frontend `fe` (h2c bind) and `plain` (HTTP/1.1) in front of `origin`. */
export function h2Proxy(
  origin: Origin,
  global = "",
  fe = "",
  plain = "",
): Promise<ProxyProcess> {
  return startProxy(`
global:
  log: stdout
${global}
defaults:
  mode: http
  timeout: { connect: 2s, client: 20s, server: 20s, http-request: 10s, http-keep-alive: 10s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0 proto h2"
    default_backend: be
${fe}
  plain:
    bind: "127.0.0.1:0"
    default_backend: be
${plain}
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${origin.port}" }
`);
}

/**
 * One origin and one h2Proxy() with `global` lines, started by the first
 * port() of a test file and shared by its cases (each opens its own
 * connection); close() ends both (the file's last test).
 */
export class SharedH2Proxy {
  readonly #global: string;
  #origin: Origin | null = null;
  proxy: ProxyProcess | null = null;

  constructor(global: string) {
    this.#global = global;
  }

  /** The `fe` frontend's port, starting the proxy on first use. */
  async port(): Promise<number> {
    if (this.proxy === null) {
      this.#origin = startOrigin();
      this.proxy = await h2Proxy(this.#origin, this.#global);
    }
    return this.proxy.port("fe");
  }

  async close(): Promise<void> {
    await this.proxy?.stop();
    await this.#origin?.close();
  }
}

export interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs a client program to its end (bounded by `timeoutMs`). */
export async function run(
  cmd: string,
  args: string[],
  stdin?: Uint8Array,
  timeoutMs = 60_000,
): Promise<Run> {
  const p = new Deno.Command(cmd, {
    args,
    stdin: stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await p.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

export async function sha256Hex(b: Uint8Array): Promise<string> {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(sum, (x) => x.toString(16).padStart(2, "0")).join("");
}
