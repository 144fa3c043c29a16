// The README demo works: `tests/_helpers/demo.ts --once` starts two echo
// servers, runs the proxy on config.example.yaml, and gets "hello" back
// through 127.0.0.1:8080 with a normal log line. It binds the fixed ports
// 8080, 8081, 9001, 9002 and 9003, so it is skipped (with a message) when one is taken.

import assert from "node:assert/strict";
import { runDeno } from "../../_helpers/proxy.ts";

const DEMO = new URL("../../_helpers/demo.ts", import.meta.url).pathname;
const PORTS = [8080, 8081, 9001, 9002, 9003];

function portsInUse(): number[] {
  const busy: number[] = [];
  for (const port of PORTS) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      busy.push(port);
    }
  }
  return busy;
}

const busy = portsInUse();
if (busy.length > 0) {
  console.warn(`demo_test: skipped, 127.0.0.1 port(s) ${busy.join(", ")} already in use`);
}

Deno.test({
  name: "demo: demo.ts --once echoes hello through :8080 and serves HTTP and stats on :8081",
  ignore: busy.length > 0,
  fn: async () => {
    const { code, stdout, stderr } = await runDeno(["run", "-A", DEMO, "--once"], 30_000);
    const both = `stdout:\n${stdout}\nstderr:\n${stderr}`;
    assert.equal(code, 0, both);
    assert.match(stdout, /^reply: "hello"$/m, both);
    assert.match(
      stdout,
      /^log: 127\.0\.0\.1:\d+ \[[^\]]+\] fe_main be_demo\/demo[12] \d+\/\d+\/\d+ 5 -- /m,
      both,
    );
    // The HTTP frontend: a proxied page, a rule's own reply, and the stats page.
    assert.match(
      stdout,
      /^GET http:\/\/127\.0\.0\.1:8081\/index\.html -> 200 web1 served \/index\.html \(X-Forwarded-For: 127\.0\.0\.1\) \(X-Proxy: sluice\)$/m,
      both,
    );
    assert.match(stdout, /^GET http:\/\/127\.0\.0\.1:8081\/hello -> 200 hello from sluice$/m, both);
    assert.match(stdout, /^GET http:\/\/127\.0\.0\.1:8081\/stats;csv -> 200, web1: /m, both);
    // everything it started is gone again
    assert.deepEqual(portsInUse(), [], "demo.ts left a port bound");
  },
});
