// Cookie persistence in prefix mode: the application cookie makes the round
// trip with the server's name prefixed and removed, other cookies untouched.
//
// As an HAProxy user would see it: the exact bytes each side gets.

import assert from "node:assert/strict";
import type { ProxyProcess } from "../../_helpers/proxy.ts";
import { fetchOnce, get, reqHeader } from "./_http.ts";
import { closeAll, cookieProxy, last, stubs } from "./_cookie.ts";

Deno.test("cookie prefix: round trip of the application cookie, other cookies untouched", async () => {
  const s = stubs((r) =>
    r.target === "/login"
      ? {
        headers: [["Content-Type", "text/plain"], ["Set-Cookie", "SRV=abc; Path=/; HttpOnly"], [
          "Set-Cookie",
          "other=1",
        ]],
      }
      : {}
  );
  let p: ProxyProcess | null = null;
  try {
    p = await cookieProxy(s, "prefix");
    const r = await fetchOnce(p.port("fe"), get("/login"));
    const tag = r.text.split(" ")[0]!;
    assert.deepEqual(r.all("set-cookie"), [`SRV=c${tag}~abc; Path=/; HttpOnly`, "other=1"]);
    const stub = tag === "a" ? s.a : s.b;
    for (let i = 0; i < 3; i++) {
      const r2 = await fetchOnce(p.port("fe"), get("/x", [`Cookie: other=1; SRV=c${tag}~abc`]));
      assert.equal(r2.text, `${tag} GET /x`);
      assert.deepEqual(r2.all("set-cookie"), []);
      assert.deepEqual(reqHeader(last(stub), "cookie"), ["other=1; SRV=abc"]);
    }
  } finally {
    await closeAll(p, s);
  }
});
