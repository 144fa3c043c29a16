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
import { compileConvArgs, CONVERTERS, findConverter } from "./converters.ts";
import { FETCHES, findFetch } from "./fetch.ts";
import { resolveStickArgs } from "./stick_fetch.ts";
import { didYouMean } from "../tools/suggest.ts";
import {
  type Fetch,
  type FetchDef,
  SMP_ARG_CONST,
  SMP_ARG_HDR,
  SMP_ARG_HDR_NAME,
  SMP_ARG_NONE,
  SMP_ARG_PARAM,
  SMP_ARG_PAYLOAD,
  SMP_ARG_STK_SC,
  SMP_ARG_STK_TABLE,
  SMP_ARG_USERLIST,
  SMP_ARG_VAR,
  SMP_T_BOOL,
  SMP_T_INT,
} from "./types.ts";
import { parseVarName } from "./vars.ts";
import { findUserlist, userlistNames } from "./auth.ts";
import type { StickTable } from "../stick/table.ts";

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
    const m = /^[A-Za-z0-9_.-]+/.exec(text.slice(i));
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
  let table: StickTable | null = null;
  let scope = 0;
  let dflt: string | null = null;
  let ref: unknown = null;
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
    case SMP_ARG_VAR: {
      if (a.length === 0 || a.length > 2) {
        return { error: `'${fd.name}' expects a variable name: ${fd.name}(SCOPE.NAME[,DEFAULT])` };
      }
      const vn = parseVarName(a[0] as string);
      if ("error" in vn) return { error: `${vn.error} in '${text}'` };
      scope = vn.scope;
      arg = vn.name;
      if (a.length === 2) dflt = toByteString(a[1] as string);
      break;
    }
    case SMP_ARG_USERLIST: {
      if (a.length !== 1 || a[0] === "") {
        return { error: `'${fd.name}' expects a userlist name: ${fd.name}(USERLIST)` };
      }
      const ul = findUserlist(a[0] as string);
      if (ul === undefined) {
        return {
          error: `userlist '${a[0]}' not found in '${text}'${
            didYouMean(a[0] as string, userlistNames())
          }`,
        };
      }
      arg = a[0] as string;
      ref = ul;
      break;
    }
    case SMP_ARG_CONST:
      if (a.length !== 1) return { error: `'${fd.name}' expects one argument: ${fd.name}(VALUE)` };
      arg = toByteString(a[0] as string);
      if (fd.out === SMP_T_INT && !/^[+-]?\d+$/.test(arg)) {
        return { error: `invalid integer '${arg}' in '${text}'` };
      }
      if (fd.out === SMP_T_BOOL && !/^(0|1|true|false)$/.test(arg)) {
        return { error: `invalid boolean '${arg}' in '${text}' (expected 0, 1, true or false)` };
      }
      break;
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
    case SMP_ARG_STK_SC:
    case SMP_ARG_STK_TABLE: {
      const r = resolveStickArgs(fd, a, text);
      if ("error" in r) return r;
      occ = r.ctr;
      table = r.table;
      break;
    }
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
  const convArgs: unknown[] = [];
  let type = fd.out;
  for (const c of convs) {
    const cd = findConverter(c.name);
    if (cd === undefined) {
      return {
        error: `unknown converter '${c.name}' in '${text}'${didYouMean(c.name, CONVERTERS)}`,
      };
    }
    const ca = compileConvArgs(cd, c.args);
    if (ca !== null && typeof ca === "object" && "error" in ca) {
      return { error: `${(ca as { error: string }).error} in '${text}'` };
    }
    ids.push(cd.id);
    convArgs.push(ca);
    type = cd.out;
  }
  return Object.freeze({
    def: fd,
    arg,
    occ,
    delim,
    table,
    scope,
    dflt,
    ref,
    convs: Object.freeze(ids),
    convArgs: Object.freeze(convArgs),
    off,
    len,
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
