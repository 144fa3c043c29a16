// The HTTP/2 request → HTTP/1.1 head translation (src/mux/h2_request.ts).

import assert from "node:assert/strict";
import { HeaderList } from "../../src/h2/hpack.ts";
import { RequestHead, toRequestHead } from "../../src/mux/h2_request.ts";

function list(h: [string, string][]): HeaderList {
  const l = new HeaderList();
  for (const [n, v] of h) l.push(n, v);
  return l;
}

const GET: [string, string][] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":authority", "a.test"],
  [
    ":path",
    "/p?q=1",
  ],
];

Deno.test("h2 request: a GET becomes a head with host from :authority, cookies joined", () => {
  const r = toRequestHead(
    list([...GET, ["cookie", "a=1"], ["x-b", "2"], ["cookie", "c=3"]]),
    true,
    new RequestHead(),
  );
  assert.equal(r.error, "");
  assert.equal(r.head, "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nx-b: 2\r\ncookie: a=1; c=3\r\n\r\n");
  assert.equal(r.chunked, false);
});

Deno.test("h2 request: bodies are framed by content-length, else chunked", () => {
  const post: [string, string][] = [[":method", "POST"], ...GET.slice(1)];
  let r = toRequestHead(list([...post, ["content-length", "5"]]), false, new RequestHead());
  assert.equal(r.contentLength, 5);
  assert.match(r.head, /\r\ncontent-length: 5\r\n\r\n$/);
  r = toRequestHead(list(post), false, new RequestHead());
  assert.equal(r.chunked, true);
  assert.match(r.head, /\r\ntransfer-encoding: chunked\r\n\r\n$/);
  r = toRequestHead(list(post), true, new RequestHead());
  assert.match(r.head, /\r\ncontent-length: 0\r\n\r\n$/);
  r = toRequestHead(list([...post, ["content-length", "5"]]), true, new RequestHead());
  assert.match(r.error, /content-length without a body/);
  // Identical repeats merge; the host header may repeat :authority.
  r = toRequestHead(
    list([...post, ["content-length", "5"], ["content-length", "5"], ["host", "a.test"]]),
    false,
    new RequestHead(),
  );
  assert.equal(r.error, "");
  assert.equal(r.head.match(/content-length/g)?.length, 1);
  assert.equal(r.head.match(/host:/g)?.length, 1);
});

Deno.test("h2 request: :scheme must be a URI scheme (RFC 3986 §3.1)", () => {
  const with_ = (scheme: string) =>
    toRequestHead(
      list([[":method", "GET"], [":scheme", scheme], [":authority", "a"], [":path", "/"]]),
      true,
      new RequestHead(),
    );
  for (const ok of ["http", "https", "coap+tcp", "web-cal.v2"]) assert.equal(with_(ok).error, "");
  for (const bad of ["fo o", "", "1http", "ht:tp", "http/"]) {
    assert.match(with_(bad).error, /invalid :scheme/, bad);
  }
});

Deno.test("h2 request: OPTIONS * is the only asterisk form", () => {
  const r = toRequestHead(
    list([[":method", "OPTIONS"], [":scheme", "http"], [":authority", "a"], [":path", "*"]]),
    true,
    new RequestHead(),
  );
  assert.equal(r.error, "");
  assert.match(r.head, /^OPTIONS \* HTTP\/1\.1\r\n/);
  const g = toRequestHead(
    list([[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "*"]]),
    true,
    new RequestHead(),
  );
  assert.match(g.error, /invalid :path/);
});

Deno.test("h2 request: te: trailers is accepted and not forwarded (hop-by-hop in HTTP/1.1)", () => {
  const r = toRequestHead(
    list([...GET, ["te", "trailers"], ["x-a", "1"]]),
    true,
    new RequestHead(),
  );
  assert.equal(r.error, "");
  assert.equal(r.head, "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nx-a: 1\r\n\r\n");
});

Deno.test("h2 request: one RequestHead reused for the next requests gives each its own head", () => {
  const out = new RequestHead();
  const a = list([...GET, ["user-agent", "u"]]);
  assert.equal(
    toRequestHead(a, true, out).head,
    "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nuser-agent: u\r\n\r\n",
  );
  // The same fields again (HPACK gives the same strings): the same head.
  assert.equal(
    toRequestHead(a, true, out).head,
    "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nuser-agent: u\r\n\r\n",
  );
  // One value differs: a new head; then the end of stream differs: chunked.
  const b = list([...GET.slice(0, 3), [":path", "/other"], ["user-agent", "u"]]);
  assert.equal(
    toRequestHead(b, true, out).head,
    "GET /other HTTP/1.1\r\nhost: a.test\r\nuser-agent: u\r\n\r\n",
  );
  const r = toRequestHead(b, false, out);
  assert.equal(r.chunked, true);
  assert.match(r.head, /^GET \/other .*transfer-encoding: chunked\r\n\r\n$/s);
  // After a malformed request, the same good fields as before are checked and written again.
  const bad = list([...GET, ["connection", "close"]]);
  assert.match(toRequestHead(bad, true, out).error, /connection-specific/);
  assert.match(toRequestHead(bad, true, out).error, /connection-specific/);
  const again = toRequestHead(a, true, out);
  assert.equal(again.error, "");
  assert.equal(again.chunked, false);
  assert.equal(again.head, "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nuser-agent: u\r\n\r\n");
});

Deno.test("h2 request: CONNECT (RFC 9113 §8.5) becomes an HTTP/1.1 CONNECT with no body framing", () => {
  const out = new RequestHead();
  let r = toRequestHead(
    list([[":method", "CONNECT"], [":authority", "db.test:5432"], ["cookie", "a=1"], ["x-y", "z"]]),
    false,
    out,
  );
  assert.equal(r.error, "");
  assert.equal(
    r.head,
    "CONNECT db.test:5432 HTTP/1.1\r\nhost: db.test:5432\r\nx-y: z\r\ncookie: a=1\r\n\r\n",
  );
  assert.equal(r.isConnect, true);
  assert.equal(r.chunked, false);
  assert.equal(r.contentLength, -1);
  r = toRequestHead(list([[":method", "CONNECT"], [":authority", "[::1]:443"]]), true, out);
  assert.equal(r.head, "CONNECT [::1]:443 HTTP/1.1\r\nhost: [::1]:443\r\n\r\n");
  // The next request on the same RequestHead is no tunnel.
  r = toRequestHead(list(GET), true, out);
  assert.equal(r.isConnect, false);
  assert.match(r.head, /^GET \/p\?q=1 HTTP\/1\.1\r\n/);
  const bad: [[string, string][], RegExp][] = [
    [[[":method", "CONNECT"], [":authority", "h:1"], [":path", "/"]], /":path" in a CONNECT/],
    [
      [[":method", "CONNECT"], [":authority", "h:1"], [":scheme", "https"]],
      /":scheme" in a CONNECT/,
    ],
    [[[":method", "CONNECT"]], /missing ":authority"/],
    [[[":method", "CONNECT"], [":authority", "h"]], /host:port expected/],
    [[[":method", "CONNECT"], [":authority", "u@h:1"]], /host:port expected/],
    [[[":method", "CONNECT"], [":authority", "h:1"], ["host", "g:1"]], /differs from :authority/],
    [[[":method", "CONNECT"], [":authority", "h:1"], ["content-length", "0"]], /content-length/],
    [
      [[":method", "CONNECT"], [":protocol", "websocket"], [":authority", "h:1"]],
      /extended CONNECT/,
    ],
  ];
  for (const [h, why] of bad) {
    const e = toRequestHead(list(h), false, new RequestHead());
    assert.match(e.error, why, JSON.stringify(h));
    assert.equal(e.len, 0);
  }
});
