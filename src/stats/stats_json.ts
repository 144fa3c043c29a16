// The JSON statistics export, served at `<stats uri>;json`.
//
// Unlike HAProxy's `show stat json` (a list of typed field objects), this is
// the StatsSnapshot itself: one object with `process`, `frontends` and
// `backends` (each backend holding its `servers`), every number a plain JSON
// number, every time in epoch milliseconds or milliseconds (fields ending in
// `Ms`). docs/stats.md describes the fields. This file never reads live objects.

import type { StatsSnapshot } from "./snapshot.ts";

/** Renders the snapshot as indented JSON, ending with a newline. */
export function renderStatsJson(snap: StatsSnapshot): string {
  return JSON.stringify(snap, null, 2) + "\n";
}
