// Set-up shared by the stick-table tests: HAProxy 2.6 started beside Sluice
// on the same rules, and a burst of keep-alive requests from several
// clients that reconnect after each refusal (both proxies close after a
// deny), counting the answers by status. `sideBySide()` runs both
// proxies for one test and stops them (and the test's servers) afterwards;
// `haproxyFe()` and `sluiceFe()` write the one-frontend, one-backend
// configuration most comparisons use, in each proxy's syntax.

import { connectHttp, HTTP_DEFAULTS, type HttpClient } from "../http/_http.ts";
import { closeQuietly } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { freePort, startHaproxyConfig } from "../../_helpers/haproxy.ts";

/** A running haproxy -db on a temporary file. */
export interface Haproxy {
  readonly port: number;
  /** Every `…PORT` word of the configuration and the port it became. */
  readonly ports: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * Starts `haproxy -db` with `cfg` (which must bind 127.0.0.1:PORT; every
 * `PORT` and `NAMEPORT` word becomes a free port, found in `ports`) and
 * waits until it accepts connections. A config that also binds `READYPORT`
 * (a listener of its own) is probed there, so that the probe is no
 * connection in the tables under test.
 */
export async function startHaproxy(cfg: string, deadlineMs = 20_000): Promise<Haproxy> {
  const ports: Record<string, number> = {};
  const text = cfg.replace(/\b([A-Z]*PORT)\b/g, (w) => String(ports[w] ??= freePort()));
  const port = ports["PORT"]!;
  const h = await startHaproxyConfig(text, [ports["READYPORT"] ?? port], { deadlineMs });
  return { port, ports, stop: () => h.stop() };
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

/**
 * Starts Sluice on the YAML `sluice` and HAProxy on `haproxy`, runs `body`
 * with both, then stops both and closes `servers`, whether `body` passed or
 * threw.
 */
export async function sideBySide(
  sluice: string,
  haproxy: string,
  body: (p: ProxyProcess, h: Haproxy) => Promise<void>,
  ...servers: Array<{ close(): Promise<void> }>
): Promise<void> {
  let p: ProxyProcess | null = null;
  let h: Haproxy | null = null;
  try {
    p = await startProxy(sluice);
    h = await startHaproxy(haproxy);
    await body(p, h);
  } finally {
    await p?.stop();
    await h?.stop();
    for (const s of servers) await s.close();
  }
}

/** What differs between the side-by-side configurations; the rest is `fe` → `be` on 127.0.0.1. */
export interface FeConfig {
  /** "http" (the default: HTTP_DEFAULTS' timeouts, client 5s) or "tcp" (client and server 10s). */
  mode?: "http" | "tcp";
  /** The frontend's stick-table line, without the keyword. */
  table?: string;
  /** Lines of the frontend after the table, in the proxy's own syntax (YAML: indented 4). */
  frontend?: string[];
  /** Lines of backend `be` before its servers, in the proxy's own syntax. */
  backend?: string[];
  /** The servers of `be`: name and port. */
  servers: Array<[string, number]>;
}

/**
 * HAProxy 2.6's configuration for `c`, with `global` lines first when
 * given, and a `ready` frontend on READYPORT when `ready` (the readiness
 * probe then stays out of fe's table).
 */
export function haproxyFe(c: FeConfig, global: string[] = [], ready = false): string {
  const mode = c.mode ?? "http";
  const t = mode === "http" ? "5s" : "10s";
  return [
    ...(global.length > 0 ? ["global", ...global.map((l) => "  " + l)] : []),
    "defaults",
    `  mode ${mode}`,
    "  timeout connect 1s",
    `  timeout client ${t}`,
    `  timeout server ${t}`,
    "frontend fe",
    "  bind 127.0.0.1:PORT",
    ...(c.table === undefined ? [] : [`  stick-table ${c.table}`]),
    ...(c.frontend ?? []).map((l) => "  " + l),
    "  default_backend be",
    "backend be",
    ...(c.backend ?? []).map((l) => "  " + l),
    ...c.servers.map(([name, port]) => `  server ${name} 127.0.0.1:${port}`),
    ...(ready ? ["frontend ready", "  bind 127.0.0.1:READYPORT", "  default_backend be"] : []),
    "",
  ].join("\n");
}

/** Sluice's configuration for `c` (`frontend` and `backend` are YAML lines indented 4). */
export function sluiceFe(c: FeConfig): string {
  const head = (c.mode ?? "http") === "http" ? HTTP_DEFAULTS : `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
`;
  return [
    head + "frontends:",
    "  fe:",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be",
    ...(c.table === undefined ? [] : [`    stick-table: "${c.table}"`]),
    ...(c.frontend ?? []),
    "backends:",
    "  be:",
    ...(c.backend ?? []),
    "    servers:",
    ...c.servers.map(([name, port]) => `      - { name: ${name}, address: "127.0.0.1:${port}" }`),
    "",
  ].join("\n");
}

/** A YAML block list under `key` at the frontend's indentation, each item quoted as JSON. */
export function yamlList(key: string, items: string[]): string[] {
  return [`    ${key}:`, ...items.map((i) => `      - ${JSON.stringify(i)}`)];
}
