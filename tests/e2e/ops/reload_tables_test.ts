// Stick tables across a reload (issue 15: "the tables survive a reload"): a
// table whose settings did not change keeps its entries and counters while
// the rules around it change; a table whose settings changed starts empty.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { fetchOnce, get, httpStub } from "../http/_http.ts";
import { reloadWith } from "./_reload.ts";

/** A frontend tracking src; `/count` answers the request count its entry holds. */
function config(stubPort: number, table: string, tag: string): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stick-table: "${table}"
    http-request:
      - "track-sc0 src"
      - 'return status 200 content-type text/plain lf-string "${tag} %[sc0_http_req_cnt]" if { path /count }'
backends:
  be:
    servers: [{ name: a, address: "127.0.0.1:${stubPort}" }]
`;
}

Deno.test("reload: an unchanged stick table keeps its entries; a changed one starts empty", async () => {
  const stub = httpStub("a");
  const table = "type ip size 100 expire 5m store http_req_cnt";
  const p = await startProxy(config(stub.port, table, "A"));
  try {
    const port = p.port("fe");
    for (let i = 0; i < 3; i++) assert.equal((await fetchOnce(port, get("/"))).status, 200);
    assert.equal((await fetchOnce(port, get("/count"))).text, "A 4");

    // New rules, same table: the counter goes on from where it was.
    let r = await reloadWith(p, config(stub.port, table, "B"));
    assert.ok(r.ok, r.lines.join("\n"));
    assert.equal((await fetchOnce(port, get("/count"))).text, "B 5");

    // Another size: a new table, empty.
    r = await reloadWith(p, config(stub.port, table.replace("size 100", "size 200"), "C"));
    assert.ok(r.ok, r.lines.join("\n"));
    assert.equal((await fetchOnce(port, get("/count"))).text, "C 1");
  } finally {
    await p.stop();
    await stub.close();
  }
});
