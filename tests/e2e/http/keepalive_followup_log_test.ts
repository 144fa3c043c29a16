// The log line of a follow-up request on a keep-alive connection: its
// timers, queue positions and retries are its own, not the previous
// request's, and one that times out in the queue is logged <NOSRV>.
//
// The reference is HAProxy: an inactivity timeout blames the side that is
// idle (never the side that waits because the proxy stopped reading for lack
// of room), the keep-alive timer starts once the response is out, %TR and
// %Ta start at the first byte of the request, %B is what reached the client,
// and the stats count what the log lines say.

import assert from "node:assert/strict";
import { connectHttp, get, httpStub, logsOf } from "./_http.ts";
import { delay as sleep } from "../../_helpers/client.ts";
import { deadPort } from "../../_helpers/servers.ts";
import { be, gatedServer, proxyFor, stats } from "./_timeouts.ts";

// %TR and %Ta of a follow-up request on a keep-alive connection count from
// the end of the previous response (txn.tWaitStart), not from the first byte
// of this request: the idle time between the two requests shows up as
// request-head time and as active time (docs/logging.md: %TR is "from the
// first byte", %Ta "from the start of the request"; HAProxy keeps the idle
// time apart, in %Ti).
Deno.test("keep-alive: TR and Ta of a follow-up request do not include the idle time before it", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await c.request(get("/a1"), "GET", 3000)).text, "s1 GET /a1");
    await sleep(700);
    assert.equal((await c.request(get("/a2"), "GET", 3000)).text, "s1 GET /a2");
    const logs = await logsOf(proxy, c.localPort, 2);
    const l2 = logs[1]!;
    assert.equal(l2.request, "GET /a2 HTTP/1.1", l2.line);
    assert.ok(l2.tR >= 0 && l2.tR < 300, `TR ${l2.tR} includes the idle time: ${l2.line}`);
    assert.ok(l2.ta >= 0 && l2.ta < 300, `Ta ${l2.ta} includes the idle time: ${l2.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// The queue fields of the log (%Tw from stream.tQueued, %sq/%bq from
// srvQueuePos/beQueuePos) belong to the stream, not to the transaction, and
// are never reset between the requests of a keep-alive connection: a
// follow-up request served at once is logged with the wait and the queue
// positions of an earlier request (stream.ts #log; endTxn /
// httpResetForNextRequest reset none of them).
Deno.test("keep-alive: a follow-up request served at once does not inherit Tw and queue positions of a queued one", async () => {
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
    const rb = b.request(get("/b1"), "GET", 3000);
    await sleep(300);
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    assert.equal((await rb).text, "srv /b1");
    await sleep(100);
    assert.equal((await b.request(get("/b2"), "GET", 3000)).text, "srv /b2");
    const [l1, l2] = await logsOf(proxy, b.localPort, 2);
    assert.ok(l1!.tw >= 250 && l1!.srvQueue === 1, `the first one queued: ${l1!.line}`);
    assert.deepEqual(
      { tw: l2!.tw < 100, srvQueue: l2!.srvQueue, beQueue: l2!.beQueue },
      { tw: true, srvQueue: 0, beQueue: 0 },
      l2!.line,
    );
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

// Same for %rc: stream.retries and stream.redispatched count the whole
// connection, so a request served over the kept connection without any
// retry is logged with the "+1" of the request before it.
Deno.test("keep-alive: a follow-up request without a retry does not inherit the retries of the previous one", async () => {
  const s2 = httpStub("s2");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, http-keep-alive: 5s",
    servers: [
      `name: s1, address: "127.0.0.1:${deadPort()}"`,
      `name: s2, address: "127.0.0.1:${s2.port}"`,
    ],
    backendExtra: "    retries: 1\n    option: [redispatch]",
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await c.request(get("/r1"), "GET", 3000)).text, "s2 GET /r1");
    assert.equal((await c.request(get("/r2"), "GET", 3000)).text, "s2 GET /r2");
    assert.equal(s2.conns.length, 1, "the second request reused the connection");
    const [l1, l2] = await logsOf(proxy, c.localPort, 2);
    assert.equal(`${l1!.redispatched} ${l1!.retries}`, "true 1", l1!.line);
    assert.equal(`${l2!.redispatched} ${l2!.retries} ${l2!.tc}`, "false 0 0", l2!.line);
  } finally {
    c.close();
    await proxy.stop();
    await s2.close();
  }
});

// The same event, a `timeout queue` expiry (sQ), is logged "be/<NOSRV>" for
// the first request of a connection but "be/s1" for a follow-up one:
// tConnStart and srv keep the values of the previous request (#log prints
// the server when tConnStart > 0), and countStatus() then counts the 503 in
// the server's 5xx although the server never answered.
Deno.test("keep-alive: a follow-up request that times out in the queue is logged <NOSRV>, like a first one", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 300ms, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await b.request(get("/b1"), "GET", 3000)).text, "srv /b1");
    await a.send(get("/slow")); // holds the only slot
    await sleep(150);
    const rb = await b.request(get("/b2"), "GET", 3000); // a follow-up: queued, then 503
    const rc = await c.request(get("/c1"), "GET", 3000); // a first request: the same
    assert.equal(`${rb.status} ${rc.status}`, "503 503");
    const [, lb] = await logsOf(proxy, b.localPort, 2);
    const [lc] = await logsOf(proxy, c.localPort);
    assert.equal(`${lc!.server} ${lc!.tsc}`, "<NOSRV> sQ--", lc!.line);
    assert.equal(`${lb!.server} ${lb!.tsc} ${lb!.tc}`, "<NOSRV> sQ-- -1", lb!.line);
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    const s1 = be(await stats(proxy)).servers[0]!;
    assert.equal(
      `2xx=${s1.httpResponses["2xx"]} 5xx=${s1.httpResponses["5xx"]}`,
      "2xx=2 5xx=0",
      "responses counted for s1",
    );
  } finally {
    srv.release();
    a.close();
    b.close();
    c.close();
    await proxy.stop();
    await srv.close();
  }
});
