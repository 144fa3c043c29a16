// Every observable field of a parsed head, for deep comparisons in the
// parser's property and differential tests (what each adds around it, the
// return value and the error, is theirs).

import type { HttpHead } from "../../src/http/types.ts";

/** The head's fields: bounds, start line parts, header lines, host, flags, framing. */
export function headFields(h: HttpHead): Record<string, unknown> {
  const hdrs: number[] = [];
  for (let i = 0; i < h.hdrCount; i++) {
    hdrs.push(
      h.nameStart(i),
      h.nameLen(i),
      h.valueStart(i),
      h.valueLen(i),
      h.nameId(i),
      h.hdrFlags[i] as number,
    );
  }
  return {
    start: h.start,
    end: h.end,
    method: [h.method, h.methodStart, h.methodLen],
    target: [
      h.targetStart,
      h.targetLen,
      h.targetForm,
      h.pathStart,
      h.pathLen,
      h.queryStart,
      h.queryLen,
    ],
    auth: [h.authStart, h.authLen],
    version: h.version,
    status: [h.status, h.reasonStart, h.reasonLen],
    hdrs,
    hostIdx: h.hostIdx,
    flags: h.flags,
    body: [h.bodyType, h.contentLength],
  };
}
