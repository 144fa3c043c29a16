// Accounting of responses that do not complete: the log counts the bytes
// the client received (not those queued for it), and a 200 whose body
// stalls counts as a 2xx response and a response error.
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
import { be, type Counts, fe, pattern, proxyFor, type Snap, stats } from "./_timeouts.ts";

/** Sum of one response class over fe, be and every server of be. */
function classes(s: Snap, cls: keyof Counts): string {
  const b = be(s);
  return `fe=${fe(s).httpResponses[cls]} be=${b.httpResponses[cls]} ${
    b.servers.map((x) => `${x.name}=${x.httpResponses[cls]}`).join(" ")
  }`;
}

// %B is computed when the line is written, from what was queued for the
// client (res.totalOut + res.out + the prefix left, stream.ts #log); on an
// abort the queued bytes are then erased (#abort) and never sent: the line
// counts bytes the client never received.
Deno.test("an aborted response logs the bytes the client received, not the bytes queued for it", async () => {
  const SIZE = 8 * 1024 * 1024;
  const big = pattern(SIZE);
  const s1 = httpStub("s1", { respond: () => ({ body: big }) });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 300ms, server: 5s",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/big", ["Connection: close"]));
    const head = await c.reader.readHead();
    assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 200"), "a 200 head");
    await sleep(1000); // idle for longer than timeout client: cD
    const [log] = await logsOf(proxy, c.localPort);
    let rest = 0;
    try {
      rest = (await c.reader.readToEof()).length;
    } catch {
      rest = -1; // a reset: what arrived is unknown
    }
    assert.equal(log!.tsc, "cD--", log!.line);
    assert.ok(rest >= 0, "the proxy closed with a reset");
    assert.equal(log!.bytes, head.length + rest, `%B vs the wire: ${log!.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// A response whose body stalls (sD) or is cut (SD) had its status sent to the
// client, but countStatus() is only called from endTxn() and #sendReply():
// the 2xx is missing from the fe/be/server counters while the log line says
// 200 (HAProxy counts txn->status at the end of every transaction). And the
// stall is not counted as a response error at all (countServerError() is
// called for SD, not for sD in #checkTimeouts).
Deno.test("counters: a 200 whose body stalls (sD) counts as a 2xx response and a response error", async () => {
  const srv = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    if ((await rd.readHead()) === null) return;
    await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"));
    await rd.readToEof().catch(() => {}); // then silent until the proxy closes
  });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 300ms",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/stall"));
    const got = await c.readUntilClosed(3000);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "sD--", log!.line);
    assert.equal(log!.status, 200, log!.line);
    assert.equal(log!.bytes, got.extra.length, `%B vs the wire: ${log!.line}`);
    const s = await stats(proxy);
    assert.deepEqual(
      {
        requests: fe(s).httpRequests,
        "2xx": classes(s, "2xx"),
        respErrors: `be=${be(s).respErrors} s1=${be(s).servers[0]!.respErrors}`,
      },
      { requests: 1, "2xx": "fe=1 be=1 s1=1", respErrors: "be=1 s1=1" },
    );
  } finally {
    c.close();
    await proxy.stop();
    await srv.close();
  }
});
