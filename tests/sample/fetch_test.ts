// Unit tests of the fetch keyword table (src/sample/fetch.ts): each named
// field of a FetchDef is checked through what a user sees, the compilers'
// answers and the samples rules and ACLs get, for every keyword of the
// table rather than for a hand-picked few.

import assert from "node:assert/strict";
import { compileAcls, compileCondition } from "../../src/acl/acl.ts";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import { HeadSampleCtx } from "../../src/http/http_fetch.ts";
import { compileRules } from "../../src/http/http_rules.ts";
import { HttpHead, METH_GET } from "../../src/http/types.ts";
import { compileFetch } from "../../src/sample/expr.ts";
import { FETCHES, findFetch } from "../../src/sample/fetch.ts";
import {
  type FetchDef,
  SMP_ARG_HDR,
  SMP_ARG_HDR_NAME,
  SMP_ARG_NONE,
  SMP_ARG_PARAM,
  SMP_ARG_PAYLOAD,
  SMP_SIDE_CTX,
  SMP_SIDE_REQ,
  SMP_SIDE_RES,
  SMP_T_STR,
  SMP_TYPE_NAMES,
  SMP_USE_L4REQ,
  SMP_USE_RES,
  SMP_VAL_REQ,
  SMP_VAL_RES,
  smpValToString,
} from "../../src/sample/types.ts";

/** A well-formed use of `d`: its name with the arguments its grammar wants. */
function exprOf(d: FetchDef): string {
  switch (d.args) {
    case SMP_ARG_HDR:
    case SMP_ARG_HDR_NAME:
      return `${d.name}(x-a)`;
    case SMP_ARG_PARAM:
      return `${d.name}(a)`;
    case SMP_ARG_PAYLOAD:
      return `${d.name}(0,3)`;
    default:
      return d.name;
  }
}

/** The messages compileRules() gives for one rule line (prefix included), [] when accepted. */
function ruleErrors(text: string, side: "request" | "response"): string[] {
  const { acls } = compileAcls([]);
  return compileRules([{ text, line: 1, col: 1 }], acls, side).errors.map((e) => e.message);
}

Deno.test("every fetch keyword is a complete entry with a unique name", () => {
  const names = new Set<string>();
  for (const d of FETCHES) {
    assert.ok(!names.has(d.name), `duplicate ${d.name}`);
    names.add(d.name);
    assert.equal(findFetch(d.name), d);
    assert.ok(Object.isFrozen(d), d.name);
    assert.ok(
      [SMP_ARG_NONE, SMP_ARG_HDR, SMP_ARG_HDR_NAME, SMP_ARG_PARAM, SMP_ARG_PAYLOAD].includes(
        d.args,
      ),
      d.name,
    );
    assert.ok(SMP_TYPE_NAMES[d.out] !== undefined, `${d.name}: out ${d.out}`);
    assert.ok([SMP_SIDE_CTX, SMP_SIDE_REQ, SMP_SIDE_RES].includes(d.side), d.name);
    assert.ok(d.val !== 0 && (d.val & ~(SMP_VAL_REQ | SMP_VAL_RES)) === 0, d.name);
    assert.ok(d.doc.length > 0, d.name);
    // A fetch that reads the response cannot be valid while only the request exists.
    assert.equal((d.use & SMP_USE_RES) !== 0, (d.val & SMP_VAL_REQ) === 0, d.name);
  }
  // Aliases and req./res. variants share an evaluation method, so they share its shape.
  for (const a of FETCHES) {
    for (const b of FETCHES) {
      if (a.id !== b.id) continue;
      assert.equal(a.out, b.out, `${a.name} / ${b.name}`);
      assert.equal(a.args, b.args, `${a.name} / ${b.name}`);
      assert.equal(a.multi, b.multi, `${a.name} / ${b.name}`);
    }
  }
  assert.equal(findFetch("nope"), undefined);
});

Deno.test("a fetch not valid on requests is refused by every request compiler, with the same messages", () => {
  let refused = 0;
  for (const d of FETCHES) {
    const e = exprOf(d);
    const onReq = (d.val & SMP_VAL_REQ) !== 0;
    // A value (%[...]) in an http-request rule.
    assert.deepEqual(
      ruleErrors(`set-header X-B %[${e}]`, "request"),
      onReq ? [] : [
        `http-request: '${e}' reads the response, which is not available in http-request rules`,
      ],
      e,
    );
    // An anonymous ACL in the condition of an http-request rule.
    assert.deepEqual(
      ruleErrors(`deny if { ${e} -m found }`, "request"),
      onReq ? [] : [
        `http-request: condition uses '${e}', which reads the response and is not available in http-request rules`,
      ],
      e,
    );
    // A use_backend condition: the backend is chosen before any response exists.
    const r = loadConfigText(
      [
        "defaults:",
        "  mode: http",
        "  timeout: { connect: 5s, client: 30s, server: 30s }",
        "frontends:",
        "  fe:",
        '    bind: "127.0.0.1:0"',
        "    default_backend: be",
        "    use_backend:",
        `      - "be if { ${e} -m found }"`,
        "backends:",
        "  be:",
        "    servers:",
        "      - { name: s1, address: 127.0.0.1:9001 }",
        "",
      ].join("\n"),
      "cfg.yaml",
    );
    const errors = r.issues.filter((i) => i.severity === "error").map(formatIssue);
    assert.deepEqual(
      errors,
      onReq ? [] : [
        `cfg.yaml:9:10: error: frontends.fe.use_backend[0]: '${e}' is a response fetch: a backend is chosen before any response exists`,
      ],
      e,
    );
    // Every fetch is valid on responses: http-response rules accept all of them.
    assert.equal(d.val & SMP_VAL_RES, SMP_VAL_RES, smpValToString(d.val));
    assert.deepEqual(ruleErrors(`set-header X-B %[${e}]`, "response"), [], e);
    assert.deepEqual(ruleErrors(`deny if { ${e} -m found }`, "response"), [], e);
    if (!onReq) refused++;
  }
  assert.ok(refused >= 5, `response-only fetches checked: ${refused}`);
});

Deno.test("the argument grammar of each fetch is enforced by the expression compiler", () => {
  for (const d of FETCHES) {
    const n = d.name;
    const ok = compileFetch(exprOf(d));
    assert.ok(!("error" in ok), `${exprOf(d)}: ${JSON.stringify(ok)}`);
    switch (d.args) {
      case SMP_ARG_NONE:
        assert.deepEqual(compileFetch(`${n}(x)`), {
          error: `fetch method '${n}' takes no argument`,
        });
        break;
      case SMP_ARG_HDR:
      case SMP_ARG_HDR_NAME: {
        assert.deepEqual(compileFetch(n), {
          error: `missing header name in '${n}' (expected ${n}(NAME))`,
        });
        assert.deepEqual(compileFetch(`${n}(a b)`), {
          error: `invalid header name 'a b' in '${n}(a b)'`,
        });
        const occ = compileFetch(`${n}(X-A,-2)`);
        if (d.args === SMP_ARG_HDR) {
          assert.ok(!("error" in occ) && occ.occ === -2 && occ.arg === "x-a", n);
        } else {
          assert.deepEqual(occ, { error: `too many arguments in '${n}(X-A,-2)'` });
        }
        break;
      }
      case SMP_ARG_PARAM:
        assert.deepEqual(compileFetch(n), {
          error: `missing parameter name in '${n}' (expected ${n}(NAME))`,
        });
        assert.deepEqual(compileFetch(`${n}(a,;;)`), {
          error: `delimiter must be one character in '${n}(a,;;)'`,
        });
        break;
    }
  }
});

Deno.test("a compiled fetch has its keyword's output type, a string after a converter", () => {
  for (const d of FETCHES) {
    const f = compileFetch(exprOf(d));
    assert.ok(!("error" in f));
    assert.equal(f.type, d.out, d.name);
    const c = compileFetch(exprOf(d) + ",lower");
    assert.ok(!("error" in c));
    assert.equal(c.type, SMP_T_STR, d.name);
  }
});

Deno.test("derived ACL keywords (<fetch>_beg …) exist exactly for fetches marked derive", () => {
  for (const d of FETCHES) {
    const args = exprOf(d).slice(d.name.length);
    for (const suffix of ["_beg", "_sub", "_len"]) {
      const kw = d.name + suffix + args;
      const c = compileCondition(`{ ${kw} 1 }`, compileAcls([]).acls);
      if (d.derive) assert.ok(!("error" in c), `${kw}: ${JSON.stringify(c)}`);
      else {
        assert.ok("error" in c, kw);
        const want = `anonymous ACL: unknown fetch method '${d.name}${suffix}'`;
        assert.ok(c.error.startsWith(want), `${kw}: ${c.error}`);
      }
    }
  }
});

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A context with a request and a response, each sending X-A twice (and `a` twice in the query). */
function twiceCtx(): HeadSampleCtx {
  const ctx = new HeadSampleCtx();
  ctx.setConnection("192.0.2.1", 1000, "192.0.2.2", 80);
  const req = enc("GET /p?a=one&a=two HTTP/1.1\r\nHost: h\r\nX-A: one\r\nX-A: two\r\n\r\n");
  const rh = new HttpHead();
  assert.ok(parseRequestHead(req, 0, req.length, rh) > 0);
  ctx.setRequest(req, rh);
  const res = enc("HTTP/1.1 200 OK\r\nX-A: one\r\nX-A: two\r\nContent-Length: 0\r\n\r\n");
  const sh = new HttpHead();
  assert.ok(parseResponseHead(res, 0, res.length, sh, 101, METH_GET) > 0);
  ctx.setResponse(res, sh);
  return ctx;
}

Deno.test("an ACL on a fetch marked multi tests every occurrence", () => {
  const ctx = twiceCtx();
  let multi = 0;
  for (const d of FETCHES) {
    // Layer-4 payload fetches read bytes this HTTP context has not (tests/sample/payload_test.ts).
    if (!d.multi || (d.use & SMP_USE_L4REQ) !== 0) continue;
    const e = exprOf(d);
    for (const v of ["one", "two"]) {
      const c = compileCondition(`{ ${e} -m str ${v} }`, compileAcls([]).acls);
      assert.ok(!("error" in c), e);
      assert.ok(c.eval(ctx), `${e} sees '${v}'`);
    }
    multi++;
  }
  assert.ok(multi >= 8, `multi-valued fetches checked: ${multi}`);
});
