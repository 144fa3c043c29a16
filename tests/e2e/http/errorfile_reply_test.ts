// The reply built from an errorfile: the file's bytes as the body, with its
// length and the reply headers, for HTTP/1.0 and HTTP/1.1 clients.
//
// As an HAProxy user would see it: the exact bytes each side gets.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, HTTP_DEFAULTS, latin1 } from "./_http.ts";

Deno.test("errorfile: the body is the file's bytes, with its length and the reply headers, for 1.0 and 1.1 clients", async () => {
  const dir = await Deno.makeTempDir();
  const body = new TextEncoder().encode("<p>Désolé — plus tard</p>\r\n\0end");
  await Deno.writeFile(`${dir}/503.html`, body);
  let p: ProxyProcess | null = null;
  try {
    p = await startProxy(`${HTTP_DEFAULTS}
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    errorfile: ["503 ${dir}/503.html"]
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:1", disabled: true }
`);
    for (const req of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"]) {
      const c = await connectHttp(p.port("fe"));
      try {
        const r = await c.request(req);
        assert.equal(r.status, 503);
        assert.deepEqual(r.body, body);
        assert.equal(r.get("content-length"), String(body.length));
        assert.equal(r.get("content-type"), "text/html");
        assert.equal(r.get("cache-control"), "no-cache");
        assert.equal(r.get("connection"), "close");
        assert.equal(latin1((await c.readUntilClosed()).extra), "");
      } finally {
        c.close();
      }
    }
  } finally {
    await p?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
