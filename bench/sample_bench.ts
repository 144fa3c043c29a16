// Micro benches of sample evaluation (src/sample/, src/http/http_fetch.ts)
// as rules and ACLs run it per request.
//
// What they answer: what a rules-heavy frontend pays per request for its
// fetches, ACLs and `%[...]` values: 12 http-request rules over 7 ACLs
// (path_beg, hdr(host) -i, src networks, url_param, hdr_cnt, path_end,
// hdr_sub) plus anonymous ACLs, evaluated on one parsed request through a
// HeadSampleCtx and a HeadEditor; and the single fetches underneath. Use it
// to A/B a change of evaluation code: run the old and the new tree
// alternately, several times (`deno bench --allow-all bench/sample_bench.ts`).
// Results go to a module-level sink so the engine cannot drop the work.

import { compileAcls } from "../src/acl/acl.ts";
import { parseRequestHead } from "../src/http/h1_parse.ts";
import { HeadEditor } from "../src/http/head_editor.ts";
import { HeadSampleCtx } from "../src/http/http_fetch.ts";
import { compileRules, evalRules } from "../src/http/http_rules.ts";
import { HttpHead } from "../src/http/types.ts";
import { compileFetch } from "../src/sample/expr.ts";
import { fetchAll, fetchOne } from "../src/sample/fetch.ts";
import type { Fetch } from "../src/sample/types.ts";
import { compileValue, evalValue } from "../src/sample/value.ts";

const { acls, errors } = compileAcls([
  { name: "api", expr: "path_beg /api /v1 /v2", line: 1, col: 1 },
  { name: "host_a", expr: "hdr(host) -i a.example b.example", line: 2, col: 1 },
  { name: "internal", expr: "src 10.0.0.0/8 192.168.0.0/16", line: 3, col: 1 },
  { name: "has_tok", expr: "url_param(token) -m found", line: 4, col: 1 },
  { name: "many", expr: "hdr_cnt(x-l) gt 2", line: 5, col: 1 },
  { name: "static", expr: "path_end .css .js .png", line: 6, col: 1 },
  { name: "ua", expr: "hdr_sub(user-agent) -i curl wget", line: 7, col: 1 },
]);
if (errors.length > 0) throw new Error(JSON.stringify(errors));

const compiled = compileRules(
  [
    "set-header X-A %[path] if api",
    "set-header X-B %[req.hdr(host),lower] if host_a",
    "set-header X-C %[src]:%[src_port] if internal",
    "set-header X-D %[url_param(token)] if has_tok",
    "set-header X-E %[hdr_cnt(x-l)] if many",
    "set-header X-F %[method]-%HV unless static",
    "set-header X-G %[hdr(user-agent),upper] if ua",
    "set-header X-H static if static || api",
    "deny if { path_beg /forbidden }",
    "deny if { hdr(x-evil) -m found }",
    "set-header X-I %[query] if { query -m found }",
    "set-header X-J %[base] if !static host_a",
  ].map((text, i) => ({ text, line: i + 1, col: 1 })),
  acls,
  "request",
);
if (compiled.errors.length > 0) throw new Error(JSON.stringify(compiled.errors));
const rules = compiled.rules;

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const BUF = enc(
  "GET /api/users?id=7&token=abc HTTP/1.1\r\nHost: A.example\r\nUser-Agent: curl/8.0\r\n" +
    "X-L: 1, 2\r\nX-L: 3\r\nAccept: */*\r\n\r\n",
);
const HEAD = new HttpHead();
if (parseRequestHead(BUF, 0, BUF.length, HEAD) <= 0) throw new Error("request does not parse");

const ctx = new HeadSampleCtx();
ctx.setConnection("10.1.2.3", 40000, "10.0.0.1", 80);
const ed = new HeadEditor();

function fetchOf(text: string): Fetch {
  const f = compileFetch(text);
  if ("error" in f) throw new Error(f.error);
  return f;
}
const F_PATH = fetchOf("path");
const F_HOST = fetchOf("req.hdr(host),lower");
const F_XL = fetchOf("hdr(x-l)");
const VALUE = compileValue("%[src]:%[src_port] %HV %[url_param(token)]");
if ("error" in VALUE) throw new Error(VALUE.error);

/** Where results go so that the work is observable (never read back). */
const sink = { n: 0, s: "" };
const OUT: string[] = [];

Deno.bench("12 http-request rules, 7 ACLs, %[...] values (one request)", { group: "rules" }, () => {
  ed.reset(BUF, HEAD);
  ctx.setRequest(BUF, HEAD, ed);
  const v = evalRules(rules, ctx, ed);
  sink.n += v === null ? 0 : 1;
});

Deno.bench("fetchOne(path), fresh request", { group: "fetch" }, () => {
  ctx.setRequest(BUF, HEAD);
  sink.s = fetchOne(ctx, F_PATH) as string;
});

Deno.bench("fetchOne(req.hdr(host),lower), fresh request", { group: "fetch" }, () => {
  ctx.setRequest(BUF, HEAD);
  sink.s = fetchOne(ctx, F_HOST) as string;
});

Deno.bench("fetchAll(hdr(x-l)), fresh request (3 values)", { group: "fetch" }, () => {
  ctx.setRequest(BUF, HEAD);
  sink.n += fetchAll(ctx, F_XL, OUT);
});

Deno.bench("evalValue('%[src]:%[src_port] %HV %[url_param(token)]')", { group: "fetch" }, () => {
  ctx.setRequest(BUF, HEAD);
  sink.s = evalValue(VALUE, ctx);
});
