// `show info [typed|json]` (HAProxy's stats_fill_info / stats_dump_info_to_buffer):
// process-wide facts, one "Name: value" line per field, with HAProxy 2.6's
// field names in its order so that scripts and exporters written for it
// find every key. Fields Sluice has no counterpart for (SSL, pipes,
// compression, peers, rates, resolvers) are present with 0, as HAProxy
// prints them when unused. The values come from a StatsSnapshot and the
// process; nothing here changes anything.

import type { StatsSnapshot } from "../stats/snapshot.ts";
import type { CliProcess } from "./types.ts";
import { type FieldSpec, jsonTagsValue, typedValue } from "./typed.ts";

/**
 * HAProxy 2.6's info fields in order (the index is the field's position),
 * with their tags and type; "" marks a field that is always empty and so
 * never printed, as HAProxy skips empty fields.
 */
export const INFO_FIELDS: readonly (readonly [string, FieldSpec])[] = [
  ["Name", "POS:str"],
  ["Version", "POS:str"],
  ["Release_date", "POS:str"],
  ["Nbthread", "CGS:u32"],
  ["Nbproc", "CGS:u32"],
  ["Process_num", "KGP:u32"],
  ["Pid", "SGP:u32"],
  ["Uptime", "MDP:str"],
  ["Uptime_sec", "MDP:u32"],
  ["Memmax_MB", "CLP:u32"],
  ["PoolAlloc_MB", "MGP:u32"],
  ["PoolUsed_MB", "MGP:u32"],
  ["PoolFailed", "MCP:u32"],
  ["Ulimit-n", "CLP:u32"],
  ["Maxsock", "CLP:u32"],
  ["Maxconn", "CLP:u32"],
  ["Hard_maxconn", "CLP:u32"],
  ["CurrConns", "MGP:u32"],
  ["CumConns", "MCP:u32"],
  ["CumReq", "MCP:u32"],
  ["MaxSslConns", "MMP:u32"],
  ["CurrSslConns", "MGP:u32"],
  ["CumSslConns", "MCP:u32"],
  ["Maxpipes", "CLP:u32"],
  ["PipesUsed", "MGP:u32"],
  ["PipesFree", "MGP:u32"],
  ["ConnRate", "MRP:u32"],
  ["ConnRateLimit", "CLP:u32"],
  ["MaxConnRate", "MMP:u32"],
  ["SessRate", "MRP:u32"],
  ["SessRateLimit", "CLP:u32"],
  ["MaxSessRate", "MRP:u32"],
  ["SslRate", "MRP:u32"],
  ["SslRateLimit", "CLP:u32"],
  ["MaxSslRate", "MMP:u32"],
  ["SslFrontendKeyRate", "MGP:u32"],
  ["SslFrontendMaxKeyRate", "MMP:u32"],
  ["SslFrontendSessionReuse_pct", "MGP:u32"],
  ["SslBackendKeyRate", "MRP:u32"],
  ["SslBackendMaxKeyRate", "MMP:u32"],
  ["SslCacheLookups", "MCP:u32"],
  ["SslCacheMisses", "MCP:u32"],
  ["CompressBpsIn", "MRP:u32"],
  ["CompressBpsOut", "MRP:u32"],
  ["CompressBpsRateLim", "CLP:u32"],
  ["ZlibMemUsage", ""], // HAProxy's positions 45, 46 and 51 are empty without
  ["MaxZlibMemUsage", ""], // zlib and a description: never printed, but counted
  ["Tasks", "MGP:u32"],
  ["Run_queue", "MGP:u32"],
  ["Idle_pct", "MaP:u32"],
  ["node", "COS:str"],
  ["description", ""],
  ["Stopping", "MGP:u32"],
  ["Jobs", "MGP:u32"],
  ["Unstoppable Jobs", "MGP:u32"],
  ["Listeners", "MGP:u32"],
  ["ActivePeers", "MGP:u32"],
  ["ConnectedPeers", "MGP:u32"],
  ["DroppedLogs", "MGP:u32"],
  ["BusyPolling", "MGP:u32"],
  ["FailedResolutions", "MGP:u32"],
  ["TotalBytesOut", "MGP:u64"],
  ["TotalSplicdedBytesOut", "MGP:u64"], // sic: HAProxy's spelling
  ["BytesOutRate", "MRP:u64"],
  ["DebugCommandsIssued", "MGP:u32"],
  ["CumRecvLogs", "MCP:u32"],
  ["Build info", "POS:str"],
  ["Memmax_bytes", "CLP:u32"],
  ["PoolAlloc_bytes", "MGP:u64"],
  ["PoolUsed_bytes", "MGP:u64"],
  ["Start_time_sec", "MDP:u32"],
  ["Tainted", "SGP:str"],
];

const MIB = 1024 * 1024;

/** "1d 2h03m04s", as HAProxy's Uptime. */
export function formatUptime(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return `${d}d ${h}h${String(m).padStart(2, "0")}m${String(s).padStart(2, "0")}s`;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/** The value of every INFO_FIELDS entry, by name. */
export function infoValues(p: CliProcess, snap: StatsSnapshot): Map<string, string | number> {
  const pr = snap.process;
  const pools = [pr.pool, pr.smallPool, ...(pr.bulkPool !== null ? [pr.bulkPool] : [])];
  let alloc = 0, used = 0, failed = 0;
  for (const ps of pools) {
    alloc += ps.allocated * ps.size;
    used += ps.used * ps.size;
    failed += ps.failed;
  }
  let cumConns = 0, cumReq = 0, bytesOut = 0;
  for (const fe of snap.frontends) {
    cumConns += fe.totalSessions;
    cumReq += fe.httpRequests;
    bytesOut += fe.bytesOut;
  }
  const up = Math.floor(pr.uptimeMs / 1000);
  const tasks = p.taskCounts?.() ?? { tasks: 0, runQueue: 0 };
  const v = new Map<string, string | number>();
  for (const [name, spec] of INFO_FIELDS) {
    v.set(name, spec === "" || spec.endsWith(":str") ? "" : 0);
  }
  v.set("Name", "Sluice");
  v.set("Version", pr.version);
  v.set("Release_date", "");
  v.set("Nbthread", 1);
  v.set("Nbproc", 1);
  v.set("Process_num", 1);
  v.set("Pid", pr.pid);
  v.set("Uptime", formatUptime(up));
  v.set("Uptime_sec", up);
  v.set("PoolAlloc_MB", Math.floor(alloc / MIB));
  v.set("PoolUsed_MB", Math.floor(used / MIB));
  v.set("PoolFailed", failed);
  v.set("Maxconn", p.maxconn);
  v.set("Hard_maxconn", p.cfg.global.maxconn);
  v.set("CurrConns", pr.actconn);
  v.set("CumConns", cumConns);
  v.set("CumReq", cumReq);
  v.set("Tasks", tasks.tasks);
  v.set("Run_queue", tasks.runQueue);
  v.set("Idle_pct", 100 - Math.min(100, tasks.runQueue));
  v.set("node", hostname());
  v.set("Stopping", pr.stopping ? 1 : 0);
  v.set("Jobs", pr.actconn + p.listeners.length);
  v.set("Listeners", p.listeners.length);
  // The logger's count, from the process or from the snapshot once it carries it (src/log).
  const fromSnap = (pr as { logDropped?: number }).logDropped;
  v.set("DroppedLogs", p.droppedLogs?.() ?? fromSnap ?? 0);
  v.set("TotalBytesOut", bytesOut);
  v.set("Build info", pr.version);
  v.set("PoolAlloc_bytes", alloc);
  v.set("PoolUsed_bytes", used);
  v.set("Start_time_sec", Math.floor(pr.startedAt / 1000));
  v.set("Tainted", "0");
  return v;
}

/** Renders `show info` in the requested format ("" = plain "Name: value" lines). */
export function renderInfo(
  p: CliProcess,
  snap: StatsSnapshot,
  format: "" | "typed" | "json",
): string {
  const v = infoValues(p, snap);
  let out = "";
  if (format === "json") {
    const parts: string[] = [];
    INFO_FIELDS.forEach(([name, spec], pos) => {
      if (spec === "") return;
      parts.push(
        `{"field":{"pos":${pos},"name":"${name}"},"processNum":1,${
          jsonTagsValue(spec, v.get(name)!)
        }}`,
      );
    });
    return "[" + parts.join(",") + "]\n";
  }
  INFO_FIELDS.forEach(([name, spec], pos) => {
    if (spec === "") return;
    const val = v.get(name)!;
    out += format === "typed" ? `${pos}.${name}.1:${typedValue(spec, val)}\n` : `${name}: ${val}\n`;
  });
  return out;
}
