// One suite every log sink passes (src/log/sink.ts): messages arrive in
// order and are counted sent; a stalled reader costs dropped messages, never
// a wait, and the queue drains once it reads again; a target that fails
// costs dropped messages, never an exception. Every message pushed ends up
// counted exactly once (sent or dropped).

import assert from "node:assert/strict";
import { type ByteWriter, DgramSink, type LogSink, StreamSink } from "../../src/log/sink.ts";
import type { LogCounters } from "../../src/log/types.ts";
import { delay } from "../_helpers/client.ts";

/** A sink with a reader the test can stall and resume. */
interface Harness {
  sink: LogSink;
  counters: LogCounters;
  /** The reader starts reading (a harness made stalled reads nothing until then). */
  resume(): void;
  /** Messages the reader got, in order. */
  received(): string[];
  close(): Promise<void>;
}

/** Queue size the harnesses give their sink (small, so a stall overflows it quickly). */
const QUEUE = 16;

/** A writer the test controls: writes complete only while it is not stalled. */
class GatedWriter implements ByteWriter {
  text = "";
  stalled = false;
  #waiting: Array<() => void> = [];
  readonly #dec = new TextDecoder();

  write(p: Uint8Array): Promise<number> {
    // At most 100 bytes a write: a partial write must be continued by the sink.
    const n = Math.min(p.length, 100);
    const chunk = p.slice(0, n);
    const done = () => {
      this.text += this.#dec.decode(chunk);
      return n;
    };
    if (!this.stalled) return Promise.resolve().then(done);
    return new Promise((r) => this.#waiting.push(() => r(done())));
  }

  writeSync(p: Uint8Array): number {
    this.text += this.#dec.decode(p);
    return p.length;
  }

  resume(): void {
    this.stalled = false;
    for (const w of this.#waiting.splice(0)) w();
  }
}

function streamHarness(stalled: boolean): Harness {
  const w = new GatedWriter();
  w.stalled = stalled;
  const counters = { sent: 0, dropped: 0 };
  // QUEUE messages of 10 characters fill the queue.
  const sink = new StreamSink(w, counters, QUEUE * 10);
  return {
    sink,
    counters,
    resume: () => w.resume(),
    received: () => w.text.split("\n").filter((l) => l !== "").map((l) => l + "\n"),
    close: () => Promise.resolve(),
  };
}

async function dgramHarness(stalled: boolean): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sink-" });
  const path = `${dir}/rx.sock`;
  const rx = Deno.listenDatagram({ transport: "unixpacket", path });
  const counters = { sent: 0, dropped: 0 };
  const sink = new DgramSink({ transport: "unixpacket", path }, counters, QUEUE);
  const got: string[] = [];
  let reading: Promise<void> | null = null;
  const dec = new TextDecoder();
  const read = () => {
    reading ??= (async () => {
      try {
        for (;;) got.push(dec.decode((await rx.receive())[0]));
      } catch { /* closed */ }
    })();
  };
  if (!stalled) read();
  return {
    sink,
    counters,
    resume: read,
    received: () => got,
    close: async () => {
      sink.close();
      rx.close();
      await reading;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Waits until `f()` holds (deadline 10 s). */
async function until(f: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await delay(5);
  }
}

const msg = (i: number) => `msg ${String(i).padStart(4, "0")}\n`; // 10 characters

const SINKS: Array<[string, (stalled: boolean) => Promise<Harness>]> = [
  ["StreamSink", (stalled) => Promise.resolve(streamHarness(stalled))],
  ["DgramSink (unix datagram)", dgramHarness],
];

for (const [name, make] of SINKS) {
  Deno.test(`${name}: messages arrive in order, each counted sent`, async () => {
    const h = await make(false);
    try {
      for (let i = 0; i < 10; i++) h.sink.push(msg(i));
      await until(() => h.counters.sent === 10, "10 sent");
      await until(() => h.received().length === 10, "10 received");
      assert.deepEqual(h.received(), Array.from({ length: 10 }, (_, i) => msg(i)));
      assert.equal(h.counters.dropped, 0);
    } finally {
      await h.close();
    }
  });

  Deno.test(`${name}: a line given as bytes arrives as header + line + newline, cut to len`, async () => {
    const h = await make(false);
    const enc = new TextEncoder();
    h.sink.pushLine("<134>", enc.encode("line one"), 0);
    h.sink.pushLine("", enc.encode("line two"), 0);
    // len 10: nine characters and the newline (the header counts).
    h.sink.pushLine("<134>", enc.encode("abcdefgh"), 10);
    // A header longer than len is cut too.
    h.sink.pushLine("<134>1 2026", enc.encode("xyz"), 4);
    await until(() => h.counters.sent === 4, "four lines sent");
    assert.deepEqual(h.received(), ["<134>line one\n", "line two\n", "<134>abcd\n", "<13\n"]);
    assert.equal(h.counters.dropped, 0);
    await h.close();
  });

  Deno.test(`${name}: a stalled reader costs dropped messages, never a wait; the queue drains after`, async () => {
    const h = await make(true);
    try {
      const n = 2_000;
      // push() is synchronous: it returns for every message while nothing is read.
      for (let i = 0; i < n; i++) h.sink.push(msg(i));
      await delay(50);
      assert.ok(h.counters.dropped > 0, `dropped ${h.counters.dropped}`);
      h.resume();
      await until(() => h.counters.sent + h.counters.dropped === n, "every message counted");
      await until(() => h.received().length === h.counters.sent, "sent messages received");
      // What was kept is in order, a prefix of the stream with gaps.
      const got = h.received().map((m) => Number(m.slice(4, 8)));
      assert.deepEqual(got, [...got].sort((a, b) => a - b));
      // After the stall, messages flow again.
      const before = h.counters.sent;
      h.sink.push(msg(9999));
      await until(() => h.counters.sent === before + 1, "a message after the stall");
    } finally {
      await h.close();
    }
  });
}

Deno.test("StreamSink: a writer that fails (stdout closed) drops every message from then on, without throwing", async () => {
  const counters = { sent: 0, dropped: 0 };
  const sink = new StreamSink({
    write: () => Promise.reject(new Deno.errors.BrokenPipe("closed")),
    writeSync: () => {
      throw new Deno.errors.BrokenPipe("closed");
    },
  }, counters);
  sink.push(msg(1));
  await until(() => counters.dropped === 1, "the first message dropped");
  sink.push(msg(2));
  sink.flushAtExit();
  assert.deepEqual(counters, { sent: 0, dropped: 2 });
});

Deno.test("StreamSink: at exit, an idle sink writes its queue synchronously, a stalled one counts it dropped", async () => {
  const idle = new GatedWriter();
  const c1 = { sent: 0, dropped: 0 };
  const s1 = new StreamSink(idle, c1);
  s1.push(msg(1));
  s1.flushAtExit();
  assert.equal(idle.text, msg(1));
  assert.deepEqual(c1, { sent: 1, dropped: 0 });

  const stuck = new GatedWriter();
  stuck.stalled = true;
  const c2 = { sent: 0, dropped: 0 };
  const s2 = new StreamSink(stuck, c2);
  s2.push(msg(1));
  await delay(10); // the first write is in flight, and stays so
  s2.push(msg(2));
  s2.flushAtExit();
  assert.deepEqual(c2, { sent: 0, dropped: 1 });
  stuck.resume();
  await until(() => c2.sent === 1, "the write in flight completes");
});

Deno.test("DgramSink: a socket path nobody listens on drops the messages, without throwing", async () => {
  const counters = { sent: 0, dropped: 0 };
  const sink = new DgramSink(
    { transport: "unixpacket", path: "/nonexistent/sluice.sock" },
    counters,
  );
  try {
    for (let i = 0; i < 5; i++) sink.push(msg(i));
    await until(() => counters.dropped === 5, "5 dropped");
    assert.equal(counters.sent, 0);
  } finally {
    sink.close();
  }
});

Deno.test("StreamSink on a regular file: the lines gather and go out in one synchronous write", async () => {
  const writes: string[] = [];
  const dec = new TextDecoder();
  const counters = { sent: 0, dropped: 0 };
  const sink = new StreamSink(
    {
      write: () => Promise.reject(new Error("a file sink never writes asynchronously")),
      writeSync: (p) => {
        writes.push(dec.decode(p));
        return p.length;
      },
    },
    counters,
    undefined,
    true,
  );
  for (let i = 0; i < 5; i++) sink.push(msg(i));
  await until(() => counters.sent === 5, "5 sent");
  assert.deepEqual(writes, [[0, 1, 2, 3, 4].map(msg).join("")]);
  assert.equal(counters.dropped, 0);
  sink.close();
});
