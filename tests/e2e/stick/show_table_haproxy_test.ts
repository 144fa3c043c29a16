// The runtime API's table commands (src/stick/cli.ts) against HAProxy 2.6's
// own answers: HAProxy serves one request (tracked, gpc0 incremented) and
// answers `show table`, `set table`, `clear table` on its stats socket; the
// same commands on a Sluice table that went through the same tracking
// calls give the same text, entry address and expiry countdown aside.

import assert from "node:assert/strict";
import { fetchOnce, get, httpStub } from "../http/_http.ts";
import { type Haproxy, haproxyFe, startHaproxy } from "./_stick.ts";
import { cli } from "../cli/_cli.ts";
import { parseStickTable, StickTable } from "../../../src/stick/table.ts";
import { clearTable, setTable, showTable } from "../../../src/stick/cli.ts";
import { endStreamCounters, incGpc, StkCounters, trackContent } from "../../../src/stick/track.ts";

const TABLE =
  "type ip size 1k expire 30s store gpt0,gpc0,conn_cnt,conn_cur,http_req_cnt,http_req_rate(10s),http_err_cnt";

/** One command on HAProxy's stats socket; the answer without the CLI's closing empty line. */
async function haproxyCli(path: string, cmd: string): Promise<string> {
  const text = await cli(path, cmd);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Masks what differs by nature: the entry's address and its expiry countdown. */
function mask(s: string): string {
  return s.replace(/^0x[0-9a-f]+:/gm, "ADDR:").replace(/ exp=\d+/g, " exp=N");
}

Deno.test("runtime API text: show/set/clear table answer as HAProxy's CLI for the same entries", async () => {
  const stub = httpStub("a");
  const dir = await Deno.makeTempDir();
  const sock = `${dir}/admin.sock`;
  let h: Haproxy | null = null;
  try {
    h = await startHaproxy(haproxyFe(
      {
        table: TABLE,
        frontend: ["http-request track-sc0 src", "http-request sc-inc-gpc0(0)"],
        servers: [["a", stub.port]],
      },
      [`stats socket ${sock} level admin`],
      true,
    ));
    assert.equal((await fetchOnce(h.port, get("/"))).status, 200);

    // The same life for the entry on Sluice's side.
    const c = parseStickTable("fe", TABLE);
    if ("error" in c) throw new Error(c.error);
    const t = new StickTable(c);
    const tables = new Map([["fe", t]]);
    const stk = new StkCounters();
    trackContent(stk, 0, t, "127.0.0.1", 1000, true);
    incGpc(stk, 0, 0, 1000);
    endStreamCounters(stk, 1000);

    const cmds: Array<[string, (args: string[]) => string]> = [
      ["show table fe", (a) => showTable(tables, a, 1000)],
      ["set table fe key 10.0.0.2 data.gpc0 5 data.gpt0 7", (a) => setTable(tables, a, 1000)],
      ["show table fe key 10.0.0.2", (a) => showTable(tables, a, 1000)],
      ["show table fe data.gpc0 gt 1", (a) => showTable(tables, a, 1000)],
      ["set table fe key 10.0.0.3 data.conn_rate 1", (a) => setTable(tables, a, 1000)],
      ["show table fe data.gpc0 gx 1", (a) => showTable(tables, a, 1000)],
      ["clear table fe key 10.0.0.2", (a) => clearTable(tables, a, 1000)],
      ["show table nope", (a) => showTable(tables, a, 1000)],
      // A missing key, refused alike by the three commands (src/stick/cli.ts's cliKey()).
      ["show table fe key", (a) => showTable(tables, a, 1000)],
      ["clear table fe key", (a) => clearTable(tables, a, 1000)],
      ["set table fe key", (a) => setTable(tables, a, 1000)],
      ["show table fe", (a) => showTable(tables, a, 1000)],
    ];
    for (const [cmd, ours] of cmds) {
      const theirs = await haproxyCli(sock, cmd);
      const mine = ours(cmd.split(" ").slice(2));
      assert.equal(mask(mine), mask(theirs), cmd);
    }
  } finally {
    await h?.stop();
    await stub.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
