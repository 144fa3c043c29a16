// Sliding-window event rates (HAProxy's freq_ctr.c / freq_ctr.h, the
// `struct freq_ctr` behind every `*_rate(PERIOD)` of a stick table).
//
// A counter is three numbers: the tick its current period started, the
// events of the current period and those of the previous one. The rate over
// a period is the previous period's count weighted by the part of it still
// inside the sliding window, plus the current count: the same arithmetic as
// HAProxy's freq_ctr_total() (integer division, the flapping correction at
// very low rates, the current tick stored with its low bit cleared), so
// that a table shows the figures HAProxy shows for the same traffic.
//
// The counters live inline in an entry's Float64Array (three slots each,
// see table.ts), so these functions take the array and an offset: no object
// per counter. Ticks are the scheduler's milliseconds. Never allocates.

/** Slots a frequency counter takes: curr_tick, curr_ctr, prev_ctr. */
export const FRQP_SLOTS = 3;

/** curr_tick of a counter that never counted: the first event starts a period at once. */
export const FRQP_NEVER = -4294967296;

/** Resets the counter at `o` (a new entry, `clear table`). */
export function freqInit(d: Float64Array, o: number): void {
  d[o] = FRQP_NEVER;
  d[o + 1] = 0;
  d[o + 2] = 0;
}

/**
 * Adds `inc` events at tick `now` over `period` ms (update_freq_ctr_period):
 * within the current period it adds; otherwise the current count becomes the
 * previous one and a new period starts `period` later, or now when two
 * periods or more were missed (the previous count is then 0). Returns the
 * current period's count.
 */
export function freqUpdate(d: Float64Array, o: number, period: number, now: number, inc: number) {
  let tick = d[o]!;
  if (now - tick < period) return (d[o + 1] = d[o + 1]! + inc);
  d[o + 2] = d[o + 1]!;
  d[o + 1] = inc;
  tick += period;
  if (now - tick >= period) {
    // At least two periods were missed.
    d[o + 2] = 0;
    tick = now;
  }
  // HAProxy uses the low bit as a rotation lock and stores the tick without it.
  d[o] = Math.floor(tick / 2) * 2;
  return inc;
}

/**
 * Events over the sliding window times `period` (freq_ctr_total() with no
 * pending event): past * remaining + curr * period, where `remaining` is the
 * part of the previous period still inside the window. At very low rates
 * (nothing this period, at most one the last) the previous count is taken
 * whole, so the figure does not flap between 0 and 1.
 */
export function freqTotal(d: Float64Array, o: number, period: number, now: number): number {
  let curr = d[o + 1]!;
  let past = d[o + 2]!;
  let remain = d[o]! + period - now;
  if (remain < 0) {
    // Past the current period: maybe a part of it is still in the window.
    remain += period;
    past = remain >= 0 ? curr : 0;
    curr = 0;
  }
  if (curr === 0 && past <= 1) return past * period;
  return past * remain + curr * period;
}

/** The rate over `period` (read_freq_ctr_period): events per period, rounded down. */
export function freqRead(d: Float64Array, o: number, period: number, now: number): number {
  if (period <= 0) return 0;
  return Math.floor(freqTotal(d, o, period, now) / period);
}
