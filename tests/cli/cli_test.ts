// Unit tests of the runtime API's pieces that need no process: the line
// splitting, the word splitting, the reload answer, HAProxy's dump and time
// formats.

import assert from "node:assert/strict";
import { nextCommand } from "../../src/cli/cli.ts";
import { type CliEnv, runCommand, splitArgs } from "../../src/cli/commands.ts";
import { dumpTextLine } from "../../src/cli/show_errors.ts";
import { formatUptime } from "../../src/cli/show_info.ts";
import { formatAge, SessionIds } from "../../src/cli/show_misc.ts";
import { CLI_LVL_ADMIN, CLI_LVL_USER, type CliProcess } from "../../src/cli/types.ts";

Deno.test("cli: a command ends at a line feed or an unescaped semicolon", () => {
  assert.deepEqual(nextCommand("show info\nrest"), ["show info", "rest"]);
  assert.deepEqual(nextCommand("a;b\n"), ["a", "b\n"]);
  assert.deepEqual(nextCommand("set x a\\;b;c"), ["set x a\\;b", "c"]);
  assert.deepEqual(nextCommand("show info\r\n"), ["show info", ""]);
  assert.equal(nextCommand("incomplete"), null);
  assert.equal(nextCommand(""), null);
});

Deno.test("cli: words split on blanks, a backslash keeps the next character", () => {
  assert.deepEqual(splitArgs("  set  server\tbe/s1 state ready "), [
    "set",
    "server",
    "be/s1",
    "state",
    "ready",
  ]);
  assert.deepEqual(splitArgs("a\\ b c\\;d"), ["a b", "c;d"]);
  assert.deepEqual(splitArgs(""), []);
});

function env(level: number, reloader?: CliProcess["reloader"]): CliEnv {
  const p = { reloader } as unknown as CliProcess;
  return {
    p,
    conn: { level, prompt: false, quit: false, noLf: false },
    ids: new SessionIds(),
  };
}

Deno.test("cli: reload runs the process's reloader and reports its outcome", async () => {
  assert.equal(await runCommand(env(CLI_LVL_ADMIN), "reload"), "reload not available\n");
  let calls = 0;
  const ok = { reload: () => (calls++, Promise.resolve({ ok: true, messages: ["2 binds kept"] })) };
  assert.equal(await runCommand(env(CLI_LVL_ADMIN, ok), "reload"), "2 binds kept\nSuccess=1\n");
  assert.equal(calls, 1);
  const bad = {
    reload: () =>
      Promise.resolve({
        ok: false,
        messages: ["cfg.yaml:3:5: error: bad", "cfg.yaml:9:1: error: worse"],
      }),
  };
  assert.equal(
    await runCommand(env(CLI_LVL_ADMIN, bad), "reload"),
    "cfg.yaml:3:5: error: bad\ncfg.yaml:9:1: error: worse\nSuccess=0\n",
  );
  const throws = { reload: () => Promise.reject(new Error("boom")) };
  assert.equal(await runCommand(env(CLI_LVL_ADMIN, throws), "reload"), "boom\nSuccess=0\n");
  assert.equal(await runCommand(env(CLI_LVL_USER, ok), "reload"), "Permission denied\n");
  assert.equal(calls, 1, "a refused reload does not run");
});

Deno.test("cli: the longest matching command wins; prompt and quit change the connection", async () => {
  const e = env(CLI_LVL_ADMIN);
  assert.equal(await runCommand(e, "show cli level"), "admin\n");
  assert.equal(await runCommand(e, "prompt"), "");
  assert.equal(e.conn.prompt, true);
  assert.equal(await runCommand(e, "user"), "");
  assert.equal(await runCommand(e, "show cli level"), "user\n");
  assert.equal(await runCommand(e, "operator"), "Permission denied\n");
  assert.equal(await runCommand(e, "quit"), "");
  assert.equal(e.conn.quit, true);
  assert.match(
    await runCommand(e, "show nothing"),
    /^Unknown command, but maybe one of the following/,
  );
});

Deno.test("cli: HAProxy's dump lines, uptime and age formats", () => {
  const b = new TextEncoder().encode("GET /\x01\\ HTTP/1.1\r\nh: \x1b\t\n");
  assert.deepEqual(dumpTextLine(b, 0, true), ["  00000  GET /\\x01\\\\ HTTP/1.1\\r\\n\n", 18]);
  assert.deepEqual(dumpTextLine(b, 18, true), ["  00018  h: \\e\\t\\n\n", 24]);
  const long = new Uint8Array(200).fill(0x61);
  const [l1, n1] = dumpTextLine(long, 0, true);
  assert.equal(l1.length, 80, "a line is cut at 80 columns");
  assert.deepEqual(
    dumpTextLine(long, n1, false)[0].slice(0, 9),
    `  ${String(n1).padStart(5, "0")}+ `,
  );
  assert.equal(formatUptime(0), "0d 0h00m00s");
  assert.equal(formatUptime(90061), "1d 1h01m01s");
  assert.equal(formatAge(59), "59s");
  assert.equal(formatAge(125), "2m5s");
  assert.equal(formatAge(3 * 3600 + 120), "3h02m");
});
