// SIGHUP reloads the configuration file in place (docs/operations.md):
// a broken file changes nothing; unchanged binds keep their socket, added
// ones open, removed ones close; a session in progress finishes on the old
// objects; counters and server state set at run time carry over by name;
// the health checks of a removed server stop.
//
// Every test runs main.ts in a child process on real sockets (127.0.0.1).

import assert from "node:assert/strict";
import { closeQuietly, connect, delay, te, writeAll } from "../../_helpers/client.ts";
import { pollUntil, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { echoServer } from "../../_helpers/servers.ts";
import {
  adminPost,
  closeAll,
  fetchOnce,
  Gate,
  headerValues,
  HTTP_HEAD,
  HttpConn,
  NameServer,
  type Response,
  serverLines,
  statsJson,
} from "../backends/_common.ts";
import { echoes } from "../tcp/_process.ts";
import { accepts, freePort, reloadWith } from "./_reload.ts";

/** The X-Gen header of a response (which configuration answered). */
function gen(r: Response): string | undefined {
  return headerValues(r.head, "x-gen")[0];
}

/** fe (port 0, plus `binds`) → be with `servers`; `gen` tags every response (X-Gen). */
function httpConfig(
  gen: string,
  servers: string,
  opts: { binds?: string[]; backend?: string; frontend?: string } = {},
): string {
  const binds = ["127.0.0.1:0", ...(opts.binds ?? [])].map((b) => JSON.stringify(b)).join(", ");
  return HTTP_HEAD + `
frontends:
  fe:
    bind: [${binds}]
    default_backend: be
    stats: { uri: /stats, admin: true }
    http-response: ["set-header X-Gen ${gen}"]
${opts.frontend ?? ""}
backends:
  be:
${opts.backend ?? ""}
    servers:
${servers}
`;
}

Deno.test("reload: a broken file keeps the running configuration serving and reports every error with file:line:col", async () => {
  const [s1] = [new NameServer("s1")];
  let proxy: ProxyProcess | undefined;
  try {
    const good = (gen: string) => httpConfig(gen, serverLines([s1]));
    proxy = await startProxy(good("A"));
    const port = proxy.port("fe");
    assert.equal(gen(await fetchOnce(port, "/")), "A");

    let r = await reloadWith(proxy, good("B"));
    assert.ok(r.ok, r.lines.join("\n"));
    assert.equal(gen(await fetchOnce(port, "/")), "B");

    // Two errors at once: both reported, with their position; nothing changes.
    r = await reloadWith(
      proxy,
      good("C").replace("timeout: {", "timeout: { bogus: 1s,").replace(
        "default_backend: be",
        "default_backend: nosuch",
      ),
    );
    assert.equal(r.ok, false, r.lines.join("\n"));
    const text = r.lines.join("\n");
    assert.match(
      text,
      new RegExp(`${proxy.file.replace(/[.]/g, "\\.")}:\\d+:\\d+: error: .*bogus`),
    );
    assert.match(text, /:\d+:\d+: error: .*nosuch/);
    assert.match(
      text,
      /reload failed: 2 error\(s\) in .*; still running on the previous configuration/,
    );
    assert.equal(proxy.exitStatus, null);
    const after = await fetchOnce(port, "/");
    assert.equal(after.status, 200);
    assert.equal(gen(after), "B", "the broken file was applied");
    assert.equal(after.server, "s1");

    // A file that cannot be read: the same.
    await Deno.remove(proxy.file);
    proxy.kill("SIGHUP");
    // (Its own failure line: the one of the reload before says "2 error(s)".)
    await proxy.waitForStderr(/reload failed: 1 error\(s\) in .*still running/, 10_000);
    assert.equal(gen(await fetchOnce(port, "/")), "B");

    // Fixed: the next reload goes through.
    r = await reloadWith(proxy, good("D"));
    assert.ok(r.ok, r.lines.join("\n"));
    assert.equal(gen(await fetchOnce(port, "/")), "D");
  } finally {
    await proxy?.stop();
    await closeAll([s1]);
  }
});

Deno.test("reload: unchanged binds keep their socket, added ones open, removed ones close; an open session finishes on the old objects", async () => {
  const echo = echoServer();
  const echo2 = echoServer();
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    const pRemoved = freePort();
    const pAdded = freePort();
    const tcp = (binds: string[], server: number, name: string) => `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe:
    bind: [${["127.0.0.1:0", ...binds].map((b) => JSON.stringify(b)).join(", ")}]
    default_backend: be
backends:
  be:
    servers:
      - { name: ${name}, address: "127.0.0.1:${server}" }
`;
    proxy = await startProxy(tcp([`127.0.0.1:${pRemoved}`], echo.port, "a1"));
    const kept = proxy.port("fe");
    conn = await connect(kept);
    assert.ok(await echoes(conn, "before", 5_000));

    const r = await reloadWith(proxy, tcp([`127.0.0.1:${pAdded}`], echo2.port, "b1"));
    assert.ok(r.ok, r.lines.join("\n"));
    assert.ok(
      r.lines.some((l) => l.includes(`listening fe 127.0.0.1:${pAdded}`)),
      r.lines.join("\n"),
    );
    assert.ok(
      r.lines.some((l) => l.includes(`closed fe 127.0.0.1:${pRemoved}`)),
      r.lines.join("\n"),
    );
    // The session opened before the reload still works, on its old server.
    assert.ok(await echoes(conn, "after", 5_000), "the open session broke");
    assert.equal(echo.accepted, 1);
    // The kept bind is the same socket (same port 0 resolution), now on the new config.
    assert.ok(await accepts(kept), "the kept bind was closed");
    assert.ok(await accepts(pAdded), "the added bind does not accept");
    assert.equal(await accepts(pRemoved), false, "the removed bind still accepts");
    const c2 = await connect(kept);
    try {
      assert.ok(await echoes(c2, "new", 5_000));
    } finally {
      closeQuietly(c2);
    }
    await pollUntil(
      () => Promise.resolve(echo2.accepted >= 1 ? true : undefined),
      5_000,
      "b1 to be used",
    );
    assert.equal(echo.accepted, 1, "a new session went to the removed server");
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await echo.close();
    await echo2.close();
  }
});

Deno.test("reload: counters and run-time server state carry over by name; checks of a removed server stop", async () => {
  const servers = [new NameServer("s1"), new NameServer("s2"), new NameServer("gone")];
  const [s1, s2, gone] = servers as [NameServer, NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  try {
    const check = () => "check: true, inter: 100ms";
    const a = httpConfig(
      "A",
      `${serverLines([s1, s2])}\n${serverLines([gone], check)}`,
      { backend: `    balance: roundrobin` },
    );
    const b = httpConfig("B", serverLines([s1, s2]), { backend: `    balance: roundrobin` });
    proxy = await startProxy(a);
    const port = proxy.port("fe");
    for (let i = 0; i < 6; i++) assert.equal((await fetchOnce(port, "/")).status, 200);
    // Run-time state: s1 drained.
    assert.equal((await adminPost(port, "be/s1", "drain")).status, 200);
    await proxy.waitForStderr(/Server be\/s1 enters drain state/);
    const before = await statsJson(port);
    const fe0 = before.frontends.find((f) => f.name === "fe")!;
    const tot0 = new Map(before.backends[0]!.servers.map((s) => [s.name, s.totalSessions]));
    assert.ok((tot0.get("s1") ?? 0) > 0 && (tot0.get("gone") ?? 0) > 0, JSON.stringify(before));
    await pollUntil(
      () => Promise.resolve(gone.accepted >= 2 ? true : undefined),
      5_000,
      "gone's checks",
    );

    const r = await reloadWith(proxy, b);
    assert.ok(r.ok, r.lines.join("\n"));
    const after = await statsJson(port);
    const srv = new Map(after.backends[0]!.servers.map((s) => [s.name, s]));
    assert.deepEqual([...srv.keys()], ["s1", "s2"]);
    assert.equal(srv.get("s1")!.status, "DRAIN", "the drain was lost");
    assert.equal(srv.get("s1")!.totalSessions, tot0.get("s1"), "s1's counters restarted");
    assert.equal(srv.get("s2")!.totalSessions, tot0.get("s2"), "s2's counters restarted");
    const fe1 = after.frontends.find((f) => f.name === "fe")!;
    assert.ok(fe1.totalSessions > fe0.totalSessions, "the frontend's counters restarted");
    // Drained: the new configuration's traffic goes to s2 only.
    for (let i = 0; i < 4; i++) {
      const res = await fetchOnce(port, "/");
      assert.equal(res.server, "s2");
      assert.equal(gen(res), "B");
    }
    // The removed server's checks stopped: no new check connection for 10 intervals.
    const n = gone.accepted;
    await new Promise((res) => setTimeout(res, 1_000));
    assert.equal(gone.accepted, n, "the removed server is still checked");
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("reload: a server DOWN by its checks stays DOWN (no traffic to it); a global setting that needs a restart is kept with a warning", async () => {
  const s1 = new NameServer("s1");
  const dead = freePort(); // nothing listens there: its checks fail
  let proxy: ProxyProcess | undefined;
  try {
    const servers = () =>
      `${serverLines([s1])}\n      - { name: dead, address: "127.0.0.1:${dead}", ` +
      `check: true, inter: 100ms, rise: 2, fall: 1 }`;
    proxy = await startProxy(httpConfig("A", servers(), { backend: "    balance: roundrobin" }));
    const port = proxy.port("fe");
    await proxy.waitForStderr(/Server be\/dead is DOWN/, 10_000);
    const r = await reloadWith(
      proxy,
      httpConfig("B", servers(), { backend: "    balance: roundrobin" }).replace(
        "global: { log: stdout }",
        "global: { log: stdout, bufsize: 32768 }",
      ),
    );
    assert.ok(r.ok, r.lines.join("\n"));
    assert.ok(
      r.lines.some((l) => /global\.bufsize changed: takes effect at the next start/.test(l)),
      r.lines.join("\n"),
    );
    const snap = await statsJson(port);
    const st = new Map(snap.backends[0]!.servers.map((s) => [s.name, s.status]));
    assert.equal(st.get("dead"), "DOWN", JSON.stringify(snap.backends[0]));
    // Every request goes to s1 at once: the dead server was not revived by the reload.
    for (let i = 0; i < 6; i++) {
      const res = await fetchOnce(port, "/");
      assert.equal(res.status, 200);
      assert.equal(res.server, "s1");
      assert.equal(gen(res), "B");
    }
  } finally {
    await proxy?.stop();
    await closeAll([s1]);
  }
});

Deno.test("reload: a server's maxconn holds across a reload (the old generation's connection counts; its end serves the new queue)", async () => {
  const gate = new Gate();
  const s1 = new NameServer("s1", { hold: () => gate.wait() });
  let proxy: ProxyProcess | undefined;
  const conns: HttpConn[] = [];
  try {
    const cfg = (g: string) =>
      httpConfig(g, serverLines([s1], () => "maxconn: 1"), {
        backend: "    timeout: { queue: 20s }",
      });
    proxy = await startProxy(cfg("A"));
    const port = proxy.port("fe");
    const c1 = await HttpConn.open(port);
    conns.push(c1);
    const first = c1.get("/old", ["connection: close"], 20_000);
    await s1.waitInflight(1);
    const r = await reloadWith(proxy, cfg("B"));
    assert.ok(r.ok, r.lines.join("\n"));
    // A request on the new configuration waits for the old one's slot.
    const c2 = await HttpConn.open(port);
    conns.push(c2);
    const second = c2.get("/new", ["connection: close"], 20_000);
    await pollUntil(
      async () => ((await statsJson(port)).backends[0]!.queueCur === 1 ? true : undefined),
      10_000,
      "the new request to wait in the queue",
    );
    assert.equal(s1.inflight, 1);
    gate.open();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 200);
    assert.equal(gen(a), "A");
    assert.equal(b.status, 200);
    assert.equal(gen(b), "B");
    assert.equal(s1.maxInflight, 1, `the server got ${s1.maxInflight} requests at once`);
  } finally {
    gate.open();
    for (const c of conns) await c.close().catch(() => {});
    await proxy?.stop();
    await closeAll([s1]);
  }
});

Deno.test("reload: a frontend's maxconn holds across a reload (the old session counts; its end lets the next one in)", async () => {
  const echo = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    const cfg = (name: string) => `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    maxconn: 1
    default_backend: be
backends:
  be:
    servers:
      - { name: ${name}, address: "127.0.0.1:${echo.port}" }
`;
    proxy = await startProxy(cfg("a1"));
    const port = proxy.port("fe");
    const c1 = await connect(port);
    conns.push(c1);
    assert.ok(await echoes(c1, "one", 5_000));
    const r = await reloadWith(proxy, cfg("b1"));
    assert.ok(r.ok, r.lines.join("\n"));
    // The second client waits in the kernel's queue while the old session runs.
    const c2 = await connect(port);
    conns.push(c2);
    await writeAll(c2, te.encode("two"));
    let got = "";
    const reading = (async () => {
      const buf = new Uint8Array(16);
      try {
        while (got.length < 3) {
          const n = await c2.read(buf);
          if (n === null) break;
          got += new TextDecoder().decode(buf.subarray(0, n));
        }
      } catch { /* closed by the finally below */ }
    })();
    await delay(500);
    assert.equal(got, "", "a second session got in beyond maxconn 1");
    closeQuietly(c1);
    await Promise.race([reading, delay(5_000)]);
    assert.equal(got, "two", "the waiting session was not served once the old one ended");
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await echo.close();
  }
});
