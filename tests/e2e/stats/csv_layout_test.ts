// The stats CSV layout: HAProxy's header, fields 0..76, and every row as
// wide as the header.

import assert from "node:assert/strict";
import { BE, csv, FE, get, O1, withProxy } from "./_counters.ts";

// HAProxy 2.6's `;csv` header, fields 0..76 (captured from `haproxy -db`).
const HAPROXY_HEADER =
  "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis," +
  "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot," +
  "tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx," +
  "hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt," +
  "srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime," +
  "ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall," +
  "check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo";

Deno.test("stats: the CSV header is HAProxy's fields 0..76, every row as wide", async () => {
  await withProxy(async (_fe, st) => {
    const text = await get(st, "/stats;csv");
    const lines = text.split("\n").filter((l) => l !== "");
    assert.equal(lines[0], "# " + HAPROXY_HEADER + ",");
    for (const l of lines.slice(1)) assert.equal(l.split(",").length, 78, l);
    const { rows } = await csv(st);
    assert.equal(rows.get(FE)!.type, "0");
    assert.equal(rows.get(BE)!.type, "1");
    assert.equal(rows.get(O1)!.type, "2");
    assert.equal(rows.get(O1)!.status, "UP");
  });
});
