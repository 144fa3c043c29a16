// Soft stop (SIGQUIT) details and the binary upgrade (`-sf PID`):
// - a connection accepted just before the soft stop, whose first request
//   has not arrived yet, is served (with Connection: close), not closed;
// - with option idle-close-on-response, an idle keep-alive connection stays
//   open and its next request is answered with Connection: close;
// - `sluice -f FILE -sf OLDPID` binds the same port next to the old process
//   (SO_REUSEPORT), which stops listening, finishes its session and exits 0;
//   without -sf, an address in use is still refused; -p writes the PID.

import assert from "node:assert/strict";
import { closeQuietly, connect } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy, startProxyFile } from "../../_helpers/proxy.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { closeAll, feBeConfig, NameServer, serverLines } from "../backends/_common.ts";
import { connectHttp, get, type HttpClient } from "../http/_http.ts";
import { echoes, tcpConfig } from "../tcp/_process.ts";
import { makePki } from "../../_helpers/tls.ts";

/**
 * Sluice in front of one name server (`frontend`: more lines of fe), a
 * keep-alive client on it for `body`, which stops the proxy softly; then
 * the proxy must exit 0. Everything is stopped and closed afterwards.
 */
async function softStop(
  frontend: string,
  body: (proxy: ProxyProcess, c: HttpClient) => Promise<void>,
): Promise<void> {
  const s1 = new NameServer("s1");
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({ servers: serverLines([s1]), frontend }));
    const c = await connectHttp(proxy.port("fe"));
    try {
      await body(proxy, c);
    } finally {
      c.close();
    }
    assert.equal((await proxy.waitExit(10_000)).code, 0);
  } finally {
    await proxy?.stop();
    await closeAll([s1]);
  }
}

Deno.test("soft stop: a connection whose first request has not arrived yet is served, with Connection: close", async () => {
  await softStop("", async (proxy, c) => {
    // Accepted by the proxy (it logs nothing yet): wait until it counts it.
    await new Promise((r) => setTimeout(r, 200));
    proxy.kill("SIGQUIT");
    await proxy.waitForStderr(/soft stop/, 5_000);
    const r = await c.request(get("/"));
    assert.equal(r.status, 200);
    assert.equal(r.get("connection"), "close");
  });
});

Deno.test("soft stop with option idle-close-on-response: an idle keep-alive connection gets its next response with Connection: close", async () => {
  await softStop("    option: [idle-close-on-response]", async (proxy, c) => {
    const r1 = await c.request(get("/"));
    assert.equal(r1.status, 200);
    assert.equal(r1.get("connection"), undefined);
    proxy.kill("SIGQUIT");
    await proxy.waitForStderr(/soft stop/, 5_000);
    // Not closed under the client: the next request is answered, then the close.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(proxy.exitStatus, null, "the idle connection was closed");
    const r2 = await c.request(get("/again"));
    assert.equal(r2.status, 200);
    assert.equal(r2.get("connection"), "close");
    const end = await c.readUntilClosed(5_000);
    assert.equal(end.extra.length, 0);
  });
});

Deno.test("binary upgrade: -sf PID binds next to the old process, which finishes its session and exits 0", async () => {
  const server = echoServer();
  let old: ProxyProcess | undefined;
  let next: ProxyProcess | undefined;
  let other: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    const pidfile = await Deno.makeTempFile({ prefix: "sluice-test-", suffix: ".pid" });
    old = await startProxy(tcpConfig(server.port), { args: ["-p", pidfile] });
    const oldPid = Number((await Deno.readTextFile(pidfile)).trim());
    await Deno.remove(pidfile);
    assert.equal(oldPid, old.pid, "-p wrote another PID");
    const port = old.port("fe");
    conn = await connect(port);
    assert.ok(await echoes(conn, "old", 5_000));
    // The same file, a fixed port now: what an operator's upgrade script does.
    const file = await Deno.makeTempFile({ prefix: "sluice-test-", suffix: ".yaml" });
    await Deno.writeTextFile(file, tcpConfig(server.port, { binds: [`127.0.0.1:${port}`] }));
    try {
      // Without -sf the address in use is refused.
      other = await startProxyFile(file, { readyTimeoutMs: 10_000 }).catch(() => undefined);
      assert.equal(other, undefined, "a second instance bound a port in use");
      next = await startProxyFile(file, { args: ["-sf", String(oldPid)] });
      await next.waitForStderr(
        new RegExp(`sent SIGQUIT \\(soft stop\\) to old process ${old.pid}`),
      );
      await old.waitForStderr(/soft stop/, 10_000);
      // The old process still serves its session, then exits once it ends.
      assert.ok(await echoes(conn, "still", 5_000), "the old session broke");
      assert.equal(old.exitStatus, null);
      closeQuietly(conn);
      conn = undefined;
      assert.equal((await old.waitExit(10_000)).code, 0, old.describe());
      // New connections reach the new process.
      const c2 = await connect(port);
      try {
        assert.ok(await echoes(c2, "new", 5_000));
      } finally {
        closeQuietly(c2);
      }
      assert.equal(next.exitStatus, null);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await other?.stop();
    await next?.stop();
    await old?.stop();
    await server.close();
  }
});

Deno.test("binary upgrade over TLS: -sf PID takes over an ssl bind; the old process finishes and exits 0", async () => {
  const s1 = new NameServer("s1");
  const pki = await makePki();
  const leaf = await pki.leaf("localhost", ["localhost"]);
  let old: ProxyProcess | undefined;
  let next: ProxyProcess | undefined;
  let other: ProxyProcess | undefined;
  const tlsConfig = (bind: string) =>
    feBeConfig({ servers: serverLines([s1]) }).replace(
      'bind: "127.0.0.1:0"',
      `bind: "${bind} ssl crt ${leaf.pem}"`,
    );
  const curl = async (port: number) => {
    const out = await new Deno.Command("curl", {
      args: ["-sk", "--resolve", `localhost:${port}:127.0.0.1`, `https://localhost:${port}/`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout);
  };
  try {
    old = await startProxy(tlsConfig("127.0.0.1:0"));
    const port = old.port("fe");
    assert.match(await curl(port), /s1/);
    const file = await Deno.makeTempFile({ prefix: "sluice-test-", suffix: ".yaml" });
    await Deno.writeTextFile(file, tlsConfig(`127.0.0.1:${port}`));
    try {
      // Without -sf the TLS address in use is refused, as a cleartext one is.
      other = await startProxyFile(file, { readyTimeoutMs: 10_000 }).catch(() => undefined);
      assert.equal(other, undefined, "a second instance bound a TLS port in use");
      next = await startProxyFile(file, { args: ["-sf", String(old.pid)] });
      assert.equal((await old.waitExit(10_000)).code, 0, old.describe());
      assert.match(await curl(port), /s1/, "the new process serves HTTPS on the same port");
      assert.equal(next.exitStatus, null);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  } finally {
    await other?.stop();
    await next?.stop();
    await old?.stop();
    await closeAll([s1]);
    await Deno.remove(pki.dir, { recursive: true }).catch(() => {});
  }
});
