// Summaries and the printed table of the load bench.
//
// A table row is one metric with the value of each proxy (keyed by proxy
// name), the ratios of the proxy under test (Sluice) to each reference proxy
// (HAProxy, and nginx in HTTP mode) and, for the metrics that have one, the
// target and whether it is met. Targets that compare are checked against one
// reference only (HAProxy): the other ratios are context. Values that could
// not be measured print as "n/a" and have no ratio.

/** Median of the finite values of `xs`, or null when there are none. */
export function median(xs: readonly number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** A target a metric is checked against. */
export interface Target {
  /**
   * "ratio" checks subject / target reference (Sluice/HAProxy), "value" the
   * absolute value of the subject (Sluice).
   */
  on: "ratio" | "value";
  op: ">=" | "<=";
  value: number;
  /** How the target prints, e.g. "ratio ≥ 0.90". */
  text: string;
}

/** One row of the table. */
export interface Row {
  metric: string;
  /** Value per proxy name; absent or null when not measured. */
  values: Record<string, number | null>;
  /** Digits after the decimal point when printing the values. */
  digits: number;
  target?: Target;
  /** False for context rows where a ratio means nothing (error counts, noise). */
  hasRatio?: boolean;
}

/** Which columns a table has and what its ratios and targets compare. */
export interface Layout {
  /** Value columns, in order: key in Row.values and heading. */
  columns: { key: string; label: string }[];
  /** Key of the proxy under test: the numerator of every ratio. */
  subject: string;
  /** Keys of the references, one ratio column each (subject / reference). */
  references: string[];
  /** Key of the reference that "ratio" targets are checked against. */
  targetReference: string;
}

/** values[num] / values[den], or null when either is missing, the row has no ratio, or den is 0. */
export function ratio(r: Row, num: string, den: string): number | null {
  if (r.hasRatio === false) return null;
  const a = r.values[num] ?? null, b = r.values[den] ?? null;
  if (a === null || b === null || b === 0) return null;
  return a / b;
}

/** Whether the row meets its target: true, false, or null when it has none or cannot tell. */
export function targetMet(r: Row, l: Layout): boolean | null {
  const t = r.target;
  if (t === undefined) return null;
  const v = t.on === "ratio" ? ratio(r, l.subject, l.targetReference) : r.values[l.subject] ?? null;
  if (v === null) return null;
  return t.op === ">=" ? v >= t.value : v <= t.value;
}

/** The label of column `key`, or the key itself. */
function label(l: Layout, key: string): string {
  return l.columns.find((c) => c.key === key)?.label ?? key;
}

function fmt(v: number | null, digits: number): string {
  if (v === null) return "n/a";
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Renders rows as a Markdown table (readable as plain text too). */
export function renderTable(rows: readonly Row[], l: Layout): string {
  const head = [
    "metric",
    ...l.columns.map((c) => c.label),
    ...l.references.map((k) => `${label(l, l.subject)}/${label(l, k)}`),
    `target (vs ${label(l, l.targetReference)})`,
  ];
  const last = head.length - 1;
  const body = rows.map((r) => {
    const met = targetMet(r, l);
    const target = r.target === undefined
      ? ""
      : `${r.target.text} ${met === null ? "(n/a)" : met ? "(met)" : "(MISSED)"}`;
    return [
      r.metric,
      ...l.columns.map((c) => fmt(r.values[c.key] ?? null, r.digits)),
      ...l.references.map((k) => r.hasRatio === false ? "" : fmt(ratio(r, l.subject, k), 2)),
      target,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const left = (i: number) => i === 0 || i === last;
  const line = (cells: string[]) =>
    "| " +
    cells.map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") +
    " |";
  const sep = "|" +
    widths.map((w, i) => (left(i) ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":") + "|").join("");
  return [line(head), sep, ...body.map(line)].join("\n");
}

/** One line counting met and missed targets, naming the missed ones. */
export function targetSummary(rows: readonly Row[], l: Layout): string {
  let met = 0, unknown = 0;
  const missed: string[] = [];
  for (const r of rows) {
    const m = targetMet(r, l);
    if (r.target === undefined) continue;
    if (m === true) met++;
    else if (m === false) missed.push(`${r.metric}: ${r.target.text}`);
    else unknown++;
  }
  const total = met + missed.length + unknown;
  let s = `targets: ${met} of ${total} met`;
  if (missed.length > 0) s += `; MISSED: ${missed.join("; ")}`;
  if (unknown > 0) s += `; ${unknown} not measured`;
  return s;
}
