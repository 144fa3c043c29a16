// Failed connects in HTTP mode: after every retry, a 503 logged SC with its
// retries and Tc -1, counted at the backend; a POST whose connect is
// refused is redispatched with its body.
//
// The reference is HAProxy: an inactivity timeout blames the side that is
// idle (never the side that waits because the proxy stopped reading for lack
// of room), the keep-alive timer starts once the response is out, %TR and
// %Ta start at the first byte of the request, %B is what reached the client,
// and the stats count what the log lines say.

import assert from "node:assert/strict";
import type { ProxyProcess } from "../../_helpers/proxy.ts";
import { connectHttp, get, httpStub, latin1, logsOf } from "./_http.ts";
import { delay as sleep } from "../../_helpers/client.ts";
import { deadPort } from "../../_helpers/servers.ts";
import { be, fe, pattern, proxyFor, stats } from "./_timeouts.ts";

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

Deno.test("connect refused after every retry: 503 SC with the retries logged, Tc -1, %B on the wire, counters", async () => {
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

Deno.test("a POST whose connect is refused is redispatched with its body, which reaches the other server once, intact", async () => {
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
