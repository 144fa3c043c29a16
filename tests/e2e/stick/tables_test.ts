// Stick tables through real sockets: LRU eviction when the table is full,
// expiry of idle entries, conn_cur while a connection is in progress,
// gpc0/gpt0 actions, tarpit (held, then 500, `PT` in the log), and config
// errors at file:line:col.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { formatIssue, loadConfigText } from "../../../src/proxy/load.ts";
import {
  connectHttp,
  fetchOnce,
  get,
  HTTP_DEFAULTS,
  type HttpStub,
  httpStub,
  logsOf,
} from "../http/_http.ts";

/** A frontend with `table` and `rules`, in front of `stub`. */
function proxy(stub: HttpStub, table: string, rules: string[], extra = ""): Promise<ProxyProcess> {
  return startProxy(`${HTTP_DEFAULTS}
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stick-table: "${table}"
${extra}
    http-request:
${rules.map((r) => `      - ${JSON.stringify(r)}`).join("\n")}
backends:
  be:
    servers: [{ name: a, address: "127.0.0.1:${stub.port}" }]
`);
}

/** Answers `/show` with the counters of key K (header X-Key) and the entry count. */
const SHOW =
  'return status 200 content-type text/plain lf-string "%[sc0_http_req_cnt] %[table_cnt]" if { path /show }';

Deno.test("stick table: a full table evicts its least recently used key", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  try {
    p = await proxy(stub, "type string len 8 size 3 expire 1m store http_req_cnt", [
      "track-sc0 req.hdr(x-key)",
      SHOW,
    ]);
    const port = p.port("fe");
    const hit = async (k: string) => (await fetchOnce(port, get("/show", [`X-Key: ${k}`]))).text;
    assert.equal(await hit("a"), "1 1");
    assert.equal(await hit("b"), "1 2");
    assert.equal(await hit("c"), "1 3");
    assert.equal(await hit("a"), "2 3", "a is used again: b is now the least recently used");
    assert.equal(await hit("d"), "1 3", "the table stays at its size");
    assert.equal(await hit("a"), "3 3", "a survived");
    assert.equal(await hit("c"), "2 3", "c survived");
    assert.equal(await hit("b"), "1 3", "b was evicted: it starts again");
  } finally {
    await p?.stop();
    await stub.close();
  }
});

Deno.test("stick table: an idle entry expires, a tracked one is counted while its connection lasts", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  try {
    p = await proxy(
      stub,
      "type ip size 10 expire 300ms store conn_cur,conn_cnt,http_req_cnt",
      [
        'return status 200 content-type text/plain lf-string "%[table_cnt] %[src_conn_cur] %[src_http_req_cnt]" if { path /cnt }',
        "track-sc0 src",
      ],
    );
    const port = p.port("fe");
    const c = await connectHttp(port);
    assert.equal((await c.request(get("/x"))).status, 200);
    // The tracking request is over: conn_cur went back to 0 (HAProxy's stream ended).
    assert.equal((await fetchOnce(port, get("/cnt"))).text, "1 0 1");
    assert.equal((await c.request(get("/y"))).status, 200);
    c.close();
    assert.equal((await fetchOnce(port, get("/cnt"))).text, "1 0 2");
    // Nothing touches the entry any more: it goes after 300 ms (polled, generous deadline).
    const end = Date.now() + 10_000;
    let last = "";
    while (Date.now() < end) {
      last = (await fetchOnce(port, get("/cnt"))).text;
      if (last === "0 0 0") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(last, "0 0 0");
  } finally {
    await p?.stop();
    await stub.close();
  }
});

Deno.test("stick table: sc-inc-gpc0 and sc-set-gpt0 mark a client, an ACL on the mark refuses it", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  try {
    p = await proxy(stub, "type ip size 10 expire 1m store gpc0,gpt0", [
      "track-sc0 src",
      "deny deny_status 403 if { sc0_get_gpc0 ge 2 }",
      "sc-inc-gpc0(0) if { path_beg /admin }",
      "sc-set-gpt0(0) 7 if { path /tag }",
      'return status 200 content-type text/plain lf-string "%[sc0_get_gpc0] %[sc_get_gpt0(0)]" if { path /show }',
    ]);
    const port = p.port("fe");
    assert.equal((await fetchOnce(port, get("/tag"))).status, 200);
    assert.equal((await fetchOnce(port, get("/show"))).text, "0 7");
    assert.equal((await fetchOnce(port, get("/admin"))).status, 200);
    assert.equal((await fetchOnce(port, get("/admin"))).status, 200);
    assert.equal((await fetchOnce(port, get("/"))).status, 403, "two strikes");
  } finally {
    await p?.stop();
    await stub.close();
  }
});

Deno.test("tarpit: the request is held for timeout tarpit, then answered 500, logged PT", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  try {
    p = await proxy(
      stub,
      "type ip size 10 store http_err_cnt",
      ["track-sc0 src", "tarpit if { path /trap }"],
      "    timeout: { tarpit: 200ms }\n    option: [httplog]",
    );
    const port = p.port("fe");
    const c = await connectHttp(port);
    const r = await c.request(get("/trap"));
    assert.equal(r.status, 500);
    const [log] = await logsOf(p, c.localPort);
    c.close();
    assert.equal(log!.tsc, "PT--");
    assert.equal(log!.status, 500);
    assert.equal(stub.requests.length, 0, "the server never saw it");
    assert.equal((await fetchOnce(port, get("/ok"))).status, 200);
  } finally {
    await p?.stop();
    await stub.close();
  }
});

Deno.test("stick table: configuration errors are reported at file:line:col", () => {
  const r = loadConfigText(
    [
      "defaults:",
      "  mode: http",
      "  timeout: { connect: 5s, client: 30s, server: 30s }",
      "frontends:",
      "  fe:",
      '    bind: "127.0.0.1:0"',
      "    default_backend: be",
      '    stick-table: "type ip size 10 store http_req_rate"',
      "    http-request:",
      '      - "track-sc0 src table nope"',
      '      - "deny if { sc_http_req_rate(3) gt 1 }"',
      '    tcp-request: ["connection track-sc3 src", "content sc-inc-gpc0 if TRUE"]',
      "backends:",
      "  be:",
      '    stick: ["on src"]',
      "    servers:",
      "      - { name: s1, address: 127.0.0.1:9001 }",
      "",
    ].join("\n"),
    "cfg.yaml",
  );
  assert.deepEqual(r.issues.map(formatIssue), [
    "cfg.yaml:8:19: error: frontends.fe.stick-table: data type 'http_req_rate' expects a period, e.g. http_req_rate(10s)",
    "cfg.yaml:10:10: error: frontends.fe.http-request: http-request: 'track-sc0': no stick-table named 'nope'",
    "cfg.yaml:11:10: error: frontends.fe.http-request: http-request: anonymous ACL: 'sc_http_req_rate' expects a counter number 0..2 in 'sc_http_req_rate(3)'",
    "cfg.yaml:12:20: error: frontends.fe.tcp-request: unknown action 'track-sc3' (expected track-sc0, track-sc1 or track-sc2)",
    "cfg.yaml:12:48: error: frontends.fe.tcp-request: 'sc-inc-gpc0' expects a counter number: sc-inc-gpc0(0..2)",
    "cfg.yaml:15:14: error: backends.be.stick: stick: this backend has no stick-table (add one, or name one with 'table NAME')",
  ]);
});

Deno.test("stick table: a dedicated `tables:` entry is shared by two frontends", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  try {
    const rules = (fe: string) => `
  ${fe}:
    bind: "127.0.0.1:0"
    default_backend: be
    http-request:
      - 'return status 200 content-type text/plain lf-string "%[src_http_req_cnt(per_ip)] %[table_cnt(per_ip)]" if { path /show }'
      - "track-sc1 src table per_ip"`;
    p = await startProxy(`${HTTP_DEFAULTS}
tables:
  per_ip: { stick-table: "type ip size 10 expire 1m store http_req_cnt" }
frontends:${rules("fe1")}${rules("fe2")}
backends:
  be:
    servers: [{ name: a, address: "127.0.0.1:${stub.port}" }]
`);
    assert.equal((await fetchOnce(p.port("fe1"), get("/"))).status, 200);
    assert.equal((await fetchOnce(p.port("fe2"), get("/"))).status, 200);
    assert.equal((await fetchOnce(p.port("fe1"), get("/show"))).text, "2 1");
  } finally {
    await p?.stop();
    await stub.close();
  }
});
