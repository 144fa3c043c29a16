// Userlists and HTTP basic authentication (HAProxy's auth.c and the
// http_auth / http_auth_group fetches of http_fetch.c).
//
// Owns: parsing `userlist` sections (`user NAME password HASH|
// insecure-password PASS [groups G,...]`, `group NAME [users U,...]`) once
// at config time, the registry the `http_auth(L)` fetches resolve L in, the
// decoding of an `Authorization: Basic` header, and checking a password
// against crypt(3) hashes: SHA-512 `$6$` and SHA-256 `$5$` (unixcrypt) and
// bcrypt `$2a$`/`$2b$`/`$2y$` (bcryptjs), both pinned in deno.json.
//
// A hash check costs milliseconds by design (5,000 SHA rounds, 2^cost
// bcrypt rounds). In http-request rules it runs in a worker thread while
// the request waits (the rules resume at the rule that asked); elsewhere on
// the proxy's thread. Results are kept in a bounded cache (AUTH_CACHE_SIZE
// entries, least recently used dropped): a client that sends the same
// credentials on every request costs one check, not one per request.
// Refused credentials are cached too. It never writes anything and never
// decides: the fetches return booleans and groups for ACLs.

import bcrypt from "bcryptjs";
import { verify as shaCryptVerify } from "unixcrypt";

/** Verified (hash, password) results kept; the least recently used goes first. */
export const AUTH_CACHE_SIZE = 4096;

/** One user of a userlist. */
export interface AuthUser {
  readonly name: string;
  /** crypt(3) hash, or null with an insecure password. */
  readonly hash: string | null;
  /** Clear-text password (`insecure-password`), or null. */
  readonly clear: string | null;
  /** Groups the user belongs to (from `user … groups` and `group … users`). */
  readonly groups: readonly string[];
}

/** A compiled userlist. */
export class Userlist {
  readonly name: string;
  readonly #users: Map<string, AuthUser>;

  constructor(name: string, users: Map<string, AuthUser>) {
    this.name = name;
    this.#users = users;
  }

  /** The user named `name`, or undefined. */
  user(name: string): AuthUser | undefined {
    return this.#users.get(name);
  }

  /** User names, in declaration order. */
  names(): string[] {
    return [...this.#users.keys()];
  }
}

// ---------------------------------------------------------------------------
// Hash formats.

const B64 = "[./0-9A-Za-z]";
const SHA512_RE = new RegExp(`^\\$6\\$(?:rounds=\\d{1,9}\\$)?[^$]{0,16}\\$${B64}{86}$`);
const SHA256_RE = new RegExp(`^\\$5\\$(?:rounds=\\d{1,9}\\$)?[^$]{0,16}\\$${B64}{43}$`);
const BCRYPT_RE = new RegExp(`^\\$2[aby]\\$\\d{2}\\$${B64}{53}$`);

/**
 * Null when `hash` is a crypt(3) hash this build verifies (`$6$`, `$5$`,
 * `$2a$`, `$2b$`, `$2y$`), else why not. HAProxy accepts whatever the
 * system's crypt(3) does (DES, MD5 `$1$` …); those are refused here.
 */
export function hashError(hash: string): string | null {
  if (SHA512_RE.test(hash) || SHA256_RE.test(hash) || BCRYPT_RE.test(hash)) return null;
  if (/^\$[56]\$/.test(hash)) return `malformed SHA-crypt hash '${hash}'`;
  if (/^\$2[aby]\$/.test(hash)) return `malformed bcrypt hash '${hash}'`;
  return `unsupported password hash '${hash}' (supported: SHA-512 '$6$', SHA-256 '$5$', ` +
    `bcrypt '$2b$'; use insecure-password for clear text)`;
}

/** Result cache: key hash + NUL + password → verified. Map order is the LRU order. */
const CACHE = new Map<string, boolean>();
/** Hash checks done (cache misses), for tests and stats. */
let checks = 0;

/** Number of hash checks done so far (cache misses). */
export function authHashChecks(): number {
  return checks;
}

/** Stores a checked result, dropping the least recently used one when full. */
function remember(key: string, ok: boolean): void {
  if (CACHE.size >= AUTH_CACHE_SIZE) {
    const oldest = CACHE.keys().next().value;
    if (oldest !== undefined) CACHE.delete(oldest);
  }
  CACHE.set(key, ok);
}

/** A password byte string as the text the hash libraries take (its bytes, UTF-8 decoded). */
function passwordText(password: string): string {
  return new TextDecoder().decode(Uint8Array.from(password, (c) => c.charCodeAt(0)));
}

// ---------------------------------------------------------------------------
// Checks off the thread. A rule set that can wait (http-request rules) turns
// allowAsyncAuth on while it runs: a hash not in the cache is then sent to a
// worker (auth_worker.ts), the fetch answers "not authenticated" for now and
// pendingAuth() hands the rules a promise to wait on; they stop at that rule
// and run it again once the result is cached. Elsewhere (use_backend
// conditions, response rules) the check runs here, synchronously. Without
// workers (a bundle that lacks the worker file) every check is synchronous.

let asyncAllowed = false;
let pending: Promise<void> | null = null;
let worker: Worker | null = null;
let workerBroken = false;
let nextJob = 0;
/** Checks in flight by cache key (one per key), and their resolvers by job id. */
const inflight = new Map<string, Promise<void>>();
const jobs = new Map<number, { key: string; done: () => void }>();

/** Lets (true) or forbids (false) hash checks to go to the worker; returns the previous setting. */
export function allowAsyncAuth(on: boolean): boolean {
  const was = asyncAllowed;
  asyncAllowed = on;
  if (!on) pending = null;
  return was;
}

/** The check a fetch is waiting for since the last clearPendingAuth(), or null. */
export function pendingAuth(): Promise<void> | null {
  return pending;
}

/** Forgets the pending check (before evaluating the next rule). */
export function clearPendingAuth(): void {
  pending = null;
}

function startWorker(): Worker | null {
  if (worker !== null || workerBroken) return worker;
  try {
    worker = new Worker(new URL("./auth_worker.ts", import.meta.url).href, { type: "module" });
  } catch {
    workerBroken = true;
    return null;
  }
  worker.onmessage = (e: MessageEvent<{ id: number; ok: boolean }>) => {
    const j = jobs.get(e.data.id);
    if (j === undefined) return;
    jobs.delete(e.data.id);
    inflight.delete(j.key);
    remember(j.key, e.data.ok);
    j.done();
    // An idle worker would keep the process alive: it goes when nothing is left.
    if (jobs.size === 0) stopWorker();
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    workerBroken = true;
    failJobs();
  };
  return worker;
}

function stopWorker(): void {
  worker?.terminate();
  worker = null;
}

/** The worker failed: every waiting check is done synchronously, and no more go to it. */
function failJobs(): void {
  stopWorker();
  for (const [, j] of jobs) {
    const sep = j.key.indexOf("\0");
    remember(j.key, syncCheck(j.key.slice(0, sep), j.key.slice(sep + 1)));
    inflight.delete(j.key);
    j.done();
  }
  jobs.clear();
}

function syncCheck(hash: string, password: string): boolean {
  try {
    const pw = passwordText(password);
    return hash.startsWith("$2") ? bcrypt.compareSync(pw, hash) : shaCryptVerify(pw, hash);
  } catch {
    return false;
  }
}

/**
 * Checks a clear-text password (byte string) against a crypt(3) hash,
 * through the cache. On a miss while async checks are allowed, the check
 * goes to the worker, pendingAuth() becomes its promise and false is
 * returned for now.
 */
export function checkHash(hash: string, password: string): boolean {
  const key = hash + "\0" + password;
  const hit = CACHE.get(key);
  if (hit !== undefined) {
    CACHE.delete(key);
    CACHE.set(key, hit);
    return hit;
  }
  if (asyncAllowed) {
    const running = inflight.get(key);
    if (running !== undefined) {
      pending = running;
      return false;
    }
    const w = startWorker();
    if (w !== null) {
      checks++;
      const id = nextJob++;
      const p = new Promise<void>((done) => jobs.set(id, { key, done }));
      inflight.set(key, p);
      w.postMessage({ id, hash, password: passwordText(password) });
      pending = p;
      return false;
    }
  }
  checks++;
  const ok = syncCheck(hash, password);
  remember(key, ok);
  return ok;
}

// ---------------------------------------------------------------------------
// Authorization header.

/** The last decoded header and its result (a stream evaluates it several times per request). */
let lastHeader = "";
let lastUser: string | null = null;
let lastPass = "";

/**
 * Decodes `Authorization: Basic BASE64(user:pass)` (scheme case-insensitive)
 * into user and password byte strings; null for another scheme, bad base64
 * or no colon.
 */
export function decodeBasic(value: string): { user: string; pass: string } | null {
  if (value !== lastHeader) {
    lastHeader = value;
    lastUser = null;
    const m = /^[Bb][Aa][Ss][Ii][Cc] +([A-Za-z0-9+/]+=*) *$/.exec(value);
    if (m !== null) {
      let text: string | null = null;
      try {
        text = atob(m[1] as string);
      } catch {
        text = null;
      }
      const colon = text === null ? -1 : text.indexOf(":");
      if (text !== null && colon >= 0) {
        lastUser = text.slice(0, colon);
        lastPass = text.slice(colon + 1);
      }
    }
  }
  return lastUser === null ? null : { user: lastUser, pass: lastPass };
}

/**
 * The user of `list` the Authorization header values authenticate, or null
 * (no header, not Basic, unknown user, wrong password).
 */
export function authenticate(list: Userlist, authorization: readonly string[]): AuthUser | null {
  const h = authorization[0];
  if (h === undefined) return null;
  const cred = decodeBasic(h);
  if (cred === null) return null;
  const u = list.user(cred.user);
  if (u === undefined) return null;
  if (u.clear !== null) return u.clear === cred.pass ? u : null;
  return checkHash(u.hash as string, cred.pass) ? u : null;
}

// ---------------------------------------------------------------------------
// Compiling userlist sections.

/** The raw lines of one userlist section, positioned. */
export interface UserlistLines {
  name: string;
  users: ReadonlyArray<{ text: string; line: number; col: number }>;
  groups: ReadonlyArray<{ text: string; line: number; col: number }>;
}

/** One error of a userlist line. */
export interface UserlistError {
  line: number;
  col: number;
  message: string;
}

/**
 * Compiles a userlist. `user NAME (password HASH | insecure-password PASS)
 * [groups G1,G2]` and `group NAME [users U1,U2]`. Refused: a duplicate user
 * or group, a missing or unsupported hash, a group naming an undeclared user
 * or a user naming an undeclared group, unknown words. Every error is
 * returned; bad lines are left out.
 */
export function compileUserlist(
  l: UserlistLines,
): { list: Userlist; errors: UserlistError[] } {
  const errors: UserlistError[] = [];
  const groupNames = new Set<string>();
  const groupUsers: Array<{ group: string; users: string[]; line: number; col: number }> = [];
  for (const g of l.groups) {
    const w = g.text.trim().split(/\s+/);
    const name = w[0] ?? "";
    const bad = (message: string) => errors.push({ line: g.line, col: g.col, message });
    if (name === "") {
      bad("missing group name");
      continue;
    }
    if (groupNames.has(name)) {
      bad(`group '${name}' declared twice in userlist '${l.name}'`);
      continue;
    }
    if (w.length !== 1 && !(w.length === 3 && w[1] === "users")) {
      bad(`expected "group NAME [users USER,...]", got "${g.text}"`);
      continue;
    }
    groupNames.add(name);
    groupUsers.push({
      group: name,
      users: w.length === 3 ? (w[2] as string).split(",") : [],
      ...g,
    });
  }
  const users = new Map<
    string,
    { name: string; hash: string | null; clear: string | null; groups: string[] }
  >();
  for (const u of l.users) {
    const w = u.text.trim().split(/\s+/);
    const bad = (message: string) => errors.push({ line: u.line, col: u.col, message });
    const name = w[0] ?? "";
    if (name === "") {
      bad("missing user name");
      continue;
    }
    if (users.has(name)) {
      bad(`user '${name}' declared twice in userlist '${l.name}'`);
      continue;
    }
    let hash: string | null = null;
    let clear: string | null = null;
    const groups: string[] = [];
    let ok = true;
    for (let i = 1; i < w.length && ok; i += 2) {
      const kw = w[i] as string;
      const v = w[i + 1];
      if (v === undefined) {
        bad(`missing value after '${kw}' for user '${name}'`);
        ok = false;
      } else if (kw === "password") {
        const e = hashError(v);
        if (e !== null) {
          bad(`user '${name}': ${e}`);
          ok = false;
        } else hash = v;
      } else if (kw === "insecure-password") clear = v;
      else if (kw === "groups") {
        for (const g of v.split(",")) {
          if (!groupNames.has(g)) {
            bad(`user '${name}': group '${g}' is not declared in userlist '${l.name}'`);
            ok = false;
          } else groups.push(g);
        }
      } else {
        bad(
          `unexpected '${kw}' for user '${name}' (expected password, insecure-password or groups)`,
        );
        ok = false;
      }
    }
    if (!ok) continue;
    if (hash === null && clear === null) {
      bad(`user '${name}' has no password (expected password HASH or insecure-password PASS)`);
      continue;
    }
    users.set(name, { name, hash, clear, groups });
  }
  for (const g of groupUsers) {
    for (const un of g.users) {
      const u = users.get(un);
      if (u === undefined) {
        errors.push({
          line: g.line,
          col: g.col,
          message: `group '${g.group}': user '${un}' is not declared in userlist '${l.name}'`,
        });
      } else if (!u.groups.includes(g.group)) u.groups.push(g.group);
    }
  }
  const frozen = new Map<string, AuthUser>();
  for (const [n, u] of users) {
    frozen.set(n, Object.freeze({ ...u, groups: Object.freeze(u.groups.slice()) }));
  }
  return { list: new Userlist(l.name, frozen), errors };
}

// ---------------------------------------------------------------------------
// Registry of the configuration being compiled.

let loading: Map<string, Userlist> = new Map();

/** Starts the userlists of a configuration being compiled (http_auth resolves names in it). */
export function openUserlists(lists: readonly Userlist[]): void {
  loading = new Map(lists.map((u) => [u.name, u]));
}

/** The userlist `name` of the configuration being compiled, or undefined. */
export function findUserlist(name: string): Userlist | undefined {
  return loading.get(name);
}

/** Names of the userlists of the configuration being compiled (suggestions). */
export function userlistNames(): string[] {
  return [...loading.keys()];
}

// Note about invariants: a Userlist never changes once compiled; the cache
// holds at most AUTH_CACHE_SIZE entries and its keys include the hash, so a
// reload that changes a password never reuses a result of the old one.
