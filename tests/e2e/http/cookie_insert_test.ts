// Cookie persistence in insert mode (indirect, preserve, nocache): other
// cookies reach the server byte for byte, the SRV cookie is found wherever
// it is and removed, the Set-Cookie attributes come in HAProxy's order, and
// a cookie naming a server that cannot take the request is replaced.
//
// As an HAProxy user would see it: the exact bytes each side gets.

import assert from "node:assert/strict";
import type { ProxyProcess } from "../../_helpers/proxy.ts";
import { fetchOnce, get, reqHeader, type StubRequest } from "./_http.ts";
import { closeAll, cookieProxy, last, stubs } from "./_cookie.ts";

/** The raw `Cookie` lines of a recorded request, exactly as received. */
function rawCookieLines(r: StubRequest): string[] {
  return r.head.raw.split("\r\n").filter((l) => /^cookie:/i.test(l));
}

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
