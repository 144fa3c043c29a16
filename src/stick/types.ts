// Types of the stick tables (HAProxy's stick_table-t.h): the key types, the
// data types an entry may store (in HAProxy's order, which `show table`
// follows), their standard types, and the parsed `stick-table` line. Only
// types, constants and their stringifiers live here; the store is in
// table.ts, tracking in track.ts, the runtime API's text in cli.ts.

// ---------------------------------------------------------------------------
// Key types (`type ip|ipv6|integer|string|binary`).

/** IPv4 address (an IPv4-mapped IPv6 client is converted; other IPv6 clients are not tracked). */
export const STK_KEY_IP = 0;
/** IPv6 address (an IPv4 client becomes ::ffff:a.b.c.d). */
export const STK_KEY_IPV6 = 1;
/** 32-bit unsigned integer. */
export const STK_KEY_INTEGER = 2;
/** Byte string, truncated to `len` (default 32). */
export const STK_KEY_STRING = 3;
/** Bytes, truncated or zero-padded to `len` (default 32). */
export const STK_KEY_BINARY = 4;

/** Keywords of the key types, indexed by STK_KEY_*. */
export const STK_KEY_NAMES: readonly string[] = ["ip", "ipv6", "integer", "string", "binary"];

// ---------------------------------------------------------------------------
// Data types (STKTABLE_DT_*), in HAProxy's order.

export const DT_SERVER_ID = 0;
export const DT_GPT0 = 1;
export const DT_GPC0 = 2;
export const DT_GPC0_RATE = 3;
export const DT_CONN_CNT = 4;
export const DT_CONN_RATE = 5;
export const DT_CONN_CUR = 6;
export const DT_SESS_CNT = 7;
export const DT_SESS_RATE = 8;
export const DT_HTTP_REQ_CNT = 9;
export const DT_HTTP_REQ_RATE = 10;
export const DT_HTTP_ERR_CNT = 11;
export const DT_HTTP_ERR_RATE = 12;
export const DT_BYTES_IN_CNT = 13;
export const DT_BYTES_IN_RATE = 14;
export const DT_BYTES_OUT_CNT = 15;
export const DT_BYTES_OUT_RATE = 16;
export const DT_GPC1 = 17;
export const DT_GPC1_RATE = 18;
/** The server's name, stored with server_id by `stick` rules (a string, kept apart). */
export const DT_SERVER_KEY = 19;
export const DT_HTTP_FAIL_CNT = 20;
export const DT_HTTP_FAIL_RATE = 21;
/** Number of data types. */
export const DT_COUNT = 22;

/** Standard type: signed integer. */
export const STD_T_SINT = 0;
/** Standard type: unsigned 32-bit integer. */
export const STD_T_UINT = 1;
/** Standard type: unsigned 64-bit integer (bytes). */
export const STD_T_ULL = 2;
/** Standard type: frequency counter (three slots, freq_ctr.ts). */
export const STD_T_FRQP = 3;
/** Standard type: a string kept beside the numbers (server_key). */
export const STD_T_DICT = 4;

/** One data type: its `store` name and standard type. */
export interface DataTypeDef {
  readonly name: string;
  readonly std: number;
}

/** The data types, indexed by DT_*. */
export const DATA_TYPES: readonly DataTypeDef[] = Object.freeze([
  { name: "server_id", std: STD_T_SINT },
  { name: "gpt0", std: STD_T_UINT },
  { name: "gpc0", std: STD_T_UINT },
  { name: "gpc0_rate", std: STD_T_FRQP },
  { name: "conn_cnt", std: STD_T_UINT },
  { name: "conn_rate", std: STD_T_FRQP },
  { name: "conn_cur", std: STD_T_UINT },
  { name: "sess_cnt", std: STD_T_UINT },
  { name: "sess_rate", std: STD_T_FRQP },
  { name: "http_req_cnt", std: STD_T_UINT },
  { name: "http_req_rate", std: STD_T_FRQP },
  { name: "http_err_cnt", std: STD_T_UINT },
  { name: "http_err_rate", std: STD_T_FRQP },
  { name: "bytes_in_cnt", std: STD_T_ULL },
  { name: "bytes_in_rate", std: STD_T_FRQP },
  { name: "bytes_out_cnt", std: STD_T_ULL },
  { name: "bytes_out_rate", std: STD_T_FRQP },
  { name: "gpc1", std: STD_T_UINT },
  { name: "gpc1_rate", std: STD_T_FRQP },
  { name: "server_key", std: STD_T_DICT },
  { name: "http_fail_cnt", std: STD_T_UINT },
  { name: "http_fail_rate", std: STD_T_FRQP },
].map((d) => Object.freeze(d)));

/** DT_* of a data type name, or -1. */
export function dataTypeByName(name: string): number {
  for (let i = 0; i < DATA_TYPES.length; i++) if (DATA_TYPES[i]!.name === name) return i;
  return -1;
}

// ---------------------------------------------------------------------------
// A parsed `stick-table` line.

/** `stick-table type T [len N] size N [expire T] [nopurge] [store ...]`, checked. */
export interface StickTableConfig {
  /** Table name: the proxy's name, or the key of a `tables:` entry. */
  readonly name: string;
  /** STK_KEY_*. */
  readonly type: number;
  /** Key length for string and binary keys (bytes). */
  readonly keyLen: number;
  /** Maximum number of entries. */
  readonly size: number;
  /** Idle time after which an entry goes (ms); 0: never. */
  readonly expire: number;
  /** When full, refuse new entries instead of evicting the least recently used. */
  readonly nopurge: boolean;
  /** Stored data types (DT_*) with their period (ms) for rates, 0 otherwise. */
  readonly store: ReadonlyArray<readonly [number, number]>;
  /**
   * server_key is kept (with server_id): `stick` rules use the table, as
   * HAProxy allocates both for them. Absent: false.
   */
  readonly serverKey?: boolean;
}

// Note about invariants: DATA_TYPES is indexed by DT_* and never reordered
// (`show table` prints in this order, as HAProxy does). A table's `store` has
// each data type at most once; every *_rate entry has a period > 0.
