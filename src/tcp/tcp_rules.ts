// The tcp-request rule engine (HAProxy's tcp_rules.c): the action table,
// the compiler of `tcp-request` lines and the evaluation of a rule list.
//
// Owns: which actions exist (TCP_ACTIONS, open to other subsystems through
// registerTcpAction()), turning `tcp-request ...` text into frozen TcpRule
// lists at load time, the layer-4 sample context (L4SampleCtx: addresses
// and the request bytes received so far) and runRules(), the loop that
// evaluates conditions with HAProxy's "more data may change the answer"
// rule. It never touches a socket nor a stream's state beyond what an
// action's run() writes to its subject (tcp_inspect.ts and
// stream/session_accept.ts call it).

import { type AclTable, compileCondition } from "../acl/acl.ts";
import type { RuleLine } from "../config/types.ts";
import { parseDuration } from "../config/units.ts";
import type { PeerAddr } from "../listener/protocol.ts";
import type { SampleCtx } from "../sample/types.ts";
import { didYouMean } from "../tools/suggest.ts";
import {
  TCP_ACT_CONTINUE,
  TCP_ACT_DENY,
  TCP_ACT_STOP,
  TCP_ACT_YIELD,
  TCP_RS_CONN,
  TCP_RS_CONTENT,
  type TcpAction,
  type TcpParseEnv,
  type TcpRule,
  type TcpRuleSet,
  type TcpRuleSubject,
  type TcpServerRule,
} from "./types.ts";

// ---------------------------------------------------------------------------
// The action table.

const ACTIONS = new Map<string, TcpAction>();

/**
 * Adds an action keyword (at module load, before any configuration is
 * compiled). Throws when the name is taken: two subsystems must not
 * silently fight over a keyword.
 */
export function registerTcpAction(a: TcpAction): void {
  if (ACTIONS.has(a.name)) throw new Error(`tcp-request action "${a.name}" registered twice`);
  ACTIONS.set(a.name, a);
}

/**
 * The action for a keyword as written: exact name, else the name before a
 * `(`, else the longest `*` action whose prefix it starts with; undefined
 * when none.
 */
export function findTcpAction(keyword: string): TcpAction | undefined {
  const exact = ACTIONS.get(keyword);
  if (exact !== undefined) return exact;
  const paren = keyword.indexOf("(");
  if (paren > 0) {
    const a = ACTIONS.get(keyword.slice(0, paren));
    if (a !== undefined) return a;
  }
  let best: TcpAction | undefined;
  for (const a of ACTIONS.values()) {
    if (!a.name.endsWith("*")) continue;
    const pfx = a.name.slice(0, -1);
    if (keyword.startsWith(pfx) && (best === undefined || pfx.length > best.name.length - 1)) {
      best = a;
    }
  }
  return best;
}

registerTcpAction({
  name: "accept",
  where: TCP_RS_CONN | TCP_RS_CONTENT,
  parse: (words) =>
    words.length === 0 ? null : { error: `unexpected '${words[0]}' after 'accept'` },
  run: () => TCP_ACT_STOP,
});

registerTcpAction({
  name: "reject",
  where: TCP_RS_CONN | TCP_RS_CONTENT,
  parse: (words) =>
    words.length === 0 ? null : { error: `unexpected '${words[0]}' after 'reject'` },
  run: () => TCP_ACT_DENY,
});

registerTcpAction({
  name: "expect-proxy",
  where: TCP_RS_CONN,
  parse: (words) =>
    words.length === 1 && words[0] === "layer4"
      ? null
      : { error: "'expect-proxy' expects 'layer4'" },
  run: (_arg, subject) => {
    subject.expectProxy = true;
    return TCP_ACT_CONTINUE;
  },
});

registerTcpAction({
  name: "use-server",
  where: TCP_RS_CONTENT,
  backendOnly: true,
  parse: (words, env) => {
    if (words.length !== 1) return { error: "'use-server' expects a server name" };
    const i = env.servers.indexOf(words[0]!);
    if (i < 0) {
      return {
        error: `no server named '${words[0]}' in this backend${didYouMean(words[0]!, env.servers)}`,
      };
    }
    return i;
  },
  run: (arg, subject) => {
    const s = subject.stream;
    if (s === null || s.be === null) return TCP_ACT_CONTINUE;
    const srv = s.be.servers[arg as number];
    // A server in maintenance or down is not forced: balancing chooses (HAProxy without `option persist`).
    if (srv !== undefined && srv.usable) s.srv = srv;
    return TCP_ACT_STOP;
  },
});

// ---------------------------------------------------------------------------
// Compiling.

/** One problem found while compiling, at the line's position. */
export interface TcpRuleError {
  line: number;
  col: number;
  message: string;
}

/** Splits `text` at its first unquoted `if` / `unless` word: [words before, condition text or ""]. */
function splitCondition(text: string): { words: string[]; cond: string; unless: boolean } {
  const m = /(^|\s)(if|unless)(\s|$)/.exec(text);
  const head = m === null ? text : text.slice(0, m.index);
  const words = head.trim().split(/\s+/).filter((w) => w !== "");
  if (m === null) return { words, cond: "", unless: false };
  return { words, cond: text.slice(m.index + m[0].length).trim(), unless: m[2] === "unless" };
}

/** The condition of a rule (null for none), or an error message. */
function condition(
  c: { cond: string; unless: boolean },
  text: string,
  acls: AclTable,
): { cond: TcpRule["cond"] } | { error: string } {
  if (c.cond === "") {
    return /(^|\s)(if|unless)\s*$/.test(text)
      ? { error: `missing condition after '${c.unless ? "unless" : "if"}'` }
      : { cond: null };
  }
  const r = compileCondition(c.cond, acls);
  if ("error" in r) return r;
  if (r.resFetch !== null) {
    return {
      error: `'${r.resFetch}' is a response fetch: tcp-request rules run before any response`,
    };
  }
  return { cond: r };
}

/**
 * Compiles `tcp-request` lines of a frontend or backend:
 * `inspect-delay TIME`, `connection ACTION [ARGS] [if|unless COND]` (frontends
 * only), `content ACTION [ARGS] [if|unless COND]`. Every bad line is an
 * error at its position; the good ones are kept.
 */
export function compileTcpRules(
  lines: readonly RuleLine[],
  acls: AclTable,
  env: TcpParseEnv,
): { rules: TcpRuleSet | null; errors: TcpRuleError[] } {
  const errors: TcpRuleError[] = [];
  const connection: TcpRule[] = [];
  const content: TcpRule[] = [];
  let inspectDelay = 0;
  for (const l of lines) {
    const err = (message: string) => errors.push({ line: l.line, col: l.col, message });
    const text = l.text.trim();
    const sp = splitCondition(text);
    const kind = sp.words[0] ?? "";
    if (kind === "inspect-delay") {
      const d = sp.words.length === 2 ? parseDuration(sp.words[1]!) : null;
      if (d === null || sp.cond !== "") {
        err(`'tcp-request inspect-delay' expects a time such as "5s", got "${text}"`);
      } else inspectDelay = d;
      continue;
    }
    const set = kind === "connection" ? TCP_RS_CONN : kind === "content" ? TCP_RS_CONTENT : 0;
    if (set === 0) {
      err(
        `unknown tcp-request rule set '${kind}'${
          didYouMean(kind, ["inspect-delay", "connection", "content"])
        } (expected inspect-delay, connection or content)`,
      );
      continue;
    }
    if (set === TCP_RS_CONN && env.backend) {
      err("'tcp-request connection' is not allowed in a backend (there is no connection yet)");
      continue;
    }
    const name = sp.words[1] ?? "";
    const action = findTcpAction(name);
    const usable = [...ACTIONS.values()].filter((a) => (a.where & set) !== 0).map((a) => a.name);
    if (action === undefined || (action.where & set) === 0) {
      err(
        `unknown 'tcp-request ${kind}' action '${name}'${didYouMean(name, usable)} (supported: ${
          usable.join(", ")
        })`,
      );
      continue;
    }
    if (action.backendOnly === true && !env.backend) {
      err(`'tcp-request ${kind} ${name}' is only allowed in a backend`);
      continue;
    }
    const arg = action.parse(sp.words.slice(2), env, name);
    if (arg !== null && typeof arg === "object" && "error" in arg) {
      err(String((arg as { error: unknown }).error));
      continue;
    }
    const c = condition(sp, text, acls);
    if ("error" in c) {
      err(c.error);
      continue;
    }
    const rule: TcpRule = Object.freeze({
      action,
      arg,
      cond: c.cond,
      unless: sp.unless,
      line: l.line,
      col: l.col,
    });
    (set === TCP_RS_CONN ? connection : content).push(rule);
  }
  if (lines.length === 0) return { rules: null, errors };
  return {
    rules: Object.freeze({
      inspectDelay,
      connection: Object.freeze(connection),
      content: Object.freeze(content),
    }),
    errors,
  };
}

/** Compiles a backend's `use-server SRV [if|unless COND]` lines against its server names. */
export function compileUseServers(
  lines: readonly RuleLine[],
  acls: AclTable,
  servers: readonly string[],
): { rules: TcpServerRule[]; errors: TcpRuleError[] } {
  const errors: TcpRuleError[] = [];
  const rules: TcpServerRule[] = [];
  for (const l of lines) {
    const sp = splitCondition(l.text.trim());
    const err = (message: string) => errors.push({ line: l.line, col: l.col, message });
    if (sp.words.length !== 1) {
      err(`expected "SERVER [if|unless CONDITION]", got "${l.text.trim()}"`);
      continue;
    }
    const i = servers.indexOf(sp.words[0]!);
    if (i < 0) {
      err(`use-server: no server named '${sp.words[0]}'${didYouMean(sp.words[0]!, servers)}`);
      continue;
    }
    const c = condition(sp, l.text, acls);
    if ("error" in c) {
      err(c.error);
      continue;
    }
    rules.push(Object.freeze({ server: i, cond: c.cond, unless: sp.unless }));
  }
  return { rules, errors };
}

// ---------------------------------------------------------------------------
// Evaluating.

/**
 * The sample context of layer-4 rules: the connection's addresses and,
 * for content rules, the request bytes received so far. HTTP fetches find
 * nothing. One object is reused for every evaluation (bind() re-points it):
 * evaluation is synchronous and never re-enters.
 */
export class L4SampleCtx implements SampleCtx {
  readonly isResponse = false;
  /** A payload fetch could not answer yet (reset before each condition). */
  mayChange = false;
  #src: PeerAddr = { ip: "", port: 0 };
  #dst: PeerAddr = { ip: "", port: 0 };
  #content: Uint8Array | null = null;

  /** Points the context at a connection's addresses and its request bytes (null: none). */
  bind(src: PeerAddr, dst: PeerAddr, content: Uint8Array | null): this {
    this.#src = src;
    this.#dst = dst;
    this.#content = content;
    return this;
  }

  /** Drops the references taken by bind(). */
  unbind(): void {
    this.#content = null;
  }

  reqContent(): Uint8Array | null {
    return this.#content;
  }
  markMayChange(): void {
    this.mayChange = true;
  }
  method(): string {
    return "";
  }
  path(): string {
    return "";
  }
  url(): string {
    return "";
  }
  query(): string | null {
    return null;
  }
  reqVer(): string {
    return "";
  }
  reqHeader(_name: string): string[] {
    return [];
  }
  resHeader(_name: string): string[] {
    return [];
  }
  status(): number {
    return 0;
  }
  src(): string {
    return this.#src.ip;
  }
  srcPort(): number {
    return this.#src.port;
  }
  dst(): string {
    return this.#dst.ip;
  }
  dstPort(): number {
    return this.#dst.port;
  }
}

/**
 * Whether `cond` (compiled without if/unless) applies: TCP_ACT_STOP when it
 * does, TCP_ACT_CONTINUE when it does not, TCP_ACT_YIELD when it did not
 * match but a fetch said more data may change that and `final` is false
 * (HAProxy's ACL_TEST_MISS: the rule is evaluated again on more data).
 */
export function testCondition(
  cond: TcpRule["cond"],
  unless: boolean,
  ctx: L4SampleCtx,
  final: boolean,
): number {
  if (cond === null) return TCP_ACT_STOP;
  ctx.mayChange = false;
  let ok = cond.eval(ctx);
  if (!ok && ctx.mayChange && !final) return TCP_ACT_YIELD;
  if (unless) ok = !ok;
  return ok ? TCP_ACT_STOP : TCP_ACT_CONTINUE;
}

/**
 * Evaluates `rules` in order (HAProxy's tcp_exec_l4_rules() and
 * tcp_inspect_request()): the first rule whose condition holds runs its
 * action; an action that continues lets the next rules run. Returns
 * TCP_ACT_STOP (accepted, or no rule decided: the default is to accept),
 * TCP_ACT_DENY (rejected) or TCP_ACT_YIELD (wait for more data; only when
 * not `final`).
 */
export function runRules(
  rules: readonly TcpRule[],
  subject: TcpRuleSubject,
  ctx: L4SampleCtx,
  final: boolean,
): number {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const t = testCondition(r.cond, r.unless, ctx, final);
    if (t === TCP_ACT_YIELD) return t;
    if (t !== TCP_ACT_STOP) continue;
    const ret = r.action.run(r.arg, subject);
    if (ret === TCP_ACT_CONTINUE) continue;
    if (ret === TCP_ACT_YIELD && final) continue;
    return ret;
  }
  return TCP_ACT_STOP;
}
