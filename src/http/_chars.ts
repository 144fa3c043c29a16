// Byte constants and character-class tables for the HTTP/1 parsers (HAProxy's
// http.h character classes: HTTP_IS_TOKEN, HTTP_IS_SPHT, hextab …).
//
// The parsers compare bytes as numbers against these names; nothing here
// decodes a string. Tables are 256-entry typed arrays built once at module
// load, so a class test is one indexed load. This file must never hold parsing
// logic or state: constants and tables only.

/** NUL, forbidden everywhere in a head. */
export const NUL = 0x00;
/** Horizontal tab, part of OWS. */
export const HTAB = 0x09;
/** Line feed: ends a line, only when preceded by CR. */
export const LF = 0x0a;
/** Carriage return: only valid immediately before LF. */
export const CR = 0x0d;
/** Space, part of OWS and the start-line separator. */
export const SP = 0x20;
/** `"` opens a quoted-string. */
export const DQUOTE = 0x22;
/** `#` starts a fragment, refused in a request-target. */
export const HASH = 0x23;
/** `%` starts a pct-encoded triplet. */
export const PERCENT = 0x25;
/** `*` the asterisk-form target of `OPTIONS *`. */
export const ASTERISK = 0x2a;
/** `,` list separator. */
export const COMMA = 0x2c;
/** `-` */
export const DASH = 0x2d;
/** `.` */
export const DOT = 0x2e;
/** `/` path separator and the version's `HTTP/`. */
export const SLASH = 0x2f;
/** `0` */
export const CHAR_0 = 0x30;
/** `1` */
export const CHAR_1 = 0x31;
/** `5` */
export const CHAR_5 = 0x35;
/** `9` */
export const CHAR_9 = 0x39;
/** `:` ends a header name; separates host and port. */
export const COLON = 0x3a;
/** `;` starts a chunk extension or a transfer-coding parameter. */
export const SEMICOLON = 0x3b;
/** `=` */
export const EQUALS = 0x3d;
/** `?` starts the query of a target. */
export const QUESTION = 0x3f;
/** `@` separates userinfo, refused in targets. */
export const AT = 0x40;
/** `H` first byte of `HTTP/`. */
export const UPPER_H = 0x48;
/** `P` */
export const UPPER_P = 0x50;
/** `T` */
export const UPPER_T = 0x54;
/** `[` opens an IP-literal. */
export const LBRACKET = 0x5b;
/** `]` closes an IP-literal. */
export const RBRACKET = 0x5d;
/** DEL, a control character. */
export const DEL = 0x7f;

/** Largest integer a size may reach (Content-Length, chunk size). */
export const MAX_SAFE_SIZE = Number.MAX_SAFE_INTEGER;

function buildTable(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** 1 for RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
export const TCHAR: Uint8Array = buildTable((c) =>
  isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))
);

/**
 * 1 for bytes allowed in a request-target: VCHAR (0x21..0x7E) except `#`.
 * Spaces, controls, DEL and bytes >= 0x80 are refused (HTTP_RULES.md).
 */
export const TARGET_CHAR: Uint8Array = buildTable((c) => c > 0x20 && c < 0x7f && c !== HASH);

/**
 * 1 for bytes allowed in a host (reg-name, IPv4, IP-literal) plus `:` for the
 * port: unreserved / sub-delims / `%` / `:` / `[` / `]`.
 */
export const HOST_CHAR: Uint8Array = buildTable((c) =>
  isAlnum(c) || "-._~!$&'()*+,;=%:[]".includes(String.fromCharCode(c))
);

/** 1 for schemes' later bytes: ALPHA / DIGIT / "+" / "-" / ".". */
export const SCHEME_CHAR: Uint8Array = buildTable((c) =>
  isAlnum(c) || c === 0x2b || c === DASH || c === DOT
);

/** Value of a hex digit, -1 for any other byte. */
export const HEX_VALUE: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** ASCII lower-casing of a byte (only A-Z change). */
export const TO_LOWER: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  return t;
})();
