// Persistence from stick tables in a backend (`stick on`, `stick match`,
// `stick store-response`): a client returns to the server it was sent to,
// whatever round robin says, and a session id issued by a server brings its
// requests back to that server. Also side by side with HAProxy for `stick
// on src`.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { fetchOnce, get, HTTP_DEFAULTS, httpStub } from "../http/_http.ts";
import { haproxyFe, sideBySide, sluiceFe } from "./_stick.ts";

Deno.test("stick on src: every request of a client goes to the same server, on Sluice as on HAProxy", async () => {
  const a = httpStub("a"), b = httpStub("b");
  const fe = { servers: [["a", a.port], ["b", b.port]] as Array<[string, number]> };
  await sideBySide(
    sluiceFe({
      ...fe,
      backend: [
        "    balance: roundrobin",
        '    stick-table: "type ip size 10 expire 1m"',
        '    stick: ["on src"]',
      ],
    }),
    haproxyFe({
      ...fe,
      backend: ["balance roundrobin", "stick-table type ip size 10 expire 1m", "stick on src"],
    }),
    async (p, h) => {
      for (const port of [p.port("fe"), h.port]) {
        const seen: string[] = [];
        for (let i = 0; i < 6; i++) {
          seen.push((await fetchOnce(port, get("/"))).text.split(" ")[0]!);
        }
        assert.equal(new Set(seen).size, 1, `one server for the client: ${seen}`);
      }
    },
    a,
    b,
  );
});

Deno.test("stick store-response / match: a session id brings its requests back to the server that issued it", async () => {
  let n = 0;
  const issue = (tag: string) => () => ({
    headers: [["X-Session", `${tag}${++n}`]] as Array<[string, string]>,
    body: tag,
  });
  const a = httpStub("a", { respond: issue("a") }), b = httpStub("b", { respond: issue("b") });
  let p: ProxyProcess | null = null;
  try {
    p = await startProxy(`${HTTP_DEFAULTS}
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    stick-table: "type string len 32 size 100 expire 1m"
    stick:
      - "match req.hdr(x-session)"
      - "store-response res.hdr(x-session)"
    servers:
      - { name: a, address: "127.0.0.1:${a.port}" }
      - { name: b, address: "127.0.0.1:${b.port}" }
`);
    const port = p.port("fe");
    const r1 = await fetchOnce(port, get("/"));
    const r2 = await fetchOnce(port, get("/"));
    assert.notEqual(r1.text, r2.text, "round robin without a session");
    for (const r of [r1, r2, r1, r2]) {
      const sid = r.get("x-session")!;
      const again = await fetchOnce(port, get("/", [`X-Session: ${sid}`]));
      assert.equal(again.text, r.text, `session ${sid} stays on its server`);
    }
  } finally {
    await p?.stop();
    await a.close();
    await b.close();
  }
});
