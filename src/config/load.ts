// Parsing: from a file or a text to a RuntimeConfig and the list of issues.
//
// This file owns the pipeline YAML text → yaml Document (with a LineCounter
// so that every node has a line and column) → validate.ts → resolve.ts, and
// the text form of an issue. A YAML syntax error stops the pipeline with one
// error at its position (what follows a syntax error is noise); everything
// else is reported together. It mirrors HAProxy's readcfgfile() followed by
// check_config_validity(): the proxy never starts on a configuration with an
// error, and prints warnings without refusing it.
//
// It never compiles what the upper layers own (ACLs, rules, log formats):
// src/proxy/load.ts runs parseConfigText() and then that compile pass, so
// that `sluice -c` reports the errors of both in one run.

import { LineCounter, parseDocument } from "yaml";
import type { ConfigIssue, RuntimeConfig } from "./types.ts";
import { Reporter, validateDocument } from "./validate.ts";
import { resolveConfig } from "./resolve.ts";

/**
 * The outcome of the pipeline, whatever the issues: the layer that goes on
 * checking (the compile pass, src/proxy/load.ts) needs the config even after
 * an error, so that all errors come in one run. Whoever runs the config
 * must refuse it when hasError(issues).
 */
export interface ParseResult {
  /**
   * The resolved, deeply frozen config, also after an error (then only
   * partly resolved: a backend index of -1, values left at their defaults);
   * null after a YAML syntax error or when the file cannot be read.
   */
  config: RuntimeConfig | null;
  /** Every issue, sorted by position. */
  issues: ConfigIssue[];
}

/**
 * Parses, validates and resolves a configuration text; `file` names it in
 * the issues. Never throws for bad input. Issues come sorted by position.
 * Returns the deeply frozen config also when there is an error (see
 * ParseResult).
 */
export function parseConfigText(text: string, file: string): ParseResult {
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
    return { config: null, issues: rep.issues };
  }
  for (const w of doc.warnings) {
    const { line, col } = lc.linePos(w.pos[0]);
    rep.warn({ line, col, path: "" }, `YAML: ${yamlMessage(w.message)}`);
  }
  const checked = validateDocument(doc, rep);
  const config = resolveConfig(checked, rep);
  return { config, issues: sortIssues(rep.issues) };
}

/**
 * Reads a configuration file and runs parseConfigText() on it. A file that
 * cannot be read is one error without a position ("FILE: error: cannot read
 * ...").
 */
export async function parseConfigFile(path: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return {
      config: null,
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
  return parseConfigText(text, path);
}

/** True when one of the issues is an error. */
export function hasError(issues: readonly ConfigIssue[]): boolean {
  return issues.some((i) => i.severity === "error");
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
 * Orders issues by position, keeping the report order for equal positions
 * (stable: issues added after a sort and sorted again keep this order).
 */
export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, n) => ({ issue, n }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.col - b.issue.col || a.n - b.n)
    .map((x) => x.issue);
}

/** The yaml package's message without its " at line L, column C" tail. */
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+[\s\S]*$/, "").trim();
}
