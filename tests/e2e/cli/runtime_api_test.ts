// The runtime API through a real unix socket (and a loopback TCP address):
// every command, as a script or a user with socat drives it, and what a user
// notices afterwards: the answers, the traffic the servers get, the stats.

import assert from "node:assert/strict";
import { withDeadline } from "../../_helpers/client.ts";
import { deadPort, echoServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  closeAll,
  feBeConfig,
  fetchOnce,
  type NameServer,
  nameServers,
  serverLines,
  statsJson,
  tally,
} from "../backends/_common.ts";
import { tcpConfig } from "../tcp/_common.ts";
import { cli, infoMap, parseCsv, row, serversState, socat, tempSocket } from "./_cli.ts";

/** The `global:` head with a stats socket at `sock` (YAML flow map lines). */
function withSocket(yaml: string, sock: string, level = "admin", more = ""): string {
  return yaml.replace(
    "global: { log: stdout }",
    `global:\n  log: stdout\n  maxconn: 500\n  stats: { socket: "${sock}", mode: 600, level: ${level}${more} }`,
  );
}

/** The proxy a test runs: `n` name servers (`fe` picks the frontend/backend options from them), an admin socket. */
interface ApiSetup {
  n: number;
  fe: (servers: NameServer[]) => Parameters<typeof feBeConfig>[0];
  level?: string;
  /** More keys of the socket's flow map, after a comma. */
  more?: string;
}

/**
 * Starts Sluice on feBeConfig() with a stats socket in a fresh directory,
 * runs `body` with the proxy, the servers and the socket's path, then stops
 * the proxy, closes the servers and removes the directory.
 */
async function withApi(
  setup: ApiSetup,
  body: (proxy: ProxyProcess, servers: NameServer[], s: string) => Promise<void>,
): Promise<void> {
  const servers = nameServers(setup.n);
  const sock = await tempSocket();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(
      withSocket(feBeConfig(setup.fe(servers)), sock.path, setup.level, setup.more),
    );
    await body(proxy, servers, sock.path);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
    await sock.cleanup();
  }
}

/** Reads `c` until the text seen contains `what` (a response body). */
async function readUntil(c: Deno.Conn, what: string): Promise<void> {
  const buf = new Uint8Array(4096);
  let seen = "";
  await withDeadline(
    async () => {
      while (!seen.includes(what)) {
        const n = await c.read(buf);
        if (n === null) throw new Error(`EOF before "${what}"`);
        seen += new TextDecoder().decode(buf.subarray(0, n));
      }
    },
    10_000,
    `"${what}" from the proxy`,
  );
}

/** True once `c` reads end of stream (or a reset), within a deadline. */
async function readEof(c: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(4096);
  return await withDeadline(
    async () => {
      for (;;) {
        try {
          if (await c.read(buf) === null) return true;
        } catch {
          return true;
        }
      }
    },
    10_000,
    "the proxy to close a killed session",
  );
}

/** Which servers answer `n` requests, each on a new connection. */
async function spread(port: number, n: number): Promise<Map<string, number>> {
  const names: (string | null)[] = [];
  for (let i = 0; i < n; i++) names.push((await fetchOnce(port, `/spread${i}`)).server);
  return tally(names);
}

Deno.test("runtime API: show commands answer in HAProxy's formats over a unix socket", async (t) => {
  await withApi({
    n: 2,
    fe: (sv) => ({
      servers: serverLines(sv, (_s, i) => (i === 0 ? "check: true, inter: 200ms" : "")),
      backend: '    option: ["httpchk GET /health"]',
    }),
  }, async (proxy, servers, s) => {
    const port = proxy.port("fe");
    assert.equal((await fetchOnce(port, "/warm")).status, 200);
    const mode = (await Deno.stat(s)).mode! & 0o777;
    assert.equal(mode, 0o600, "the socket file has the configured mode");

    await t.step("show info: HAProxy's keys, live values", async () => {
      const out = await cli(s, "show info");
      const m = infoMap(out);
      assert.equal(m.get("Name"), "Sluice");
      assert.equal(m.get("Pid"), String(proxy!.pid));
      assert.equal(m.get("Maxconn"), "500");
      assert.equal(m.get("CumReq"), "1");
      assert.ok(Number(m.get("CumConns")) >= 1);
      assert.match(m.get("Uptime")!, /^\d+d \d+h\d\dm\d\ds$/);
      assert.ok(m.has("DroppedLogs"));
      assert.ok(out.endsWith("\n\n"), "the answer ends with the empty line");
      const typed = await cli(s, "show info typed");
      assert.match(typed, /^0\.Name\.1:POS:str:Sluice\n1\.Version\.1:POS:str:/);
      const json = JSON.parse(await cli(s, "show info json"));
      assert.deepEqual(json[15], {
        field: { pos: 15, name: "Maxconn" },
        processNum: 1,
        tags: { origin: "Config", nature: "Limit", scope: "Process" },
        value: { type: "u32", value: 500 },
      });
    });

    await t.step("show stat: the CSV, typed and json", async () => {
      const csv = parseCsv(await cli(s, "show stat"));
      assert.deepEqual(csv.header.slice(0, 4), ["pxname", "svname", "qcur", "qmax"]);
      assert.equal(row(csv, "fe", "FRONTEND").get("req_tot"), "1");
      assert.equal(row(csv, "be", "s2").get("status"), "UP");
      assert.equal(row(csv, "be", "BACKEND").get("algo"), "roundrobin");
      const typed = await cli(s, "show stat typed");
      assert.match(typed, /^F\.1\.0\.0\.pxname\.1:KNS:str:fe$/m);
      assert.match(typed, /^S\.2\.2\.1\.svname\.1:KNS:str:s2$/m);
      assert.match(typed, /^B\.2\.0\.76\.algo\.1:CGS:str:roundrobin$/m);
      const json = JSON.parse(await cli(s, "show stat json"));
      assert.equal(json.length, 4, "one array per frontend, server and backend");
      assert.deepEqual(Object.keys(json[0][0]), [
        "objType",
        "proxyId",
        "id",
        "field",
        "processNum",
        "tags",
        "value",
      ]);
      assert.equal(json[3][0].objType, "Backend");
    });

    await t.step("show servers state, show backend, show pools, show version", async () => {
      const st = serversState(await cli(s, "show servers state"));
      assert.equal(st.length, 2);
      assert.equal(st[0]!.get("srv_name"), "s1");
      assert.equal(st[0]!.get("srv_port"), String(servers[0]!.port));
      assert.equal(st[0]!.get("srv_op_state"), "2");
      assert.equal(st[0]!.get("srv_check_state"), "6", "checks configured and enabled");
      assert.equal(st[1]!.get("srv_check_state"), "0", "no check");
      assert.equal(serversState(await cli(s, "show servers state be")).length, 2);
      assert.equal(await cli(s, "show servers state nope"), "Can't find backend.\n\n");
      assert.equal(await cli(s, "show backend"), "# name\nbe\n\n");
      const pools = await cli(s, "show pools");
      assert.match(
        pools,
        /^ {2}- Pool buffer \(16384 bytes\) : \d+ allocated \(\d+ bytes\), \d+ used/m,
      );
      assert.match(pools, /^Total: 3 pools, \d+ bytes allocated, \d+ used/m);
      assert.match(await cli(s, "show version"), /^\d+\.\d+\.\d+\n\n$/);
    });

    await t.step("several commands per line, prompt mode, help, quit, socat", async () => {
      assert.equal(
        await cli(s, "show backend;show cli level"),
        "# name\nbe\n\nadmin\n\n",
      );
      assert.equal(
        await cli(s, "prompt\nshow backend\nquit\n"),
        "\n> # name\nbe\n\n> ",
      );
      const help = await cli(s, "help");
      assert.match(help, /^The following commands are valid at this level:\n/);
      assert.match(help, /^ {2}set server <bk>\/<srv> \[opts\] {12}: change a server's/m);
      assert.match(await cli(s, "frobnicate"), /^Unknown command\. Please enter one/);
      const viaSocat = await socat(s, "show info");
      assert.match(viaSocat, /^Name: Sluice\nVersion: /);
    });

    await t.step(
      "show errors: the last refused request, where the parser stopped, the bytes",
      async () => {
        assert.match(
          await cli(s, "show errors"),
          /^Total events captured on \[.*\] : 0\n\n$/,
        );
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        await c.write(new TextEncoder().encode("GET /a\x01b HTTP/1.1\r\nhost: x\r\n\r\n"));
        const buf = new Uint8Array(1024);
        const n = await c.read(buf);
        c.close();
        assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 400 /);
        const out = await cli(s, "show errors");
        const lines = out.split("\n");
        assert.match(lines[0]!, /^Total events captured on \[.*\] : 1$/);
        assert.equal(lines[1], " ");
        assert.match(
          lines[2]!,
          /^\[\d\d\/\w{3}\/\d{4}:[\d:.]+\] frontend fe \(#1\): invalid request$/,
        );
        assert.match(
          lines[3]!,
          /^ {2}backend <NONE> \(#-1\), server <NONE> \(#-1\), event #0, src 127\.0\.0\.1:\d+$/,
        );
        assert.equal(lines[5], "  len 30, wraps at 16384, error at position 6");
        assert.ok(
          out.includes(
            "  00000  GET /a\\x01b HTTP/1.1\\r\\n\n  00019  host: x\\r\\n\n  00028  \\r\\n\n",
          ),
          out,
        );
        assert.match(
          await cli(s, "show errors fe response"),
          /: 1\n\n$/,
          "no response error kept",
        );
      },
    );

    await t.step("reload: the unchanged file reloads, or the process says it cannot", async () => {
      // Without an in-process reload (src/proxy/reload.ts) the answer says so;
      // with one, reloading the same file succeeds and the API keeps answering.
      const out = await cli(s, "reload");
      if (out !== "reload not available\n\n") {
        assert.match(out, /Success=1\n\n$/);
        assert.equal(await cli(s, "show backend"), "# name\nbe\n\n");
      }
    });
  });
});

Deno.test("runtime API: set server state, weight, addr and health change the traffic", async (t) => {
  // s3 is not in the configuration: `set server addr` points s2 at it.
  await withApi(
    { n: 3, fe: (sv) => ({ servers: serverLines(sv.slice(0, 2)) }) },
    async (proxy, servers, s) => {
      const port = proxy.port("fe");

      await t.step("drain / maint / ready", async () => {
        assert.equal(await cli(s, "set server be/s2 state drain"), "\n");
        assert.deepEqual([...(await spread(port, 4)).keys()], ["s1"]);
        assert.equal(
          serversState(await cli(s, "show servers state be"))[1]!.get("srv_admin_state"),
          "8",
        );
        assert.equal(await cli(s, "set server be/s2 state maint"), "\n");
        assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s2").get("status"), "MAINT");
        assert.equal(await cli(s, "set server be/s2 state ready"), "\n");
        assert.equal((await spread(port, 4)).get("s2"), 2);
        assert.equal(
          await cli(s, "set server be/s2 state sleepy"),
          "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n",
        );
        assert.equal(await cli(s, "set server be/nope state ready"), "No such server.\n\n");
        assert.equal(await cli(s, "set server nope/s1 state ready"), "No such backend.\n\n");
        assert.equal(await cli(s, "disable server be/s1"), "\n");
        assert.deepEqual([...(await spread(port, 2)).keys()], ["s2"]);
        assert.equal(await cli(s, "enable server be/s1"), "\n");
      });

      await t.step("weight N and N%", async () => {
        assert.equal(await cli(s, "set server be/s1 weight 3"), "\n");
        assert.deepEqual(Object.fromEntries(await spread(port, 8)), { s1: 6, s2: 2 });
        assert.equal(await cli(s, "set server be/s1 weight 0%"), "\n");
        assert.deepEqual([...(await spread(port, 3)).keys()], ["s2"]);
        assert.equal(
          await cli(s, "set server be/s1 weight 300"),
          "Absolute weight can only be between 0 and 256 inclusive.\n\n",
        );
        assert.equal(await cli(s, "set server be/s1 weight 100%"), "\n");
        assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("weight"), "1");
      });

      await t.step("addr IP port P", async () => {
        const p3 = servers[2]!.port;
        assert.equal(
          await cli(s, `set server be/s2 addr 127.0.0.1 port ${p3}`),
          `no need to change the addr, port changed from '${
            servers[1]!.port
          }' to '${p3}' by 'stats socket command'\n\n`,
        );
        const got = await spread(port, 4);
        assert.deepEqual(Object.fromEntries(got), { s1: 2, s3: 2 }, "s2's traffic now reaches s3");
        assert.equal(
          await cli(s, "set server be/s2 addr not-an-ip"),
          "Invalid addr 'not-an-ip' by 'stats socket command'\n\n",
        );
        assert.equal(
          serversState(await cli(s, "show servers state"))[1]!.get("srv_port"),
          String(p3),
        );
      });

      await t.step("health down / stopping / up", async () => {
        assert.equal(await cli(s, "set server be/s1 health down"), "\n");
        assert.deepEqual([...(await spread(port, 3)).keys()], ["s3"]);
        assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("status"), "DOWN");
        assert.equal(await cli(s, "set server be/s1 health stopping"), "\n");
        assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("status"), "NOLB");
        assert.deepEqual([...(await spread(port, 3)).keys()], ["s3"]);
        assert.equal(serversState(await cli(s, "show servers state"))[0]!.get("srv_op_state"), "3");
        assert.equal(await cli(s, "set server be/s1 health up"), "\n");
        assert.equal((await spread(port, 4)).get("s1"), 2);
        assert.equal(
          await cli(s, "set server be/s1 health meh"),
          "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n",
        );
      });
    },
  );
});

Deno.test("runtime API: the stats page's admin form and set server share one implementation", async () => {
  await withApi({
    n: 2,
    fe: (sv) => ({
      servers: serverLines(sv),
      frontend: "    stats: { uri: /stats, admin: true }",
    }),
  }, async (proxy, _servers, s) => {
    const port = proxy.port("fe");
    assert.equal(await cli(s, "set server be/s2 state maint"), "\n");
    const r = await adminPost(port, "be/s2", "drain");
    assert.equal(r.status, 200);
    const snap = await statsJson(port);
    assert.equal(snap.backends[0]!.servers[1]!.status, "DRAIN");
    assert.equal(
      serversState(await cli(s, "show servers state"))[1]!.get("srv_admin_state"),
      "8",
    );
  });
});

Deno.test("runtime API: maxconn, sessions, counters, dynamic servers", async (t) => {
  await withApi(
    { n: 2, fe: (sv) => ({ servers: serverLines(sv.slice(0, 1)) }) },
    async (proxy, servers, s) => {
      const port = proxy.port("fe");
      const held: Deno.Conn[] = [];
      try {
        await t.step("set maxconn frontend / server / global", async () => {
          assert.equal(await cli(s, "set maxconn frontend fe 7"), "\n");
          assert.equal(row(parseCsv(await cli(s, "show stat")), "fe", "FRONTEND").get("slim"), "7");
          assert.equal(await cli(s, "set maxconn frontend nope 7"), "No such frontend.\n\n");
          assert.equal(await cli(s, "set maxconn server be/s1 9"), "\n");
          assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("slim"), "9");
          assert.equal(await cli(s, "set maxconn global 100"), "\n");
          assert.equal(infoMap(await cli(s, "show info")).get("Maxconn"), "100");
          assert.equal(await cli(s, "set maxconn global 501"), "Value out of range.\n\n");
        });

        await t.step("show sess, shutdown session, shutdown sessions server", async () => {
          for (let i = 0; i < 3; i++) {
            const c = await Deno.connect({ hostname: "127.0.0.1", port });
            held.push(c);
            await c.write(new TextEncoder().encode(`GET /held${i} HTTP/1.1\r\nhost: x\r\n\r\n`));
            await readUntil(c, "s1"); // keep-alive: the session stays
          }
          const sess = (await cli(s, "show sess")).split("\n").filter((l) => l.startsWith("0x"));
          assert.equal(sess.length, 3);
          assert.match(
            sess[0]!,
            /^0x[0-9a-f]+: proto=tcpv4 src=127\.0\.0\.1:\d+ fe=fe be=be srv=s1 age=\d+s$/,
          );
          // Kill the session of held[1], found by its source port.
          const mine = `src=127.0.0.1:${(held[1]!.localAddr as Deno.NetAddr).port} `;
          const line = sess.find((l) => l.includes(mine))!;
          const id = line.slice(0, line.indexOf(":"));
          assert.equal(await cli(s, `shutdown session ${id}`), "\n");
          assert.equal(await readEof(held[1]!), true, "the killed session's client sees the close");
          assert.equal(
            await cli(s, "shutdown session 0xfffff"),
            "No such session (use 'show sess').\n\n",
          );
          const left = (await cli(s, "show sess")).split("\n").filter((l) => l.startsWith("0x"));
          assert.equal(left.length, 2);
          assert.ok(left.every((l) => !l.startsWith(id + ":")));
          assert.equal(await cli(s, "shutdown sessions server be/s1"), "\n");
          assert.equal(await readEof(held[0]!), true);
          assert.equal(await readEof(held[2]!), true);
          const none = (await cli(s, "show sess")).split("\n").filter((l) => l.startsWith("0x"));
          assert.deepEqual(none, []);
        });

        await t.step("clear counters (max only), clear counters all", async () => {
          let fe = row(parseCsv(await cli(s, "show stat")), "fe", "FRONTEND");
          assert.ok(Number(fe.get("stot")) >= 2 && Number(fe.get("smax")) >= 2);
          assert.equal(await cli(s, "clear counters"), "\n");
          fe = row(parseCsv(await cli(s, "show stat")), "fe", "FRONTEND");
          assert.equal(fe.get("smax"), "0");
          assert.ok(Number(fe.get("stot")) >= 2, "totals survive a plain clear");
          assert.equal(await cli(s, "clear counters all"), "\n");
          fe = row(parseCsv(await cli(s, "show stat")), "fe", "FRONTEND");
          assert.equal(fe.get("stot"), "0");
        });

        await t.step("add server, then ready, then del server", async () => {
          const p2 = servers[1]!.port;
          assert.equal(
            await cli(s, `add server be/s2 127.0.0.1:${p2} weight 1`),
            "New server registered.\n\n",
          );
          assert.equal(
            await cli(s, `add server be/s2 127.0.0.1:${p2}`),
            "Already exists a server with the same name in backend.\n\n",
          );
          assert.match(
            await cli(s, `add server be/s3 127.0.0.1:${p2} wieght 2`),
            /^unknown keyword 'wieght'/,
          );
          assert.deepEqual(
            [...(await spread(port, 2)).keys()],
            ["s1"],
            "a new server starts in maintenance",
          );
          assert.equal(await cli(s, "set server be/s2 state ready"), "\n");
          assert.equal((await spread(port, 4)).get("s2"), 2);
          assert.equal(
            await cli(s, "del server be/s2"),
            "Only servers in maintenance mode can be deleted.\n",
          );
          assert.equal(await cli(s, "set server be/s2 state maint"), "\n");
          assert.equal(await cli(s, "del server be/s2"), "Server deleted.\n");
          assert.equal(serversState(await cli(s, "show servers state")).length, 1);
          assert.deepEqual([...(await spread(port, 2)).keys()], ["s1"]);
        });

        await t.step("enable / disable health", async () => {
          const p2 = servers[1]!.port;
          assert.equal(
            await cli(s, `add server be/c1 127.0.0.1:${p2} check inter 100ms`),
            "New server registered.\n\n",
          );
          assert.equal(
            serversState(await cli(s, "show servers state"))[1]!.get("srv_check_state"),
            "10",
          );
          assert.equal(await cli(s, "enable health be/c1"), "\n");
          assert.equal(
            serversState(await cli(s, "show servers state"))[1]!.get("srv_check_state"),
            "14",
          );
          assert.equal(await cli(s, "disable health be/c1"), "\n");
          assert.equal(
            serversState(await cli(s, "show servers state"))[1]!.get("srv_check_state"),
            "10",
          );
        });
      } finally {
        for (const c of held) {
          try {
            c.close();
          } catch { /* closed */ }
        }
      }
    },
  );
});

Deno.test("runtime API: levels: a user-level socket reads but cannot change, and a session can lower itself", async () => {
  await withApi(
    { n: 1, fe: (sv) => ({ servers: serverLines(sv) }), level: "user" },
    async (_p, _sv, s) => {
      assert.match(await cli(s, "show info"), /^Name: Sluice/);
      assert.equal(await cli(s, "show cli level"), "user\n\n");
      for (
        const cmd of [
          "set server be/s1 state maint",
          "set server be/s1 weight 0",
          "disable server be/s1",
          "set maxconn global 1",
          "shutdown sessions server be/s1",
          "add server be/s9 127.0.0.1:1",
          "del server be/s1",
          "clear counters",
          "clear counters all",
          "show sess",
          "show errors",
          "reload",
          "operator",
        ]
      ) {
        assert.equal(await cli(s, cmd), "Permission denied\n\n", cmd);
      }
      assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("status"), "UP");
      assert.equal(infoMap(await cli(s, "show info")).get("Maxconn"), "500");
    },
  );
  // An admin socket's session lowered to user is refused too.
  await withApi({ n: 1, fe: (sv) => ({ servers: serverLines(sv) }) }, async (_p, _sv, s) => {
    assert.equal(
      await cli(s, "user;set server be/s1 state maint;show cli level"),
      "\nPermission denied\n\nuser\n\n",
    );
    assert.equal(
      await cli(s, "operator;clear counters;clear counters all"),
      "\n\nPermission denied\n\n",
    );
    assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("status"), "UP");
  });
});

Deno.test("runtime API: a loopback TCP address, and bad input does not hurt", async () => {
  const servers = nameServers(1);
  const sock = await tempSocket();
  let proxy: ProxyProcess | undefined;
  try {
    const yaml = withSocket(feBeConfig({ servers: serverLines(servers) }), "127.0.0.1:0");
    proxy = await startProxy(yaml);
    const line = await proxy.waitForStderr(/stats socket ready on 127\.0\.0\.1:\d+/);
    const tcp = Number(/:(\d+)\s*$/.exec(line)![1]);
    assert.match(await cli(tcp, "show info"), /^Name: Sluice/);
    assert.match(await socat(tcp, "show backend"), /^# name\nbe\n/);
    // Garbage, a huge line without end, and a client that leaves mid-line.
    const junk = new Uint8Array(100_000).fill(0x41);
    const c = await Deno.connect({ hostname: "127.0.0.1", port: tcp });
    await c.write(junk).catch(() => {});
    c.close();
    assert.match(await cli(tcp, "\x00\xff\x01 \\;;;"), /Unknown command/);
    assert.equal((await fetchOnce(proxy.port("fe"), "/still")).status, 200);
    assert.match(await cli(tcp, "show backend"), /^# name\n/);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
    await sock.cleanup();
  }
});

Deno.test("runtime API: checks follow set server addr; a refused response is kept for show errors", async () => {
  // A server that answers every request with an invalid status line.
  const bad = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const badPort = (bad.addr as Deno.NetAddr).port;
  const badLoop = (async () => {
    for await (const c of bad) {
      const buf = new Uint8Array(4096);
      await c.read(buf).catch(() => null);
      await c.write(new TextEncoder().encode("HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n"))
        .catch(() => {});
      c.close();
    }
  })().catch(() => {});
  try {
    await withApi({
      n: 1,
      fe: (sv) => ({
        servers: serverLines(sv, () => "check: true, inter: 100ms") +
          `\n      - { name: b1, address: "127.0.0.1:${badPort}", disabled: true }`,
      }),
    }, async (proxy, servers, s) => {
      // "UP", or "UP 1/3" before its first check completed.
      assert.match(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("status")!, /^UP/);
      // The check now goes to a port nothing listens on: s1 goes DOWN.
      const dead = deadPort();
      assert.match(await cli(s, `set server be/s1 addr 127.0.0.1 port ${dead}`), /port changed/);
      await proxy.waitForStderr(/Server be\/s1 is DOWN/, 10_000);
      assert.equal(row(parseCsv(await cli(s, "show stat")), "be", "s1").get("status"), "DOWN");
      // Back to the live port: UP again.
      await cli(s, `set server be/s1 addr 127.0.0.1 port ${servers[0]!.port}`);
      await proxy.waitForStderr(/Server be\/s1 is UP/, 10_000);
      // Only b1 now: its invalid response is a 502, kept by the backend.
      assert.equal(
        await cli(s, "set server be/s1 state maint;set server be/b1 state ready"),
        "\n\n",
      );
      assert.equal((await fetchOnce(proxy.port("fe"), "/x")).status, 502);
      const out = await cli(s, "show errors be response");
      assert.match(
        out,
        /\] backend be \(#2\): invalid response\n {2}frontend fe \(#1\), server b1 \(#2\), event #0, src 127\.0\.0\.1:\d+\n/,
      );
      assert.match(out, /\n {2}00000 {2}HTTP\/1\.1 2x0 OK\\r\\n\n/);
      assert.match(await cli(s, "show errors fe request"), /: 1\n\n$/, "no request error kept");
    });
  } finally {
    bad.close();
    await badLoop;
  }
});

Deno.test("runtime API: maxconn closes excess connections, timeout closes an idle prompt", async () => {
  await withApi({
    n: 1,
    fe: (sv) => ({ servers: serverLines(sv) }),
    more: ", maxconn: 1, timeout: 300ms",
  }, async (_p, _sv, s) => {
    let first: Deno.Conn | null = null;
    try {
      // One interactive connection holds the only slot.
      first = await Deno.connect({ transport: "unix", path: s });
      await first.write(new TextEncoder().encode("prompt\n"));
      const buf = new Uint8Array(64);
      const n = await first.read(buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "\n> ");
      // A second one is closed at once, unanswered.
      assert.equal(await cli(s, "show backend"), "");
      // The first one, idle past `timeout`, is closed by the proxy; the slot frees.
      assert.equal(await readEof(first), true);
      assert.equal(await cli(s, "show backend"), "# name\nbe\n\n");
    } finally {
      try {
        first?.close();
      } catch { /* closed */ }
    }
  });
});

Deno.test("runtime API: a second process takes the socket over; the first one's stop leaves it", async () => {
  const servers = nameServers(1);
  const sock = await tempSocket();
  let a: ProxyProcess | undefined, b: ProxyProcess | undefined;
  try {
    const yaml = withSocket(feBeConfig({ servers: serverLines(servers) }), sock.path);
    a = await startProxy(yaml);
    assert.equal(infoMap(await cli(sock.path, "show info")).get("Pid"), String(a.pid));
    // As a binary upgrade would: the new process binds the same path.
    b = await startProxy(yaml);
    assert.equal(infoMap(await cli(sock.path, "show info")).get("Pid"), String(b.pid));
    await a.stop();
    a = undefined;
    assert.equal(infoMap(await cli(sock.path, "show info")).get("Pid"), String(b.pid));
    await b.stop();
    b = undefined;
    await assert.rejects(Deno.lstat(sock.path), Deno.errors.NotFound, "the last one removes it");
  } finally {
    await a?.stop();
    await b?.stop();
    await closeAll(servers);
    await sock.cleanup();
  }
});

Deno.test("runtime API: shutdown session ends a TCP session in its data phase, logged KD", async () => {
  const echo = echoServer();
  const sock = await tempSocket();
  let proxy: ProxyProcess | undefined;
  let c: Deno.Conn | undefined;
  try {
    proxy = await startProxy(withSocket(
      tcpConfig({
        servers: [`{ name: e1, address: "127.0.0.1:${echo.port}" }`],
        timeouts: "connect: 1s, client: 30s, server: 30s",
      }),
      sock.path,
    ));
    c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port("fe") });
    await c.write(new TextEncoder().encode("ping"));
    await readUntil(c, "ping"); // the echo came back: the session is in its data phase
    const line = (await cli(sock.path, "show sess")).split("\n")[0]!;
    assert.match(
      line,
      /^0x[0-9a-f]+: proto=tcpv4 src=127\.0\.0\.1:\d+ fe=fe be=be srv=e1 age=\d+s$/,
    );
    assert.equal(
      await cli(sock.path, `shutdown session ${line.slice(0, line.indexOf(":"))}`),
      "\n",
    );
    assert.equal(await readEof(c), true);
    const port = (c.localAddr as Deno.NetAddr).port;
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(port)));
    assert.equal(log.ts, "KD", "killed (K) in the data phase (D)");
    assert.equal(log.server, "e1");
  } finally {
    try {
      c?.close();
    } catch { /* closed */ }
    await proxy?.stop();
    await echo.close();
    await sock.cleanup();
  }
});
