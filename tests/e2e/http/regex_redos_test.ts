// Configured regexes run in linear time (issue 14, item 2): one request built
// to make a backtracking engine explode — `^(a+)+$` against 40 `a`s and a
// `!`, which V8's RegExp needs hours for (each extra `a` doubles it) — is
// answered at once, and so is a request on another connection sent meanwhile:
// the proxy's single thread is never held. A pattern the linear engine cannot
// run is refused at load time, at its file:line:col, by `sluice -c`.

import assert from "node:assert/strict";
import { checkConfig, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get, HTTP_DEFAULTS, type HttpStub, httpStub, reqHeader } from "./_http.ts";

/** Generous bound for an answer: the old code took minutes, far beyond it. */
const ANSWER_MS = 2_000;

/** 40 `a`s then `!`: no match, after 2^40 steps of backtracking. */
const EVIL = "a".repeat(40) + "!";

function config(be: number): string {
  return HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    acl:
      evil: "hdr_reg(user-agent) ^(a+)+$"
    http-request:
      - "deny if evil"
      - 'replace-header X-Evil ^(a|aa)+$ matched'
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${be}" } ] }
`;
}

async function withProxy(body: (proxy: ProxyProcess, be: HttpStub) => Promise<void>) {
  const be = httpStub("be");
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(be.port));
    await body(proxy, be);
  } finally {
    await proxy?.stop();
    await be.close();
  }
}

Deno.test("regex: a catastrophic-backtracking User-Agent is answered at once, and so is another connection meanwhile", async () => {
  await withProxy(async (proxy, be) => {
    const fe = proxy.port("fe");
    // Both connections are open before the evil request is sent, so the
    // second one is accepted and waits on nothing but the proxy's thread.
    const a = await connectHttp(fe);
    const b = await connectHttp(fe);
    try {
      const evil = a.request(get("/evil", [`User-Agent: ${EVIL}`]), "GET", ANSWER_MS);
      const other = b.request(get("/other", ["User-Agent: curl/8.0"]), "GET", ANSWER_MS);
      const [ra, rb] = await Promise.all([evil, other]);
      assert.equal(ra.status, 200, "no match: the evil request is not denied but forwarded");
      assert.equal(rb.status, 200, "the concurrent request is answered");
      assert.deepEqual(be.requests.map((r) => r.target).sort(), ["/evil", "/other"]);
    } finally {
      a.close();
      b.close();
    }
    // The ACL still works: the same run of `a`s without the `!` matches.
    const c = await connectHttp(fe);
    try {
      const r = await c.request(
        get("/match", [`User-Agent: ${"a".repeat(40)}`]),
        "GET",
        ANSWER_MS,
      );
      assert.equal(r.status, 403);
    } finally {
      c.close();
    }
  });
});

Deno.test("regex: replace-header with a catastrophic pattern leaves a non-matching value alone, at once", async () => {
  await withProxy(async (proxy, be) => {
    const fe = proxy.port("fe");
    const c = await connectHttp(fe);
    try {
      const r1 = await c.request(get("/r1", [`X-Evil: ${EVIL}`]), "GET", ANSWER_MS);
      assert.equal(r1.status, 200);
      const r2 = await c.request(get("/r2", [`X-Evil: ${"a".repeat(41)}`]), "GET", ANSWER_MS);
      assert.equal(r2.status, 200);
    } finally {
      c.close();
    }
    const [r1, r2] = await be.waitRequests(2);
    assert.deepEqual(reqHeader(r1!, "x-evil"), [EVIL]);
    assert.deepEqual(reqHeader(r2!, "x-evil"), ["matched"]);
  });
});

Deno.test("regex: sluice -c refuses back-references and lookaround at file:line:col", async () => {
  // line numbers matter: the refused patterns are on lines 8, 11 and 19
  const r = await checkConfig(`global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 1s, server: 1s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    acl: { twice: 'hdr_reg(x-a) ^(a+)\\1$' }
    http-request:
      - "deny if twice"
      - 'replace-header X-B ^(?=x)(.*)$ \\1'
    default_backend: be
backends:
  be:
    option: [httpchk]
    servers:
      - { name: s1, address: "127.0.0.1:1", check: true }
    http-check:
      - 'expect rstring (?<!x)ok'
`);
  assert.equal(r.code, 1, `stderr:\n${r.stderr}`);
  const at = (line: number, what: string) =>
    new RegExp(`${RegExp.escape(r.file)}:${line}:\\d+: error: .*${RegExp.escape(what)}`);
  assert.match(r.stderr, at(8, "backreference '\\1' is not supported"));
  assert.match(r.stderr, at(11, "lookahead '(?=' is not supported"));
  assert.match(r.stderr, at(19, "lookbehind '(?<!' is not supported"));
  assert.match(r.stderr, /linear time/);
});
