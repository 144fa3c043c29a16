// Startup failures to bind: the error names the frontend and the address (or
// the unix socket's path), the process exits 1, and no stack trace is shown.
//
// Everything goes through `main.ts` in a child process and real sockets on
// 127.0.0.1; every process and socket a test opens is closed in `finally`.

import assert from "node:assert/strict";
import { echoServer } from "../../_helpers/servers.ts";
import { type ProxyProcess, runCli, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_process.ts";

/** Runs main.ts on configuration text (not `-c`); returns its exit code and output. */
async function runOn(yaml: string, args: string[] = [], timeoutMs = 15_000) {
  const file = await Deno.makeTempFile({ prefix: "sluice-pe-", suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, yaml);
    return { ...(await runCli(["-f", file, ...args], timeoutMs)), file };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

// main.ts / process.ts start(): a bind failure prints only the OS error
// ("sluice: cannot start: Cannot assign requested address (os error 99)"),
// without the frontend or the address, so with several binds the operator
// cannot tell which one failed. HAProxy: "Starting frontend fe: cannot bind
// socket (Cannot assign requested address) [192.0.2.1:8080]".
Deno.test("process: a bind error names the frontend and the address, exit 1", async () => {
  const r = await runOn(tcpConfig(9, { binds: ["127.0.0.1:0", "192.0.2.1:8080"] }));
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "a stack trace was printed");
  assert.match(r.stderr, /192\.0\.2\.1:8080/, `the failing address is not named:\n${r.stderr}`);
  assert.match(r.stderr, /\bfe\b/, `the frontend is not named:\n${r.stderr}`);
});

Deno.test("process: a unix bind in a missing directory names the path, exit 1", async () => {
  const path = `/tmp/sluice-pe-missing-${crypto.randomUUID()}/x.sock`;
  const r = await runOn(tcpConfig(9, { binds: [`unix@${path}`] }));
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "a stack trace was printed");
  assert.ok(r.stderr.includes(path), `the socket path is not named:\n${r.stderr}`);
});

// src/listener/proto_tcp.ts bind(): every TCP listener sets SO_REUSEPORT. A
// second Sluice started on the same address therefore binds next to the first
// one and starts (README: "1 ... startup error (e.g. an address already in
// use)"); the kernel then splits new connections between the two processes.
// Sluice has no reload (-sf) that would need it.
Deno.test("process: a second instance on an address already in use exits 1", async () => {
  const server = echoServer();
  let first: ProxyProcess | undefined;
  let second: ProxyProcess | undefined;
  try {
    first = await startProxy(tcpConfig(server.port));
    const port = first.port("fe");
    let refused = "";
    try {
      second = await startProxy(tcpConfig(server.port, { binds: [`127.0.0.1:${port}`] }), {
        readyTimeoutMs: 10_000,
      });
    } catch (e) {
      refused = e instanceof Error ? e.message : String(e);
    }
    assert.ok(
      second === undefined,
      `the second instance started on 127.0.0.1:${port} too:\n${second?.describe()}`,
    );
    assert.match(refused, /exited \(code 1\)/);
    assert.match(refused, /in use/i);
  } finally {
    await second?.stop();
    await first?.stop();
    await server.close();
  }
});

Deno.test("process: a port held by another program: exit 1, no stack trace", async () => {
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (holder.addr as Deno.NetAddr).port;
    const r = await runOn(tcpConfig(9, { binds: [`127.0.0.1:${port}`] }));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot start: .*in use/i);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  } finally {
    holder.close();
  }
});
