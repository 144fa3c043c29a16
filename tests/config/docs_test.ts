// docs/configuration.md must document every key and option the tables accept.

import assert from "node:assert/strict";
import {
  BACKEND_KEYWORDS,
  BALANCE_KEYWORDS,
  DEFAULTS_KEYWORDS,
  FRONTEND_KEYWORDS,
  GLOBAL_KEYWORDS,
  OPTION_KEYWORDS,
  SERVER_KEYWORDS,
  STATS_KEYWORDS,
  STATS_SOCKET_KEYWORDS,
  TIMEOUT_KEYWORDS,
} from "../../src/config/keywords.ts";

const DOC = new URL("../../docs/configuration.md", import.meta.url);

Deno.test("docs/configuration.md names every key, option and balance algorithm", async () => {
  const text = await Deno.readTextFile(DOC);
  const names = [
    GLOBAL_KEYWORDS,
    DEFAULTS_KEYWORDS,
    FRONTEND_KEYWORDS,
    BACKEND_KEYWORDS,
    SERVER_KEYWORDS,
    TIMEOUT_KEYWORDS,
    STATS_KEYWORDS,
    STATS_SOCKET_KEYWORDS,
    OPTION_KEYWORDS,
    BALANCE_KEYWORDS,
  ].flatMap((t) => t.map((k) => k.name));
  // Each appears in code style, alone or followed by its arguments (`uri [len N]`).
  const missing = [...new Set(names)].filter((n) =>
    !text.includes("`" + n + "`") && !text.includes("`" + n + " ")
  );
  assert.deepEqual(missing, []);
});
