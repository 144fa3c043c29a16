// HTTP response compression (HAProxy's flt_http_comp.c and compression.c):
// `compression algo gzip deflate`, `compression type TYPES`, `compression
// offload`.
//
// Owns: choosing an algorithm from the request's Accept-Encoding
// (compressionRequest), deciding from the response head whether to compress
// and rewriting that head (compressionResponse: Content-Encoding, chunked
// framing, weak ETag, Vary), and compressing the body as it streams
// (compressBody): each step takes the body bytes the framer validated, out
// of the input, compresses them with node:zlib, and queues the compressed
// chunk as the channel's prefix; the raw bytes are skipped, never written.
// A step waits while the previous chunk is being written, so at most one
// buffer of compressed data is held per response. It never parses heads
// (h1_parse.ts does) nor decides a message's framing (h1_body.ts does).
//
// Each step is one raw deflate segment ended by a sync flush (so the client
// can decode what it received so far), framed as gzip (RFC 1952) or zlib
// (RFC 1950, the "deflate" coding) by a header sent with the first chunk and
// a trailer (CRC-32 or Adler-32, size) with the last.

import zlib from "node:zlib";
import type { Channel } from "../channel/channel.ts";
import type { CompressionSettings } from "../config/types.ts";
import type { HeadEditor } from "./head_editor.ts";
import type { HttpStream } from "./http_stream.ts";
import { BODY_CHUNKED, BODY_CL, METH_HEAD } from "./types.ts";
import { CompState } from "./comp_state.ts";

/** Bodies announced shorter than this are sent as they are (framing would outweigh the gain). */
export const COMPRESS_MIN_LENGTH = 256;
/** Most body bytes compressed per step: their output must fit one prefix buffer. */
const STEP_MAX = 8192;
/** zlib level (HAProxy's tune.comp.maxlevel default). */
const LEVEL = 1;

/** ChunkedParser state for chunk data (h1_body.ts CS_DATA). */
const CS_DATA = 5;

const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3);
const ZLIB_HEADER = Uint8Array.of(0x78, 0x01);
/** A final empty fixed-Huffman block: ends the deflate stream. */
const DEFLATE_END = Uint8Array.of(3, 0);
const CRLF = Uint8Array.of(13, 10);
const LAST_CHUNK = Uint8Array.of(0x30, 13, 10, 13, 10);

/** True when `token` appears in a comma-separated header value list (case-insensitive). */
function hasToken(values: readonly string[], token: string): boolean {
  for (const v of values) {
    for (const t of v.split(",")) if (t.trim().toLowerCase() === token) return true;
  }
  return false;
}

/**
 * The algorithm to use for a request whose Accept-Encoding values are
 * `accept`: the first coding the client lists, with a non-zero q, that is
 * configured (`*` stands for the first configured one); null when none.
 */
export function chooseAlgo(accept: readonly string[], algos: readonly string[]): string | null {
  for (const v of accept) {
    for (const el of v.split(",")) {
      const parts = el.split(";");
      const coding = (parts[0] ?? "").trim().toLowerCase();
      let q = 1;
      for (const p of parts.slice(1)) {
        const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
        if (m !== null) q = Number(m[1]);
      }
      if (!(q > 0)) continue;
      if (coding === "*" && algos.length > 0) return algos[0] as string;
      if (algos.includes(coding)) return coding;
    }
  }
  return null;
}

/** The settings that apply to a stream: the backend's, else the frontend's. */
function settingsOf(s: HttpStream): CompressionSettings | null {
  return s.be?.cfg.compression ?? s.fe.cfg.compression ?? null;
}

/**
 * Request side (before the request head is committed): picks the algorithm
 * from Accept-Encoding into txn.comp, and with `compression offload` removes
 * Accept-Encoding so that the server sends the body uncompressed.
 */
export function compressionRequest(s: HttpStream, ed: HeadEditor): void {
  const txn = s.txn!;
  txn.comp = null;
  const cfg = settingsOf(s);
  if (cfg === null || cfg.algos.length === 0) return;
  const algo = chooseAlgo(ed.headerValues("accept-encoding"), cfg.algos);
  if (algo === null) return;
  txn.comp = new CompState(algo);
  if (cfg.offload) ed.delHeader("accept-encoding");
}

/**
 * Response side (before the response head is committed): compresses when
 * an algorithm was chosen and, as HAProxy, both messages are HTTP/1.1, the
 * request is not HEAD, the status is 200-203, the body has a known length
 * (Content-Length or chunked; Sluice also skips bodies announced shorter
 * than COMPRESS_MIN_LENGTH), there is no Content-Encoding nor
 * `Cache-Control: no-transform`, at most one valid ETag, and the
 * Content-Type is not multipart and matches `compression type` when set.
 * Then Content-Length goes, chunked framing, Content-Encoding and `Vary:
 * Accept-Encoding` are added and a strong ETag becomes weak.
 */
export function compressionResponse(s: HttpStream, ed: HeadEditor): void {
  const txn = s.txn!;
  const st = txn.comp;
  if (st === null) return;
  const cfg = settingsOf(s);
  const h = txn.res;
  const ok = cfg !== null && h.version === 11 && txn.req.version === 11 &&
    txn.req.method !== METH_HEAD && txn.status >= 200 && txn.status <= 203 &&
    (h.bodyType === BODY_CHUNKED ||
      (h.bodyType === BODY_CL && h.contentLength >= COMPRESS_MIN_LENGTH)) &&
    ed.headerValues("content-encoding").length === 0 &&
    !hasToken(ed.headerValues("cache-control"), "no-transform") &&
    etagOk(ed.headerValues("etag")) && typeOk(ed.headerValues("content-type"), cfg.types);
  if (!ok) {
    txn.comp = null;
    return;
  }
  st.active = true;
  s.fe.counters.compRsp++;
  if (s.be !== null) s.be.counters.compRsp++;
  if (h.bodyType === BODY_CL) {
    ed.delHeader("content-length");
    ed.addHeader("Transfer-Encoding", "chunked");
  }
  ed.addHeader("Content-Encoding", st.algo);
  const etag = ed.headerValues("etag")[0];
  if (etag !== undefined && etag.startsWith('"')) ed.setHeader("ETag", "W/" + etag);
  ed.addHeader("Vary", "Accept-Encoding");
}

/** At most one ETag, strong `"..."` or weak `W/"..."`. */
function etagOk(tags: readonly string[]): boolean {
  if (tags.length === 0) return true;
  if (tags.length > 1) return false;
  return /^(W\/)?"[^"]*"$/.test((tags[0] as string).trim());
}

/** Content-Type not multipart and, when types are configured, starting with one of them. */
function typeOk(ct: readonly string[], types: readonly string[]): boolean {
  const v = ct[0];
  if (v === undefined) return types.length === 0;
  const l = v.trim().toLowerCase();
  if (l.startsWith("multipart")) return false;
  return types.length === 0 || types.some((t) => l.startsWith(t));
}

/** Scratch for the raw bytes of one step. */
const RAW = new Uint8Array(STEP_MAX);

/** Adler-32 of `b` continuing `a` (RFC 1950). */
function adler32(a: number, b: Uint8Array): number {
  let s1 = a & 0xffff;
  let s2 = (a >>> 16) & 0xffff;
  for (let i = 0; i < b.length;) {
    const end = Math.min(b.length, i + 3800);
    for (; i < end; i++) {
      s1 += b[i] as number;
      s2 += s1;
    }
    s1 %= 65521;
    s2 %= 65521;
  }
  return ((s2 << 16) | s1) >>> 0;
}

/**
 * One step of a compressed body: when the previous chunk has left, takes
 * up to STEP_MAX body bytes out of `ch`'s input (validated by txn.resBody),
 * compresses them and queues them as one chunk; once the body is complete,
 * queues the trailer and the last chunk. Returns -1 on a framing error of
 * the server's body, -2 when no buffer is available, else the raw bytes
 * consumed (0 while waiting).
 */
export function compressBody(s: HttpStream, ch: Channel): number {
  const txn = s.txn!;
  const st = txn.comp as CompState;
  const body = txn.resBody;
  if (st.finished || ch.sending()) return 0;
  const pb = ch.allocPrefixBuffer();
  if (pb === null) return -2;
  // What one step compresses must fit the prefix buffer with its framing.
  const max = Math.max(64, Math.min(STEP_MAX, (pb.length >> 1) - 64));
  const buf = ch.buf;
  let raw = 0;
  let consumed = 0;
  while (!body.done && buf !== null && ch.input - consumed > 0 && raw < max) {
    let p = ch.inPos() + consumed;
    if (p >= buf.length) p -= buf.length;
    const seg = Math.min(ch.input - consumed, buf.length - p);
    let n: number;
    if (body.bodyType === BODY_CHUNKED) {
      const c = body.chunked;
      if (c.state === CS_DATA && c.chunkRemaining > 0) {
        n = Math.min(seg, c.chunkRemaining, max - raw);
        RAW.set(buf.subarray(p, p + n), raw);
        raw += n;
        if (body.parse(buf, p, p + n) !== n) {
          s.ctx.pools.big.release(pb);
          return -1;
        }
      } else {
        // Framing bytes: one at a time, so that data never slips past.
        n = body.parse(buf, p, p + 1);
        if (n < 0) {
          s.ctx.pools.big.release(pb);
          return -1;
        }
        if (n === 0) break;
      }
    } else {
      n = Math.min(seg, max - raw);
      const k = body.parse(buf, p, p + n);
      if (k < 0) {
        s.ctx.pools.big.release(pb);
        return -1;
      }
      if (k === 0) break;
      n = k;
      RAW.set(buf.subarray(p, p + n), raw);
      raw += n;
    }
    consumed += n;
  }
  if (raw === 0 && !body.done) {
    // Only framing bytes: drop them and wait for data.
    s.ctx.pools.big.release(pb);
    if (consumed > 0) ch.skipInput(consumed);
    return consumed;
  }
  const parts: Uint8Array[] = [];
  if (!st.started) {
    parts.push(st.algo === "gzip" ? GZIP_HEADER : ZLIB_HEADER);
    st.started = true;
  }
  if (raw > 0) {
    const data = RAW.subarray(0, raw);
    parts.push(
      zlib.deflateRawSync(data, { level: LEVEL, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    );
    st.check = st.algo === "gzip" ? zlib.crc32(data, st.check) : adler32(st.check, data);
    st.size += raw;
  }
  if (body.done) {
    parts.push(DEFLATE_END);
    const t = new Uint8Array(st.algo === "gzip" ? 8 : 4);
    const dv = new DataView(t.buffer);
    if (st.algo === "gzip") {
      dv.setUint32(0, st.check >>> 0, true);
      dv.setUint32(4, st.size >>> 0, true);
    } else dv.setUint32(0, st.check >>> 0, false);
    parts.push(t);
  }
  let len = 0;
  for (const p of parts) len += p.length;
  const head = new TextEncoder().encode(len.toString(16));
  let o = 0;
  const put = (b: Uint8Array) => {
    pb.set(b, o);
    o += b.length;
  };
  if (len > 0) {
    put(head);
    put(CRLF);
    for (const p of parts) put(p);
    put(CRLF);
  }
  if (body.done) {
    put(LAST_CHUNK);
    st.finished = true;
  }
  st.outBytes += len;
  s.fe.counters.compIn += raw;
  s.fe.counters.compOut += len;
  if (s.be !== null) {
    s.be.counters.compIn += raw;
    s.be.counters.compOut += len;
  }
  if (!ch.setPrefix(pb, o)) {
    s.ctx.pools.big.release(pb);
    return 0;
  }
  if (consumed > 0) ch.skipInput(consumed);
  return consumed;
}

// Note about invariants: a CompState is active only after its response head
// was rewritten; input bytes are skipped only once their compressed form is
// queued; `finished` is set with the prefix that carries the last chunk.
