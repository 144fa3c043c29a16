// Half-closes in a tunnel: a FIN from one side reaches the other after all
// its bytes while the other direction keeps flowing, also when the client's
// FIN comes before the CONNECT's 200.

import assert from "node:assert/strict";
import {
  delay as sleep,
  latin1,
  sha256Hex as sha256,
  te,
  writeFull,
} from "../../_helpers/client.ts";
import { connectHttp, logsOf } from "./_http.ts";
import { bytesOf, within } from "./_bytes.ts";
import {
  CONNECT_REQ,
  drain,
  OK_200,
  open,
  proxyFor,
  SWITCH_101,
  tunnelServer,
  UPGRADE_REQ,
} from "./_tunnel.ts";

Deno.test("tunnel: client half-closes first; the server gets all then FIN, and its 2 MiB reply still flows back", async () => {
  const up = bytesOf(2 * 1024 * 1024, 7), down = bytesOf(2 * 1024 * 1024, 9);
  const srv = tunnelServer(SWITCH_101, async (conn, rd) => {
    const got = await drain(rd); // to the client's FIN
    await sleep(200);
    await writeFull(conn, down);
    await conn.closeWrite();
    return got;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await writeFull(c.conn, up);
    await c.conn.closeWrite();
    const sgot = await within(srv.done, 10_000, "server to EOF");
    assert.equal(sgot.end, "eof");
    assert.equal(sha256(sgot.data), sha256(up));
    const got = await within(drain(c.reader), 10_000, "client to EOF");
    assert.equal(got.end, "eof");
    assert.equal(got.data.length, down.length);
    assert.equal(sha256(got.data), sha256(down));
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("tunnel: server half-closes first (right after the 200); the client gets all then EOF, and its 2 MiB still reach the server", async () => {
  const up = bytesOf(2 * 1024 * 1024, 11), down = bytesOf(2 * 1024 * 1024, 13);
  const srv = tunnelServer(OK_200, async (conn, rd) => {
    await writeFull(conn, down);
    await conn.closeWrite();
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const got = await within(drain(c.reader), 10_000, "client to EOF");
    assert.equal(got.end, "eof");
    assert.equal(sha256(got.data), sha256(down));
    await sleep(200);
    await writeFull(c.conn, up);
    await c.conn.closeWrite();
    const sgot = await within(srv.done, 10_000, "server to EOF");
    assert.equal(sgot.end, "eof");
    assert.equal(sgot.data.length, up.length);
    assert.equal(sha256(sgot.data), sha256(up));
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----");
    assert.equal(log!.bytes, OK_200.length + down.length);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("CONNECT: client FIN right after its request (before the 200); tunnel still forms, server gets early bytes then FIN", async () => {
  const srv = tunnelServer(OK_200 + "HELLO", async (conn, rd) => {
    const got = await drain(rd);
    await writeFull(conn, te.encode("BYE"));
    return got;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(CONNECT_REQ + "EARLY");
    await c.conn.closeWrite();
    const head = latin1((await within(c.reader.readHead(), 3000, "200"))!);
    assert.match(head, /^HTTP\/1\.1 200 /);
    const sgot = await within(srv.done, 5000, "server to EOF");
    assert.equal(latin1(sgot.data), "EARLY");
    const got = await within(drain(c.reader), 5000, "client to EOF");
    assert.equal(latin1(got.data), "HELLOBYE");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});
