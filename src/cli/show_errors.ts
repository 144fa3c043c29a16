// `show errors [<px>] [request|response]` (HAProxy's cli_io_handler_show_errors
// and dump_text_line()): the last refused request of each frontend and the
// last refused response of each backend, with where the parser stopped and
// the bytes as received, in HAProxy 2.6's layout. The snapshots are kept by
// the HTTP analysers (src/http/error_capture.ts) and handed in by the
// process; this file only formats them.

import type { CliErrorSnapshot, CliProcess } from "./types.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "[07/Dec/2026:08:35:25.894]" in local time, as HAProxy dates its snapshots. */
export function errorDate(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `[${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${
    p2(d.getMinutes())
  }:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}]`;
}

/**
 * One dump line of `buf` from `ptr` (HAProxy's dump_text_line()): "  00000  "
 * (a "+" instead of the second blank when the line continues a cut one),
 * printable ASCII as is, \t \n \r \e \\ escaped, other bytes as \xHH, cut
 * at 80 columns or after a line feed. Returns the text and the next offset.
 */
export function dumpTextLine(buf: Uint8Array, ptr: number, bol: boolean): [string, number] {
  let out = `  ${String(ptr).padStart(5, "0")}${bol ? " " : "+"} `;
  const end = 80;
  while (ptr < buf.length) {
    const c = buf[ptr]!;
    if (c >= 0x20 && c < 0x7f && c !== 0x5c) {
      if (out.length > end - 2) break;
      out += String.fromCharCode(c);
    } else if (c === 0x09 || c === 0x0a || c === 0x0d || c === 0x1b || c === 0x5c) {
      if (out.length > end - 3) break;
      out += "\\" +
        (c === 0x09 ? "t" : c === 0x0a ? "n" : c === 0x0d ? "r" : c === 0x1b ? "e" : "\\");
    } else {
      if (out.length > end - 5) break;
      out += "\\x" + c.toString(16).toUpperCase().padStart(2, "0");
    }
    if (buf[ptr++] === 0x0a) return [out + "\n", ptr];
  }
  return [out + "\n", ptr];
}

/** The whole dump of a snapshot's bytes. */
function dump(buf: Uint8Array): string {
  let out = "", ptr = 0, bol = true;
  while (ptr < buf.length) {
    const [line, next] = dumpTextLine(buf, ptr, bol);
    out += line;
    bol = next > 0 && buf[next - 1] === 0x0a;
    if (next === ptr) break;
    ptr = next;
  }
  return out;
}

/**
 * Renders `show errors`. Arguments: an optional proxy name or #id, then
 * optionally "request" or "response" to show one direction only.
 */
export function renderErrors(p: CliProcess, args: readonly string[]): string {
  let name: string | null = null;
  let dir: "request" | "response" | null = null;
  for (const a of args) {
    if (a === "request" || a === "response") dir = a;
    else if (a !== "") name = a;
  }
  const feId = (n: string) => p.frontends.findIndex((f) => f.name === n) + 1;
  const beId = (n: string) => {
    const i = p.backends.findIndex((b) => b.name === n);
    return i < 0 ? -1 : p.frontends.length + i + 1;
  };
  const snaps: readonly CliErrorSnapshot[] = p.errorSnapshots?.() ?? [];
  let total = 0;
  for (const s of snaps) total = Math.max(total, s.event + 1);
  let out = `Total events captured on ${errorDate(Date.now())} : ${total}\n`;
  for (const s of snaps) {
    if (dir !== null && s.dir !== dir) continue;
    if (
      name !== null && s.frontend !== name && s.backend !== name &&
      `#${feId(s.frontend)}` !== name && `#${beId(s.backend)}` !== name
    ) continue;
    const srvIdx = s.server === ""
      ? -1
      : (p.backends.find((b) => b.name === s.backend)?.servers.find((v) => v.name === s.server)
        ?.id ?? -2) + 1;
    out += ` \n${errorDate(s.when)}`;
    if (s.dir === "request") {
      out += ` frontend ${s.frontend} (#${feId(s.frontend)}): invalid request\n` +
        `  backend ${s.backend || "<NONE>"} (#${s.backend ? beId(s.backend) : -1})`;
    } else {
      out += ` backend ${s.backend} (#${beId(s.backend)}): invalid response\n` +
        `  frontend ${s.frontend || "<NONE>"} (#${s.frontend ? feId(s.frontend) : -1})`;
    }
    const bufsize = p.cfg.global.bufsize;
    out +=
      `, server ${
        s.server || "<NONE>"
      } (#${srvIdx}), event #${s.event}, src ${s.src}:${s.srcPort}\n` +
      `  buffer starts at 0 (including 0 out), ${Math.max(0, bufsize - s.bytes.length)} free,\n` +
      `  len ${s.bytes.length}, wraps at ${bufsize}, error at position ${Math.max(0, s.errPos)}\n` +
      `  reason: ${s.reason}\n  \n` + dump(s.bytes);
  }
  return out;
}
