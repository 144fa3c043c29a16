// The runtime API's command table (HAProxy's cli_kws keyword lists): each
// command's words, help line, required level and handler, and the
// dispatcher that finds the command of a line, checks the level and runs it.
//
// A handler returns the answer text (HAProxy's wording, each line ending
// with "\n"); the connection adds the post-command "\n" or prompt. Changes to
// servers go through src/stats/server_admin.ts, the code the stats page's
// admin form runs too. Nothing here touches a socket.

import { statsCheckState } from "../check/mod.ts";
import { buildSnapshot } from "../stats/snapshot.ts";
import {
  findServer,
  setServerAddr,
  setServerChecks,
  setServerHealth,
  setServerMaxconn,
  setServerState,
  setServerWeight,
} from "../stats/server_admin.ts";
import { VERSION } from "../version.ts";
import {
  addServer,
  clearCounters,
  delServer,
  setFrontendMaxconn,
  setGlobalMaxconn,
} from "./server_cmds.ts";
import { renderErrors } from "./show_errors.ts";
import { renderInfo } from "./show_info.ts";
import {
  renderBackends,
  renderPools,
  renderServersState,
  renderSessions,
  type SessionIds,
  sessionIdText,
} from "./show_misc.ts";
import { renderStat } from "./show_stat.ts";
import { addPattern, clearPatterns, delPattern, setPattern, showPatterns } from "./map_commands.ts";
import { clearTable, setTable, showTable, type StickTableSet } from "../stick/cli.ts";
import {
  CLI_LVL_ADMIN,
  CLI_LVL_OPER,
  CLI_LVL_USER,
  cliLevelName,
  type CliProcess,
} from "./types.ts";

/** One connection's state, as the commands see and change it. */
export interface CliConnState {
  /** The current level (lowered by `operator` / `user`). */
  level: number;
  /** Interactive mode: a prompt after each answer, the connection stays open. */
  prompt: boolean;
  /** Set by `quit`: close after this answer. */
  quit: boolean;
  /** Set by a command whose answer is not followed by the empty line (HAProxy's NOLF). */
  noLf: boolean;
}

/** What a handler gets: the process, the connection, the shared session ids. */
export interface CliEnv {
  readonly p: CliProcess;
  readonly conn: CliConnState;
  readonly ids: SessionIds;
}

type Handler = (env: CliEnv, args: readonly string[]) => string | Promise<string>;

interface Command {
  /** Leading words that select the command ("show", "stat"). */
  readonly words: readonly string[];
  /** Help line: usage and description, as `help` prints them. */
  readonly usage: string;
  readonly desc: string;
  readonly level: number;
  readonly run: Handler;
}

/** HAProxy's answer when the level is too low. */
export const PERMISSION_DENIED = "Permission denied\n";

function snapshot(p: CliProcess) {
  return buildSnapshot(p, statsCheckState);
}

/** Runs `fn` on the server named by args[i] ("backend/server"), or answers why not. */
function onServer(
  env: CliEnv,
  target: string | undefined,
  fn: (
    be: CliProcess["backends"][number],
    srv: CliProcess["backends"][number]["servers"][number],
  ) => string,
): string {
  const f = findServer(env.p.backends, target ?? "");
  return "msg" in f ? f.msg : fn(f.be, f.srv);
}

function setServer(env: CliEnv, args: readonly string[]): string {
  return onServer(env, args[2], (be, srv) => {
    const what = args[3] ?? "", v = args[4] ?? "";
    switch (what) {
      case "state":
        return setServerState(be, srv, v).msg;
      case "weight":
        return setServerWeight(be, srv, v).msg;
      case "health":
        return setServerHealth(be, srv, v).msg;
      case "addr":
        return setServerAddr(be, srv, v, args[5] === "port" ? (args[6] ?? "") : null).msg;
      default:
        return "usage: set server <backend>/<server> addr | health | state | weight\n";
    }
  });
}

function showSessOne(env: CliEnv, id: string): string {
  const all = renderSessions(env.p, env.ids).split("\n");
  const line = all.find((l) => l.startsWith(id + ":"));
  return line !== undefined ? line + "\n" : "";
}

function shutdownSession(env: CliEnv, id: string | undefined): string {
  if (id === undefined || id === "") return "Session pointer expected (use 'show sess').\n";
  for (const s of env.p.liveSessions()) {
    if (sessionIdText(env.ids.idOf(s)) === id.toLowerCase()) {
      s.kill();
      return "";
    }
  }
  return "No such session (use 'show sess').\n";
}

function shutdownServerSessions(env: CliEnv, target: string | undefined): string {
  return onServer(env, target, (_be, srv) => {
    for (const s of [...env.p.liveSessions()]) if (s.srv === srv) s.kill();
    return "";
  });
}

async function reload(env: CliEnv): Promise<string> {
  const r = env.p.reloader ?? null;
  if (r === null) return "reload not available\n";
  let res: { ok: boolean; messages: string[] };
  try {
    res = await r.reload();
  } catch (e) {
    res = { ok: false, messages: [e instanceof Error ? e.message : String(e)] };
  }
  let out = "";
  for (const m of res.messages) out += m.endsWith("\n") ? m : m + "\n";
  return out + (res.ok ? "Success=1\n" : "Success=0\n");
}

function lowerLevel(env: CliEnv, to: number): string {
  if (env.conn.level < to) return PERMISSION_DENIED;
  env.conn.level = to;
  return "";
}

/** The process's stick tables (an empty set when it has none). */
function tablesOf(env: CliEnv): StickTableSet {
  return env.p.tables ?? new Map();
}

/** The commands, in `help` order (HAProxy's is alphabetical with help/prompt/quit last). */
export const COMMANDS: readonly Command[] = [
  {
    words: ["add", "acl"],
    usage: "add acl <acl> <pattern>",
    desc: "add an acl entry",
    level: CLI_LVL_OPER,
    run: (_env, a) => addPattern(false, a.slice(2)),
  },
  {
    words: ["add", "map"],
    usage: "add map <map> <key> <val>",
    desc: "add a map entry",
    level: CLI_LVL_OPER,
    run: (_env, a) => addPattern(true, a.slice(2)),
  },
  {
    words: ["add", "server"],
    usage: "add server <bk>/<srv>",
    desc: "create a new server",
    level: CLI_LVL_ADMIN,
    run: (env, a) => addServer(env.p, a[2] ?? "", a.slice(3)),
  },
  {
    words: ["clear", "acl"],
    usage: "clear acl <acl>",
    desc: "clear the contents of this acl",
    level: CLI_LVL_OPER,
    run: (_env, a) => clearPatterns(false, a[2]),
  },
  {
    words: ["clear", "counters"],
    usage: "clear counters [all]",
    desc: "clear max statistics counters (or all counters)",
    level: CLI_LVL_OPER,
    run: (env, a) => {
      const all = a[2] === "all";
      if (all && env.conn.level < CLI_LVL_ADMIN) return PERMISSION_DENIED;
      clearCounters(env.p, all);
      return "";
    },
  },
  {
    words: ["clear", "map"],
    usage: "clear map <map>",
    desc: "clear the contents of this map",
    level: CLI_LVL_OPER,
    run: (_env, a) => clearPatterns(true, a[2]),
  },
  {
    words: ["clear", "table"],
    usage: "clear table <table> [<filter>]*",
    desc: "remove an entry from a table (filter: data/key)",
    level: CLI_LVL_OPER,
    run: (env, a) => clearTable(tablesOf(env), a.slice(2), env.p.sched.clock.now()),
  },
  {
    words: ["del", "acl"],
    usage: "del acl <acl> <key>",
    desc: "delete acl entries matching <key>",
    level: CLI_LVL_OPER,
    run: (_env, a) => delPattern(false, a.slice(2)),
  },
  {
    words: ["del", "map"],
    usage: "del map <map> <key>",
    desc: "delete map entries matching <key>",
    level: CLI_LVL_OPER,
    run: (_env, a) => delPattern(true, a.slice(2)),
  },
  {
    words: ["del", "server"],
    usage: "del server <bk>/<srv>",
    desc: "remove a server in maintenance with no session",
    level: CLI_LVL_ADMIN,
    run: (env, a) => {
      env.conn.noLf = true;
      return delServer(env.p, a[2] ?? "");
    },
  },
  {
    words: ["disable", "health"],
    usage: "disable health",
    desc: "disable health checks",
    level: CLI_LVL_ADMIN,
    run: (env, a) => onServer(env, a[2], (be, srv) => setServerChecks(be, srv, false).msg),
  },
  {
    words: ["disable", "server"],
    usage: "disable server (DEPRECATED)",
    desc: "disable a server for maintenance (use 'set server' instead)",
    level: CLI_LVL_ADMIN,
    run: (env, a) => onServer(env, a[2], (be, srv) => setServerState(be, srv, "maint").msg),
  },
  {
    words: ["enable", "health"],
    usage: "enable health",
    desc: "enable health checks",
    level: CLI_LVL_ADMIN,
    run: (env, a) => onServer(env, a[2], (be, srv) => setServerChecks(be, srv, true).msg),
  },
  {
    words: ["enable", "server"],
    usage: "enable server  (DEPRECATED)",
    desc: "enable a disabled server (use 'set server' instead)",
    level: CLI_LVL_ADMIN,
    run: (env, a) => onServer(env, a[2], (be, srv) => setServerState(be, srv, "ready").msg),
  },
  {
    words: ["operator"],
    usage: "operator",
    desc: "lower the level of the current CLI session to operator",
    level: CLI_LVL_USER,
    run: (env) => lowerLevel(env, CLI_LVL_OPER),
  },
  {
    words: ["reload"],
    usage: "reload",
    desc: "reload the configuration file (Sluice)",
    level: CLI_LVL_ADMIN,
    run: (env) => reload(env),
  },
  {
    words: ["set", "map"],
    usage: "set map <map> <key> <value>",
    desc: "modify a map entry",
    level: CLI_LVL_OPER,
    run: (_env, a) => setPattern(a.slice(2)),
  },
  {
    words: ["set", "maxconn", "frontend"],
    usage: "set maxconn frontend <frontend> <value>",
    desc: "change a frontend's maxconn setting",
    level: CLI_LVL_ADMIN,
    run: (env, a) => setFrontendMaxconn(env.p, a[3] ?? "", a[4] ?? ""),
  },
  {
    words: ["set", "maxconn", "global"],
    usage: "set maxconn global <value>",
    desc: "change the per-process maxconn setting",
    level: CLI_LVL_ADMIN,
    run: (env, a) => setGlobalMaxconn(env.p, a[3] ?? ""),
  },
  {
    words: ["set", "maxconn", "server"],
    usage: "set maxconn server <bk>/<srv>",
    desc: "change a server's maxconn setting",
    level: CLI_LVL_ADMIN,
    run: (env, a) => onServer(env, a[3], (be, srv) => setServerMaxconn(be, srv, a[4] ?? "").msg),
  },
  {
    words: ["set", "server"],
    usage: "set server <bk>/<srv> [opts]",
    desc: "change a server's state, weight, address or health",
    level: CLI_LVL_ADMIN,
    run: setServer,
  },
  {
    words: ["set", "table"],
    usage: "set table <table> key <k> [data.* <v>]*",
    desc: "update or create a table entry's data",
    level: CLI_LVL_OPER,
    run: (env, a) => setTable(tablesOf(env), a.slice(2), env.p.sched.clock.now()),
  },
  {
    words: ["show", "acl"],
    usage: "show acl [<acl>]",
    desc: "report available acls or dump an acl's contents",
    level: CLI_LVL_USER,
    run: (_env, a) => showPatterns(false, a[2]),
  },
  {
    words: ["show", "backend"],
    usage: "show backend",
    desc: "list backends in the current running config",
    level: CLI_LVL_USER,
    run: (env) => renderBackends(env.p),
  },
  {
    words: ["show", "cli", "level"],
    usage: "show cli level",
    desc: "display the level of the current CLI session",
    level: CLI_LVL_USER,
    run: (env) => cliLevelName(env.conn.level) + "\n",
  },
  {
    words: ["show", "errors"],
    usage: "show errors [<px>] [request|response]",
    desc: "report last request and/or response errors for each proxy",
    level: CLI_LVL_OPER,
    run: (env, a) => renderErrors(env.p, a.slice(2)),
  },
  {
    words: ["show", "info"],
    usage: "show info [json|typed]*",
    desc: "report information about the running process",
    level: CLI_LVL_USER,
    run: (env, a) =>
      renderInfo(
        env.p,
        snapshot(env.p),
        a.includes("json") ? "json" : a.includes("typed") ? "typed" : "",
      ),
  },
  {
    words: ["show", "map"],
    usage: "show map [<map>]",
    desc: "report available maps or dump a map's contents",
    level: CLI_LVL_USER,
    run: (_env, a) => showPatterns(true, a[2]),
  },
  {
    words: ["show", "pools"],
    usage: "show pools",
    desc: "report information about the memory pools usage",
    level: CLI_LVL_USER,
    run: (env) => renderPools(env.p),
  },
  {
    words: ["show", "servers", "state"],
    usage: "show servers state [<backend>]",
    desc: "dump volatile server information (all or for a single backend)",
    level: CLI_LVL_USER,
    run: (env, a) => renderServersState(env.p, a[3] ?? null) ?? "Can't find backend.\n",
  },
  {
    words: ["show", "sess"],
    usage: "show sess [id]",
    desc: "report the list of current sessions or dump this exact session",
    level: CLI_LVL_OPER,
    run: (env, a) => a[2] !== undefined ? showSessOne(env, a[2]) : renderSessions(env.p, env.ids),
  },
  {
    words: ["show", "stat"],
    usage: "show stat [json|typed]*",
    desc: "report counters for each proxy and server",
    level: CLI_LVL_USER,
    run: (env, a) =>
      renderStat(snapshot(env.p), a.includes("json") ? "json" : a.includes("typed") ? "typed" : ""),
  },
  {
    words: ["show", "table"],
    usage: "show table <table> [<filter>]*",
    desc: "report table usage stats or dump this table's contents (filter: data/key)",
    level: CLI_LVL_USER,
    run: (env, a) => {
      // Looking up one key needs operator rights, as in HAProxy.
      if (a.includes("key") && env.conn.level < CLI_LVL_OPER) return PERMISSION_DENIED;
      return showTable(tablesOf(env), a.slice(2), env.p.sched.clock.now());
    },
  },
  {
    words: ["show", "version"],
    usage: "show version",
    desc: "show version of the current process",
    level: CLI_LVL_USER,
    run: () => VERSION + "\n",
  },
  {
    words: ["shutdown", "session"],
    usage: "shutdown session [id]",
    desc: "kill a specific session",
    level: CLI_LVL_ADMIN,
    run: (env, a) => shutdownSession(env, a[2]),
  },
  {
    words: ["shutdown", "sessions", "server"],
    usage: "shutdown sessions server <bk>/<srv>",
    desc: "kill sessions on a server",
    level: CLI_LVL_ADMIN,
    run: (env, a) => shutdownServerSessions(env, a[3]),
  },
  {
    words: ["user"],
    usage: "user",
    desc: "lower the level of the current CLI session to user",
    level: CLI_LVL_USER,
    run: (env) => lowerLevel(env, CLI_LVL_USER),
  },
  {
    words: ["help"],
    usage: "help [<command>]",
    desc: "list matching or all commands",
    level: CLI_LVL_USER,
    run: (_env, a) => help(a.slice(1)),
  },
  {
    words: ["prompt"],
    usage: "prompt",
    desc: "toggle interactive mode with prompt",
    level: CLI_LVL_USER,
    run: (env) => {
      env.conn.prompt = !env.conn.prompt;
      return "";
    },
  },
  {
    words: ["quit"],
    usage: "quit",
    desc: "disconnect",
    level: CLI_LVL_USER,
    run: (env) => {
      env.conn.quit = true;
      env.conn.noLf = true;
      return "";
    },
  },
];

function helpLine(c: Command): string {
  return "  " + c.usage.padEnd(40) + ": " + c.desc + "\n";
}

/** `help [words]`: every command, or those whose words start with the given ones. */
function help(words: readonly string[]): string {
  const match = COMMANDS.filter((c) => words.every((w, i) => c.words[i] === w));
  if (words.length > 0 && match.length > 0) {
    return "The following commands are valid at this level:\n" + match.map(helpLine).join("");
  }
  return "The following commands are valid at this level:\n" + COMMANDS.map(helpLine).join("");
}

/** The answer to a line no command matches: the close ones, else the whole list. */
function unknown(args: readonly string[]): string {
  const close = COMMANDS.filter((c) => c.words[0] === args[0]);
  if (close.length > 0) {
    return "Unknown command, but maybe one of the following ones is a better match:\n" +
      close.map(helpLine).join("");
  }
  return "Unknown command. Please enter one of the following commands only:\n" +
    COMMANDS.map(helpLine).join("");
}

/**
 * Splits one command into words: blanks separate them, a backslash makes the
 * next character literal (HAProxy's cli_parse_request()).
 */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = "", inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (ch === " " || ch === "\t") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/**
 * Runs one command line: finds the longest matching command, refuses it
 * below its level ("Permission denied"), runs it. An exception in a handler
 * is a bug: answered as an internal error, never thrown to the connection.
 */
export async function runCommand(env: CliEnv, line: string): Promise<string> {
  const args = splitArgs(line);
  if (args.length === 0) return unknown(args);
  let best: Command | null = null;
  for (const c of COMMANDS) {
    if (
      c.words.every((w, i) => args[i] === w) &&
      (best === null || c.words.length > best.words.length)
    ) {
      best = c;
    }
  }
  if (best === null) return unknown(args);
  if (env.conn.level < best.level) return PERMISSION_DENIED;
  try {
    return await best.run(env, args);
  } catch (e) {
    return `Internal error: ${e instanceof Error ? e.message : String(e)}\n`;
  }
}
