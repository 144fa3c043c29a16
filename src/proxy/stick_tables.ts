// Building the stick tables of a configuration (HAProxy's parse_stick_table()
// calls from cfgparse-listen.c and the server_id allocation of
// check_config_validity()): one table per `stick-table` line of a frontend
// or backend (named after it) and per `tables:` entry, every error at
// file:line:col. A table that `stick` rules use stores server_id even when
// its line does not say so, as HAProxy adds it. On a reload, a table whose
// line did not change is the same object: its entries carry over.

import { parseStickTable, StickTable } from "../stick/table.ts";
import { DT_SERVER_ID, type StickTableConfig } from "../stick/types.ts";
import { stickLineTable } from "../http/stick_persist.ts";
import type { RuleLine, RuntimeConfig } from "../config/types.ts";

type Err = (line: number, col: number, path: string, message: string) => void;

/** Same name, key and data layout, size, expiry and purge policy. */
function sameConfig(a: StickTableConfig, b: StickTableConfig): boolean {
  return a.type === b.type && a.keyLen === b.keyLen && a.size === b.size &&
    a.serverKey === b.serverKey &&
    a.expire === b.expire && a.nopurge === b.nopurge && a.store.length === b.store.length &&
    a.store.every((x, i) => x[0] === b.store[i]![0] && x[1] === b.store[i]![1]);
}

/**
 * The tables of `cfg` by name. `previous` (a reload): tables kept when their
 * configuration is unchanged. Errors go to `err`.
 */
export function buildStickTables(
  cfg: RuntimeConfig,
  err: Err,
  previous: ReadonlyMap<string, StickTable> | null = null,
): Map<string, StickTable> {
  // Tables `stick` rules write server_id into.
  const needsServerId = new Set<string>();
  for (const be of cfg.backends) {
    for (const l of be.stick ?? []) needsServerId.add(stickLineTable(l.text) ?? be.name);
  }
  const out = new Map<string, StickTable>();
  const where = new Map<string, string>();
  const add = (name: string, l: RuleLine, path: string) => {
    const c = parseStickTable(name, l.text);
    if ("error" in c) {
      err(l.line, l.col, path, c.error);
      // A stand-in, so that the rules naming the table report only their own mistakes.
      if (!out.has(name)) {
        out.set(name, new StickTable(parseStickTable(name, "type ip size 1") as StickTableConfig));
      }
      return;
    }
    const prior = where.get(name);
    if (prior !== undefined) {
      err(l.line, l.col, path, `stick-table '${name}' is already declared at ${prior}`);
      return;
    }
    where.set(name, `line ${l.line}`);
    let conf = c;
    if (needsServerId.has(name)) {
      const store = conf.store.some(([dt]) => dt === DT_SERVER_ID)
        ? conf.store
        : Object.freeze([Object.freeze([DT_SERVER_ID, 0] as const), ...conf.store]);
      conf = Object.freeze({ ...conf, store, serverKey: true });
    }
    const old = previous?.get(name);
    out.set(name, old !== undefined && sameConfig(old.cfg, conf) ? old : new StickTable(conf));
  };
  for (const fe of cfg.frontends) {
    if (fe.stickTable) add(fe.name, fe.stickTable, `frontends.${fe.name}.stick-table`);
  }
  for (const be of cfg.backends) {
    if (be.stickTable) add(be.name, be.stickTable, `backends.${be.name}.stick-table`);
  }
  for (const t of cfg.tables ?? []) add(t.name, t.stickTable, `tables.${t.name}.stick-table`);
  return out;
}
