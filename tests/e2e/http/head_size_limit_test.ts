// The request head size limit: exactly bufsize - maxrewrite bytes pass with
// forwardfor and set-header rewrites, one more byte does not.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { httpStub as rawStub } from "../../_helpers/http_stub.ts";
import { connectHttp, get } from "./_http.ts";
import { proxyFor } from "./_framing.ts";

// tune.bufsize 16k − maxrewrite 1k: a 15360-byte head is the largest accepted;
// rewrites may then grow it into the reserve.
Deno.test("head size limit: exactly bufsize - maxrewrite passes with forwardfor and set-header, one more byte is 400", async () => {
  const s = rawStub();
  const proxy = await proxyFor([s.port], {
    fe: `    http-request: ["set-header X-Added ${"a".repeat(200)}"]`,
    be: `    option: [forwardfor]`,
  });
  const BASE = "GET /limit HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n";
  const headOf = (size: number) => {
    return BASE.replace("X-Pad: ", `X-Pad: ${"z".repeat(size - BASE.length)}`);
  };
  try {
    const c = await connectHttp(proxy.port("fe"));
    try {
      const head = headOf(15360);
      assert.equal(head.length, 15360);
      const r = await c.request(head + get("/after"), "GET", 3000);
      assert.equal(r.status, 200);
      const req = (await s.requests.waitFor(1, 2000))[0]!;
      assert.equal(req.header("x-pad")[0]!.length, 15360 - BASE.length);
      assert.deepEqual(req.header("x-forwarded-for"), ["127.0.0.1"]);
      assert.equal(req.header("x-added")[0]!.length, 200);
      assert.equal((await c.readResponse("GET", 3000)).status, 200); // the pipelined /after
    } finally {
      c.close();
    }
    const d = await connectHttp(proxy.port("fe"));
    try {
      const r = await d.request(headOf(15361), "GET", 3000);
      assert.equal(r.status, 400);
    } finally {
      d.close();
    }
  } finally {
    await proxy.stop();
    await s.close();
  }
});
