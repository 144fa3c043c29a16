// Between requests on a keep-alive connection: timeout http-keep-alive
// closes an idle connection without a log line, and timeout http-request
// then times a slow next request.
//
// The reference is HAProxy: an inactivity timeout blames the side that is
// idle (never the side that waits because the proxy stopped reading for lack
// of room), the keep-alive timer starts once the response is out, %TR and
// %Ta start at the first byte of the request, %B is what reached the client,
// and the stats count what the log lines say.

import assert from "node:assert/strict";
import { connectHttp, get, httpStub, latin1, logsOf } from "./_http.ts";
import { delay as sleep } from "../../_helpers/client.ts";
import { proxyFor } from "./_timeouts.ts";

Deno.test("http-keep-alive closes an idle connection without a log line; http-request then times a slow follow-up head (408 cR)", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, http-request: 300ms, http-keep-alive: 600ms",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await a.request(get("/a"), "GET", 3000)).text, "s1 GET /a");
      const t = performance.now();
      const end = await a.readUntilClosed(3000);
      const idle = performance.now() - t;
      assert.equal(`${end.end} ${end.extra.length}`, "eof 0");
      assert.ok(idle >= 500 && idle < 1500, `closed after ${Math.round(idle)} ms`);
      await sleep(100);
      assert.equal((await logsOf(proxy, a.localPort)).length, 1);
      assert.equal(proxy.logs.filter((l) => l.includes(`:${a.localPort} [`)).length, 1);
    } finally {
      a.close();
    }
    const b = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await b.request(get("/b"), "GET", 3000)).text, "s1 GET /b");
      await sleep(400); // idle, under http-keep-alive
      const t = performance.now();
      await b.send("GET /slow-head HTTP/1.1\r\nHost: a\r\n");
      const head = await b.reader.readHead();
      const waited = performance.now() - t;
      assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 408"), "a 408");
      const rest = await b.reader.readToEof();
      assert.ok(waited >= 250, `408 after ${Math.round(waited)} ms, before http-request`);
      const logs = await logsOf(proxy, b.localPort, 2);
      const l = logs[1]!;
      assert.equal(`${l.status} ${l.tsc}`, "408 cR--", l.line);
      assert.equal(l.bytes, head.length + rest.length, `%B vs the wire: ${l.line}`);
    } finally {
      b.close();
    }
  } finally {
    await proxy.stop();
    await s1.close();
  }
});
