// Loading for the running proxy: config/'s pipeline (YAML text → validated,
// resolved RuntimeConfig), then the compile pass (compile.ts) that builds
// the objects of the layers above config/ (ACLs, http rules, log formats,
// errorfiles, cookies). `sluice -c` and the start-up use it, so every error
// of both stages is reported in one run, sorted by position; the proxy
// never starts on a configuration with an error (HAProxy's readcfgfile()
// then check_config_validity(), which also resolves ACLs and log formats).
//
// It lives in proxy/ because it imports every layer it compiles for;
// config/ never does (docs/internals/architecture.md).

import type { StickTable } from "../stick/table.ts";
import {
  type ConfigIssue,
  hasError,
  parseConfigFile,
  parseConfigText,
  type ParseResult,
  type RuntimeConfig,
  sortIssues,
} from "../config/mod.ts";
import { compileConfig, type CompiledConfig } from "./compile.ts";

export { formatIssue } from "../config/mod.ts";

/** The outcome of a load: config and compiled are null when any issue is an error. */
export interface LoadResult {
  config: RuntimeConfig | null;
  issues: ConfigIssue[];
  /** The compiled HTTP layer (ACLs, rules, log formats), null when there is an error. */
  compiled: CompiledConfig | null;
}

/**
 * Parses, validates, resolves and compiles a configuration text; `file`
 * names it in the issues and its directory resolves relative errorfile
 * paths. Never throws for bad input. Issues come sorted by position.
 * Returns a deeply frozen config and its compiled tables, or nulls when
 * there is an error.
 */
export function loadConfigText(text: string, file: string): LoadResult {
  return compileParsed(parseConfigText(text, file), file);
}

/**
 * Reads and loads a configuration file as loadConfigText() does. A file that
 * cannot be read is one error without a position ("FILE: error: cannot read ...").
 */
export async function loadConfigFile(
  path: string,
  previousTables: ReadonlyMap<string, StickTable> | null = null,
): Promise<LoadResult> {
  return compileParsed(await parseConfigFile(path), path, previousTables);
}

/**
 * Runs the compile pass on a parsed config and adds its issues. Compiled
 * even when an error was found already, so that rule, ACL, log-format and
 * errorfile errors come in the same run as the others; not after a YAML
 * syntax error or an unreadable file (no config then).
 */
function compileParsed(
  p: ParseResult,
  file: string,
  previousTables: ReadonlyMap<string, StickTable> | null = null,
): LoadResult {
  if (p.config === null) return { config: null, compiled: null, issues: p.issues };
  const issues = [...p.issues];
  const compiled = compile(p.config, file, issues, previousTables);
  // Stable: at equal positions the parser's issues stay before the compiler's.
  const sorted = sortIssues(issues);
  const ok = !hasError(sorted);
  return { config: ok ? p.config : null, compiled: ok ? compiled : null, issues: sorted };
}

/**
 * Runs the compile pass on `config` and adds its errors to `issues`; returns
 * the compiled config (meaningful only without errors). The config may be
 * only partly resolved after an error (a backend index of -1, values left at
 * their defaults): an exception is reported as an internal error, never
 * thrown. An error at the very place and key path of one already reported
 * is the same problem seen again (an undeclared ACL in a use_backend
 * condition) and is left out.
 */
function compile(
  config: RuntimeConfig,
  file: string,
  issues: ConfigIssue[],
  previousTables: ReadonlyMap<string, StickTable> | null,
): CompiledConfig | null {
  const baseDir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : undefined;
  let c: ReturnType<typeof compileConfig>;
  try {
    c = compileConfig(config, baseDir, previousTables);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    issues.push({
      severity: "error",
      file,
      line: 0,
      col: 0,
      path: "",
      message: `internal error while compiling the configuration: ${reason}`,
    });
    return null;
  }
  const key = (i: ConfigIssue) => `${i.line}:${i.col}:${i.path}`;
  const seen = new Set(issues.filter((i) => i.severity === "error").map(key));
  issues.push(...c.issues.filter((i) => i.severity !== "error" || !seen.has(key(i))));
  return c.compiled;
}
