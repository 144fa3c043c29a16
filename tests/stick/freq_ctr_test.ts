// The sliding-window rate (src/stick/freq_ctr.ts) against figures worked
// out by hand from HAProxy's freq_ctr_total(): the previous period's count
// weighted by the part of it still in the window, the flapping correction,
// and the period starting at the first event.

import assert from "node:assert/strict";
import { freqInit, freqRead, freqUpdate } from "../../src/stick/freq_ctr.ts";

const P = 10_000;

function ctr(): Float64Array {
  const d = new Float64Array(3);
  freqInit(d, 0);
  return d;
}

Deno.test("freq_ctr: a fresh counter starts its period at the first event and reads the count", () => {
  const d = ctr();
  assert.equal(freqRead(d, 0, P, 5_000), 0);
  for (let i = 0; i < 150; i++) freqUpdate(d, 0, P, 5_000 + i, 1);
  // The period began at tick 5000 (an even tick): all 150 are in it.
  assert.equal(d[0], 5_000);
  assert.equal(freqRead(d, 0, P, 5_200), 150);
  assert.equal(freqRead(d, 0, P, 14_999), 150);
});

Deno.test("freq_ctr: the previous period fades out linearly over the next one", () => {
  const d = ctr();
  for (let i = 0; i < 100; i++) freqUpdate(d, 0, P, 1_000, 1);
  // One event 2.5 s into the next period: past = 100 weighted by 7.5/10, curr = 1.
  freqUpdate(d, 0, P, 13_500, 1);
  assert.equal(d[0], 11_000, "the new period starts one period after the last");
  assert.equal(freqRead(d, 0, P, 13_500), Math.floor((100 * 7_500 + 1 * P) / P)); // 76
  assert.equal(freqRead(d, 0, P, 20_000), Math.floor((100 * 1_000 + 1 * P) / P)); // 11
  // Past the current period its count becomes the past: a single event is
  // kept whole (flapping correction) instead of 1 * 6000 / 10000 = 0.
  assert.equal(freqRead(d, 0, P, 25_000), 1);
  assert.equal(freqRead(d, 0, P, 31_001), 0, "two periods later nothing is left");
});

Deno.test("freq_ctr: two missed periods restart at the event with no past", () => {
  const d = ctr();
  for (let i = 0; i < 50; i++) freqUpdate(d, 0, P, 1_000, 1);
  freqUpdate(d, 0, P, 40_001, 1);
  assert.equal(d[0], 40_000, "the tick is stored with its low bit cleared, as HAProxy");
  assert.equal(d[2], 0);
  assert.equal(freqRead(d, 0, P, 40_001), 1);
});

Deno.test("freq_ctr: at very low rates the last period's single event is kept whole", () => {
  const d = ctr();
  freqUpdate(d, 0, P, 1_000, 1);
  // Next period, nothing new: HAProxy reports past * period / period = 1, not 0.
  assert.equal(freqRead(d, 0, P, 19_000), 1);
  const e = ctr();
  freqUpdate(e, 0, P, 1_000, 2);
  assert.equal(freqRead(e, 0, P, 19_000), Math.floor((2 * 2_000) / P)); // 0: the weighting applies
});
