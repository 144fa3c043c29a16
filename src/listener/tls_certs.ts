// Certificates of a TLS bind (HAProxy's ssl_ckch.c and the crt lookup of
// ssl_sock.c): PEM files read once at load time, their names taken from the
// certificate, and the choice of a certificate for a server name (SNI).
//
// A `crt` argument is a PEM file (certificate chain, then or before it the
// private key) or a directory of such files, read in name order. A file
// without a key takes the one of `FILE.key` (or `NAME.key` for `NAME.crt`),
// as HAProxy's ssl-load-extra-files does. The names a certificate serves are
// the DNS names of its subjectAltName, else its CN; `*.example.com` serves
// one label below example.com. The first certificate loaded is the default
// (no SNI, or a name no certificate has). A `crt-list` file (HAProxy's
// format) lists certificates one per line with SNI filters that replace
// (or, `!name`, remove) the certificate's own names.
//
// It never reports where a problem is in the configuration: it returns
// problems, which the compile pass places at the bind line
// (src/proxy/tls_load.ts). Nothing here runs per connection but lookup().

import { createPrivateKey, X509Certificate } from "node:crypto";

/** One certificate with its chain and key, as the TLS APIs take them (PEM). */
export interface CertEntry {
  /** File it came from (messages, `show ssl cert`). */
  file: string;
  /** PEM: the leaf certificate, then the chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** Names served (lower case; wildcards as written, e.g. "*.example.com"). */
  names: string[];
  /** Subject of the leaf, as "CN=..., O=..." (logs, tests). */
  subject: string;
  /** Expiry, epoch ms. */
  notAfter: number;
}

/** A problem with a file: errors refuse the configuration, warnings do not. */
export interface CertProblem {
  severity: "error" | "warning";
  message: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

/** Files of a crt directory that are companions, not certificates (HAProxy's extra files). */
const COMPANION = /\.(key|ocsp|issuer|sctl|csr|srl|txt|md)$|^\./;

/**
 * The certificates of a bind, and the SNI lookup. Built by loadCerts();
 * lookup() is what a handshake calls.
 */
export class CertStore {
  readonly entries: CertEntry[] = [];
  #exact = new Map<string, CertEntry>();
  #wild = new Map<string, CertEntry>();

  /** Adds a certificate; the first added is the default. A name already served keeps its first certificate. */
  add(e: CertEntry): void {
    this.entries.push(e);
    for (const n of e.names) {
      if (n.startsWith("*.")) {
        if (!this.#wild.has(n.slice(2))) this.#wild.set(n.slice(2), e);
      } else if (!this.#exact.has(n)) this.#exact.set(n, e);
    }
  }

  /** The default certificate (the first loaded). */
  get default(): CertEntry {
    return this.entries[0]!;
  }

  /**
   * The certificate for `sni`: an exact name, else a wildcard one label up,
   * else the default. `sni` "" or null: the default.
   */
  lookup(sni: string | null): CertEntry {
    if (sni === null || sni === "") return this.default;
    const name = sni.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf(".");
    if (dot > 0) {
      const w = this.#wild.get(name.slice(dot + 1));
      if (w !== undefined) return w;
    }
    return this.default;
  }
}

/** Text of an error from the file system or the crypto layer. */
function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\(os error \d+\)/, "").replace(/: (readfile|stat|readdir) '.*'$/, "");
}

/** "CN=a, O=b" from node's multi-line subject text. */
function subjectText(x: X509Certificate): string {
  return x.subject.split("\n").filter((l) => l !== "").join(", ");
}

/** DNS names of a certificate (SAN, else CN), lower case. */
export function certNames(x: X509Certificate): string[] {
  const san = x.subjectAltName;
  if (san !== undefined && san !== "") {
    const names = san.split(",").map((p) => p.trim()).filter((p) => p.startsWith("DNS:")).map((
      p,
    ) => p.slice(4).toLowerCase());
    if (names.length > 0) return names;
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject);
  return cn === null ? [] : [cn[1]!.toLowerCase()];
}

/**
 * Reads one PEM file as a certificate entry. Returns the entry (possibly
 * with warnings) or errors: unreadable, no certificate, no key (neither in
 * the file nor beside it), a key that does not match, an unparsable one.
 * Expired or not yet valid: a warning (the handshake still offers it, as
 * HAProxy does).
 */
export function loadCertFile(
  file: string,
  now: number,
): { entry: CertEntry | null; problems: CertProblem[] } {
  const problems: CertProblem[] = [];
  const fail = (message: string) => {
    problems.push({ severity: "error", message: `certificate file "${file}": ${message}` });
    return { entry: null, problems };
  };
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    return fail(`cannot read it: ${reason(e)}`);
  }
  const certs = text.match(CERT_BLOCK) ?? [];
  if (certs.length === 0) return fail("no PEM certificate in it");
  let keyPem = KEY_BLOCK.exec(text)?.[0] ?? null;
  let keyFile = file;
  if (keyPem === null) {
    const candidates = [file + ".key"];
    if (file.endsWith(".crt") || file.endsWith(".pem")) candidates.push(file.slice(0, -4) + ".key");
    for (const c of candidates) {
      try {
        keyPem = KEY_BLOCK.exec(Deno.readTextFileSync(c))?.[0] ?? null;
      } catch { /* not there */ }
      if (keyPem !== null) {
        keyFile = c;
        break;
      }
    }
    if (keyPem === null) {
      return fail(`no private key in it (nor in "${candidates.join('" or "')}")`);
    }
  }
  if (keyPem.includes("ENCRYPTED")) return fail("the private key is encrypted (not supported)");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certs[0]!);
  } catch (e) {
    return fail(`cannot parse the certificate: ${reason(e)}`);
  }
  try {
    const key = createPrivateKey(keyPem);
    if (!leaf.checkPrivateKey(key)) {
      return fail(
        keyFile === file
          ? "the private key does not match the certificate"
          : `the private key in "${keyFile}" does not match the certificate`,
      );
    }
  } catch (e) {
    return fail(`cannot parse the private key: ${reason(e)}`);
  }
  const notAfter = Date.parse(leaf.validTo);
  const notBefore = Date.parse(leaf.validFrom);
  const subject = subjectText(leaf);
  if (notAfter < now) {
    problems.push({
      severity: "warning",
      message:
        `certificate file "${file}": the certificate (${subject}) expired on ${leaf.validTo}`,
    });
  } else if (notBefore > now) {
    problems.push({
      severity: "warning",
      message:
        `certificate file "${file}": the certificate (${subject}) is not valid before ${leaf.validFrom}`,
    });
  }
  const names = certNames(leaf);
  return {
    entry: { file, cert: certs.join("\n") + "\n", key: keyPem + "\n", names, subject, notAfter },
    problems,
  };
}

/**
 * Reads a `crt-list` file (HAProxy's format) into `store`: one certificate
 * per line, `PATH [SNI filter...]`, `#` comments and empty lines skipped.
 * Filters name the SNI values the certificate serves instead of its own
 * names (exact, or `*.domain`); a `!name` filter removes one of its own
 * names. Per-line SSL options (`[alpn h2 ...]`) are refused. `resolve`
 * makes a relative PATH absolute. Problems name the list and its line.
 */
export function loadCrtList(
  list: string,
  resolve: (p: string) => string,
  store: CertStore,
  problems: CertProblem[],
  now = Date.now(),
): void {
  const err = (message: string) => problems.push({ severity: "error", message });
  let text: string;
  try {
    text = Deno.readTextFileSync(list);
  } catch (e) {
    return void err(`crt-list "${list}": cannot read it: ${reason(e)}`);
  }
  let count = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const at = `crt-list "${list}" line ${i + 1}`;
    const words = line.split(/\s+/);
    if (words.slice(1).some((w) => w.startsWith("["))) {
      return err(
        `${at}: per-certificate options ("${line.slice(line.indexOf("["))}") are not supported; ` +
          "set them on the bind line",
      );
    }
    const pos: string[] = [], neg: string[] = [];
    for (const w of words.slice(1)) {
      const name = w.startsWith("!") ? w.slice(1) : w;
      if (!/^(\*\.)?[A-Za-z0-9_.-]+$/.test(name)) return err(`${at}: invalid SNI filter "${w}"`);
      (w.startsWith("!") ? neg : pos).push(name.toLowerCase());
    }
    const r = loadCertFile(resolve(words[0]!), now);
    for (const pr of r.problems) problems.push({ ...pr, message: `${at}: ${pr.message}` });
    if (r.entry === null) return;
    const names = pos.length > 0 ? pos : r.entry.names.filter((n) => !neg.includes(n));
    store.add({ ...r.entry, names });
    count++;
  });
  if (count === 0 && !problems.some((p) => p.severity === "error")) {
    err(`crt-list "${list}": no certificate in it`);
  }
}

/**
 * Loads every `crt` argument of a bind: files, and directories (their
 * files in name order, companions skipped), and its `crt-list` files, each
 * at its place among them (`pos`). Returns the store (null when no
 * certificate could be loaded) and every problem.
 */
export function loadCerts(
  paths: readonly string[],
  now = Date.now(),
  lists: readonly { path: string; pos: number }[] = [],
  resolve: (p: string) => string = (p) => p,
): { store: CertStore | null; problems: CertProblem[] } {
  const store = new CertStore();
  const problems: CertProblem[] = [];
  const listsAt = (i: number) => {
    for (const l of lists) if (l.pos === i) loadCrtList(l.path, resolve, store, problems, now);
  };
  paths.forEach((p, i) => {
    listsAt(i);
    loadCrtPath(p, now, store, problems);
  });
  listsAt(paths.length);
  return { store: store.entries.length > 0 ? store : null, problems };
}

/** Loads one `crt` argument, a file or a directory, into `store`. */
function loadCrtPath(p: string, now: number, store: CertStore, problems: CertProblem[]): void {
  let files = [p];
  let isDir = false;
  try {
    isDir = Deno.statSync(p).isDirectory;
  } catch { /* reported by the read */ }
  if (isDir) {
    try {
      files = [...Deno.readDirSync(p)].filter((d) => !d.isDirectory && !COMPANION.test(d.name))
        .map((d) => `${p.replace(/\/+$/, "")}/${d.name}`).sort();
    } catch (e) {
      problems.push({ severity: "error", message: `certificate directory "${p}": ${reason(e)}` });
      return;
    }
    if (files.length === 0) {
      problems.push({
        severity: "error",
        message: `certificate directory "${p}": no certificate file in it`,
      });
      return;
    }
  }
  for (const f of files) {
    const r = loadCertFile(f, now);
    problems.push(...r.problems);
    if (r.entry !== null) store.add(r.entry);
  }
}

/**
 * Reads a CA bundle (`ca-file`): every certificate in it. Returns the PEM
 * blocks and parsed certificates, or an error message naming the file.
 */
export function loadCaFile(file: string): { pems: string[]; certs: X509Certificate[] } | string {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    return `CA file "${file}": cannot read it: ${reason(e)}`;
  }
  const pems = text.match(CERT_BLOCK) ?? [];
  if (pems.length === 0) return `CA file "${file}": no PEM certificate in it`;
  try {
    return { pems, certs: pems.map((p) => new X509Certificate(p)) };
  } catch (e) {
    return `CA file "${file}": cannot parse a certificate: ${reason(e)}`;
  }
}
