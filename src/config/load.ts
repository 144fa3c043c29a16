// Loading: from a file or a text to a RuntimeConfig and the list of issues.
//
// This file owns the pipeline YAML text → yaml Document (with a LineCounter
// so that every node has a line and column) → validate.ts → resolve.ts →
// compile.ts, and the text form of an issue. A YAML syntax error stops the pipeline with one
// error at its position (what follows a syntax error is noise); everything
// else is reported together. It mirrors HAProxy's readcfgfile() followed by
// check_config_validity(): the proxy never starts on a configuration with an
// error, and prints warnings without refusing it.

import { LineCounter, parseDocument } from "yaml";
import type { ConfigIssue, RuntimeConfig } from "./types.ts";
import { Reporter, validateDocument } from "./validate.ts";
import { resolveConfig } from "./resolve.ts";
import { compileConfig, type CompiledConfig } from "./compile.ts";

/** The outcome of a load: config is null when any issue is an error. */
export interface LoadResult {
  config: RuntimeConfig | null;
  issues: ConfigIssue[];
  /** The compiled HTTP layer (ACLs, rules, log formats), null when there is an error. */
  compiled: CompiledConfig | null;
}

/**
 * Parses, validates and resolves a configuration text; `file` names it in
 * the issues. Never throws for bad input. Issues come sorted by position.
 * Returns a deeply frozen config, or null when there is an error.
 */
export function loadConfigText(text: string, file: string): LoadResult {
  // A UTF-8 BOM (editors on Windows) is not content: the LineCounter would
  // count it and shift every column of line 1 by one.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const lc = new LineCounter();
  // uniqueKeys off: the validator reports duplicate keys itself, with the key
  // path and the line of the first definition, and keeps validating.
  const doc = parseDocument(text, {
    lineCounter: lc,
    uniqueKeys: false,
    prettyErrors: false,
  });
  const rep = new Reporter(file, lc);
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = lc.linePos(first.pos[0]);
    const message = first.code === "MULTIPLE_DOCS"
      ? 'more than one YAML document (a configuration is one document: remove the "---")'
      : yamlMessage(first.message);
    rep.error({ line, col, path: "" }, `YAML syntax error: ${message}`);
    return { config: null, compiled: null, issues: rep.issues };
  }
  for (const w of doc.warnings) {
    const { line, col } = lc.linePos(w.pos[0]);
    rep.warn({ line, col, path: "" }, `YAML: ${yamlMessage(w.message)}`);
  }
  const checked = validateDocument(doc, rep);
  const config = resolveConfig(checked, rep);
  // Compiled even when an error was found already, so that rule, ACL,
  // log-format and errorfile errors come in the same run as the others.
  const compiled = compile(config, file, rep);
  const issues = sortIssues(rep.issues);
  const ok = !issues.some((i) => i.severity === "error");
  return { config: ok ? config : null, compiled: ok ? compiled : null, issues };
}

/**
 * Reads and loads a configuration file. A file that cannot be read is one
 * error without a position ("FILE: error: cannot read ...").
 */
export async function loadConfigFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return {
      config: null,
      compiled: null,
      issues: [{
        severity: "error",
        file: path,
        line: 0,
        col: 0,
        path: "",
        message: `cannot read the configuration file: ${reason}`,
      }],
    };
  }
  return loadConfigText(text, path);
}

/**
 * Formats an issue as `FILE:LINE:COL: error: KEY.PATH: message` (or
 * `warning:`). The line/col part is left out when unknown (0), and the key
 * path when empty (YAML syntax errors, unreadable file).
 */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  const path = i.path === "" ? "" : `${i.path}: `;
  return `${where}: ${i.severity}: ${path}${i.message}`;
}

/**
 * Runs the compile pass on `config` and adds its errors to `rep`; returns the
 * compiled config (meaningful only without errors). The config may be only
 * partly resolved after an error (a backend index of -1, values left at their
 * defaults): an exception is reported as an internal error, never thrown. An
 * error at the very place and key path of one already reported is the same
 * problem seen again (an undeclared ACL in a use_backend condition) and is
 * left out.
 */
function compile(config: RuntimeConfig, file: string, rep: Reporter): CompiledConfig | null {
  const baseDir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : undefined;
  let c: ReturnType<typeof compileConfig>;
  try {
    c = compileConfig(config, baseDir);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    rep.error(
      { line: 0, col: 0, path: "" },
      `internal error while compiling the configuration: ${reason}`,
    );
    return null;
  }
  const key = (i: ConfigIssue) => `${i.line}:${i.col}:${i.path}`;
  const seen = new Set(rep.issues.filter((i) => i.severity === "error").map(key));
  rep.issues.push(...c.issues.filter((i) => i.severity !== "error" || !seen.has(key(i))));
  return c.compiled;
}

/** Orders issues by position, keeping the report order for equal positions. */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, n) => ({ issue, n }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.col - b.issue.col || a.n - b.n)
    .map((x) => x.issue);
}

/** The yaml package's message without its " at line L, column C" tail. */
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+[\s\S]*$/, "").trim();
}
