// Unit tests of header-name interning (src/http/header_names.ts).

import assert from "node:assert/strict";
import * as names from "../../src/http/header_names.ts";
import {
  HDR_CONTENT_LENGTH,
  HDR_HOST,
  HDR_UNKNOWN,
  HEADER_NAMES,
  headerNameId,
  headerNameIdFromString,
  headerNameOf,
} from "../../src/http/header_names.ts";

function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

Deno.test("every HDR_* constant names its table entry", () => {
  const seen = new Set<number>();
  for (const [key, value] of Object.entries(names)) {
    if (!key.startsWith("HDR_") || key === "HDR_UNKNOWN") continue;
    const expected = key.slice(4).toLowerCase().replaceAll("_", "-");
    assert.equal(HEADER_NAMES[value as number], expected, key);
    seen.add(value as number);
  }
  assert.equal(seen.size, HEADER_NAMES.length);
});

Deno.test("headerNameId() finds every table name in any case, at any offset", () => {
  for (let id = 0; id < HEADER_NAMES.length; id++) {
    const name = HEADER_NAMES[id] as string;
    const upper = bytes("xx" + name.toUpperCase() + "yy");
    assert.equal(headerNameId(upper, 2, name.length), id, name);
    const mixed = bytes(name.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()));
    assert.equal(headerNameId(mixed, 0, mixed.length), id, name);
  }
});

Deno.test("headerNameId() returns HDR_UNKNOWN for other names and prefixes", () => {
  for (const n of ["x-custom", "hos", "hostt", "content-lengthx", "", "a".repeat(60), "h\xf6st"]) {
    const b = bytes(n);
    assert.equal(headerNameId(b, 0, b.length), HDR_UNKNOWN, n);
  }
  const b = bytes("content-length");
  assert.equal(headerNameId(b, 0, 7), HDR_UNKNOWN);
});

Deno.test("headerNameIdFromString() and headerNameOf() round-trip", () => {
  assert.equal(headerNameIdFromString("Content-Length"), HDR_CONTENT_LENGTH);
  assert.equal(headerNameIdFromString("HOST"), HDR_HOST);
  assert.equal(headerNameIdFromString("x-nope"), HDR_UNKNOWN);
  assert.equal(headerNameOf(HDR_HOST), "host");
  assert.equal(headerNameOf(HDR_UNKNOWN), null);
});
