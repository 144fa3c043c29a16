// `timeout client` while the client waits for the server.
//
// A slow server: the client sent its request and waits longer than
// `timeout client` for the response. The wait is not the client's
// inactivity (HAProxy delivers the response); Sluice used to end the stream
// as the response arrived, dropping it while the log said 200 "----".
//
// A client that promises a request body and never sends it (issue 14, item
// 6). The head goes to the server at once, the server waits for the body
// and says nothing. HAProxy keeps waiting for the server while the body is
// missing (the server may answer early): `timeout server` ends it with a 504
// and the log says sH, whatever `timeout client` is. Sluice used to let
// `timeout client` close the client silently (cD) when it fired first or at
// the same time.
import assert from "node:assert/strict";
import { closeQuietly, connect, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { delay } from "../../_helpers/client.ts";
import { silentServer } from "../../_helpers/servers.ts";
import { ByteReader, parseHttpLog } from "./_http.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function config(port: number, client: string, server: string): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: ${client}, server: ${server} }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${port}" }
`;
}

async function stalledUpload(client: string, server: string) {
  const srv = silentServer();
  let proxy: ProxyProcess | undefined;
  let c: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(config(srv.port, client, server));
    c = await connect(proxy.port("fe"));
    const t0 = performance.now();
    await writeFull(c, te.encode("POST /up HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\n"));
    const head = await new ByteReader(c).readHead();
    const ms = performance.now() - t0;
    const log = parseHttpLog(await proxy.waitForLog(/ fe be\/s1 /));
    return { head: head === null ? null : td.decode(head), ms, log };
  } finally {
    if (c !== undefined) closeQuietly(c);
    await proxy?.stop();
    await srv.close();
  }
}

Deno.test("stalled request body: equal client and server timeouts give a 504 logged sH", async () => {
  const { head, log } = await stalledUpload("400ms", "400ms");
  assert.ok(head !== null, `no reply (silent close): ${log.line}`);
  assert.match(head, /^HTTP\/1\.1 504 /, log.line);
  assert.equal(log.status, 504, log.line);
  assert.equal(log.tsc, "sH--", log.line);
});

Deno.test("stalled request body: a shorter timeout client still waits for timeout server (504 sH)", async () => {
  const { head, ms, log } = await stalledUpload("200ms", "900ms");
  assert.ok(head !== null, `no reply (silent close): ${log.line}`);
  assert.match(head, /^HTTP\/1\.1 504 /, log.line);
  assert.equal(log.tsc, "sH--", log.line);
  assert.ok(ms >= 800, `answered after ${ms.toFixed(0)} ms, before timeout server: ${log.line}`);
});

Deno.test("stalled request body: a shorter timeout server answers 504 at its expiry", async () => {
  const { head, ms, log } = await stalledUpload("5s", "300ms");
  assert.match(head ?? "", /^HTTP\/1\.1 504 /, log.line);
  assert.equal(log.tsc, "sH--", log.line);
  assert.ok(ms < 3000, `answered after ${ms.toFixed(0)} ms: ${log.line}`);
});

Deno.test("slow server: a response arriving after timeout client of waiting reaches the client", async () => {
  const srv = new AcceptLoop(async (conn) => {
    const head = await new ByteReader(conn).readHead();
    if (head === null) return;
    await delay(900);
    await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow"));
  });
  let proxy: ProxyProcess | undefined;
  let c: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(config(srv.port, "300ms", "5s"));
    c = await connect(proxy.port("fe"));
    await writeFull(c, te.encode("GET /slow HTTP/1.1\r\nhost: t\r\n\r\n"));
    const rd = new ByteReader(c);
    const head = await rd.readHead();
    const log = parseHttpLog(await proxy.waitForLog(/ fe be\/s1 /));
    assert.ok(head !== null, `the response was dropped: ${log.line}`);
    assert.match(td.decode(head), /^HTTP\/1\.1 200 /);
    assert.equal(td.decode(await rd.readN(4)), "slow");
    assert.equal(log.tsc, "----", log.line);
  } finally {
    if (c !== undefined) closeQuietly(c);
    await proxy?.stop();
    await srv.close();
  }
});
