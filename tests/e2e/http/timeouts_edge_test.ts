// Timeouts, termination states, log lines and counters in HTTP mode, and the
// queue / maxconn / retry / redispatch machinery under HTTP requests. The
// reference is HAProxy: an inactivity timeout blames the side that is idle
// (never the side that waits because the proxy stopped reading for lack of
// room), the keep-alive timer starts once the response is out, %TR and %Ta
// start at the first byte of the request, %B is what reached the client, and
// the stats count what the log lines say.
import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { ByteReader, connectHttp, get, httpStub, latin1, logsOf } from "./_http.ts";

const te = new TextEncoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Cfg {
  /** The `timeout` map of `defaults` (YAML flow map body). */
  timeouts: string;
  /** Server lines (`{ name: ..., address: ... }` bodies). */
  servers: string[];
  /** Extra backend lines (4-space indented). */
  backendExtra?: string;
}

/** A proxy with frontend `fe` → backend `be`, and a stats frontend `st` (/stats, /metrics). */
function proxyFor(c: Cfg): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  option: [httplog]
  timeout: { ${c.timeouts} }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
  st:
    bind: "127.0.0.1:0"
    default_backend: be
    stats: { uri: /stats, prometheus: /metrics }
backends:
  be:
    balance: roundrobin
${c.backendExtra ?? ""}
    servers:
${c.servers.map((s) => `      - { ${s} }`).join("\n")}
`);
}

interface Counts {
  "1xx": number;
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
  other: number;
}
interface SnapServer {
  name: string;
  curSessions: number;
  queueCur: number;
  connErrors: number;
  respErrors: number;
  retries: number;
  redispatches: number;
  httpResponses: Counts;
}
interface SnapBackend extends Omit<SnapServer, "name"> {
  name: string;
  failedNoServer: number;
  servers: SnapServer[];
}
interface Snap {
  frontends: Array<{ name: string; httpRequests: number; httpResponses: Counts }>;
  backends: SnapBackend[];
}

/** The JSON snapshot, fetched through the stats frontend (the `fe` counters stay untouched). */
async function stats(proxy: ProxyProcess): Promise<Snap> {
  const c = await connectHttp(proxy.port("st"));
  try {
    const r = await c.request(get("/stats;json", ["Connection: close"]), "GET", 3000);
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text) as Snap;
  } finally {
    c.close();
  }
}

function fe(s: Snap) {
  return s.frontends.find((f) => f.name === "fe")!;
}
function be(s: Snap): SnapBackend {
  return s.backends.find((b) => b.name === "be")!;
}

/** A port nothing listens on (connections are refused). */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** A body of `n` bytes with a recognisable pattern. */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (i * 7 + (i >> 10)) % 26;
  return b;
}

/** Sum of one response class over fe, be and every server of be. */
function classes(s: Snap, cls: keyof Counts): string {
  const b = be(s);
  return `fe=${fe(s).httpResponses[cls]} be=${b.httpResponses[cls]} ${
    b.servers.map((x) => `${x.name}=${x.httpResponses[cls]}`).join(" ")
  }`;
}

// ---------------------------------------------------------------------------
// Suspected bugs.

// A client that pauses reading a large response for longer than `timeout
// server` (but well under `timeout client`): the response channel fills, the
// proxy stops reading the server because it has no room, and the server side
// looks idle. #serverExpiry (stream.ts) still counts from the server side's
// last activity, so the stream is aborted as "sD" and the response is cut.
// HAProxy disables the server read timeout while the buffer is full
// (si_update_rx: rex = ETERNITY when blocked on room): only `timeout client`
// may end it, and here the client is not idle for that long.
Deno.test("timeout server never fires while the proxy stops reading the server because the client reads slowly", async () => {
  const SIZE = 8 * 1024 * 1024;
  const big = pattern(SIZE);
  const s1 = httpStub("s1", { respond: () => ({ body: big }) });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 300ms, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/big", ["Connection: close"]));
    const head = await c.reader.readHead();
    assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 200"), "a 200 head");
    await sleep(1000); // the client is busy elsewhere, not idle for timeout client
    const rest = await c.reader.readToEof();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(rest.length, SIZE, `body bytes received; log: ${log!.line}`);
    assert.equal(log!.tsc, "----", log!.line);
    assert.equal(log!.bytes, head.length + rest.length, `%B vs the wire: ${log!.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// The same for an upload: the server does not read the request body for a
// moment (it is busy), the request channel fills and the proxy stops reading
// the client. #clientExpiry counts `timeout client` from the client's last
// activity although it is the proxy that does not read: the upload is
// aborted as "cD", blaming the client.
Deno.test("timeout client never fires while the proxy stops reading an upload because the server reads slowly", async () => {
  const SIZE = 8 * 1024 * 1024;
  const body = pattern(SIZE);
  let received = -1;
  const srv = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    const head = await rd.readHead();
    if (head === null) return;
    await sleep(1000); // busy before reading the body
    const got = await rd.readN(SIZE);
    received = got.length;
    await writeFull(
      conn,
      te.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
    );
  });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 300ms, server: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    const upload = c.send(
      `POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${SIZE}\r\n\r\n`,
    ).then(() => c.send(body, 8000)).catch((e) => e);
    const r = await c.readResponse("POST", 8000).catch((e) => e);
    await upload;
    const [log] = await logsOf(proxy, c.localPort);
    assert.ok(!(r instanceof Error), `response: ${r}; log: ${log!.line}`);
    assert.equal(`${r.status} ${r.text}`, "200 ok", log!.line);
    assert.equal(received, SIZE, log!.line);
    assert.equal(log!.tsc, "----", log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await srv.close();
  }
});

// %TR and %Ta of a follow-up request on a keep-alive connection count from
// the end of the previous response (txn.tWaitStart), not from the first byte
// of this request: the idle time between the two requests shows up as
// request-head time and as active time (docs/logging.md: %TR is "from the
// first byte", %Ta "from the start of the request"; HAProxy keeps the idle
// time apart, in %Ti).
Deno.test("keep-alive: TR and Ta of a follow-up request do not include the idle time before it", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await c.request(get("/a1"), "GET", 3000)).text, "s1 GET /a1");
    await sleep(700);
    assert.equal((await c.request(get("/a2"), "GET", 3000)).text, "s1 GET /a2");
    const logs = await logsOf(proxy, c.localPort, 2);
    const l2 = logs[1]!;
    assert.equal(l2.request, "GET /a2 HTTP/1.1", l2.line);
    assert.ok(l2.tR >= 0 && l2.tR < 300, `TR ${l2.tR} includes the idle time: ${l2.line}`);
    assert.ok(l2.ta >= 0 && l2.ta < 300, `Ta ${l2.ta} includes the idle time: ${l2.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// %B is computed when the line is written, from what was queued for the
// client (res.totalOut + res.out + the prefix left, stream.ts #log); on an
// abort the queued bytes are then erased (#abort) and never sent: the line
// counts bytes the client never received.
Deno.test("an aborted response logs the bytes the client received, not the bytes queued for it", async () => {
  const SIZE = 8 * 1024 * 1024;
  const big = pattern(SIZE);
  const s1 = httpStub("s1", { respond: () => ({ body: big }) });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 300ms, server: 5s",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/big", ["Connection: close"]));
    const head = await c.reader.readHead();
    assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 200"), "a 200 head");
    await sleep(1000); // idle for longer than timeout client: cD
    const [log] = await logsOf(proxy, c.localPort);
    let rest = 0;
    try {
      rest = (await c.reader.readToEof()).length;
    } catch {
      rest = -1; // a reset: what arrived is unknown
    }
    assert.equal(log!.tsc, "cD--", log!.line);
    assert.ok(rest >= 0, "the proxy closed with a reset");
    assert.equal(log!.bytes, head.length + rest, `%B vs the wire: ${log!.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

/** A server that answers /slow only once `release()` is called, and anything else at once. */
function gatedServer() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const seen: string[] = [];
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    for (;;) {
      const head = await rd.readHead().catch(() => null);
      if (head === null) return;
      const text = latin1(head);
      const target = text.split(" ")[1] ?? "";
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      const body = cl !== null ? latin1(await rd.readN(Number(cl[1]))) : "";
      seen.push(`${text.split(" ")[0]} ${target} ${body}`.trim());
      if (target === "/slow") await gate;
      const b = `srv ${target} ${body}`.trim();
      await writeFull(
        conn,
        te.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n\r\n${b}`),
      );
    }
  });
  return { port: loop.port, seen, release: () => open(), close: () => loop.close() };
}

// `option abortonclose` is accepted and documented ("drop a queued or
// connecting request when the client goes away", keywords.ts) but nothing in
// src/ reads it: a complete request stops the client reads (CF_DONT_READ,
// httpReqForwardBody), so a queued client that leaves is never noticed. Its
// entry stays in the queue, it takes the next free slot and its request
// reaches the server for nobody. HAProxy keeps reading with abortonclose and
// drops the request (CQ).
Deno.test("option abortonclose: a queued client that leaves is dropped from the queue and never reaches the server", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
    backendExtra: "    option: [abortonclose]",
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    await b.send(get("/b"));
    await sleep(150);
    assert.equal(be(await stats(proxy)).queueCur, 1, "the second request is queued");
    b.close(); // the client gives up
    await sleep(300);
    const q = be(await stats(proxy)).queueCur;
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    await sleep(300);
    const lb = proxy.logs.find((l) => l.startsWith(`127.0.0.1:${b.localPort} `)) ?? "";
    assert.deepEqual(
      { queued: q, seen: srv.seen, tsc: lb.split(" ")[9] ?? "" },
      { queued: 0, seen: ["GET /slow"], tsc: "CQ--" },
      lb,
    );
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

// A response whose body stalls (sD) or is cut (SD) had its status sent to the
// client, but countStatus() is only called from endTxn() and #sendReply():
// the 2xx is missing from the fe/be/server counters while the log line says
// 200 (HAProxy counts txn->status at the end of every transaction). And the
// stall is not counted as a response error at all (countServerError() is
// called for SD, not for sD in #checkTimeouts).
Deno.test("counters: a 200 whose body stalls (sD) counts as a 2xx response and a response error", async () => {
  const srv = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    if ((await rd.readHead()) === null) return;
    await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"));
    await rd.readToEof().catch(() => {}); // then silent until the proxy closes
  });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 300ms",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/stall"));
    const got = await c.readUntilClosed(3000);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "sD--", log!.line);
    assert.equal(log!.status, 200, log!.line);
    assert.equal(log!.bytes, got.extra.length, `%B vs the wire: ${log!.line}`);
    const s = await stats(proxy);
    assert.deepEqual(
      {
        requests: fe(s).httpRequests,
        "2xx": classes(s, "2xx"),
        respErrors: `be=${be(s).respErrors} s1=${be(s).servers[0]!.respErrors}`,
      },
      { requests: 1, "2xx": "fe=1 be=1 s1=1", respErrors: "be=1 s1=1" },
    );
  } finally {
    c.close();
    await proxy.stop();
    await srv.close();
  }
});

// The queue fields of the log (%Tw from stream.tQueued, %sq/%bq from
// srvQueuePos/beQueuePos) belong to the stream, not to the transaction, and
// are never reset between the requests of a keep-alive connection: a
// follow-up request served at once is logged with the wait and the queue
// positions of an earlier request (stream.ts #log; endTxn /
// httpResetForNextRequest reset none of them).
Deno.test("keep-alive: a follow-up request served at once does not inherit Tw and queue positions of a queued one", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    const rb = b.request(get("/b1"), "GET", 3000);
    await sleep(300);
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    assert.equal((await rb).text, "srv /b1");
    await sleep(100);
    assert.equal((await b.request(get("/b2"), "GET", 3000)).text, "srv /b2");
    const [l1, l2] = await logsOf(proxy, b.localPort, 2);
    assert.ok(l1!.tw >= 250 && l1!.srvQueue === 1, `the first one queued: ${l1!.line}`);
    assert.deepEqual(
      { tw: l2!.tw < 100, srvQueue: l2!.srvQueue, beQueue: l2!.beQueue },
      { tw: true, srvQueue: 0, beQueue: 0 },
      l2!.line,
    );
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

// Same for %rc: stream.retries and stream.redispatched count the whole
// connection, so a request served over the kept connection without any
// retry is logged with the "+1" of the request before it.
Deno.test("keep-alive: a follow-up request without a retry does not inherit the retries of the previous one", async () => {
  const s2 = httpStub("s2");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, http-keep-alive: 5s",
    servers: [
      `name: s1, address: "127.0.0.1:${deadPort()}"`,
      `name: s2, address: "127.0.0.1:${s2.port}"`,
    ],
    backendExtra: "    retries: 1\n    option: [redispatch]",
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await c.request(get("/r1"), "GET", 3000)).text, "s2 GET /r1");
    assert.equal((await c.request(get("/r2"), "GET", 3000)).text, "s2 GET /r2");
    assert.equal(s2.conns.length, 1, "the second request reused the connection");
    const [l1, l2] = await logsOf(proxy, c.localPort, 2);
    assert.equal(`${l1!.redispatched} ${l1!.retries}`, "true 1", l1!.line);
    assert.equal(`${l2!.redispatched} ${l2!.retries} ${l2!.tc}`, "false 0 0", l2!.line);
  } finally {
    c.close();
    await proxy.stop();
    await s2.close();
  }
});

// The same event, a `timeout queue` expiry (sQ), is logged "be/<NOSRV>" for
// the first request of a connection but "be/s1" for a follow-up one:
// tConnStart and srv keep the values of the previous request (#log prints
// the server when tConnStart > 0), and countStatus() then counts the 503 in
// the server's 5xx although the server never answered.
Deno.test("keep-alive: a follow-up request that times out in the queue is logged <NOSRV>, like a first one", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 300ms, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await b.request(get("/b1"), "GET", 3000)).text, "srv /b1");
    await a.send(get("/slow")); // holds the only slot
    await sleep(150);
    const rb = await b.request(get("/b2"), "GET", 3000); // a follow-up: queued, then 503
    const rc = await c.request(get("/c1"), "GET", 3000); // a first request: the same
    assert.equal(`${rb.status} ${rc.status}`, "503 503");
    const [, lb] = await logsOf(proxy, b.localPort, 2);
    const [lc] = await logsOf(proxy, c.localPort);
    assert.equal(`${lc!.server} ${lc!.tsc}`, "<NOSRV> sQ--", lc!.line);
    assert.equal(`${lb!.server} ${lb!.tsc} ${lb!.tc}`, "<NOSRV> sQ-- -1", lb!.line);
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    const s1 = be(await stats(proxy)).servers[0]!;
    assert.equal(
      `2xx=${s1.httpResponses["2xx"]} 5xx=${s1.httpResponses["5xx"]}`,
      "2xx=2 5xx=0",
      "responses counted for s1",
    );
  } finally {
    srv.release();
    a.close();
    b.close();
    c.close();
    await proxy.stop();
    await srv.close();
  }
});

// ---------------------------------------------------------------------------
// Guards: risky paths that behave as documented today.

/** The value of one Prometheus sample (`name{labels}`), or null. */
async function metric(proxy: ProxyProcess, sample: string): Promise<number | null> {
  const c = await connectHttp(proxy.port("st"));
  try {
    const r = await c.request(get("/metrics", ["Connection: close"]), "GET", 3000);
    for (const l of r.text.split("\n")) {
      if (l.startsWith(sample + " ")) return Number(l.slice(sample.length + 1));
    }
    return null;
  } finally {
    c.close();
  }
}

Deno.test("guard: connect refused after every retry: 503 SC with the retries logged, Tc -1, %B on the wire, counters", async () => {
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s",
    servers: [`name: s1, address: "127.0.0.1:${deadPort()}"`],
    backendExtra: "    retries: 2",
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/x"));
    const head = await c.reader.readHead();
    assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 503"), "a 503");
    const rest = await c.reader.readToEof();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "SC--", log!.line);
    assert.equal(log!.status, 503, log!.line);
    assert.equal(`${log!.backend}/${log!.server}`, "be/s1", log!.line);
    assert.equal(log!.retries, 2, log!.line);
    assert.equal(log!.redispatched, false, log!.line);
    assert.equal(log!.tc, -1, log!.line);
    assert.equal(log!.tr, -1, log!.line);
    assert.equal(log!.bytes, head.length + rest.length, `%B vs the wire: ${log!.line}`);
    const s = await stats(proxy);
    assert.equal(fe(s).httpRequests, 1);
    assert.equal(`${fe(s).httpResponses["5xx"]} ${be(s).httpResponses["5xx"]}`, "1 1");
    assert.equal(be(s).retries, 2);
    assert.equal(be(s).servers[0]!.curSessions, 0, "the slot is given back");
    assert.equal(await metric(proxy, 'sluice_backend_retry_warnings_total{proxy="be"}'), 2);
    assert.equal(
      await metric(proxy, 'sluice_frontend_http_responses_total{proxy="fe",code="5xx"}'),
      1,
    );
  } finally {
    c.close();
    await proxy.stop();
  }
});

Deno.test("guard: a POST whose connect is refused is redispatched with its body, which reaches the other server once, intact", async () => {
  const s2 = httpStub("s2");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s",
    servers: [
      `name: s1, address: "127.0.0.1:${deadPort()}"`,
      `name: s2, address: "127.0.0.1:${s2.port}"`,
    ],
    backendExtra: "    retries: 1\n    option: [redispatch]",
  });
  const body = latin1(pattern(40_000));
  try {
    // Round robin starts with s1: the first request meets the refusal.
    const c = await connectHttp(proxy.port("fe"));
    try {
      const head = `POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`;
      await c.send(head + body.slice(0, 1000));
      await sleep(100); // the rest arrives while the proxy retries
      await c.send(body.slice(1000));
      const r = await c.readResponse("POST", 5000);
      assert.equal(`${r.status} ${r.text}`, "200 s2 POST /up");
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.tsc, "----", log!.line);
      assert.equal(`${log!.server} ${log!.redispatched} ${log!.retries}`, "s2 true 1", log!.line);
    } finally {
      c.close();
    }
    assert.equal(s2.requests.length, 1, "requests at s2");
    assert.equal(latin1(s2.requests[0]!.body), body, "the body at s2");
    const b = be(await stats(proxy));
    assert.equal(`${b.redispatches} ${b.servers[1]!.httpResponses["2xx"]}`, "1 1");
  } finally {
    await proxy.stop();
    await s2.close();
  }
});

Deno.test("guard: maxconn 1 with a keep-alive client: the slot is freed at the end of each response, the queued client proceeds", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s, http-keep-alive: 5s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    const rb = b.request(get("/b"), "GET", 3000);
    await sleep(200);
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    // a keeps its connection idle: b must not wait for it to close.
    assert.equal((await rb).text, "srv /b");
    assert.equal((await a.request(get("/a2"), "GET", 3000)).text, "srv /a2");
    const [lb] = await logsOf(proxy, b.localPort);
    assert.equal(lb!.tsc, "----", lb!.line);
    assert.equal(lb!.srvQueue, 1, lb!.line);
    assert.ok(lb!.tw >= 150, `Tw ${lb!.tw}: ${lb!.line}`);
    const s = be(await stats(proxy));
    assert.equal(`${s.servers[0]!.curSessions} ${s.queueCur}`, "0 0", "slots and queue after");
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

Deno.test("guard: a queued client that leaves (no abortonclose) leaks no slot and no queue entry", async () => {
  const srv = gatedServer();
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, queue: 3s",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}", maxconn: 1`],
  });
  const a = await connectHttp(proxy.port("fe"));
  const b = await connectHttp(proxy.port("fe"));
  try {
    await a.send(get("/slow"));
    await sleep(150);
    await b.send(get("/b"));
    await sleep(150);
    b.close();
    srv.release();
    assert.equal((await a.readResponse("GET", 3000)).text, "srv /slow");
    a.close();
    await logsOf(proxy, b.localPort);
    const c = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await c.request(get("/c"), "GET", 3000)).text, "srv /c");
    } finally {
      c.close();
    }
    await sleep(100);
    const s = be(await stats(proxy));
    assert.equal(`${s.servers[0]!.curSessions} ${s.queueCur}`, "0 0", "slots and queue after");
  } finally {
    srv.release();
    a.close();
    b.close();
    await proxy.stop();
    await srv.close();
  }
});

Deno.test("guard: timeout client (not http-request, not server) applies to an upload that trickles", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 400ms, server: 400ms, http-request: 300ms",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    const N = 10;
    await c.send(`POST /trickle HTTP/1.1\r\nHost: a\r\nContent-Length: ${N * 10}\r\n\r\n`);
    for (let i = 0; i < N; i++) {
      await sleep(150); // 1.5 s in all: longer than every timeout, no gap as long as one
      await c.send(`${i}`.repeat(10));
    }
    const r = await c.readResponse("POST", 3000);
    assert.equal(`${r.status} ${r.text}`, "200 s1 POST /trickle");
    assert.equal(s1.requests[0]!.body.length, N * 10);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----", log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("guard: 100-continue: the server timeout restarts with the body, then 504 sH after it; %B counts the interim response", async () => {
  let bodyAt = 0;
  const srv = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    const head = await rd.readHead();
    if (head === null) return;
    await sleep(200);
    await writeFull(conn, te.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    await rd.readN(10);
    bodyAt = performance.now();
    await rd.readToEof().catch(() => {}); // never answers
  });
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 400ms",
    servers: [`name: s1, address: "127.0.0.1:${srv.port}"`],
  });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(
      "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    const h1 = await c.reader.readHead();
    assert.ok(h1 !== null && latin1(h1).startsWith("HTTP/1.1 100"), "the interim response");
    await sleep(300); // < timeout server after the 100, > 400 ms since the request
    await c.send("0123456789");
    const h2 = await c.reader.readHead();
    const t = performance.now();
    assert.ok(h2 !== null && latin1(h2).startsWith("HTTP/1.1 504"), "a 504");
    const rest = await c.reader.readToEof();
    assert.ok(t - bodyAt >= 350, `504 ${Math.round(t - bodyAt)} ms after the body`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(`${log!.status} ${log!.tsc}`, "504 sH--", log!.line);
    assert.equal(log!.bytes, h1.length + h2.length + rest.length, `%B vs the wire: ${log!.line}`);
  } finally {
    c.close();
    await proxy.stop();
    await srv.close();
  }
});

Deno.test("guard: http-keep-alive closes an idle connection without a log line; http-request then times a slow follow-up head (408 cR)", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor({
    timeouts: "connect: 1s, client: 5s, server: 5s, http-request: 300ms, http-keep-alive: 600ms",
    servers: [`name: s1, address: "127.0.0.1:${s1.port}"`],
  });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await a.request(get("/a"), "GET", 3000)).text, "s1 GET /a");
      const t = performance.now();
      const end = await a.readUntilClosed(3000);
      const idle = performance.now() - t;
      assert.equal(`${end.end} ${end.extra.length}`, "eof 0");
      assert.ok(idle >= 500 && idle < 1500, `closed after ${Math.round(idle)} ms`);
      await sleep(100);
      assert.equal((await logsOf(proxy, a.localPort)).length, 1);
      assert.equal(proxy.logs.filter((l) => l.includes(`:${a.localPort} [`)).length, 1);
    } finally {
      a.close();
    }
    const b = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await b.request(get("/b"), "GET", 3000)).text, "s1 GET /b");
      await sleep(400); // idle, under http-keep-alive
      const t = performance.now();
      await b.send("GET /slow-head HTTP/1.1\r\nHost: a\r\n");
      const head = await b.reader.readHead();
      const waited = performance.now() - t;
      assert.ok(head !== null && latin1(head).startsWith("HTTP/1.1 408"), "a 408");
      const rest = await b.reader.readToEof();
      assert.ok(waited >= 250, `408 after ${Math.round(waited)} ms, before http-request`);
      const logs = await logsOf(proxy, b.localPort, 2);
      const l = logs[1]!;
      assert.equal(`${l.status} ${l.tsc}`, "408 cR--", l.line);
      assert.equal(l.bytes, head.length + rest.length, `%B vs the wire: ${l.line}`);
    } finally {
      b.close();
    }
  } finally {
    await proxy.stop();
    await s1.close();
  }
});
