// Converters (HAProxy's sample converters of sample.c: `lower`, `upper`).
//
// Owns: the converter keyword table and applying a compiled list of
// converters to one string sample. A converter follows a fetch after a
// comma (`req.hdr(host),lower`); expr.ts resolves names against this table
// at config time, so evaluation only switches on small integer ids. It never
// fetches anything and never changes a string's length: converters work
// byte for byte on byte strings.

import { type ConverterDef, SMP_T_STR } from "./types.ts";

/** `lower`: ASCII and latin1 letters to lower case. */
const CONV_LOWER = 0;
/** `upper`: ASCII letters to upper case. */
const CONV_UPPER = 1;

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
]);

/** Converter names, indexed by id (docs and suggestions). */
export const CONVERTERS: readonly string[] = Object.freeze(CONVERTER_DEFS.map((c) => c.name));

/** The converter named `name`, or undefined. */
export function findConverter(name: string): ConverterDef | undefined {
  for (const c of CONVERTER_DEFS) if (c.name === name) return c;
  return undefined;
}

/** ASCII-only upper-casing (HAProxy's toupper() in the C locale): only a-z change. */
function upperAscii(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
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
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7) ? c + 0x20 : c;
    out += String.fromCharCode(l);
  }
  return out;
}

/** Applies the converters `convs` (ids of CONVERTER_DEFS), in order, to `s`. */
export function convert(s: string, convs: readonly number[]): string {
  for (let i = 0; i < convs.length; i++) {
    const c = convs[i];
    if (c === CONV_LOWER) s = lowerLatin1(s);
    else if (c === CONV_UPPER) s = upperAscii(s);
  }
  return s;
}
