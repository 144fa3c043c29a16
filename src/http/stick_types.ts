// The compiled form of a backend's `stick` lines (stick_persist.ts compiles
// and applies them): types and kind bits only, so that the stream view
// (http_stream.ts) can name them without importing the logic.

import type { Condition } from "../acl/acl.ts";
import type { Fetch } from "../sample/types.ts";
import type { StickTable } from "../stick/table.ts";

/** Rule kinds. */
export const STICK_MATCH = 1;
export const STICK_STORE_REQ = 2;
export const STICK_ON = STICK_MATCH | STICK_STORE_REQ;
export const STICK_STORE_RES = 4;

/** One compiled `stick` line. */
export interface StickRule {
  /** STICK_* bits. */
  readonly kind: number;
  readonly table: StickTable;
  readonly key: Fetch;
  readonly cond: Condition | null;
  readonly line: number;
  readonly col: number;
}
