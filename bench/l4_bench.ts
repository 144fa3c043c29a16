// Micro benches of what runs once per connection before its stream: the
// PROXY protocol parser (v1 and v2 headers as HAProxy sends them) and the
// builders a send-proxy server connection uses, and the layer-4 content
// rules of an SNI-routing frontend on a real ClientHello (openssl s_client's,
// 517 bytes with SNI and ALPN, embedded below as hex).
//
// What they answer: what `accept-proxy`, `send-proxy*` and
// `tcp-request content` + `use_backend if { req.ssl_sni ... }` cost per
// connection next to a connection's own cost (an accept and a connect are
// tens of microseconds in Deno). Run the old and the new tree alternately
// to A/B a change (`deno bench --allow-all bench/l4_bench.ts`).

import { compileAcls, compileCondition } from "../src/acl/acl.ts";
import { buildProxyV1, buildProxyV2, parseProxyHeader } from "../src/listener/proxy_proto.ts";
import { sslSni } from "../src/sample/payload.ts";
import { compileTcpRules, L4SampleCtx, runRules } from "../src/tcp/tcp_rules.ts";
import type { TcpRuleSubject } from "../src/tcp/types.ts";

let sink = 0;
const src = { ip: "192.0.2.1", port: 54321 }, dst = { ip: "198.51.100.7", port: 443 };
const v1 = buildProxyV1(src, dst);
const v2 = buildProxyV2(src, dst);
const v2ssl = buildProxyV2(src, dst, true, { version: "TLSv1.3" });

/** A ClientHello for "b.example" with ALPN h2,http/1.1: a synthetic but well-formed one. */
function hello(): Uint8Array {
  const sni = new TextEncoder().encode("b.example");
  const ext: number[] = [];
  const name = [0, ...[0, sni.length], ...sni];
  ext.push(0, 0, 0, name.length + 2, 0, name.length, ...name);
  const alpn = [2, 0x68, 0x32, 8, ...new TextEncoder().encode("http/1.1")];
  ext.push(0, 16, 0, alpn.length + 2, 0, alpn.length, ...alpn);
  // A padding extension as browsers send, to a realistic size.
  ext.push(0, 21, 1, 0, ...new Array(256).fill(0));
  const body = [
    3,
    3,
    ...new Array(32).fill(7),
    32,
    ...new Array(32).fill(9),
    0,
    32,
    ...new Array(32).fill(0x13),
    1,
    0,
  ];
  body.push(ext.length >> 8, ext.length & 255, ...ext);
  const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
  return Uint8Array.from([0x16, 3, 1, hs.length >> 8, hs.length & 255, ...hs]);
}
const HELLO = hello();

const acls = compileAcls([]).acls;
const rules = compileTcpRules(
  [
    { text: "inspect-delay 5s", line: 1, col: 1 },
    { text: "content reject if { src 203.0.113.0/24 }", line: 2, col: 1 },
    { text: "content accept if { req.ssl_hello_type 1 }", line: 3, col: 1 },
  ],
  acls,
  { backend: false, servers: [] },
).rules!;
const switching = ["a.example", "b.example"].map((n) => {
  const c = compileCondition(`{ req.ssl_sni -i ${n} }`, acls);
  if ("error" in c) throw new Error(c.error);
  return c;
});
const ctx = new L4SampleCtx();
const subject: TcpRuleSubject = { sample: ctx, stream: null, expectProxy: false };

Deno.bench("parse a PROXY v1 header (TCP4)", { group: "proxy" }, () => {
  const h = parseProxyHeader(v1);
  sink += typeof h === "number" ? h : h.length;
});
Deno.bench("parse a PROXY v2 header (TCP4)", { group: "proxy" }, () => {
  const h = parseProxyHeader(v2);
  sink += typeof h === "number" ? h : h.length;
});
Deno.bench("build a PROXY v1 header", { group: "proxy" }, () => {
  sink += buildProxyV1(src, dst).length;
});
Deno.bench("build a PROXY v2 header with the SSL TLV", { group: "proxy" }, () => {
  sink += buildProxyV2(src, dst, true, { version: "TLSv1.3" }).length + v2ssl.length;
});
Deno.bench("req.ssl_sni on a ClientHello", { group: "l4" }, () => {
  const s = sslSni(HELLO);
  sink += typeof s === "string" ? s.length : s;
});
Deno.bench("SNI frontend: content rules then two use_backend conditions", { group: "l4" }, () => {
  ctx.bind(src, dst, HELLO);
  sink += runRules(rules.content, subject, ctx, false);
  for (const c of switching) if (c.eval(ctx)) sink++;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
