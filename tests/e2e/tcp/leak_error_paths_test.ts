// Resource leaks on error paths: client resets at every stage, server
// closes and partial responses, 504 / 400 / 408 replies, refused and
// timed-out connects, queue timeouts and aborts while queued, rule replies
// and an early 413 with a lingering close.
//
// After a few hundred sessions through one error path the proxy must be back
// to its idle baseline, observed from outside the process: no session counted
// (actconn, frontend, backend and server `cur`), no queued stream, no pooled
// buffer in use beyond what the stats request itself holds, and no file
// descriptor beyond the baseline (listeners) once the stub servers closed
// their side. Every scenario asserts against a baseline taken right after
// start-up; the stats request is answered by a separate frontend
// (`fe_stats`).

import { delay } from "../../_helpers/client.ts";
import { assertIdle, GET, many, rawRequest, sendAndClose, withEnv } from "./_leak.ts";

Deno.test("leak: client resets mid-request head, mid-body and mid-response", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    await many(100, 20, (i) => sendAndClose(port, "GET /ok HTTP/1.1\r\nHo", i % 3));
    await many(
      100,
      20,
      (i) =>
        sendAndClose(
          port,
          "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nabc",
          i % 3,
        ),
    );
    await many(100, 20, (i) => sendAndClose(port, GET("/bigbody"), 5 + (i % 5)));
    await many(60, 20, () => sendAndClose(port, GET("/hang"), 20));
    await assertIdle(e, "client resets");
  });
});

Deno.test("leak: server closes (502), partial responses, 504 and 400/408 replies", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    await many(
      100,
      20,
      () => rawRequest(port, GET("/close", "Connection: close\r\n")).then(() => {}),
    );
    await many(
      100,
      20,
      () => rawRequest(port, GET("/partial", "Connection: close\r\n")).then(() => {}),
    );
    await many(
      40,
      20,
      () => rawRequest(port, GET("/hang", "Connection: close\r\n")).then(() => {}),
    );
    await many(100, 20, () => rawRequest(port, "BLAH\x01 / HTTP/1.1\r\n\r\n").then(() => {}));
    await many(40, 20, () => rawRequest(port, "GET /ok HTTP/1.1\r\n", 1000).then(() => {}));
    await assertIdle(e, "server errors / error replies");
  });
});

Deno.test("leak: connect refused with retries, connect timeouts, queue timeouts and aborts while queued", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    await many(
      60,
      20,
      () => rawRequest(port, GET("/dead", "Connection: close\r\n")).then(() => {}),
    );
    await many(40, 20, () => rawRequest(port, GET("/bh", "Connection: close\r\n")).then(() => {}));
    // Connect abandoned by the client while it is in flight.
    await many(60, 20, () => sendAndClose(port, GET("/bh"), 50));
    // One stream holds be_q's only slot; the others queue and time out or leave.
    const holder = sendAndClose(port, GET("/q/hang"), 1500);
    await delay(100);
    await many(
      60,
      20,
      () => rawRequest(port, GET("/q/ok", "Connection: close\r\n")).then(() => {}),
    );
    await many(60, 20, () => sendAndClose(port, GET("/q/ok"), 40));
    await holder;
    await assertIdle(e, "connect failures / queue");
  });
});

Deno.test("leak: http-request deny/return/redirect, early 413 during upload (lingering close)", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    for (const p of ["/deny", "/ret", "/redir"]) {
      await many(60, 20, () => rawRequest(port, GET(p), 600).then(() => {}));
    }
    // deny while a body is still being uploaded: lingering close, client leaves.
    await many(
      60,
      20,
      (i) =>
        sendAndClose(
          port,
          "POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(3000),
          i % 2 ? 0 : 30,
        ),
    );
    await many(
      60,
      20,
      () =>
        sendAndClose(
          port,
          "POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(3000),
          30,
        ),
    );
    await assertIdle(e, "rules / early replies");
  });
});
