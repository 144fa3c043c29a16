// `tcp-request connection track-scN` and `reject` on its counters, side by
// side with HAProxy 2.6: a TCP frontend that refuses a client's third
// concurrent connection, and an HTTP frontend that tracks at the session
// level (every request of the connection counts) and answers 429 past a
// request count.

import assert from "node:assert/strict";
import { closeQuietly, connect, withDeadline } from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { connectHttp, fetchOnce, get, httpStub } from "../http/_http.ts";
import { haproxyFe, sideBySide, sluiceFe, yamlList } from "./_stick.ts";

/** "echo" when the proxy carried a byte to the echo server and back, "closed" when it refused. */
async function probe(c: Deno.TcpConn): Promise<"echo" | "closed"> {
  return await withDeadline(
    async () => {
      try {
        await c.write(new Uint8Array([0x70]));
        const n = await c.read(new Uint8Array(8));
        return n === null ? "closed" : "echo";
      } catch {
        return "closed";
      }
    },
    10_000,
    "probing a connection",
  );
}

Deno.test("tcp-request connection reject on sc_conn_cur: the third concurrent connection is refused, on Sluice as on HAProxy", async () => {
  const echo = echoServer();
  const RULES = [
    "connection track-sc0 src",
    "connection reject if { sc_conn_cur(0) gt 2 }",
  ];
  const fe = {
    mode: "tcp" as const,
    table: "type ip size 10 expire 1m store conn_cur",
    servers: [["e", echo.port]] as Array<[string, number]>,
  };
  await sideBySide(
    sluiceFe({ ...fe, frontend: yamlList("tcp-request", RULES) }),
    haproxyFe({ ...fe, frontend: RULES.map((r) => "tcp-request " + r) }),
    async (p, h) => {
      const outcome: string[][] = [];
      for (const port of [p.port("fe"), h.port]) {
        const conns: Deno.TcpConn[] = [];
        const seen: string[] = [];
        try {
          for (let i = 0; i < 4; i++) {
            // A refused connection may be reset before connect() returns.
            const c = await connect(port).catch(() => null);
            if (c !== null) conns.push(c);
            seen.push(c === null ? "closed" : await probe(c));
          }
          for (const c of conns) closeQuietly(c);
          conns.length = 0;
          // Once they are gone, conn_cur is back down: a new connection passes
          // (polled: the proxy sees the closes asynchronously).
          let again = "closed";
          for (let i = 0; i < 50 && again === "closed"; i++) {
            const c = await connect(port).catch(() => null);
            again = c === null ? "closed" : await probe(c);
            if (c !== null) closeQuietly(c);
            if (again === "closed") await new Promise((r) => setTimeout(r, 100));
          }
          seen.push(again);
        } finally {
          for (const c of conns) closeQuietly(c);
        }
        outcome.push(seen);
      }
      assert.deepEqual(outcome[1], ["echo", "echo", "closed", "closed", "echo"], "HAProxy");
      assert.deepEqual(outcome[0], outcome[1], "Sluice as HAProxy");
    },
    echo,
  );
});

/**
 * Sluice and HAProxy on an HTTP frontend with `table` and the same
 * `tcp-request` and `http-request` rules (HAProxy probed on a frontend of
 * its own, out of the table), `body` given both frontends' ports.
 */
async function trackedHttp(
  table: string,
  tcpRules: string[],
  httpRules: string[],
  body: (ports: number[]) => Promise<void>,
): Promise<void> {
  const stub = httpStub("a");
  const fe = { table, servers: [["a", stub.port]] as Array<[string, number]> };
  await sideBySide(
    sluiceFe({
      ...fe,
      frontend: [...yamlList("tcp-request", tcpRules), ...yamlList("http-request", httpRules)],
    }),
    haproxyFe(
      {
        ...fe,
        frontend: [
          ...tcpRules.map((r) => "tcp-request " + r),
          ...httpRules.map((r) => "http-request " + r),
        ],
      },
      [],
      true,
    ),
    (p, h) => body([p.port("fe"), h.port]),
    stub,
  );
}

Deno.test("tcp-request connection track-sc0 in an HTTP frontend: every request of the connection counts, as on HAProxy", async () => {
  await trackedHttp(
    "type ip size 10 expire 1m store http_req_cnt,conn_cnt,sess_cnt",
    ["connection track-sc0 src"],
    [
      'return status 200 content-type text/plain lf-string "%[sc0_http_req_cnt] %[sc0_conn_cnt] %[sc0_sess_cnt]" if { path /show }',
      "deny deny_status 429 if { sc0_http_req_cnt gt 3 }",
    ],
    async (ports) => {
      const outcome: string[][] = [];
      for (const port of ports) {
        // Four requests on one connection: the session's counter sees each one.
        const c = await connectHttp(port);
        const seen: string[] = [];
        for (let i = 0; i < 4; i++) seen.push(String((await c.request(get("/"))).status));
        c.close();
        // A second connection: counted as a connection and a session, its request too.
        seen.push((await fetchOnce(port, get("/show"))).text);
        outcome.push(seen);
      }
      // The 4th request of the connection is refused (4 > 3); the next
      // connection is counted, and so is its request.
      assert.deepEqual(outcome[1], ["200", "200", "200", "429", "5 2 2"], "HAProxy");
      assert.deepEqual(outcome[0], outcome[1], "Sluice as HAProxy");
    },
  );
});

Deno.test("tcp-request content track-sc0 in an HTTP frontend: the request is counted at its head, as on HAProxy", async () => {
  await trackedHttp(
    "type ip size 10 expire 1m store http_req_cnt,conn_cnt",
    ["content track-sc0 src"],
    ['return status 200 content-type text/plain lf-string "%[src_http_req_cnt] %[src_conn_cnt]" if { path /show }'],
    async (ports) => {
      const outcome: string[] = [];
      for (const port of ports) {
        assert.equal((await fetchOnce(port, get("/"))).status, 200);
        outcome.push((await fetchOnce(port, get("/show"))).text);
      }
      assert.equal(outcome[1], "2 2", "HAProxy");
      assert.equal(outcome[0], outcome[1], "Sluice as HAProxy");
    },
  );
});
