// Where HTTP ends and the tunnel begins: a CONNECT 200 forms a tunnel
// whatever its Content-Length says, bytes that look like HTTP inside a
// tunnel go through raw and no keep-alive follows a tunnel; an upgrade
// refused with 200 or 400 leaves a normal keep-alive HTTP connection.

import assert from "node:assert/strict";
import { delay as sleep, latin1, te, writeFull } from "../../_helpers/client.ts";
import { connectHttp, get, httpStub, logsOf } from "./_http.ts";
import { within } from "./_bytes.ts";
import {
  CONNECT_REQ,
  drain,
  open,
  proxyFor,
  SWITCH_101,
  tunnelServer,
  UPGRADE_REQ,
} from "./_tunnel.ts";

Deno.test("CONNECT: a 200 with Content-Length: 0 still forms a tunnel (the length is ignored for CONNECT 2xx)", async () => {
  const srv = tunnelServer(
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHELLO",
    async (conn, rd) => {
      const b = await rd.readN(4);
      await writeFull(conn, b);
      return latin1(b);
    },
  );
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    assert.equal(latin1(await within(c.reader.readN(5), 3000, "HELLO")), "HELLO");
    await c.send("PING");
    assert.equal(latin1(await within(c.reader.readN(4), 3000, "echo")), "PING");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("tunnel: HTTP-looking bytes inside it go through raw; no keep-alive once it ends", async () => {
  const inner = get("/inner");
  let accepted = 0;
  const srv = tunnelServer(SWITCH_101, async (conn, rd) => {
    accepted++;
    const b = await rd.readN(inner.length);
    await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    return latin1(b);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await c.send(inner);
    assert.equal(await within(srv.done, 3000, "inner bytes"), inner);
    const got = await within(drain(c.reader), 3000, "EOF after the tunnel ends");
    assert.equal(latin1(got.data), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert.equal(got.end, "eof");
    assert.equal(accepted, 1);
    c.close();
    const logs = await logsOf(proxy, c.localPort);
    assert.equal(logs.length, 1);
    await sleep(300);
    assert.equal(proxy.logs.filter((l) => l.includes(`:${c.localPort} [`)).length, 1);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

for (const status of [200, 400]) {
  Deno.test(`Upgrade refused with ${status}: the connection goes on as HTTP keep-alive`, async () => {
    const s1 = httpStub("s1", {
      respond: (r) => r.target === "/ws" ? { status, body: "nope" } : {},
    });
    const proxy = await proxyFor(s1.port);
    const c = await connectHttp(proxy.port("fe"));
    try {
      await c.send(UPGRADE_REQ);
      const r1 = await c.readResponse("GET", 3000);
      assert.equal(r1.status, status);
      assert.equal(r1.text, "nope");
      assert.notEqual(r1.get("connection")?.toLowerCase(), "close");
      await c.send(get("/next"));
      const r2 = await c.readResponse("GET", 3000);
      assert.equal(`${r2.status} ${r2.text}`, "200 s1 GET /next");
      const logs = await logsOf(proxy, c.localPort, 2);
      assert.deepEqual(logs.map((l) => `${l.status} ${l.tsc}`), [`${status} ----`, "200 ----"]);
    } finally {
      c.close();
      await proxy.stop();
      await s1.close();
    }
  });
}
