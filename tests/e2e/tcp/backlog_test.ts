// The listen backlog (issue 14, item 4). It used to be Deno's default, 511,
// whatever maxconn said: under a flood of idle connections against a small
// maxconn the kernel completed hundreds of handshakes the proxy would not
// serve for a long time, and legitimate clients queued behind them. As in
// HAProxy the accept queue is now as long as the frontend's maxconn (else the
// global one), or the bind line's `backlog`; beyond it the kernel drops SYNs
// and clients retry.

import assert from "node:assert/strict";
import { closeQuietly, connect, readExactly, td, te, writeAll } from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

function config(serverPort: number, bind: string, feMaxconn: number): string {
  return `global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe:
    bind: ["${bind}"]
    maxconn: ${feMaxconn}
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${serverPort}" }
`;
}

/** The accept-queue length of the socket listening on 127.0.0.1:port, from `ss -ltn` (Send-Q). */
async function listenBacklog(port: number): Promise<number> {
  const out = await new Deno.Command("ss", { args: ["-ltnH", `sport = :${port}`], stdout: "piped" })
    .output();
  const line = td.decode(out.stdout).trim().split("\n")[0] ?? "";
  const cols = line.split(/\s+/);
  return Number(cols[2]);
}

/** Tries `n` connections at once; resolves to those whose handshake completed within `ms`. */
async function flood(port: number, n: number, ms: number): Promise<Deno.TcpConn[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const tries = await Promise.allSettled(
    Array.from(
      { length: n },
      () => Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal }),
    ),
  );
  clearTimeout(timer);
  return tries.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
}

Deno.test("backlog: the accept queue follows the frontend's maxconn and the bind's backlog", async () => {
  const server = echoServer();
  let a: ProxyProcess | undefined, b: ProxyProcess | undefined;
  try {
    a = await startProxy(config(server.port, "127.0.0.1:0", 7));
    assert.equal(await listenBacklog(a.port("fe")), 7);
    b = await startProxy(config(server.port, "127.0.0.1:0 backlog 13", 7));
    assert.equal(await listenBacklog(b.port("fe")), 13);
  } finally {
    await a?.stop();
    await b?.stop();
    await server.close();
  }
});

Deno.test("backlog: a flood against a small maxconn gets no more handshakes than maxconn and the queue", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(config(server.port, "127.0.0.1:0", 4));
    const port = proxy.port("fe");
    // Four sessions take the frontend's four slots.
    for (let i = 0; i < 4; i++) {
      const c = await connect(port);
      conns.push(c);
      await writeAll(c, te.encode("s"));
      assert.equal(td.decode(await readExactly(c, 1, 3_000)), "s");
    }
    // A flood of 60: only the accept queue (4, plus the one Linux allows
    // beyond it) completes; with the old 511 all 60 did.
    const got = await flood(port, 60, 600);
    conns.push(...got);
    assert.ok(got.length <= 8, `${got.length} of 60 flood connections completed their handshake`);
    assert.ok(got.length >= 1, "not even the accept queue took a connection");
    // A session ends: a queued client is served.
    closeQuietly(conns.shift()!);
    const queued = got[0]!;
    await writeAll(queued, te.encode("q"));
    assert.equal(td.decode(await readExactly(queued, 1, 3_000)), "q");
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});
