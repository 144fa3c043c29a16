// Micro benchmarks of the HTTP/1 head parser (src/http/h1_parse.ts): parsed
// requests per second (iter/s) for a typical ~400-byte browser request and a
// 10-header API request, plus a response head and a chunked body. One reused
// HttpHead, as on a keep-alive connection. The "h2" group: the head the h2
// mux writes for a browser's request, parsed, or adopted with the line bounds
// the mux hands over (src/http/preset_head.ts); the "h2 response" group: an
// nginx response head turned into HEADERS fields by the mux, from its bytes
// or from the analysers' parse (src/mux/h2_response_head.ts).
// Run: deno bench bench/h1_parse_bench.ts

import { parseRequestHead, parseResponseHead } from "../src/http/h1_parse.ts";
import { ChunkedParser } from "../src/http/h1_body.ts";
import { HttpHead, METH_GET } from "../src/http/types.ts";
import { adoptRequestHead, presetRequestHead } from "../src/http/preset_head.ts";
import { HeaderList } from "../src/h2/hpack.ts";
import { RequestHead, toRequestHead } from "../src/mux/h2_request.ts";
import {
  parseResponseHead as responseFields,
  ResponseFields,
  responseFromIndex,
} from "../src/mux/h2_response_head.ts";

function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Copies `s` into a 16 KiB buffer, like a pooled channel buffer. */
function inBuffer(s: string): { buf: Uint8Array; end: number } {
  const buf = new Uint8Array(16384);
  const b = bytes(s);
  buf.set(b);
  return { buf, end: b.length };
}

const BROWSER = inBuffer(
  "GET /articles/2024/sluice-load-balancer?ref=home&utm_source=news HTTP/1.1\r\n" +
    "Host: www.example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.5\r\n" +
    "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
    "Connection: keep-alive\r\n" +
    "Cookie: session=3f2a9c1e8b7d; theme=dark\r\n" +
    "Upgrade-Insecure-Requests: 1\r\n" +
    "\r\n",
);

const API = inBuffer(
  "POST /api/v2/orders HTTP/1.1\r\n" +
    "Host: api.example.com\r\n" +
    "User-Agent: sluice-client/1.0\r\n" +
    "Accept: application/json\r\n" +
    "Content-Type: application/json\r\n" +
    "Content-Length: 128\r\n" +
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc\r\n" +
    "X-Request-Id: 8c1f2b7a-5e3d-4c2b-9a1f-0e7d6c5b4a39\r\n" +
    "X-Forwarded-For: 203.0.113.7\r\n" +
    "Cache-Control: no-cache\r\n" +
    "X-Tenant: acme\r\n" +
    "\r\n",
);

const UPLOAD = inBuffer(
  "POST /upload HTTP/1.1\r\n" +
    "Host: api.example.com\r\n" +
    "User-Agent: sluice-client/1.0\r\n" +
    "Content-Type: application/octet-stream\r\n" +
    "Transfer-Encoding: gzip, chunked\r\n" +
    "\r\n",
);

const RESPONSE = inBuffer(
  "HTTP/1.1 200 OK\r\nDate: Tue, 11 Jun 2024 10:00:00 GMT\r\nServer: origin\r\n" +
    "Content-Type: text/html; charset=utf-8\r\nContent-Length: 5120\r\nCache-Control: max-age=60\r\n" +
    'ETag: "5f3e-1a2b"\r\nVary: Accept-Encoding\r\n\r\n',
);

const CHUNKED = inBuffer(
  "400\r\n" + "x".repeat(1024) + "\r\n400;ext=1\r\n" + "y".repeat(1024) +
    "\r\n0\r\nX-Sum: 1\r\n\r\n",
);

/** The browser request as the h2 mux writes it (what its HEADERS would decode to). */
const H2_LIST = (() => {
  const l = new HeaderList();
  for (
    const [n, v] of [
      [":method", "GET"],
      [":scheme", "https"],
      [":authority", "www.example.com"],
      [":path", "/articles/2024/sluice-load-balancer?ref=home&utm_source=news"],
      ["user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"],
      ["accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
      ["accept-language", "en-US,en;q=0.5"],
      ["accept-encoding", "gzip, deflate, br, zstd"],
      ["cookie", "session=3f2a9c1e8b7d"],
      ["cookie", "theme=dark"],
      ["upgrade-insecure-requests", "1"],
    ]
  ) l.push(n!, v!);
  return l;
})();
const H2_REQ = toRequestHead(H2_LIST, true, new RequestHead());
const H2 = inBuffer(H2_REQ.head);

const head = new HttpHead();
const chunked = new ChunkedParser();

Deno.bench(`parseRequestHead: browser request (${BROWSER.end} bytes, 8 headers)`, {
  group: "request",
  baseline: true,
}, () => {
  head.reset();
  if (parseRequestHead(BROWSER.buf, 0, BROWSER.end, head) <= 0) throw new Error(head.errorReason);
});

Deno.bench(
  `parseRequestHead: API request (${API.end} bytes, 10 headers)`,
  { group: "request" },
  () => {
    head.reset();
    if (parseRequestHead(API.buf, 0, API.end, head) <= 0) throw new Error(head.errorReason);
  },
);

Deno.bench(
  `parseRequestHead: chunked upload (${UPLOAD.end} bytes, Transfer-Encoding)`,
  { group: "request" },
  () => {
    head.reset();
    if (parseRequestHead(UPLOAD.buf, 0, UPLOAD.end, head) <= 0) throw new Error(head.errorReason);
  },
);

Deno.bench("parseRequestHead: browser request in 3 reads", { group: "request" }, () => {
  head.reset();
  parseRequestHead(BROWSER.buf, 0, 100, head);
  parseRequestHead(BROWSER.buf, 0, 250, head);
  if (parseRequestHead(BROWSER.buf, 0, BROWSER.end, head) <= 0) throw new Error(head.errorReason);
});

Deno.bench(`h2 head parsed again (${H2.end} bytes, 7 headers)`, {
  group: "h2",
  baseline: true,
}, () => {
  head.reset();
  if (parseRequestHead(H2.buf, 0, H2.end, head) <= 0) throw new Error(head.errorReason);
});

Deno.bench("h2 head adopted from the mux's line bounds", { group: "h2" }, () => {
  head.reset();
  const n = presetRequestHead(head, H2_REQ, 101);
  if (adoptRequestHead(H2.buf, 0, H2.end, head, H2_REQ.len, n, 101, 16384, 400) <= 0) {
    throw new Error(head.errorReason);
  }
});

Deno.bench("h2 head written by the mux (toRequestHead, for scale)", { group: "h2" }, () => {
  toRequestHead(H2_LIST, true, H2_REQ);
});

const NGINX = inBuffer(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 14:00:00 GMT\r\n" +
    "Content-Type: text/html\r\nContent-Length: 6\r\n" +
    "Last-Modified: Mon, 07 Dec 2026 13:00:00 GMT\r\nConnection: keep-alive\r\n" +
    'ETag: "6937d9c0-6"\r\nAccept-Ranges: bytes\r\n\r\n',
);
const nginxHead = new HttpHead();
parseResponseHead(NGINX.buf, 0, NGINX.end, nginxHead, 101, METH_GET);
const fieldsOut = new ResponseFields();

Deno.bench(`h2 response head read again by the mux (${NGINX.end} bytes, 8 headers)`, {
  group: "h2 response",
  baseline: true,
}, () => {
  responseFields(NGINX.buf, 0, NGINX.end, false, fieldsOut);
});

Deno.bench("h2 response head from the analysers' parse", { group: "h2 response" }, () => {
  responseFromIndex(NGINX.buf, nginxHead, 0, NGINX.end, fieldsOut);
});

/** What wrk sends, and what the nginx behind it answers: the heads of the proxy benchmarks. */
const WRK = inBuffer("GET / HTTP/1.1\r\nHost: 127.0.0.1:18083\r\n\r\n");

Deno.bench(`parseRequestHead: wrk request (${WRK.end} bytes, 1 header)`, {
  group: "proxy bench heads",
  baseline: true,
}, () => {
  head.reset();
  if (parseRequestHead(WRK.buf, 0, WRK.end, head) <= 0) throw new Error(head.errorReason);
});

Deno.bench(`parseResponseHead: nginx 200 (${NGINX.end} bytes, 8 headers)`, {
  group: "proxy bench heads",
}, () => {
  head.reset();
  if (parseResponseHead(NGINX.buf, 0, NGINX.end, head, 101, METH_GET) <= 0) {
    throw new Error(head.errorReason);
  }
});

Deno.bench(
  `parseResponseHead: 200 with 7 headers (${RESPONSE.end} bytes)`,
  { group: "response" },
  () => {
    head.reset();
    if (
      parseResponseHead(RESPONSE.buf, 0, RESPONSE.end, head, 101, METH_GET) <= 0
    ) throw new Error(head.errorReason);
  },
);

Deno.bench(
  `ChunkedParser: 2 x 1 KiB chunks + trailer (${CHUNKED.end} bytes)`,
  { group: "body" },
  () => {
    chunked.reset();
    if (chunked.parse(CHUNKED.buf, 0, CHUNKED.end) !== CHUNKED.end) {
      throw new Error(
        chunked.errorReason,
      );
    }
  },
);
