// Converters (HAProxy's sample converters of sample.c: `lower`, `upper`,
// and the map converters of map.c: `map`, `map_str`, `map_beg` …).
//
// Owns: the converter keyword table, compiling a converter's arguments
// (compileConvArgs: the map file and default of `map_dom(hosts.map,be0)`)
// and applying a compiled list of converters to one sample. A converter
// follows a fetch after a comma (`req.hdr(host),lower`); expr.ts resolves
// names against this table at config time, so evaluation only switches on
// small integer ids. It never fetches anything. `lower` and `upper` work
// byte for byte on byte strings; a map converter looks the sample up in its
// file's index (pat_index.ts) and yields the entry's value, the default, or
// no sample.

import { toByteString } from "./bytes.ts";
import { loadingPatternStore } from "./pat_ref.ts";
import {
  PAT_IDX_BEG,
  PAT_IDX_DOM,
  PAT_IDX_END,
  PAT_IDX_INT,
  PAT_IDX_IP,
  PAT_IDX_REG,
  PAT_IDX_STR,
  PAT_IDX_SUB,
  type PatIndex,
} from "./pat_index.ts";
import { type ConverterDef, type Sample, SMP_T_INT, SMP_T_IP, SMP_T_STR } from "./types.ts";

/** `lower`: ASCII and latin1 letters to lower case. */
const CONV_LOWER = 0;
/** `upper`: ASCII letters to upper case. */
const CONV_UPPER = 1;

/** Map converters: ids CONV_MAP_FIRST + PAT_IDX_* kind. */
const CONV_MAP_FIRST = 100;

/** `map_*` converters: name, index kind, input type. */
const MAP_CONVS: ReadonlyArray<readonly [string, number, number]> = [
  ["map", PAT_IDX_STR, SMP_T_STR],
  ["map_str", PAT_IDX_STR, SMP_T_STR],
  ["map_beg", PAT_IDX_BEG, SMP_T_STR],
  ["map_sub", PAT_IDX_SUB, SMP_T_STR],
  ["map_dom", PAT_IDX_DOM, SMP_T_STR],
  ["map_end", PAT_IDX_END, SMP_T_STR],
  ["map_reg", PAT_IDX_REG, SMP_T_STR],
  ["map_ip", PAT_IDX_IP, SMP_T_IP],
  ["map_int", PAT_IDX_INT, SMP_T_INT],
];

/** The converter table, indexed by id. */
export const CONVERTER_DEFS: readonly ConverterDef[] = Object.freeze([
  Object.freeze({
    name: "lower",
    id: CONV_LOWER,
    in: SMP_T_STR,
    out: SMP_T_STR,
    doc: "ASCII and latin1 letters to lower case",
  }),
  Object.freeze({
    name: "upper",
    id: CONV_UPPER,
    in: SMP_T_STR,
    out: SMP_T_STR,
    doc: "ASCII letters to upper case",
  }),
  ...MAP_CONVS.map(([name, kind, input]) =>
    Object.freeze({
      name,
      id: CONV_MAP_FIRST + kind,
      in: input,
      out: SMP_T_STR,
      doc: `value of the first entry of map FILE matching the sample (${name}(FILE[,DEFAULT]))`,
    })
  ),
]);

/** Converter names, indexed by id (docs and suggestions). */
export const CONVERTERS: readonly string[] = Object.freeze(CONVERTER_DEFS.map((c) => c.name));

/** The converter named `name`, or undefined. */
export function findConverter(name: string): ConverterDef | undefined {
  for (const c of CONVERTER_DEFS) if (c.name === name) return c;
  return undefined;
}

/** The compiled argument of a map converter. */
export interface MapConvArg {
  /** Index over the map file's entries. */
  readonly index: PatIndex;
  /** Value when no entry matches; null: no sample then. */
  readonly dflt: string | null;
}

/**
 * Compiles the parenthesised arguments of converter `cd`: none for `lower`
 * and `upper`; `(FILE[,DEFAULT])` for the map converters, whose file is
 * read (once per configuration, shared) and indexed now. Returns the
 * argument evaluation passes to convertSample() (null when none) or an
 * error naming the converter, the file and, for a bad entry, its line.
 */
export function compileConvArgs(
  cd: ConverterDef,
  args: readonly string[] | null,
): unknown | { error: string } {
  const a = args ?? [];
  if (cd.id < CONV_MAP_FIRST) {
    if (a.length > 0) return { error: `converter '${cd.name}' takes no argument` };
    return null;
  }
  if (a.length === 0 || a[0] === "") {
    return { error: `converter '${cd.name}' expects a map file: ${cd.name}(FILE[,DEFAULT])` };
  }
  if (a.length > 2) {
    return { error: `converter '${cd.name}' takes at most 2 arguments (FILE[,DEFAULT])` };
  }
  const ref = loadingPatternStore().open(a[0] as string, true);
  if ("error" in ref) return { error: `${cd.name}: ${ref.error}` };
  const index = ref.index(cd.id - CONV_MAP_FIRST, false);
  if ("error" in index) return { error: `${cd.name}: ${index.error}` };
  const arg: MapConvArg = { index, dflt: a.length === 2 ? toByteString(a[1] as string) : null };
  return arg;
}

/** ASCII-only upper-casing (HAProxy's toupper() in the C locale): only a-z change. */
function upperAscii(s: string): string {
  // Most samples need no change: return them as they are (no allocation).
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) break;
    i++;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  }
  return out;
}

/**
 * Lower-casing of `lower`: ASCII and latin1 letters (0xC0-0xDE but 0xD7), as
 * documented. Byte for byte: the length never changes and nothing above 0xFF
 * is produced (String.toLowerCase() could, for code units above 0xFF).
 */
function lowerLatin1(s: string): string {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return lowerSlow(s);
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7)) upper = true;
  }
  // On code units up to 0xFF, toLowerCase() maps exactly these letters (one
  // flat string, where concatenating code units builds a rope).
  return upper ? s.toLowerCase() : s;
}

/** lowerLatin1() of a string with code units above 0xFF (kept as they are). */
function lowerSlow(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7) ? c + 0x20 : c;
    out += String.fromCharCode(l);
  }
  return out;
}

/**
 * Applies the converters `convs` with their compiled arguments `args`
 * (compileConvArgs) to one sample. Integers and booleans are rendered as
 * text for the string converters. Returns null when a converter yields no
 * sample (a map without a match nor a default).
 */
export function convertSample(
  v: string | number | boolean,
  convs: readonly number[],
  args: readonly unknown[],
): Sample {
  for (let i = 0; i < convs.length; i++) {
    const c = convs[i] as number;
    if (c < CONV_MAP_FIRST) {
      const s = typeof v === "string" ? v : typeof v === "number" ? String(v) : v ? "1" : "0";
      v = c === CONV_LOWER ? lowerLatin1(s) : upperAscii(s);
      continue;
    }
    const m = args[i] as MapConvArg;
    const e = c - CONV_MAP_FIRST === PAT_IDX_INT && typeof v === "number"
      ? (m.index as PatIndex & { lookupInt(n: number): { value: string } | null }).lookupInt(v)
      : m.index.lookup(
        typeof v === "string" ? v : typeof v === "number" ? String(v) : v ? "1" : "0",
      );
    if (e !== null) v = e.value;
    else if (m.dflt !== null) v = m.dflt;
    else return null;
  }
  return v;
}
