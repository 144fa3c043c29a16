import assert from "node:assert/strict";
import type { H2Stream } from "../../src/mux/h2_stream.ts";
import { H2StreamTable } from "../../src/mux/h2_stream_table.ts";

/** Stand-ins: the table reads only `id` (for values()' order). */
function stream(id: number): H2Stream {
  return { id } as H2Stream;
}

Deno.test("h2 stream table: finds, replaces and removes what a Map would, through growth, wrap-around and shrinking", () => {
  const t = new H2StreamTable();
  const ref = new Map<number, H2Stream>();
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let next = 1;
  for (let step = 0; step < 20000; step++) {
    const r = rand(10);
    // Batches that grow to ~150 open streams then drain, ids rising by two as a client's do.
    const wantOpen = (step >> 9) % 2 === 0 ? 150 : 0;
    if (r < 5 && ref.size < wantOpen + 5) {
      const s = stream(next);
      t.set(next, s);
      ref.set(next, s);
      next += 2;
    } else if (ref.size > 0) {
      // Remove a random open one (streams end out of order), or an unknown id.
      const ids = [...ref.keys()];
      const id = r === 9 ? next + 2 : ids[rand(ids.length)]!;
      assert.equal(t.delete(id), ref.delete(id));
    }
    if (step % 97 === 0) {
      for (let id = Math.max(1, next - 400); id < next + 4; id += 2) {
        assert.equal(t.get(id), ref.get(id), `get(${id}) at step ${step}`);
      }
      assert.equal(t.size, ref.size);
      assert.deepEqual(t.values().map((s) => s.id), [...ref.keys()].sort((a, b) => a - b));
    }
  }
  const s = stream(7);
  t.set(7, s);
  t.set(7, s);
  assert.equal(t.get(7), s, "set twice: one entry");
});
