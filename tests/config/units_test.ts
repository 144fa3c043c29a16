// Unit tests of the configuration units: durations, sizes, addresses.

import assert from "node:assert/strict";
import { formatAddress, parseAddress, parseDuration, parseSize } from "../../src/config/mod.ts";

Deno.test("parseDuration() reads every unit into milliseconds", () => {
  const cases: Array<[string | number, number]> = [
    ["0", 0],
    ["250", 250],
    [250, 250],
    ["500ms", 500],
    ["5s", 5000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1000us", 1],
    // Rounded up so that a short timeout does not become 0 ("no timeout").
    ["500us", 1],
    ["1500us", 2],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, String(input));
});

Deno.test("parseDuration() refuses anything but digits and a known unit", () => {
  for (const bad of ["", "5x", "5 s", " 5s", "5S", "1.5s", "-1s", "s", "5sec", 1.5, -3]) {
    assert.equal(parseDuration(bad), null, String(bad));
  }
});

Deno.test("parseSize() reads bytes and 1024-based k/m/g in any case", () => {
  const cases: Array<[string | number, number]> = [
    ["0", 0],
    [16384, 16384],
    ["1024", 1024],
    ["16k", 16384],
    ["16K", 16384],
    ["1m", 1_048_576],
    ["2G", 2 * 1024 ** 3],
  ];
  for (const [input, bytes] of cases) assert.equal(parseSize(input), bytes, String(input));
});

Deno.test("parseSize() refuses decimals, signs and other suffixes", () => {
  for (const bad of ["", "16q", "16kb", "1.5k", "-1", "k", "16 k", 2.5]) {
    assert.equal(parseSize(bad), null, String(bad));
  }
});

Deno.test("parseAddress() accepts every documented form", () => {
  assert.deepEqual(parseAddress("127.0.0.1:8080", true), {
    kind: "tcp",
    host: "127.0.0.1",
    port: 8080,
    family: 4,
  });
  assert.deepEqual(parseAddress(":8080", true), {
    kind: "tcp",
    host: "0.0.0.0",
    port: 8080,
    family: 4,
  });
  assert.deepEqual(parseAddress("*:8080", true), {
    kind: "tcp",
    host: "0.0.0.0",
    port: 8080,
    family: 4,
  });
  assert.deepEqual(parseAddress("[::1]:8080", false), {
    kind: "tcp",
    host: "::1",
    port: 8080,
    family: 6,
  });
  assert.deepEqual(parseAddress("[::]:8080", true), {
    kind: "tcp",
    host: "::",
    port: 8080,
    family: 6,
  });
  assert.deepEqual(parseAddress("localhost:9000", false), {
    kind: "tcp",
    host: "localhost",
    port: 9000,
    family: 4,
  });
  assert.deepEqual(parseAddress("unix@/run/sluice.sock", true), {
    kind: "unix",
    path: "/run/sluice.sock",
  });
  assert.deepEqual(parseAddress("[::ffff:10.0.0.1]:80", false), {
    kind: "tcp",
    host: "::ffff:10.0.0.1",
    port: 80,
    family: 6,
  });
});

Deno.test("parseAddress() allows port 0 for a bind only", () => {
  assert.deepEqual(parseAddress("127.0.0.1:0", true), {
    kind: "tcp",
    host: "127.0.0.1",
    port: 0,
    family: 4,
  });
  assert.equal(
    parseAddress("127.0.0.1:0", false),
    'invalid port "0" in address "127.0.0.1:0" (expected 1..65535)',
  );
});

Deno.test("parseAddress() explains what is wrong with a bad address", () => {
  const cases: Array<[string, boolean, string]> = [
    [
      "127.0.0.1",
      true,
      'missing port in address "127.0.0.1" (expected HOST:PORT, [IPv6]:PORT or unix@PATH)',
    ],
    [
      "127.0.0.1:",
      true,
      'missing port in address "127.0.0.1:" (expected HOST:PORT, [IPv6]:PORT or unix@PATH)',
    ],
    ["1.2.3.4:65536", true, 'invalid port "65536" in address "1.2.3.4:65536" (expected 0..65535)'],
    ["1.2.3.4:http", true, 'invalid port "http" in address "1.2.3.4:http" (expected 0..65535)'],
    ["300.1.1.1:80", true, 'invalid IPv4 address "300.1.1.1" in "300.1.1.1:80"'],
    ["::1:80", true, 'IPv6 address must be enclosed in brackets in "::1:80" (e.g. "[::1]:8080")'],
    ["[::1:80", true, 'missing "]" in IPv6 address "[::1:80"'],
    ["[fe80::zz]:80", true, 'invalid IPv6 address "fe80::zz" in "[fe80::zz]:80"'],
    ["bad_host!:80", false, 'invalid host name "bad_host!" in "bad_host!:80"'],
    [":8080", false, 'missing host in server address ":8080"'],
    ["*:8080", false, 'missing host in server address "*:8080"'],
    ["unix@", true, 'missing path in unix socket address "unix@"'],
  ];
  for (const [input, forBind, message] of cases) {
    assert.equal(parseAddress(input, forBind), message, input);
  }
});

Deno.test("formatAddress() writes an address back in configuration form", () => {
  for (const text of ["127.0.0.1:8080", "[::1]:443", "unix@/tmp/x.sock", "localhost:9000"]) {
    const a = parseAddress(text, true);
    assert.notEqual(typeof a, "string");
    if (typeof a !== "string") assert.equal(formatAddress(a), text);
  }
});
