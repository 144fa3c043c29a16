// HTTP health checks: `option httpchk` requests, `http-check expect` rules
// (pure evaluation of response bytes), configuration errors, and the whole
// check over real sockets against stub HTTP servers: wrong status, body
// match, and a server that accepts but never answers (Layer7 timeout).

import assert from "node:assert/strict";
import { Backend } from "../../src/backend/backend.ts";
import type { BackendConfig, RuleLine } from "../../src/config/types.ts";
import { protoTcp } from "../../src/listener/proto_tcp.ts";
import { Scheduler } from "../../src/task/scheduler.ts";
import {
  buildHttpCheckRequest,
  CheckConfigError,
  type CheckLogger,
  checkStateOf,
  compileHttpCheck,
  evaluateHttpResponse,
  HCHK_STATUS_L7OKD,
  HCHK_STATUS_L7RSP,
  HCHK_STATUS_L7STS,
  HCHK_STATUS_L7TOUT,
  httpCheckIssues,
  type HttpCheckSpec,
  type ServerCheckView,
  startChecks,
} from "../../src/check/mod.ts";
import { LogRecorder } from "../_helpers/log_recorder.ts";
import { backend, server, timeouts } from "../_helpers/runtime_config.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const WAIT_MS = 5_000;

function rules(...lines: string[]): RuleLine[] {
  return lines.map((text, i) => ({ text, line: 10 + i, col: 7 }));
}

/** A backend config with `option httpchk ARGS` and `http-check` lines. */
function httpBe(args: string[], lines: string[] = [], b: Partial<BackendConfig> = {}) {
  return backend("be", [], {
    options: new Set(["httpchk"]),
    optionArgs: new Map([["httpchk", args]]),
    httpCheck: rules(...lines),
    ...b,
  });
}

function spec(lines: string[], args: string[] = []): HttpCheckSpec {
  return compileHttpCheck(httpBe(args, lines))!;
}

/** Evaluates a whole response (done = true) and its every prefix (done = false). */
function judge(s: HttpCheckSpec, text: string) {
  const bytes = te.encode(text);
  for (let n = 0; n < bytes.length; n++) {
    const early = evaluateHttpResponse(bytes, n, false, s);
    if (early !== null) {
      // A decision on a prefix must be the decision on the whole answer.
      const whole = evaluateHttpResponse(bytes, bytes.length, true, s);
      assert.deepEqual(early, whole, `prefix of ${n} bytes decided differently`);
      return early;
    }
  }
  return evaluateHttpResponse(bytes, bytes.length, true, s)!;
}

// ---- Request ----

Deno.test("httpchk request: defaults are OPTIONS / HTTP/1.0 with Connection: close", () => {
  const s = spec([]);
  assert.equal(
    td.decode(buildHttpCheckRequest(s, "10.0.0.1:80")),
    "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("httpchk request: one argument is the URI, three add the version; HTTP/1.1 sends Host", () => {
  assert.equal(spec([], ["/ping"]).uri, "/ping");
  assert.equal(spec([], ["/ping"]).method, "OPTIONS");
  const s = spec([], ["GET", "/health", "HTTP/1.1"]);
  assert.equal(
    td.decode(buildHttpCheckRequest(s, "10.0.0.1:8080")),
    "GET /health HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("httpchk request: http-check send overrides the method, URI, version, and adds headers and a body", () => {
  const s = spec([
    'send meth POST uri /check ver HTTP/1.1 hdr Host "svc.local" hdr X-A 1 body "{}"',
  ]);
  assert.equal(
    td.decode(buildHttpCheckRequest(s, "10.0.0.1:80")),
    "POST /check HTTP/1.1\r\nHost: svc.local\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
  );
});

Deno.test("httpchk: without option httpchk there is no HTTP check", () => {
  assert.equal(
    compileHttpCheck(backend("be", [], { httpCheck: rules("expect status 200") })),
    null,
  );
});

// ---- Configuration errors ----

Deno.test("http-check: bad lines are reported with their position and the bad value quoted", () => {
  const be = httpBe([], [
    "expect status 2xx",
    "expect foo bar",
    "expect rstring (",
    "expect string",
    "disable-on-404",
    'expect string "open',
    "expect string all good",
    "expect string ok",
  ]);
  const issues = httpCheckIssues(be);
  assert.equal(issues.length, 7);
  assert.ok(issues.every((e) => e instanceof CheckConfigError && e instanceof SyntaxError));
  assert.deepEqual(issues.map((e) => e.line), [10, 11, 12, 13, 14, 15, 16]);
  assert.match(issues[0]!.message, /invalid status list "2xx"/);
  assert.equal(issues[0]!.col, 7 + "expect status ".length);
  assert.match(issues[1]!.message, /unknown expect type "foo"/);
  assert.match(issues[2]!.message, /invalid regular expression "\("/);
  assert.match(issues[3]!.message, /missing pattern after "expect string"/);
  assert.match(issues[4]!.message, /unsupported http-check directive "disable-on-404"/);
  assert.match(issues[5]!.message, /unterminated quote/);
  assert.match(issues[6]!.message, /unexpected "good" after the expect pattern \(quote/);
  assert.throws(() => compileHttpCheck(be), CheckConfigError);
});

Deno.test("http-check: startChecks refuses a backend with a bad http-check line before starting anything", () => {
  const cfg = httpBe([], ["expect status abc"], {
    servers: [server("s1", 1, { check: true })],
  });
  const sched = new Scheduler();
  const logger: CheckLogger = { notice() {}, warning() {}, alert() {} };
  assert.throws(
    () => startChecks({ sched, logger, proto: protoTcp, backends: [new Backend(0, cfg)] }),
    /invalid status list "abc" .*\(line 10, column 21\)$/,
  );
  assert.equal(sched.waitQueueLength(), 0);
});

// ---- Evaluation of responses ----

Deno.test("http-check evaluation: without expect, 2xx and 3xx pass, others fail with the reason as info", () => {
  const s = spec([]);
  assert.deepEqual(judge(s, "HTTP/1.1 200 OK\r\n\r\n"), {
    status: HCHK_STATUS_L7OKD,
    code: 200,
    desc: "OK",
  });
  assert.deepEqual(judge(s, "HTTP/1.0 302 Found\r\n\r\n"), {
    status: HCHK_STATUS_L7OKD,
    code: 302,
    desc: "Found",
  });
  assert.deepEqual(judge(s, "HTTP/1.1 503 Service Unavailable\r\n\r\n"), {
    status: HCHK_STATUS_L7STS,
    code: 503,
    desc: "Service Unavailable",
  });
  assert.deepEqual(judge(s, "HTTP/1.1 204\r\n\r\n"), {
    status: HCHK_STATUS_L7OKD,
    code: 204,
    desc: "",
  });
});

Deno.test("http-check evaluation: an answer that is not HTTP is L7RSP with its first line as info", () => {
  const s = spec([]);
  assert.deepEqual(judge(s, "SSH-2.0-OpenSSH_9.6\r\n"), {
    status: HCHK_STATUS_L7RSP,
    code: 0,
    desc: "SSH-2.0-OpenSSH_9.6",
  });
  assert.deepEqual(judge(s, ""), { status: HCHK_STATUS_L7RSP, code: 0, desc: "" });
  assert.deepEqual(judge(s, "HTTP/1.1 2000 OK\r\n"), {
    status: HCHK_STATUS_L7RSP,
    code: 0,
    desc: "HTTP/1.1 2000 OK",
  });
});

Deno.test("http-check evaluation: expect status takes codes, ranges and lists; ! inverts; rstatus is a regex", () => {
  const ok = "HTTP/1.1 200 OK\r\n\r\n",
    moved = "HTTP/1.1 301 Moved\r\n\r\n",
    err = "HTTP/1.1 500 Oops\r\n\r\n";
  const st = (lines: string[], text: string) => judge(spec(lines), text).status;
  assert.equal(st(["expect status 200"], ok), HCHK_STATUS_L7OKD);
  assert.equal(st(["expect status 200"], moved), HCHK_STATUS_L7STS);
  assert.equal(st(["expect status 200-399"], moved), HCHK_STATUS_L7OKD);
  assert.equal(st(["expect status 200,500"], err), HCHK_STATUS_L7OKD);
  assert.equal(st(["expect ! status 500"], err), HCHK_STATUS_L7STS);
  assert.equal(st(["expect ! status 500"], ok), HCHK_STATUS_L7OKD);
  assert.equal(st(["expect rstatus ^[23]"], moved), HCHK_STATUS_L7OKD);
  assert.equal(st(["expect rstatus ^[23]"], err), HCHK_STATUS_L7STS);
  // An expect list replaces the default 2xx/3xx rule.
  assert.equal(st(["expect status 500"], err), HCHK_STATUS_L7OKD);
});

Deno.test("http-check evaluation: expect string / rstring read the body, framed by length, chunks or close", () => {
  const good = spec(["expect string ok"]);
  const cl = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nstatus:ok";
  assert.deepEqual(judge(good, cl), { status: HCHK_STATUS_L7OKD, code: 200, desc: "OK" });
  // Content-Length complete: decided without waiting for the close.
  const b = te.encode(cl);
  assert.notEqual(evaluateHttpResponse(b, b.length, false, good), null);

  const chunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n5\r\nus:ok\r\n0\r\n\r\n";
  assert.equal(judge(spec(["expect string tus:o"]), chunked).status, HCHK_STATUS_L7OKD);
  assert.equal(judge(spec(["expect rstring ^status:ok$"]), chunked).status, HCHK_STATUS_L7OKD);

  const closeDelimited = "HTTP/1.0 200 OK\r\n\r\nall good";
  const cd = te.encode(closeDelimited);
  assert.equal(evaluateHttpResponse(cd, cd.length, false, spec(["expect string good"])), null);
  assert.equal(judge(spec(["expect string good"]), closeDelimited).status, HCHK_STATUS_L7OKD);

  assert.deepEqual(
    judge(spec(["expect string ok"]), "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndegraded"),
    {
      status: HCHK_STATUS_L7RSP,
      code: 200,
      desc: "HTTP content check did not match",
    },
  );
  assert.deepEqual(
    judge(spec(["expect ! string maintenance"]), "HTTP/1.1 200 OK\r\n\r\nmaintenance"),
    {
      status: HCHK_STATUS_L7RSP,
      code: 200,
      desc: "HTTP check matched unwanted content",
    },
  );
  assert.deepEqual(
    judge(spec(["expect string ok"]), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    {
      status: HCHK_STATUS_L7RSP,
      code: 200,
      desc: "HTTP content check found empty response body",
    },
  );
  // Every rule must hold, in order: the status rule fails first here.
  assert.equal(
    judge(spec(["expect status 200", "expect string ok"]), "HTTP/1.1 500 Oops\r\n\r\nok").status,
    HCHK_STATUS_L7STS,
  );
});

Deno.test("http-check evaluation: only the first 16 KiB of body are searched", () => {
  const s = spec(["expect string NEEDLE"]);
  const far = "HTTP/1.1 200 OK\r\n\r\n" + "x".repeat(16 * 1024) + "NEEDLE";
  assert.equal(judge(s, far).status, HCHK_STATUS_L7RSP);
  const near = "HTTP/1.1 200 OK\r\n\r\n" + "x".repeat(16 * 1024 - 6) + "NEEDLE";
  assert.equal(judge(s, near).status, HCHK_STATUS_L7OKD);
});

// ---- Real sockets ----

/**
 * A stub HTTP server: records each request head, then answers `answer`
 * (changeable between checks) and closes, or, when `answer` is null, keeps
 * the connection open without a byte until the client or close() ends it.
 */
class HttpStub {
  readonly port: number;
  readonly requests: string[] = [];
  answer: string | null;
  #l: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #handlers = new Set<Promise<void>>();
  #loop: Promise<void>;

  constructor(answer: string | null) {
    this.answer = answer;
    this.#l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#l.addr as Deno.NetAddr).port;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let c: Deno.TcpConn;
      try {
        c = await this.#l.accept();
      } catch {
        return;
      }
      this.#conns.add(c);
      const h = this.#serve(c).finally(() => {
        this.#conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
        this.#handlers.delete(h);
      });
      this.#handlers.add(h);
    }
  }

  async #serve(c: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(4096);
    let req = "";
    try {
      while (!req.includes("\r\n\r\n")) {
        const n = await c.read(buf);
        if (n === null) return;
        req += td.decode(buf.subarray(0, n));
      }
      this.requests.push(req);
      const answer = this.answer;
      if (answer === null) {
        while ((await c.read(buf)) !== null) { /* silent until closed */ }
        return;
      }
      const out = te.encode(answer);
      let off = 0;
      while (off < out.length) off += await c.write(out.subarray(off));
    } catch { /* the checker closed first */ }
  }

  async close(): Promise<void> {
    try {
      this.#l.close();
    } catch { /* closed */ }
    await this.#loop;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.all([...this.#handlers]);
  }
}

/**
 * Runs checks for one server "s1" on `stub` with backend settings `b`; the
 * body gets the log, the check state and `checked(n)`, which resolves once n
 * checks completed. Always cleans up.
 */
async function withHttpCheck(
  stub: HttpStub,
  b: Partial<BackendConfig>,
  s: Parameters<typeof server>[2],
  body: (
    log: LogRecorder,
    c: ServerCheckView,
    checked: (n: number) => Promise<void>,
  ) => Promise<void>,
): Promise<void> {
  const be = new Backend(0, backend("be", [server("s1", stub.port, { check: true, ...s })], b));
  const sched = new Scheduler();
  const log = new LogRecorder();
  let n = 0;
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  const mgr = startChecks({
    sched,
    logger: log,
    proto: protoTcp,
    backends: [be],
    onCheck: () => {
      n++;
      waiters = waiters.filter((w) => (w.n <= n ? (w.resolve(), false) : true));
    },
  });
  const checked = async (want: number): Promise<void> => {
    if (n >= want) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => waiters.push({ n: want, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`only ${n} of ${want} checks`)), WAIT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await body(log, checkStateOf(be.servers[0]!)!, checked);
  } finally {
    const stopped = mgr.stop();
    sched.stop();
    await stopped;
    await stub.close();
  }
}

function httpchk(args: string[], lines: string[] = []): Partial<BackendConfig> {
  return {
    options: new Set(["httpchk"]),
    optionArgs: new Map([["httpchk", args]]),
    httpCheck: rules(...lines),
  };
}

Deno.test("httpchk: expect status 200 and a 500 answer take the server DOWN with Layer7 wrong status, a 200 brings it UP", async () => {
  const stub = new HttpStub("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  await withHttpCheck(
    stub,
    httpchk(["GET", "/health", "HTTP/1.1"], ["expect status 200"]),
    { inter: 40, fastinter: 40, downinter: 40, rise: 2, fall: 3 },
    async (log, c) => {
      const down = await log.waitFor(/is DOWN/);
      assert.match(
        down,
        /^WARNING Server be\/s1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: \d+ms\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.$/,
      );
      assert.equal(await log.waitFor(/^ALERT/), "ALERT backend be has no server available!");
      assert.equal(
        stub.requests[0],
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${stub.port}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(c.status, HCHK_STATUS_L7STS);
      assert.equal(c.code, 500);

      stub.answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      const up = await log.waitFor(/is UP/);
      assert.match(
        up,
        /^WARNING Server be\/s1 is UP, reason: Layer7 check passed, code: 200, info: "OK", check duration: \d+ms\. 1 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\.$/,
      );
      assert.equal(c.stateText(), "UP");
    },
  );
});

Deno.test("httpchk: default request and expectation (OPTIONS / HTTP/1.0, 2xx or 3xx)", async () => {
  const stub = new HttpStub("HTTP/1.0 301 Moved Permanently\r\n\r\n");
  await withHttpCheck(stub, httpchk([]), { inter: 1000 }, async (log, c, checked) => {
    await checked(1);
    assert.equal(stub.requests[0], "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n");
    assert.equal(c.status, HCHK_STATUS_L7OKD);
    assert.equal(c.code, 301);
    assert.equal(c.stateText(), "UP");
    assert.equal(log.lines.length, 0);
  });
});

Deno.test("httpchk: expect string fails with Layer7 invalid response when the body does not match", async () => {
  const stub = new HttpStub("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstatus: degraded");
  await withHttpCheck(
    stub,
    httpchk(["/status"], ['expect string "status: ok"']),
    { inter: 40, fastinter: 40, downinter: 40, rise: 1, fall: 1 },
    async (log, c) => {
      assert.match(
        await log.waitFor(/is DOWN/),
        /^WARNING Server be\/s1 is DOWN, reason: Layer7 invalid response, info: "HTTP content check did not match", check duration: \d+ms\. 0 active/,
      );
      assert.equal(c.status, HCHK_STATUS_L7RSP);
      stub.answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstatus: ok";
      assert.match(
        await log.waitFor(/is UP/),
        /^WARNING Server be\/s1 is UP, reason: Layer7 check passed, code: 200, info: "OK", check duration: \d+ms\./,
      );
    },
  );
});

Deno.test("httpchk: a server that accepts and never answers fails with Layer7 timeout after timeout check", async () => {
  const stub = new HttpStub(null);
  await withHttpCheck(
    stub,
    { ...httpchk(["/"]), timeouts: timeouts({ connect: 1000, check: 150 }) },
    { inter: 2000, fastinter: 2000, downinter: 2000 },
    async (log, c) => {
      const down = await log.waitFor(/is DOWN/);
      const m =
        /^WARNING Server be\/s1 is DOWN, reason: Layer7 timeout, check duration: (\d+)ms\. 0 active/
          .exec(down);
      assert.ok(m !== null, down);
      const ms = Number(m[1]);
      assert.ok(ms >= 145 && ms < 1000, `check duration ${ms} ms, expected ~150 ms`);
      assert.equal(c.status, HCHK_STATUS_L7TOUT);
      assert.equal(stub.requests.length, 1, "the request was sent");
    },
  );
});
