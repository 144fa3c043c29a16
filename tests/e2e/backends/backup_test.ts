// Backup servers seen from the outside: they take no traffic while an active
// server is up; when every active server is down, the first backup takes all
// of it (or every backup, balanced, with `option allbackups`); when an active
// server comes back, traffic returns to it.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  closeAll,
  feBeConfig,
  fetchOnce,
  NameServer,
  serverLines,
  show,
  tally,
} from "./_common.ts";

function config(
  actives: NameServer[],
  backups: NameServer[],
  backend: string,
  frontend = "",
): string {
  return feBeConfig({
    frontend,
    backend: `
    balance: roundrobin
    retries: 1
    option: [redispatch${backend}]`,
    servers: `${serverLines(actives, () => "check: true, inter: 100ms, fall: 2, rise: 2")}
${serverLines(backups, () => "backup: true, check: true, inter: 100ms, fall: 2, rise: 2")}`,
  });
}

/** `n` requests on new connections; returns the answering servers, tallied. */
async function spread(port: number, n: number, tag: string): Promise<string> {
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetchOnce(port, `/${tag}/${i}`);
    assert.equal(r.status, 200, `${tag} ${i}: ${r.status} ${r.body}`);
    got.push(String(r.server));
  }
  return show(tally(got));
}

function counts(entries: Array<[string, number]>): string {
  return show(new Map(entries));
}

Deno.test("backup: backups idle while actives are up; the first backup takes over when all actives are DOWN; actives take back", async () => {
  const actives = [new NameServer("a1"), new NameServer("a2")];
  const backups = [new NameServer("b1"), new NameServer("b2")];
  const [a1, a2] = actives as [NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(actives, backups, ""));
    const port = proxy.port("fe");
    // Let every server pass a first (connect) check: checks start spread over 1 s.
    await Promise.all(
      [...actives, ...backups].map((s) =>
        s.changed.until(
          () => (s.accepted > 0 ? true : undefined),
          3_000,
          () => `${s.name} check`,
        )
      ),
    );

    assert.equal(await spread(port, 20, "all-up"), counts([["a1", 10], ["a2", 10]]));

    await a1.stop();
    assert.match(
      await proxy.waitForStderr(/Server be\/a1 is DOWN/, 3_000),
      /Server be\/a1 is DOWN, reason: Layer4 connection problem, .*\. 1 active and 2 backup servers left\. /,
    );
    assert.equal(await spread(port, 20, "one-down"), counts([["a2", 20]]));

    await a2.stop();
    assert.match(
      await proxy.waitForStderr(/Server be\/a2 is DOWN/, 3_000),
      /Server be\/a2 is DOWN, reason: .*\. 0 active and 2 backup servers left\. Running on backup\. /,
    );
    assert.equal(
      await spread(port, 20, "all-down"),
      counts([["b1", 20]]),
      "without allbackups only the first backup takes traffic",
    );
    assert.equal(backups[1]!.served, 0, "b2 received traffic");

    a1.restart();
    assert.match(
      await proxy.waitForStderr(/Server be\/a1 is UP/, 3_000),
      /Server be\/a1 is UP, reason: Layer4 check passed, .*\. 1 active and 2 backup servers online\./,
    );
    const b1Before = backups[0]!.served;
    assert.equal(await spread(port, 20, "back"), counts([["a1", 20]]));
    assert.equal(backups[0]!.served, b1Before, "b1 still received traffic after a1 came back");
  } finally {
    await proxy?.stop();
    await closeAll([...actives, ...backups]);
  }
});

Deno.test("backup: with option allbackups, traffic is spread over every backup once the actives are in maintenance", async () => {
  const actives = [new NameServer("a1"), new NameServer("a2")];
  const backups = [new NameServer("b1"), new NameServer("b2"), new NameServer("b3")];
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(
      config(actives, backups, ", allbackups", "    stats: { uri: /stats, admin: true }"),
    );
    const port = proxy.port("fe");
    assert.equal(await spread(port, 20, "all-up"), counts([["a1", 10], ["a2", 10]]));

    for (const a of ["a1", "a2"]) {
      const r = await adminPost(port, `be/${a}`, "maint");
      assert.equal(r.status, 200, r.body);
    }
    await proxy.waitForStderr(/Server be\/a1 is going DOWN for maintenance/);
    assert.match(
      await proxy.waitForStderr(/Server be\/a2 is going DOWN for maintenance/),
      /is going DOWN for maintenance\. 0 active and 3 backup servers left\. Running on backup\./,
    );
    assert.equal(
      await spread(port, 30, "backups"),
      counts([["b1", 10], ["b2", 10], ["b3", 10]]),
      "allbackups must balance over every backup",
    );
    assert.equal(actives[0]!.served + actives[1]!.served, 20, "an active in MAINT got traffic");

    const r = await adminPost(port, "be/a2", "ready");
    assert.equal(r.status, 200, r.body);
    assert.equal(await spread(port, 10, "a2-back"), counts([["a2", 10]]));
  } finally {
    await proxy?.stop();
    await closeAll([...actives, ...backups]);
  }
});
