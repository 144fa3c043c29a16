// Set-up shared by the resource leak tests: a raw HTTP origin whose
// behaviour per request is chosen by the path, a proxy with HTTP, TCP and
// stats frontends in front of it, a blackhole and a dead server, snapshots
// of the proxy's counters, buffers and file descriptors, the wait for the
// idle baseline, and clients that send and go away.

import assert from "node:assert/strict";
import { closeQuietly, connect, delay, te, writeAll } from "../../_helpers/client.ts";
import { blackholeServer, deadPort, type StubServer } from "../../_helpers/servers.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

/** A raw HTTP origin whose behaviour per request is chosen by the path. */
export class Origin {
  readonly listener: Deno.Listener;
  readonly port: number;
  readonly conns = new Set<Deno.Conn>();
  #loop: Promise<void>;

  constructor() {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.listener.addr as Deno.NetAddr).port;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await this.listener.accept();
      } catch {
        return;
      }
      this.conns.add(c);
      this.#serve(c).catch(() => {}).finally(() => {
        this.conns.delete(c);
        closeQuietly(c);
      });
    }
  }

  async #serve(c: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(65536);
    let acc = "";
    for (;;) {
      const n = await c.read(buf);
      if (n === null) return;
      acc += new TextDecoder("latin1").decode(buf.subarray(0, n));
      for (;;) {
        const end = acc.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = acc.slice(0, end);
        acc = acc.slice(end + 4);
        const path = head.split(" ")[1] ?? "/";
        const cl = /content-length:\s*(\d+)/i.exec(head);
        if (cl !== null && !path.startsWith("/early")) {
          // Drain the body (simple: wait until it is all in acc).
          const want = Number(cl[1]);
          while (acc.length < want) {
            const m = await c.read(buf);
            if (m === null) return;
            acc += new TextDecoder("latin1").decode(buf.subarray(0, m));
          }
          acc = acc.slice(want);
        }
        if (path.startsWith("/ok")) {
          await writeAll(c, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        } else if (path.startsWith("/close")) {
          return; // no response: 502
        } else if (path.startsWith("/hang")) {
          await new Promise(() => {}); // never answers (closed by closeAll)
        } else if (path.startsWith("/partial")) {
          await writeAll(
            c,
            te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000)),
          );
          await delay(20);
          return;
        } else if (path.startsWith("/bigbody")) {
          await writeAll(
            c,
            te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(100000)),
          );
        } else if (path.startsWith("/early")) {
          await writeAll(
            c,
            te.encode(
              "HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig",
            ),
          );
          return;
        } else if (path.startsWith("/ws")) {
          await writeAll(
            c,
            te.encode(
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            ),
          );
          if (path.startsWith("/ws-srvclose")) {
            await delay(10);
            return;
          }
          // echo
          for (;;) {
            const m = await c.read(buf);
            if (m === null) return;
            await writeAll(c, buf.slice(0, m));
          }
        } else {
          await writeAll(c, te.encode("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
        }
      }
    }
  }

  /** Closes every connection the proxy opened to this origin. */
  closeAll(): void {
    for (const c of this.conns) closeQuietly(c);
    this.conns.clear();
  }

  async stop(): Promise<void> {
    closeQuietly(this.listener);
    this.closeAll();
    await this.#loop;
  }
}

export interface Snapshot {
  actconn: number;
  used: number;
  fe: Record<string, number>;
  be: Record<string, { cur: number; queue: number; srvCur: number; srvQueue: number }>;
}

export async function rawRequest(port: number, req: string, maxMs = 2000): Promise<string> {
  const c = await connect(port);
  try {
    await writeAll(c, te.encode(req));
    const buf = new Uint8Array(65536);
    let out = "";
    const end = Date.now() + maxMs;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        c.read(buf).catch(() => null),
        new Promise<null>((r) => timer = setTimeout(() => r(null), left)),
      ]);
      clearTimeout(timer);
      if (n === null) break;
      out += new TextDecoder("latin1").decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    closeQuietly(c);
  }
}

export async function snapshot(p: ProxyProcess): Promise<Snapshot> {
  const text = await rawRequest(
    p.port("fe_stats"),
    "GET /stats;json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const j = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
  const pools = [j.process.pool, j.process.smallPool, j.process.bulkPool];
  assert.equal(typeof j.process.pool?.used, "number", "stats JSON exposes process.pool.used");
  const snap: Snapshot = {
    actconn: j.process.actconn,
    used: pools.reduce((a: number, x: { used?: number }) => a + (x?.used ?? 0), 0),
    fe: {},
    be: {},
  };
  for (const f of j.frontends) snap.fe[f.name] = f.curSessions;
  for (const b of j.backends) {
    let srvCur = 0, srvQueue = 0;
    for (const s of b.servers) {
      srvCur += s.curSessions;
      srvQueue += s.queueCur;
    }
    snap.be[b.name] = { cur: b.curSessions, queue: b.queueCur, srvCur, srvQueue };
  }
  return snap;
}

/**
 * The proxy's file descriptor links (`/proc/PID/fd`), listed by `ls`: Deno's
 * permissions refuse /proc/PID/fd to anything short of --allow-all, and the
 * suite runs with --allow-run, not --allow-all.
 */
export function fdLinks(pid: number): string[] {
  const out = new Deno.Command("ls", { args: ["-l", `/proc/${pid}/fd`], stderr: "null" })
    .outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(" -> "));
}

export function fdCount(pid: number): number {
  return fdLinks(pid).length;
}

/** Sockets of the proxy process (fd links to socket:[...]). */
export function socketCount(pid: number): number {
  return fdLinks(pid).filter((l) => l.includes("-> socket:")).length;
}

export interface Env {
  proxy: ProxyProcess;
  origin: Origin;
  blackhole: StubServer;
  base: Snapshot;
  baseSockets: number;
}

export function config(origin: number, blackhole: number, dead: number): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 200ms, client: 1s, server: 400ms, http-request: 400ms, http-keep-alive: 200ms, tunnel: 1s, queue: 150ms }
  option: [httplog]
frontends:
  fe_stats:
    bind: "127.0.0.1:0"
    stats: { uri: /stats }
  fe_http:
    bind: "127.0.0.1:0"
    http-request:
      - 'deny if { path /deny }'
      - 'return status 200 content-type text/plain string ok if { path /ret }'
      - 'redirect location /moved code 302 if { path /redir }'
    use_backend:
      - "be_dead if { path_beg /dead }"
      - "be_bh if { path_beg /bh }"
      - "be_q if { path_beg /q }"
    default_backend: be_app
  fe_tcp:
    bind: "127.0.0.1:0"
    mode: tcp
    default_backend: be_tcp
backends:
  be_app:
    servers:
      - { name: s1, address: "127.0.0.1:${origin}" }
  be_q:
    servers:
      - { name: s1, address: "127.0.0.1:${origin}", maxconn: 1 }
  be_dead:
    retries: 2
    servers:
      - { name: s1, address: "127.0.0.1:${dead}" }
  be_bh:
    retries: 1
    servers:
      - { name: s1, address: "127.0.0.1:${blackhole}" }
  be_tcp:
    mode: tcp
    servers:
      - { name: s1, address: "127.0.0.1:${origin}" }
`;
}

export async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const origin = new Origin();
  const blackhole = await blackholeServer();
  let proxy: ProxyProcess | null = null;
  try {
    proxy = await startProxy(config(origin.port, blackhole.port, deadPort()));
    await snapshot(proxy); // warm up (first stats request may carve buffers)
    await delay(50);
    const base = await snapshot(proxy);
    const e: Env = { proxy, origin, blackhole, base, baseSockets: socketCount(proxy.pid) };
    await fn(e);
  } finally {
    await proxy?.stop();
    await origin.stop();
    await blackhole.close();
  }
}

/** Waits until the proxy is back to its idle baseline (or fails with the difference). */
export async function assertIdle(e: Env, what: string, timeoutMs = 3000): Promise<void> {
  e.origin.closeAll(); // parked server connections go away with it
  const end = Date.now() + timeoutMs;
  let last: Snapshot | null = null;
  let sockets = -1;
  for (;;) {
    last = await snapshot(e.proxy);
    sockets = socketCount(e.proxy.pid);
    const beBusy = Object.entries(last.be).filter(([, b]) =>
      b.cur !== 0 || b.queue !== 0 || b.srvCur !== 0 || b.srvQueue !== 0
    );
    const ok = last.actconn === e.base.actconn && last.fe.fe_http === 0 &&
      last.fe.fe_tcp === 0 && beBusy.length === 0 && last.used <= e.base.used &&
      sockets <= e.baseSockets;
    if (ok) return;
    if (Date.now() > end) break;
    await delay(100);
  }
  assert.fail(
    `${what}: not back to idle after ${timeoutMs} ms\nbaseline ${
      JSON.stringify(e.base)
    } sockets ${e.baseSockets}\nnow      ${JSON.stringify(last)} sockets ${sockets} (fds ${
      fdCount(e.proxy.pid)
    })`,
  );
}

/** Runs `n` clients of `one`, `par` at a time. */
export async function many(
  n: number,
  par: number,
  one: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await one(i).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: par }, worker));
}

/** Sends `req`, optionally waits for `waitMs` or some bytes, then closes. */
export async function sendAndClose(port: number, req: string, waitMs: number): Promise<void> {
  const c = await connect(port);
  try {
    await writeAll(c, te.encode(req));
    if (waitMs > 0) await delay(waitMs);
  } finally {
    closeQuietly(c);
  }
}

export const GET = (p: string, extra = "") => `GET ${p} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
