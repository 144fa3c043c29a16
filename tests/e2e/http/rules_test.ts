// http-request / http-response rules and the connection options, observed
// end to end: what the server received (the stub records every request as
// raw bytes and parsed headers), what the client received (status, headers,
// body, whether the connection stayed open), and what the log line says.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  bindPort,
  connectHttp,
  fetchOnce,
  HTTP_DEFAULTS,
  type HttpStub,
  httpStub,
  logsOf,
  parseHttpLog,
  reqHeader,
  type StubReply,
  type StubRequest,
} from "./_http.ts";

const FILE_BODY = '{"error":"not here","from":"file"}\n';

/** Replies of the `be` stub, chosen by path, for the http-response rules. */
function respond(r: StubRequest): StubReply {
  const path = r.target.split("?")[0];
  if (path === "/res") {
    return {
      headers: [
        ["Content-Type", "text/plain"],
        ["X-Internal", "secret"],
        ["X-Res-List", "a, b, c"],
        ["X-Res-Rep", "old-thing"],
        ["X-Keep", "kept"],
      ],
      body: "response body",
    };
  }
  if (path === "/created") return { status: 201, reason: "Created", body: "made" };
  if (path === "/leak") return { headers: [["X-Leak", "1"]], body: "secret stuff" };
  return {};
}

function config(p: { be: number; ka: number; hsc: number; hc: number }, file: string): string {
  return HTTP_DEFAULTS + `
frontends:
  fe_rules:
    bind: "127.0.0.1:0"
    http-request:
      - 'deny if { path /deny }'
      - 'deny deny_status 429 if { path /blocked }'
      - 'return status 200 content-type text/plain string ok if { path /health }'
      - 'return status 404 content-type application/json file ${file} if { path /file }'
      - 'return status 204 if { path /nobody }'
      - 'redirect location https://example.com/new code 301 if { path /loc }'
      - 'redirect location /moved if { path /loc-default }'
      - 'redirect prefix https://example.com code 301 if { path_beg /old }'
      - 'redirect prefix https://example.com drop-query code 307 if { path_beg /dq }'
      - 'redirect scheme https code 308 if { path_beg /sch }'
      - 'redirect prefix / drop-query code 303 if { path_beg /strip }'
      - 'allow if { path_beg /allowed }'
      - 'deny if { path_beg /allowed }'
      - 'set-header X-Src %[src]'
      - 'set-header X-Path %[path]'
      - 'set-header X-Method %[method]'
      - 'set-header X-Copy %[hdr(x-in)]'
      - 'set-header X-Ver %[req.ver]'
      - 'set-header X-Composite %[method]:%[path]:%[src]'
      - 'add-header X-Multi one'
      - 'add-header X-Multi two'
      - 'set-header X-Replace-Me new'
      - 'del-header X-Secret'
      - 'del-header X-Drop- -m beg'
      - 'replace-header X-Agent ^curl/(.*)$ Curl-\\1'
      - 'replace-value X-List ^b$ B'
      - 'set-header X-If yes if { hdr(x-cond) on }'
      - 'set-header X-Unless yes unless { hdr(x-cond) on }'
      - 'set-path /rewritten%[path] if { path_beg /sp/ }'
      - 'set-query x=1&y=2 if { path_beg /sq }'
      - 'set-uri /new-uri?z=9 if { path_beg /su }'
      - 'set-method PUT if { path_beg /sm }'
    http-response:
      - 'set-header X-Served-By sluice'
      - 'del-header X-Internal'
      - 'replace-value X-Res-List ^b$ B'
      - 'replace-header X-Res-Rep ^old-(.*)$ new-\\1'
      - 'add-header X-Res-Add added'
      - 'set-header X-Res-Created yes if { status 201 }'
      - 'deny if { res.hdr(x-leak) -m found }'
    default_backend: be
  fe_ff:
    bind: ["127.0.0.1:0", "[::1]:0"]
    option: [forwardfor]
    default_backend: be
  fe_ff_except:
    bind: "127.0.0.1:0"
    option: ["forwardfor except 127.0.0.0/8"]
    default_backend: be
  fe_ff_header:
    bind: "127.0.0.1:0"
    option: ["forwardfor header X-Client"]
    default_backend: be
  fe_ff_ifnone:
    bind: "127.0.0.1:0"
    option: ["forwardfor if-none"]
    default_backend: be
  fe_ka:
    bind: "127.0.0.1:0"
    default_backend: be_ka
  fe_hsc:
    bind: "127.0.0.1:0"
    option: [http-server-close]
    default_backend: be_hsc
  fe_hc:
    bind: "127.0.0.1:0"
    option: [httpclose]
    default_backend: be_hc
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${p.be}" } ] }
  be_ka: { servers: [ { name: s1, address: "127.0.0.1:${p.ka}" } ] }
  be_hsc: { servers: [ { name: s1, address: "127.0.0.1:${p.hsc}" } ] }
  be_hc: { servers: [ { name: s1, address: "127.0.0.1:${p.hc}" } ] }
`;
}

interface Env {
  proxy: ProxyProcess;
  be: HttpStub;
  ka: HttpStub;
  hsc: HttpStub;
  hc: HttpStub;
}

async function withRules(body: (env: Env) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-rules-" });
  const be = httpStub("be", { respond });
  // The connection-mode stubs never close by themselves: only the proxy can.
  const ka = httpStub("ka", { ignoreClose: true });
  const hsc = httpStub("hsc", { ignoreClose: true });
  const hc = httpStub("hc", { ignoreClose: true });
  let proxy: ProxyProcess | undefined;
  try {
    const file = `${dir}/body.json`;
    await Deno.writeTextFile(file, FILE_BODY);
    proxy = await startProxy(
      config({ be: be.port, ka: ka.port, hsc: hsc.port, hc: hc.port }, file),
    );
    await body({ proxy, be, ka, hsc, hc });
  } finally {
    await proxy?.stop();
    await Promise.all([be.close(), ka.close(), hsc.close(), hc.close()]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

let seq = 0;

/** Sends a request with a unique X-Req-Id; returns the response and what the server got (or null). */
async function send(
  env: Env,
  port: number,
  target: string,
  headers: string[] = [],
  opts: { method?: string; ver?: string; hostname?: string } = {},
): Promise<{ res: Awaited<ReturnType<typeof fetchOnce>>; got: StubRequest | null }> {
  const id = `q${++seq}`;
  const method = opts.method ?? "GET";
  const head = `${method} ${target} HTTP/${opts.ver ?? "1.1"}\r\nHost: test.local\r\n` +
    headers.map((h) => h + "\r\n").join("") + `X-Req-Id: ${id}\r\n\r\n`;
  const res = await fetchOnce(port, head, { method, hostname: opts.hostname ?? "127.0.0.1" });
  const got = env.be.requests.find((r) => reqHeader(r, "x-req-id")[0] === id) ?? null;
  return { res, got };
}

/** The stub's request, which must exist. */
function must(got: StubRequest | null, what: string): StubRequest {
  assert.ok(got !== null, `${what}: the server did not receive the request`);
  return got;
}

Deno.test("http-request header rules: set/add/del/replace-header/replace-value and %[src] %[path] %[method] %[hdr()] %[req.ver]", async () => {
  await withRules(async (env) => {
    const fe = env.proxy.port("fe_rules");
    const { res, got } = await send(env, fe, "/edit?q=1", [
      "X-In: hello",
      "X-Replace-Me: old",
      "X-Replace-Me: old2",
      "X-Secret: s",
      "X-Drop-A: 1",
      "x-drop-b: 2",
      "X-Keep: k",
      "X-Agent: curl/8.0",
      "X-List: a, b, c",
      "X-Multi: zero",
    ]);
    assert.equal(res.status, 200, res.head.raw);
    const r = must(got, "/edit");
    const h = (n: string) => reqHeader(r, n);
    assert.equal(r.head.startLine, "GET /edit?q=1 HTTP/1.1");
    assert.deepEqual(h("x-src"), ["127.0.0.1"]);
    assert.deepEqual(h("x-path"), ["/edit"]);
    assert.deepEqual(h("x-method"), ["GET"]);
    assert.deepEqual(h("x-copy"), ["hello"]);
    assert.deepEqual(h("x-ver"), ["1.1"]);
    assert.deepEqual(h("x-composite"), ["GET:/edit:127.0.0.1"]);
    assert.deepEqual(h("x-multi"), ["zero", "one", "two"], "add-header appends, keeps existing");
    assert.deepEqual(h("x-replace-me"), ["new"], "set-header replaces every occurrence");
    assert.deepEqual(h("x-secret"), []);
    assert.deepEqual([...h("x-drop-a"), ...h("x-drop-b")], [], "del-header -m beg");
    assert.deepEqual(h("x-keep"), ["k"]);
    assert.deepEqual(h("x-agent"), ["Curl-8.0"], "replace-header with a back-reference");
    assert.deepEqual(h("x-list"), ["a, B, c"], "replace-value edits one element");
    assert.deepEqual(h("x-if"), [], "if: condition false");
    assert.deepEqual(h("x-unless"), ["yes"], "unless: condition false");
    assert.deepEqual(h("host"), ["test.local"]);
    // Each header line arrives exactly once and well-formed.
    assert.match(r.head.raw, /\r\nX-Src: 127\.0\.0\.1\r\n/i);

    const two = await send(env, fe, "/edit2", ["X-Cond: on"], { ver: "1.0" });
    const r2 = must(two.got, "/edit2");
    assert.deepEqual(reqHeader(r2, "x-if"), ["yes"]);
    assert.deepEqual(reqHeader(r2, "x-unless"), []);
    assert.deepEqual(reqHeader(r2, "x-ver"), ["1.0"]);
    assert.deepEqual(reqHeader(r2, "x-copy"), [""], "%[hdr(x-in)] of an absent header is empty");
    assert.equal(two.res.status, 200);
  });
});

Deno.test("http-request start-line rules: set-path, set-query, set-uri, set-method (rules see earlier values)", async () => {
  await withRules(async (env) => {
    const fe = env.proxy.port("fe_rules");
    const sp = must((await send(env, fe, "/sp/x?keep=1")).got, "set-path");
    assert.equal(sp.head.startLine, "GET /rewritten/sp/x?keep=1 HTTP/1.1");
    assert.deepEqual(reqHeader(sp, "x-path"), ["/sp/x"], "X-Path was set before set-path ran");

    const sq = must((await send(env, fe, "/sq?old=1")).got, "set-query");
    assert.equal(sq.target, "/sq?x=1&y=2");
    const sq2 = must((await send(env, fe, "/sq")).got, "set-query without query");
    assert.equal(sq2.target, "/sq?x=1&y=2");

    const su = must((await send(env, fe, "/su/anything?a=b")).got, "set-uri");
    assert.equal(su.target, "/new-uri?z=9");

    const sm = must((await send(env, fe, "/sm")).got, "set-method");
    assert.equal(sm.head.startLine, "PUT /sm HTTP/1.1");
    assert.deepEqual(reqHeader(sm, "x-method"), ["GET"], "X-Method was set before set-method ran");

    // The log shows the request line as the client sent it.
    const line = await env.proxy.waitForLog(/"GET \/sm HTTP\/1\.1"$/);
    assert.equal(parseHttpLog(line).status, 200, line);
  });
});

Deno.test("http-request final actions: deny (403, deny_status), return (string, file), redirects, allow", async () => {
  await withRules(async (env) => {
    const fe = env.proxy.port("fe_rules");
    const before = env.be.requests.length;

    const deny = await send(env, fe, "/deny");
    assert.equal(deny.res.status, 403, deny.res.head.raw);
    assert.match(deny.res.text, /403 Forbidden/);
    const blocked = await send(env, fe, "/blocked");
    assert.equal(blocked.res.status, 429, blocked.res.head.raw);

    const health = await send(env, fe, "/health");
    assert.equal(health.res.status, 200);
    assert.equal(health.res.get("content-type"), "text/plain");
    assert.equal(health.res.text, "ok");
    assert.equal(health.res.get("content-length"), "2");

    const file = await send(env, fe, "/file");
    assert.equal(file.res.status, 404);
    assert.equal(file.res.get("content-type"), "application/json");
    assert.equal(file.res.text, FILE_BODY);

    const redirects: Array<[string, number, string]> = [
      ["/loc", 301, "https://example.com/new"],
      ["/loc-default", 302, "/moved"],
      ["/old/page?x=1", 301, "https://example.com/old/page?x=1"],
      ["/dq/page?x=1", 307, "https://example.com/dq/page"],
      ["/sch/p?x=1", 308, "https://test.local/sch/p?x=1"],
      ["/strip/x?y=1", 303, "/strip/x"],
    ];
    for (const [target, code, location] of redirects) {
      const { res } = await send(env, fe, target);
      assert.equal(res.status, code, `${target}: ${res.head.raw}`);
      assert.equal(res.get("location"), location, target);
    }
    assert.equal(
      env.be.requests.length,
      before,
      "no denied/returned/redirected request reached the server",
    );

    // allow stops the rule list: the deny after it and the header rules do not run.
    const allowed = await send(env, fe, "/allowed/x");
    assert.equal(allowed.res.status, 200);
    const a = must(allowed.got, "/allowed");
    assert.deepEqual(reqHeader(a, "x-src"), [], "rules after allow must not run");

    // Log lines: the proxy's own answers.
    const lineOf = async (req: string) =>
      parseHttpLog(await env.proxy.waitForLog(new RegExp(`"${req.replace(/[?.]/g, "\\$&")}"$`)));
    const ld = await lineOf("GET /deny HTTP/1.1");
    assert.equal(ld.status, 403, ld.line);
    assert.equal(ld.tsc.slice(0, 2), "PR", ld.line);
    assert.equal(ld.server, "<NOSRV>", ld.line);
    const lb = await lineOf("GET /blocked HTTP/1.1");
    assert.equal(lb.status, 429, lb.line);
    const lh = await lineOf("GET /health HTTP/1.1");
    assert.equal(lh.status, 200, lh.line);
    assert.equal(lh.tsc.slice(0, 2), "LR", `return is a local reply: ${lh.line}`);
    const lr = await lineOf("GET /old/page?x=1 HTTP/1.1");
    assert.equal(lr.status, 301, lr.line);
    assert.equal(lr.tsc.slice(0, 2), "LR", `redirect is a local reply: ${lr.line}`);
  });
});

Deno.test("http-request return without payload: status 204 with neither Content-Type nor Content-Length", async () => {
  await withRules(async (env) => {
    const { res, got } = await send(env, env.proxy.port("fe_rules"), "/nobody");
    assert.equal(got, null);
    assert.equal(res.status, 204, res.head.raw);
    assert.equal(res.body.length, 0);
    // No payload: no Content-Type; and a 204 must not carry Content-Length (RFC 9110 §8.6).
    assert.deepEqual(
      { contentType: res.all("content-type"), contentLength: res.all("content-length") },
      { contentType: [], contentLength: [] },
      JSON.stringify(res.head.raw),
    );
  });
});

Deno.test("http-response rules: set/add/del-header, replace-value/replace-header, if { status }, deny gives 502", async () => {
  await withRules(async (env) => {
    const fe = env.proxy.port("fe_rules");
    const { res } = await send(env, fe, "/res");
    assert.equal(res.status, 200);
    assert.equal(res.text, "response body");
    assert.equal(res.get("x-served-by"), "sluice");
    assert.equal(res.get("x-internal"), undefined);
    assert.deepEqual(res.all("x-res-list"), ["a, B, c"]);
    assert.deepEqual(res.all("x-res-rep"), ["new-thing"]);
    assert.deepEqual(res.all("x-res-add"), ["added"]);
    assert.deepEqual(res.all("x-keep"), ["kept"]);
    assert.equal(res.get("x-res-created"), undefined);
    assert.equal(res.get("x-backend"), "be");

    const created = await send(env, fe, "/created");
    assert.equal(created.res.status, 201);
    assert.equal(created.res.text, "made");
    assert.equal(created.res.get("x-res-created"), "yes");
    assert.equal(created.res.get("x-served-by"), "sluice");

    const leak = await send(env, fe, "/leak");
    assert.ok(leak.got !== null, "the server got the request");
    assert.equal(leak.res.status, 502, leak.res.head.raw);
    assert.equal(leak.res.get("x-leak"), undefined);
    assert.doesNotMatch(leak.res.text, /secret stuff/);
    const l = parseHttpLog(await env.proxy.waitForLog(/"GET \/leak HTTP\/1\.1"$/));
    assert.equal(l.status, 502, l.line);
  });
});

Deno.test("option forwardfor: adds the client IP (v4 and v6), except NET, header NAME, if-none", async () => {
  await withRules(async (env) => {
    const ff = env.proxy.port("fe_ff");
    const xff = async (port: number, extra: string[] = [], hostname = "127.0.0.1") => {
      const r = must((await send(env, port, "/ff", extra, { hostname })).got, `forwardfor ${port}`);
      return { xff: reqHeader(r, "x-forwarded-for"), client: reqHeader(r, "x-client") };
    };
    assert.deepEqual((await xff(ff)).xff, ["127.0.0.1"]);
    assert.deepEqual(
      (await xff(ff, ["X-Forwarded-For: 10.0.0.1"])).xff,
      ["10.0.0.1", "127.0.0.1"],
      "an existing header is kept and the client address appended",
    );
    assert.deepEqual((await xff(bindPort(env.proxy, "fe_ff", "v6"), [], "::1")).xff, ["::1"]);

    const ex = env.proxy.port("fe_ff_except");
    assert.deepEqual((await xff(ex)).xff, [], "127.0.0.1 is in the except network");
    assert.deepEqual((await xff(ex, ["X-Forwarded-For: 10.0.0.1"])).xff, ["10.0.0.1"]);

    const hd = await xff(env.proxy.port("fe_ff_header"));
    assert.deepEqual(hd.client, ["127.0.0.1"]);
    assert.deepEqual(hd.xff, [], "header NAME replaces X-Forwarded-For");

    const inn = env.proxy.port("fe_ff_ifnone");
    assert.deepEqual((await xff(inn)).xff, ["127.0.0.1"]);
    assert.deepEqual((await xff(inn, ["X-Forwarded-For: 10.0.0.1"])).xff, ["10.0.0.1"]);
  });
});

/** Three requests on one client connection; returns the responses and the client's port. */
async function threeOnOneConnection(port: number): Promise<{
  statuses: number[];
  connHeaders: Array<string | undefined>;
  bodies: string[];
  client: Awaited<ReturnType<typeof connectHttp>>;
}> {
  const client = await connectHttp(port);
  const statuses: number[] = [], connHeaders: Array<string | undefined> = [], bodies: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await client.request(`GET /k${i} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
    statuses.push(res.status);
    connHeaders.push(res.get("connection"));
    bodies.push(res.text);
  }
  return { statuses, connHeaders, bodies, client };
}

Deno.test("connection modes: keep-alive (default) reuses the server connection", async () => {
  await withRules(async (env) => {
    const { statuses, connHeaders, bodies, client } = await threeOnOneConnection(
      env.proxy.port("fe_ka"),
    );
    try {
      assert.deepEqual(statuses, [200, 200, 200]);
      assert.deepEqual(bodies, ["ka GET /k0", "ka GET /k1", "ka GET /k2"]);
      assert.deepEqual(connHeaders, [undefined, undefined, undefined]);
      assert.deepEqual(env.ka.requests.map((r) => r.conn), [0, 0, 0], "one server connection");
      const logs = await logsOf(env.proxy, client.localPort, 3);
      assert.deepEqual(logs.map((l) => l.request), [
        "GET /k0 HTTP/1.1",
        "GET /k1 HTTP/1.1",
        "GET /k2 HTTP/1.1",
      ]);
      assert.ok(await client.staysOpen(300), "the client connection stays open");
    } finally {
      client.close();
    }
  });
});

Deno.test("connection modes: http-server-close closes the server connection after each response, keeps the client's", async () => {
  await withRules(async (env) => {
    const { statuses, connHeaders, bodies, client } = await threeOnOneConnection(
      env.proxy.port("fe_hsc"),
    );
    try {
      assert.deepEqual(statuses, [200, 200, 200]);
      assert.deepEqual(bodies, ["hsc GET /k0", "hsc GET /k1", "hsc GET /k2"]);
      assert.deepEqual(connHeaders, [undefined, undefined, undefined], "client side kept alive");
      assert.deepEqual(env.hsc.requests.map((r) => r.conn), [0, 1, 2], "a server connection each");
      for (const r of env.hsc.requests) {
        assert.deepEqual(reqHeader(r, "connection"), ["close"], r.head.raw);
      }
      for (let i = 0; i < 3; i++) {
        assert.equal(
          await env.hsc.waitClosed(i, 3_000),
          "peer",
          `server connection ${i} closed by the proxy`,
        );
      }
      const logs = await logsOf(env.proxy, client.localPort, 3);
      assert.equal(logs.length, 3);
      assert.ok(await client.staysOpen(300), "the client connection stays open");
    } finally {
      client.close();
    }
  });
});

Deno.test("connection modes: httpclose closes both sides after the response", async () => {
  await withRules(async (env) => {
    const client = await connectHttp(env.proxy.port("fe_hc"));
    try {
      const res = await client.request("GET /c HTTP/1.1\r\nHost: test.local\r\n\r\n");
      assert.equal(res.status, 200);
      assert.equal(res.text, "hc GET /c");
      assert.equal(res.get("connection"), "close");
      const end = await client.readUntilClosed(3_000);
      assert.equal(end.end, "eof");
      assert.equal(end.extra.length, 0);
      const [r] = await env.hc.waitRequests(1);
      assert.deepEqual(reqHeader(r!, "connection"), ["close"]);
      assert.equal(
        await env.hc.waitClosed(0, 3_000),
        "peer",
        "server connection closed by the proxy",
      );
      const [log] = await logsOf(env.proxy, client.localPort, 1);
      assert.equal(log!.status, 200, log!.line);
      assert.equal(log!.tsc, "----", log!.line);
    } finally {
      client.close();
    }
  });
});

Deno.test("connection modes: pipelined requests (GET, POST with body, GET) are answered in order", async () => {
  await withRules(async (env) => {
    const client = await connectHttp(env.proxy.port("fe_ka"));
    try {
      await client.send(
        "GET /p1 HTTP/1.1\r\nHost: test.local\r\n\r\n" +
          "POST /p2 HTTP/1.1\r\nHost: test.local\r\nContent-Length: 5\r\n\r\nhello" +
          "GET /p3 HTTP/1.1\r\nHost: test.local\r\n\r\n",
      );
      const bodies: string[] = [];
      for (let i = 0; i < 3; i++) bodies.push((await client.readResponse()).text);
      assert.deepEqual(bodies, ["ka GET /p1", "ka POST /p2", "ka GET /p3"]);
      const reqs = await env.ka.waitRequests(3);
      assert.deepEqual(reqs.map((r) => r.head.startLine), [
        "GET /p1 HTTP/1.1",
        "POST /p2 HTTP/1.1",
        "GET /p3 HTTP/1.1",
      ]);
      assert.equal(new TextDecoder().decode(reqs[1]!.body), "hello");
    } finally {
      client.close();
    }
  });
});

Deno.test("connection modes: an HTTP/1.0 client without keep-alive gets its response, then EOF", async () => {
  await withRules(async (env) => {
    const client = await connectHttp(env.proxy.port("fe_ka"));
    try {
      const res = await client.request("GET /ten HTTP/1.0\r\nHost: test.local\r\n\r\n");
      assert.equal(res.status, 200);
      assert.equal(res.text, "ka GET /ten");
      const end = await client.readUntilClosed(3_000);
      assert.equal(end.end, "eof");
      assert.equal(end.extra.length, 0);
    } finally {
      client.close();
    }
  });
});
