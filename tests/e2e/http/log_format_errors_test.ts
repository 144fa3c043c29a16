// log-format strings refused at load time: variables HAProxy has but Sluice
// lacks, and HTTP-only variables in tcp mode.
//
// The reference peer is HAProxy 2.6, run side by side on the same traffic:
// the expected values quoted in each test are HAProxy's output for the same
// exchange.

import assert from "node:assert/strict";
import { checkConfig } from "../../_helpers/proxy.ts";

/** `sluice -c` on a one-frontend config in `mode` with `log-format: fmt`. */
function checkLogFormat(mode: string, fmt: string) {
  return checkConfig(`
defaults:
  mode: ${mode}
  timeout: { connect: 1s, client: 3s, server: 3s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be, log-format: "${fmt}" }
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:1" } ]
`);
}

Deno.test("log-format: variables HAProxy has but Sluice lacks are config errors", async () => {
  // %[...] is supported (issue 15) but not for fetches reading a head, nor unknown ones.
  for (const v of ["%Th", "%Ti", "%HP", "%HQ", "%[req.hdr(host)]", "%[nosuch]", "%o", "abc%"]) {
    const r = await checkLogFormat("http", `x ${v}`);
    assert.equal(r.code, 1, `${v} accepted:\n${r.stderr}`);
    assert.match(r.stderr, /log-format/);
  }
});

Deno.test("log-format in tcp mode: HTTP-only variables are config errors", async () => {
  // HAProxy: "failed to parse log-format : format variable 'r' is reserved for HTTP mode."
  for (const v of ["%r", "%HM", "%TR", "%Ta", "%CC"]) {
    const r = await checkLogFormat("tcp", `x ${v}`);
    assert.equal(r.code, 1, `${v} accepted in tcp mode (renders empty/-1 silently)`);
  }
});
