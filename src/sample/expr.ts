// Sample expressions (HAProxy's sample_parse_expr() in sample.c): a fetch
// keyword, its parenthesised arguments and a chain of converters, e.g.
// `req.hdr(host,1),lower`.
//
// Owns: splitting such text into a name, arguments and converters, checking
// the arguments against the keyword's grammar (FetchDef.args), resolving the
// converters, and building the frozen Fetch that fetch.ts evaluates. It runs
// at config time only, and never evaluates anything. Callers that accept
// keywords other than fetches (ACLs with derived `path_beg` names) split
// first, resolve the keyword themselves, and call buildFetch().

import { toByteString } from "./bytes.ts";
import { CONVERTERS, findConverter } from "./converters.ts";
import { FETCHES, findFetch } from "./fetch.ts";
import { didYouMean } from "../tools/suggest.ts";
import {
  type Fetch,
  type FetchDef,
  SMP_ARG_HDR,
  SMP_ARG_HDR_NAME,
  SMP_ARG_NONE,
  SMP_ARG_PARAM,
  SMP_ARG_PAYLOAD,
} from "./types.ts";

/** Splits a fetch expression into name, arguments (null without parens) and converters. */
export function splitFetchExpr(
  text: string,
):
  | { name: string; args: string[] | null; convs: Array<{ name: string; args: string[] | null }> }
  | {
    error: string;
  } {
  let i = 0;
  const items: Array<{ name: string; args: string[] | null }> = [];
  while (i <= text.length) {
    const m = /^[A-Za-z0-9_.]+/.exec(text.slice(i));
    if (m === null) {
      return { error: `invalid fetch expression '${text}' (expected a name at offset ${i})` };
    }
    const name = m[0];
    i += name.length;
    let args: string[] | null = null;
    if (text.charCodeAt(i) === 0x28) {
      const close = text.indexOf(")", i);
      if (close < 0) return { error: `missing ')' in '${text}'` };
      args = text.slice(i + 1, close).split(",").map((a) => a.trim());
      if (args.length === 1 && args[0] === "") args = [];
      i = close + 1;
    }
    items.push({ name, args });
    if (i === text.length) break;
    if (text.charCodeAt(i) !== 0x2c) {
      return { error: `unexpected '${text.slice(i)}' after '${text.slice(0, i)}'` };
    }
    i++;
  }
  const first = items[0] as { name: string; args: string[] | null };
  return { name: first.name, args: first.args, convs: items.slice(1) };
}

/** True for a header-name token. */
function isTokenName(s: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s);
}

/**
 * Builds a Fetch for `fd` with the parenthesised `args` and converters.
 * Refuses missing or extra arguments, a bad header name or occurrence, and
 * unknown converters; messages name the expression.
 */
export function buildFetch(
  fd: FetchDef,
  args: string[] | null,
  convs: ReadonlyArray<{ name: string; args: string[] | null }>,
  text: string,
): Fetch | { error: string } {
  let arg = "";
  let occ = 0;
  let delim = "&";
  let off = 0, len = 0;
  const a = args ?? [];
  switch (fd.args) {
    case SMP_ARG_NONE:
      if (a.length > 0) return { error: `fetch method '${fd.name}' takes no argument` };
      break;
    case SMP_ARG_HDR:
    case SMP_ARG_HDR_NAME: {
      const max = fd.args === SMP_ARG_HDR ? 2 : 1;
      if (a.length === 0 || a[0] === "") {
        return { error: `missing header name in '${text}' (expected ${fd.name}(NAME))` };
      }
      if (a.length > max) return { error: `too many arguments in '${text}'` };
      if (!isTokenName(a[0] as string)) {
        return { error: `invalid header name '${a[0]}' in '${text}'` };
      }
      arg = (a[0] as string).toLowerCase();
      if (a.length === 2) {
        const o = a[1] as string;
        if (!/^-?\d+$/.test(o)) return { error: `invalid occurrence '${o}' in '${text}'` };
        occ = Number(o);
      }
      break;
    }
    case SMP_ARG_PARAM:
      if (a.length === 0 || a[0] === "") {
        return { error: `missing parameter name in '${text}' (expected ${fd.name}(NAME))` };
      }
      if (a.length > 2) return { error: `too many arguments in '${text}'` };
      arg = toByteString(a[0] as string);
      if (a.length === 2) {
        if ((a[1] as string).length !== 1) {
          return { error: `delimiter must be one character in '${text}'` };
        }
        delim = a[1] as string;
      }
      break;
    case SMP_ARG_PAYLOAD: {
      if (a.length !== 2 || !/^\d{1,9}$/.test(a[0]!) || !/^\d{1,9}$/.test(a[1]!)) {
        return { error: `expected ${fd.name}(OFFSET,LENGTH) with two integers in '${text}'` };
      }
      off = Number(a[0]);
      len = Number(a[1]);
      break;
    }
  }
  const ids: number[] = [];
  let type = fd.out;
  for (const c of convs) {
    const cd = findConverter(c.name);
    if (cd === undefined) {
      return {
        error: `unknown converter '${c.name}' in '${text}'${didYouMean(c.name, CONVERTERS)}`,
      };
    }
    if (c.args !== null && c.args.length > 0) {
      return { error: `converter '${c.name}' takes no argument` };
    }
    ids.push(cd.id);
    type = cd.out;
  }
  return Object.freeze({
    def: fd,
    arg,
    occ,
    delim,
    off,
    len,
    convs: Object.freeze(ids),
    type,
    text,
  });
}

/**
 * Compiles a fetch expression `name[(args)][,conv]…` (the inside of
 * `%[...]`). Refuses unknown fetches (with a suggestion) and bad arguments.
 */
export function compileFetch(text: string): Fetch | { error: string } {
  const sp = splitFetchExpr(text);
  if ("error" in sp) return sp;
  const fd = findFetch(sp.name);
  if (fd === undefined) {
    return {
      error: `unknown fetch method '${sp.name}'${didYouMean(sp.name, FETCHES.map((f) => f.name))}`,
    };
  }
  return buildFetch(fd, sp.args, sp.convs, text);
}
