// HTTP_RULES.md, "Error replies": every reply the proxy makes itself is a
// complete HTTP/1.1 response with Content-Length, Content-Type: text/html,
// Cache-Control: no-cache and Connection: close, and a short HTML body; and
// each reason is a distinct termination state in the log.
//
// One proxy provokes every reason through real sockets:
//
// | reason                               | status | state |
// | ------------------------------------ | ------ | ----- |
// | malformed request head               | 400    | PR    |
// | malformed chunked request body       | 400    | PD    |
// | request head not complete in time    | 408    | cR    |
// | invalid response head                | 502    | PH    |
// | server closed before a complete head | 502    | SH    |
// | no server usable: connection refused | 503    | SC    |
// | no server usable: no backend matched | 503    | SC    |
// | connect timeout                      | 503    | sC    |
// | queue timeout                        | 503    | sQ    |
// | no response within timeout server    | 504    | sH    |
//
// For each: the client's bytes are exactly one well-formed error reply and
// then a clean close; the log line has the status, the state, and %B equal to
// the bytes the client received. Finally the states of the distinct reasons
// are checked to be pairwise different (the two "no server" cases are one
// reason, as in HAProxy).
//
// Ends after the response or request has started get no error reply (nothing
// valid can follow a started message) but still their own state: client
// abort mid-body CD, server abort mid-body SD, server stall mid-body sD
// (timeout server), client stall mid-body cD (timeout client).

import assert from "node:assert/strict";
import { blackholeServer, deadPort, type StubServer } from "../../_helpers/servers.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { type HttpStub, httpStub, type StubReply } from "../../_helpers/http_stub.ts";
import {
  assertErrorReply,
  ERROR_REASONS,
  explainFailure,
  type HttpLog,
  latin1,
  logsOf,
  RawClient,
  type RawResponse,
} from "./_common.ts";

interface Reason {
  name: string;
  /** Reasons sharing a group are the same reason (same state expected). */
  group: string;
  frontend: string;
  /** What the client sends (it never half-closes). */
  request: string;
  /** For a queue timeout: a request that holds the only slot first. */
  holder?: string;
  status: number;
  state: string;
}

const REASONS: Reason[] = [
  {
    name: "malformed request head",
    group: "bad request",
    frontend: "fe",
    request: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
    state: "PR",
  },
  {
    name: "malformed chunked request body",
    group: "bad request body",
    frontend: "fe",
    request: "POST /body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    status: 400,
    state: "PD",
  },
  {
    name: "request head not complete within timeout http-request",
    group: "request timeout",
    frontend: "fe_slow",
    request: "GET /slow HTTP/1.1\r\nHost: a\r\n",
    status: 408,
    state: "cR",
  },
  {
    name: "invalid response head",
    group: "invalid response",
    frontend: "fe",
    request: "GET /invalid HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 502,
    state: "PH",
  },
  {
    name: "server closed before a complete head",
    group: "server closed",
    frontend: "fe",
    request: "GET /closed HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 502,
    state: "SH",
  },
  {
    name: "connection refused",
    group: "no server",
    frontend: "fe_dead",
    request: "GET /dead HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 503,
    state: "SC",
  },
  {
    name: "no backend matched and no default",
    group: "no server",
    frontend: "fe_nobe",
    request: "GET /nobe HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 503,
    state: "SC",
  },
  {
    name: "connect timeout",
    group: "connect timeout",
    frontend: "fe_bh",
    request: "GET /bh HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 503,
    state: "sC",
  },
  {
    name: "queue timeout",
    group: "queue timeout",
    frontend: "fe_q",
    holder: "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n",
    request: "GET /queued HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 503,
    state: "sQ",
  },
  {
    name: "no response within timeout server",
    group: "server timeout",
    frontend: "fe",
    request: "GET /silent HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 504,
    state: "sH",
  },
];

function config(stub: number, dead: number, blackhole: number): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 300ms, client: 5s, server: 5s, http-request: 2s, http-keep-alive: 2s }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
  fe_slow:
    bind: "127.0.0.1:0"
    default_backend: be
    timeout: { http-request: 300ms }
  fe_dead: { bind: "127.0.0.1:0", default_backend: be_dead }
  fe_nobe: { bind: "127.0.0.1:0", use_backend: ["be if FALSE"] }
  fe_bh: { bind: "127.0.0.1:0", default_backend: be_bh }
  fe_q: { bind: "127.0.0.1:0", default_backend: be_q }
  fe_ct:
    bind: "127.0.0.1:0"
    default_backend: be_ct
    timeout: { client: 300ms }
backends:
  be:
    retries: 0
    timeout: { server: 300ms }
    servers: [ { name: s1, address: "127.0.0.1:${stub}" } ]
  be_ct:
    retries: 0
    timeout: { server: 700ms }
    servers: [ { name: s1, address: "127.0.0.1:${stub}" } ]
  be_dead:
    retries: 0
    servers: [ { name: d1, address: "127.0.0.1:${dead}" } ]
  be_bh:
    retries: 0
    servers: [ { name: b1, address: "127.0.0.1:${blackhole}" } ]
  be_q:
    retries: 0
    timeout: { queue: 300ms }
    servers: [ { name: q1, address: "127.0.0.1:${stub}", maxconn: 1 } ]
`;
}

function respond(req: { target: string }): StubReply {
  switch (req.target) {
    case "/invalid":
      return { bytes: "HTTP/1.1 2x0 Broken\r\ncontent-length: 0\r\n\r\n", then: "silent" };
    case "/closed":
      return { bytes: "HTTP/1.1 200 OK\r\nContent-Le", then: "close" };
    default:
      return { then: "silent" }; // /silent, /hold: never answered
  }
}

/** Provokes `reason` and returns the reply, the log line and every byte the client got. */
async function provoke(
  proxy: ProxyProcess,
  stub: HttpStub,
  reason: Reason,
): Promise<{ reply: RawResponse; log: HttpLog; received: Uint8Array }> {
  let holder: RawClient | undefined;
  const c = await RawClient.open(proxy.port(reason.frontend));
  try {
    return await explainFailure(proxy, () => c.localPort, async () => {
      if (reason.holder !== undefined) {
        holder = await RawClient.open(proxy.port(reason.frontend));
        const n = stub.requests.length;
        await holder.send(reason.holder);
        await stub.requests.waitFor(n + 1, 3_000, "requests (the slot holder)");
      }
      await c.send(reason.request);
      const reply = await c.readResponse("GET");
      await c.expectClosed();
      const [log] = await logsOf(proxy, c.localPort);
      return { reply, log: log!, received: c.received };
    });
  } finally {
    c.close();
    holder?.close();
  }
}

Deno.test("error replies: complete HTTP/1.1 responses, one distinct termination state per reason", async (t) => {
  const stub = httpStub({ respond });
  let bh: StubServer | undefined;
  let proxy: ProxyProcess | undefined;
  const seen: Array<{ name: string; group: string; state: string }> = []; // observed states
  try {
    bh = await blackholeServer();
    proxy = await startProxy(config(stub.port, deadPort(), bh.port));
    const p = proxy;
    for (const reason of REASONS) {
      await t.step(`${reason.name} → ${reason.status} ${reason.state}--`, async () => {
        const { reply, log, received } = await provoke(p, stub, reason);
        seen.push({ name: reason.name, group: reason.group, state: log.ts });
        // The format, header by header, and nothing but the reply on the wire.
        assertErrorReply(reply, reason.status, reason.name);
        assert.equal(
          latin1(received),
          latin1(reply.raw),
          "the client received something besides the reply",
        );
        const statusLine = reply.head.slice(0, reply.head.indexOf("\r\n"));
        assert.equal(statusLine, `HTTP/1.1 ${reason.status} ${ERROR_REASONS[reason.status]}`);
        assert.ok(
          latin1(reply.body).includes(`${reason.status} ${ERROR_REASONS[reason.status]}`),
          `the HTML body should name the status: ${latin1(reply.body)}`,
        );
        // The log line.
        assert.equal(log.status, reason.status, log.line);
        assert.equal(log.tsc, `${reason.state}--`, log.line);
        assert.equal(log.bytes, received.length, `%B vs bytes received: ${log.line}`);
      });
    }
    await t.step("each reason has its own termination state", () => {
      // Within a reason one state; across reasons, different states.
      const groupStates = new Map<string, Set<string>>();
      for (const { group, state } of seen) {
        groupStates.set(group, (groupStates.get(group) ?? new Set()).add(state));
      }
      const problems: string[] = [];
      for (const [group, states] of groupStates) {
        if (states.size > 1) problems.push(`"${group}" logged as ${[...states].join(" and ")}`);
      }
      const byState = new Map<string, Set<string>>();
      for (const { group, state } of seen) {
        byState.set(state, (byState.get(state) ?? new Set()).add(group));
      }
      for (const [state, groups] of byState) {
        if (groups.size > 1) problems.push(`${state} shared by ${[...groups].join(", ")}`);
      }
      assert.deepEqual(problems, [], `termination states: ${problems.join("; ")}`);
      const missing = REASONS.filter((r) => !seen.some((x) => x.name === r.name));
      assert.deepEqual(missing.map((r) => r.name), [], "reasons whose log line was not seen");
    });
  } finally {
    await proxy?.stop();
    await stub.close();
    await bh?.close();
  }
});

Deno.test("error replies are the same for an HTTP/1.0 client: HTTP/1.1 status line, Connection: close", async () => {
  const stub = httpStub({ respond });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(stub.port, deadPort(), deadPort()));
    const c = await RawClient.open(proxy.port("fe_dead"));
    try {
      await c.send("GET /dead HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      const r = await c.readResponse();
      assertErrorReply(r, 503, "HTTP/1.0 client");
      await c.expectClosed();
    } finally {
      c.close();
    }
  } finally {
    await proxy?.stop();
    await stub.close();
  }
});

Deno.test("aborts and stalls after the head: their own states, a reply only while the response is awaited", async (t) => {
  const stub = httpStub({
    respond: (req) =>
      req.target === "/cut"
        ? { bytes: "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc", then: "close" }
        : req.target === "/stall"
        ? { bytes: "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc", then: "silent" }
        : { then: "silent" },
  });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(stub.port, deadPort(), deadPort()));
    const p = proxy;
    await t.step("client closes in the middle of its request body → CD--", async () => {
      const c = await RawClient.open(p.port("fe"));
      try {
        await explainFailure(p, () => c.localPort, async () => {
          await c.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789");
          const [conn] = await stub.connections.waitFor(1, 3_000, "server connections");
          await conn!.waitRaw(10, 3_000);
          await c.conn.closeWrite();
          const { extra } = await c.readEnd();
          assert.equal(latin1(extra), "", "the client got bytes after aborting");
          const [log] = await logsOf(p, c.localPort);
          assert.equal(log!.tsc, "CD--", log!.line);
          assert.equal(log!.request, "POST /up HTTP/1.1", log!.line);
          assert.notEqual(await conn!.waitEnd(3_000), null);
          assert.equal(stub.requests.length, 0, "an incomplete request counted as complete");
        });
      } finally {
        c.close();
      }
    });
    await t.step("server closes in the middle of its response body → SD--", async () => {
      const c = await RawClient.open(p.port("fe"));
      try {
        await explainFailure(p, () => c.localPort, async () => {
          await c.send("GET /cut HTTP/1.1\r\nHost: a\r\n\r\n");
          const { extra } = await c.readEnd();
          // What the server sent, and nothing else: no error reply can follow
          // a response that has started.
          assert.equal(latin1(extra), "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
          const [log] = await logsOf(p, c.localPort);
          assert.equal(log!.tsc, "SD--", log!.line);
          assert.equal(log!.status, 200, log!.line);
        });
      } finally {
        c.close();
      }
    });
    await t.step("server stalls in the middle of its response body → sD--", async () => {
      const c = await RawClient.open(p.port("fe"));
      try {
        await explainFailure(p, () => c.localPort, async () => {
          await c.send("GET /stall HTTP/1.1\r\nHost: a\r\n\r\n");
          const t0 = performance.now();
          const { extra } = await c.readEnd();
          const elapsed = performance.now() - t0;
          assert.equal(latin1(extra), "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
          assert.ok(elapsed >= 290, `closed after ${elapsed.toFixed(0)} ms, before timeout server`);
          const [log] = await logsOf(p, c.localPort);
          assert.equal(log!.tsc, "sD--", log!.line);
          assert.equal(log!.status, 200, log!.line);
        });
      } finally {
        c.close();
      }
    });
    // The client's timeout (300 ms) does not end a request whose response
    // is still awaited: HAProxy 2.6 waits for `timeout server` (700 ms here)
    // and answers 504 sH, checked side by side (issue 14, item 6).
    await t.step(
      "client stalls in the middle of its request body → 504 sH-- at timeout server",
      async () => {
        const c = await RawClient.open(p.port("fe_ct"));
        try {
          await explainFailure(p, () => c.localPort, async () => {
            const n = stub.heads.length;
            await c.send("POST /up2 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123");
            await stub.heads.waitFor(n + 1, 3_000, "request heads");
            const t0 = performance.now();
            const { extra } = await c.readEnd();
            const elapsed = performance.now() - t0;
            assert.ok(
              elapsed >= 600,
              `closed after ${elapsed.toFixed(0)} ms, before timeout server`,
            );
            const [log] = await logsOf(p, c.localPort);
            assert.equal(log!.tsc, "sH--", log!.line);
            assert.equal(log!.status, 504, log!.line);
            assert.match(latin1(extra), /^HTTP\/1\.1 504 /, "a 504 reply");
          });
        } finally {
          c.close();
        }
      },
    );
  } finally {
    await proxy?.stop();
    await stub.close();
  }
});
