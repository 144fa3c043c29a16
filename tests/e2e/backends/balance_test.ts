// Load balancing seen from the outside: the real proxy (CLI) in front of
// origin servers that answer their own name. Each test counts which server
// answered each HTTP request (the `x-server` header the origin sets, and the
// `be/server` field of the proxy's log line) and asserts the documented
// distribution: exact weighted round robin shares, leastconn avoiding a busy
// server, hash algorithms keeping a key on one server (round robin when the
// key is absent), weight 0 getting nothing, and consistent hashing moving
// only the keys of a server put in maintenance.
//
// Every HTTP request is balanced on its own, keep-alive connections included,
// so several requests share connections here on purpose.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  closeAll,
  feBeConfig,
  fetchOnce,
  Gate,
  HttpConn,
  type NameServer,
  nameServers,
  parseHttpLog,
  type Response,
  serverLines,
  show,
  tally,
} from "./_common.ts";

function config(
  servers: NameServer[],
  backend: string,
  extra: (s: NameServer, i: number) => string = () => "",
  frontend = "",
): string {
  return feBeConfig({ frontend, backend, servers: serverLines(servers, extra) });
}

/** Sends `paths` one after the other on one keep-alive connection; returns the answering servers. */
async function onOneConn(
  port: number,
  paths: string[],
  headers: string[] = [],
): Promise<Response[]> {
  const c = await HttpConn.open(port);
  try {
    const out: Response[] = [];
    for (const p of paths) {
      const r = await c.get(p, headers);
      assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body}`);
      out.push(r);
    }
    return out;
  } finally {
    await c.close();
  }
}

/** Waits for `n` log lines of backend `be` and returns their server field. */
async function loggedServers(proxy: ProxyProcess, n: number): Promise<string[]> {
  const lines = await proxy.waitForLogs(/ fe be\//, n, 10_000);
  return lines.map((l) => {
    const log = parseHttpLog(l);
    assert.equal(log.status, 200, log.line);
    return log.server;
  });
}

Deno.test("balance roundrobin: weights 1:2:3 over 600 requests give exactly 100/200/300, interleaved", async () => {
  const servers = nameServers(3);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(
      config(servers, "    balance: roundrobin", (_s, i) => `weight: ${i + 1}`),
    );
    const port = proxy.port("fe");
    // 60 sequential requests on one connection: the order of picks is visible.
    const seq = (await onOneConn(port, Array.from({ length: 60 }, (_, i) => `/seq/${i}`)))
      .map((r) => r.server);
    for (let i = 0; i + 2 < seq.length; i++) {
      assert.ok(
        !(seq[i] === seq[i + 1] && seq[i] === seq[i + 2]),
        `three picks in a row of ${seq[i]} at ${i} (weights must interleave): ${seq.join(" ")}`,
      );
    }
    for (let w = 0; w + 6 <= seq.length; w++) {
      const t = tally(seq.slice(w, w + 6));
      assert.equal(
        show(t),
        show(new Map([["s1", 1], ["s2", 2], ["s3", 3]])),
        `window of 6 picks at ${w}: ${seq.slice(w, w + 6).join(" ")}`,
      );
    }
    // 540 more over 3 keep-alive connections at once.
    const par = await Promise.all(
      [0, 1, 2].map((c) =>
        onOneConn(port, Array.from({ length: 180 }, (_, i) => `/par/${c}/${i}`))
      ),
    );
    const all = [...seq, ...par.flat().map((r) => r.server)];
    const want = show(new Map([["s1", 100], ["s2", 200], ["s3", 300]]));
    assert.equal(show(tally(all)), want, "answers by server");
    assert.equal(
      show(new Map(servers.map((s) => [s.name, s.served]))),
      want,
      "requests received by each server",
    );
    assert.equal(show(tally(await loggedServers(proxy, 600))), want, "log lines by server");
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("balance leastconn: requests go to the idle server while the other holds one; ties rotate", async () => {
  const gate = new Gate();
  const servers = nameServers(2, "s", () => ({
    hold: (req) => (req.path.startsWith("/slow") ? gate.wait() : undefined),
  }));
  let proxy: ProxyProcess | undefined;
  let slow: Promise<Response> | undefined;
  try {
    proxy = await startProxy(config(servers, "    balance: leastconn"));
    const port = proxy.port("fe");
    slow = fetchOnce(port, "/slow", [], 15_000);
    // Which server holds it is the balancer's choice; wait until one does.
    await Promise.race(servers.map((s) => s.waitInflight(1)));
    const busy = servers.find((s) => s.inflight === 1)!;
    const idle = servers.find((s) => s !== busy)!;

    const during: string[] = [];
    for (let i = 0; i < 20; i++) during.push(String((await fetchOnce(port, `/fast/${i}`)).server));
    assert.equal(
      show(tally(during)),
      show(new Map([[idle.name, 20]])),
      `while ${busy.name} holds a request, leastconn must send everything to ${idle.name}`,
    );

    gate.open();
    const held = await slow;
    slow = undefined;
    assert.equal(held.status, 200);
    assert.equal(held.server, busy.name);
    await busy.changed.until(
      () => (busy.inflight === 0 ? true : undefined),
      5_000,
      () => "release",
    );

    const after: string[] = [];
    for (let i = 0; i < 20; i++) after.push(String((await fetchOnce(port, `/after/${i}`)).server));
    assert.equal(
      show(tally(after)),
      show(new Map([["s1", 10], ["s2", 10]])),
      `equally loaded servers must alternate: ${after.join(" ")}`,
    );
  } finally {
    gate.open();
    await slow?.catch(() => {});
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("balance source: each client address stays on one server over 50 requests (keep-alive and new connections)", async () => {
  const servers = nameServers(3);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(servers, "    balance: source"));
    const port = proxy.port("fe");
    const sources = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];
    const owner = new Map<string, string>();
    for (const src of sources) {
      const got: string[] = [];
      // 25 requests on one keep-alive connection...
      const c = await HttpConn.open(port, src);
      try {
        for (let i = 0; i < 25; i++) {
          const r = await c.get(`/ka/${i}`);
          assert.equal(r.status, 200);
          got.push(String(r.server));
        }
      } finally {
        await c.close();
      }
      // ...and 25 on a new connection each.
      for (let i = 0; i < 25; i++) {
        const n = await HttpConn.open(port, src);
        try {
          const r = await n.get(`/new/${i}`, ["connection: close"]);
          assert.equal(r.status, 200);
          got.push(String(r.server));
        } finally {
          await n.close();
        }
      }
      const t = tally(got);
      assert.equal(t.size, 1, `source ${src} was spread: ${show(t)}`);
      owner.set(src, got[0]!);
    }
    // The key is the address: different clients do not all land on one server.
    assert.ok(
      new Set(owner.values()).size >= 2,
      `6 source addresses all hashed to one server: ${JSON.stringify([...owner])}`,
    );
    // The log names the client address and the server each request went to.
    const logs = (await proxy.waitForLogs(/ fe be\//, 300, 10_000)).map(parseHttpLog);
    for (const log of logs) {
      assert.equal(log.server, owner.get(log.clientIp), `log line of ${log.clientIp}: ${log.line}`);
    }
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

/**
 * Requests every key `rounds` times, on three connections in turn (two
 * keep-alive ones, and a new one per request), and returns the server of each
 * key after checking it never changed. Use a key count not divisible by 7.
 */
async function stickiness(
  port: number,
  keys: string[],
  request: (key: string, round: number) => { path: string; headers: string[] },
  rounds = 3,
): Promise<Map<string, string>> {
  const a = await HttpConn.open(port);
  const b = await HttpConn.open(port);
  const owner = new Map<string, string>();
  try {
    for (let round = 0; round < rounds; round++) {
      // A different order each round (forward, backward, stride 7), so that a
      // plain rotation cannot give a key the same server by coincidence.
      const order = round % 3 === 0
        ? keys
        : round % 3 === 1
        ? [...keys].reverse()
        : keys.map((_, i) => keys[(i * 7) % keys.length]!);
      for (const [i, key] of order.entries()) {
        const { path, headers } = request(key, round);
        const which = (i + round) % 3;
        const r = which === 0
          ? await a.get(path, headers)
          : which === 1
          ? await b.get(path, headers)
          : await fetchOnce(port, path, headers);
        assert.equal(r.status, 200, `${path}: ${r.status}`);
        const prev = owner.get(key);
        if (prev === undefined) owner.set(key, String(r.server));
        else {
          assert.equal(r.server, prev, `key ${key} moved (round ${round}, ${path} ${headers})`);
        }
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
  assert.ok(
    new Set(owner.values()).size >= 2,
    `${keys.length} keys all hashed to one server: ${show(tally(owner.values()))}`,
  );
  return owner;
}

/** `n` requests without the hash key, sequentially on one connection: round robin, exactly even. */
async function assertRoundRobinWithoutKey(
  port: number,
  servers: NameServer[],
  path: (i: number) => string,
): Promise<void> {
  const n = servers.length * 10;
  const got = (await onOneConn(port, Array.from({ length: n }, (_, i) => path(i))))
    .map((r) => r.server);
  assert.equal(
    show(tally(got)),
    show(new Map(servers.map((s) => [s.name, 10]))),
    `requests without a key must be balanced round robin: ${got.join(" ")}`,
  );
}

Deno.test("balance uri: one path stays on one server whatever the query string and connection", async () => {
  const servers = nameServers(3);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(servers, "    balance: uri"));
    const keys = Array.from({ length: 31 }, (_, i) => `/item/${i}/page`);
    await stickiness(proxy.port("fe"), keys, (k, round) => ({
      path: `${k}?round=${round}&t=${Math.random()}`,
      headers: [`x-round: ${round}`],
    }));
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("balance url_param: one parameter value stays on one server; without it, round robin", async () => {
  const servers = nameServers(3);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(servers, "    balance: url_param user"));
    const port = proxy.port("fe");
    const users = Array.from({ length: 31 }, (_, i) => `user${i}`);
    const shapes = [
      (u: string) => `/a?user=${u}`,
      (u: string) => `/b/c?x=1&user=${u}&y=2`,
      (u: string) => `/?user=${u}&user=other`,
    ];
    await stickiness(port, users, (u, round) => ({ path: shapes[round]!(u), headers: [] }));
    await assertRoundRobinWithoutKey(port, servers, (i) => `/nokey/${i}?usr=${i}&x=user`);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("balance hdr(X-User): one header value stays on one server; without the header, round robin", async () => {
  const servers = nameServers(3);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(servers, '    balance: "hdr(X-User)"'));
    const port = proxy.port("fe");
    const users = Array.from({ length: 31 }, (_, i) => `client-${i}`);
    await stickiness(port, users, (u, round) => ({
      path: `/p/${round}/${u.length}?r=${round}`,
      headers: [round === 1 ? `x-user: ${u}` : `X-User: ${u}`],
    }));
    await assertRoundRobinWithoutKey(port, servers, (i) => `/nohdr/${i}`);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("balance: a server with weight 0 gets no request", async () => {
  const servers = nameServers(3);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(
      config(servers, "    balance: roundrobin", (s) => (s.name === "s2" ? "weight: 0" : "")),
    );
    const port = proxy.port("fe");
    const got = (await onOneConn(port, Array.from({ length: 40 }, (_, i) => `/w/${i}`)))
      .map((r) => r.server);
    for (let i = 0; i < 20; i++) got.push((await fetchOnce(port, `/w/new/${i}`)).server);
    assert.equal(show(tally(got)), show(new Map([["s1", 30], ["s3", 30]])));
    assert.equal(servers[1]!.served, 0, "s2 (weight 0) received requests");
    assert.equal(servers[1]!.accepted, 0, "s2 (weight 0) was even connected to");
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("balance uri + hash-type consistent: a server in maintenance moves only its own keys (≤ 1.3/5), and gets them back", async () => {
  const servers = nameServers(5);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(
      config(
        servers,
        "    balance: uri\n    hash-type: consistent",
        () => "",
        '    stats: { uri: /stats, auth: "admin:secret", admin: true }',
      ),
    );
    const port = proxy.port("fe");
    const keys = Array.from({ length: 500 }, (_, i) => `/obj/${i.toString(36)}-${i * 7919}`);
    const mapAll = async (): Promise<string[]> => {
      const parts = await Promise.all(
        [0, 1, 2, 3].map((c) => onOneConn(port, keys.filter((_, i) => i % 4 === c))),
      );
      const out = new Array<string>(keys.length);
      for (let c = 0; c < 4; c++) {
        parts[c]!.forEach((r, j) => (out[j * 4 + c] = String(r.server)));
      }
      return out;
    };
    const before = await mapAll();
    const share = tally(before);
    assert.equal(share.size, 5, `500 keys do not reach all 5 servers: ${show(share)}`);

    const victim = "s3";
    const r = await adminPost(port, `be/${victim}`, "maint", { auth: "admin:secret" });
    assert.equal(r.status, 200, r.body);
    await proxy.waitForStderr(/Server be\/s3 is going DOWN for maintenance/);

    const during = await mapAll();
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === victim) {
        assert.notEqual(during[i], victim, `${keys[i]} still on ${victim} in maintenance`);
      }
      if (during[i] !== before[i]) {
        moved++;
        assert.equal(
          before[i],
          victim,
          `${keys[i]} moved from ${before[i]} to ${during[i]} though ${before[i]} stayed up`,
        );
      }
    }
    assert.equal(moved, share.get(victim), "every key of the removed server moved, no other");
    assert.ok(moved <= (1.3 / 5) * keys.length, `${moved} of 500 keys moved (limit 130)`);

    const back = await adminPost(port, `be/${victim}`, "ready", { auth: "admin:secret" });
    assert.equal(back.status, 200, back.body);
    await proxy.waitForStderr(/Server be\/s3 is UP \(leaving forced maintenance\)/);
    const after = await mapAll();
    const differ = keys.filter((_, i) => after[i] !== before[i]);
    assert.deepEqual(differ, [], "keys not restored to their server after `ready`");
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});
