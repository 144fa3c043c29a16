// Value expressions (the `%[...]` part of HAProxy's log-format compiler,
// parse_logformat_string() in log.c, as rules use it for header values,
// redirect locations and return bodies).
//
// Owns: compiling text with `%[fetch[,conv]…]` parts and a few log-format
// variables (`%ci`, `%HU` …) once at config time into a ValueExpr, and
// rendering it per request (evalValue). It never decides where a value may
// be used: `uses` and `resFetch` let the caller refuse a response fetch in
// a request rule. Full log lines are src/log/'s, not this file's.

import { toByteString } from "./bytes.ts";
import { pieceBytes, pieceText, type ValuePieces } from "./value_pieces.ts";
import { buildFetch, compileFetch } from "./expr.ts";
import {
  fetchOne,
  findFetch,
  isConnConstant,
  LOG_VAR_HQ,
  LOG_VAR_HV,
  LOG_VAR_PID,
  LOG_VAR_RT,
  LOG_VAR_TS,
  sampleToString,
} from "./fetch.ts";
import {
  type Fetch,
  type FetchDef,
  type SampleCtx,
  SMP_VAL_REQ,
  type ValueConnRun,
  type ValueExpr,
} from "./types.ts";

/** Log-format variables accepted in values, mapped to fetches. */
const LOG_VARS: ReadonlyMap<string, FetchDef> = new Map([
  ["ci", findFetch("src") as FetchDef],
  ["cp", findFetch("src_port") as FetchDef],
  ["fi", findFetch("dst") as FetchDef],
  ["fp", findFetch("dst_port") as FetchDef],
  ["HM", findFetch("method") as FetchDef],
  ["HU", findFetch("url") as FetchDef],
  ["HP", findFetch("path") as FetchDef],
  ["HQ", LOG_VAR_HQ],
  ["HV", LOG_VAR_HV],
  ["ST", findFetch("status") as FetchDef],
  ["Ts", LOG_VAR_TS],
  ["rt", LOG_VAR_RT],
  ["pid", LOG_VAR_PID],
  ["ID", findFetch("unique-id") as FetchDef],
]);

/** Names of the log-format variables values accept (docs and messages). */
export const VALUE_LOG_VARS: readonly string[] = Object.freeze([...LOG_VARS.keys()]);

/**
 * Compiles a value: literal text with `%[fetch[,conv]…]` expressions,
 * log-format variables `%ci %cp %fi %fp %HM %HU %HP %HQ %HV %ST %Ts %rt
 * %pid %ID`, and `%%`
 * for a literal `%`. Literal text is converted to a byte string (UTF-8).
 * Refused: an unknown fetch or variable, an unterminated `%[`, a lone `%`.
 * Side checks (a response fetch in a request rule) are the caller's, from
 * `uses` / `resFetch`.
 */
export function compileValue(text: string): ValueExpr | { error: string } {
  const parts: Array<string | Fetch> = [];
  let lit = "";
  let uses = 0;
  let resFetch: string | null = null;
  const add = (f: Fetch): void => {
    if (lit !== "") parts.push(toByteString(lit));
    lit = "";
    parts.push(f);
    uses |= f.def.use;
    if ((f.def.val & SMP_VAL_REQ) === 0 && resFetch === null) resFetch = f.text;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== "%") {
      lit += c;
      i++;
      continue;
    }
    const n = text[i + 1];
    if (n === "%") {
      lit += "%";
      i += 2;
      continue;
    }
    if (n === "[") {
      const close = text.indexOf("]", i + 2);
      if (close < 0) return { error: `missing ']' after '%[' in '${text}'` };
      const f = compileFetch(text.slice(i + 2, close));
      if ("error" in f) return f;
      add(f);
      i = close + 1;
      continue;
    }
    const m = /^[A-Za-z]+/.exec(text.slice(i + 1));
    const name = m === null ? "" : m[0];
    let fd: FetchDef | undefined;
    let len = 0;
    for (let l = Math.min(3, name.length); l > 0; l--) {
      fd = LOG_VARS.get(name.slice(0, l));
      if (fd !== undefined) {
        len = l;
        break;
      }
    }
    if (fd === undefined) {
      return {
        error: `unknown variable '%${
          name.slice(0, 2)
        }' in '${text}' (use '%%' for a literal '%', '%[fetch]' for a sample)`,
      };
    }
    // The process id never changes: it is text from now on.
    if (fd === LOG_VAR_PID) lit += String(Deno.pid);
    else add(buildFetch(fd, null, [], "%" + name.slice(0, len)) as Fetch);
    i += 1 + len;
  }
  if (lit !== "" || parts.length === 0) parts.push(toByteString(lit));
  const constant = parts.length === 1 && typeof parts[0] === "string" ? parts[0] : null;
  const steps = groupConnRuns(parts);
  return Object.freeze({
    parts: Object.freeze(parts),
    steps: Object.freeze(steps),
    stepBytes: Object.freeze(steps.map((p) => typeof p === "string" ? pieceBytes(p) : null)),
    constant,
    uses,
    resFetch,
    source: text,
  });
}

/**
 * `parts` with each run of per-connection parts (literals and
 * isConnConstant() fetches, one fetch at least) made one ValueConnRun:
 * `%ci:%cp_%fi:%fp_` of a unique-id-format is rendered once per connection
 * instead of four conversions and seven concatenations per request.
 */
function groupConnRuns(parts: ReadonlyArray<string | Fetch>): Array<string | Fetch | ValueConnRun> {
  const steps: Array<string | Fetch | ValueConnRun> = [];
  let run: Array<string | Fetch> = [];
  let fetches = 0;
  const flush = (): void => {
    if (fetches > 0) steps.push(Object.freeze({ run: Object.freeze(run) }));
    else steps.push(...run);
    run = [];
    fetches = 0;
  };
  for (const p of parts) {
    if (typeof p === "string") run.push(p);
    else if (isConnConstant(p)) {
      run.push(p);
      fetches++;
    } else {
      flush();
      steps.push(p);
    }
  }
  flush();
  return steps;
}

/** Renders a value for the current request/response (absent samples are ""). */
export function evalValue(v: ValueExpr, ctx: SampleCtx): string {
  if (v.constant !== null) return v.constant;
  let out = "";
  const steps = v.steps;
  for (let i = 0; i < steps.length; i++) {
    const p = steps[i] as string | Fetch | ValueConnRun;
    if (typeof p === "string") out += p;
    else if ("run" in p) out += renderConnRun(p, ctx);
    else out += sampleToString(fetchOne(ctx, p));
  }
  return out;
}

/**
 * Renders a value as evalValue() does, into `into`'s pieces (cleared
 * first) instead of one joined string: for a writer that copies them (the
 * unique-id header), the join and its flattening are saved.
 */
export function renderValueInto(v: ValueExpr, ctx: SampleCtx, into: ValuePieces): void {
  into.clear();
  if (v.constant !== null) {
    into.add(v.constant);
    return;
  }
  const steps = v.steps;
  for (let i = 0; i < steps.length; i++) {
    const p = steps[i] as string | Fetch | ValueConnRun;
    if (typeof p === "string") {
      const b = v.stepBytes[i];
      if (b !== null && b !== undefined) into.addBytes(b);
      else into.add(p);
    } else if ("run" in p) addConnRun(p, ctx, into);
    else {
      const smp = fetchOne(ctx, p);
      if (typeof smp === "number") into.addInt(smp);
      else into.add(sampleToString(smp));
    }
  }
}

/** A per-connection run: rendered on the connection's first use, then from its cache. */
function renderConnRun(r: ValueConnRun, ctx: SampleCtx): string {
  const cache = ctx.vars?.connTexts;
  const hit = cache?.get(r);
  if (hit !== undefined) return typeof hit === "string" ? hit : pieceText(hit);
  const text = renderRun(r, ctx);
  cache?.set(r, text);
  return text;
}

/**
 * renderConnRun() into pieces: the text on the connection's first use;
 * from the second on, its bytes, which then replace the text in the cache
 * (a connection that makes one request, an h2 stream, never pays for them).
 */
function addConnRun(r: ValueConnRun, ctx: SampleCtx, into: ValuePieces): void {
  const cache = ctx.vars?.connTexts;
  const hit = cache?.get(r);
  if (hit === undefined) {
    const text = renderRun(r, ctx);
    cache?.set(r, text);
    into.add(text);
  } else if (typeof hit !== "string") into.addBytes(hit);
  else {
    const b = pieceBytes(hit);
    if (b === null) into.add(hit);
    else {
      cache!.set(r, b);
      into.addBytes(b);
    }
  }
}

function renderRun(r: ValueConnRun, ctx: SampleCtx): string {
  let out = "";
  const run = r.run;
  for (let i = 0; i < run.length; i++) {
    const p = run[i] as string | Fetch;
    out += typeof p === "string" ? p : sampleToString(fetchOne(ctx, p));
  }
  return out;
}
