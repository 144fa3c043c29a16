// errorfile and large-head-status: what a client receives when the proxy
// answers itself, configured from YAML.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { deadPort } from "../../_helpers/servers.ts";
import { fetchOnce, get } from "./_http.ts";

Deno.test("errorfile replaces the body of the proxy's 503; other replies keep theirs", async () => {
  const dir = await Deno.makeTempDir();
  const body = "<h1>We are down for maintenance</h1>\n";
  await Deno.writeTextFile(`${dir}/503.html`, body);
  const port = await deadPort();
  const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
  errorfile: ["503 ${dir}/503.html"]
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be: { retries: 0, servers: [ { name: s1, address: "127.0.0.1:${port}" } ] }
`);
  try {
    const r = await fetchOnce(proxy.port("fe"), get("/"));
    assert.equal(r.status, 503);
    assert.equal(r.text, body);
    assert.equal(r.get("content-length"), String(body.length));
    assert.equal(r.get("content-type"), "text/html");
    assert.equal(r.get("connection"), "close");
    // A bad request still gets the built-in 400 page.
    const bad = await fetchOnce(proxy.port("fe"), "GET / HTTP/9.9\r\n\r\n");
    assert.equal(bad.status, 400);
    assert.match(bad.text, /400 Bad Request/);
    await proxy.waitForLog(/ 503 \d+ - - SC-- /, 3000);
  } finally {
    await proxy.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("large-head-status 431: an oversize header block gets 431, a huge request line 414", async () => {
  const proxy = await startProxy(`
global: { log: stdout, large-head-status: 431 }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:9" } ] }
`);
  try {
    const port = proxy.port("fe");
    const big = await fetchOnce(port, get("/", [`X-Big: ${"a".repeat(20000)}`]));
    assert.equal(big.status, 431);
    const longLine = await fetchOnce(port, get("/" + "b".repeat(20000)));
    assert.equal(longLine.status, 414);
    await proxy.waitForLog(/ 431 \d+ - - PR-- /, 3000);
    await proxy.waitForLog(/ 414 \d+ - - PR-- /, 3000);
  } finally {
    await proxy.stop();
  }
});
