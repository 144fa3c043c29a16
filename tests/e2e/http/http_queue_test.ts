// HTTP requests waiting in a server queue (server maxconn): a client that
// leaves is dropped from the queue (option abortonclose) or leaks nothing
// (without it), and a keep-alive client frees its slot at the end of each
// response.
//
// The reference is HAProxy: an inactivity timeout blames the side that is
// idle (never the side that waits because the proxy stopped reading for lack
// of room), the keep-alive timer starts once the response is out, %TR and
// %Ta start at the first byte of the request, %B is what reached the client,
// and the stats count what the log lines say.

import assert from "node:assert/strict";
import { connectHttp, get, logsOf } from "./_http.ts";
import { delay as sleep } from "../../_helpers/client.ts";
import { be, gatedServer, proxyFor, stats } from "./_timeouts.ts";

// `option abortonclose` is accepted and documented ("drop a queued or
// connecting request when the client goes away", keywords.ts) but nothing in
// src/ reads it: a complete request stops the client reads (CF_DONT_READ,
// httpReqForwardBody), so a queued client that leaves is never noticed. Its
// entry stays in the queue, it takes the next free slot and its request
// reaches the server for nobody. HAProxy keeps reading with abortonclose and
// drops the request (CQ).
Deno.test("option abortonclose: a queued client that leaves is dropped from the queue and never reaches the server", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
    backendExtra: "    option: [abortonclose]",
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    await b.send(get("/b"));
    await sleep(150);
    assert.equal(be(await stats(proxy)).queueCur, 1, "the second request is queued");
    b.close(); // the client gives up
    await sleep(300);
    const q = be(await stats(proxy)).queueCur;
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    await sleep(300);
    const lb = proxy.logs.find((l) => l.startsWith(`127.0.0.1:${b.localPort} `)) ?? "";
    assert.deepEqual(
      { queued: q, seen: srv.seen, tsc: lb.split(" ")[9] ?? "" },
      { queued: 0, seen: ["GET /slow"], tsc: "CQ--" },
      lb,
    );
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

Deno.test("maxconn 1 with a keep-alive client: the slot is freed at the end of each response, the queued client proceeds", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    const rb = b.request(get("/b"), "GET", 3000);
    await sleep(200);
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    // a keeps its connection idle: b must not wait for it to close.
    assert.equal((await rb).text, "srv /b");
    assert.equal((await a.request(get("/a2"), "GET", 3000)).text, "srv /a2");
    const [lb] = await logsOf(proxy, b.localPort);
    assert.equal(lb!.tsc, "----", lb!.line);
    assert.equal(lb!.srvQueue, 1, lb!.line);
    assert.ok(lb!.tw >= 150, `Tw ${lb!.tw}: ${lb!.line}`);
    const s = be(await stats(proxy));
    assert.equal(`${s.servers[0]!.curSessions} ${s.queueCur}`, "0 0", "slots and queue after");
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

Deno.test("a queued client that leaves (no abortonclose) leaks no slot and no queue entry", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    await b.send(get("/b"));
    await sleep(150);
    b.close();
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    a.close();
    await logsOf(proxy, b.localPort);
    const c = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await c.request(get("/c"), "GET", 3000)).text, "srv /c");
    } finally {
      c.close();
    }
    await sleep(100);
    const s = be(await stats(proxy));
    assert.equal(`${s.servers[0]!.curSessions} ${s.queueCur}`, "0 0", "slots and queue after");
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});
