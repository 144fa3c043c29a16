// Summaries and the printed table of the load bench.
//
// A table row is one metric with the value of each proxy, the ratio
// Sluice/HAProxy and, for the metrics that have one, the target and whether it
// is met. Values that could not be measured print as "n/a" and have no ratio.

/** Median of the finite values of `xs`, or null when there are none. */
export function median(xs: readonly number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** A target a metric is checked against. */
export interface Target {
  /** "ratio" checks Sluice/HAProxy, "sluice" the absolute Sluice value. */
  on: "ratio" | "sluice";
  op: ">=" | "<=";
  value: number;
  /** How the target prints, e.g. "ratio ≥ 0.90". */
  text: string;
}

/** One row of the table. */
export interface Row {
  metric: string;
  sluice: number | null;
  haproxy: number | null;
  /** Digits after the decimal point when printing the values. */
  digits: number;
  target?: Target;
  /** False for context rows where a ratio means nothing (error counts, noise). */
  hasRatio?: boolean;
}

/** Sluice/HAProxy, or null when either is missing or HAProxy's is 0. */
export function ratio(r: Row): number | null {
  if (r.hasRatio === false) return null;
  if (r.sluice === null || r.haproxy === null || r.haproxy === 0) return null;
  return r.sluice / r.haproxy;
}

/** Whether the row meets its target: true, false, or null when it has none or cannot tell. */
export function targetMet(r: Row): boolean | null {
  const t = r.target;
  if (t === undefined) return null;
  const v = t.on === "ratio" ? ratio(r) : r.sluice;
  if (v === null) return null;
  return t.op === ">=" ? v >= t.value : v <= t.value;
}

function fmt(v: number | null, digits: number): string {
  if (v === null) return "n/a";
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Renders rows as a Markdown table (readable as plain text too). */
export function renderTable(rows: readonly Row[]): string {
  const head = ["metric", "Sluice", "HAProxy", "ratio (Sluice/HAProxy)", "target"];
  const body = rows.map((r) => {
    const met = targetMet(r);
    const target = r.target === undefined
      ? ""
      : `${r.target.text} ${met === null ? "(n/a)" : met ? "(met)" : "(MISSED)"}`;
    const q = r.hasRatio === false ? "" : fmt(ratio(r), 2);
    return [r.metric, fmt(r.sluice, r.digits), fmt(r.haproxy, r.digits), q, target];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    "| " +
    cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join(" | ") +
    " |";
  const sep = "|" +
    widths.map((w, i) => (i === 0 || i === 4 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":") + "|")
      .join("");
  return [line(head), sep, ...body.map(line)].join("\n");
}
