// The HTTP/2 mux of one client connection (HAProxy's mux_h2.c, frontend
// side): owns the socket, reads and checks frames (RFC 9113), decodes
// header blocks (HPACK), opens one H2Stream per request and hands it to
// the process, which builds a Stream on it; sends what the streams write as
// frames, with both directions' flow control.
//
// Memory is bounded per connection: one input buffer (a frame at most),
// two output buffers (one being written, one being filled), and per stream
// at most its receive window of request bytes. Frames are read only while
// the output buffer has room for what they may cause (SETTINGS and PING
// acknowledgements, resets): a client that sends without reading stalls on
// its own socket. Every limit of H2Settings ends the connection with GOAWAY
// and a log line naming it (ENHANCE_YOUR_CALM for floods and sizes,
// PROTOCOL_ERROR for violations); a malformed request resets its stream
// only. Nothing here throws out to the accept loop: socket failures end
// the connection.

import { copyBytes } from "../buf/copy.ts";
import {
  checkFrame,
  DEFAULT_WINDOW,
  FF_ACK,
  FF_END_HEADERS,
  FF_END_STREAM,
  FF_PADDED,
  FF_PRIORITY,
  FRAME_HEADER_LEN,
  FrameHeader,
  framePayload,
  frameTypeToString,
  FT_CONTINUATION,
  FT_DATA,
  FT_GOAWAY,
  FT_HEADERS,
  FT_PING,
  FT_PRIORITY,
  FT_RST_STREAM,
  FT_SETTINGS,
  FT_WINDOW_UPDATE,
  H2_CANCEL,
  H2_COMPRESSION_ERROR,
  H2_ENHANCE_YOUR_CALM,
  H2_FLOW_CONTROL_ERROR,
  H2_FRAME_SIZE_ERROR,
  H2_INTERNAL_ERROR,
  H2_NO_ERROR,
  H2_PROTOCOL_ERROR,
  H2_REFUSED_STREAM,
  H2_SETTINGS_TIMEOUT,
  H2_STREAM_CLOSED,
  h2ErrorToString,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  PREFACE,
  readFrameHeader,
  readU31,
  readU32,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  streamError,
  writeFrameHeader,
  writeGoaway,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "../h2/frame.ts";
import { HeaderList, HPACK_OK, HPACK_TOO_LARGE, HpackDecoder, HpackEncoder } from "../h2/hpack.ts";
import type { Conn } from "../listener/protocol.ts";
import { TICK_ETERNITY, tickAdd, tickFirst, tickIsExpired } from "../task/ticks.ts";
import { type Task, TASK_WOKEN_IO } from "../task/types.ts";
import { RequestHead, toRequestHead, trailerLines } from "./h2_request.ts";
import { type H2Sender, type H2Stream, H2StreamPool } from "./h2_stream.ts";
import { H2StreamTable } from "./h2_stream_table.ts";
import { HeaderBlock } from "./h2_header_block.ts";
import { PeerSettings, readPeerSettings } from "./h2_peer_settings.ts";
import { H2Out } from "./h2_out.ts";
import { H2Rates, RATE_EMPTY, RATE_PING, RATE_RESET, RATE_SETTINGS } from "./h2_rates.ts";
import { ResetIds } from "./h2_reset_ids.ts";
import { growInput, releaseInput, shrinkInput } from "./h2_in_buffer.ts";
import type { H2Owner, H2Settings } from "./types.ts";

// Connection states.
/** Waiting for the client's preface. */
const H2C_PREFACE = 0;
/** Waiting for the client's first SETTINGS. */
const H2C_SETTINGS = 1;
/** Streams may open. */
const H2C_OPEN = 2;
/** GOAWAY sent: no new stream; the connection closes when the last one ends. */
const H2C_CLOSING = 3;
/** The socket is closed. */
const H2C_CLOSED = 4;

/** Output space always kept for control frames (acknowledgements, resets, GOAWAY). */
const CONTROL_RESERVE = 1024;
/** ms a connection that got GOAWAY (an error, or idle) may take to read it before it is closed. */
const CLOSE_GRACE = 2000;
/** Smallest DATA frame worth sending when the output buffer is nearly full. */
const MIN_DATA = 512;
/** Why trailerLines() refused a trailer section (one holder: parsing never overlaps). */
const WHY = { text: "" };

export class H2Conn implements H2Sender {
  readonly settings: H2Settings;
  state: number;
  #conn: Conn;
  #owner: H2Owner;
  #task: Task;
  // Input.
  #in: Uint8Array;
  #inLen: number;
  #fh: FrameHeader;
  #span: Int32Array;
  #readPaused: boolean;
  #resumeRead: (() => void) | null;
  /** Output buffers and the write loop. */
  #o: H2Out;
  // Peer settings.
  #peerMaxFrame: number;
  #peerInitialWindow: number;
  /** Windows of the connection: what we may send, what the client may send. */
  #sendWindow: number;
  #recvWindow: number;
  /** Payload read by streams (or dropped) and not yet given back on the connection. */
  #credit: number;
  // Streams, and the closed ones kept for the next.
  #streams: H2StreamTable;
  #spare: H2StreamPool;
  /** Streams waiting for room or window, in order. */
  #blocked: H2Stream[];
  /** Highest stream id the client opened; the ids this side reset last (§5.1). */
  #lastId: number;
  #resetIds: ResetIds;
  /** Streams not yet closed by their Stream (the concurrency limit counts them). */
  #open: number;
  // Header block being received.
  #hb: HeaderBlock;
  #peerSettings: PeerSettings;
  #decoder: HpackDecoder;
  #encoder: HpackEncoder;
  #list: HeaderList;
  #reqHead: RequestHead;
  // Timers (ticks).
  #settingsAckExp: number;
  #idleExp: number;
  /** After GOAWAY: when the socket closes even if the client does not read it. */
  #closeExp: number;
  // Per-second counters (the limits of floods).
  #rates: H2Rates;
  /** Why the connection ended (the log line), "" while it runs. */
  reason: string;
  /** A connection error was sent: no more frame is read. */
  #errored: boolean;

  constructor(conn: Conn, owner: H2Owner, settings: H2Settings) {
    this.settings = settings;
    this.state = H2C_PREFACE;
    this.#conn = conn;
    this.#owner = owner;
    this.#task = owner.sched.newTask(this);
    // An idle connection reads into a small buffer; a frame that does not
    // fit moves the input to a full-size one, given back when the connection
    // is idle again (h2_in_buffer.ts).
    this.#in = owner.pools.small.alloc() ?? new Uint8Array(1024);
    this.#inLen = 0;
    this.#fh = new FrameHeader();
    this.#span = new Int32Array(2);
    this.#readPaused = false;
    this.#resumeRead = null;
    this.#o = new H2Out(
      conn,
      owner.pools.out,
      () => owner.sched.wake(this.#task, TASK_WOKEN_IO),
      () => this.#drained(),
      () => {
        this.#peerGone("client connection failed while writing");
      },
    );
    this.#peerMaxFrame = MIN_MAX_FRAME_SIZE;
    this.#peerInitialWindow = DEFAULT_WINDOW;
    this.#sendWindow = DEFAULT_WINDOW;
    this.#recvWindow = DEFAULT_WINDOW;
    this.#credit = 0;
    this.#streams = new H2StreamTable();
    this.#spare = new H2StreamPool(this, owner.pools.big);
    this.#blocked = [];
    this.#lastId = 0;
    this.#resetIds = new ResetIds();
    this.#open = 0;
    this.#hb = new HeaderBlock();
    this.#peerSettings = new PeerSettings();
    this.#decoder = new HpackDecoder(settings.headerTableSize, settings.maxHeaderListSize);
    this.#encoder = new HpackEncoder();
    this.#list = new HeaderList();
    this.#reqHead = new RequestHead();
    this.#settingsAckExp = TICK_ETERNITY;
    this.#idleExp = TICK_ETERNITY;
    this.#closeExp = TICK_ETERNITY;
    this.#rates = new H2Rates(settings);
    this.reason = "";
    this.#errored = false;
  }

  /** The scheduler's clock, refreshed (I/O completions run outside its drains). */
  #now(): number {
    const s = this.#owner.sched;
    return s.now = s.clock.now();
  }

  /** Room in the output buffer again: paused reads, blocked streams and a closing connection go on. */
  #drained(): void {
    if (this.state === H2C_CLOSED) return;
    if (this.#readPaused) {
      this.#readPaused = false;
      const r = this.#resumeRead;
      this.#resumeRead = null;
      if (r !== null) r();
      this.#parseNow();
    }
    this.#wakeBlocked();
    if (this.#open === 0 && this.#o.len === 0 && !this.#o.writing) {
      if (this.state === H2C_CLOSING) this.#close();
      else this.#o.release(); // idle: no output buffer kept
    }
  }

  /** Sends our SETTINGS and starts reading. */
  start(): void {
    const s = this.settings;
    const now = this.#now();
    const pairs = [
      SETTINGS_HEADER_TABLE_SIZE,
      s.headerTableSize,
      SETTINGS_ENABLE_PUSH,
      0,
      SETTINGS_MAX_FRAME_SIZE,
      s.maxFrameSize,
      SETTINGS_MAX_HEADER_LIST_SIZE,
      s.maxHeaderListSize,
      SETTINGS_INITIAL_WINDOW_SIZE,
      s.initialWindowSize,
    ];
    if (s.maxConcurrentStreams > 0) {
      pairs.push(SETTINGS_MAX_CONCURRENT_STREAMS, s.maxConcurrentStreams);
    }
    const out = this.#o.room(FRAME_HEADER_LEN + pairs.length * 3)!;
    this.#o.len = writeSettings(out, this.#o.len, pairs);
    this.#settingsAckExp = tickAdd(now, s.settingsTimeout);
    this.#idleExp = tickAdd(now, s.idleTimeout);
    this.#arm();
    this.#o.kick();
    void this.#readLoop();
  }

  /** Number of streams not yet closed (tests, stats). */
  get openStreams(): number {
    return this.#open;
  }

  // ---- timers (the task) ----

  #arm(): void {
    const t = this.#task;
    t.expire = this.state >= H2C_CLOSING
      ? this.#closeExp
      : tickFirst(this.#settingsAckExp, this.#open === 0 ? this.#idleExp : TICK_ETERNITY);
    if (t.expire !== TICK_ETERNITY) this.#owner.sched.queue(t);
  }

  process(_t: Task): void {
    if (this.state === H2C_CLOSED) return;
    this.#o.flush();
    const now = this.#owner.sched.now;
    if (this.state === H2C_CLOSING) {
      // GOAWAY sent: only the grace for a client that does not read it is left.
      if (tickIsExpired(this.#closeExp, now)) this.#close();
      else this.#arm();
      return;
    }
    if (tickIsExpired(this.#settingsAckExp, now)) {
      this.#goaway(H2_SETTINGS_TIMEOUT, "no SETTINGS acknowledgement within the settings timeout");
      return;
    }
    if (this.#open === 0 && tickIsExpired(this.#idleExp, now)) {
      this.#goaway(H2_NO_ERROR, "");
      return;
    }
    this.#arm();
  }

  /** process() threw (a bug): this connection ends alone (the scheduler already killed its task). */
  crash(_e: unknown): void {
    try {
      this.#goaway(H2_INTERNAL_ERROR, "internal error");
    } finally {
      this.#close();
    }
  }

  /** A soft stop began: GOAWAY now, existing streams finish, then the connection closes. */
  softStop(): void {
    if (this.state >= H2C_CLOSING) return;
    this.#goaway(H2_NO_ERROR, "");
  }

  // ---- input ----

  async #readLoop(): Promise<void> {
    try {
      await this.#reads();
    } finally {
      // The buffer goes back only once no read is in flight into it.
      releaseInput(this.#owner.pools, this.#in);
      this.#in = new Uint8Array(0);
    }
  }

  async #reads(): Promise<void> {
    while (this.state !== H2C_CLOSED) {
      if (this.#readPaused) {
        await new Promise<void>((r) => this.#resumeRead = r);
        continue;
      }
      const pools = this.#owner.pools;
      if (this.#inLen === this.#in.length) {
        this.#in = growInput(
          pools,
          this.#in,
          this.#inLen,
          FRAME_HEADER_LEN + this.settings.maxFrameSize,
        );
      } else if (this.#inLen === 0 && this.#open === 0 && this.#in.length > 1024) {
        this.#in = shrinkInput(pools, this.#in);
      }
      let n: number;
      try {
        n = await this.#conn.read(this.#in.subarray(this.#inLen));
      } catch {
        n = -1;
      }
      if (this.state === H2C_CLOSED) break;
      if (n <= 0) {
        this.#peerGone(n === 0 ? "client closed the connection" : "client connection failed");
        return;
      }
      this.#inLen += n;
      try {
        this.#parseNow();
      } catch (e) {
        // A bug met by this connection's input ends this connection alone.
        this.#goaway(H2_INTERNAL_ERROR, `internal error: ${e instanceof Error ? e.message : e}`);
      }
      this.#o.kick();
    }
  }

  /** #parse() with the scheduler's clock read once for all the frames. */
  #parseNow(): void {
    this.#now();
    this.#parse();
  }

  /** Reads every complete frame in the input buffer. */
  #parse(): void {
    const b = this.#in;
    let pos = 0;
    if (this.state === H2C_PREFACE) {
      const n = Math.min(this.#inLen, PREFACE.length);
      for (let i = 0; i < n; i++) {
        if (b[i] !== PREFACE[i]) {
          this.#goaway(H2_PROTOCOL_ERROR, "invalid connection preface");
          return;
        }
      }
      if (this.#inLen < PREFACE.length) return;
      pos = PREFACE.length;
      this.state = H2C_SETTINGS;
    }
    const fh = this.#fh;
    while (this.#inLen - pos >= FRAME_HEADER_LEN && !this.#errored) {
      // Room for what the frame may cause, else wait for the client to read.
      if (this.#o.free() < CONTROL_RESERVE) {
        this.#readPaused = true;
        break;
      }
      readFrameHeader(b, pos, fh);
      if (fh.length > this.settings.maxFrameSize) {
        this.#goaway(
          H2_FRAME_SIZE_ERROR,
          `frame of ${fh.length} bytes over tune.h2.max-frame-size`,
        );
        return;
      }
      if (this.#inLen - pos < FRAME_HEADER_LEN + fh.length) break;
      this.#frame(b, pos + FRAME_HEADER_LEN);
      pos += FRAME_HEADER_LEN + fh.length;
    }
    if (this.#errored) {
      this.#inLen = 0;
      return;
    }
    if (pos > 0) {
      b.copyWithin(0, pos, this.#inLen);
      this.#inLen -= pos;
    }
  }

  /** Counts an event against a per-second limit; true when the limit is exceeded. */
  #rate(kind: number): boolean {
    return this.#rates.exceeded(kind, this.#now());
  }

  /** Handles one complete frame whose payload starts at `at`. */
  #frame(b: Uint8Array, at: number): void {
    const fh = this.#fh;
    const hb = this.#hb.stream;
    if (hb !== 0 && (fh.type !== FT_CONTINUATION || fh.streamId !== hb)) {
      this.#goaway(H2_PROTOCOL_ERROR, `${frameTypeToString(fh.type)} inside a header block`);
      return;
    }
    if (this.state === H2C_SETTINGS && (fh.type !== FT_SETTINGS || (fh.flags & FF_ACK))) {
      this.#goaway(H2_PROTOCOL_ERROR, "first frame is not SETTINGS");
      return;
    }
    const bad = checkFrame(fh, this.settings.maxFrameSize);
    if (bad !== 0) {
      if (streamError(fh, bad)) this.#rst(fh.streamId, bad);
      else this.#goaway(bad, `invalid ${frameTypeToString(fh.type)} frame`);
      return;
    }
    switch (fh.type) {
      case FT_DATA:
        return this.#data(b, at);
      case FT_HEADERS:
        return this.#headers(b, at);
      case FT_PRIORITY:
        // Accepted and ignored, but a stream may not depend on itself (§5.3.1).
        if (readU31(b, at) === fh.streamId) this.#rst(fh.streamId, H2_PROTOCOL_ERROR);
        return;
      case FT_RST_STREAM:
        return this.#rstStream(b, at);
      case FT_SETTINGS:
        return this.#settingsFrame(b, at);
      case FT_PING:
        if (fh.flags & FF_ACK) return;
        if (this.#rate(RATE_PING)) {
          this.#goaway(H2_ENHANCE_YOUR_CALM, "PING flood (tune.h2.fe.max-pings-per-sec)");
          return;
        }
        this.#o.len = writePing(this.#o.room(17)!, this.#o.len, true, b, at);
        return;
      case FT_GOAWAY:
        // The client stops: no new stream; the ones open finish.
        if (this.state === H2C_OPEN) this.state = H2C_CLOSING;
        this.#maybeClose();
        return;
      case FT_WINDOW_UPDATE:
        return this.#windowUpdate(b, at);
      case FT_CONTINUATION:
        return this.#continuation(b, at);
      default:
        return; // unknown frame types are ignored (§5.5)
    }
  }

  #settingsFrame(b: Uint8Array, at: number): void {
    const fh = this.#fh;
    if (fh.flags & FF_ACK) {
      this.#settingsAckExp = TICK_ETERNITY;
      this.#arm();
      return;
    }
    if (this.state === H2C_SETTINGS) this.state = H2C_OPEN;
    else if (this.#rate(RATE_SETTINGS)) {
      this.#goaway(H2_ENHANCE_YOUR_CALM, "SETTINGS flood (tune.h2.fe.max-settings-per-sec)");
      return;
    }
    const ps = this.#peerSettings;
    if (!readPeerSettings(b, at, fh.length, ps)) return this.#goaway(ps.error, ps.why);
    if (ps.headerTableSize >= 0) this.#encoder.setPeerTableSize(ps.headerTableSize);
    if (ps.maxFrameSize >= 0) this.#peerMaxFrame = ps.maxFrameSize;
    if (ps.initialWindowSize >= 0) {
      // Every stream's send window moves by the change (§6.9.2).
      const delta = ps.initialWindowSize - this.#peerInitialWindow;
      this.#peerInitialWindow = ps.initialWindowSize;
      for (const s of this.#streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW) {
          return this.#goaway(H2_FLOW_CONTROL_ERROR, "stream window above 2^31-1");
        }
      }
      if (delta > 0) this.#wakeBlocked();
    }
    this.#o.len = writeSettingsAck(this.#o.room(9)!, this.#o.len);
  }

  #windowUpdate(b: Uint8Array, at: number): void {
    const sid = this.#fh.streamId;
    const inc = readU31(b, at);
    if (sid === 0) {
      if (inc === 0) return this.#goaway(H2_PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection");
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) {
        return this.#goaway(H2_FLOW_CONTROL_ERROR, "connection window above 2^31-1");
      }
      this.#wakeBlocked();
      return;
    }
    if (sid > this.#lastId) {
      return this.#goaway(H2_PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
    }
    const s = this.#streams.get(sid);
    if (inc === 0) {
      this.#rst(sid, H2_PROTOCOL_ERROR);
      s?.abort("WINDOW_UPDATE of 0");
      return;
    }
    if (s === undefined) return; // closed: ignored (§6.9)
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      this.resetStream(s, H2_FLOW_CONTROL_ERROR, "stream window above 2^31-1");
      return;
    }
    this.#wakeBlocked();
  }

  #rstStream(b: Uint8Array, at: number): void {
    const sid = this.#fh.streamId;
    if (sid > this.#lastId) return this.#goaway(H2_PROTOCOL_ERROR, "RST_STREAM on an idle stream");
    const s = this.#streams.get(sid);
    if (s === undefined) return;
    // A stream cancelled before its response began is the rapid-reset pattern
    // (CVE-2023-44487): it costs us a Stream and maybe a server request.
    if (!s.resStarted && this.#rate(RATE_RESET)) {
      this.#goaway(
        H2_ENHANCE_YOUR_CALM,
        "too many streams reset by the client (rapid reset, tune.h2.fe.max-resets-per-sec)",
      );
      return;
    }
    this.#forget(s);
    s.abort(`stream reset by the client (${h2ErrorToString(readU32(b, at))})`);
  }

  #data(b: Uint8Array, at: number): void {
    const fh = this.#fh;
    const sid = fh.streamId;
    if (sid > this.#lastId) return this.#goaway(H2_PROTOCOL_ERROR, "DATA on an idle stream");
    // The whole frame counts against the connection window, padding included.
    if (fh.length > this.#recvWindow) {
      return this.#goaway(H2_FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    }
    this.#recvWindow -= fh.length;
    // Padding longer than the frame is a connection error whatever the
    // stream's state (§6.1): checked before the stream is looked at.
    const span = this.#span;
    if (!framePayload(b, at, fh, span)) {
      return this.#goaway(H2_PROTOCOL_ERROR, "DATA padding longer than the frame");
    }
    const s = this.#streams.get(sid);
    if (s === undefined || s.reqDone || s.reset) {
      this.#giveBack(fh.length);
      // A stream error: a half-closed stream ends with it (§5.1).
      if (s === undefined || s.reset || this.#resetIds.has(sid)) {
        this.#closedStreamFrame(sid, true, s !== undefined);
      } else this.resetStream(s, H2_STREAM_CLOSED, "DATA after END_STREAM");
      return;
    }
    if (fh.length > s.recvWindow) {
      this.#giveBack(fh.length);
      this.resetStream(s, H2_FLOW_CONTROL_ERROR, "DATA beyond the stream window");
      return;
    }
    s.recvWindow -= fh.length;
    const start = span[0]!, end = span[1]!;
    const len = end - start;
    // Padding is given back at once: it never reaches the stream.
    if (fh.length - len > 0) this.#giveBack(fh.length - len, s);
    const endStream = (fh.flags & FF_END_STREAM) !== 0;
    if (len === 0 && !endStream && this.#rate(RATE_EMPTY)) {
      return this.#goaway(
        H2_ENHANCE_YOUR_CALM,
        "empty DATA frames flood (tune.h2.fe.max-empty-frames-per-sec)",
      );
    }
    s.reqReceived += len;
    if (s.reqLength >= 0 && s.reqReceived > s.reqLength) {
      this.#malformed(s, "more DATA than content-length");
      return;
    }
    if (len > 0) {
      let ok: boolean;
      if (s.chunked) {
        ok = s.pushString(`${len.toString(16)}\r\n`) && s.pushData(b, start, end) &&
          s.pushString("\r\n");
      } else ok = s.pushData(b, start, end);
      if (!ok) return this.resetStream(s, H2_INTERNAL_ERROR, "no buffer for the request body");
    }
    if (endStream) this.#endRequest(s, null);
  }

  /** END_STREAM from the client: check the length, end the chunked body (with trailers). */
  #endRequest(s: H2Stream, trailers: string | null): void {
    if (s.reqLength >= 0 && s.reqReceived !== s.reqLength) {
      this.#malformed(s, "DATA shorter than content-length");
      return;
    }
    if (s.chunked && !s.pushString(`0\r\n${trailers ?? ""}\r\n`)) {
      return this.resetStream(s, H2_INTERNAL_ERROR, "no buffer for the request body");
    }
    s.requestEnded();
    // Nothing more will come: the stream's window is not given back any more.
  }

  #headers(b: Uint8Array, at: number): void {
    const fh = this.#fh;
    const sid = fh.streamId;
    if ((sid & 1) === 0) return this.#goaway(H2_PROTOCOL_ERROR, "even stream id from the client");
    const span = this.#span;
    if (!framePayload(b, at, fh, span)) {
      return this.#goaway(H2_PROTOCOL_ERROR, "HEADERS padding longer than the frame");
    }
    if ((fh.flags & FF_PRIORITY) && readU31(b, at + ((fh.flags & FF_PADDED) ? 1 : 0)) === sid) {
      this.#rst(sid, H2_PROTOCOL_ERROR);
      return;
    }
    const len = span[1]! - span[0]!;
    if (len === 0 && !(fh.flags & FF_END_STREAM) && this.#rate(RATE_EMPTY)) {
      return this.#goaway(
        H2_ENHANCE_YOUR_CALM,
        "empty HEADERS frames flood (tune.h2.fe.max-empty-frames-per-sec)",
      );
    }
    this.#hb.start(sid, fh.flags);
    if (!this.#hbAppend(b, span[0]!, span[1]!)) return;
    if (fh.flags & FF_END_HEADERS) this.#headerBlock();
  }

  #continuation(b: Uint8Array, at: number): void {
    const fh = this.#fh;
    if (this.#hb.stream === 0) {
      return this.#goaway(H2_PROTOCOL_ERROR, "CONTINUATION without HEADERS");
    }
    if (++this.#hb.frames > this.settings.maxContinuations) {
      return this.#goaway(
        H2_ENHANCE_YOUR_CALM,
        `more than ${this.settings.maxContinuations} CONTINUATION frames (tune.h2.fe.max-continuations)`,
      );
    }
    if (fh.length === 0 && !(fh.flags & FF_END_HEADERS) && this.#rate(RATE_EMPTY)) {
      return this.#goaway(H2_ENHANCE_YOUR_CALM, "empty CONTINUATION frames flood");
    }
    if (!this.#hbAppend(b, at, at + fh.length)) return;
    if (fh.flags & FF_END_HEADERS) this.#headerBlock();
  }

  /** Adds a fragment to the header block, within its size limit. */
  #hbAppend(b: Uint8Array, start: number, end: number): boolean {
    const cap = this.settings.maxHeaderListSize + this.settings.maxFrameSize;
    if (this.#hb.append(b, start, end, cap)) return true;
    this.#goaway(
      H2_ENHANCE_YOUR_CALM,
      "header block larger than tune.h2.max-header-list-size allows",
    );
    return false;
  }

  /** A complete header block: decode it (always: HPACK state), then open, refuse or end a stream. */
  #headerBlock(): void {
    const hb = this.#hb, sid = hb.stream, flags = hb.flags;
    const list = this.#list;
    const r = this.#decoder.decode(hb.buf, 0, hb.len, list);
    hb.done();
    if (r === HPACK_TOO_LARGE) {
      return this.#goaway(
        H2_ENHANCE_YOUR_CALM,
        `header list larger than tune.h2.max-header-list-size (${this.settings.maxHeaderListSize})`,
      );
    }
    if (r !== HPACK_OK) {
      return this.#goaway(H2_COMPRESSION_ERROR, `HPACK: ${this.#decoder.error}`);
    }
    const endStream = (flags & FF_END_STREAM) !== 0;
    if (sid <= this.#lastId) {
      // Trailers of an open request, or a frame for a closed stream.
      const s = this.#streams.get(sid);
      if (s === undefined || s.reset || this.#resetIds.has(sid)) {
        return this.#closedStreamFrame(sid, false, s !== undefined);
      }
      if (s.reqDone) return this.resetStream(s, H2_STREAM_CLOSED, "HEADERS after END_STREAM");
      if (!endStream) return this.#malformed(s, "trailers without END_STREAM");
      const t = trailerLines(list, WHY);
      if (t === null) return this.#malformed(s, WHY.text);
      this.#endRequest(s, s.chunked ? t : null);
      return;
    }
    this.#lastId = sid;
    if (this.state !== H2C_OPEN) return; // after GOAWAY: ignored (§6.8)
    const max = this.settings.maxConcurrentStreams;
    if (max > 0 && this.#open >= max) {
      this.#rst(sid, H2_REFUSED_STREAM);
      this.#owner.log(
        `h2: stream ${sid} refused: ${max} streams open (tune.h2.max-concurrent-streams)`,
      );
      return;
    }
    const req = toRequestHead(list, endStream, this.#reqHead);
    if (req.error !== "") {
      this.#rst(sid, H2_PROTOCOL_ERROR);
      this.#owner.log(
        `h2: stream ${sid} malformed request, reset (PROTOCOL_ERROR): ${req.error} "${req.method} ${req.path} HTTP/2.0"`,
      );
      return;
    }
    const s = this.#spare.open(
      sid,
      this.#peerInitialWindow,
      this.settings.initialWindowSize,
      this.#owner.sched.now, // read once per parse (#parseNow)
    );
    s.reqLength = req.contentLength;
    s.chunked = req.chunked;
    s.isHead = req.isHead;
    s.isConnect = req.isConnect;
    // The Stream reads its head while it is made: lent, not copied.
    s.lendHead(req.bytes, req.len);
    if (endStream) s.requestEnded();
    this.#streams.set(sid, s);
    this.#open++;
    if (!this.#owner.openStream(s, req)) {
      this.#forget(s);
      s.abort("refused");
      this.#rst(sid, H2_REFUSED_STREAM);
      return;
    }
    if (!s.keepHead()) {
      this.resetStream(s, H2_REFUSED_STREAM, "no buffer for the request head");
      return;
    }
    this.#arm();
  }

  /** A malformed request (a stream error): reset, logged, never forwarded further. */
  #malformed(s: H2Stream, why: string): void {
    this.#owner.log(`h2: stream ${s.id} malformed request, reset (PROTOCOL_ERROR): ${why}`);
    this.resetStream(s, H2_PROTOCOL_ERROR, why);
  }

  // ---- H2Sender ----

  sendHeaders(
    s: H2Stream,
    names: readonly string[],
    values: readonly string[],
    count: number,
    endStream: boolean,
  ): boolean {
    if (this.state === H2C_CLOSED || s.reset) return true;
    // Room for the block first: HPACK's table changes, so the block is sent
    // whatever happens once encoded.
    let need = 64;
    for (let i = 0; i < count; i++) need += names[i]!.length + values[i]!.length + 8;
    const frames = Math.ceil(need / this.#peerMaxFrame) + 1;
    if (this.#o.free() < need + frames * FRAME_HEADER_LEN + CONTROL_RESERVE) {
      if (this.#o.cap() < need + frames * FRAME_HEADER_LEN + CONTROL_RESERVE) {
        this.resetStream(s, H2_INTERNAL_ERROR, "response head too large");
        return true;
      }
      this.#block(s);
      return false;
    }
    this.#o.room(need + frames * FRAME_HEADER_LEN);
    const enc = this.#encoder;
    if (!this.#o.headers(enc, names, values, count, s.id, endStream, this.#peerMaxFrame)) {
      this.#goaway(H2_INTERNAL_ERROR, "response header block larger than its room");
      return true;
    }
    this.#o.kick();
    return true;
  }

  sendData(s: H2Stream, src: Uint8Array, start: number, len: number, last: boolean): number {
    if (this.state === H2C_CLOSED || s.reset) return len;
    let n = Math.min(len, s.sendWindow, this.#sendWindow, this.#peerMaxFrame);
    const room = this.#o.free() - CONTROL_RESERVE - FRAME_HEADER_LEN;
    if (n > room) n = room >= Math.min(MIN_DATA, len) ? room : 0;
    if (n < 0) n = 0;
    const fin = last && n === len;
    if ((n === 0 && len > 0) || room < 0) {
      this.#block(s);
      return 0;
    }
    const out = this.#o.room(FRAME_HEADER_LEN + n)!;
    let at = writeFrameHeader(out, this.#o.len, n, FT_DATA, fin ? FF_END_STREAM : 0, s.id);
    copyBytes(out, at, src, start, start + n);
    at += n;
    this.#o.len = at;
    s.sendWindow -= n;
    this.#sendWindow -= n;
    this.#o.kick();
    if (fin) s.markDone();
    return n;
  }

  consumed(s: H2Stream, n: number): void {
    this.#giveBack(n, s.reqDone || s.reset ? null : s);
  }

  responseDone(s: H2Stream): void {
    // The response is complete: a request still being uploaded is not wanted
    // any more (§8.1: RST_STREAM NO_ERROR). A tunnel's client goes on sending.
    if (!s.reqDone && !s.tunnel) {
      this.#rst(s.id, H2_NO_ERROR);
      s.requestEnded();
    }
  }

  resetStream(s: H2Stream, code: number, why: string): void {
    if (!s.reset && this.state !== H2C_CLOSED) this.#rst(s.id, code);
    this.#forget(s);
    s.abort(why);
  }

  streamClosed(s: H2Stream, complete: boolean): void {
    if (!complete && !s.reset && this.state !== H2C_CLOSED) this.#rst(s.id, H2_CANCEL);
    this.#forget(s);
    if (!s.reset) s.abort("closed");
    this.#spare.give(s);
    this.#maybeClose();
  }

  // ---- windows ----

  /** Gives `n` bytes of window back to the connection (and to `s`), in batches. */
  #giveBack(n: number, s: H2Stream | null = null): void {
    if (this.state === H2C_CLOSED) return;
    this.#credit += n;
    const half = DEFAULT_WINDOW >>> 1;
    if (this.#credit >= half) {
      const out = this.#o.room(13);
      if (out !== null) {
        this.#o.len = writeWindowUpdate(out, this.#o.len, 0, this.#credit);
        this.#recvWindow += this.#credit;
        this.#credit = 0;
      }
    }
    if (s !== null) {
      s.credit += n;
      const out = s.credit >= (this.settings.initialWindowSize >>> 1) ? this.#o.room(13) : null;
      if (out !== null) {
        this.#o.len = writeWindowUpdate(out, this.#o.len, s.id, s.credit);
        s.recvWindow += s.credit;
        s.credit = 0;
      }
    }
    this.#o.kick();
  }

  #block(s: H2Stream): void {
    if (s.blocked) return;
    s.blocked = true;
    this.#blocked.push(s);
  }

  /** Room or window came back: the waiting streams go on, in order. */
  #wakeBlocked(): void {
    const list = this.#blocked;
    if (list.length === 0) return;
    this.#blocked = [];
    for (const s of list) {
      s.blocked = false;
      if (!s.reset && !s.closed) s.retryWrite();
    }
  }

  // ---- ending ----

  #rst(sid: number, code: number): void {
    this.#resetIds.add(sid);
    const out = this.#o.room(13);
    if (out === null) return;
    this.#o.len = writeRstStream(out, this.#o.len, sid, code);
    this.#o.kick();
  }

  /**
   * DATA or HEADERS on a stream no longer open (`reset`: one still in the
   * table, which this side or the client reset). Ignored when this side
   * reset it or sent GOAWAY (the client may have sent it first, §5.1, §6.8),
   * and counted as an empty frame; a closed stream reused is a connection
   * error.
   */
  #closedStreamFrame(sid: number, data: boolean, reset: boolean): void {
    if (reset || this.state !== H2C_OPEN || this.#resetIds.has(sid)) {
      if (!this.#rate(RATE_EMPTY)) return;
      this.#goaway(
        H2_ENHANCE_YOUR_CALM,
        "frames on reset streams flood (tune.h2.fe.max-empty-frames-per-sec)",
      );
    } else if (data) this.#goaway(H2_STREAM_CLOSED, "DATA on a closed stream (§5.1)");
    else this.#goaway(H2_PROTOCOL_ERROR, "HEADERS on a closed stream or a lower id (§5.1.1)");
  }

  /** Forgets a stream (no more frames to it); the concurrency count drops. */
  #forget(s: H2Stream): void {
    if (this.#streams.get(s.id) === s) {
      this.#streams.delete(s.id);
      this.#open--;
      if (this.#open === 0) {
        this.#idleExp = tickAdd(this.#now(), this.settings.idleTimeout);
        if (this.state === H2C_CLOSING && this.#closeExp === TICK_ETERNITY) {
          this.#closeExp = tickAdd(this.#now(), CLOSE_GRACE);
        }
        this.#arm();
        // Idle: no output buffer is kept (an idle connection holds its small read buffer only).
        if (!this.#o.writing && this.#o.len === 0) this.#o.release();
      }
    }
  }

  /**
   * Sends GOAWAY. An error (code ≠ NO_ERROR) ends every stream now and is
   * logged with `why`; NO_ERROR (idle, soft stop, the client's GOAWAY) lets
   * the open streams finish.
   */
  #goaway(code: number, why: string): void {
    if (this.state >= H2C_CLOSING && code === H2_NO_ERROR) return;
    const wasClosing = this.state >= H2C_CLOSING;
    this.state = H2C_CLOSING;
    this.#readPaused = false;
    if (code !== H2_NO_ERROR) this.#errored = true;
    this.#settingsAckExp = TICK_ETERNITY;
    // An error, or nothing left to finish: the socket closes once GOAWAY is
    // out, or after CLOSE_GRACE when the client does not read it.
    if (code !== H2_NO_ERROR || this.#open === 0) {
      this.#closeExp = tickAdd(this.#now(), CLOSE_GRACE);
    }
    this.#arm();
    if (!wasClosing || code !== H2_NO_ERROR) {
      const out = this.#o.room(17);
      if (out !== null) {
        this.#o.len = writeGoaway(out, this.#o.len, this.#lastId, code);
      }
    }
    if (code !== H2_NO_ERROR) {
      this.reason = why;
      this.#owner.log(`h2: GOAWAY ${h2ErrorToString(code)}: ${why}`);
      for (const s of [...this.#streams.values()]) {
        this.#forget(s);
        s.abort(why);
      }
    }
    this.#o.kick();
    this.#maybeClose();
  }

  #maybeClose(): void {
    if (this.state === H2C_CLOSING && this.#open === 0 && !this.#o.writing && this.#o.len === 0) {
      this.#close();
    } else if (this.state === H2C_CLOSING && this.#open === 0) this.#o.kick();
  }

  /** The client closed or broke the connection: every stream ends. */
  #peerGone(_why: string): void {
    if (this.state === H2C_CLOSED) return;
    for (const s of [...this.#streams.values()]) {
      this.#forget(s);
      s.abort("client connection closed");
    }
    this.#close();
  }

  #close(): void {
    if (this.state === H2C_CLOSED) return;
    this.state = H2C_CLOSED;
    const r = this.#resumeRead;
    this.#resumeRead = null;
    if (r !== null) r();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#owner.sched.kill(this.#task);
    this.#o.closed = true;
    this.#o.release();
    for (const s of this.#blocked) s.blocked = false;
    this.#blocked = [];
    this.#owner.closed();
  }
}
