// renderStatsCsv(): HAProxy's header and column order, FRONTEND / server /
// BACKEND rows, trailing commas, quoting.

import assert from "node:assert/strict";
import { buildSnapshot, type StatsSnapshot } from "../../src/stats/snapshot.ts";
import { CSV_COLUMNS, csvField, renderStatsCsv } from "../../src/stats/stats_csv.ts";
import { checks, makeProcess } from "./_fixture.ts";

const HAPROXY_HEAD = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq," +
  "econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid," +
  "iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code," +
  "check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate," +
  "req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk," +
  "last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc," +
  "agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr," +
  "cookie,mode,algo,";

/** Splits one CSV line (RFC 4180 quoting), dropping the empty field after the final comma. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    let v = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        const j = line.indexOf('"', i);
        assert.ok(j >= 0, "unterminated quote");
        v += line.slice(i, j);
        i = j + 1;
        if (line[i] === '"') {
          v += '"';
          i++;
        } else break;
      }
      assert.equal(line[i], ",");
    } else {
      const j = line.indexOf(",", i);
      assert.ok(j >= 0, "line must end with a comma");
      v = line.slice(i, j);
      i = j;
    }
    out.push(v);
    i++;
  }
  return out;
}

/** Rows as objects keyed by column name. */
function rows(csv: string): Array<Record<string, string>> {
  const lines = csv.split("\n");
  assert.equal(lines.pop(), "", "output must end with a line feed");
  return lines.slice(1).map((l) => {
    const f = splitCsv(l);
    assert.equal(f.length, CSV_COLUMNS.length, l);
    return Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, f[i]!]));
  });
}

function snapshot(): StatsSnapshot {
  return buildSnapshot(makeProcess(), checks);
}

Deno.test("csv: header is HAProxy's, up to algo", () => {
  const csv = renderStatsCsv(snapshot());
  assert.equal(csv.slice(0, csv.indexOf("\n")), HAPROXY_HEAD);
  assert.equal(CSV_COLUMNS.length, 77);
});

Deno.test("csv: FRONTEND rows, then servers and a BACKEND row per backend", () => {
  const r = rows(renderStatsCsv(snapshot()));
  assert.deepEqual(r.map((x) => `${x.pxname}/${x.svname}/${x.type}`), [
    "fe_http/FRONTEND/0",
    "fe_tcp/FRONTEND/0",
    "be_app/web1/2",
    "be_app/web2/2",
    "be_app/web3/2",
    "be_app/spare/2",
    "be_app/BACKEND/1",
    "db/db1/2",
    "db/BACKEND/1",
  ]);
  assert.deepEqual(r.map((x) => `${x.iid}/${x.sid}`), [
    "1/0",
    "2/0",
    "3/1",
    "3/2",
    "3/3",
    "3/4",
    "3/0",
    "4/1",
    "4/0",
  ]);
});

Deno.test("csv: frontend fields", () => {
  const [fe, tcp] = rows(renderStatsCsv(snapshot()));
  assert.ok(fe && tcp);
  assert.equal(fe.scur, "5");
  assert.equal(fe.smax, "42");
  assert.equal(fe.slim, "100");
  assert.equal(fe.stot, "1000");
  assert.equal(fe.bin, "123456");
  assert.equal(fe.bout, "7654321");
  assert.equal(fe.dreq, "3");
  assert.equal(fe.ereq, "4");
  assert.equal(fe.status, "OPEN");
  assert.equal(fe.hrsp_2xx, "1900");
  assert.equal(fe.hrsp_other, "1");
  assert.equal(fe.req_tot, "2000");
  assert.equal(fe.mode, "http");
  assert.equal(fe.qcur, "");
  // TCP: no HTTP fields.
  assert.equal(tcp.hrsp_2xx, "");
  assert.equal(tcp.req_tot, "");
  assert.equal(tcp.mode, "tcp");
});

Deno.test("csv: server fields, with and without checks", () => {
  const r = rows(renderStatsCsv(snapshot()));
  const web1 = r[2]!, web3 = r[4]!, spare = r[5]!;
  assert.equal(web1.qcur, "1");
  assert.equal(web1.qmax, "2");
  assert.equal(web1.qlimit, "10");
  assert.equal(web1.scur, "4");
  assert.equal(web1.slim, "50");
  assert.equal(web1.stot, "900");
  assert.equal(web1.lbtot, "900");
  assert.equal(web1.econ, "5");
  assert.equal(web1.wretr, "7");
  assert.equal(web1.status, "UP 2/3");
  assert.equal(web1.weight, "3");
  assert.equal(web1.act, "1");
  assert.equal(web1.bck, "0");
  assert.equal(web1.chkfail, "4");
  assert.equal(web1.chkdown, "1");
  assert.equal(web1.downtime, "61");
  assert.match(web1.lastchg!, /^\d+$/);
  assert.equal(web1.check_status, "L7STS");
  assert.equal(web1.check_code, "503");
  assert.equal(web1.check_duration, "12");
  assert.equal(web1.last_chk, "HTTP status check returned code <503>");
  assert.equal(web1.hrsp_5xx, "15");
  assert.equal(web1.ctime, "3");
  assert.equal(web1.addr, "127.0.0.1:8001");
  // Unchecked: no check fields; no limit when unlimited.
  assert.equal(web3.status, "MAINT");
  assert.equal(web3.check_status, "");
  assert.equal(web3.chkfail, "");
  assert.equal(web3.slim, "");
  assert.equal(web3.qlimit, "");
  assert.equal(spare.act, "0");
  assert.equal(spare.bck, "1");
});

Deno.test("csv: backend fields", () => {
  const r = rows(renderStatsCsv(snapshot()));
  const app = r[6]!, db = r[8]!;
  assert.equal(app.status, "UP");
  assert.equal(app.scur, "5");
  assert.equal(app.stot, "990");
  assert.equal(app.econ, "6");
  assert.equal(app.eresp, "2");
  assert.equal(app.wretr, "8");
  assert.equal(app.wredis, "1");
  assert.equal(app.weight, "3");
  assert.equal(app.act, "1");
  assert.equal(app.bck, "1");
  assert.equal(app.qcur, "1");
  assert.equal(app.algo, "roundrobin");
  assert.equal(app.hrsp_2xx, "1890");
  assert.equal(db.status, "DOWN");
  assert.equal(db.algo, "leastconn");
  assert.equal(db.hrsp_2xx, "");
});

Deno.test("csv: fields with commas or quotes are quoted", () => {
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField(12), "12");
  assert.equal(csvField(undefined), "");
  const snap = snapshot();
  snap.backends[0]!.servers[0]!.name = 'w,"1"';
  const r = rows(renderStatsCsv(snap));
  assert.equal(r[2]!.svname, 'w,"1"');
});
