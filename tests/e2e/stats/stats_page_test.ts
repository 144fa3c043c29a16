// The statistics page end to end: served by an HTTP frontend of the real
// proxy, behind basic authentication; the HTML has one table per frontend and
// per backend with a row per server and its status; `;csv` and `;json`
// parse and agree with the page; `/metrics` obeys the Prometheus text format
// (a strict reader here, and `promtool check metrics` when installed) and
// needs no credentials; the admin buttons' POSTs (drain, maint, ready) change
// what the page shows and which server gets the traffic.

import assert from "node:assert/strict";
import { pollUntil, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  basicAuth,
  closeAll,
  feBeConfig,
  fetchOnce,
  type JsonSnapshot,
  NameServer,
  type Response,
  serverLines,
  show,
  statsJson,
  tally,
} from "../backends/_common.ts";
import { parseHtml, type StatsTable, statsTables } from "./_html.ts";
import { parseExposition } from "./_exposition.ts";

const AUTH = "admin:secret";
const CRED = [basicAuth(AUTH)];

interface Env {
  proxy: ProxyProcess;
  port: number;
  servers: NameServer[];
}

/**
 * fe (http, stats with auth, admin, refresh 5s, /metrics) → be: s1 (no
 * check), s2 (checked), s3 (disabled), bk (backup); fe_tcp (tcp) → be_tcp: t1.
 */
async function withStats(body: (env: Env) => Promise<void>): Promise<void> {
  const servers = [
    new NameServer("s1"),
    new NameServer("s2"),
    new NameServer("s3"),
    new NameServer("bk"),
    new NameServer("t1"),
  ];
  const [s1, s2, s3, bk, t1] = servers as [
    NameServer,
    NameServer,
    NameServer,
    NameServer,
    NameServer,
  ];
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: `
    stats: { uri: /stats, refresh: 5s, auth: "${AUTH}", admin: true, prometheus: /metrics }
  fe_tcp:
    bind: "127.0.0.1:0"
    mode: tcp
    option: ["no httplog", tcplog]
    default_backend: be_tcp`,
      backend: "    balance: roundrobin",
      servers: `${serverLines([s1])}
${serverLines([s2], () => "check: true, inter: 100ms, rise: 2, fall: 3")}
${serverLines([s3], () => "disabled: true")}
${serverLines([bk], () => "backup: true")}`,
      moreBackends: `
  be_tcp:
    mode: tcp
    servers:
${serverLines([t1])}`,
    }));
    const port = proxy.port("fe");
    // s2 starts "UP 1/3" until its first check passes.
    await pollUntil(
      async () => {
        const s = (await statsJson(port, { auth: AUTH })).backends[0]!.servers[1]!;
        return s.status === "UP" ? true : undefined;
      },
      5_000,
      "s2's first check to pass",
    );
    await body({ proxy, port, servers });
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
}

async function page(port: number): Promise<{ r: Response; tables: StatsTable[] }> {
  const r = await fetchOnce(port, "/stats", CRED);
  assert.equal(r.status, 200, r.body);
  return { r, tables: statsTables(parseHtml(r.body)) };
}

function table(tables: StatsTable[], name: string): StatsTable {
  const t = tables.find((x) => x.name === name);
  assert.ok(t !== undefined, `no table for ${name}: ${tables.map((x) => x.name).join(", ")}`);
  return t;
}

/** Server status column of each row of a backend table, by row name. */
function statuses(t: StatsTable): Record<string, string> {
  return Object.fromEntries(t.rows.map((r) => [r.name, r.cells.get("Server Status") ?? "?"]));
}

/** `n` requests on new connections; the answering servers, tallied. */
async function traffic(port: number, n: number, tag: string): Promise<string> {
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetchOnce(port, `/${tag}/${i}`);
    assert.equal(r.status, 200, `${tag}: ${r.status} ${r.body}`);
    got.push(String(r.server));
  }
  return show(tally(got));
}

Deno.test("stats: 401 without (or with wrong) credentials on every stats URL; 200 with them; /metrics needs none", async () => {
  await withStats(async ({ proxy, port, servers }) => {
    for (const path of ["/stats", "/stats;csv", "/stats;json", "/stats/"]) {
      for (
        const hdr of [[], [basicAuth("admin:wrong")], [basicAuth("root:secret")], [
          "authorization: Bearer x",
        ]]
      ) {
        const r = await fetchOnce(port, path, hdr);
        assert.equal(r.status, 401, `${path} ${hdr}: ${r.status}`);
        assert.match(
          r.head.headers.find(([k]) => k === "www-authenticate")?.[1] ?? "",
          /^Basic realm="[^"]+"$/,
        );
        for (const s of ["s1", "s2", "be_tcp"]) {
          assert.ok(!r.body.includes(s), `the 401 body leaks ${s}: ${r.body}`);
        }
      }
    }
    // An admin POST without credentials is refused and changes nothing.
    const denied = await adminPost(port, "be/s1", "maint");
    assert.equal(denied.status, 401);
    assert.equal((await statsJson(port, { auth: AUTH })).backends[0]!.servers[0]!.status, "UP");
    assert.ok(!proxy.stderr.some((l) => /be\/s1.*maintenance/.test(l)), proxy.describe());

    const ok = await fetchOnce(port, "/stats", CRED);
    assert.equal(ok.status, 200);
    assert.match(ok.head.headers.find(([k]) => k === "content-type")?.[1] ?? "", /^text\/html/);
    // Stats requests are answered by the proxy: no origin saw any.
    for (const s of servers) assert.equal(s.served, 0, `${s.name} received a stats request`);
    // The Prometheus exporter is scraped without credentials.
    const m = await fetchOnce(port, "/metrics");
    assert.equal(m.status, 200, m.body);
    assert.match(m.body, /^sluice_server_up\{proxy="be",server="s1"\} 1$/m);
    assert.equal(servers[0]!.served, 0);
  });
});

Deno.test("stats page: one table per frontend and backend, a row per server with its status", async () => {
  await withStats(async ({ port }) => {
    // Stats requests count as frontend sessions too: measure from a first snapshot.
    const before = (await statsJson(port, { auth: AUTH })).frontends[0]!;
    assert.equal(await traffic(port, 4, "warm"), show(new Map([["s1", 2], ["s2", 2]])));
    const { r, tables } = await page(port);
    assert.match(r.body, /<meta http-equiv="refresh" content="5">/);
    assert.deepEqual(tables.map((t) => t.name), ["fe", "fe_tcp", "be", "be_tcp"]);
    assert.ok(table(tables, "fe").classes.includes("frontend"));
    assert.ok(table(tables, "be").classes.includes("backend"));

    for (const name of ["fe", "fe_tcp"]) {
      const t = table(tables, name);
      assert.deepEqual(t.rows.map((x) => x.name), ["Frontend"], `${name} rows`);
      assert.equal(t.rows[0]!.cells.get("Server Status"), "OPEN");
    }
    // 4 requests of traffic, then this page (each snapshot counts its own request).
    assert.equal(
      table(tables, "fe").rows[0]!.cells.get("Sessions Total"),
      String(before.totalSessions + 5),
    );

    const be = table(tables, "be");
    assert.deepEqual(be.rows.map((x) => x.name), ["s1", "s2", "s3", "bk", "Backend"]);
    assert.deepEqual(statuses(be), { s1: "UP", s2: "UP", s3: "MAINT", bk: "UP", Backend: "UP" });
    const row = (n: string) => be.rows.find((x) => x.name === n)!;
    assert.equal(row("s1").cells.get("Server LastChk"), "no check");
    assert.match(row("s2").cells.get("Server LastChk") ?? "", /^L4OK in \d+ms$/);
    assert.equal(row("s1").cells.get("Sessions Total"), "2");
    assert.equal(row("s2").cells.get("Sessions Total"), "2");
    assert.equal(row("bk").cells.get("Sessions Total"), "0");
    assert.equal(row("Backend").cells.get("Sessions Total"), "4");
    assert.equal(row("s1").cells.get("HTTP responses 2xx"), "2");
    assert.equal(row("bk").cells.get("Server Bck"), "Y");
    assert.equal(row("s1").cells.get("Server Act"), "Y");
    assert.ok(row("bk").classes.includes("backup"), "the backup row is not marked");
    assert.ok(row("s1").cellClasses.get("Server Status")!.includes("st-up"));
    assert.ok(row("s3").cellClasses.get("Server Status")!.includes("st-maint"));
    // Admin buttons on each server row.
    for (const n of ["s1", "s2", "s3", "bk"]) {
      const b = row(n).buttons;
      for (const want of ["Ready", "Drain", "Maint"]) {
        assert.ok(b.includes(want), `admin buttons of ${n}: ${JSON.stringify(b)}`);
      }
    }
    assert.deepEqual(row("Backend").buttons, []);

    const tcp = table(tables, "be_tcp");
    assert.deepEqual(statuses(tcp), { t1: "UP", Backend: "UP" });
    assert.equal(
      tcp.rows[0]!.cells.get("HTTP responses 2xx"),
      "",
      "a TCP backend has no HTTP counts",
    );
  });
});

/** Splits a CSV line (RFC 4180 quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

Deno.test("stats ;csv and ;json: parse, HAProxy's CSV layout, and agree with the page", async () => {
  await withStats(async ({ port }) => {
    const before = (await statsJson(port, { auth: AUTH })).frontends[0]!;
    await traffic(port, 4, "warm");
    const csv = await fetchOnce(port, "/stats;csv", CRED);
    assert.equal(csv.status, 200);
    const lines = csv.body.split("\n").filter((l) => l !== "");
    assert.ok(lines[0]!.startsWith("# pxname,svname,"), lines[0]);
    for (const l of lines) assert.ok(l.endsWith(","), `line without a final comma: ${l}`);
    const cols = csvFields(lines[0]!.slice(2)).slice(0, -1);
    assert.equal(cols.length, 77, "HAProxy's first 77 fields");
    assert.equal(cols[76], "algo");
    const rows = lines.slice(1).map((l) => {
      const f = csvFields(l).slice(0, -1);
      assert.equal(f.length, cols.length, `row with ${f.length} fields: ${l}`);
      return Object.fromEntries(cols.map((c, i) => [c, f[i]!]));
    });
    assert.deepEqual(
      rows.map((r) => `${r.pxname}/${r.svname}`),
      [
        "fe/FRONTEND",
        "fe_tcp/FRONTEND",
        "be/s1",
        "be/s2",
        "be/s3",
        "be/bk",
        "be/BACKEND",
        "be_tcp/t1",
        "be_tcp/BACKEND",
      ],
    );
    const by = (p: string) => rows.find((r) => `${r.pxname}/${r.svname}` === p)!;
    assert.deepEqual(
      rows.map((r) => r.status),
      ["OPEN", "OPEN", "UP", "UP", "MAINT", "UP", "UP", "UP", "UP"],
    );
    assert.deepEqual(rows.map((r) => r.type), ["0", "0", "2", "2", "2", "2", "1", "2", "1"]);
    assert.equal(by("be/s1").stot, "2");
    assert.equal(by("be/s2").stot, "2");
    assert.equal(by("be/s2").check_status, "L4OK");
    assert.equal(by("be/bk").bck, "1");
    assert.equal(by("be/BACKEND").algo, "roundrobin");
    assert.equal(by("be/BACKEND").mode, "http");
    assert.equal(by("be_tcp/BACKEND").mode, "tcp");
    assert.equal(by("fe/FRONTEND").req_tot, String(before.httpRequests + 5));

    const j = await fetchOnce(port, "/stats;json", CRED);
    assert.equal(j.status, 200);
    assert.match(
      j.head.headers.find(([k]) => k === "content-type")?.[1] ?? "",
      /^application\/json/,
    );
    const snap = JSON.parse(j.body) as JsonSnapshot;
    assert.deepEqual(snap.frontends.map((f) => [f.name, f.status]), [["fe", "OPEN"], [
      "fe_tcp",
      "OPEN",
    ]]);
    assert.deepEqual(
      snap.backends.map((
        b,
      ) => [b.name, b.status, b.servers.map((s) => `${s.name}:${s.status}`).join(" ")]),
      [["be", "UP", "s1:UP s2:UP s3:MAINT bk:UP"], ["be_tcp", "UP", "t1:UP"]],
    );
    const be = snap.backends[0]!;
    assert.deepEqual(be.servers.map((s) => s.totalSessions), [2, 2, 0, 0]);
    assert.deepEqual(be.servers.map((s) => s.backup), [false, false, false, true]);
    // Last, so that the checks above run whatever the content type.
    assert.match(
      csv.head.headers.find(([k]) => k === "content-type")?.[1] ?? "",
      /^text\/plain/,
      "docs/stats.md: `<uri>;csv` is served as text/plain, as HAProxy serves it",
    );
  });
});

Deno.test("stats /metrics: strict text format 0.0.4 (and promtool check metrics), values match the servers' states", async () => {
  await withStats(async ({ port }) => {
    const before = (await statsJson(port, { auth: AUTH })).frontends[0]!;
    await traffic(port, 4, "warm");
    const r = await fetchOnce(port, "/metrics");
    assert.equal(r.status, 200, r.body);
    assert.equal(
      r.head.headers.find(([k]) => k === "content-type")?.[1],
      "text/plain; version=0.0.4; charset=utf-8",
    );
    const fams = parseExposition(r.body);
    const value = (name: string, labels: Record<string, string>): number | undefined =>
      fams.get(name)?.samples.find((s) =>
        Object.entries(labels).every(([k, v]) => s.labels[k] === v)
      )?.value;
    assert.equal(value("sluice_process_build_info", {}), 1);
    assert.equal(value("sluice_server_up", { proxy: "be", server: "s1" }), 1);
    assert.equal(value("sluice_server_up", { proxy: "be", server: "s3" }), 0);
    assert.equal(value("sluice_server_sessions_total", { proxy: "be", server: "s1" }), 2);
    assert.equal(value("sluice_backend_up", { proxy: "be" }), 1);
    assert.equal(
      value("sluice_frontend_http_requests_total", { proxy: "fe" }),
      before.httpRequests + 5,
    );
    // sluice_server_status is one-hot per server.
    for (const s of ["s1", "s2", "s3", "bk"]) {
      const series = fams.get("sluice_server_status")!.samples.filter((x) =>
        x.labels.proxy === "be" && x.labels.server === s
      );
      const on = series.filter((x) => x.value === 1).map((x) => x.labels.state);
      assert.deepEqual(on, [s === "s3" ? "MAINT" : "UP"], `sluice_server_status of ${s}`);
      assert.ok(series.every((x) => x.value === 0 || x.value === 1));
    }
    assert.equal(fams.get("sluice_frontend_http_requests_total")?.type, "counter");

    const promtool = await findProgram("promtool");
    if (promtool === null) {
      console.log("promtool not installed: `promtool check metrics` skipped");
      return;
    }
    const child = new Deno.Command(promtool, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(r.body));
    await w.close();
    const out = await child.output();
    const msg = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `promtool check metrics:\n${msg}`);
    assert.equal(msg.trim(), "", `promtool lint findings:\n${msg}`);
  });
});

/** The absolute path of `name` in PATH, or null. */
async function findProgram(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const st = await Deno.stat(`${dir}/${name}`);
      if (st.isFile) return `${dir}/${name}`;
    } catch {
      // not there
    }
  }
  return null;
}

Deno.test("stats admin: drain, maint and ready change the page and which server gets the traffic", async () => {
  await withStats(async ({ proxy, port }) => {
    const beStatuses = async () => statuses(table((await page(port)).tables, "be"));
    assert.equal(await traffic(port, 4, "start"), show(new Map([["s1", 2], ["s2", 2]])));

    // drain s1: DRAIN on the page, no new traffic.
    let r = await adminPost(port, "be/s1", "drain", { auth: AUTH });
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /be\/s1: drain done/);
    await proxy.waitForStderr(/Server be\/s1 enters drain state\./);
    assert.deepEqual(await beStatuses(), {
      s1: "DRAIN",
      s2: "UP",
      s3: "MAINT",
      bk: "UP",
      Backend: "UP",
    });
    assert.equal(await traffic(port, 6, "drained"), show(new Map([["s2", 6]])));

    // maint s2 (s1 still drained): no active server can take traffic, the backup does.
    r = await adminPost(port, "be/s2", "maint", { auth: AUTH });
    assert.equal(r.status, 200, r.body);
    await proxy.waitForStderr(/Server be\/s2 is going DOWN for maintenance/);
    assert.deepEqual(await beStatuses(), {
      s1: "DRAIN",
      s2: "MAINT",
      s3: "MAINT",
      bk: "UP",
      Backend: "UP",
    });
    assert.equal(await traffic(port, 6, "maint"), show(new Map([["bk", 6]])));

    // ready s1: UP again, takes all the traffic (s2 still in maintenance).
    r = await adminPost(port, "be/s1", "ready", { auth: AUTH });
    assert.equal(r.status, 200, r.body);
    await proxy.waitForStderr(/Server be\/s1 is UP \(leaving drain\)\./);
    assert.deepEqual(await beStatuses(), {
      s1: "UP",
      s2: "MAINT",
      s3: "MAINT",
      bk: "UP",
      Backend: "UP",
    });
    assert.equal(await traffic(port, 6, "s1-back"), show(new Map([["s1", 6]])));

    // ready s2: back after its checks pass, then the traffic is shared again.
    r = await adminPost(port, "be/s2", "ready", { auth: AUTH });
    assert.equal(r.status, 200, r.body);
    await proxy.waitForStderr(/Server be\/s2 is UP \(leaving forced maintenance\)\./);
    await pollUntil(
      async () => ((await beStatuses()).s2 === "UP" ? true : undefined),
      3_000,
      "s2 UP on the page",
    );
    assert.equal(await traffic(port, 6, "both"), show(new Map([["s1", 3], ["s2", 3]])));

    // CSV and JSON follow the same states.
    const snap = await statsJson(port, { auth: AUTH });
    assert.deepEqual(snap.backends[0]!.servers.map((s) => s.status), ["UP", "UP", "MAINT", "UP"]);

    // A malformed action is refused with a message naming it; nothing changes.
    r = await adminPost(port, "be/s1", "explode" as "ready", { auth: AUTH });
    assert.match(r.body, /Unknown action &quot;explode&quot;|Unknown action "explode"/);
    r = await adminPost(port, "be/nosuch", "maint", { auth: AUTH });
    assert.match(r.body, /No server be\/nosuch/);
    assert.deepEqual(await beStatuses(), {
      s1: "UP",
      s2: "UP",
      s3: "MAINT",
      bk: "UP",
      Backend: "UP",
    });
  });
});

Deno.test("stats: outputs larger than one buffer (30 servers) are served whole: page, ;csv, ;json, /metrics", async () => {
  const servers = Array.from({ length: 30 }, (_, i) => new NameServer(`web${i + 1}`));
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: "    stats: { uri: /stats, prometheus: /metrics }",
      servers: serverLines(servers, () => "check: true, inter: 1s"),
    }));
    const port = proxy.port("fe");
    for (const path of ["/stats", "/stats;csv", "/stats;json", "/metrics"]) {
      const r = await fetchOnce(port, path);
      assert.equal(r.status, 200, path);
      const cl = Number(r.head.headers.find(([k]) => k === "content-length")?.[1]);
      assert.equal(new TextEncoder().encode(r.body).length, cl, `${path}: body length`);
      for (const s of ["web1", "web30"]) assert.ok(r.body.includes(s), `${path} lacks ${s}`);
    }
    assert.equal(
      JSON.parse((await fetchOnce(port, "/stats;json")).body).backends[0].servers.length,
      30,
    );
    assert.equal(
      statsTables(parseHtml((await fetchOnce(port, "/stats")).body)).find((t) => t.name === "be")
        ?.rows.length,
      31,
    );
    parseExposition((await fetchOnce(port, "/metrics")).body);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});
