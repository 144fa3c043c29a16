// Resolution: the second pass, from validated sections to a RuntimeConfig.
//
// This file applies the built-in defaults and the `defaults:` section to every
// frontend and backend, resolves backend names to indexes, checks what needs
// more than one section (dangling default_backend/use_backend names, mode
// mismatches, ACL names in use_backend conditions, duplicate bind addresses)
// and emits HAProxy's configuration warnings (missing timeouts, keywords
// ignored for lack of capability or of HTTP mode). It returns a deeply frozen
// RuntimeConfig; the caller discards it when any error was reported. It never
// reads YAML nodes: only what validate.ts accepted. Mirrors HAProxy's
// check_config_validity() (cfgparse.c) and proxy_cfg_ensure_no_http().

import type {
  BackendConfig,
  CompressionSettings,
  FrontendConfig,
  GlobalConfig,
  HttpReuse,
  Position,
  ProxyMode,
  RuleLine,
  RuntimeConfig,
  ServerConfig,
  ServerSsl,
  StatsConfig,
  Timeouts,
} from "./types.ts";
import type { Address, LogTarget } from "./types.ts";
import type { BindLine } from "./bind.ts";
import { type LogLine, logTargetList } from "./log_target.ts";
import {
  BALANCE_KEYWORDS,
  CAP_BE,
  CAP_FE,
  findKeyword,
  GLOBAL_DEFAULTS,
  OPTION_KEYWORDS,
  PREDEFINED_ACLS,
  SERVER_DEFAULTS,
  TIMEOUT_KEYWORDS,
} from "./keywords.ts";
import { formatAddress, formatSize } from "./units.ts";
import { h2Tune } from "./h2_keywords.ts";
import type {
  AclLine,
  CheckedConfig,
  Located,
  OptionLine,
  ParsedBalance,
  Reporter,
  Section,
  UseBackendLine,
  Val,
} from "./validate.ts";
import { didYouMean } from "../tools/suggest.ts";
import { resolveStatsSocket } from "./stats_socket.ts";

/**
 * Builds the RuntimeConfig from what the validator accepted.
 * Reports cross-section errors and all warnings to `rep`; missing or refused
 * values take their defaults so that every problem is still found. Returns a
 * deeply frozen config (Sets and Maps included), valid only when `rep` holds
 * no error.
 */
export function resolveConfig(checked: CheckedConfig, rep: Reporter): RuntimeConfig {
  return deepFreeze(new Resolver(checked, rep).run());
}

/** The value a validated section holds for a key (typed by the key's kind, see keywords.ts). */
function get<T>(sec: Section | null | undefined, key: string): Val<T> | undefined {
  return sec?.values.get(key) as Val<T> | undefined;
}

/** The global `log` targets: `stdout` (raw) when absent, none with `log: none`. */
function globalLogTargets(g: Section | null): GlobalConfig["log"] {
  const lines = get<LogLine[]>(g, "log")?.value;
  if (lines === undefined) return GLOBAL_DEFAULTS.log;
  return lines.filter((l): l is LogTarget => typeof l === "object");
}

/** A server `sni` (or `check-sni`) that is a literal host name rather than an expression. */
const HOST_NAME = /^[A-Za-z0-9.-]{1,253}$/;

const NO_TIMEOUTS: Readonly<Timeouts> = {
  connect: 0,
  client: 0,
  server: 0,
  clientFin: 0,
  serverFin: 0,
  tunnel: 0,
  httpRequest: 0,
  httpKeepAlive: 0,
  queue: 0,
  check: 0,
  tarpit: 0,
};

class Resolver {
  readonly #in: CheckedConfig;
  readonly #rep: Reporter;
  readonly #defaults: Section | null;

  constructor(checked: CheckedConfig, rep: Reporter) {
    this.#in = checked;
    this.#rep = rep;
    this.#defaults = checked.defaults;
  }

  run(): RuntimeConfig {
    const global = this.#global();
    const backends = this.#in.backends.map((b) => this.#backend(b));
    const index = new Map<string, number>();
    backends.forEach((b, i) => index.set(b.name, i));
    const modeKnown = this.#in.backends.map((b) => this.#modeKnown(b));
    const frontends = this.#in.frontends.map((f) => this.#frontend(f, backends, modeKnown, index));
    this.#checkBindConflicts();
    const out: RuntimeConfig = { file: this.#rep.file, global, frontends, backends };
    const tables = (this.#in.tables ?? []).flatMap((t) => {
      const line = get<RuleLine>(t, "stick-table")?.value;
      return line === undefined ? [] : [{ name: t.name, stickTable: line }];
    });
    if (tables.length > 0) out.tables = tables;
    out.userlists = (this.#in.userlists ?? []).map((u) => ({
      name: u.name,
      users: get<RuleLine[]>(u, "user")?.value ?? [],
      groups: get<RuleLine[]>(u, "group")?.value ?? [],
    }));
    return out;
  }

  #global(): GlobalConfig {
    const g = this.#in.global;
    const num = (key: string, dflt: number) => get<number>(g, key)?.value ?? dflt;
    const bufsize = num("bufsize", GLOBAL_DEFAULTS.bufsize);
    const mr = get<number>(g, "maxrewrite");
    let maxrewrite = mr?.value ?? GLOBAL_DEFAULTS.maxrewrite;
    if (mr !== undefined && mr.value >= bufsize / 2) {
      this.#rep.error(
        mr,
        `maxrewrite (${formatSize(mr.value)}) must be less than half of bufsize (${
          formatSize(bufsize)
        })`,
      );
    } else if (mr === undefined && maxrewrite >= bufsize / 2) {
      // A small bufsize lowers the default reserve instead of failing a key
      // the user never wrote (HAProxy clamps it the same way).
      maxrewrite = Math.floor(bufsize / 4);
    }
    const sock = get<Section | null>(g, "stats")?.value;
    const statsSocket = sock ? resolveStatsSocket(sock, this.#rep) : undefined;
    return {
      ...(statsSocket !== undefined ? { statsSocket } : {}),
      maxconn: num("maxconn", GLOBAL_DEFAULTS.maxconn),
      bufsize,
      // Never smaller than bufsize: a bulk buffer replaces a big one.
      bulkBufsize: Math.max(bufsize, num("bulk-bufsize", GLOBAL_DEFAULTS.bulkBufsize)),
      largeHeadStatus: this.#largeHeadStatus(g),
      maxrewrite,
      maxhdr: num("maxhdr", GLOBAL_DEFAULTS.maxhdr),
      maxaccept: num("maxaccept", GLOBAL_DEFAULTS.maxaccept),
      bufferLimit: num("buffer-limit", GLOBAL_DEFAULTS.bufferLimit),
      log: globalLogTargets(g),
      ...h2Tune(g === null ? [] : [...g.values.keys()], num),
    };
  }

  #largeHeadStatus(g: Section | null): number {
    const v = get<number>(g, "large-head-status");
    if (v === undefined) return GLOBAL_DEFAULTS.largeHeadStatus;
    if (v.value !== 400 && v.value !== 431) {
      this.#rep.error(v, `large-head-status must be 400 or 431, got ${v.value}`);
      return GLOBAL_DEFAULTS.largeHeadStatus;
    }
    return v.value;
  }

  /** A section's value, else the defaults section's, else undefined. */
  /** A proxy's `log` lines as targets, `log global` expanded. */
  #logTargets(lines: readonly LogLine[]): LogTarget[] {
    const out: LogTarget[] = [];
    for (const l of lines) {
      if (l === "global") out.push(...logTargetList(globalLogTargets(this.#in.global)));
      else if (l !== "none") out.push(l);
    }
    return out;
  }

  #inherit<T>(sec: Section, key: string): Val<T> | undefined {
    return get<T>(sec, key) ?? get<T>(this.#defaults, key);
  }

  /**
   * True when a proxy's mode is the one the user wrote (or the default), false
   * when a refused `mode` value is on the way: then the fallback "tcp" is a
   * guess, and mode checks would only add noise to the error already shown.
   */
  #modeKnown(sec: Section): boolean {
    if (sec.invalid.has("mode")) return false;
    return sec.values.has("mode") || !(this.#defaults?.invalid.has("mode") ?? false);
  }

  /** True when neither the section nor defaults refused a value under `timeout`. */
  #timeoutsKnown(sec: Section, names: readonly string[]): boolean {
    for (const s of [sec, this.#defaults]) {
      if (s === null) continue;
      if (s.invalid.has("timeout")) return false;
      const t = get<Section>(s, "timeout")?.value;
      if (t !== undefined && names.some((n) => t.invalid.has(n))) return false;
    }
    return true;
  }

  #backend(sec: Section): BackendConfig {
    const label = `backend '${sec.name}'`;
    const mode = this.#inherit<ProxyMode>(sec, "mode")?.value ?? "tcp";
    const tcp = mode === "tcp" && this.#modeKnown(sec);
    const bal = this.#inherit<ParsedBalance>(sec, "balance");
    let balance = bal?.value ?? { algo: "roundrobin", args: [] };
    if (
      tcp && bal !== undefined &&
      findKeyword(BALANCE_KEYWORDS, balance.algo)?.l7 === true
    ) {
      this.#rep.warn(
        bal,
        `layer 7 hash not possible for ${label} (needs mode http), falling back to roundrobin`,
      );
      balance = { algo: "roundrobin", args: [] };
    }
    const { options, optionArgs, optionLines } = this.#options(sec, CAP_BE, tcp, label);
    const timeouts = this.#timeouts(sec, CAP_BE, label);
    const missing = (["connect", "server"] as const).filter((t) => timeouts[t] === 0);
    if (missing.length > 0 && this.#timeoutsKnown(sec, missing)) {
      this.#missingTimeouts(sec, label, missing);
    }
    const cookieVal = get<RuleLine>(sec, "cookie");
    let cookie = cookieVal?.value ?? null;
    if (cookieVal !== undefined && tcp) {
      this.#rep.warn(cookieVal, `"cookie" ignored for ${label} as it requires mode http`);
      cookie = null;
    }
    const redispatchArg = optionArgs.get("redispatch")?.[0];
    const redispatchAfter = redispatchArg === undefined ? -1 : Number(redispatchArg);
    const reuseVal = get<HttpReuse>(sec, "http-reuse");
    if (reuseVal !== undefined && tcp) {
      this.#rep.warn(reuseVal, `"http-reuse" ignored for ${label} as it requires mode http`);
    }
    return {
      name: sec.name,
      mode,
      balance: {
        algo: balance.algo,
        args: [...balance.args],
        hashType: this.#inherit<BalanceConfigHash>(sec, "hash-type")?.value ?? "map-based",
      },
      retries: this.#inherit<number>(sec, "retries")?.value ?? 3,
      redispatch: options.has("redispatch") && redispatchAfter !== 0,
      redispatchAfter,
      httpReuse: this.#inherit<HttpReuse>(sec, "http-reuse")?.value ?? "safe",
      timeouts,
      options,
      optionArgs,
      optionLines,
      servers: (get<Section[]>(sec, "servers")?.value ?? []).flatMap((s) => this.#server(s)),
      httpRequest: this.#httpRules(sec, "http-request", tcp, label),
      httpResponse: this.#httpRules(sec, "http-response", tcp, label),
      httpCheck: get<RuleLine[]>(sec, "http-check")?.value ?? [],
      ...rulesOf(sec, "tcp-request", "tcpRequest"),
      ...rulesOf(sec, "use-server", "useServer"),
      cookie,
      stickTable: get<RuleLine>(sec, "stick-table")?.value ?? null,
      stick: get<RuleLine[]>(sec, "stick")?.value ?? [],
      compression: this.#compression(sec, tcp, label),
    };
  }

  /** A server with HAProxy's defaults; none when it has no valid address (already reported). */
  #server(sec: Section): ServerConfig[] {
    const address = get<Address>(sec, "address")?.value;
    if (address === undefined) return [];
    const num = (key: string, dflt: number) => get<number>(sec, key)?.value ?? dflt;
    const flag = (key: string) => get<boolean>(sec, key)?.value ?? false;
    const inter = num("inter", SERVER_DEFAULTS.inter);
    return [{
      name: sec.name,
      address,
      weight: num("weight", SERVER_DEFAULTS.weight),
      maxconn: num("maxconn", SERVER_DEFAULTS.maxconn),
      maxqueue: num("maxqueue", SERVER_DEFAULTS.maxqueue),
      disabled: flag("disabled"),
      backup: flag("backup"),
      check: flag("check"),
      inter,
      fastinter: num("fastinter", inter),
      downinter: num("downinter", inter),
      rise: num("rise", SERVER_DEFAULTS.rise),
      fall: num("fall", SERVER_DEFAULTS.fall),
      checkPort: get<number>(sec, "port")?.value ?? null,
      checkAddr: get<string>(sec, "addr")?.value ?? null,
      cookie: get<string>(sec, "cookie")?.value ?? null,
      ...this.#serverSsl(sec),
      ...sendProxy(sec),
    }];
  }

  /**
   * `ssl: true` and its keys (verify, ca-file, crt, sni, alpn, check-ssl).
   * The TLS keys without `ssl: true` are ignored with a warning, as HAProxy
   * ignores `verify` on a cleartext server; check-ssl alone is valid.
   */
  #serverSsl(sec: Section): { ssl?: ServerSsl; checkSsl?: boolean; checkSni?: string } {
    const ssl = get<boolean>(sec, "ssl");
    const str = (k: string) => get<string>(sec, k)?.value ?? null;
    const explicitCheck = get<boolean>(sec, "check-ssl")?.value;
    // `check-sni`: a literal only, as in HAProxy (checks have no stream to evaluate against).
    const checkSniVal = get<string>(sec, "check-sni");
    let checkSni: { checkSni?: string } = {};
    if (checkSniVal !== undefined) {
      if (HOST_NAME.test(checkSniVal.value)) checkSni = { checkSni: checkSniVal.value };
      else this.#rep.error(checkSniVal, `check-sni "${checkSniVal.value}": not a host name`);
      if (ssl?.value !== true && explicitCheck !== true) {
        this.#rep.warn(checkSniVal, `"check-sni" ignored: the server's checks are not over TLS`);
      }
    }
    if (ssl?.value !== true) {
      for (const k of ["verify", "ca-file", "crt", "sni", "alpn"]) {
        const v = get<unknown>(sec, k);
        if (v !== undefined) this.#rep.warn(v, `"${k}" ignored: the server has no "ssl: true"`);
      }
      return explicitCheck === undefined ? checkSni : { checkSsl: explicitCheck, ...checkSni };
    }
    // `sni`: a host name or str(NAME) is a literal; anything else is a sample
    // expression (HAProxy's), compiled by the TLS load (src/proxy/tls_load.ts).
    let sni = str("sni");
    let sniExpr: ServerSsl["sniExpr"] = null;
    const sniVal = get<string>(sec, "sni");
    if (sni !== null && sniVal !== undefined) {
      const m = /^str\(([^()]*)\)$/.exec(sni.trim());
      if (m !== null) sni = m[1]!;
      if (!HOST_NAME.test(sni)) {
        sniExpr = {
          text: sniVal.value.trim(),
          at: { line: sniVal.line, col: sniVal.col, path: sniVal.path },
        };
        sni = null;
      }
    }
    const alpnText = str("alpn");
    const alpn = alpnText === null
      ? []
      : alpnText.split(",").map((x) => x.trim()).filter((x) => x !== "");
    return {
      ssl: {
        verify: (str("verify") ?? "required") as ServerSsl["verify"],
        caFile: str("ca-file"),
        crt: str("crt"),
        sni,
        sniExpr,
        alpn,
        at: { line: ssl.line, col: ssl.col, path: ssl.path },
      },
      // HAProxy: checks of an ssl server go over TLS unless they use another port.
      checkSsl: explicitCheck ?? get<number>(sec, "port") === undefined,
      ...checkSni,
    };
  }

  #frontend(
    sec: Section,
    backends: BackendConfig[],
    modeKnownOf: boolean[],
    index: Map<string, number>,
  ): FrontendConfig {
    const label = `frontend '${sec.name}'`;
    const mode = this.#inherit<ProxyMode>(sec, "mode")?.value ?? "tcp";
    const modeKnown = this.#modeKnown(sec);
    const tcp = mode === "tcp" && modeKnown;
    const acls = get<AclLine[]>(sec, "acl")?.value ?? [];

    // Looks a backend up for a rule, reporting a missing name or a mode mismatch.
    const lookup = (name: string, at: Located, rule: string): number => {
      const i = index.get(name);
      const be = i === undefined ? undefined : backends[i];
      if (i === undefined || be === undefined) {
        const hint = didYouMean(name, index.keys());
        this.#rep.error(at, `unable to find required ${rule} "${name}"${hint}`);
        return -1;
      }
      if (be.mode !== mode && modeKnown && modeKnownOf[i] === true) {
        this.#rep.error(
          at,
          `${mode} ${label} tries to use incompatible ${be.mode} backend '${name}' in a '${rule}' rule (see 'mode')`,
        );
      }
      return i;
    };

    const db = get<string>(sec, "default_backend");
    const defaultBackend = db === undefined ? -1 : lookup(db.value, db, "default_backend");
    const useBackends = (get<UseBackendLine[]>(sec, "use_backend")?.value ?? []).map((u) => {
      this.#checkAclNames(u, acls);
      // `%[...]` names the backend per request (compiled by src/proxy/compile.ts).
      if (u.backend.includes("%[")) {
        return { backend: -1, dynamic: u.backend, cond: u.cond, line: u.line, col: u.col };
      }
      return {
        backend: lookup(u.backend, u, "use_backend"),
        cond: u.cond,
        line: u.line,
        col: u.col,
      };
    });

    const { options, optionArgs, optionLines } = this.#options(sec, CAP_FE, tcp, label);
    const timeouts = this.#timeouts(sec, CAP_FE, label);
    if (timeouts.client === 0 && this.#timeoutsKnown(sec, ["client"])) {
      this.#missingTimeouts(sec, label, ["client"]);
    }

    const statsVal = get<Section | null>(sec, "stats");
    let stats = statsVal?.value ? this.#stats(statsVal.value) : null;
    if (statsVal !== undefined && stats !== null && tcp) {
      this.#rep.warn(statsVal, `"stats" ignored for ${label} as it requires mode http`);
      stats = null;
    }
    const log = this.#inherit<boolean | LogLine[]>(sec, "log")?.value ?? true;
    const noLog = log === false || (Array.isArray(log) && log[0] === "none");
    const maxconn = this.#inherit<number>(sec, "maxconn")?.value ?? 0;
    for (const b of get<Val<BindLine>[]>(sec, "bind")?.value ?? []) {
      // HTTP/2 is turned into HTTP requests: a TCP frontend has none (HAProxy refuses it too).
      if (b.value.proto === "h2" && tcp) {
        this.#rep.error(b, `bind option "proto h2" requires mode http in ${label}`);
      }
    }
    return {
      name: sec.name,
      mode,
      binds: (get<Val<BindLine>[]>(sec, "bind")?.value ?? []).map((b) => ({
        address: b.value.address,
        // HAProxy: the accept queue is as long as the frontend's maxconn
        // unless `backlog` says otherwise (the kernel caps it at somaxconn).
        backlog: b.value.backlog ??
          (maxconn || (get<number>(this.#in.global, "maxconn")?.value ?? GLOBAL_DEFAULTS.maxconn)),
        // Only TLS binds carry these: their files are read by the compile pass.
        ...(b.value.ssl === null
          ? {}
          : { ssl: b.value.ssl, at: { line: b.line, col: b.col, path: b.path } }),
        // Optional fields are present only when set (configs built in code omit them).
        ...(b.value.acceptProxy ? { acceptProxy: true } : {}),
        ...(b.value.proto ? { proto: b.value.proto } : {}),
      })),
      maxconn,
      defaultBackend,
      timeouts,
      options,
      optionArgs,
      optionLines,
      logFormat: this.#inherit<RuleLine>(sec, "log-format")?.value ?? null,
      noLog,
      ...(Array.isArray(log) && !noLog ? { logTargets: this.#logTargets(log) } : {}),
      acls: acls.map((a) => ({ name: a.name, expr: a.expr, line: a.line, col: a.col })),
      useBackends,
      httpRequest: this.#httpRules(sec, "http-request", tcp, label),
      httpResponse: this.#httpRules(sec, "http-response", tcp, label),
      ...rulesOf(sec, "tcp-request", "tcpRequest"),
      stats,
      errorFiles: this.#inheritRules(sec, "errorfile", tcp, label),
      stickTable: get<RuleLine>(sec, "stick-table")?.value ?? null,
      captures: this.#httpRules(sec, "capture", tcp, label),
      uniqueIdFormat: this.#inherit<RuleLine>(sec, "unique-id-format")?.value ?? null,
      uniqueIdHeader: this.#inherit<string>(sec, "unique-id-header")?.value ?? null,
      compression: this.#compression(sec, tcp, label),
    };
  }

  /**
   * `compression` lines of the section, else of the defaults (HTTP only):
   * `algo gzip|deflate...`, `type TYPE...`, `offload`; several lines add up.
   * Refused at its line: another word, an unknown algorithm, a keyword
   * without value.
   */
  #compression(sec: Section, tcp: boolean, label: string): CompressionSettings | null {
    const lines = this.#inheritRules(sec, "compression", tcp, label);
    if (lines.length === 0) return null;
    const algos: string[] = [];
    const types: string[] = [];
    let offload = false;
    for (const l of lines) {
      const w = l.text.trim().split(/\s+/);
      const at = { line: l.line, col: l.col, path: `${sec.name}.compression` };
      const kw = w[0] ?? "";
      if (kw === "offload" && w.length === 1) offload = true;
      else if ((kw === "algo" || kw === "type") && w.length > 1) {
        for (const v of w.slice(1)) {
          if (kw === "type") types.push(v.toLowerCase());
          else if (v === "gzip" || v === "deflate") algos.push(v);
          else {
            this.#rep.error(
              at,
              `compression: unsupported algorithm "${v}" (supported: gzip, deflate)`,
            );
          }
        }
      } else {
        this.#rep.error(
          at,
          `compression: expected "algo ALGO...", "type TYPE..." or "offload", got "${l.text}"`,
        );
      }
    }
    return { algos, types, offload };
  }

  /** A rule list of the section, else of the defaults section (HTTP only). */
  #inheritRules(sec: Section, key: string, tcp: boolean, label: string): RuleLine[] {
    const own = this.#httpRules(sec, key, tcp, label);
    if (own.length > 0 || tcp) return own;
    return get<RuleLine[]>(this.#defaults, key)?.value ?? [];
  }

  #stats(sec: Section): StatsConfig {
    const auth = get<string>(sec, "auth")?.value;
    const colon = auth?.indexOf(":") ?? -1;
    return {
      uri: get<string>(sec, "uri")?.value ?? "/stats",
      refresh: get<number>(sec, "refresh")?.value ?? 0,
      auth: auth === undefined
        ? null
        : { user: auth.slice(0, colon), password: auth.slice(colon + 1) },
      admin: get<boolean>(sec, "admin")?.value ?? false,
      prometheusUri: get<string>(sec, "prometheus")?.value ?? null,
    };
  }

  /**
   * Every ACL a use_backend condition names must be declared in the frontend
   * or predefined; anonymous ACLs `{ ... }` and the operators are skipped.
   */
  #checkAclNames(u: UseBackendLine, acls: AclLine[]): void {
    const declared = new Set(acls.map((a) => a.name));
    const tokens = u.cond.split(/\s+/).slice(1); // drop "if" / "unless"
    let inBraces = false;
    for (const t of tokens) {
      if (inBraces) {
        if (t.endsWith("}")) inBraces = false;
        continue;
      }
      if (t === "||" || t === "or" || t === "") continue;
      const name = t.replace(/^!+/, "");
      if (name.startsWith("{")) {
        inBraces = !name.endsWith("}");
        continue;
      }
      if (name === "" || declared.has(name) || PREDEFINED_ACLS.has(name)) continue;
      this.#rep.error(u, `no such ACL "${name}"${didYouMean(name, declared)}`);
    }
  }

  /**
   * Timeouts of a proxy: the defaults section's, overridden key by key by the
   * section's own. A key the proxy side cannot use is ignored with HAProxy's
   * capability warning.
   */
  #timeouts(sec: Section, cap: number, label: string): Timeouts {
    const t: Timeouts = { ...NO_TIMEOUTS };
    const fromDefaults = get<Section>(this.#defaults, "timeout")?.value;
    const own = get<Section>(sec, "timeout")?.value;
    for (const kw of TIMEOUT_KEYWORDS) {
      const d = get<number>(fromDefaults, kw.name);
      if (d !== undefined) t[kw.field] = d.value;
      const v = get<number>(own, kw.name);
      if (v === undefined) continue;
      if ((kw.cap & cap) === 0) {
        this.#rep.warn(
          v,
          `timeout "${kw.name}" ignored because ${label} has no ${capName(kw.cap)} capability`,
        );
        continue;
      }
      t[kw.field] = v.value;
    }
    return t;
  }

  #missingTimeouts(sec: Section, label: string, names: readonly string[]): void {
    const list = names.map((n) => `'${n}'`).join(", ");
    this.#rep.warn(
      { line: sec.line, col: sec.col, path: `${sec.path}.timeout` },
      `missing timeouts for ${label}: while not properly invalid, you will certainly encounter ` +
        `various problems with such a configuration; please set ${list} to a non-zero value`,
    );
  }

  /**
   * Options of a proxy: the defaults section's (only those its side can use,
   * silently, as HAProxy copies them), then the section's own in order ("no
   * NAME" removes). Warns for an own option of the other side, and, when
   * `tcp`, for an HTTP-only option (httplog falls back to tcplog).
   */
  #options(
    sec: Section,
    cap: number,
    tcp: boolean,
    label: string,
  ): {
    options: ReadonlySet<string>;
    optionArgs: ReadonlyMap<string, readonly string[]>;
    optionLines: ReadonlyMap<string, Position>;
  } {
    const active = new Map<string, OptionLine>();
    const apply = (o: OptionLine) => {
      if (o.negate) active.delete(o.name);
      else active.set(o.name, o);
    };
    for (const o of get<OptionLine[]>(this.#defaults, "option")?.value ?? []) {
      const kw = findKeyword(OPTION_KEYWORDS, o.name);
      if (kw !== undefined && (kw.cap & cap) !== 0) apply(o);
    }
    for (const o of get<OptionLine[]>(sec, "option")?.value ?? []) {
      const kw = findKeyword(OPTION_KEYWORDS, o.name);
      if (kw !== undefined && (kw.cap & cap) === 0) {
        this.#rep.warn(
          o,
          `option "${o.name}" ignored because ${label} has no ${capName(kw.cap)} capability`,
        );
        continue;
      }
      apply(o);
    }
    if (tcp) {
      for (const [name, o] of active) {
        if (findKeyword(OPTION_KEYWORDS, name)?.httpOnly !== true) continue;
        active.delete(name);
        if (name === "httplog") {
          this.#rep.warn(
            o,
            `option "httplog" not usable with ${label} (needs mode http), falling back to option "tcplog"`,
          );
          if (!active.has("tcplog")) active.set("tcplog", { ...o, name: "tcplog", args: [] });
        } else {
          this.#rep.warn(o, `option "${name}" ignored for ${label} as it requires mode http`);
        }
      }
    }
    const optionArgs = new Map<string, readonly string[]>();
    for (const [name, o] of active) if (o.args.length > 0) optionArgs.set(name, [...o.args]);
    return {
      options: new FrozenSet(active.keys()),
      optionArgs: new FrozenMap(optionArgs),
      optionLines: new FrozenMap(
        [...active].map(([name, o]) => [name, { line: o.line, col: o.col }]),
      ),
    };
  }

  /** http-request/http-response lines; ignored with a warning in TCP mode. */
  #httpRules(sec: Section, key: string, tcp: boolean, label: string): RuleLine[] {
    const v = get<RuleLine[]>(sec, key);
    if (v === undefined || v.value.length === 0) return [];
    if (tcp) {
      this.#rep.warn(v, `"${key}" rules ignored for ${label} as they require mode http`);
      return [];
    }
    return v.value;
  }

  /** Two frontends (or two binds) on one address cannot both listen; port 0 is always free. */
  #checkBindConflicts(): void {
    const bound = new Map<string, { fe: string; at: Located }>();
    for (const fe of this.#in.frontends) {
      for (const b of get<Val<BindLine>[]>(fe, "bind")?.value ?? []) {
        const a = b.value.address;
        if (a.kind === "tcp" && a.port === 0) continue;
        const key = formatAddress(a);
        const first = bound.get(key);
        if (first === undefined) bound.set(key, { fe: fe.name, at: b });
        else {
          this.#rep.error(
            b,
            `address "${key}" is already bound by frontend '${first.fe}' (line ${first.at.line})`,
          );
        }
      }
    }
  }
}

type BalanceConfigHash = BackendConfig["balance"]["hashType"];

/** `{ [field]: lines }` when the section has lines under `key`, else `{}` (the field stays absent). */
function rulesOf<F extends string>(
  sec: Section,
  key: string,
  field: F,
): { [k in F]?: RuleLine[] } {
  const v = get<RuleLine[]>(sec, key)?.value ?? [];
  return v.length > 0 ? { [field]: v } as { [k in F]: RuleLine[] } : {};
}

/** A server's PROXY protocol mode (ServerConfig.sendProxy), present only when asked. */
function sendProxy(sec: Section): { sendProxy?: number } {
  const on = (k: string) => get<boolean>(sec, k)?.value === true;
  const m = on("send-proxy-v2-ssl") ? 3 : on("send-proxy-v2") ? 2 : on("send-proxy") ? 1 : 0;
  return m > 0 ? { sendProxy: m } : {};
}

function capName(cap: number): string {
  return cap === CAP_FE ? "frontend" : "backend";
}

/** A Set that refuses changes once built (Object.freeze does not cover Set contents). */
export class FrozenSet<T> extends Set<T> {
  #sealed = false;

  constructor(items: Iterable<T>) {
    super();
    for (const i of items) super.add(i);
    this.#sealed = true;
  }

  override add(value: T): this {
    if (this.#sealed) throw new TypeError("the configuration is frozen");
    return super.add(value);
  }

  override delete(_value: T): boolean {
    throw new TypeError("the configuration is frozen");
  }

  override clear(): void {
    throw new TypeError("the configuration is frozen");
  }
}

/** A Map that refuses changes once built. */
export class FrozenMap<K, V> extends Map<K, V> {
  #sealed = false;

  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.#sealed = true;
  }

  override set(key: K, value: V): this {
    if (this.#sealed) throw new TypeError("the configuration is frozen");
    return super.set(key, value);
  }

  override delete(_key: K): boolean {
    throw new TypeError("the configuration is frozen");
  }

  override clear(): void {
    throw new TypeError("the configuration is frozen");
  }
}

/** Freezes an object graph in place (arrays, plain objects, and the values of Maps/Sets). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
  } else if (value instanceof Set) {
    for (const v of value) deepFreeze(v);
  } else {
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
