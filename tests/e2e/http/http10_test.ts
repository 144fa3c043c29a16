// HTTP/1.0 clients and servers: connection persistence as the client asked
// for it, the version the server sees, and response framing an HTTP/1.0
// client understands (never chunked; close-delimited without keep-alive).

import assert from "node:assert/strict";
import { latin1 } from "../../_helpers/client.ts";
import { connectHttp, HTTP_DEFAULTS, httpStub } from "./_http.ts";
import { proxyFor } from "./_framing.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { httpStub as rawStub } from "../../_helpers/http_stub.ts";

Deno.test("HTTP/1.0 clients: closed after the response without keep-alive, kept with it", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port]);
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      const r = await a.request("GET /a HTTP/1.0\r\n\r\n", "GET", 3000);
      assert.equal(`${r.version} ${r.status} ${r.text}`, "HTTP/1.1 200 s1 GET /a");
      assert.equal(latin1((await a.readUntilClosed(3000)).extra), "");
    } finally {
      a.close();
    }
    const b = await connectHttp(proxy.port("fe"));
    try {
      for (const p of ["/k1", "/k2"]) {
        const r = await b.request(
          `GET ${p} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`,
          "GET",
          3000,
        );
        assert.equal(r.text, `s1 GET ${p}`);
        assert.equal(r.get("connection")?.toLowerCase(), "keep-alive");
      }
    } finally {
      b.close();
    }
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

function rawProxy(port: number): Promise<ProxyProcess> {
  return startProxy(`${HTTP_DEFAULTS}
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${port}" }
`);
}

Deno.test("HTTP/1.0 client, HTTP/1.1 server answering chunked anyway: the client never sees chunked framing", async () => {
  const srv = rawStub({
    respond: () => ({
      bytes:
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    }),
  });
  const p = await rawProxy(srv.port);
  try {
    const c = await connectHttp(p.port("fe"));
    try {
      await c.send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      const head = await c.reader.readHead();
      assert.ok(head !== null);
      const h = latin1(head);
      // RFC 9112 §6.1: no Transfer-Encoding towards an HTTP/1.0 recipient. The
      // request reached the server as HTTP/1.0, so the server broke the rule;
      // Sluice does not de-chunk (HAProxy does) and answers a clean 502
      // (documented in docs/internals/http_parser.md) instead of chunk
      // framing the client cannot decode.
      assert.ok(!/^transfer-encoding:/im.test(h), h);
      assert.match(h, /^HTTP\/1\.1 502 /, h);
      const rest = latin1(await c.reader.readToEof());
      assert.ok(!rest.includes("hello"), rest);
    } finally {
      c.close();
    }
  } finally {
    await p.stop();
    await srv.close();
  }
});

Deno.test("HTTP/1.0 keep-alive client, server response without length: the body ends with the close, no keep-alive promised", async () => {
  const srv = rawStub({
    respond: () => ({
      bytes: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close",
      then: "close",
    }),
  });
  const p = await rawProxy(srv.port);
  try {
    const c = await connectHttp(p.port("fe"));
    try {
      const r = await c.request("GET /u HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      assert.equal(r.text, "until-close");
      assert.notEqual(r.get("connection")?.toLowerCase(), "keep-alive");
      assert.equal(r.get("transfer-encoding"), undefined);
    } finally {
      c.close();
    }
  } finally {
    await p.stop();
    await srv.close();
  }
});

Deno.test("HTTP/1.0 request reaches the server as HTTP/1.0 with the client's keep-alive wish; 1.1 server's keep-alive reply gets Connection: keep-alive", async () => {
  const srv = rawStub({
    respond: (r) => ({
      bytes: `HTTP/1.1 200 OK\r\nContent-Length: ${r.target.length}\r\n\r\n${r.target}`,
    }),
  });
  const p = await rawProxy(srv.port);
  try {
    const c = await connectHttp(p.port("fe"));
    try {
      for (const t of ["/k1", "/k2"]) {
        const r = await c.request(`GET ${t} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
        assert.equal(r.text, t);
        assert.equal(r.get("connection")?.toLowerCase(), "keep-alive");
      }
      const seen = srv.requests.items.map((q) => q.version);
      assert.deepEqual(seen, ["HTTP/1.0", "HTTP/1.0"]);
    } finally {
      c.close();
    }
  } finally {
    await p.stop();
    await srv.close();
  }
});
