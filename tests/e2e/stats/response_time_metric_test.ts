// The Prometheus exporter reports connect and response times: a server that
// takes ~80 ms to answer shows an average response time of about that.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, fetchOnce, get, httpStub } from "../http/_http.ts";

Deno.test("sluice_server_response_time_average_seconds follows a slow server", async () => {
  const slow = httpStub("slow", {
    respond: () => {
      const until = Date.now() + 80;
      while (Date.now() < until) { /* a slow application */ }
      return { status: 200, body: "slow" };
    },
  });
  const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    stats: { uri: /stats, prometheus: /metrics }
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${slow.port}" } ] }
`);
  try {
    const c = await connectHttp(proxy.port("fe"));
    try {
      for (let i = 0; i < 3; i++) assert.equal((await c.request(get("/"))).status, 200);
    } finally {
      c.close();
    }
    const m = await fetchOnce(proxy.port("fe"), get("/metrics"));
    const line = m.text.split("\n").find((l) =>
      l.startsWith('sluice_server_response_time_average_seconds{proxy="be",server="s1"}')
    );
    assert.ok(line !== undefined, m.text.slice(0, 400));
    const v = Number(line.split(" ").pop());
    assert.ok(v >= 0.07 && v < 1, `average response time ${v}s`);
    const be = m.text.split("\n").find((l) =>
      l.startsWith('sluice_backend_response_time_average_seconds{proxy="be"}')
    );
    assert.ok(be !== undefined && Number(be.split(" ").pop()) >= 0.07, be);
  } finally {
    await proxy.stop();
    await slow.close();
  }
});
