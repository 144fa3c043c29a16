// Cookie persistence, option forwardfor, errorfile bodies and HTTP/1.0
// peers, as an HAProxy user would see them: the exact Set-Cookie lines and
// cache headers the client gets, the exact Cookie / X-Forwarded-For bytes the
// server gets, the exact error reply, and the framing a 1.0 client receives.
import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { httpStub as rawStub } from "../../_helpers/http_stub.ts";
import {
  bindPort,
  connectHttp,
  fetchOnce,
  get,
  HTTP_DEFAULTS,
  type HttpStub,
  httpStub,
  latin1,
  reqHeader,
  type StubReply,
  type StubRequest,
} from "./_http.ts";

interface Two {
  a: HttpStub;
  b: HttpStub;
}

/** Two stubs a and b (cookies ca and cb) behind `cookie: SRV <mode>`. */
function cookieProxy(
  s: Two,
  mode: string,
  o: { aExtra?: string; bExtra?: string; be?: string } = {},
): Promise<ProxyProcess> {
  return startProxy(`${HTTP_DEFAULTS}
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    cookie: "SRV ${mode}"
${o.be ?? ""}
    servers:
      - { name: a, address: "127.0.0.1:${s.a.port}", cookie: ca${o.aExtra ?? ""} }
      - { name: b, address: "127.0.0.1:${s.b.port}", cookie: cb${o.bExtra ?? ""} }
`);
}

function stubs(respond?: (r: StubRequest) => StubReply): Two {
  const o = respond === undefined ? {} : { respond };
  return { a: httpStub("a", o), b: httpStub("b", o) };
}

async function closeAll(p: ProxyProcess | null, s: Two): Promise<void> {
  await p?.stop();
  await s.a.close();
  await s.b.close();
}

/** The last request a stub received. */
const last = (s: HttpStub) => s.requests[s.requests.length - 1]!;

/** The raw `Cookie` lines of a recorded request, exactly as received. */
function rawCookieLines(r: StubRequest): string[] {
  return r.head.raw.split("\r\n").filter((l) => /^cookie:/i.test(l));
}

// ---------------------------------------------------------------------------
// Cookie persistence.

Deno.test("cookie insert indirect: other cookies reach the server byte for byte", async () => {
  const s = stubs();
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert indirect");
    // HAProxy only deletes the persistence cookie (and one delimiter); the
    // remaining bytes, with their own separators, are left alone.
    const r = await fetchOnce(p.port("fe"), get("/", ["Cookie: a=1;SRV=ca;b=2"]));
    assert.equal(r.text, "a GET /");
    // (Header names may be lowercased, as HAProxy's HTX does; values may not change.)
    assert.deepEqual(rawCookieLines(last(s.a)).map((l) => l.slice(7)), [" a=1;b=2"]);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie insert indirect: a quoted value holding ';' is not split", async () => {
  const s = stubs();
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert indirect");
    const r = await fetchOnce(p.port("fe"), get("/", ['Cookie: q="x;y"; SRV=cb']));
    assert.equal(r.text, "b GET /");
    assert.deepEqual(reqHeader(last(s.b), "cookie"), ['q="x;y"']);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie insert indirect: the cookie in a second Cookie header is found and that line removed", async () => {
  const s = stubs();
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert indirect");
    for (let i = 0; i < 3; i++) {
      const r = await fetchOnce(
        p.port("fe"),
        get("/", ["Cookie: theme=dark", "Cookie:  SRV=cb ", "Cookie: lang=fr; SRV=cb"]),
      );
      assert.equal(r.text, "b GET /", "persisted on b whatever roundrobin says");
      assert.equal(r.all("set-cookie").length, 0, "the client already has the right cookie");
      assert.deepEqual(reqHeader(last(s.b), "cookie"), ["theme=dark", "lang=fr"]);
    }
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie insert: attributes in HAProxy's order, and a server's own SRV cookie removed", async () => {
  const s = stubs(() => ({
    headers: [["Content-Type", "text/plain"], ["Set-Cookie", "SRV=app-made; Path=/app"], [
      "Set-Cookie",
      "sid=42; Path=/",
    ]],
  }));
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert httponly secure domain .example.com");
    // No cookie yet: HAProxy deletes the server's SRV line (insert mode on a
    // known server) and inserts its own; sid passes.
    const r1 = await fetchOnce(p.port("fe"), get("/"));
    const tag = r1.text.split(" ")[0];
    assert.deepEqual(r1.all("set-cookie"), [
      "sid=42; Path=/",
      `SRV=c${tag}; path=/; domain=.example.com; HttpOnly; Secure`,
    ]);
    // With the right cookie: nothing inserted, and still no app-made SRV
    // line that would overwrite the client's persistence cookie.
    const r2 = await fetchOnce(p.port("fe"), get("/", [`Cookie: SRV=c${tag}`]));
    assert.equal(r2.text.split(" ")[0], tag);
    assert.deepEqual(r2.all("set-cookie"), ["sid=42; Path=/"]);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie insert preserve: the server's own SRV cookie is kept and none inserted", async () => {
  const s = stubs(() => ({
    headers: [["Content-Type", "text/plain"], ["Set-Cookie", "SRV=logout; Max-Age=0"]],
  }));
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert preserve");
    const r = await fetchOnce(p.port("fe"), get("/"));
    assert.deepEqual(r.all("set-cookie"), ["SRV=logout; Max-Age=0"]);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie insert nocache: 'Cache-control: private' added even when the server said max-age", async () => {
  const s = stubs(() => ({
    headers: [["Content-Type", "text/plain"], ["Cache-Control", "public, max-age=3600"]],
  }));
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert nocache");
    const r = await fetchOnce(p.port("fe"), get("/"));
    assert.equal(r.all("set-cookie").length, 1);
    // HAProxy adds "Cache-control: private" to every cacheable response that
    // carries the inserted cookie; a shared cache must not store the
    // persistence cookie of one client for the others.
    const cc = r.all("cache-control").join(", ").toLowerCase();
    assert.ok(/\bprivate\b/.test(cc), `Cache-Control: ${cc}`);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie insert nocache: a response that already forbids caching is not given a second header, one with the cookie already set gets none", async () => {
  const s = stubs(() => ({
    headers: [["Content-Type", "text/plain"], ["Cache-Control", "no-store"]],
  }));
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert indirect nocache");
    const r = await fetchOnce(p.port("fe"), get("/"));
    assert.equal(r.all("set-cookie").length, 1);
    assert.deepEqual(r.all("cache-control"), ["no-store"]);
    const tag = r.text.split(" ")[0];
    const r2 = await fetchOnce(p.port("fe"), get("/", [`Cookie: SRV=c${tag}`]));
    assert.deepEqual(r2.all("set-cookie"), []);
    assert.deepEqual(r2.all("cache-control"), ["no-store"]);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie naming a server in maintenance or unknown: balanced elsewhere and a new cookie inserted", async () => {
  const s = stubs();
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "insert indirect nocache", { aExtra: ", disabled: true" });
    for (const v of ["ca", "zz", ""]) {
      const r = await fetchOnce(p.port("fe"), get("/", [`Cookie: SRV=${v}; k=v`]));
      assert.equal(r.text, "b GET /", `cookie ${v}`);
      assert.deepEqual(r.all("set-cookie"), ["SRV=cb; path=/"]);
      assert.deepEqual(reqHeader(last(s.b), "cookie"), ["k=v"]);
    }
    assert.equal(s.a.requests.length, 0);
  } finally {
    await closeAll(p, s);
  }
});

Deno.test("cookie prefix: round trip of the application cookie, other cookies untouched", async () => {
  const s = stubs((r) =>
    r.target === "/login"
      ? {
        headers: [["Content-Type", "text/plain"], ["Set-Cookie", "SRV=abc; Path=/; HttpOnly"], [
          "Set-Cookie",
          "other=1",
        ]],
      }
      : {}
  );
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "prefix");
    const r = await fetchOnce(p.port("fe"), get("/login"));
    const tag = r.text.split(" ")[0]!;
    assert.deepEqual(r.all("set-cookie"), [`SRV=c${tag}~abc; Path=/; HttpOnly`, "other=1"]);
    const stub = tag === "a" ? s.a : s.b;
    for (let i = 0; i < 3; i++) {
      const r2 = await fetchOnce(p.port("fe"), get("/x", [`Cookie: other=1; SRV=c${tag}~abc`]));
      assert.equal(r2.text, `${tag} GET /x`);
      assert.deepEqual(r2.all("set-cookie"), []);
      assert.deepEqual(reqHeader(last(stub), "cookie"), ["other=1; SRV=abc"]);
    }
  } finally {
    await closeAll(p, s);
  }
});

// ---------------------------------------------------------------------------
// option forwardfor.

function ffProxy(
  s: HttpStub,
  o: { fe?: string; be?: string; v6?: boolean } = {},
): Promise<ProxyProcess> {
  const bind = o.v6 ? `["127.0.0.1:0", "[::1]:0"]` : `"127.0.0.1:0"`;
  return startProxy(`${HTTP_DEFAULTS}
frontends:
  fe:
    bind: ${bind}
    default_backend: be
${o.fe ?? ""}
backends:
  be:
${o.be ?? ""}
    servers:
      - { name: s1, address: "127.0.0.1:${s.port}" }
`);
}

function v6Available(): boolean {
  try {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    l.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("forwardfor: IPv6 client, except ::1/128, if-none and a custom header name", async () => {
  if (!v6Available()) return;
  const s = httpStub("s");
  const ps: ProxyProcess[] = [];
  try {
    const plain = await ffProxy(s, { v6: true, be: `    option: ["forwardfor"]` });
    ps.push(plain);
    await fetchOnce(bindPort(plain, "fe", "v6"), get("/6"), { hostname: "::1" });
    assert.deepEqual(reqHeader(last(s), "x-forwarded-for"), ["::1"]);
    // Without if-none the address is appended as a header of its own.
    await fetchOnce(plain.port("fe"), get("/4", ["X-Forwarded-For: 192.0.2.9"]));
    assert.deepEqual(reqHeader(last(s), "x-forwarded-for"), ["192.0.2.9", "127.0.0.1"]);

    const exc = await ffProxy(s, {
      v6: true,
      be: `    option: ["forwardfor except ::1/128 header X-Real-Client"]`,
    });
    ps.push(exc);
    await fetchOnce(bindPort(exc, "fe", "v6"), get("/6x"), { hostname: "::1" });
    assert.deepEqual(reqHeader(last(s), "x-real-client"), []);
    await fetchOnce(bindPort(exc, "fe", "v4"), get("/4x"));
    assert.deepEqual(reqHeader(last(s), "x-real-client"), ["127.0.0.1"]);
    assert.deepEqual(reqHeader(last(s), "x-forwarded-for"), []);

    const none = await ffProxy(s, { be: `    option: ["forwardfor header X-Client if-none"]` });
    ps.push(none);
    await fetchOnce(none.port("fe"), get("/n", ["x-client: 198.51.100.7"]));
    assert.deepEqual(reqHeader(last(s), "x-client"), ["198.51.100.7"]);
    await fetchOnce(none.port("fe"), get("/n2"));
    assert.deepEqual(reqHeader(last(s), "x-client"), ["127.0.0.1"]);
  } finally {
    for (const p of ps) await p.stop();
    await s.close();
  }
});

Deno.test("forwardfor on both frontend and backend: the frontend's except still applies (HAProxy checks both)", async () => {
  const s = httpStub("s");
  let p: ProxyProcess | null = null;
  try {
    p = await ffProxy(s, {
      fe: `    option: ["forwardfor except 127.0.0.0/8"]`,
      be: `    option: ["forwardfor header X-Client"]`,
    });
    await fetchOnce(p.port("fe"), get("/"));
    // HAProxy: the header is added only when the source matches neither the
    // frontend's nor the backend's except network.
    assert.deepEqual(reqHeader(last(s), "x-client"), []);
    assert.deepEqual(reqHeader(last(s), "x-forwarded-for"), []);
  } finally {
    await p?.stop();
    await s.close();
  }
});

// ---------------------------------------------------------------------------
// errorfile.

Deno.test("errorfile: the body is the file's bytes, with its length and the reply headers, for 1.0 and 1.1 clients", async () => {
  const dir = await Deno.makeTempDir();
  const body = new TextEncoder().encode("<p>Désolé — plus tard</p>\r\n\0end");
  await Deno.writeFile(`${dir}/503.html`, body);
  let p: ProxyProcess | null = null;
  try {
    p = await startProxy(`${HTTP_DEFAULTS}
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    errorfile: ["503 ${dir}/503.html"]
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:1", disabled: true }
`);
    for (const req of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"]) {
      const c = await connectHttp(p.port("fe"));
      try {
        const r = await c.request(req);
        assert.equal(r.status, 503);
        assert.deepEqual(r.body, body);
        assert.equal(r.get("content-length"), String(body.length));
        assert.equal(r.get("content-type"), "text/html");
        assert.equal(r.get("cache-control"), "no-cache");
        assert.equal(r.get("connection"), "close");
        assert.equal(latin1((await c.readUntilClosed()).extra), "");
      } finally {
        c.close();
      }
    }
  } finally {
    await p?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// HTTP/1.0 clients and servers.

function rawProxy(port: number): Promise<ProxyProcess> {
  return startProxy(`${HTTP_DEFAULTS}
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${port}" }
`);
}

Deno.test("HTTP/1.0 client, HTTP/1.1 server answering chunked anyway: the client never sees chunked framing", async () => {
  const srv = rawStub({
    respond: () => ({
      bytes:
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    }),
  });
  const p = await rawProxy(srv.port);
  try {
    const c = await connectHttp(p.port("fe"));
    try {
      await c.send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      const head = await c.reader.readHead();
      assert.ok(head !== null);
      const h = latin1(head);
      // RFC 9112 §6.1: no Transfer-Encoding towards an HTTP/1.0 recipient. The
      // request reached the server as HTTP/1.0, so the server broke the rule;
      // Sluice does not de-chunk (HAProxy does) and answers a clean 502
      // (documented in docs/internals/http_parser.md) instead of chunk
      // framing the client cannot decode.
      assert.ok(!/^transfer-encoding:/im.test(h), h);
      assert.match(h, /^HTTP\/1\.1 502 /, h);
      const rest = latin1(await c.reader.readToEof());
      assert.ok(!rest.includes("hello"), rest);
    } finally {
      c.close();
    }
  } finally {
    await p.stop();
    await srv.close();
  }
});

Deno.test("HTTP/1.0 keep-alive client, server response without length: the body ends with the close, no keep-alive promised", async () => {
  const srv = rawStub({
    respond: () => ({
      bytes: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close",
      then: "close",
    }),
  });
  const p = await rawProxy(srv.port);
  try {
    const c = await connectHttp(p.port("fe"));
    try {
      const r = await c.request("GET /u HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      assert.equal(r.text, "until-close");
      assert.notEqual(r.get("connection")?.toLowerCase(), "keep-alive");
      assert.equal(r.get("transfer-encoding"), undefined);
    } finally {
      c.close();
    }
  } finally {
    await p.stop();
    await srv.close();
  }
});

Deno.test("HTTP/1.0 request reaches the server as HTTP/1.0 with the client's keep-alive wish; 1.1 server's keep-alive reply gets Connection: keep-alive", async () => {
  const srv = rawStub({
    respond: (r) => ({
      bytes: `HTTP/1.1 200 OK\r\nContent-Length: ${r.target.length}\r\n\r\n${r.target}`,
    }),
  });
  const p = await rawProxy(srv.port);
  try {
    const c = await connectHttp(p.port("fe"));
    try {
      for (const t of ["/k1", "/k2"]) {
        const r = await c.request(`GET ${t} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
        assert.equal(r.text, t);
        assert.equal(r.get("connection")?.toLowerCase(), "keep-alive");
      }
      const seen = srv.requests.items.map((q) => q.version);
      assert.deepEqual(seen, ["HTTP/1.0", "HTTP/1.0"]);
    } finally {
      c.close();
    }
  } finally {
    await p.stop();
    await srv.close();
  }
});
