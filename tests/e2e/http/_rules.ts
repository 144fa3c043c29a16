// Set-up shared by the http-request / http-response rule tests: one proxy
// whose frontend holds every rule under test (each keyed by the request's
// path), a request sender that returns what the server received, and small
// accessors.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  connectHttp,
  HTTP_DEFAULTS,
  type HttpResponse,
  type HttpStub,
  httpStub,
  latin1,
  reqHeader,
  type StubReply,
  type StubRequest,
} from "./_http.ts";

/** A byte string (one char per byte) as bytes. */
export function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** UTF-8 text as a byte string (what the proxy should write for config text). */
export function utf8(s: string): string {
  return latin1(new TextEncoder().encode(s));
}

/** Stub replies chosen by path (for the http-response rules). */
export function respond(r: StubRequest): StubReply {
  const path = r.target.split("?")[0];
  if (path === "/res-404") return { status: 404, reason: "Not Found", body: "from server" };
  if (path === "/res-deny") return { headers: [["X-Leak", "1"]], body: "secret" };
  if (path === "/res-redir") return { status: 500, reason: "Oops", body: "from server" };
  return {};
}

export const RULES = `
    acl:
      ipv4_all: "src 0.0.0.0/0"
      host32: "src 127.0.0.1/32"
      other32: "src 127.0.0.2/32"
      v6_all: "src ::/0"
      mapped: "src ::ffff:127.0.0.0/104"
      a_hdr: "hdr(x-a) on"
      b_hdr: "hdr(x-b) on"
    http-request:
      # --- bug probes
      - 'set-header X-Icase yes if { path /icase } { hdr(x-name) -i café }'
      - 'set-header X-Exact yes if { path /icase } { hdr(x-name) café }'
      - 'set-header X-Up %[hdr(x-raw),upper] if { path /upper }'
      - 'set-header X-P-A "[%[url_param(a)]]" if { path /urlp }'
      - 'set-header X-P-B "[%[url_param(b)]]" if { path /urlp }'
      - 'set-header X-P-C-Found yes if { path /urlp } { url_param(c) -m found }'
      - 'return status 200 content-type text/plain string ok hdr X-Ret yes hdr X-Who %[src] if { path /ret-hdr }'
      - 'redirect location https://example.com/café code 302 if { path /redir-utf8 }'
      - 'redirect location https://example.com/%[hdr(x-dest)] code 302 if { path /redir-hdr }'
      # --- guards
      - 'set-header X-Dom yes if { path /dom } { hdr_dom(host) example.com }'
      - 'set-header X-Dom-Port yes if { path /dom } { hdr_dom(host) -i EXAMPLE.com }'
      - 'set-header X-End yes if { path /dom } { hdr_end(host) example.com:8080 }'
      - 'set-header X-Sub yes if { path /dom } { hdr_sub(host) -i AMPLE }'
      - 'set-header X-Beg yes if { path /dom } { hdr_beg(host) www. }'
      - 'set-header X-Len yes if { path /dom } { hdr_len(host) 20 }'
      - 'set-header X-Last %[hdr(x-list)] if { path /split }'
      - 'set-header X-First %[hdr(x-list,1)] if { path /split }'
      - 'set-header X-Second-Last %[hdr(x-list,-2)] if { path /split }'
      - 'set-header X-Full %[fhdr(x-list)] if { path /split }'
      - 'set-header X-Cnt %[hdr_cnt(x-list)] if { path /split }'
      - 'set-header X-FCnt %[fhdr_cnt(x-list)] if { path /split }'
      - 'set-header X-Has-B yes if { path /split } { hdr(x-list) b }'
      - 'set-header X-Fhdr-B yes if { path /split } { fhdr(x-list) b }'
      - 'set-header X-Int yes if { path /split } { hdr(x-num) -m int gt 41 }'
      - 'set-header X-Rep "[%[url_param(r)]]" if { path /urlp-rep }'
      - 'set-header X-Rep-Has2 yes if { path /urlp-rep } { url_param(r) 2 }'
      - 'set-header X-Src %[src] if { path /src }'
      - 'set-header X-V4All yes if { path /src } ipv4_all'
      - 'set-header X-Host32 yes if { path /src } host32'
      - 'set-header X-Other32 yes if { path /src } other32'
      - 'set-header X-V6All yes if { path /src } v6_all'
      - 'set-header X-Mapped yes if { path /src } mapped'
      - 'set-header X-Local yes if { path /src } LOCALHOST'
      - 'set-header X-DstPort %[dst_port]:%[src_port] if { path /src }'
      - 'set-header X-DstPort-Range yes if { path /src } { dst_port 1024: }'
      - 'set-header X-DstPort-Low yes if { path /src } { dst_port :1023 }'
      - 'set-header X-Or yes if { path /cond } a_hdr || b_hdr'
      - 'set-header X-Not yes if { path /cond } !a_hdr !b_hdr'
      - 'set-header X-Unless yes unless { path /nope } || a_hdr'
      - 'set-header X-Anon-Neg yes if { path /cond } !{ hdr(x-a) -m found }'
      - 'set-header X-Ver %[req.ver] if { path /cond } HTTP_1.1 METH_GET'
      - 'set-header X-Missing "<%[hdr(x-missing)]>" if { path /cond }'
      - 'set-header X-Path "%[path]|%[url]|%[query]|%[method]" if { path_beg /abs }'
      - 'set-path /new%[path] if { path_beg /abs/sp }'
      - 'set-query q=2 if { path_beg /abs/sq }'
      - 'set-query q=3 if { path_beg /sq-none }'
      - 'set-uri http://other.example/u?x=1 if { path_beg /abs/su }'
      - 'set-method POST if { path /sm }'
      - 'set-header X-Method-After %[method] if { path /sm }'
      - 'replace-header X-Rh ^(\\w+)-(\\w+)$ \\2-\\1 if { path /rep }'
      - 'replace-value X-Rv ^v(\\d)$ w\\1 if { path /rep }'
      - 'del-header X-Del- -m beg if { path /rep }'
      - 'del-header ^x-rx-[0-9]+$ -m reg if { path /rep }'
      - 'del-header X-Gone if { path /obs }'
      - 'set-header X-Obs %[hdr(x-raw)] if { path /obs }'
      - 'add-header X-Dup three if { path /obs }'
      - 'deny deny_status 429 if { path /order }'
      - 'set-header X-After-Deny yes if { path /order }'
      - 'redirect prefix https://p.example drop-query code 301 if { path /rp }'
      - 'redirect prefix https://p.example code 307 if { path /rpq }'
      - 'redirect scheme https code 308 if { path /rs }'
    http-response:
      - 'return status 200 content-type text/plain string replaced if { status 404 }'
      - 'deny deny_status 403 if { res.hdr(x-leak) -m found }'
      - 'redirect location /elsewhere code 303 if { status 500 }'
      - 'set-header X-Req-Path %[path] if { path_beg /abs }'
`;

export function config(port: number): string {
  return HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
${RULES}
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${port}" } ] }
`;
}

export interface Env {
  proxy: ProxyProcess;
  be: HttpStub;
  port: number;
}

export async function withProxy(body: (env: Env) => Promise<void>): Promise<void> {
  const be = httpStub("be", { respond });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(be.port));
    await body({ proxy, be, port: proxy.port("fe") });
  } finally {
    await proxy?.stop();
    await be.close();
  }
}

export let seq = 0;

/**
 * Sends one request (head given as a byte string, Host and a unique
 * X-Req-Id added) on a new connection; returns the response and the
 * request the server received (null when none did).
 */
export async function send(
  env: Env,
  target: string,
  headers: string[] = [],
  opts: { method?: string; ver?: string; host?: string | null } = {},
): Promise<{ res: HttpResponse; got: StubRequest | null }> {
  const id = `q${++seq}`;
  const method = opts.method ?? "GET";
  const host = opts.host === undefined ? "test.local" : opts.host;
  const head = `${method} ${target} HTTP/${opts.ver ?? "1.1"}\r\n` +
    (host === null ? "" : `Host: ${host}\r\n`) +
    headers.map((h) => h + "\r\n").join("") + `X-Req-Id: ${id}\r\n\r\n`;
  const c = await connectHttp(env.port);
  let res: HttpResponse;
  try {
    res = await c.request(bytes(head), method, 5000);
  } finally {
    c.close();
  }
  const got = env.be.requests.find((r) => reqHeader(r, "x-req-id")[0] === id) ?? null;
  return { res, got };
}

export function must(got: StubRequest | null, what: string): StubRequest {
  assert.ok(got !== null, `${what}: the server did not receive the request`);
  return got;
}

/** Single value of a header the server received ("" joined when several, undefined when none). */
export function one(r: StubRequest, name: string): string | undefined {
  const v = reqHeader(r, name);
  return v.length === 0 ? undefined : v.join("\n");
}
