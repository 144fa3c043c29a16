// HTTP/2 with real clients (curl, nghttp, h2load) through a `proto h2`
// bind: responses, log lines with HTTP/2.0, concurrent streams to a slow
// and a fast route interleaving, a 100 MiB upload and download over one
// stream (SHA-256 on both ends).

import assert from "node:assert/strict";
import { parseHttpLog, startProxy } from "../../_helpers/proxy.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { bigByte, h2Proxy, run, sha256Hex, startOrigin } from "./_h2.ts";

Deno.test("h2: curl --http2-prior-knowledge gets the response; the log says HTTP/2.0", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  try {
    const r = await run("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "-o",
      "-",
      "-w",
      "\\n%{http_version} %{http_code}",
      `http://127.0.0.1:${p.port("fe")}/hello?x=1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(new TextDecoder().decode(r.stdout), "hello /hello\n\n2 200");
    const line = await p.waitForLog(/"GET \/hello\?x=1 HTTP\/2\.0"/, 10_000);
    const log = parseHttpLog(line);
    assert.equal(log.status, 200);
    assert.equal(log.ts, "--");
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: req.ver, fc_http_major and %HV see HTTP/2; the server gets HTTP/1.1", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(
    origin,
    "",
    `    http-request:
      - "set-header x-ver %[req.ver]"
      - "set-header x-major %[fc_http_major]"
    log-format: "%HM %HU %HV"`,
  );
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(1, getHeaders("/head", [["cookie", "a=1"], ["cookie", "b=2"]]));
    const r = await c.response(1);
    c.close();
    assert.equal(r.status, 200);
    const body = new TextDecoder().decode(r.body);
    assert.match(body, /^GET \/head\n/);
    assert.match(body, /\nx-ver: 2\.0\n/);
    assert.match(body, /\nx-major: 2\n/);
    assert.match(body, /\nhost: example\.test\n/);
    // Cookie fields are joined for HTTP/1.1 (RFC 9113 §8.2.3).
    assert.match(body, /\ncookie: a=1; b=2\n/);
    await p.waitForLog(/^GET \/head HTTP\/2\.0$/, 10_000);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: nghttp with concurrent streams to a slow and a fast route: fast ones are not held", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  try {
    const base = `http://127.0.0.1:${p.port("fe")}`;
    const urls = [`${base}/slow/1500`];
    for (let i = 0; i < 20; i++) urls.push(`${base}/fast/${i}`);
    const r = await run("nghttp", ["-n", "-v", ...urls]);
    assert.equal(r.code, 0, r.stderr);
    const out = new TextDecoder().decode(r.stdout);
    // Every stream got a 200, and the slow stream (id 13: nghttp's first
    // request id) ended after all the fast ones: its END_STREAM is last.
    const ends = [...out.matchAll(/recv DATA frame <length=\d+, flags=0x01, stream_id=(\d+)>/g)]
      .map((m) => Number(m[1]));
    assert.equal(ends.length, 21, out);
    assert.equal(ends[ends.length - 1], 13);
    assert.equal([...out.matchAll(/:status: 200/g)].length, 21);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: h2load -c 4 -m 10 completes every request with 2xx", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  try {
    const r = await run("h2load", [
      "-n",
      "400",
      "-c",
      "4",
      "-m",
      "10",
      `http://127.0.0.1:${p.port("fe")}/x`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = new TextDecoder().decode(r.stdout);
    assert.match(out, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed/);
    assert.match(out, /status codes: 400 2xx/);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: 100 MiB upload and download over one stream each, SHA-256 intact", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  const size = 100 * 1024 * 1024;
  try {
    const up = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(up.subarray(i, i + 65536));
    const base = `http://127.0.0.1:${p.port("fe")}`;
    // Upload with a content-length, and one without (chunked to the server).
    const r1 = await run(
      "curl",
      ["-sS", "--http2-prior-knowledge", "--data-binary", "@-", `${base}/up`],
      up,
      120_000,
    );
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(new TextDecoder().decode(r1.stdout), `${size} ${await sha256Hex(up)}`);
    const r2 = await run(
      "curl",
      ["-sS", "--http2-prior-knowledge", "-T", "-", "-X", "POST", `${base}/up`],
      up,
      120_000,
    );
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(new TextDecoder().decode(r2.stdout), `${size} ${await sha256Hex(up)}`);
    const d = await run(
      "curl",
      ["-sS", "--http2-prior-knowledge", `${base}/big/${size}`],
      undefined,
      120_000,
    );
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.length, size);
    const want = new Uint8Array(size);
    for (let i = 0; i < size; i++) want[i] = bigByte(i);
    assert.equal(await sha256Hex(d.stdout), await sha256Hex(want));
    const logs = await p.waitForLogs(/HTTP\/2\.0"/, 3, 10_000);
    assert.equal(logs.map(parseHttpLog).filter((l) => l.status === 200).length, 3);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: forwardfor, use_backend, the stats page and cookie insertion work as for HTTP/1.1", async () => {
  const origin = startOrigin();
  const p = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0 proto h2"
    option: [forwardfor]
    stats: { uri: /stats }
    use_backend: ["be2 if { path_beg /two }"]
    default_backend: be
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:${origin.port}" } ]
  be2:
    cookie: "SRV insert indirect nocache"
    servers: [ { name: s2, address: "127.0.0.1:${origin.port}", cookie: c2 } ]
`);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(1, getHeaders("/head"));
    const r1 = await c.response(1);
    assert.match(new TextDecoder().decode(r1.body), /\nx-forwarded-for: 127\.0\.0\.1\n/);
    await c.sendHeaders(3, getHeaders("/two/head"));
    const r2 = await c.response(3);
    assert.equal(r2.status, 200);
    assert.deepEqual(
      r2.headers.filter((h) => h[0] === "set-cookie").map((h) => h[1].split(";")[0]),
      [
        "SRV=c2",
      ],
    );
    await c.sendHeaders(5, getHeaders("/stats;csv"));
    const r3 = await c.response(5);
    assert.equal(r3.status, 200);
    const csv = new TextDecoder().decode(r3.body);
    assert.match(csv, /^# pxname,svname,/);
    // The connection is the session, as in HAProxy: its three streams are
    // requests (req_tot), not sessions (scur, smax, stot).
    const [head, ...rows] = csv.trim().split("\n").map((l) => l.split(","));
    const col = (name: string) => head!.indexOf(name === "pxname" ? "# pxname" : name);
    const fe = rows.find((r) => r[col("pxname")] === "fe" && r[col("svname")] === "FRONTEND")!;
    assert.deepEqual(
      ["scur", "smax", "stot", "req_tot"].map((n) => fe[col(n)]),
      ["1", "1", "1", "3"],
    );
    c.close();
    await p.waitForLog(/ be2\/s2 .*"GET \/two\/head HTTP\/2\.0"/, 10_000);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: accept-proxy and proto h2 on one bind: the PROXY header's source is the client's", async () => {
  const origin = startOrigin();
  const p = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0 accept-proxy proto h2"
    option: [forwardfor]
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${origin.port}" } ] }
`);
  try {
    const proxyLine = new TextEncoder().encode("PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n");
    const c = await H2RawClient.connect(p.port("fe"), [], true, true, proxyLine);
    await c.sendHeaders(1, getHeaders("/head"));
    const r = await c.response(1);
    c.close();
    assert.equal(r.status, 200);
    assert.match(new TextDecoder().decode(r.body), /\nx-forwarded-for: 192\.0\.2\.7\n/);
    await p.waitForLog(/^192\.0\.2\.7:40000 .*"GET \/head HTTP\/2\.0"/, 10_000);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2: sess.* variables live as long as the connection (HAProxy's session), txn.* as long as a stream", async () => {
  const p = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s }
frontends:
  fe:
    bind: "127.0.0.1:0 proto h2"
    http-request:
      - "set-var(sess.n) int(7) if { path /set }"
      - "set-var(txn.t) int(9) if { path /set }"
      - 'return status 200 content-type text/plain lf-string "n=%[var(sess.n)] t=%[var(txn.t)]" if { path_beg /set /get }'
`);
  const text = async (c: H2RawClient, id: number, path: string) => {
    await c.sendHeaders(id, getHeaders(path));
    const r = await c.response(id);
    assert.equal(r.status, 200);
    return new TextDecoder().decode(r.body);
  };
  try {
    const a = await H2RawClient.connect(p.port("fe"));
    assert.equal(await text(a, 1, "/get"), "n= t=");
    assert.equal(await text(a, 3, "/set"), "n=7 t=9");
    assert.equal(await text(a, 5, "/get"), "n=7 t=");
    const b = await H2RawClient.connect(p.port("fe"));
    assert.equal(await text(b, 1, "/get"), "n= t=");
    assert.equal(await text(a, 7, "/get"), "n=7 t=");
    a.close();
    b.close();
  } finally {
    await p.stop();
  }
});
