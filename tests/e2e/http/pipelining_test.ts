// Pipelined requests: a proxy error (400, 403) for a request pipelined
// after a good one comes after the first response in full, and a request
// head cut by the end of a bulk buffer is still served.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { concat, sha256Hex as sha256, te } from "../../_helpers/client.ts";
import { connectHttp, get, httpStub, reqHeader } from "./_http.ts";
import { bytesOf } from "./_bytes.ts";
import { proxyFor } from "./_framing.ts";

// Pipelined requests in one read: the second one is parsed (and refused) as
// soon as the first response is forwarded, before it is written; the error
// reply then finds `res.out > 0` and #sendReply aborts the stream, erasing
// the unwritten rest of the first response.
Deno.test("pipeline: a bad request pipelined after a good one gets 400 after the full first response", async () => {
  const body = "x".repeat(3000);
  const s1 = httpStub("s1", { respond: () => ({ body }) });
  const proxy = await proxyFor([s1.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/a") + "GET /b HTTP/1.1\r\n\r\n"); // no Host: 400
    const r1 = await c.readResponse("GET", 3000);
    assert.equal(r1.status, 200);
    assert.equal(r1.text, body);
    const r2 = await c.readResponse("GET", 3000);
    assert.equal(r2.status, 400);
    assert.equal(s1.requests.length, 1);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("pipeline: a denied request pipelined after a good one gets 403 after the full first response", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port], {
    fe: `    http-request: ["deny if { path /deny }"]`,
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/a") + get("/deny") + get("/c"));
    const r1 = await c.readResponse("GET", 3000);
    assert.equal(`${r1.status} ${r1.text}`, "200 s1 GET /a");
    const r2 = await c.readResponse("GET", 3000);
    assert.equal(r2.status, 403);
    assert.equal(r2.get("connection"), "close");
    assert.deepEqual(s1.requests.map((r) => r.target), ["/a"]);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// A head that straddles the end of the ring is parsed from a scratch copy of
// the whole input; the scratch is a `bufsize` buffer but the input may sit in
// a `bulk-bufsize` one (64k): a pipelined request whose head is cut by the
// ring's end, followed by a body, overflows the copy (RangeError, the stream
// ends as an internal error) instead of being answered.
Deno.test("pipeline: a request head cut by the end of a bulk buffer, followed by its body, is served", async () => {
  const s1 = httpStub("s1", { respond: (r) => ({ body: `${r.target} ${sha256(r.body)}` }) });
  const proxy = await proxyFor([s1.port]);
  const pad = "p".repeat(7900);
  const body2 = bytesOf(48 * 1024, 3);
  const failures: string[] = [];
  try {
    for (let k = 0; k < 24; k++) {
      const b1 = 60_000 + k * 2731;
      const body1 = bytesOf(b1, 100 + k);
      const c = await connectHttp(proxy.port("fe"));
      try {
        await c.send(concat([
          te.encode(`POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: ${b1}\r\n\r\n`),
          body1,
          te.encode(
            `POST /two HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\nContent-Length: ${body2.length}\r\n\r\n`,
          ),
          body2,
        ]));
        const r1 = await c.readResponse("POST", 3000);
        const r2 = await c.readResponse("POST", 3000);
        assert.equal(r1.text, `/one ${sha256(body1)}`);
        assert.equal(r2.text, `/two ${sha256(body2)}`);
      } catch (e) {
        failures.push(`b1=${b1}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
        failures.push(...proxy.stderr.filter((l) => /ALERT|Error/.test(l)).slice(0, 2));
      } finally {
        c.close();
      }
    }
    assert.deepEqual(failures, []);
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

// An appended header (unique id, X-Forwarded-For) is written into the
// client's buffer after the original lines when the buffer has the room: the
// body and the pipelined requests behind the head move by the line's size.
// Every request must reach the server whole, once, with its body and the
// appended lines, and its response the client, in order. The three requests
// fit in the first read's (small) buffer with the room for the first one's
// lines: the in-place path moves the rest.
Deno.test("pipeline: appended headers in front of bodies and pipelined requests leave every byte in place", async () => {
  const s1 = httpStub("s1", {
    respond: (r) => ({ body: `${r.target} ${sha256(r.body)} ${r.head.headers.length}` }),
  });
  const proxy = await proxyFor([s1.port], {
    fe: `    unique-id-format: "%ci-%cp-%rt"\n    unique-id-header: X-Unique-ID`,
    be: `    option: ["forwardfor"]`,
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    const body1 = bytesOf(400, 7), body2 = bytesOf(20, 8);
    await c.send(concat([
      te.encode(`POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: ${body1.length}\r\n\r\n`),
      body1,
      // Empty lines before a request are skipped (RFC 9112 2.2).
      te.encode(`\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: ${body2.length}\r\n\r\n`),
      body2,
      te.encode(get("/three")),
    ]));
    const texts: string[] = [];
    for (const m of ["POST", "POST", "GET"]) texts.push((await c.readResponse(m, 3000)).text);
    // Host and Content-Length (Host alone for the GET), then the two appended lines.
    assert.deepEqual(texts, [
      `/one ${sha256(body1)} 4`,
      `/two ${sha256(body2)} 4`,
      `/three ${sha256(new Uint8Array(0))} 3`,
    ]);
    assert.deepEqual(s1.requests.map((r) => reqHeader(r, "x-forwarded-for")), [
      ["127.0.0.1"],
      ["127.0.0.1"],
      ["127.0.0.1"],
    ]);
    assert.deepEqual(
      s1.requests.map((r) =>
        reqHeader(r, "x-unique-id").map((v) => /^127\.0\.0\.1-\d+-\d+$/.test(v))
      ),
      [[true], [true], [true]],
    );
    assert.deepEqual(s1.requests.map((r) => r.head.headers.at(-1)![0].toLowerCase()), [
      "x-forwarded-for",
      "x-forwarded-for",
      "x-forwarded-for",
    ]);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});
