// What one httplog line costs the process, end to end: the log context of a
// finished keep-alive transaction, the compiled format, the framing and the
// copy into stdout's queue (stdout redirected to a file, as the load bench
// logs). Prints ns per line over a few million lines, the garbage they leave
// included (young collections run inside the timed loop).
//
//   deno run --allow-all bench/log_line_bench.ts > /tmp/lines.log
//
// The figure goes to stderr. BENCH_LINES sets the count (default 2,000,000).

import { HTTPLOG_FORMAT, LogFormat } from "../src/log/log_format.ts";
import { Logger } from "../src/log/log.ts";
import * as sessionLog from "../src/log/session_log.ts";
import type { LogSource } from "../src/log/session_log.ts";

const LINES = Number(Deno.env.get("BENCH_LINES") ?? 2_000_000);

const txn = {
  count: 3,
  tFirstByte: 1000,
  tHeadDone: 1000,
  tReqSent: 1000,
  tResHead: 1001,
  tc: 0,
  status: 200,
  requestLine: "GET /index.html?x=1 HTTP/1.1",
  bytesOutStart: 1000,
  bytesInStart: 300,
  requestDate: Date.now(),
};
const src: LogSource = {
  clientAddr: { ip: "127.0.0.1", port: 51234 },
  frontAddr: { ip: "127.0.0.1", port: 8080 },
  acceptDate: Date.now(),
  tAccept: 900,
  tConnStart: 901,
  tConnected: 901,
  tQueued: 0,
  err: 0,
  finst: 0,
  retries: 0,
  redispatched: false,
  srvQueuePos: 0,
  beQueuePos: 0,
  fe: { name: "fe", feconn: 50 },
  be: { name: "be", beconn: 50 },
  srv: { name: "s1", cur: 50, address: { kind: "tcp", host: "127.0.0.1", port: 9000, family: 4 } },
  txn,
  req: { totalIn: 400 },
  res: { totalOut: 1250 },
  clientTls: null,
  logQueued: () => false,
  logPendingOut: () => 0,
  logSelfInBackend: () => 1,
  logHeldSlot: () => 0,
};

const logger = new Logger("stdout");
const fmt = new LogFormat(HTTPLOG_FORMAT);
// deno-lint-ignore no-explicit-any
const api = sessionLog as any;
const reuse = typeof api.newLogContext === "function" ? api.newLogContext() : undefined;
// deno-lint-ignore no-explicit-any
const f = fmt as any;
// deno-lint-ignore no-explicit-any
const l = logger as any;
const bytes = typeof f.write === "function" && typeof l.startLine === "function";

function line(i: number): void {
  const c = sessionLog.sessionLogContext(src, 1002 + (i & 7), false, 50, reuse);
  if (bytes) {
    f.write(c, l.startLine());
    l.sessionLine(-1);
  } else {
    logger.session(fmt.render(c), -1);
  }
}

for (let i = 0; i < 200_000; i++) line(i); // warm-up (JIT)
// Let the sink's timer write what queued, between batches, as the event loop would.
const BATCH = 1000;
const t0 = performance.now();
for (let i = 0; i < LINES; i += BATCH) {
  for (let k = 0; k < BATCH; k++) line(i + k);
  if ((i / BATCH) % 8 === 0) await new Promise((r) => setTimeout(r, 0));
}
const ns = ((performance.now() - t0) * 1e6) / LINES;
logger.flush();
console.error(
  `${bytes ? "bytes" : "string"} path: ${ns.toFixed(0)} ns per httplog line (${LINES} lines)`,
);
