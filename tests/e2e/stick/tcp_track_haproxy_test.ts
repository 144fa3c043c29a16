// `tcp-request connection track-scN` and `reject` on its counters, side by
// side with HAProxy 2.6: a TCP frontend that refuses a client's third
// concurrent connection, and an HTTP frontend that tracks at the session
// level (every request of the connection counts) and answers 429 past a
// request count.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { closeQuietly, connect, withDeadline } from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { connectHttp, fetchOnce, get, HTTP_DEFAULTS, httpStub } from "../http/_http.ts";
import { type Haproxy, startHaproxy } from "./_stick.ts";

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
  let p: ProxyProcess | null = null;
  let h: Haproxy | null = null;
  const RULES = [
    "connection track-sc0 src",
    "connection reject if { sc_conn_cur(0) gt 2 }",
  ];
  try {
    p = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stick-table: "type ip size 10 expire 1m store conn_cur"
    tcp-request:
${RULES.map((r) => `      - "${r}"`).join("\n")}
backends:
  be:
    servers: [{ name: e, address: "127.0.0.1:${echo.port}" }]
`);
    h = await startHaproxy(`defaults
  mode tcp
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:PORT
  stick-table type ip size 10 expire 1m store conn_cur
${RULES.map((r) => "  tcp-request " + r).join("\n")}
  default_backend be
backend be
  server e 127.0.0.1:${echo.port}
`);
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
  } finally {
    await p?.stop();
    await h?.stop();
    await echo.close();
  }
});

Deno.test("tcp-request connection track-sc0 in an HTTP frontend: every request of the connection counts, as on HAProxy", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  let h: Haproxy | null = null;
  const TABLE = "type ip size 10 expire 1m store http_req_cnt,conn_cnt,sess_cnt";
  try {
    p = await startProxy(`${HTTP_DEFAULTS}
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stick-table: "${TABLE}"
    tcp-request: ["connection track-sc0 src"]
    http-request:
      - 'return status 200 content-type text/plain lf-string "%[sc0_http_req_cnt] %[sc0_conn_cnt] %[sc0_sess_cnt]" if { path /show }'
      - "deny deny_status 429 if { sc0_http_req_cnt gt 3 }"
backends:
  be:
    servers: [{ name: a, address: "127.0.0.1:${stub.port}" }]
`);
    h = await startHaproxy(`defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:PORT
  stick-table ${TABLE}
  tcp-request connection track-sc0 src
  http-request return status 200 content-type text/plain lf-string "%[sc0_http_req_cnt] %[sc0_conn_cnt] %[sc0_sess_cnt]" if { path /show }
  http-request deny deny_status 429 if { sc0_http_req_cnt gt 3 }
  default_backend be
backend be
  server a 127.0.0.1:${stub.port}
frontend ready
  bind 127.0.0.1:READYPORT
  default_backend be
`);
    const outcome: string[][] = [];
    for (const port of [p.port("fe"), h.port]) {
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
  } finally {
    await p?.stop();
    await h?.stop();
    await stub.close();
  }
});

Deno.test("tcp-request content track-sc0 in an HTTP frontend: the request is counted at its head, as on HAProxy", async () => {
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  let h: Haproxy | null = null;
  const TABLE = "type ip size 10 expire 1m store http_req_cnt,conn_cnt";
  const SHOW =
    'return status 200 content-type text/plain lf-string "%[src_http_req_cnt] %[src_conn_cnt]" if { path /show }';
  try {
    p = await startProxy(`${HTTP_DEFAULTS}
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stick-table: "${TABLE}"
    tcp-request: ["content track-sc0 src"]
    http-request: ['${SHOW}']
backends:
  be:
    servers: [{ name: a, address: "127.0.0.1:${stub.port}" }]
`);
    h = await startHaproxy(`defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:PORT
  stick-table ${TABLE}
  tcp-request content track-sc0 src
  http-request ${SHOW}
  default_backend be
backend be
  server a 127.0.0.1:${stub.port}
frontend ready
  bind 127.0.0.1:READYPORT
  default_backend be
`);
    const outcome: string[] = [];
    for (const port of [p.port("fe"), h.port]) {
      assert.equal((await fetchOnce(port, get("/"))).status, 200);
      outcome.push((await fetchOnce(port, get("/show"))).text);
    }
    assert.equal(outcome[1], "2 2", "HAProxy");
    assert.equal(outcome[0], outcome[1], "Sluice as HAProxy");
  } finally {
    await p?.stop();
    await h?.stop();
    await stub.close();
  }
});
