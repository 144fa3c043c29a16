// A TCP-mode frontend tracking with `tcp-request content track-sc0`, side
// by side with HAProxy 2.6: after three echoed connections of known sizes
// the table holds the same connection and byte counts, read back through
// an HTTP frontend (`src_*(TABLE)` of the TCP frontend's table).

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { closeQuietly, closeWrite, connect, readToEof, writeAll } from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { fetchOnce, get, httpStub } from "../http/_http.ts";
import { type Haproxy, startHaproxy } from "./_stick.ts";

const TABLE = "type ip size 10 expire 1m store conn_cnt,conn_cur,bytes_in_cnt,bytes_out_cnt";
const SHOW =
  'return status 200 content-type text/plain lf-string "%[src_conn_cnt(tcpfe)] %[src_conn_cur(tcpfe)] %[src_kbytes_in(tcpfe)] %[src_kbytes_out(tcpfe)]"';

Deno.test("tcp-request content track-sc0 in TCP mode: connections and bytes counted as HAProxy counts them", async () => {
  const echo = echoServer();
  const stub = httpStub("a");
  let p: ProxyProcess | null = null;
  let h: Haproxy | null = null;
  try {
    p = await startProxy(`
global: { log: stdout }
defaults:
  timeout: { connect: 1s, client: 10s, server: 10s }
frontends:
  tcpfe:
    mode: tcp
    bind: "127.0.0.1:0"
    default_backend: echo
    stick-table: "${TABLE}"
    tcp-request: ["content track-sc0 src"]
  show:
    mode: http
    bind: "127.0.0.1:0"
    default_backend: web
    http-request: ['${SHOW}']
backends:
  echo:
    mode: tcp
    servers: [{ name: e, address: "127.0.0.1:${echo.port}" }]
  web:
    mode: http
    servers: [{ name: a, address: "127.0.0.1:${stub.port}" }]
`);
    h = await startHaproxy(`defaults
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend tcpfe
  mode tcp
  bind 127.0.0.1:PORT
  stick-table ${TABLE}
  tcp-request content track-sc0 src
  default_backend echo
frontend show
  mode http
  bind 127.0.0.1:SHOWPORT
  http-request ${SHOW}
  default_backend web
frontend ready
  mode tcp
  bind 127.0.0.1:READYPORT
  default_backend echo
backend echo
  mode tcp
  server e 127.0.0.1:${echo.port}
backend web
  mode http
  server a 127.0.0.1:${stub.port}
`);
    const results: string[] = [];
    const pairs: Array<[number, number]> = [
      [p.port("tcpfe"), p.port("show")],
      [h.port, h.ports.SHOWPORT!],
    ];
    for (const [port, showPort] of pairs) {
      for (const size of [10_000, 200_000, 51_200]) {
        const c = await connect(port);
        try {
          const data = new Uint8Array(size).fill(0x61);
          const reading = readToEof(c);
          await writeAll(c, data);
          await closeWrite(c);
          assert.equal((await reading).length, size);
        } finally {
          closeQuietly(c);
        }
      }
      // The proxies see the ends asynchronously: poll until conn_cur is 0.
      let text = "";
      for (let i = 0; i < 100; i++) {
        text = (await fetchOnce(showPort, get("/"))).text;
        if (text.split(" ")[1] === "0") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      results.push(text);
    }
    // 3 connections, 261,200 bytes each way (255 KiB).
    assert.equal(results[1], "3 0 255 255", "HAProxy");
    assert.equal(results[0], results[1], "Sluice as HAProxy");
  } finally {
    await p?.stop();
    await h?.stop();
    await echo.close();
    await stub.close();
  }
});
