// A server that closes a kept-alive connection as the next request reaches
// it (HAProxy's abort_keep_alive, http_ana.c). When the request is not the
// first of its client connection and the server sent not one byte, the
// client connection is closed without a reply: an HTTP client that sees its
// kept-alive connection closed before any response sends the request again,
// while a 502 would reach its user. The first request of a connection still
// gets its 502 (the client cannot tell it from a real failure).
import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { closeQuietly, connect, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { ByteReader, logsOf, parseHttpLog } from "./_http.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** Answers `answered` requests per connection, then closes on the next one's head. */
function closingServer(answered: number): AcceptLoop {
  return new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    for (let i = 0;; i++) {
      const head = await rd.readHead();
      if (head === null || i >= answered) return; // the loop closes the connection
      await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
    }
  });
}

function config(port: number): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s, http-keep-alive: 5s }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${port}" }
`;
}

const REQ = "GET /x HTTP/1.1\r\nhost: t\r\n\r\n";

Deno.test("keep-alive abort: a server closing on the second request closes the client without a 502", async () => {
  const server = closingServer(1);
  let proxy: ProxyProcess | undefined;
  let c: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(config(server.port));
    c = await connect(proxy.port("fe"));
    const rd = new ByteReader(c);
    await writeFull(c, te.encode(REQ));
    const head = td.decode((await rd.readHead())!);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.equal(td.decode(await rd.readN(2)), "ok");
    await writeFull(c, te.encode(REQ));
    // Nothing at all comes back: the connection is closed.
    assert.equal(await rd.readHead(), null, "a reply was sent");
    const logs = await logsOf(proxy, (c.localAddr as Deno.NetAddr).port, 2);
    assert.equal(logs[0]!.status, 200, logs[0]!.line);
    assert.equal(logs[1]!.status, -1, logs[1]!.line);
    assert.equal(logs[1]!.tsc, "SH--", logs[1]!.line);
  } finally {
    if (c !== undefined) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});

Deno.test("keep-alive abort: the first request of a connection still gets a 502", async () => {
  const server = closingServer(0);
  let proxy: ProxyProcess | undefined;
  let c: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(config(server.port));
    c = await connect(proxy.port("fe"));
    const rd = new ByteReader(c);
    await writeFull(c, te.encode(REQ));
    const head = td.decode((await rd.readHead())!);
    assert.match(head, /^HTTP\/1\.1 502 /);
    const log = parseHttpLog(await proxy.waitForLog(/ fe be\/s1 /));
    assert.equal(log.status, 502, log.line);
    assert.equal(log.tsc, "SH--", log.line);
  } finally {
    if (c !== undefined) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});
