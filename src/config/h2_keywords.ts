// The global keys of HTTP/2 (HAProxy's tune.h2.* with `tune.` dropped, as
// every global key here): their table, their defaults, and the resolved
// H2Tune. HAProxy 2.6 has the first four; the others are Sluice's, named
// after the tune.h2.fe.* keywords later HAProxy versions use (docs/http2.md).

import type { H2Tune } from "./types.ts";

/** A global h2 key (the shape of a keywords.ts Keyword, kept here to stay out of an import cycle). */
interface H2Keyword {
  name: string;
  kind: "int" | "duration";
  min: number;
  max?: number;
  doc: string;
}

/** HAProxy 2.6's defaults for its four, Sluice's for the rest. */
export const H2_TUNE_DEFAULTS: Readonly<H2Tune> = {
  headerTableSize: 4096,
  initialWindowSize: 65535,
  maxConcurrentStreams: 100,
  maxFrameSize: 16384,
  maxHeaderListSize: 16384,
  maxContinuations: 16,
  maxResetsPerSec: 100,
  maxEmptyFramesPerSec: 100,
  maxSettingsPerSec: 50,
  maxPingsPerSec: 50,
  settingsTimeout: 10_000,
};

export const H2_GLOBAL_KEYWORDS: readonly H2Keyword[] = [
  {
    name: "h2.header-table-size",
    kind: "int",
    min: 0,
    max: 65536,
    doc: "HPACK dynamic table size of the HTTP/2 decoder (tune.h2.header-table-size); default 4096",
  },
  {
    name: "h2.initial-window-size",
    kind: "int",
    min: 1,
    max: 2147483647,
    doc: "bytes an HTTP/2 client may upload per stream before an acknowledgement; default 65535",
  },
  {
    name: "h2.max-concurrent-streams",
    kind: "int",
    min: 0,
    doc:
      "open streams per HTTP/2 connection (tune.h2.max-concurrent-streams); 0 = no limit; default 100",
  },
  {
    name: "h2.max-frame-size",
    kind: "int",
    min: 16384,
    max: 16777215,
    doc: "largest HTTP/2 frame accepted (tune.h2.max-frame-size); default 16384",
  },
  {
    name: "h2.max-header-list-size",
    kind: "int",
    min: 1024,
    max: 1048576,
    doc: "largest decoded HTTP/2 header list (name + value + 32 per field); default 16384",
  },
  {
    name: "h2.fe.max-continuations",
    kind: "int",
    min: 0,
    max: 1000,
    doc: "CONTINUATION frames one HTTP/2 header block may use; default 16",
  },
  {
    name: "h2.fe.max-resets-per-sec",
    kind: "int",
    min: 1,
    doc:
      "HTTP/2 streams a client may cancel before their response, per second (rapid reset); default 100",
  },
  {
    name: "h2.fe.max-empty-frames-per-sec",
    kind: "int",
    min: 1,
    doc: "empty HTTP/2 DATA/HEADERS/CONTINUATION frames per second; default 100",
  },
  {
    name: "h2.fe.max-settings-per-sec",
    kind: "int",
    min: 1,
    doc: "HTTP/2 SETTINGS frames per second; default 50",
  },
  {
    name: "h2.fe.max-pings-per-sec",
    kind: "int",
    min: 1,
    doc: "HTTP/2 PING frames per second; default 50",
  },
  {
    name: "h2.settings-timeout",
    kind: "duration",
    min: 1,
    doc: "time an HTTP/2 client has to acknowledge our SETTINGS; default 10s",
  },
];

/**
 * The resolved limits as `{ h2 }`, or `{}` when the global section (whose
 * keys are `keys`) sets none of them; `num(key, default)` reads a key.
 */
export function h2Tune(
  keys: readonly string[],
  num: (key: string, dflt: number) => number,
): { h2?: H2Tune } {
  if (!keys.some((k) => k.startsWith("h2."))) return {};
  const d = H2_TUNE_DEFAULTS;
  return {
    h2: {
      headerTableSize: num("h2.header-table-size", d.headerTableSize),
      initialWindowSize: num("h2.initial-window-size", d.initialWindowSize),
      maxConcurrentStreams: num("h2.max-concurrent-streams", d.maxConcurrentStreams),
      maxFrameSize: num("h2.max-frame-size", d.maxFrameSize),
      maxHeaderListSize: num("h2.max-header-list-size", d.maxHeaderListSize),
      maxContinuations: num("h2.fe.max-continuations", d.maxContinuations),
      maxResetsPerSec: num("h2.fe.max-resets-per-sec", d.maxResetsPerSec),
      maxEmptyFramesPerSec: num("h2.fe.max-empty-frames-per-sec", d.maxEmptyFramesPerSec),
      maxSettingsPerSec: num("h2.fe.max-settings-per-sec", d.maxSettingsPerSec),
      maxPingsPerSec: num("h2.fe.max-pings-per-sec", d.maxPingsPerSec),
      settingsTimeout: num("h2.settings-timeout", d.settingsTimeout),
    },
  };
}
