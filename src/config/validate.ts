// Validation: the first pass over the parsed YAML document.
//
// This file walks the YAML node tree section by section against the keyword
// tables (keywords.ts) and turns every value it accepts into a typed value
// that remembers its line, column and key path. It reports every problem it
// meets (unknown keys with a "did you mean" hint, wrong types, bad units and
// addresses, out-of-range numbers, unknown modes/algorithms/options, duplicate
// keys and server names, missing required keys) and keeps going, so that one
// run lists them all. It never applies defaults nor looks across sections:
// that is the resolver's job (resolve.ts). Mirrors HAProxy's cfgparse.c
// keyword dispatch and its "parsing [file:line] : ..." alerts.

import { isAlias, isMap, isScalar, isSeq, type LineCounter, Scalar } from "yaml";
import type { Document } from "yaml";
import type { BalanceAlgo, ConfigIssue, RuleLine } from "./types.ts";
import { type BindLine, parseBindLine } from "./bind.ts";
import { type LogLine, parseLogLine } from "./log_target.ts";
import {
  BACKEND_KEYWORDS,
  BALANCE_KEYWORDS,
  DEFAULTS_KEYWORDS,
  findKeyword,
  FRONTEND_KEYWORDS,
  GLOBAL_KEYWORDS,
  INT_MAX,
  type Keyword,
  OPTION_KEYWORDS,
  ROOT_KEYWORDS,
  SERVER_KEYWORDS,
  STATS_KEYWORDS,
  STATS_SOCKET_KEYWORDS,
  TIMEOUT_KEYWORDS,
} from "./keywords.ts";
import {
  formatSize,
  isIPv4,
  isIPv6,
  MAX_DURATION_MS,
  parseAddress,
  parseDuration,
  parseHost,
  parseSize,
} from "./units.ts";
import { didYouMean } from "../tools/suggest.ts";
import { balanceArgsError } from "./balance.ts";

/** Where a key or value sits: 1-based line and column, and its key path. */
export interface Located {
  line: number;
  col: number;
  path: string;
}

/** A validated value with its position. */
export interface Val<T> extends Located {
  value: T;
}

/**
 * A validated section (global, defaults, one frontend/backend/server, a
 * timeout or stats map): the accepted values by key. Its own position is the
 * position of its name key (or of the section key for global/defaults).
 */
export interface Section extends Located {
  /** Proxy or server name; "" for unnamed sections. */
  name: string;
  values: Map<string, Val<unknown>>;
  /** Keys present with a refused value (reported), so later checks stay quiet about them. */
  invalid: Set<string>;
}

/** One `option` line: "httpchk GET /health" → name "httpchk", args ["GET", "/health"]. */
export interface OptionLine extends Located {
  name: string;
  args: string[];
  /** "no NAME": cancels the option inherited from defaults. */
  negate: boolean;
}

/** One ACL declaration; line/col point at the expression. */
export interface AclLine extends Located {
  name: string;
  expr: string;
}

/** One `use_backend` rule; cond is "" or starts with "if " / "unless ". */
export interface UseBackendLine extends Located {
  backend: string;
  cond: string;
}

/** A `balance` value split into algorithm and HAProxy-spelled arguments. */
export interface ParsedBalance {
  algo: BalanceAlgo;
  args: string[];
}

/** Everything the validator accepted, for the resolver. */
export interface CheckedConfig {
  global: Section | null;
  defaults: Section | null;
  frontends: Section[];
  backends: Section[];
}

/** Collects issues and turns YAML offsets into 1-based line/col. */
export class Reporter {
  readonly issues: ConfigIssue[] = [];
  readonly file: string;
  readonly lc: LineCounter;

  constructor(file: string, lc: LineCounter) {
    this.file = file;
    this.lc = lc;
  }

  /** Position of a YAML node (its first character), with the given key path. */
  at(node: unknown, path: string): Located {
    const range = (node as { range?: readonly number[] } | null)?.range;
    const { line, col } = this.lc.linePos(range?.[0] ?? 0);
    return { line, col, path };
  }

  error(at: Located, message: string): void {
    this.#push("error", at, message);
  }

  warn(at: Located, message: string): void {
    this.#push("warning", at, message);
  }

  #push(severity: ConfigIssue["severity"], at: Located, message: string): void {
    this.issues.push({
      severity,
      file: this.file,
      line: at.line,
      col: at.col,
      path: at.path,
      message,
    });
  }
}

/** "a, b or c". */
function listOr(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/**
 * Returns an error message when a proxy, server or ACL name has a character
 * HAProxy refuses (its invalid_char() rule: letters, digits, "-_.:").
 */
function checkName(name: string, what: string): string | null {
  if (name === "") return `empty ${what} name`;
  const bad = /[^A-Za-z0-9_.:-]/.exec(name);
  return bad === null ? null : `character '${bad[0]}' is not permitted in ${what} name "${name}"`;
}

/** The sections whose tables decide where a misplaced key belongs. */
const PROXY_SECTIONS: ReadonlyArray<[string, readonly Keyword[]]> = [
  ["global", GLOBAL_KEYWORDS],
  ["defaults", DEFAULTS_KEYWORDS],
  ["frontends", FRONTEND_KEYWORDS],
  ["backends", BACKEND_KEYWORDS],
];

/** Marker for a value the validator refused (already reported). */
const INVALID: unique symbol = Symbol("invalid");
type Result<T> = T | typeof INVALID;
/** Stands for a node that could not be read at all (already reported). */
const INVALID_NODE = Symbol("invalid node");

/**
 * Walks a parsed document against the keyword tables.
 * Accepts any document (null contents included); reports every problem to
 * `rep` and returns what it could accept, for the resolver.
 */
export function validateDocument(doc: Document.Parsed, rep: Reporter): CheckedConfig {
  return new Validator(doc, rep).run();
}

class Validator {
  readonly #doc: Document.Parsed;
  readonly #rep: Reporter;

  constructor(doc: Document.Parsed, rep: Reporter) {
    this.#doc = doc;
    this.#rep = rep;
  }

  run(): CheckedConfig {
    const out: CheckedConfig = { global: null, defaults: null, frontends: [], backends: [] };
    const root = this.#deref(this.#doc.contents, "");
    let frontendsAt: Located = { line: 1, col: 1, path: "frontends" };
    if (root !== null && !isMap(root) && !(isScalar(root) && root.value === null)) {
      this.#rep.error(
        this.#rep.at(root, ""),
        `expected a map at the top level, got ${describe(root)}`,
      );
    } else if (isMap(root)) {
      for (const { key, keyAt, value } of this.#pairs(root, "", ROOT_KEYWORDS, "the top level")) {
        switch (key) {
          case "global":
            out.global = this.#section(
              value,
              GLOBAL_KEYWORDS,
              { ...keyAt, path: key },
              "",
              "global",
            );
            break;
          case "defaults":
            out.defaults = this.#section(
              value,
              DEFAULTS_KEYWORDS,
              { ...keyAt, path: key },
              "",
              "defaults",
            );
            break;
          case "frontends":
            frontendsAt = { ...keyAt, path: key };
            out.frontends = this.#proxies(value, "frontends", FRONTEND_KEYWORDS, "frontend");
            break;
          case "backends":
            out.backends = this.#proxies(value, "backends", BACKEND_KEYWORDS, "backend");
            break;
        }
      }
    }
    // A wrong type under `frontends:` was reported already; only absence is "no frontend".
    const rootOk = root === null || root === undefined || isMap(root) ||
      (isScalar(root) && root.value === null);
    if (rootOk && out.frontends.length === 0 && isEmpty(root, "frontends")) {
      this.#rep.error(frontendsAt, "no frontend defined");
    }
    return out;
  }

  /**
   * Follows YAML aliases (`*anchor`) to the node they name. An alias without
   * its anchor is reported (mostly an unquoted `*:8080`) and reads as empty.
   */
  #deref(node: unknown, path: string): unknown {
    if (!isAlias(node)) return node;
    const target = node.resolve(this.#doc);
    if (target !== undefined) return target;
    this.#rep.error(
      this.#rep.at(node, path),
      `unknown YAML alias "*${node.source}" (quote values that start with "*", e.g. "*:8080")`,
    );
    return INVALID_NODE;
  }

  /**
   * Iterates the pairs of a map, reporting non-scalar keys, duplicate keys and
   * (when a table is given) unknown keys; yields only the pairs to read.
   */
  *#pairs(
    map: unknown,
    path: string,
    table: readonly Keyword[] | null,
    where: string,
  ): Generator<{ key: string; keyAt: Located; value: unknown }> {
    if (!isMap(map)) return;
    const seen = new Map<string, Located>();
    for (const pair of map.items) {
      const keyNode = this.#deref(pair.key, path);
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
        this.#rep.error(
          this.#rep.at(keyNode ?? map, path),
          `expected a plain key, got ${describe(keyNode)}`,
        );
        continue;
      }
      const key = String(keyNode.value);
      const keyAt = this.#rep.at(keyNode, join(path, key));
      const first = seen.get(key);
      if (first !== undefined) {
        this.#rep.error(keyAt, `duplicate key "${key}" (first defined at line ${first.line})`);
        continue;
      }
      seen.set(key, keyAt);
      // Top-level "x-..." keys hold YAML anchors for reuse (as in compose files).
      if (table === ROOT_KEYWORDS && key.startsWith("x-")) continue;
      if (table !== null && findKeyword(table, key) === undefined) {
        this.#rep.error(keyAt, unknownKeyMessage(key, table, where));
        continue;
      }
      const value = this.#deref(pair.value, keyAt.path);
      if (value !== INVALID_NODE) yield { key, keyAt, value };
    }
  }

  /**
   * Reads one section (a map, or null/empty for "all defaults") against its
   * table; `at` is where the section is named. Reports missing required keys
   * at `at`.
   */
  #section(
    node: unknown,
    table: readonly Keyword[],
    at: Located,
    name: string,
    where: string,
  ): Section {
    const sec: Section = { ...at, name, values: new Map(), invalid: new Set() };
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) {
      // `global:` with nothing under it: every key takes its default.
    } else if (!isMap(node)) {
      this.#rep.error(this.#rep.at(node, at.path), `expected a map, got ${describe(node)}`);
      return sec;
    }
    for (const { key, value } of this.#pairs(node, at.path, table, where)) {
      const kw = findKeyword(table, key) as Keyword;
      const path = join(at.path, key);
      const v = this.#value(kw, value, path);
      if (v !== INVALID) sec.values.set(key, { ...this.#rep.at(value, path), value: v });
      else sec.invalid.add(key);
    }
    for (const kw of table) {
      if (kw.required === true && !sec.values.has(kw.name) && !this.#mentioned(node, kw.name)) {
        this.#rep.error(
          { ...at, path: join(at.path, kw.name) },
          `missing required key "${kw.name}"`,
        );
      }
    }
    return sec;
  }

  /** True when a map has the key at all (so an invalid value is not also "missing"). */
  #mentioned(node: unknown, key: string): boolean {
    return isMap(node) && node.items.some((p) => isScalar(p.key) && String(p.key.value) === key);
  }

  /** Reads `frontends:` or `backends:`: a map of name → section. */
  #proxies(node: unknown, path: string, table: readonly Keyword[], what: string): Section[] {
    const out: Section[] = [];
    if (node === null || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      this.#rep.error(
        this.#rep.at(node, path),
        `expected a map of ${what} names, got ${describe(node)}`,
      );
      return out;
    }
    for (const { key, keyAt, value } of this.#pairs(node, path, null, path)) {
      const bad = checkName(key, what);
      if (bad !== null) this.#rep.error(keyAt, bad);
      out.push(this.#section(value, table, keyAt, key, `a ${what}`));
    }
    return out;
  }

  /** Reads one value according to its keyword's kind; INVALID when refused. */
  #value(kw: Keyword, node: unknown, path: string): Result<unknown> {
    switch (kw.kind) {
      case "section":
        return INVALID; // the top level reads its sections itself
      case "int":
        return this.#int(node, path, kw.min ?? 0, kw.max ?? INT_MAX);
      case "size":
        return this.#size(node, path, kw.min ?? 0, kw.max ?? INT_MAX);
      case "duration":
        return this.#duration(node, path, kw.min ?? 0);
      case "bool":
        return this.#bool(node, path);
      case "enum":
        return this.#enum(node, path, kw.values ?? [], kw.what ?? kw.name);
      case "string":
        return this.#string(node, path);
      case "name": {
        const s = this.#string(node, path);
        if (s === INVALID) return s;
        return this.#check(node, path, s, checkName(s, "server"));
      }
      case "uri": {
        const s = this.#string(node, path);
        if (s === INVALID) return s;
        const bad = s.startsWith("/") ? null : `expected a path starting with "/", got "${s}"`;
        return this.#check(node, path, s, bad);
      }
      case "auth": {
        const s = this.#string(node, path);
        if (s === INVALID) return s;
        const bad = s.indexOf(":") > 0 ? null : `expected "user:password", got "${s}"`;
        return this.#check(node, path, s, bad);
      }
      case "host": {
        const s = this.#string(node, path);
        if (s === INVALID) return s;
        const h = parseHost(s);
        return typeof h === "string" ? this.#check(node, path, s, h) : h.host;
      }
      case "server-address": {
        const s = this.#string(node, path);
        if (s === INVALID) return s;
        const a = parseAddress(s, false);
        return typeof a === "string" ? this.#check(node, path, s, a) : a;
      }
      case "binds":
        return this.#binds(node, path);
      case "rules":
        return this.#rules(node, path);
      case "rule": {
        const s = this.#string(node, path);
        return s === INVALID ? s : this.#ruleLine(node, s);
      }
      case "options":
        return this.#options(node, path);
      case "acls":
        return this.#acls(node, path);
      case "use-backend":
        return this.#useBackends(node, path);
      case "balance":
        return this.#balance(node, path);
      case "timeouts":
        return this.#section(node, TIMEOUT_KEYWORDS, this.#rep.at(node, path), "", "timeout");
      case "stats":
        if (isScalar(node) && typeof node.value === "boolean") {
          return node.value
            ? this.#section(null, STATS_KEYWORDS, this.#rep.at(node, path), "", "stats")
            : null;
        }
        return this.#section(node, STATS_KEYWORDS, this.#rep.at(node, path), "", "stats");
      case "stats-socket":
        return this.#section(node, STATS_SOCKET_KEYWORDS, this.#rep.at(node, path), "", "stats");
      case "servers":
        return this.#servers(node, path);
      case "logs":
        return this.#logs(node, path);
    }
  }

  /** Returns `value`, or reports `bad` at the node and returns INVALID. */
  #check<T>(node: unknown, path: string, value: T, bad: string | null): Result<T> {
    if (bad === null) return value;
    this.#rep.error(this.#rep.at(node, path), bad);
    return INVALID;
  }

  #fail(node: unknown, path: string, message: string): typeof INVALID {
    this.#rep.error(this.#rep.at(node, path), message);
    return INVALID;
  }

  #int(node: unknown, path: string, min: number, max: number): Result<number> {
    let n: number | null = null;
    if (isScalar(node) && typeof node.value === "number" && Number.isSafeInteger(node.value)) {
      n = node.value;
    } else if (
      isScalar(node) && typeof node.value === "string" && /^-?\d{1,15}$/.test(node.value)
    ) {
      n = Number(node.value);
    }
    if (n === null) return this.#fail(node, path, `expected an integer, got ${describe(node)}`);
    if (n < min || n > max) {
      const range = max === INT_MAX ? `${min} or more` : `${min}..${max}`;
      return this.#fail(node, path, `value ${n} is out of range (expected ${range})`);
    }
    return n;
  }

  #size(node: unknown, path: string, min: number, max: number): Result<number> {
    const raw = scalarText(node);
    if (raw === null) return this.#fail(node, path, `expected a size, got ${describe(node)}`);
    const n = parseSize(raw);
    if (n === null) {
      return this.#fail(
        node,
        path,
        `invalid size "${raw}" (expected a number optionally followed by k, m or g)`,
      );
    }
    if (n < min || n > max) {
      const range = max === INT_MAX
        ? `at least ${formatSize(min)}`
        : `${formatSize(min)}..${formatSize(max)}`;
      return this.#fail(node, path, `size "${raw}" is out of range (expected ${range})`);
    }
    return n;
  }

  #duration(node: unknown, path: string, min: number): Result<number> {
    const raw = scalarText(node);
    if (raw === null) return this.#fail(node, path, `expected a duration, got ${describe(node)}`);
    const n = parseDuration(raw);
    if (n === null) {
      return this.#fail(
        node,
        path,
        `invalid duration "${raw}" (expected a number followed by us, ms, s, m, h or d)`,
      );
    }
    if (n > MAX_DURATION_MS) {
      return this.#fail(
        node,
        path,
        `duration "${raw}" is too large (maximum 2147483647ms, about 24 days)`,
      );
    }
    if (n < min) return this.#fail(node, path, `duration "${raw}" must be greater than 0`);
    return n;
  }

  #bool(node: unknown, path: string): Result<boolean> {
    if (isScalar(node) && typeof node.value === "boolean") return node.value;
    return this.#fail(node, path, `expected true or false, got ${describe(node)}`);
  }

  #enum(node: unknown, path: string, values: readonly string[], what: string): Result<string> {
    if (!isScalar(node) || typeof node.value !== "string") {
      return this.#fail(
        node,
        path,
        `expected a ${what} (${listOr(values)}), got ${describe(node)}`,
      );
    }
    const v = node.value;
    if (values.includes(v)) return v;
    const hint = didYouMean(v, values);
    const tail = hint === "" ? ` (expected ${listOr(values)})` : hint;
    return this.#fail(node, path, `unknown ${what} "${v}"${tail}`);
  }

  /** A non-empty string; numbers are taken as their text (HAProxy reads words). */
  #string(node: unknown, path: string): Result<string> {
    if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
      const s = String(node.value);
      if (s.trim() !== "") return s;
      return this.#fail(node, path, "expected a non-empty string");
    }
    return this.#fail(node, path, `expected a string, got ${describe(node)}`);
  }

  /** A string or a list of strings, each with its node and path. */
  #stringItems(
    node: unknown,
    path: string,
  ): Array<{ node: unknown; path: string; text: string }> | typeof INVALID {
    if (isScalar(node) && typeof node.value === "string") {
      const text = this.#string(node, path);
      return text === INVALID ? INVALID : [{ node, path, text }];
    }
    if (!isSeq(node)) {
      return this.#fail(
        node,
        path,
        `expected a string or a list of strings, got ${describe(node)}`,
      );
    }
    const out: Array<{ node: unknown; path: string; text: string }> = [];
    node.items.forEach((raw, i) => {
      const p = `${path}[${i}]`;
      const item = this.#deref(raw, p);
      if (item === INVALID_NODE) return;
      if (!isScalar(item) || typeof item.value !== "string") {
        this.#rep.error(this.#rep.at(item, p), `expected a string, got ${describe(item)}`);
        return;
      }
      const text = this.#string(item, p);
      if (text !== INVALID) out.push({ node: item, path: p, text });
    });
    return out;
  }

  /** Position of the text of a string scalar (after an opening quote). */
  #contentAt(node: unknown, path: string): Located {
    const at = this.#rep.at(node, path);
    if (
      node instanceof Scalar &&
      (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE)
    ) {
      return { ...at, col: at.col + 1 };
    }
    return at;
  }

  #ruleLine(node: unknown, text: string): RuleLine {
    const { line, col } = this.#contentAt(node, "");
    return { text, line, col };
  }

  #rules(node: unknown, path: string): Result<RuleLine[]> {
    const items = this.#stringItems(node, path);
    if (items === INVALID) return items;
    return items.map((it) => this.#ruleLine(it.node, it.text));
  }

  /** `log`: true/false (frontends, defaults), or HAProxy log lines (log_target.ts). */
  #logs(node: unknown, path: string): Result<boolean | LogLine[]> {
    const global = path.startsWith("global");
    if (!global && isScalar(node) && typeof node.value === "boolean") return node.value;
    const items = this.#stringItems(node, path);
    if (items === INVALID) return items;
    const out: LogLine[] = [];
    for (const it of items) {
      const l = parseLogLine(it.text, !global);
      if (typeof l === "object" && "error" in l) {
        this.#rep.error(this.#rep.at(it.node, it.path), l.error);
      } else if (l === "none" && items.length > 1) {
        this.#rep.error(
          this.#rep.at(it.node, it.path),
          `"none" cannot be combined with log targets`,
        );
      } else {
        const at = this.#contentAt(it.node, "");
        out.push(typeof l === "object" ? { ...l, line: at.line, col: at.col } : l);
      }
    }
    return out.length === items.length ? out : INVALID;
  }

  #binds(node: unknown, path: string): Result<Val<BindLine>[]> {
    if (isScalar(node) && typeof node.value === "number") {
      return this.#fail(
        node,
        path,
        `expected an address string such as ":${node.value}", got ${node.value}`,
      );
    }
    const items = this.#stringItems(node, path);
    if (items === INVALID) return items;
    if (items.length === 0 && isSeq(node) && node.items.length === 0) {
      return this.#fail(node, path, "expected at least one address");
    }
    const out: Val<BindLine>[] = [];
    for (const it of items) {
      const a = parseBindLine(it.text);
      if (typeof a === "string") this.#rep.error(this.#rep.at(it.node, it.path), a);
      else out.push({ ...this.#rep.at(it.node, it.path), value: a });
    }
    return out.length === items.length ? out : INVALID;
  }

  #options(node: unknown, path: string): Result<OptionLine[]> {
    const items = this.#stringItems(node, path);
    if (items === INVALID) return items;
    const out: OptionLine[] = [];
    for (const it of items) {
      const at = this.#rep.at(it.node, it.path);
      const tokens = it.text.trim().split(/\s+/);
      const negate = tokens[0] === "no";
      if (negate) tokens.shift();
      const name = tokens[0] ?? "";
      const args = tokens.slice(1);
      const kw = findKeyword(OPTION_KEYWORDS, name);
      let bad: string | null = null;
      if (name === "") bad = `missing option name after "no"`;
      else if (kw === undefined) {
        const names = OPTION_KEYWORDS.map((o) => o.name);
        const hint = didYouMean(name, names);
        bad = `unknown option "${name}"${hint === "" ? ` (supported: ${names.join(", ")})` : hint}`;
      } else if (negate && args.length > 0) bad = `"no ${name}" takes no argument`;
      else bad = checkOptionArgs(kw.args, name, args);
      if (bad !== null) this.#rep.error(at, bad);
      else out.push({ ...at, name, args, negate });
    }
    return out;
  }

  #acls(node: unknown, path: string): Result<AclLine[]> {
    const out: AclLine[] = [];
    if (isMap(node)) {
      for (const { key, keyAt, value } of this.#pairs(node, path, null, "acl")) {
        const bad = checkName(key, "ACL");
        if (bad !== null) {
          this.#rep.error(keyAt, bad);
          continue;
        }
        const items = this.#stringItems(value, keyAt.path);
        if (items === INVALID) continue;
        for (const it of items) {
          out.push({ ...this.#contentAt(it.node, it.path), name: key, expr: it.text.trim() });
        }
      }
      return out;
    }
    if (!isSeq(node)) {
      return this.#fail(
        node,
        path,
        `expected a map of ACL names or a list of "NAME EXPRESSION" lines, got ${describe(node)}`,
      );
    }
    const items = this.#stringItems(node, path);
    if (items === INVALID) return items;
    for (const it of items) {
      const at = this.#contentAt(it.node, it.path);
      const m = /^(\s*)(\S+)(\s*)(.*)$/.exec(it.text) as RegExpExecArray;
      const [, lead = "", name = "", gap = "", expr = ""] = m;
      const bad = checkName(name, "ACL") ??
        (expr.trim() === "" ? `missing expression after ACL name "${name}"` : null);
      if (bad !== null) this.#rep.error(at, bad);
      else {out.push({
          ...at,
          col: at.col + lead.length + name.length + gap.length,
          name,
          expr: expr.trim(),
        });}
    }
    return out;
  }

  #useBackends(node: unknown, path: string): Result<UseBackendLine[]> {
    const items = this.#stringItems(node, path);
    if (items === INVALID) return items;
    const out: UseBackendLine[] = [];
    for (const it of items) {
      const at = this.#contentAt(it.node, it.path);
      const text = it.text.trim();
      const tokens = text.split(/\s+/);
      const backend = tokens[0] ?? "";
      const word = tokens[1];
      let bad: string | null = null;
      if (word !== undefined && word !== "if" && word !== "unless") {
        bad = `expected "if" or "unless" after the backend name, got "${word}"`;
      } else if (word !== undefined && tokens.length === 2) {
        bad = `missing condition after "${word}"`;
      }
      if (bad !== null) this.#rep.error(at, bad);
      else out.push({ ...at, backend, cond: text.slice(backend.length).trim() });
    }
    return out;
  }

  #balance(node: unknown, path: string): Result<ParsedBalance> {
    const text = this.#string(node, path);
    if (text === INVALID) return text;
    const tokens = text.trim().split(/\s+/);
    const head = tokens[0] ?? "";
    const m = /^([^()]+)(?:\((.*)\))?$/.exec(head);
    const algoName = m?.[1] ?? head;
    const paren = m?.[2];
    const rest = tokens.slice(1);
    const kw = findKeyword(BALANCE_KEYWORDS, algoName);
    if (kw === undefined) {
      const names = BALANCE_KEYWORDS.map((b) => b.name);
      const hint = didYouMean(algoName, names);
      const tail = hint === "" ? ` (expected one of ${names.join(", ")})` : hint;
      return this.#fail(node, path, `unknown balance algorithm "${algoName}"${tail}`);
    }
    const args = balanceArgsOf(kw.args, kw.name, paren, rest);
    if (typeof args === "string") return this.#fail(node, path, args);
    // The hash type plays no part in the arguments.
    const bad = balanceArgsError({ algo: kw.name, args, hashType: "map-based" });
    if (bad !== null) return this.#fail(node, path, bad);
    return { algo: kw.name, args };
  }

  #servers(node: unknown, path: string): Result<Section[]> {
    if (isScalar(node) && node.value === null) return [];
    if (!isSeq(node)) {
      return this.#fail(node, path, `expected a list of servers, got ${describe(node)}`);
    }
    const out: Section[] = [];
    const names = new Map<string, Located>();
    node.items.forEach((raw, i) => {
      const p = `${path}[${i}]`;
      const item = this.#deref(raw, p);
      if (item === INVALID_NODE) return;
      if (!isMap(item)) {
        this.#rep.error(
          this.#rep.at(item, p),
          `expected a server map ({ name: ..., address: ... }), got ${describe(item)}`,
        );
        return;
      }
      const sec = this.#section(item, SERVER_KEYWORDS, this.#rep.at(item, p), "", "a server");
      const name = sec.values.get("name") as Val<string> | undefined;
      if (name !== undefined) {
        sec.name = name.value;
        const first = names.get(name.value);
        if (first !== undefined) {
          this.#rep.error(
            name,
            `duplicate server name "${name.value}" (first defined at line ${first.line})`,
          );
        } else names.set(name.value, name);
      }
      out.push(sec);
    });
    return out;
  }
}

/** Checks the arguments of an option; returns an error message or null. */
function checkOptionArgs(
  grammar: "none" | "httpchk" | "forwardfor" | "redispatch",
  name: string,
  args: string[],
): string | null {
  switch (grammar) {
    case "none":
      return args.length === 0 ? null : `option "${name}" takes no argument`;
    case "redispatch":
      // HAProxy: `option redispatch [<interval>]`, a signed integer.
      if (args.length === 0 || (args.length === 1 && /^-?\d{1,9}$/.test(args[0]!))) return null;
      return `option "redispatch" takes at most one argument, an integer interval (e.g. 1 or -1), got "${
        args.join(" ")
      }"`;
    case "httpchk": {
      if (args.length > 3) {
        return `option "httpchk" takes at most 3 arguments ([METHOD] [URI] [VERSION])`;
      }
      // One argument is the URI; two or three start with the method (HAProxy rule).
      const [method, uri, version] = args.length === 1 ? [undefined, args[0], undefined] : args;
      if (method !== undefined && !/^[A-Z]+$/.test(method)) {
        return `invalid method "${method}" in option "httpchk" (expected an upper-case HTTP method)`;
      }
      if (uri !== undefined && !uri.startsWith("/") && uri !== "*") {
        return `invalid URI "${uri}" in option "httpchk" (expected a path starting with "/")`;
      }
      if (version !== undefined && !/^HTTP\/\d\.\d$/.test(version)) {
        return `invalid HTTP version "${version}" in option "httpchk" (expected HTTP/1.0 or HTTP/1.1)`;
      }
      return null;
    }
    case "forwardfor":
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "if-none") continue;
        if (a === "except" || a === "header") {
          const v = args[++i];
          if (v === undefined) return `missing value after "${a}" in option "forwardfor"`;
          if (a === "except" && !isNetwork(v)) {
            return `invalid network "${v}" after "except" in option "forwardfor"`;
          }
          if (a === "header" && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v)) {
            return `invalid header name "${v}" in option "forwardfor"`;
          }
          continue;
        }
        return `unknown argument "${a}" in option "forwardfor" (expected except, header or if-none)`;
      }
      return null;
  }
}

/** An IPv4/IPv6 address with an optional /prefix length. */
function isNetwork(s: string): boolean {
  const [addr = "", bits, extra] = s.split("/");
  if (extra !== undefined) return false;
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (v4 ? 32 : 128);
}

/**
 * The arguments of a balance value in HAProxy spelling, the parenthesised one
 * first (`hdr(Host) use_domain_only` -> ["Host", "use_domain_only"],
 * `random(3)` -> ["3"]), or an error message when the parentheses are where
 * the algorithm takes none. What the arguments mean is checked by
 * config/balance.ts, like those of a balance built in code.
 */
function balanceArgsOf(
  grammar: "none" | "uri" | "url_param" | "hdr" | "random",
  algo: string,
  paren: string | undefined,
  rest: string[],
): string[] | string {
  switch (grammar) {
    case "hdr":
      // Without parentheses the name is missing, whatever follows.
      return [(paren ?? "").trim(), ...rest];
    case "random":
      if (rest.length > 0) return `balance "random" takes no argument (use random(N))`;
      return paren === undefined ? [] : [paren.trim()];
    default:
      if (paren !== undefined) return `balance "${algo}" takes no argument in parentheses`;
      return rest;
  }
}

/** Text of a scalar that is a string or a number, else null. */
function scalarText(node: unknown): string | number | null {
  if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
    return node.value;
  }
  return null;
}

/** How a value looks, for "expected X, got Y". */
function describe(node: unknown): string {
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return "an empty value";
    if (typeof v === "string") return JSON.stringify(v);
    return String(v);
  }
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  return node === null || node === undefined ? "an empty value" : "an unsupported value";
}

/** "a.b" path join that tolerates an empty prefix. */
function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** True when the top-level key is absent or has nothing under it. */
function isEmpty(root: unknown, key: string): boolean {
  if (!isMap(root)) return true;
  const v: unknown = root.get(key, true);
  return v === undefined || v === null || (isScalar(v) && v.value === null) ||
    (isMap(v) && v.items.length === 0);
}

/**
 * Message for a key its section does not know: where it belongs when another
 * section has it, else the closest keyword, else a timeout hint.
 */
function unknownKeyMessage(key: string, table: readonly Keyword[], where: string): string {
  const names = table.map((k) => k.name);
  if (where === "defaults" || where === "global" || where.startsWith("a ")) {
    const homes = PROXY_SECTIONS.filter(([, t]) => findKeyword(t, key) !== undefined).map(([n]) =>
      n
    );
    if (homes.length > 0 && where !== "a server") {
      return `keyword "${key}" is not allowed in ${where} (allowed in: ${homes.join(", ")})`;
    }
  }
  const hint = didYouMean(key, names);
  if (hint !== "") return `unknown key "${key}"${hint}`;
  if (
    findKeyword(TIMEOUT_KEYWORDS, key) !== undefined && findKeyword(table, "timeout") !== undefined
  ) {
    return `unknown key "${key}" (timeouts go under "timeout", e.g. timeout: { ${key}: 30s })`;
  }
  return `unknown key "${key}"`;
}
