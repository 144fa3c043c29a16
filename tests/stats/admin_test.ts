// parseAdminForm(): the admin POST body of the stats page.

import assert from "node:assert/strict";
import { ADMIN_BODY_MAX, parseAdminForm } from "../../src/stats/admin.ts";

Deno.test("admin: parses s=backend/server and action", () => {
  assert.deepEqual(parseAdminForm("s=be_app%2Fweb1&action=drain"), {
    backend: "be_app",
    server: "web1",
    action: "drain",
    weight: -1,
  });
  assert.deepEqual(parseAdminForm("action=MAINT&s=be.1/srv:2&extra=x"), {
    backend: "be.1",
    server: "srv:2",
    action: "maint",
    weight: -1,
  });
  assert.deepEqual(parseAdminForm("s=a-b/c_d&action=ready"), {
    backend: "a-b",
    server: "c_d",
    action: "ready",
    weight: -1,
  });
  assert.deepEqual(parseAdminForm("s=be/s1&action=weight&weight=200"), {
    backend: "be",
    server: "s1",
    action: "weight",
    weight: 200,
  });
  assert.deepEqual(parseAdminForm("s=be/s1&action=weight&weight=300"), {
    error: 'Invalid weight "300": expected 0..256',
  });
});

Deno.test("admin: refuses bad forms with a message", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /Missing "s"/],
    ["action=drain", /Missing "s"/],
    ["s=be/srv", /Missing "action"/],
    ["s=be/srv&action=kill", /Unknown action "kill"/],
    ["s=be&action=drain", /Invalid server "be": expected backend\/server/],
    ["s=a/b/c&action=drain", /Invalid server "a\/b\/c"/],
    ["s=/srv&action=drain", /Invalid backend name ""/],
    ["s=be/&action=drain", /Invalid server name ""/],
    ["s=b+e/srv&action=drain", /Invalid backend name "b e"/],
    ["s=be/s%3Cx%3E&action=drain", /Invalid server name "s<x>"/],
    ["s=be/a&s=be/b&action=drain", /Several "s"/],
    ["s=be/a&action=drain&action=maint", /Several "action"/],
    ["s=be/a&action=drain&" + "x".repeat(ADMIN_BODY_MAX), /too large/],
  ];
  for (const [body, re] of cases) {
    const r = parseAdminForm(body);
    assert.ok("error" in r, body);
    assert.match(r.error, re, body);
  }
});
