// A soft stop with sessions active: the process exits once they end,
// leaking nothing that would keep it alive.
//
// After a few hundred sessions through one error path the proxy must be back
// to its idle baseline, observed from outside the process: no session counted
// (actconn, frontend, backend and server `cur`), no queued stream, no pooled
// buffer in use beyond what the stats request itself holds, and no file
// descriptor beyond the baseline (listeners) once the stub servers closed
// their side. Every scenario asserts against a baseline taken right after
// start-up; the stats request is answered by a separate frontend
// (`fe_stats`).

import assert from "node:assert/strict";
import { closeQuietly, connect, delay, te, writeAll } from "../../_helpers/client.ts";
import { GET, withEnv } from "./_leak.ts";

Deno.test("leak: soft stop (SIGQUIT) while sessions are active exits once they end", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await connect(port);
      await writeAll(c, te.encode(GET(i % 2 ? "/hang" : "/ok")));
      conns.push(c);
    }
    await delay(100);
    e.proxy.kill("SIGQUIT");
    await delay(100);
    e.origin.closeAll();
    for (const c of conns) closeQuietly(c);
    const st = await e.proxy.waitExit(4000);
    assert.equal(st.code, 0, e.proxy.describe());
  });
});
