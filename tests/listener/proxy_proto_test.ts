// Unit tests of the PROXY protocol parser, reader and builders
// (src/listener/proxy_proto.ts): every header form a peer may send, the
// failures HAProxy names, and round trips through the builders.

import assert from "node:assert/strict";
import {
  buildProxyV1,
  buildProxyV2,
  parseProxyHeader,
  PP2_SIGNATURE,
  PP_ERR_BAD_HDR,
  PP_ERR_BAD_PROTO,
  PP_ERR_EMPTY,
  PP_ERR_NOT_HDR,
  PP_ERR_TRUNCATED,
  PP_NEED_MORE,
  type ProxyHeader,
  readProxyHeader,
} from "../../src/listener/proxy_proto.ts";
import type { Conn } from "../../src/listener/protocol.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function header(b: Uint8Array): ProxyHeader {
  const h = parseProxyHeader(b);
  assert.ok(typeof h !== "number", `parse failed: ${h}`);
  return h;
}

Deno.test("proxy v1: TCP4, TCP6 and UNKNOWN lines give their addresses and length", () => {
  const l4 = te.encode("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /");
  const h4 = header(l4);
  assert.deepEqual(h4, {
    version: 1,
    src: { ip: "192.0.2.1", port: 56324 },
    dst: { ip: "198.51.100.2", port: 443 },
    length: l4.length - 5,
  });
  const h6 = header(te.encode("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:192.0.2.7 1 65535\r\n"));
  assert.deepEqual(h6.src, { ip: "2001:db8::1", port: 1 });
  assert.deepEqual(h6.dst, { ip: "::ffff:c000:207", port: 65535 });
  const hu = header(te.encode("PROXY UNKNOWN\r\n"));
  assert.deepEqual([hu.src, hu.dst, hu.length], [null, null, 15]);
  // The specification allows anything after UNKNOWN, up to the CRLF.
  assert.equal(header(te.encode("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")).src, null);
});

Deno.test("proxy v1: partial lines wait, malformed ones are named as HAProxy names them", () => {
  for (
    const part of [
      "P",
      "PROXY",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r",
    ]
  ) {
    assert.equal(parseProxyHeader(te.encode(part)), PP_NEED_MORE, part);
  }
  const cases: Array<[string, number]> = [
    ["GET / HTTP/1.1\r\n", PP_ERR_NOT_HDR],
    ["POST / HTTP/1.1\r\n", PP_ERR_NOT_HDR],
    ["PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", PP_ERR_BAD_PROTO],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", PP_ERR_BAD_HDR],
    ["PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", PP_ERR_BAD_HDR],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", PP_ERR_BAD_HDR],
    ["PROXY TCP4 ::1 ::1 1 2\r\n", PP_ERR_BAD_HDR],
    ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", PP_ERR_BAD_HDR],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", PP_ERR_BAD_HDR],
    ["PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", PP_ERR_BAD_HDR],
    ["PROXY TCP4 " + "1".repeat(120), PP_ERR_BAD_HDR],
  ];
  for (const [text, code] of cases) assert.equal(parseProxyHeader(te.encode(text)), code, text);
});

/** A v2 header by hand: command byte, family byte, body. */
function v2(cmd: number, fam: number, body: number[]): Uint8Array {
  return Uint8Array.from([
    ...PP2_SIGNATURE,
    0x20 | cmd,
    fam,
    body.length >> 8,
    body.length & 255,
    ...body,
  ]);
}

Deno.test("proxy v2: PROXY over IPv4 and IPv6, LOCAL, AF_UNSPEC, TLVs skipped", () => {
  const ip4 = [192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb];
  assert.deepEqual(header(v2(1, 0x11, ip4)), {
    version: 2,
    src: { ip: "192.0.2.1", port: 56324 },
    dst: { ip: "198.51.100.2", port: 443 },
    length: 28,
  });
  // Two TLVs (ALPN "h2", a NOOP of 3 bytes): walked and skipped.
  const tlvs = [0x01, 0, 2, 0x68, 0x32, 0x04, 0, 3, 0, 0, 0];
  assert.equal(header(v2(1, 0x11, [...ip4, ...tlvs])).length, 28 + tlvs.length);
  const ip6 = [
    ...new Array(15).fill(0),
    1,
    0x20,
    1,
    0x0d,
    0xb8,
    ...new Array(11).fill(0),
    2,
    0,
    80,
    1,
    0,
  ];
  const h6 = header(v2(1, 0x21, ip6));
  assert.deepEqual([h6.src, h6.dst], [{ ip: "::1", port: 80 }, { ip: "2001:db8::2", port: 256 }]);
  // LOCAL (a health check of the sender): no address, whatever the family says.
  assert.deepEqual(header(v2(0, 0x11, ip4)).src, null);
  // AF_UNSPEC and AF_UNIX: the connection's own addresses are kept.
  assert.equal(header(v2(1, 0x00, [])).src, null);
  assert.equal(header(v2(1, 0x31, new Array(216).fill(0))).src, null);
});

Deno.test("proxy v2: partial headers wait; bad version, command, lengths and TLVs are refused", () => {
  const ip4 = [192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2];
  const full = v2(1, 0x11, ip4);
  for (let n = 1; n < full.length; n++) {
    assert.equal(parseProxyHeader(full.subarray(0, n)), PP_NEED_MORE, `${n} bytes`);
  }
  const badVer = full.slice();
  badVer[12] = 0x11;
  assert.equal(parseProxyHeader(badVer), PP_ERR_NOT_HDR);
  const badCmd = full.slice();
  badCmd[12] = 0x22;
  assert.equal(parseProxyHeader(badCmd), PP_ERR_BAD_HDR);
  assert.equal(parseProxyHeader(v2(1, 0x11, ip4.slice(0, 8))), PP_ERR_BAD_HDR);
  // A TLV that runs past the block, and a TLV header cut by the block's end.
  assert.equal(parseProxyHeader(v2(1, 0x11, [...ip4, 0x05, 0, 9, 1])), PP_ERR_BAD_HDR);
  assert.equal(parseProxyHeader(v2(1, 0x11, [...ip4, 0x05, 0])), PP_ERR_BAD_HDR);
  const sig = PP2_SIGNATURE.slice();
  sig[5] = 0x0e;
  assert.equal(parseProxyHeader(sig), PP_ERR_NOT_HDR);
});

Deno.test("builders: v1 and v2 headers parse back to the same addresses", () => {
  const pairs: Array<[string, string]> = [
    ["192.0.2.1", "198.51.100.2"],
    ["2001:db8::1", "::1"],
  ];
  for (const [s, d] of pairs) {
    const src = { ip: s, port: 40000 }, dst = { ip: d, port: 8443 };
    const h1 = header(buildProxyV1(src, dst));
    assert.deepEqual([h1.src, h1.dst], [src, dst]);
    const h2 = header(buildProxyV2(src, dst));
    assert.deepEqual([h2.src, h2.dst], [src, dst]);
  }
  assert.equal(
    td.decode(buildProxyV1({ ip: "unix", port: 1 }, { ip: "unix", port: 1 })),
    "PROXY UNKNOWN\r\n",
  );
  // Mixed families: v2 maps IPv4 into IPv6 (HAProxy does), v1 says UNKNOWN.
  const mixed = header(buildProxyV2({ ip: "192.0.2.1", port: 1 }, { ip: "::1", port: 2 }));
  assert.deepEqual(mixed.src, { ip: "::ffff:c000:201", port: 1 });
  // A unix-socket client: LOCAL with AF_UNSPEC.
  const local = buildProxyV2({ ip: "unix", port: 1 }, { ip: "unix", port: 1 });
  assert.deepEqual([local[12], local[13], local.length], [0x20, 0x00, 16]);
});

Deno.test("builders: send-proxy-v2-ssl writes the SSL TLV with the client flag and version", () => {
  const src = { ip: "192.0.2.1", port: 1 }, dst = { ip: "192.0.2.2", port: 2 };
  const tls = buildProxyV2(src, dst, true, { version: "TLSv1.3" });
  assert.equal(header(tls).length, tls.length);
  // TLV: type 0x20, length, client flags, verify (4), then sub-TLV 0x21 "TLSv1.3".
  assert.deepEqual([...tls.subarray(28, 32)], [0x20, 0, 15, 0x01]);
  assert.deepEqual([...tls.subarray(36, 39)], [0x21, 0, 7]);
  assert.equal(td.decode(tls.subarray(39)), "TLSv1.3");
  const clear = buildProxyV2(src, dst, true, null);
  assert.deepEqual([...clear.subarray(28)], [0x20, 0, 5, 0, 0, 0, 0, 0]);
});

/** A Conn that returns the given chunks, one per read, then end of stream. */
function chunks(parts: Uint8Array[]): Conn & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    read(view: Uint8Array): Promise<number> {
      asked.push(view.length);
      const p = parts.shift();
      if (p === undefined) return Promise.resolve(0);
      assert.ok(p.length <= view.length, "the test feeds at most what is asked");
      view.set(p);
      return Promise.resolve(p.length);
    },
    write: (v: Uint8Array) => Promise.resolve(v.length),
    closeWrite: () => Promise.resolve(),
    close: () => {},
  };
}

Deno.test("readProxyHeader: v2 is read exactly; bytes after a v1 line come back first", async () => {
  const full = v2(1, 0x11, [192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2, 0x04, 0, 1, 0]);
  const c2 = chunks([full.subarray(0, 16), full.subarray(16)]);
  const r2 = await readProxyHeader(c2);
  assert.equal(r2.error, 0);
  assert.equal(r2.conn, c2, "nothing read beyond a v2 header");
  assert.deepEqual(c2.asked, [16, full.length - 16]);

  const line = te.encode("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\nhello");
  const c1 = chunks([line.subarray(0, 16), line.subarray(16)]);
  const r1 = await readProxyHeader(c1);
  assert.deepEqual(r1.header?.src, { ip: "192.0.2.1", port: 1 });
  const buf = new Uint8Array(64);
  const n = await r1.conn.read(buf);
  assert.equal(td.decode(buf.subarray(0, n)), "hello");
  assert.equal(await r1.conn.read(buf), 0, "then the socket itself");

  assert.equal((await readProxyHeader(chunks([]))).error, PP_ERR_EMPTY);
  assert.equal(
    (await readProxyHeader(chunks([te.encode("PROXY TCP4 1.")]))).error,
    PP_ERR_TRUNCATED,
  );
  assert.equal((await readProxyHeader(chunks([te.encode("SSH-2.0-x\r\n")]))).error, PP_ERR_NOT_HDR);
});
