// Response compression through a running proxy: `compression algo gzip
// deflate`, `compression type`, `compression offload`. Compressed bodies
// (Content-Length and chunked, large and small steps) decompress to the
// original bytes (SHA-256 compared); the response is sent as it is when the
// client does not accept the coding, the response is already encoded, too
// small, `Cache-Control: no-transform`, of another type, HEAD, or HTTP/1.0;
// `Vary: Accept-Encoding` is added and a strong ETag becomes weak; offload
// removes Accept-Encoding from what the server receives.

import assert from "node:assert/strict";
import zlib from "node:zlib";
import { startProxy } from "../../_helpers/proxy.ts";
import { sha256Hex } from "../../_helpers/client.ts";
import { freePort, startHaproxyConfig } from "../../_helpers/haproxy.ts";
import { connectHttp, HTTP_DEFAULTS, httpStub, oneBackend, reqHeader } from "../http/_http.ts";

/** Deterministic text-like bytes (compressible, but not trivially). */
function body(n: number, seed: number): Uint8Array {
  const words = ["alpha ", "beta ", "gamma ", "delta ", "epsilon\n", "<p>", "</p>", "zeta "];
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  let i = 0;
  while (i < n) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const w = words[x % words.length]!;
    for (let k = 0; k < w.length && i < n; k++) out[i++] = w.charCodeAt(k);
  }
  return out;
}

const BIG = body(300_000, 1);
const SMALL = body(100, 2);

Deno.test("compression: gzip and deflate bodies decompress to the original bytes; skips where HAProxy skips", async () => {
  const be = httpStub("be", {
    respond: (r) => {
      const p = r.target;
      const ct: [string, string] = [
        "Content-Type",
        p.includes("json") ? "application/json" : "text/html; charset=utf-8",
      ];
      if (p === "/big" || p === "/json") return { headers: [ct, ["ETag", '"v1"']], body: BIG };
      if (p === "/small") return { headers: [ct], body: SMALL };
      if (p === "/encoded") return { headers: [ct, ["Content-Encoding", "br"]], body: BIG };
      if (p === "/notransform") {
        return { headers: [ct, ["Cache-Control", "public, no-transform"]], body: BIG };
      }
      if (p === "/chunked") {
        // Chunked, in many small chunks.
        let raw =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
        const text = new TextDecoder().decode(BIG.subarray(0, 50_000));
        for (let i = 0; i < text.length; i += 777) {
          const part = text.slice(i, i + 777);
          raw += part.length.toString(16) + "\r\n" + part + "\r\n";
        }
        return { raw: raw + "0\r\nX-Trailer: t\r\n\r\n" };
      }
      return { headers: [ct], body: "x" };
    },
  });
  const proxy = await startProxy(
    oneBackend(
      be.port,
      `
    compression: ["algo gzip deflate", "type text/html text/plain", "offload"]`,
    ),
  );
  try {
    const c = await connectHttp(proxy.port("fe"));
    const get = async (
      path: string,
      ae: string | null,
      extra = "",
      method = "GET",
      ver = "1.1",
    ) => {
      await c.send(
        `${method} ${path} HTTP/${ver}\r\nHost: x\r\n${
          ae === null ? "" : `Accept-Encoding: ${ae}\r\n`
        }${extra}\r\n`,
      );
      return await c.readResponse(method);
    };
    try {
      // gzip, from a Content-Length body.
      let r = await get("/big", "br;q=1, gzip, deflate");
      assert.equal(r.status, 200);
      assert.equal(r.get("content-encoding"), "gzip");
      assert.equal(r.get("content-length"), undefined);
      assert.equal(r.get("transfer-encoding"), "chunked");
      assert.equal(r.get("vary"), "Accept-Encoding");
      assert.equal(r.get("etag"), 'W/"v1"');
      assert.ok(r.body.length < BIG.length / 2, `compressed ${r.body.length} of ${BIG.length}`);
      assert.equal(sha256Hex(new Uint8Array(zlib.gunzipSync(r.body))), sha256Hex(BIG));
      // Offload: the server never saw Accept-Encoding.
      assert.deepEqual(reqHeader(be.requests[be.requests.length - 1]!, "accept-encoding"), []);
      // deflate (zlib format) when the client prefers it.
      r = await get("/big", "deflate;q=1.0, gzip;q=0.5");
      assert.equal(r.get("content-encoding"), "deflate");
      assert.equal(sha256Hex(new Uint8Array(zlib.inflateSync(r.body))), sha256Hex(BIG));
      // A chunked body of small chunks, trailers dropped.
      r = await get("/chunked", "gzip");
      assert.equal(r.get("content-encoding"), "gzip");
      assert.equal(
        sha256Hex(new Uint8Array(zlib.gunzipSync(r.body))),
        sha256Hex(BIG.subarray(0, 50_000)),
      );
      // Sent as they are.
      for (
        const [path, ae, extra, why] of [
          ["/big", null, "", "no Accept-Encoding"],
          ["/big", "gzip;q=0, identity", "", "gzip refused by q=0"],
          ["/big", "br", "", "no configured coding accepted"],
          ["/encoded", "gzip", "", "already encoded"],
          ["/small", "gzip", "", "too small"],
          ["/notransform", "gzip", "", "no-transform"],
          ["/json", "gzip", "", "type not listed"],
        ] as const
      ) {
        r = await get(path, ae, extra);
        assert.equal(r.status, 200, why);
        assert.notEqual(r.get("content-encoding"), "gzip", why);
        const want = path === "/small" ? SMALL : BIG;
        assert.equal(sha256Hex(r.body), sha256Hex(want), why);
      }
      r = await get("/big", "gzip", "", "HEAD");
      assert.equal(r.get("content-encoding"), undefined, "HEAD");
    } finally {
      c.close();
    }
    // HTTP/1.0: never compressed.
    const c10 = await connectHttp(proxy.port("fe"));
    try {
      await c10.send("GET /big HTTP/1.0\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
      const r = await c10.readResponse();
      assert.equal(r.get("content-encoding"), undefined);
      assert.equal(sha256Hex(r.body), sha256Hex(BIG));
    } finally {
      c10.close();
    }
  } finally {
    await proxy.stop();
    await be.close();
  }
});

Deno.test("compression counters: comp_in, comp_out, comp_rsp in the stats CSV", async () => {
  const be = httpStub("be", {
    respond: () => ({ headers: [["Content-Type", "text/plain"]], body: BIG }),
  });
  const proxy = await startProxy(
    HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    stats: { uri: /stats }
    default_backend: be
backends:
  be:
    compression: ["algo gzip"]
    servers: [ { name: s, address: "127.0.0.1:${be.port}" } ]
`,
  );
  try {
    const c = await connectHttp(proxy.port("fe"));
    let outBytes = 0;
    try {
      for (let i = 0; i < 2; i++) {
        await c.send("GET /x HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
        const r = await c.readResponse();
        assert.equal(r.get("content-encoding"), "gzip");
        outBytes += r.body.length;
      }
      await c.send("GET /stats;csv HTTP/1.1\r\nHost: x\r\n\r\n");
      const csv = new TextDecoder().decode((await c.readResponse()).body).split("\n");
      const cols = csv[0]!.replace(/^# /, "").split(",");
      const row = (sv: string) => {
        const l = csv.find((x) => x.split(",")[1] === sv && x.startsWith("be,"))!;
        const v = l.split(",");
        return (n: string) => v[cols.indexOf(n)];
      };
      const b = row("BACKEND");
      assert.equal(b("comp_in"), String(2 * BIG.length));
      assert.equal(b("comp_out"), String(outBytes));
      assert.equal(b("comp_rsp"), "2");
      assert.equal(b("comp_byp"), "0");
    } finally {
      c.close();
    }
  } finally {
    await proxy.stop();
    await be.close();
  }
});

Deno.test("compression: the same responses as HAProxy 2.6 (codings, Vary, ETag, skips), bodies equal once decoded", async () => {
  const be = httpStub("be", {
    respond: (r) => {
      const p = r.target;
      const h: Array<[string, string]> = [[
        "Content-Type",
        p === "/json" ? "application/json" : "text/html",
      ]];
      if (p === "/etag") h.push(["ETag", '"abc"']);
      if (p === "/weak") h.push(["ETag", 'W/"abc"']);
      if (p === "/vary") h.push(["Vary", "Cookie"]);
      if (p === "/notransform") h.push(["Cache-Control", "no-transform"]);
      if (p === "/encoded") h.push(["Content-Encoding", "br"]);
      if (p === "/201") return { status: 201, reason: "Created", headers: h, body: BIG };
      if (p === "/404") return { status: 404, reason: "Not Found", headers: h, body: BIG };
      return { headers: h, body: BIG };
    },
  });
  const hport = freePort();
  const haproxy = await startHaproxyConfig(
    `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:${hport}
  compression algo gzip deflate
  compression type text/html
  default_backend be
backend be
  server s 127.0.0.1:${be.port}
`,
    [hport],
  );
  const proxy = await startProxy(
    oneBackend(
      be.port,
      `
    compression: ["algo gzip deflate", "type text/html"]`,
    ),
  );
  try {
    const seen = async (port: number, path: string, ae: string) => {
      const c = await connectHttp(port);
      try {
        await c.send(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${ae}\r\n\r\n`);
        const r = await c.readResponse();
        const enc = r.get("content-encoding") ?? "";
        const decoded = enc === "gzip"
          ? new Uint8Array(zlib.gunzipSync(r.body))
          : enc === "deflate"
          ? new Uint8Array(zlib.inflateSync(r.body))
          : r.body;
        return {
          status: r.status,
          encoding: enc,
          vary: r.all("vary").map((v) => v.toLowerCase()).sort(),
          etag: r.all("etag"),
          chunked: r.all("transfer-encoding").join(",").toLowerCase(),
          sha: enc === "br" ? sha256Hex(r.body) : sha256Hex(decoded),
        };
      } finally {
        c.close();
      }
    };
    let compressed = 0;
    for (
      const path of [
        "/",
        "/etag",
        "/weak",
        "/vary",
        "/201",
        "/404",
        "/json",
        "/notransform",
        "/encoded",
      ]
    ) {
      for (const ae of ["gzip", "deflate", "gzip;q=0", "identity"]) {
        const want = await seen(hport, path, ae);
        const got = await seen(proxy.port("fe"), path, ae);
        assert.deepEqual(got, want, `${path} (${ae})`);
        if (want.encoding !== "" && want.encoding !== "br") compressed++;
      }
    }
    assert.ok(compressed >= 8, `compressed cases: ${compressed}`);
  } finally {
    await proxy.stop();
    await haproxy.stop();
    await be.close();
  }
});
