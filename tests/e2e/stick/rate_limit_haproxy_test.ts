// Rate limiting with a stick table, side by side with HAProxy 2.6: the
// same 1,000-request burst from 3 clients through the same
// `http_req_rate(10s)` limit gets the same number of 429s from both, and
// both report the same rate for the client afterwards. The burst ends well
// within the 10 s period (the limit is about counts, not time: a slower
// machine only spreads it inside the period, and HAProxy's sliding window
// counts the first period exactly).

import assert from "node:assert/strict";
import { fetchOnce, get, httpStub } from "../http/_http.ts";
import { burst, haproxyFe, sideBySide, sluiceFe, yamlList } from "./_stick.ts";

/** The rules, identical on both proxies. */
const RULES = [
  // Reads the table before tracking: the client's rate, as `show table` would.
  'http-request return status 200 content-type text/plain lf-string "%[src_http_req_rate(fe)] %[src_http_req_cnt(fe)] %[table_cnt(fe)]" if { path /rate }',
  "http-request track-sc0 src",
  "http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }",
];
const TABLE = "type ip size 100k expire 30s store http_req_rate(10s),http_req_cnt";

Deno.test("rate limit: the same burst gets the same 429 count from Sluice and HAProxy", async () => {
  const stub = httpStub("a");
  const fe = { table: TABLE, servers: [["a", stub.port]] as Array<[string, number]> };
  await sideBySide(
    sluiceFe({
      ...fe,
      frontend: yamlList("http-request", RULES.map((r) => r.slice("http-request ".length))),
    }),
    haproxyFe({ ...fe, frontend: RULES }, ["maxconn 1000"]),
    async (p, h) => {
      const ours = await burst(p.port("fe"), 1000, 3);
      const theirs = await burst(h.port, 1000, 3);
      // Every request counts before the check: the 101st and later are refused.
      assert.deepEqual(Object.fromEntries(theirs), { 200: 100, 429: 900 }, "HAProxy");
      assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs), "Sluice as HAProxy");
      const rateOurs = (await fetchOnce(p.port("fe"), get("/rate"))).text;
      const rateTheirs = (await fetchOnce(h.port, get("/rate"))).text;
      assert.equal(rateTheirs, "1000 1000 1");
      assert.equal(rateOurs, rateTheirs);
    },
    stub,
  );
});
