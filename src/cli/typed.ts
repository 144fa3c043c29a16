// HAProxy's typed and JSON field encodings, shared by `show info` and
// `show stat` (stats.c: stats_emit_typed_data_field, stats_emit_field_tags,
// stats_emit_json_data_field, stats_emit_json_field_tags).
//
// A field carries three tag letters, origin/nature/scope, and a type:
//   origin  K Key, C Config, P Product, M Metric, S Status
//   nature  G Gauge, L Limit, m Min, M Max, R Rate, C Counter, D Duration,
//           A Age, T Time, N Name, O Output, a Avg
//   scope   P Process, S Service, s System, C Cluster
// written "MCP:u64" in the tables below. Pure functions, no I/O.

const ORIGIN: Record<string, string> = {
  M: "Metric",
  S: "Status",
  K: "Key",
  C: "Config",
  P: "Product",
};
const NATURE: Record<string, string> = {
  G: "Gauge",
  L: "Limit",
  m: "Min",
  M: "Max",
  R: "Rate",
  C: "Counter",
  D: "Duration",
  A: "Age",
  T: "Time",
  N: "Name",
  O: "Output",
  a: "Avg",
};
const SCOPE: Record<string, string> = { P: "Process", S: "Service", s: "System", C: "Cluster" };

/** A field's tags and type, "MCP:u64". */
export type FieldSpec = string;

/** `tags:type:value` as `show ... typed` prints it after the field's name part. */
export function typedValue(spec: FieldSpec, value: string | number): string {
  return `${spec}:${value}`;
}

/** The JSON `"tags":{...},"value":{...}` part of one field (no braces around the whole). */
export function jsonTagsValue(spec: FieldSpec, value: string | number): string {
  const o = spec[0]!, n = spec[1]!, s = spec[2]!;
  const type = spec.slice(4);
  const v = type === "str" ? JSON.stringify(String(value)) : String(value);
  return `"tags":{"origin":"${ORIGIN[o] ?? "Unknown"}","nature":"${
    NATURE[n] ?? "Unknown"
  }","scope":"${SCOPE[s] ?? "Unknown"}"},"value":{"type":"${type}","value":${v}}`;
}
