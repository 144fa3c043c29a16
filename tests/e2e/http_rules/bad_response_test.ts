// Responses a server should not send: a 101 nobody asked for, both
// Transfer-Encoding and Content-Length, a malformed chunked body, body bytes
// after a 1xx, a close after 100 Continue, and a response sent between
// requests. The client gets a clean answer (or 502) and never a response
// meant for something else; the server connection is not reused.
//
// Each test is bounded (every read has a deadline) and uses 127.0.0.1 only.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { assertErrorReply, httpConfig, latin1, RawClient, show } from "./_common.ts";
import { H, SMUGGLED, withProxy } from "./_conformance.ts";

Deno.test("101 to a request that asked no Upgrade is refused (502), no tunnel opens", async () => {
  await withProxy(
    async (proxy, stub) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET /plain HTTP/1.1\r\n${H}\r\n`);
        const r = await client.readResponse();
        // Not a tunnel: whatever the client sends next must be parsed as a
        // request, never reach the server as raw tunnel bytes.
        if (r.status === 101) await client.send(SMUGGLED);
        assertErrorReply(r, 502, "101 without an Upgrade request");
        await client.expectClosed();
      } finally {
        client.close();
      }
      await new Promise((res) => setTimeout(res, 100));
      for (const conn of stub.connections.items) {
        assert.ok(
          !latin1(conn.raw).includes("smuggled"),
          `raw client bytes reached the server through a tunnel: ${show(conn.raw)}`,
        );
      }
    },
    (req) =>
      req.target === "/plain"
        ? { bytes: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", then: "echo" }
        : { bytes: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" },
  );
});

Deno.test("response with both Transfer-Encoding and Content-Length: chunked to the client, server connection not reused", async () => {
  const body = "5\r\nhello\r\n0\r\n\r\n";
  await withProxy(
    async (proxy, stub) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET /te HTTP/1.1\r\n${H}\r\n`);
        const r = await client.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        assert.deepEqual(r.header("content-length"), [], show(r.raw));
        assert.equal(latin1(r.body), body);
        await client.send(`GET /next HTTP/1.1\r\n${H}\r\n`);
        const r2 = await client.readResponse();
        assert.equal(r2.status, 200, show(r2.raw));
        const reqs = await stub.requests.waitFor(2, 2_000, "requests");
        assert.notEqual(reqs[0]!.conn, reqs[1]!.conn, "server connection reused after TE+CL");
      } finally {
        client.close();
      }
    },
    (req) =>
      req.target === "/te"
        ? {
          bytes:
            `HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
        }
        : { bytes: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" },
  );
});

Deno.test("malformed chunked response body: the client connection ends, the server connection is closed", async () => {
  await withProxy(
    async (proxy, stub) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET /bad HTTP/1.1\r\n${H}\r\n`);
        const { extra } = await client.readEnd();
        const got = latin1(extra);
        // Nothing was written to the client before the bad chunk arrived (one
        // segment): a 502 is still possible and due; an empty close is not.
        assert.ok(
          got.startsWith("HTTP/1.1 200") || got.startsWith("HTTP/1.1 502"),
          `the client got neither the response nor a 502: ${show(got)}`,
        );
        assert.ok(!got.includes("EVIL"), `bytes after the bad chunk were forwarded: ${show(got)}`);
        const conns = stub.connections.items;
        assert.equal(conns.length, 1);
        await conns[0]!.waitEnd(2_000);
      } finally {
        client.close();
      }
    },
    () => ({
      bytes:
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nEVIL",
      then: "keep",
    }),
  );
});

Deno.test("1xx with body bytes: the bytes are not a final response; 502", async () => {
  await withProxy(
    async (proxy) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
        const r1 = await client.readResponse();
        assert.equal(r1.status, 103, show(r1.raw));
        const r2 = await client.readResponse();
        assertErrorReply(r2, 502, "garbage after a 1xx");
        await client.expectClosed();
      } finally {
        client.close();
      }
    },
    () => ({
      bytes: "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n" +
        "content-length: 4\r\n\r\nEVIL",
      then: "keep",
    }),
  );
});

Deno.test("100 Continue, then the server closes: 502 after the interim response", async () => {
  await withProxy(
    async (proxy) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
        const r1 = await client.readResponse();
        assert.equal(r1.status, 100, show(r1.raw));
        const r2 = await client.readResponse();
        assertErrorReply(r2, 502, "server closed after a 1xx");
        await client.expectClosed();
      } finally {
        client.close();
      }
    },
    () => ({ bytes: "HTTP/1.1 100 Continue\r\n\r\n", then: "close" }),
  );
});

/**
 * A server that answers the first request on its connection, then (after a
 * pause, so the bytes arrive in a separate read) writes a whole second,
 * unsolicited response, then answers a second request on the same connection
 * with `good`.
 */
function strayResponseServer(): { port: number; requests: string[]; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const conns: Deno.Conn[] = [];
  const readHead = async (c: Deno.Conn): Promise<string | null> => {
    let s = "";
    const b = new Uint8Array(4096);
    while (!s.includes("\r\n\r\n")) {
      const n = await c.read(b);
      if (n === null) return null;
      s += latin1(b.subarray(0, n));
    }
    return s;
  };
  const enc = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  const serve = (async () => {
    for await (const c of listener) {
      conns.push(c);
      (async () => {
        try {
          const r1 = await readHead(c);
          if (r1 === null) return;
          requests.push(r1);
          await c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
          await new Promise((res) => setTimeout(res, 150));
          await c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nEVIL"));
          const r2 = await readHead(c);
          if (r2 === null) return;
          requests.push(r2);
          await c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ngood"));
        } catch {
          // connection closed by the proxy
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    requests,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await serve;
    },
  };
}

Deno.test("an unsolicited response sent between requests is never given to the next request", async () => {
  const srv = strayResponseServer();
  const proxy = await startProxy(httpConfig({ serverPort: srv.port }));
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(`GET /one HTTP/1.1\r\n${H}\r\n`);
    const r1 = await client.readResponse();
    assert.equal(latin1(r1.body), "ok", show(r1.raw));
    await new Promise((res) => setTimeout(res, 400)); // the stray response arrives meanwhile
    await client.send(`GET /two HTTP/1.1\r\n${H}\r\n`);
    const r2 = await client.readResponse();
    assert.notEqual(latin1(r2.body), "EVIL", `the stray response answered /two: ${show(r2.raw)}`);
  } finally {
    client.close();
    await proxy.stop();
    await srv.close();
  }
});
