// `show stat [typed|json]` (HAProxy's stats_dump_proxies to the CLI): the
// CSV of the stats page (src/stats/stats_csv.ts, the same rows), or each
// non-empty field of each row in HAProxy's typed or JSON encoding with its
// tags and type, as HAProxy 2.6 prints them. Rows are the CSV's: frontends,
// then each backend's servers and its BACKEND row.

import { CSV_COLUMNS, type CsvColumn, renderStatsCsv, statsCsvRows } from "../stats/stats_csv.ts";
import type { StatsSnapshot } from "../stats/snapshot.ts";
import { type FieldSpec, jsonTagsValue, typedValue } from "./typed.ts";

type PerType = { F: FieldSpec; B: FieldSpec; S: FieldSpec };

/**
 * Tags and type of each CSV field as HAProxy 2.6 reports them; a few differ
 * by object (F frontend, B backend, S server). Fields Sluice always leaves
 * empty are null: they are never printed.
 */
const FIELD_SPECS: Record<CsvColumn, FieldSpec | PerType | null> = {
  pxname: "KNS:str",
  svname: "KNS:str",
  qcur: "MGP:u32",
  qmax: "MMP:u32",
  scur: "MGP:u32",
  smax: "MMP:u32",
  slim: "CLP:u32",
  stot: "MCP:u64",
  bin: "MCP:u64",
  bout: "MCP:u64",
  dreq: "MCP:u64",
  dresp: "MCP:u64",
  ereq: "MCP:u64",
  econ: "MCP:u64",
  eresp: "MCP:u64",
  wretr: "MCP:u64",
  wredis: "MCP:u64",
  status: "SGP:str",
  weight: "MaP:u32",
  act: { F: "", B: "MGP:u32", S: "SGP:u32" },
  bck: { F: "", B: "MGP:u32", S: "SGP:u32" },
  chkfail: "MCP:u64",
  chkdown: "MCP:u64",
  lastchg: "MAP:u32",
  downtime: "MCP:u32",
  qlimit: "CGS:u32",
  pid: "KGP:u32",
  iid: "KGS:u32",
  sid: "KGS:u32",
  throttle: null,
  lbtot: "MCP:u64",
  tracked: null,
  type: "CGS:u32",
  rate: { F: "MRP:u32", B: "MGP:u32", S: "MRP:u32" },
  rate_lim: "CLP:u32",
  rate_max: { F: "MMP:u32", B: "MGP:u32", S: "MMP:u32" },
  check_status: "MOP:str",
  check_code: "MOP:u32",
  check_duration: "MDP:u64",
  hrsp_1xx: "MCP:u64",
  hrsp_2xx: "MCP:u64",
  hrsp_3xx: "MCP:u64",
  hrsp_4xx: "MCP:u64",
  hrsp_5xx: "MCP:u64",
  hrsp_other: "MCP:u64",
  hanafail: null,
  req_rate: "MRP:u32",
  req_rate_max: "MMP:u32",
  req_tot: "MCP:u64",
  cli_abrt: "MCP:u64",
  srv_abrt: "MCP:u64",
  comp_in: "MCP:u64",
  comp_out: "MCP:u64",
  comp_byp: "MCP:u64",
  comp_rsp: "MCP:u64",
  lastsess: "MAP:s32",
  last_chk: "MOP:str",
  last_agt: null,
  qtime: "MaP:u32",
  ctime: "MaP:u32",
  rtime: "MaP:u32",
  ttime: "MaP:u32",
  agent_status: null,
  agent_code: null,
  agent_duration: null,
  check_desc: "MOP:str",
  agent_desc: null,
  check_rise: "CGS:u32",
  check_fall: "CGS:u32",
  check_health: "CGS:u32",
  agent_rise: null,
  agent_fall: null,
  agent_health: null,
  addr: "CGS:str",
  cookie: null,
  mode: "CGS:str",
  algo: "CGS:str",
};

const OBJ_TYPE = ["Frontend", "Backend", "Server"];

function specOf(col: CsvColumn, obj: "F" | "B" | "S"): FieldSpec | null {
  const s = FIELD_SPECS[col];
  if (s === null) return null;
  return typeof s === "string" ? s : s[obj] || s.S || s.B || s.F;
}

/** Renders `show stat` in the requested format ("" = CSV). */
export function renderStat(snap: StatsSnapshot, format: "" | "typed" | "json"): string {
  if (format === "") return renderStatsCsv(snap);
  const objs: string[] = [];
  let out = "";
  for (const r of statsCsvRows(snap)) {
    const t = Number(r.type ?? 0);
    const obj = t === 0 ? "F" : t === 1 ? "B" : "S";
    const fields: string[] = [];
    CSV_COLUMNS.forEach((col, pos) => {
      const v = r[col];
      if (v === undefined || v === "") return;
      const spec = specOf(col, obj);
      if (spec === null) return;
      if (format === "typed") {
        out += `${obj}.${r.iid}.${r.sid}.${pos}.${col}.1:${typedValue(spec, v)}\n`;
      } else {
        fields.push(
          `{"objType":"${
            OBJ_TYPE[t]
          }","proxyId":${r.iid},"id":${r.sid},"field":{"pos":${pos},"name":"${col}"},"processNum":1,${
            jsonTagsValue(spec, v)
          }}`,
        );
      }
    });
    if (format === "json") objs.push("[" + fields.join(",") + "]");
  }
  return format === "json" ? "[" + objs.join(",") + "]\n" : out;
}
