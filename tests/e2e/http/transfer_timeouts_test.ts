// Timeouts during a body transfer: timeout server / timeout client never
// fire while the proxy itself stopped reading that side (back-pressure from
// a slow peer), timeout client bounds a trickling upload, and after a 100
// Continue the server timeout restarts with the body.
//
// The reference is HAProxy: an inactivity timeout blames the side that is
// idle (never the side that waits because the proxy stopped reading for lack
// of room), the keep-alive timer starts once the response is out, %TR and
// %Ta start at the first byte of the request, %B is what reached the client,
// and the stats count what the log lines say.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { delay as sleep, te, writeFull } from "../../_helpers/client.ts";
import { ByteReader, connectHttp, get, httpStub, latin1, logsOf } from "./_http.ts";
import { pattern, proxyFor } from "./_timeouts.ts";

// A client that pauses reading a large response for longer than `timeout
// server` (but well under `timeout client`): the response channel fills, the
// proxy stops reading the server because it has no room, and the server side
// looks idle. #serverExpiry (stream.ts) still counts from the server side's
// last activity, so the stream is aborted as "sD" and the response is cut.
// HAProxy disables the server read timeout while the buffer is full
// (si_update_rx: rex = ETERNITY when blocked on room): only `timeout client`
// may end it, and here the client is not idle for that long.
Deno.test("timeout server never fires while the proxy stops reading the server because the client reads slowly", async () => {
  const SIZE = 8 * 1024 * 1024;
  const big = pattern(SIZE);
  const s1 = httpStub("s1", { respond: () => ({ body: big }) });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 300ms, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/big", ["Connection: close"]));
    const head = await c.reader.readHead();
    assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 200"), "a 200 head");
    await sleep(1000); // the client is busy elsewhere, not idle for timeout client
    const rest = await c.reader.readToEof();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(rest.length, SIZE, `body bytes received; log: ${log!.line}`);
    assert.equal(log!.tsc, "----", log!.line);
    assert.equal(log!.bytes, head.length + rest.length, `%B vs the wire: ${log!.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// The same for an upload: the server does not read the request body for a
// moment (it is busy), the request channel fills and the proxy stops reading
// the client. #clientExpiry counts `timeout client` from the client's last
// activity although it is the proxy that does not read: the upload is
// aborted as "cD", blaming the client.
Deno.test("timeout client never fires while the proxy stops reading an upload because the server reads slowly", async () => {
  const SIZE = 8 * 1024 * 1024;
  const body = pattern(SIZE);
  let received = -1;
  const srv = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    const head = await rd.readHead();
    if (head === null) return;
    await sleep(1000); // busy before reading the body
    const got = await rd.readN(SIZE);
    received = got.length;
    await writeFull(
      conn,
      te.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
    );
  });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 300ms, server: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    const upload = c.send(
      `POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${SIZE}\r\n\r\n`,
    ).then(() => c.send(body, 8000)).catch((e) => e);
    const r = await c.readResponse("POST", 8000).catch((e) => e);
    await upload;
    const [log] = await logsOf(proxy, c.localPort);
    assert.ok(!(r instanceof Error), `response: ${r}; log: ${log!.line}`);
    assert.equal(`${r.status} ${r.text}`, "200 ok", log!.line);
    assert.equal(received, SIZE, log!.line);
    assert.equal(log!.tsc, "----", log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await srv.close();
  }
});

Deno.test("timeout client (not http-request, not server) applies to an upload that trickles", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 400ms, server: 400ms, http-request: 300ms",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    const N = 10;
    await c.send(`POST /trickle HTTP/1.1\r\nHost: a\r\nContent-Length: ${N * 10}\r\n\r\n`);
    for (let i = 0; i < N; i++) {
      await sleep(150); // 1.5 s in all: longer than every timeout, no gap as long as one
      await c.send(`${i}`.repeat(10));
    }
    const r = await c.readResponse("POST", 3000);
    assert.equal(`${r.status} ${r.text}`, "200 s1 POST /trickle");
    assert.equal(s1.requests[0]!.body.length, N * 10);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----", log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("100-continue: the server timeout restarts with the body, then 504 sH after it; %B counts the interim response", async () => {
  let bodyAt = 0;
  const srv = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    const head = await rd.readHead();
    if (head === null) return;
    await sleep(200);
    await writeFull(conn, te.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    await rd.readN(10);
    bodyAt = performance.now();
    await rd.readToEof().catch(() => {}); // never answers
  });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 400ms",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(
      "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    const h1 = await c.reader.readHead();
    assert.ok(h1 !== null && latin1(h1).startsWith("HTTP/1.1 100"), "the interim response");
    await sleep(300); // < timeout server after the 100, > 400 ms since the request
    await c.send("0123456789");
    const h2 = await c.reader.readHead();
    const t = performance.now();
    assert.ok(h2 !== null && latin1(h2).startsWith("HTTP/1.1 504"), "a 504");
    const rest = await c.reader.readToEof();
    assert.ok(t - bodyAt >= 350, `504 ${Math.round(t - bodyAt)} ms after the body`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(`${log!.status} ${log!.tsc}`, "504 sH--", log!.line);
    assert.equal(log!.bytes, h1.length + h2.length + rest.length, `%B vs the wire: ${log!.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await srv.close();
  }
});
