// Address forms at unit level: odd spellings parsed or refused with a clear
// message, %{+X}ci of IPv6, IPv4-mapped and unix clients, src networks
// against IPv4-mapped and IPv6 clients, and the source hash of an IPv6
// client.

import assert from "node:assert/strict";
import { parseAddress, parseHost } from "../../../src/config/units.ts";
import { ipHex, type LogContext, LogFormat } from "../../../src/log/log_format.ts";
import { newLogContext } from "../../../src/log/session_log.ts";
import { cidrListMatch, parseCidrList } from "../../../src/acl/ip.ts";
import { hashSource } from "../../../src/backend/lb.ts";

Deno.test("address: odd address spellings are parsed or refused with a clear message", () => {
  // Guards: documented forms.
  assert.deepEqual(parseAddress("[::1]:80", false), {
    kind: "tcp",
    host: "::1",
    port: 80,
    family: 6,
  });
  assert.deepEqual(parseAddress("[::]:0", true), { kind: "tcp", host: "::", port: 0, family: 6 });
  assert.deepEqual(parseAddress("*:80", true), {
    kind: "tcp",
    host: "0.0.0.0",
    port: 80,
    family: 4,
  });
  assert.deepEqual(parseAddress("0.0.0.0:0", true), {
    kind: "tcp",
    host: "0.0.0.0",
    port: 0,
    family: 4,
  });
  assert.deepEqual(parseAddress("[::ffff:127.0.0.1]:8080", false), {
    kind: "tcp",
    host: "::ffff:127.0.0.1",
    port: 8080,
    family: 6,
  });
  // Refused, each with a message naming the problem.
  assert.match(parseAddress("[::1]", true) as string, /missing port/);
  assert.match(parseAddress("[::1]:", true) as string, /missing port/);
  assert.match(parseAddress("0.0.0.0:0", false) as string, /invalid port "0"/);
  assert.match(parseAddress("*:80", false) as string, /missing host/);
  assert.match(parseAddress("unix@", true) as string, /missing path/);
  assert.match(parseAddress("[fe80::1%lo]:80", false) as string, /invalid IPv6/);
  assert.match(parseAddress("[::1]:65536", true) as string, /invalid port/);
  // `:::80` (HAProxy's spelling of "all IPv6, port 80") is refused with a hint to use brackets.
  assert.match(parseAddress(":::80", true) as string, /enclosed in brackets/);
  // Server `addr` accepts IPv6 with or without brackets.
  assert.deepEqual(parseHost("[::1]"), { host: "::1", family: 6 });
  assert.deepEqual(parseHost("::1"), { host: "::1", family: 6 });
});

Deno.test("address: %{+X}ci of IPv6 and IPv4-mapped clients; unix client renders 'unix'", () => {
  assert.equal(ipHex("::1"), "00000000000000000000000000000001");
  assert.equal(ipHex("::ffff:127.0.0.1"), "00000000000000000000FFFF7F000001");
  assert.equal(ipHex("2001:db8::1"), "20010DB8000000000000000000000001");
  const ctx = (ip: string, port: number): LogContext => ({
    ...newLogContext(),
    clientIp: ip,
    clientPort: port,
    frontendIp: ip,
    frontendPort: port,
    frontend: "fe",
    backend: "be",
    server: "s",
    termState: "--",
  });
  const f = new LogFormat("%ci:%cp %{+X}ci %{+Q}ci", { mode: "tcp" });
  assert.equal(f.render(ctx("::1", 5)), '::1:5 00000000000000000000000000000001 "::1"');
  assert.equal(f.render(ctx("unix", 0)), 'unix:0 unix "unix"');
});

Deno.test("address: src networks: IPv4 CIDRs match IPv4-mapped clients, IPv6 CIDRs match IPv6", () => {
  const l = parseCidrList(["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"]);
  assert.ok(!("error" in l));
  assert.ok(cidrListMatch(l, "10.1.2.3"));
  assert.ok(cidrListMatch(l, "::ffff:10.1.2.3"));
  assert.ok(cidrListMatch(l, "::FFFF:10.1.2.3"));
  assert.ok(cidrListMatch(l, "::ffff:a01:203")); // the same address in hex groups
  assert.ok(cidrListMatch(l, "::ffff:127.0.0.1"));
  assert.ok(cidrListMatch(l, "2001:db8::42"));
  assert.ok(!cidrListMatch(l, "11.0.0.1"));
  assert.ok(!cidrListMatch(l, "::1"));
  assert.ok(!cidrListMatch(l, "::10.1.2.3")); // IPv4-compatible (not mapped): no match
  assert.ok(!cidrListMatch(l, "unix"));
  const v6mapped = parseCidrList(["::ffff:10.0.0.0/104"]);
  assert.ok(!("error" in v6mapped));
  assert.ok(cidrListMatch(v6mapped, "10.9.9.9"));
});

Deno.test("address: balance source hash of an IPv6 client is stable and not the round-robin marker", () => {
  assert.equal(hashSource("::1"), hashSource("::1"));
  assert.ok(hashSource("2001:db8::1") >= 0);
  assert.equal(hashSource(""), -1);
});
