// The compile pass: turns the raw text a RuntimeConfig keeps (acl lines,
// use_backend conditions, http-request / http-response rules, option
// forwardfor, log-format, balance arguments) into matchers, rule tables and
// values, once, at load time. Every problem becomes a ConfigIssue with
// file:line:col and the key path, like the validator's. Kept apart from the
// frozen RuntimeConfig because compiled objects (regexes, tables) are not
// plain data.
//
// It sits above every layer whose objects it builds (acl/, http/, log/, and
// the backend's), in proxy/: config/ only turns YAML into a RuntimeConfig
// and never imports them (docs/internals/architecture.md).

import { AclTable, compileAcls, compileCondition } from "../acl/acl.ts";
import type { CompiledBackend } from "../backend/types.ts";
import type { CompiledFrontend, CompiledSwitchingRule } from "../frontend/types.ts";
import { httpCheckIssues } from "../check/http_check.ts";
import { type CookieConfig, parseCookieConfig } from "../http/cookie.ts";
import { ERRORFILE_CODES, ErrorReplies } from "../http/http_errors.ts";
import { compileRules, type ForwardFor, forwardforHeader } from "../http/http_rules.ts";
import { HTTPLOG_FORMAT, LogFormat, LogFormatError, TCPLOG_FORMAT } from "../log/log_format.ts";
import { JsonLogFormat } from "../log/log_json.ts";
import type { LogLineFormat } from "../log/types.ts";
import { logTargetList } from "../config/log_target.ts";
import { BalanceArgsError, balanceDefaults, parseBalanceArgs } from "../config/balance.ts";
import { compileTcpRules, compileUseServers } from "../tcp/tcp_rules.ts";
import type {
  BackendConfig,
  CompiledBalance,
  ConfigIssue,
  FrontendConfig,
  RuntimeConfig,
} from "../config/types.ts";

export interface CompiledConfig {
  frontends: CompiledFrontend[];
  backends: CompiledBackend[];
}

/**
 * Compiles every frontend and backend of `cfg`. `baseDir` resolves relative
 * `return file` paths (the config file's directory). Returns the compiled
 * tables and the issues (errors make the config unusable).
 */
export function compileConfig(
  cfg: RuntimeConfig,
  baseDir: string | undefined,
): { compiled: CompiledConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const err = (line: number, col: number, path: string, message: string) =>
    issues.push({ severity: "error", file: cfg.file, line, col, path, message });
  const opts = baseDir === undefined ? {} : { baseDir };

  const frontends = cfg.frontends.map((fe): CompiledFrontend => {
    const base = `frontends.${fe.name}`;
    const { acls, errors } = compileAcls(fe.acls);
    for (const e of errors) err(e.line, e.col, `${base}.acl`, e.message);
    const useBackends: CompiledSwitchingRule[] = [];
    fe.useBackends.forEach((u, i) => {
      if (u.cond === "") {
        useBackends.push({ backend: u.backend, cond: null });
        return;
      }
      const c = compileCondition(u.cond, acls);
      if ("error" in c) err(u.line, u.col, `${base}.use_backend[${i}]`, c.error);
      else if (c.resFetch !== null) {
        err(
          u.line,
          u.col,
          `${base}.use_backend[${i}]`,
          `'${c.resFetch}' is a response fetch: a backend is chosen before any response exists`,
        );
      } else useBackends.push({ backend: u.backend, cond: c });
    });
    const req = compileRules(fe.httpRequest, acls, "request", opts);
    for (const e of req.errors) err(e.line, e.col, `${base}.http-request`, e.message);
    const res = compileRules(fe.httpResponse, acls, "response", opts);
    for (const e of res.errors) err(e.line, e.col, `${base}.http-response`, e.message);
    const tcp = compileTcpRules(fe.tcpRequest ?? [], acls, { backend: false, servers: [] });
    for (const e of tcp.errors) err(e.line, e.col, `${base}.tcp-request`, e.message);
    let logFormat: LogLineFormat | null = null;
    if (!fe.noLog) {
      const fmt = fe.logFormat?.text ??
        (fe.mode === "http" ? HTTPLOG_FORMAT : TCPLOG_FORMAT);
      try {
        // HTTP-only variables (%r, %HM, %TR...) are refused in a TCP-mode frontend, as HAProxy.
        const mode = fe.mode === "http" ? "http" : "tcp";
        logFormat = fmt.trim() === "json" ? new JsonLogFormat(mode) : new LogFormat(fmt, { mode });
      } catch (e) {
        if (!(e instanceof LogFormatError)) throw e;
        // Only a custom format can fail: the built-in ones are known good.
        const at = fe.logFormat ?? { line: 0, col: 0 };
        err(at.line, at.col, `${base}.log-format`, e.message);
      }
      // Without a target no line is rendered at all (a line per request costs).
      if ((fe.logTargets ?? logTargetList(cfg.global.log)).length === 0) logFormat = null;
    }
    const files = new Map<number, Uint8Array>();
    fe.errorFiles.forEach((l, i) => {
      const at = `${base}.errorfile[${i}]`;
      const m = /^\s*(\d{3})\s+(\S.*?)\s*$/.exec(l.text);
      if (m === null) {
        err(l.line, l.col, at, `expected "CODE FILE", got "${l.text}"`);
        return;
      }
      const code = Number(m[1]);
      if (!ERRORFILE_CODES.has(code)) {
        err(
          l.line,
          l.col,
          at,
          `errorfile: status ${code} is not one the proxy produces (${
            [...ERRORFILE_CODES].join(", ")
          })`,
        );
        return;
      }
      const path = m[2]!.startsWith("/") || baseDir === undefined ? m[2]! : `${baseDir}/${m[2]!}`;
      try {
        files.set(code, Deno.readFileSync(path));
      } catch (e) {
        err(
          l.line,
          l.col,
          at,
          `errorfile: cannot read "${path}": ${e instanceof Error ? e.message : e}`,
        );
      }
    });
    return {
      errorReplies: new ErrorReplies(files),
      acls,
      useBackends,
      httpRequest: req.rules,
      httpResponse: res.rules,
      forwardFor: forwardFor(fe, `${base}.option`, err),
      logFormat,
      tcpRules: tcp.rules,
    };
  });

  const backends = cfg.backends.map((be): CompiledBackend => {
    const base = `backends.${be.name}`;
    // Backends have no acl section: their conditions use inline and predefined ACLs.
    const acls = new AclTable();
    const req = compileRules(be.httpRequest, acls, "request", opts);
    for (const e of req.errors) err(e.line, e.col, `${base}.http-request`, e.message);
    const res = compileRules(be.httpResponse, acls, "response", opts);
    for (const e of res.errors) err(e.line, e.col, `${base}.http-response`, e.message);
    // Reported here so that `-c` and the start-up name them at file:line:col;
    // without `option httpchk` the lines are ignored, as at start-up.
    if (be.options.has("httpchk")) {
      for (const e of httpCheckIssues(be)) err(e.line, e.col, `${base}.http-check`, e.detail);
    }
    // A YAML file's arguments were checked at their line by the validator;
    // this reports those of a configuration built in code (no position).
    let balance: CompiledBalance;
    try {
      balance = parseBalanceArgs(be.balance);
    } catch (e) {
      if (!(e instanceof BalanceArgsError)) throw e;
      err(0, 0, `${base}.balance`, e.message);
      balance = balanceDefaults(be.balance.algo, be.balance.hashType);
    }
    const names = be.servers.map((s) => s.name);
    const tcp = compileTcpRules(be.tcpRequest ?? [], acls, { backend: true, servers: names });
    for (const e of tcp.errors) err(e.line, e.col, `${base}.tcp-request`, e.message);
    const us = compileUseServers(be.useServer ?? [], acls, names);
    for (const e of us.errors) err(e.line, e.col, `${base}.use-server`, e.message);
    let cookie: CookieConfig | null = null;
    if (be.cookie !== null) {
      const c = parseCookieConfig(be.cookie.text);
      if ("error" in c) err(be.cookie.line, be.cookie.col, `${base}.cookie`, c.error);
      else cookie = c;
    }
    return {
      balance,
      httpRequest: req.rules,
      httpResponse: res.rules,
      forwardFor: forwardFor(be, `${base}.option`, err),
      cookie,
      tcpRules: tcp.rules,
      useServers: us.rules,
    };
  });
  return { compiled: { frontends, backends }, issues };
}

/** `option forwardfor` of a proxy; an error points at its option line. */
function forwardFor(
  proxy: Pick<FrontendConfig | BackendConfig, "options" | "optionArgs" | "optionLines">,
  path: string,
  err: (line: number, col: number, path: string, message: string) => void,
): ForwardFor | null {
  if (!proxy.options.has("forwardfor")) return null;
  try {
    return forwardforHeader(proxy.optionArgs.get("forwardfor") ?? []);
  } catch (e) {
    const at = proxy.optionLines?.get("forwardfor") ?? { line: 0, col: 0 };
    err(at.line, at.col, path, e instanceof Error ? e.message : String(e));
    return null;
  }
}
