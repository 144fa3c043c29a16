// ACL-based backend selection (use_backend / default_backend) observed end to
// end: each backend is a stub origin that tags its replies (`X-Backend` and
// the body), and records what it received, so a test checks both what the
// client got and which server actually saw the request. Rules are evaluated
// in order and the first match wins; without a match the default backend
// serves; with neither the proxy answers 503.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  bindPort,
  fetchOnce,
  HTTP_DEFAULTS,
  type HttpStub,
  httpStub,
  parseHttpLog,
  reqHeader,
} from "./_http.ts";

const TAGS = [
  "api",
  "img",
  "item",
  "admin",
  "shop",
  "post",
  "v2",
  "old",
  "either",
  "not",
  "static",
  "exact",
  "default",
  "v4",
  "doc",
  "v6",
  "anyv6",
  "unless",
] as const;
type Tag = typeof TAGS[number];

function config(port: (t: Tag) => number): string {
  const backends = TAGS.map((t) =>
    `  be_${t}: { servers: [ { name: s1, address: "127.0.0.1:${port(t)}" } ] }`
  ).join("\n");
  return HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    acl:
      is_api: "path_beg /api"
      host_admin: "hdr(host) -i ADMIN.example.com"
      is_static: ["path_beg /static/", "path_end .css"]
    use_backend:
      - "be_api if is_api"
      - "be_img if { path_end .png .jpg }"
      - "be_item if { path_reg ^/item/[0-9]+$ }"
      - "be_admin if host_admin"
      - "be_shop if { hdr_dom(host) -i shop.example }"
      - "be_post if METH_POST { path_beg /form }"
      - "be_v2 if { url_param(version) 2 }"
      - "be_old if HTTP_1.0"
      - "be_either if { path /a } || { path /b }"
      - "be_not if { path_beg /n/ } !{ hdr(x-ok) -m found }"
      - "be_static if is_static"
      - "be_exact if { hdr(x-tag) Blue }"
    default_backend: be_default
  fe_src:
    bind: ["127.0.0.1:0", "[::1]:0"]
    acl: { from_v6: "src ::1", any_v6: "src ::/0", doc_net: "src 2001:db8::/32", local_v4: "src 127.0.0.0/8" }
    option: [forwardfor]
    use_backend:
      - "be_v4 if local_v4"
      - "be_doc if doc_net"
      - "be_v6 if from_v6 { path_beg /v6 }"
      - "be_anyv6 if any_v6"
  fe_nodef:
    bind: "127.0.0.1:0"
    use_backend: ["be_unless unless { path_beg /none } || { hdr(x-skip) -m found }"]
backends:
${backends}
`;
}

interface Env {
  proxy: ProxyProcess;
  stubs: Map<Tag, HttpStub>;
}

/** One proxy and one stub per backend for the whole file (starting them is the slow part). */
async function withRouting(body: (env: Env) => Promise<void>): Promise<void> {
  const stubs = new Map<Tag, HttpStub>();
  let proxy: ProxyProcess | undefined;
  try {
    for (const t of TAGS) stubs.set(t, httpStub(t));
    proxy = await startProxy(config((t) => stubs.get(t)!.port));
    await body({ proxy, stubs });
  } finally {
    await proxy?.stop();
    await Promise.all([...stubs.values()].map((s) => s.close()));
  }
}

let seq = 0;

/**
 * Sends `method target` (HTTP/`ver`) with `headers` to `port` and returns
 * the tag of the backend that answered, after checking that this backend's
 * stub recorded exactly this request (by a unique X-Req-Id) and no other stub did.
 */
async function route(
  env: Env,
  port: number,
  target: string,
  opts: { method?: string; headers?: string[]; ver?: string; hostname?: string } = {},
): Promise<string> {
  const id = `r${++seq}`;
  const method = opts.method ?? "GET";
  const headers = opts.headers ?? [];
  const hasHost = headers.some((h) => /^host:/i.test(h));
  const lines = [
    `${method} ${target} HTTP/${opts.ver ?? "1.1"}`,
    ...(hasHost ? [] : ["Host: test.local"]),
    ...headers,
    `X-Req-Id: ${id}`,
    ...(method === "POST" ? ["Content-Length: 0"] : []),
  ];
  const res = await fetchOnce(port, lines.join("\r\n") + "\r\n\r\n", {
    method,
    hostname: opts.hostname ?? "127.0.0.1",
  });
  assert.equal(res.status, 200, `${method} ${target}: ${res.head.raw}${res.text}`);
  const tag = res.get("x-backend") ?? "(none)";
  assert.equal(res.text, `${tag} ${method} ${target}`, `body of ${method} ${target}`);
  const seenBy = [...env.stubs.entries()]
    .filter(([, s]) => s.requests.some((r) => reqHeader(r, "x-req-id")[0] === id))
    .map(([t]) => t);
  assert.deepEqual(seenBy, [tag], `${method} ${target} reached exactly the answering server`);
  return tag;
}

Deno.test("routing: path, header, method, version and query ACLs pick the backend; first match wins; default otherwise", async () => {
  await withRouting(async (env) => {
    const fe = env.proxy.port("fe");
    const r = (t: string, o: Parameters<typeof route>[3] = {}) => route(env, fe, t, o);

    // path_beg (a named ACL)
    assert.equal(await r("/api/users"), "api");
    assert.equal(await r("/apix"), "api", "path_beg is a prefix match on the path");
    assert.equal(await r("/v1/api"), "default");
    // path_end with two patterns, in an anonymous ACL
    assert.equal(await r("/static/logo.png?size=2"), "img", "the query is not part of path");
    assert.equal(await r("/x.jpg"), "img");
    assert.equal(await r("/x.gif"), "default");
    // path_reg
    assert.equal(await r("/item/42"), "item");
    assert.equal(await r("/item/42x"), "default");
    assert.equal(await r("/item/"), "default");
    // hdr(host) -i: case-insensitive, whole value
    assert.equal(await r("/", { headers: ["Host: Admin.Example.COM"] }), "admin");
    assert.equal(await r("/", { headers: ["Host: admin.example.com.evil"] }), "default");
    // hdr_dom: dot-delimited words
    assert.equal(await r("/", { headers: ["Host: www.shop.example"] }), "shop");
    assert.equal(await r("/", { headers: ["Host: SHOP.example"] }), "shop");
    assert.equal(await r("/", { headers: ["Host: myshop.example"] }), "default");
    // predefined METH_POST ANDed with an anonymous ACL
    assert.equal(await r("/form", { method: "POST" }), "post");
    assert.equal(await r("/form"), "default");
    assert.equal(await r("/other", { method: "POST" }), "default");
    // url_param
    assert.equal(await r("/?version=2"), "v2");
    assert.equal(await r("/p?a=1&version=2"), "v2");
    assert.equal(await r("/?version=20"), "default");
    assert.equal(await r("/?xversion=2"), "default");
    // predefined HTTP_1.0
    assert.equal(await r("/ten", { ver: "1.0" }), "old");
    assert.equal(await r("/ten"), "default");
    // ||
    assert.equal(await r("/a"), "either");
    assert.equal(await r("/b"), "either");
    assert.equal(await r("/c"), "default");
    // ! (negation), implicit AND
    assert.equal(await r("/n/1"), "not");
    assert.equal(await r("/n/1", { headers: ["X-Ok: 1"] }), "default");
    // an ACL declared twice (list) ORs its declarations
    assert.equal(await r("/static/app.js"), "static");
    assert.equal(await r("/theme.css"), "static");
    // hdr() without -i is case-sensitive
    assert.equal(await r("/", { headers: ["X-Tag: Blue"] }), "exact");
    assert.equal(await r("/", { headers: ["X-Tag: blue"] }), "default");
    // first matching rule wins: /api/x.png matches be_api and be_img
    assert.equal(await r("/api/x.png"), "api");
    assert.equal(await r("/a?version=2"), "v2", "url_param rule comes before the || rule");
    // nothing matches
    assert.equal(await r("/nothing"), "default");

    // The log names the backend chosen.
    const fLog = env.proxy.logs.map(parseHttpLog).find((l) =>
      l.request === "GET /item/42 HTTP/1.1"
    );
    assert.equal(`${fLog?.backend}/${fLog?.server}`, "be_item/s1", fLog?.line);
  });
});

Deno.test("routing: src ACLs with IPv4 CIDR and IPv6 (::1, ::/0, 2001:db8::/32) over 127.0.0.1 and [::1]", async () => {
  await withRouting(async (env) => {
    const v4 = bindPort(env.proxy, "fe_src", "v4");
    const v6 = bindPort(env.proxy, "fe_src", "v6");
    assert.notEqual(v4, v6);
    assert.equal(await route(env, v4, "/v6/x"), "v4", "127.0.0.1 is in 127.0.0.0/8");
    assert.equal(await route(env, v4, "/any"), "v4");
    assert.equal(await route(env, v6, "/v6/x", { hostname: "::1" }), "v6", "src ::1");
    assert.equal(
      await route(env, v6, "/any", { hostname: "::1" }),
      "anyv6",
      "::1 is in ::/0 and not in 2001:db8::/32",
    );
    assert.equal(env.stubs.get("doc")!.requests.length, 0);

    // The server sees the IPv6 client in X-Forwarded-For, the log line too.
    const v6req = env.stubs.get("anyv6")!.requests[0]!;
    assert.deepEqual(reqHeader(v6req, "x-forwarded-for"), ["::1"]);
    const v4req = env.stubs.get("v4")!.requests[0]!;
    assert.deepEqual(reqHeader(v4req, "x-forwarded-for"), ["127.0.0.1"]);
    const v6logs = (await env.proxy.waitForLogs(/^::1:\d+ \[/, 2)).map(parseHttpLog);
    assert.deepEqual(
      v6logs.map((l) => `${l.clientIp} ${l.frontend} ${l.backend} ${l.status} ${l.request}`).sort(),
      ["::1 fe_src be_anyv6 200 GET /any HTTP/1.1", "::1 fe_src be_v6 200 GET /v6/x HTTP/1.1"],
    );
  });
});

Deno.test("routing: unless and || in use_backend; no match and no default_backend gives 503", async () => {
  await withRouting(async (env) => {
    const port = env.proxy.port("fe_nodef");
    assert.equal(await route(env, port, "/u"), "unless");
    for (
      const [target, headers] of [["/none", []], ["/none/deeper", []], ["/u", [
        "X-Skip: 1",
      ]]] as const
    ) {
      const res = await fetchOnce(
        port,
        `GET ${target} HTTP/1.1\r\nHost: test.local\r\n${
          headers.map((h) => h + "\r\n").join("")
        }\r\n`,
      );
      assert.equal(res.status, 503, `${target}: ${res.head.raw}`);
      assert.equal(res.get("x-backend"), undefined);
    }
    assert.equal(env.stubs.get("unless")!.requests.length, 1, "only /u reached the server");
    const [log] = (await env.proxy.waitForLogs(/"GET \/none HTTP\/1\.1"$/, 1)).map(parseHttpLog);
    assert.equal(log!.status, 503, log!.line);
    assert.equal(log!.server, "<NOSRV>", log!.line);
  });
});
