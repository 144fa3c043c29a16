// Unit tests of the layer-4 payload fetches (src/sample/payload.ts) on
// ClientHello bytes sent by real TLS clients (openssl s_client, Deno's own
// TLS client) to a raw listener, every prefix of them, and on garbage.

import assert from "node:assert/strict";
import {
  payloadBytes,
  PL_MISSING,
  PL_NONE,
  sslAlpn,
  sslHelloType,
  sslSni,
  sslVersion,
} from "../../src/sample/payload.ts";
import { compileAcls, compileCondition } from "../../src/acl/acl.ts";
import { L4SampleCtx } from "../../src/tcp/tcp_rules.ts";
import { captureClientHello, opensslClientHello } from "../_helpers/tls.ts";

Deno.test("ClientHello from openssl s_client: SNI, ALPN list, hello type and version", async () => {
  const hello = await opensslClientHello(["-servername", "a.example", "-alpn", "h2,http/1.1"]);
  assert.equal(sslHelloType(hello), 1);
  assert.equal(sslSni(hello), "a.example");
  const alpn: string[] = [];
  assert.equal(sslAlpn(hello, alpn), 2);
  assert.deepEqual(alpn, ["h2", "http/1.1"]);
  // TLS 1.2 and 1.3 clients both announce 3.3 in the hello itself.
  assert.equal(sslVersion(hello, 1 << 20), 0x030003);
  // Every strict prefix is "more data may change the answer", never a wrong value.
  for (let n = 0; n < hello.length; n++) {
    const p = hello.subarray(0, n);
    assert.equal(sslSni(p), PL_MISSING, `sni on ${n} bytes`);
    assert.equal(sslHelloType(p), PL_MISSING, `type on ${n} bytes`);
    assert.equal(sslAlpn(p, alpn), PL_MISSING, `alpn on ${n} bytes`);
  }
  const none = await opensslClientHello(["-noservername"]);
  assert.equal(sslHelloType(none), 1);
  assert.equal(sslSni(none), PL_NONE);
  assert.equal(sslAlpn(none, alpn), PL_NONE);
});

Deno.test("ClientHello from Deno's TLS client (rustls) carries its SNI and ALPN", async () => {
  const hello = await captureClientHello((port) =>
    Deno.connectTls({ hostname: "localhost", port, alpnProtocols: ["http/1.1"] }).then((c) =>
      c.close()
    )
  );
  // "localhost" may resolve to ::1 first; the capture listens on 127.0.0.1 only.
  if (hello.length === 0) return;
  assert.equal(sslSni(hello), "localhost");
  const alpn: string[] = [];
  assert.equal(sslAlpn(hello, alpn), 1);
  assert.deepEqual(alpn, ["http/1.1"]);
});

Deno.test("garbage, plain HTTP and truncated or lying records are not a hello", () => {
  const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  for (
    const g of [
      enc("GET / HTTP/1.1\r\n\r\n"),
      enc("SSH-2.0-OpenSSH\r\n"),
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]
  ) {
    assert.equal(sslHelloType(g), PL_NONE);
    assert.equal(sslSni(g), PL_NONE);
    assert.equal(sslVersion(g, 1 << 20), PL_NONE);
  }
  // A handshake record whose lengths point past the record: not found, no throw.
  // Record 54 bytes, handshake 50, then a session id "of 200 bytes".
  const lying = new Uint8Array(5 + 54);
  lying.set([0x16, 3, 1, 0, 54, 1, 0, 0, 50, 3, 3]);
  lying[5 + 4 + 2 + 32] = 200;
  assert.equal(lying.length, 5 + 54);
  assert.equal(sslSni(lying), PL_NONE);
  assert.equal(payloadBytes(enc("abcdef"), 1, 3), "bcd");
  assert.equal(payloadBytes(enc("ab"), 1, 3), PL_MISSING);
  assert.equal(payloadBytes(enc("abcdef"), 2, 0), "cdef");
});

Deno.test("ACLs on payload fetches read the layer-4 context and say when more data may help", async () => {
  const hello = await opensslClientHello(["-servername", "B.Example", "-alpn", "http/1.1,h2"]);
  const acls = compileAcls([]).acls;
  const cond = (t: string) => {
    const c = compileCondition(t, acls);
    assert.ok(!("error" in c), t);
    return c;
  };
  const ctx = new L4SampleCtx().bind(
    { ip: "192.0.2.1", port: 1 },
    { ip: "192.0.2.2", port: 443 },
    hello,
  );
  assert.ok(cond("{ req.ssl_sni -i b.example }").eval(ctx));
  assert.ok(cond("{ req_ssl_sni -i -m end .example }").eval(ctx));
  assert.ok(cond("{ req.ssl_alpn h2 }").eval(ctx), "every ALPN name is tested");
  assert.ok(cond("{ req.ssl_hello_type 1 }").eval(ctx));
  assert.ok(cond(`{ req.len eq ${hello.length} }`).eval(ctx));
  assert.ok(cond("{ req.payload(0,1) -m len 1 }").eval(ctx));
  ctx.mayChange = false;
  ctx.bind({ ip: "192.0.2.1", port: 1 }, { ip: "192.0.2.2", port: 443 }, hello.subarray(0, 20));
  assert.ok(!cond("{ req.ssl_sni -i b.example }").eval(ctx));
  assert.ok(ctx.mayChange, "a partial hello says more data may change the answer");
});
