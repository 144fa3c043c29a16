// The command line as a user meets it: version, help, usage errors, `-c`
// configuration checks with file:line:col messages, and the SIGQUIT soft stop
// (stop listening, let open sessions finish, then exit 0).

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  readExactly,
  readToEof,
  td,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { tcpConfig } from "./_common.ts";
import {
  checkConfig,
  logLineOf,
  parseTcpLog,
  pollUntil,
  type ProxyProcess,
  REPO_ROOT,
  runCli,
  startProxy,
} from "../../_helpers/proxy.ts";

const EXAMPLE = new URL("../../../config.example.yaml", import.meta.url).pathname;

Deno.test("cli: -v prints the version and exits 0", async () => {
  const r = await runCli(["-v"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^sluice \d+\.\d+\.\d+\s*$/);
});

Deno.test("cli: -h prints the usage and exits 0", async () => {
  const r = await runCli(["-h"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: sluice -f FILE/);
  assert.match(r.stdout, /-c, --check/);
});

Deno.test("cli: an unknown flag prints the usage on stderr and exits 2", async () => {
  const r = await runCli(["--no-such-flag"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-such-flag/);
  assert.match(r.stderr, /Usage: sluice -f FILE/);
  assert.equal(r.stdout, "");
});

Deno.test("cli: -f is required", async () => {
  const r = await runCli([]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: sluice -f FILE/);
});

Deno.test("cli: -c accepts config.example.yaml (exit 0)", async () => {
  const r = await runCli(["-c", "-f", EXAMPLE]);
  assert.equal(r.code, 0, `stderr:\n${r.stderr}`);
  assert.match(r.stdout, /valid/i);
  assert.doesNotMatch(r.stderr, /error/i);
});

Deno.test("cli: -c on a broken config exits 1 and reports every error at file:line:col", async () => {
  // line numbers matter: the errors are on lines 4, 8 and 9
  const r = await checkConfig(`global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 5 parsecs, client: 1s, server: 1s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: nowhere
    bogus_key: 1
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:1" }
`);
  assert.equal(r.code, 1, `stderr:\n${r.stderr}`);
  const at = (line: number) => new RegExp(`${RegExp.escape(r.file)}:${line}:\\d+: error\\b`);
  assert.match(r.stderr, at(4), "bad duration not reported at line 4");
  assert.match(r.stderr, at(8), "dangling default_backend not reported at line 8");
  assert.match(r.stderr, at(9), "unknown key not reported at line 9");
  assert.match(r.stderr, /5 parsecs/);
  assert.match(r.stderr, /nowhere/);
  assert.match(r.stderr, /bogus_key/);
});

Deno.test("cli: -c on a missing file exits 1", async () => {
  const r = await runCli(["-c", "-f", `${REPO_ROOT}/no/such/file.yaml`]);
  assert.equal(r.code, 1, `stderr:\n${r.stderr}`);
  assert.match(r.stderr, /no\/such\/file\.yaml/);
});

Deno.test("cli: SIGQUIT stops listening, lets the open session finish, then exits 0", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}" }`],
      timeouts: "connect: 1s, client: 10s, server: 10s",
    }));
    const port = proxy.port("fe");
    conn = await connect(port);
    const localPort = (conn.localAddr as Deno.NetAddr).port;
    await writeAll(conn, te.encode("one"));
    assert.equal(td.decode(await readExactly(conn, 3)), "one");

    proxy.kill("SIGQUIT");

    // The listener goes away: new connections are refused. (A connect that
    // still slips in before that is closed at once and we try again.)
    await pollUntil(
      async () => {
        try {
          closeQuietly(await connect(port, 1_000));
          return undefined;
        } catch (e) {
          if (e instanceof Deno.errors.ConnectionRefused) return true;
          throw e;
        }
      },
      5_000,
      "new connections to be refused after SIGQUIT",
    );
    assert.equal(proxy.exitStatus, null, "the proxy exited with a session still open");

    // The open session still works both ways and ends normally.
    await writeAll(conn, te.encode("two"));
    assert.equal(td.decode(await readExactly(conn, 3)), "two");
    await closeWrite(conn);
    assert.equal((await readToEof(conn)).length, 0);

    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort)));
    assert.equal(log.ts, "--", log.line);
    assert.equal(log.bytes, 6, log.line);

    const status = await proxy.waitExit(5_000);
    assert.equal(status.code, 0, proxy.describe());
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
});
