// option forwardfor: IPv6 clients, `except` networks, if-none and a custom
// header name, and the frontend's `except` still applying when the backend
// sets forwardfor too (HAProxy checks both).
//
// As an HAProxy user would see it: the exact bytes each side gets.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  bindPort,
  fetchOnce,
  get,
  HTTP_DEFAULTS,
  type HttpStub,
  httpStub,
  reqHeader,
} from "./_http.ts";
import { last } from "./_cookie.ts";

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
