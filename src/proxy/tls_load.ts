// The TLS part of the compile pass: reads the certificate, key and CA files
// that bind lines (`ssl crt ... ca-file ...`) and servers (`ssl: true`,
// `ca-file`, `crt`) name, once, at load time, and reports every problem with
// a file at the position of the bind line or server that names it, as
// HAProxy's "parsing [file:line] : 'bind' : unable to load ..." alerts.
// Unreadable files, files without a certificate or without a key, keys that
// do not match are errors; an expired certificate is a warning.
//
// It also chooses each bind's route (proto_tls.ts): the node:tls one when the
// frontend's rules, ACLs or log format read what Deno.listenTls cannot tell
// (SNI, protocol, cipher, client certificate).

import type {
  BackendConfig,
  BindConfig,
  ConfigIssue,
  FrontendConfig,
  RuntimeConfig,
  ServerConfig,
} from "../config/types.ts";
import { type TlsBindParams, tlsBindParams } from "../listener/proto_tls.ts";
import { loadCaFile, loadCertFile, loadCerts } from "../listener/tls_certs.ts";
import { NO_SNI, type TlsClientConfig } from "../listener/tls_client.ts";
import { compileFetch } from "../sample/expr.ts";
import { type Fetch, SMP_VAL_REQ } from "../sample/types.ts";

/** The TLS objects of a configuration, by the config objects they belong to. */
export interface CompiledTls {
  binds: Map<BindConfig, TlsBindParams>;
  servers: Map<ServerConfig, TlsClientConfig>;
  /** TLS of the health checks (`check-ssl`): the server's, with `check-sni` or no SNI. */
  checks: Map<ServerConfig, TlsClientConfig>;
  /** Servers whose `sni` is a sample expression, compiled. */
  sniExprs: Map<ServerConfig, Fetch>;
}

/** Fetches and log variables that only the node:tls route can answer. */
const DETAIL_USE = /\bssl_fc_(sni|protocol|cipher)\b|\bssl_c_\w+|%(\{[^}]*\})?ssl[vc]\b/;

/** Whether a frontend (or a backend it may use) reads TLS facts beyond ALPN. */
function readsTlsDetails(fe: FrontendConfig, backends: readonly BackendConfig[]): boolean {
  const texts: string[] = [];
  for (const a of fe.acls) texts.push(a.expr);
  for (const u of fe.useBackends) texts.push(u.cond);
  for (const r of fe.httpRequest) texts.push(r.text);
  for (const r of fe.httpResponse) texts.push(r.text);
  if (fe.logFormat !== null) texts.push(fe.logFormat.text);
  for (const be of backends) {
    for (const r of be.httpRequest) texts.push(r.text);
    for (const r of be.httpResponse) texts.push(r.text);
  }
  return texts.some((t) => DETAIL_USE.test(t));
}

/**
 * Compiles a server's `sni` expression: a fetch valid on requests (it is
 * evaluated when the connection is opened, before any response). Returns
 * the Fetch or an error message.
 */
function compileSni(text: string): Fetch | string {
  const f = compileFetch(text);
  if ("error" in f) return `sni "${text}": ${f.error}`;
  if ((f.def.val & SMP_VAL_REQ) === 0) {
    return `sni "${text}": '${f.text}' reads the response; a server connection is opened before it`;
  }
  return f;
}

/** Resolves a path of the configuration against its directory. */
function resolvePath(p: string, baseDir: string | undefined): string {
  return p.startsWith("/") || baseDir === undefined ? p : `${baseDir}/${p}`;
}

/**
 * Loads the TLS material of `cfg`; pushes problems to `issues`. Returns the
 * objects (meaningful only when no error was pushed).
 */
export function loadTls(
  cfg: RuntimeConfig,
  baseDir: string | undefined,
  issues: ConfigIssue[],
): CompiledTls {
  const out: CompiledTls = {
    binds: new Map(),
    servers: new Map(),
    checks: new Map(),
    sniExprs: new Map(),
  };
  const push = (
    severity: ConfigIssue["severity"],
    at: { line: number; col: number; path: string } | undefined,
    message: string,
  ) =>
    issues.push({
      severity,
      file: cfg.file,
      line: at?.line ?? 0,
      col: at?.col ?? 0,
      path: at?.path ?? "",
      message,
    });
  for (const fe of cfg.frontends) {
    let details: boolean | null = null;
    for (const b of fe.binds) {
      const ssl = b.ssl;
      if (ssl === undefined || ssl === null) continue;
      const resolve = (p: string) => resolvePath(p, baseDir);
      const { store, problems } = loadCerts(
        ssl.crt.map(resolve),
        Date.now(),
        (ssl.crtList ?? []).map((l) => ({ path: resolve(l.path), pos: l.pos })),
        resolve,
      );
      for (const pr of problems) push(pr.severity, b.at, pr.message);
      let cas: ReturnType<typeof loadCaFile> = { pems: [], certs: [] };
      if (ssl.caFile !== null) {
        cas = loadCaFile(resolvePath(ssl.caFile, baseDir));
        if (typeof cas === "string") {
          push("error", b.at, cas);
          continue;
        }
      }
      if (store === null) continue;
      details ??= readsTlsDetails(fe, cfg.backends);
      out.binds.set(b, tlsBindParams(store, ssl, cas.certs, details));
    }
  }
  for (const be of cfg.backends) {
    for (const s of be.servers) {
      const ssl = s.ssl;
      const checkOnly = (ssl === undefined || ssl === null) && s.checkSsl === true;
      if ((ssl === undefined || ssl === null) && !checkOnly) continue;
      const t: TlsClientConfig = {
        verify: ssl?.verify ?? "none",
        caCerts: [],
        sni: ssl?.sni ?? null,
        alpn: ssl?.alpn ?? [],
        cert: null,
        key: null,
      };
      const at = ssl?.at;
      let ok = true;
      if (ssl?.caFile != null) {
        const cas = loadCaFile(resolvePath(ssl.caFile, baseDir));
        if (typeof cas === "string") {
          push("error", at, cas);
          ok = false;
        } else t.caCerts = cas.pems;
      }
      if (ssl?.crt != null) {
        const r = loadCertFile(resolvePath(ssl.crt, baseDir), Date.now());
        for (const pr of r.problems) push(pr.severity, at, pr.message);
        if (r.entry === null) ok = false;
        else {
          t.cert = r.entry.cert;
          t.key = r.entry.key;
        }
      }
      const expr = ssl?.sniExpr ?? null;
      if (expr !== null) {
        const f = compileSni(expr.text);
        if (typeof f === "string") {
          push("error", expr.at, f);
          ok = false;
        } else out.sniExprs.set(s, f);
      }
      if (!ok) continue;
      out.servers.set(s, t);
      // HAProxy's checks send `check-sni` or no SNI at all (tcpcheck.c), never `sni`.
      out.checks.set(s, { ...t, sni: s.checkSni ?? NO_SNI });
    }
  }
  return out;
}
