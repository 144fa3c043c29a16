// Reading what the kernel knows about a process: CPU time, resident memory,
// established TCP connections on a port, and the TCP accept counter.
//
// CPU time comes from /proc/PID/stat (utime + stime of all threads, in clock
// ticks); memory from VmRSS in /proc/PID/status; connection counts from
// `ss`; accepted connections from /proc/net/snmp. This file only reads; it
// never signals or changes a process.

import { capture } from "./proc.ts";

/** Clock ticks per second (`getconf CLK_TCK`), the unit of utime/stime. */
export async function clockTicksPerSecond(): Promise<number> {
  const r = await capture("getconf", ["CLK_TCK"]);
  const n = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isFinite(n) || n <= 0) {
    throw new Error(`getconf CLK_TCK failed: "${r.stdout.trim()}" ${r.stderr.trim()}`);
  }
  return n;
}

/**
 * Parses the text of /proc/PID/stat and returns utime + stime in clock ticks.
 * The command name (field 2) is in parentheses and may hold spaces, so the
 * fields are counted from the last ")": field 3 (state) is the first after it,
 * utime is field 14 and stime field 15.
 */
export function parseStatCpuTicks(stat: string): number {
  const close = stat.lastIndexOf(")");
  if (close < 0) throw new Error(`Unexpected /proc stat line "${stat.slice(0, 80)}"`);
  const fields = stat.slice(close + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`Unexpected /proc stat line "${stat.slice(0, 80)}"`);
  }
  return utime + stime;
}

/** utime + stime of process `pid` (all its threads), in clock ticks. */
export function readCpuTicks(pid: number): number {
  return parseStatCpuTicks(Deno.readTextFileSync(`/proc/${pid}/stat`));
}

/** Returns the value in KiB of a "Key:   123 kB" line of /proc/PID/status. */
export function parseStatusKiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status);
  if (m === null) throw new Error(`No ${key} in /proc status`);
  return Number(m[1]);
}

/** Resident set size of process `pid`, in KiB. */
export function readRssKiB(pid: number): number {
  return parseStatusKiB(Deno.readTextFileSync(`/proc/${pid}/status`), "VmRSS");
}

/** Number of open file descriptors of process `pid`. */
export function countFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/**
 * Counts established TCP sockets whose local port (`side` "sport") or remote
 * port ("dport") is `port`. With dport = a backend's port, this counts the
 * connections proxies (and clients) hold towards that backend.
 */
export async function countEstablished(port: number, side: "sport" | "dport"): Promise<number> {
  const r = await capture("ss", ["-Htn", "state", "established", `( ${side} = :${port} )`]);
  if (r.code !== 0) throw new Error(`ss failed: ${r.stderr.trim()}`);
  let n = 0;
  for (const line of r.stdout.split("\n")) if (line.trim() !== "") n++;
  return n;
}

/** Clock ticks of one CPU core since boot (from /proc/stat). */
export interface CoreTicks {
  /**
   * user + nice + system + irq + steal: time processes ran (or the hypervisor
   * took the core). Softirq time is apart: with IRQ time accounting the
   * kernel charges it to no process, not even to the proxy whose loopback
   * traffic caused it.
   */
  busy: number;
  /** Softirq time (mostly network receive processing). */
  softirq: number;
  /** busy + softirq + idle + iowait. */
  total: number;
}

/**
 * Parses the "cpuN" line of /proc/stat text. Throws when core `core` is absent.
 * Fields: user nice system idle iowait irq softirq steal guest guest_nice;
 * guest time is already counted in user, so it is left out.
 */
export function parseCoreTicks(stat: string, core: number): CoreTicks {
  const m = new RegExp(`^cpu${core} (.*)$`, "m").exec(stat);
  if (m === null) throw new Error(`No cpu${core} line in /proc/stat`);
  const f = m[1]!.trim().split(/\s+/).map(Number);
  const at = (i: number) => f[i] ?? 0;
  const busy = at(0) + at(1) + at(2) + at(5) + at(7);
  const softirq = at(6);
  return { busy, softirq, total: busy + softirq + at(3) + at(4) };
}

/** Busy and total ticks of core `core` now. */
export function readCoreTicks(core: number): CoreTicks {
  return parseCoreTicks(Deno.readTextFileSync("/proc/stat"), core);
}

/**
 * Parses /proc/net/snmp text and returns the TCP PassiveOpens counter:
 * connections accepted (SYN-RECV → ESTABLISHED) by any socket of the network
 * namespace since boot.
 */
export function parsePassiveOpens(snmp: string): number {
  const lines = snmp.split("\n").filter((l) => l.startsWith("Tcp:"));
  if (lines.length < 2) throw new Error("No Tcp lines in /proc/net/snmp");
  const names = lines[0]!.trim().split(/\s+/);
  const values = lines[1]!.trim().split(/\s+/);
  const i = names.indexOf("PassiveOpens");
  const v = Number(values[i]);
  if (i < 0 || !Number.isFinite(v)) throw new Error("No Tcp PassiveOpens in /proc/net/snmp");
  return v;
}

/** TCP connections accepted in this network namespace since boot (all processes). */
export function readPassiveOpens(): number {
  return parsePassiveOpens(Deno.readTextFileSync("/proc/net/snmp"));
}
