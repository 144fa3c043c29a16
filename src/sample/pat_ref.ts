// Pattern references (HAProxy's struct pat_ref in pattern.c and map.c): the
// entries of one map or ACL pattern file, loaded once at config time, and
// the indexes (pat_index.ts) the converters and ACLs that use the file
// built over them.
//
// Owns: reading a file (`# comments`, blank lines, `key value` lines for
// maps, one pattern per line for ACLs), the store of references by file
// name, and the operations the runtime API runs on them, which keep every
// index of the reference in step: currentPatternStore().list(isMap) (`show
// map` / `show acl`), .get(NAME or #ID), then on the PatRef .entries (`show
// map NAME`), .add(key, value) (`add map`/`add acl`), .del(key), .set(key,
// value) (`set map`), .clear() (`clear map`/`clear acl`). A file used
// by several converters or ACLs is read once and shared, as in HAProxy, so
// one `add map` reaches them all. It never evaluates a sample beyond an
// index lookup and never decides anything.

import { toByteString } from "./bytes.ts";
import { newPatIndex, PAT_IDX_NAMES, PatEntry, type PatIndex } from "./pat_index.ts";

/** A file of patterns (ACL) or of key/value pairs (map), with its indexes. */
export class PatRef {
  /** Number in its store (HAProxy's `#ID` of `show map` / `show acl`), from 0. */
  readonly id: number;
  /** The file name as the configuration wrote it (what `show map` names). */
  readonly name: string;
  /** The path it was read from. */
  readonly path: string;
  /** True for a map (entries have values). */
  readonly isMap: boolean;
  /** Entries in insertion order. */
  readonly entries: PatEntry[];
  /** Indexes built over the entries, one per (kind, icase) in use. */
  readonly #indexes: PatIndex[];
  #seq: number;

  constructor(name: string, path: string, isMap: boolean, id = 0) {
    this.id = id;
    this.name = name;
    this.path = path;
    this.isMap = isMap;
    this.entries = [];
    this.#indexes = [];
    this.#seq = 0;
  }

  /**
   * The index of kind `kind` (PAT_IDX_*) over this reference, built on
   * first use. Refuses (naming the file and the line) an entry whose key
   * does not parse for that kind: a network for ip, an integer for int, a
   * regex for reg.
   */
  index(kind: number, icase: boolean): PatIndex | { error: string } {
    for (const ix of this.#indexes) if (ix.kind === kind && ix.icase === icase) return ix;
    const ix = newPatIndex(kind, icase);
    for (const e of this.entries) {
      const bad = ix.add(e);
      if (bad !== null) {
        return {
          error: `${this.isMap ? "map" : "pattern"} file '${this.name}' line ${e.line}: ${bad} ` +
            `(used as '${PAT_IDX_NAMES[kind]}')`,
        };
      }
    }
    this.#indexes.push(ix);
    return ix;
  }

  /** Appends an entry read from line `line` of the file (no index exists yet). */
  load(key: string, value: string, line: number): void {
    this.entries.push(new PatEntry(key, value, this.#seq++, line));
  }

  /**
   * Adds an entry at run time (`add map` / `add acl`). Refused when the key
   * does not parse for one of the indexes in use; nothing is changed then.
   */
  add(key: string, value: string): string | null {
    const e = new PatEntry(toByteString(key), toByteString(value), this.#seq++, 0);
    for (let i = 0; i < this.#indexes.length; i++) {
      const bad = (this.#indexes[i] as PatIndex).add(e);
      if (bad !== null) {
        for (let k = 0; k < i; k++) (this.#indexes[k] as PatIndex).remove(e);
        return bad;
      }
    }
    this.entries.push(e);
    return null;
  }

  /** Removes every entry whose key is `key`; returns how many. */
  del(key: string): number {
    const k = toByteString(key);
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as PatEntry;
      if (e.key !== k) continue;
      for (const ix of this.#indexes) ix.remove(e);
      this.entries.splice(i, 1);
      n++;
    }
    return n;
  }

  /** Sets the value of every entry whose key is `key` (`set map`); returns how many. */
  set(key: string, value: string): number {
    const k = toByteString(key);
    const v = toByteString(value);
    let n = 0;
    for (const e of this.entries) {
      if (e.key === k) {
        e.value = v;
        n++;
      }
    }
    return n;
  }

  /** Removes every entry (`clear map`). */
  clear(): void {
    for (const ix of this.#indexes) ix.clear();
    this.entries.length = 0;
  }
}

/**
 * Parses the text of a map (`key value`) or pattern file (one pattern per
 * line) into `ref`, as HAProxy's pat_ref_read_from_file(_smp): leading
 * blanks skipped, lines starting with `#` and blank lines ignored; for a map
 * the key ends at the first blank and the value is the rest, trailing blanks
 * removed (it may be empty). Text is UTF-8, stored as byte strings.
 */
export function parsePatternText(ref: PatRef, text: string): void {
  let line = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    let e = text.indexOf("\n", i);
    if (e < 0) e = n;
    line++;
    let a = i;
    let b = e;
    i = e + 1;
    while (a < b && isBlank(text.charCodeAt(a))) a++;
    while (b > a && (isBlank(text.charCodeAt(b - 1)) || text.charCodeAt(b - 1) === 0x0d)) b--;
    if (a === b || text.charCodeAt(a) === 0x23) continue;
    if (!ref.isMap) {
      ref.load(toByteString(text.slice(a, b)), "", line);
      continue;
    }
    let k = a;
    while (k < b && !isBlank(text.charCodeAt(k))) k++;
    let v = k;
    while (v < b && isBlank(text.charCodeAt(v))) v++;
    ref.load(toByteString(text.slice(a, k)), toByteString(text.slice(v, b)), line);
  }
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * The references of one loaded configuration, by file name. Compiling a
 * configuration opens a new store (openPatternStore) so that a reload reads
 * the files afresh while the running configuration keeps its own; the
 * runtime API works on the current one (currentPatternStore).
 */
export class PatternStore {
  /** Directory relative file names start from ("" = the working directory). */
  readonly baseDir: string;
  readonly #refs: Map<string, PatRef>;

  constructor(baseDir: string) {
    this.baseDir = baseDir;
    this.#refs = new Map();
  }

  /**
   * The reference for file `name` (read on first use). A file used both as
   * a map and as an ACL pattern file is refused: its lines mean different
   * things. Errors name the file and the reason it could not be read.
   */
  open(name: string, isMap: boolean): PatRef | { error: string } {
    const hit = this.#refs.get(name);
    if (hit !== undefined) {
      if (hit.isMap !== isMap) {
        return {
          error: `file '${name}' is used both as a map and as an ACL pattern file`,
        };
      }
      return hit;
    }
    const path = name.startsWith("/") || this.baseDir === "" ? name : `${this.baseDir}/${name}`;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      const what = isMap ? "map" : "pattern";
      return { error: `cannot read ${what} file '${path}': ${(e as Error).message}` };
    }
    const ref = new PatRef(name, path, isMap, this.#refs.size);
    parsePatternText(ref, text);
    this.#refs.set(name, ref);
    return ref;
  }

  /**
   * The reference named `name` as configured, or `#ID` (its number, as
   * HAProxy's runtime API accepts), or undefined.
   */
  get(name: string): PatRef | undefined {
    const hit = this.#refs.get(name);
    if (hit !== undefined || !/^#\d+$/.test(name)) return hit;
    const id = Number(name.slice(1));
    for (const r of this.#refs.values()) if (r.id === id) return r;
    return undefined;
  }

  /** Every reference, maps or ACL files, in the order they were opened. */
  list(isMap: boolean): PatRef[] {
    return [...this.#refs.values()].filter((r) => r.isMap === isMap);
  }
}

let loading: PatternStore = new PatternStore("");
let current: PatternStore = loading;

/**
 * Starts a store for a configuration being compiled: map converters and
 * `-f` files compiled from now on read their files through it, relative to
 * `baseDir` (the configuration file's directory; "" for the working
 * directory). Returns it. It becomes the runtime API's current store only
 * through activatePatternStore() (a configuration that failed to compile
 * never replaces the running one's).
 */
export function openPatternStore(baseDir: string): PatternStore {
  loading = new PatternStore(baseDir);
  return loading;
}

/** Makes `store` the one the runtime API works on (the running configuration's). */
export function activatePatternStore(store: PatternStore): void {
  current = store;
}

/** The store compiling configurations read files through. */
export function loadingPatternStore(): PatternStore {
  return loading;
}

/** The store of the configuration last compiled (what `show map` lists). */
export function currentPatternStore(): PatternStore {
  return current;
}

// Note about invariants: an entry is in a reference's `entries` iff it is in
// each of its indexes; seq only grows, so index buckets stay sorted by
// insertion order; a reference is either a map or an ACL file, never both.
