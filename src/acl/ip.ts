// The address parser and CIDR lists moved to src/tools/ip.ts (HAProxy keeps
// str2ip/str2net in tools.c) so that the sample layer's map_ip index can use
// them; this file keeps the old import path working for the ACL layer's
// callers.

export * from "../tools/ip.ts";
