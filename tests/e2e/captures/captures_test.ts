// Header captures and unique ids in the log line. `capture request header`,
// `capture response header` and `http-request capture EXPR len N` show in
// httplog between braces exactly as HAProxy 2.6 shows them (same config
// run on both, the `{...} {...}` fields compared); `unique-id-format` and
// `unique-id-header` give the server the id the log's `%ID` shows.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, httpStub, oneBackend, reqHeader } from "../http/_http.ts";
import { freePort, startHaproxyConfig } from "../../_helpers/haproxy.ts";

/** The capture fields of an httplog line: what lies between the termination counters and the request. */
function captureFields(line: string): string {
  const m = / \d+\/\d+ (\{.*\}) "[A-Z]+ /.exec(line);
  return m === null ? `<no capture in: ${line}>` : m[1]!;
}

const REQUESTS: Array<[string, string[]]> = [
  ["/a", ["Host: example.com", "User-Agent: curl/8 {x|y}", "X-Custom: abcdefgh"]],
  ["/b", ["Host: h", "X-Custom: ab"]],
  ["/c", ["Host: two", "Host: two"]],
];

async function send(port: number): Promise<void> {
  const c = await connectHttp(port);
  try {
    for (const [path, hs] of REQUESTS) {
      await c.send(`GET ${path} HTTP/1.1\r\n${hs.map((h) => h + "\r\n").join("")}\r\n`);
      assert.equal((await c.readResponse()).status, 200);
    }
  } finally {
    c.close();
  }
}

Deno.test("captures render in httplog as HAProxy renders them", async () => {
  const be = httpStub("be", {
    respond: (r) => ({
      headers: r.target === "/a" ? [["X-Res", "a-long-response-value"]] : [["X-Res", '"q"']],
    }),
  });
  const hport = freePort();
  const haproxy = await startHaproxyConfig(
    `global
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:${hport}
  capture request header Host len 5
  capture request header User-Agent len 64
  capture response header X-Res len 10
  http-request capture req.hdr(x-custom) len 4
  default_backend be
backend be
  server s 127.0.0.1:${be.port}
`,
    [hport],
  );
  const hlines = () => haproxy.logs.filter((l) => l.includes('"GET '));
  const sluice = await startProxy(
    oneBackend(
      be.port,
      `
    capture:
      - "request header Host len 5"
      - "request header User-Agent len 64"
      - "response header X-Res len 10"
    http-request: ["capture req.hdr(x-custom) len 4"]`,
    ),
  );
  try {
    await send(hport);
    await send(sluice.port("fe"));
    const slines = await sluice.waitForLogs(/"GET \//, 3);
    for (let i = 0; i < 100 && hlines().length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(hlines().length, 3, hlines().join("\n"));
    const want = hlines().map(captureFields);
    assert.deepEqual(slines.map(captureFields), want);
    // What HAProxy shows: the slots in order, cut, escaped, empty when absent.
    assert.equal(want[0], "{examp|curl/8 #7Bx#7Cy#7D|abcd} {a-long-res}");
  } finally {
    await sluice.stop();
    await haproxy.stop();
    await be.close();
  }
});

Deno.test("unique-id-format: the server gets the id the log shows as %ID", async () => {
  const be = httpStub("be");
  const sluice = await startProxy(
    oneBackend(
      be.port,
      `
    unique-id-format: "%ci:%cp_%rt_%[req.hdr(x-t)]"
    unique-id-header: X-Unique-ID
    log-format: "id=%ID uri=%HU"
    http-request: ["set-header X-Echo %[unique-id]"]`,
    ),
  );
  try {
    const c = await connectHttp(sluice.port("fe"));
    const ids: string[] = [];
    try {
      for (const t of ["one", "two"]) {
        await c.send(`GET /${t} HTTP/1.1\r\nHost: x\r\nX-T: ${t}\r\n\r\n`);
        assert.equal((await c.readResponse()).status, 200);
        const got = be.requests[be.requests.length - 1]!;
        const id = reqHeader(got, "x-unique-id");
        assert.equal(id.length, 1);
        assert.deepEqual(reqHeader(got, "x-echo"), id);
        assert.match(id[0]!, new RegExp(`^127\\.0\\.0\\.1:${c.localPort}_\\d+_${t}$`));
        ids.push(id[0]!);
      }
    } finally {
      c.close();
    }
    assert.notEqual(ids[0], ids[1]);
    const lines = await sluice.waitForLogs(/^id=/, 2);
    assert.deepEqual(lines, [`id=${ids[0]} uri=/one`, `id=${ids[1]} uri=/two`]);
  } finally {
    await sluice.stop();
    await be.close();
  }
});
