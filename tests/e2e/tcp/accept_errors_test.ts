// accept() errors and the listener (issue 14, item 1): a client that connects
// and resets before the proxy accepts it makes accept() fail with ENOTCONN.
// That error concerns one connection: the listener must go on to the next
// one at once. It used to sleep 100 ms per such error, so a few resets a
// second stalled every frontend (a remote denial of service).
//
// The resets are made to land in the listen backlog deterministically: a
// frontend with maxconn 1 has its only slot taken, so the listener does not
// accept while the resets (and then a legitimate client) queue up. When the
// slot frees, the listener walks through the reset connections before it
// reaches the legitimate one (the accept queue is made long enough to hold
// them: it would be maxconn, 1, by default).

import assert from "node:assert/strict";
import {
  closeQuietly,
  connect,
  delay,
  readExactly,
  td,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import { resetConnections } from "../../_helpers/reset_client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { logLineOf, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

function config(serverPort: number): string {
  return `global: { log: stdout, maxconn: 1 }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe:
    bind: ["127.0.0.1:0 backlog 128"]
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${serverPort}" }
`;
}

Deno.test("accept errors: resets queued before accept do not delay the next client", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(config(server.port));
    const port = proxy.ports.get("fe")![0]!;
    // The only slot: the listener stops accepting.
    const holder = await connect(port);
    conns.push(holder);
    await writeAll(holder, te.encode("h"));
    assert.equal(td.decode(await readExactly(holder, 1, 3_000)), "h");
    // 60 connections reset while they wait in the backlog: 60 ENOTCONN
    // accept errors to come, 6 s of pauses with the old 100 ms sleep.
    const made = await resetConnections(port, 60);
    assert.ok(made >= 50, `only ${made} reset connections were made`);
    const client = await connect(port); // queued behind them
    conns.push(client);
    await writeAll(client, te.encode("ping"));
    const t0 = performance.now();
    closeQuietly(holder); // frees the slot: the listener accepts again
    const echoed = td.decode(await readExactly(client, 4, 5_000));
    const waited = performance.now() - t0;
    assert.equal(echoed, "ping");
    // Generous: without pauses this takes a few ms; with them, 5 s or more.
    assert.ok(waited < 2_000, `the client behind ${made} resets waited ${waited.toFixed(0)} ms`);
    // The proxy is still healthy: a second legitimate client is served.
    closeQuietly(client);
    const again = await connect(port);
    conns.push(again);
    await writeAll(again, te.encode("ok"));
    assert.equal(td.decode(await readExactly(again, 2, 3_000)), "ok");
    // A per-connection accept error is not a warning (a storm would flood stderr).
    assert.ok(
      !proxy.stderr.some((l) => l.includes("accept() failed")),
      `unexpected accept warnings: ${proxy.stderr.join("\n")}`,
    );
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});

/** Lowers the open-file limit of a running process (util-linux prlimit). */
async function limitFiles(pid: number, n: number): Promise<void> {
  const out = await new Deno.Command("prlimit", {
    args: [`--pid=${pid}`, `--nofile=${n}:${n}`],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`prlimit failed: ${td.decode(out.stderr)}`);
}

/** Descriptors open in `pid` (reading /proc/PID/fd directly needs --allow-all). */
async function openFiles(pid: number): Promise<number> {
  const out = await new Deno.Command("ls", { args: [`/proc/${pid}/fd`], stdout: "piped" }).output();
  return td.decode(out.stdout).trim().split("\n").length;
}

Deno.test("accept errors: out of descriptors pauses the listener, a session end resumes it", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(config(server.port).replace("maxconn: 1", "maxconn: 1000"));
    const port = proxy.ports.get("fe")![0]!;
    // Room for a few sessions (two descriptors each) above what is open now.
    await limitFiles(proxy.pid, (await openFiles(proxy.pid)) + 6);
    const tLimited = performance.now();
    // Clients arrive one by one; each sends a byte and waits for its echo
    // without giving up (a deadline would close the socket).
    const echoes: Promise<string>[] = [];
    let served = 0;
    for (let i = 0; i < 8; i++) {
      const c = await connect(port);
      conns.push(c);
      await writeAll(c, te.encode("x"));
      const p = readExactly(c, 1, 5_000).then((b) => td.decode(b));
      p.catch(() => {});
      echoes.push(p);
      const early = await Promise.race([
        p.then(() => true, () => false),
        delay(700).then(() => false),
      ]);
      if (early) served++;
    }
    assert.ok(served >= 1 && served < 8, `served ${served} of 8 under the descriptor limit`);
    await proxy.waitForStderr(/accept\(\) failed on fe .*Too many open files/, 3_000);
    // The served clients leave: descriptors free up and the listener resumes:
    // the waiting clients are accepted. Each then either gets its echo, or,
    // when it took a descriptor its server connection needed, ends with RC
    // (no socket for the server: HAProxy's resource error, retried at once).
    const waitingPorts = conns.slice(served).map((c) => (c.localAddr as Deno.NetAddr).port);
    for (let i = 0; i < served; i++) closeQuietly(conns[i]!);
    const outcomes = await Promise.all(echoes.slice(served).map((p) => p.catch(() => "")));
    const echoed = outcomes.filter((o) => o === "x").length;
    const refused = waitingPorts.filter((port, i) =>
      outcomes[i] !== "x" && proxy!.logs.some((l) =>
        logLineOf(port).test(l) && / RC /.test(l)
      )
    ).length;
    assert.ok(
      echoed + refused >= 1,
      `no waiting client was accepted once descriptors freed:\n${proxy.logs.join("\n")}`,
    );
    // The warning is rate-limited: one line for the burst, not one per failed accept.
    // The listener retried every 100 ms at most (or at each session end).
    const warnings = proxy.stderr.filter((l) => l.includes("accept() failed")).length;
    const seconds = (performance.now() - tLimited) / 1000;
    assert.ok(
      warnings <= Math.ceil(seconds) + 1,
      `${warnings} accept warnings in ${seconds.toFixed(1)} s (at most one a second)`,
    );
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});
