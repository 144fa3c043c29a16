// renderStatsHtml(): one table per proxy, a row per server with its status
// class, the header, refresh, links and admin forms; everything escaped.

import assert from "node:assert/strict";
import { buildSnapshot, type StatsSnapshot } from "../../src/stats/snapshot.ts";
import {
  escapeHtml,
  formatUptime,
  humanDuration,
  renderStatsHtml,
  type StatsPageOptions,
} from "../../src/stats/stats_page.ts";
import { checks, makeProcess } from "./_fixture.ts";

const OPTS: StatsPageOptions = { uri: "/stats", refresh: 0, admin: false };

function snapshot(): StatsSnapshot {
  return buildSnapshot(makeProcess(), checks);
}

function count(text: string, re: RegExp): number {
  return [...text.matchAll(re)].length;
}

/** The `<tr>...</tr>` of server `name` (first match). */
function serverRow(html: string, name: string): string {
  const m = new RegExp(`<tr class="srv[^"]*"><td class="name">${name}</td>.*?</tr>`).exec(html);
  assert.ok(m, `no row for ${name}`);
  return m[0];
}

Deno.test("page: one table per frontend and per backend, a row per server", () => {
  const html = renderStatsHtml(snapshot(), OPTS);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.ok(html.trimEnd().endsWith("</html>"));
  assert.equal(count(html, /<table class="px frontend" id="fe-fe_http">/g), 1);
  assert.equal(count(html, /<table class="px frontend" id="fe-fe_tcp">/g), 1);
  assert.equal(count(html, /<table class="px backend" id="be-be_app">/g), 1);
  assert.equal(count(html, /<table class="px backend" id="be-db">/g), 1);
  assert.equal(count(html, /<table class="px /g), 4);
  assert.equal(count(html, /<tr class="srv/g), 5);
  assert.equal(count(html, /<tr class="fe">/g), 2);
  assert.equal(count(html, /<tr class="be">/g), 2);
  assert.equal(count(html, /<table/g), count(html, /<\/table>/g));
  assert.equal(count(html, /<tr/g), count(html, /<\/tr>/g));
});

Deno.test("page: status cells carry the status class", () => {
  const html = renderStatsHtml(snapshot(), OPTS);
  assert.match(serverRow(html, "web1"), /<td class="st st-going-down">UP 2\/3<\/td>/);
  assert.match(serverRow(html, "web2"), /<td class="st st-drain">DRAIN<\/td>/);
  assert.match(serverRow(html, "web3"), /<td class="st st-maint">MAINT<\/td>/);
  assert.match(serverRow(html, "spare"), /<td class="st st-up">UP<\/td>/);
  assert.match(serverRow(html, "spare"), /^<tr class="srv backup">/);
  assert.match(serverRow(html, "db1"), /<td class="st st-maint">MAINT<\/td>/);
  assert.match(html, /<td class="st st-open">OPEN<\/td>/);
  assert.match(html, /<td class="st st-down">DOWN<\/td>/);
  // Every status class used has a colour in the style sheet.
  for (const c of ["up", "going-down", "going-up", "down", "maint", "drain", "open", "stop"]) {
    assert.match(html, new RegExp(`\\.st-${c}[,{]`), c);
  }
});

Deno.test("page: check column shows the result or no check", () => {
  const html = renderStatsHtml(snapshot(), OPTS);
  assert.match(
    serverRow(html, "web1"),
    /<td title="HTTP status check returned code &lt;503&gt;">L7STS\/503 in 12ms<\/td>/,
  );
  assert.match(serverRow(html, "web2"), /<td>L4OK in 1ms<\/td>/);
  assert.match(serverRow(html, "web3"), /no check/);
});

Deno.test("page: header shows process info and pool buffers", () => {
  const snap = snapshot();
  const html = renderStatsHtml(snap, OPTS);
  assert.match(html, new RegExp(`pid = </b>${Deno.pid}<br>`));
  assert.match(html, /uptime = <\/b>\d+d \d+h\d\dm\d\ds/);
  assert.match(html, /version = <\/b>0\.1\.0/);
  assert.match(html, /maxconn = 4096/);
  assert.match(html, /current conns = <\/b>7/);
  assert.match(html, /0 used \/ 0 allocated/);
});

Deno.test("page: refresh adds a meta refresh in whole seconds", () => {
  const snap = snapshot();
  assert.doesNotMatch(renderStatsHtml(snap, OPTS), /http-equiv="refresh"/);
  const html = renderStatsHtml(snap, { ...OPTS, refresh: 10000 });
  assert.match(html, /<meta http-equiv="refresh" content="10">/);
  assert.match(renderStatsHtml(snap, { ...OPTS, refresh: 1500 }), /content="2"/);
});

Deno.test("page: links to the CSV and JSON exports; no script, no external asset", () => {
  const html = renderStatsHtml(snapshot(), { ...OPTS, uri: "/haproxy?stats" });
  assert.match(html, /href="\/haproxy\?stats;csv"/);
  assert.match(html, /href="\/haproxy\?stats;json"/);
  assert.doesNotMatch(html, /<script|<link|<img|src=|https?:\/\//i);
});

Deno.test("page: admin forms only with admin, one per server, posting s=be/srv", () => {
  const snap = snapshot();
  assert.doesNotMatch(renderStatsHtml(snap, OPTS), /<form/);
  const html = renderStatsHtml(snap, { ...OPTS, admin: true });
  assert.equal(count(html, /<form class="adm" method="post" action="\/stats">/g), 5);
  const row = serverRow(html, "web1");
  assert.match(row, /<input type="hidden" name="s" value="be_app\/web1">/);
  for (const a of ["ready", "drain", "maint"]) {
    assert.match(row, new RegExp(`<button type="submit" name="action" value="${a}">`));
  }
  assert.match(serverRow(html, "db1"), /value="db\/db1"/);
});

Deno.test("page: names and the message are escaped", () => {
  const snap = snapshot();
  snap.backends[0]!.servers[0]!.name = "<b>x</b>";
  snap.frontends[0]!.name = 'f"e';
  const html = renderStatsHtml(snap, {
    ...OPTS,
    admin: true,
    message: "<script>alert(1)</script>",
  });
  assert.doesNotMatch(html, /<script>|<b>x<\/b>/);
  assert.match(html, /<div class="msg">&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/div>/);
  assert.match(html, /<td class="name">&lt;b&gt;x&lt;\/b&gt;<\/td>/);
  assert.match(html, /value="be_app\/&lt;b&gt;x&lt;\/b&gt;"/);
  assert.match(html, /id="fe-f&quot;e"/);
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});

Deno.test("page: durations are formatted like HAProxy's", () => {
  assert.equal(humanDuration(0), "0s");
  assert.equal(humanDuration(59_999), "59s");
  assert.equal(humanDuration(61_000), "1m01s");
  assert.equal(humanDuration(3_600_000 + 7 * 60_000), "1h07m");
  assert.equal(humanDuration(2 * 86_400_000 + 3 * 3_600_000), "2d03h");
  assert.equal(humanDuration(-1), "-");
  assert.equal(formatUptime(0), "0d 0h00m00s");
  assert.equal(formatUptime(86_400_000 + 3_723_000), "1d 1h02m03s");
});
