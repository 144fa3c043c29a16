// CONNECT over HTTP/2 (RFC 9113 §8.5): what a tunnel on one stream changes,
// and the little code it needs apart from the stream's own state machine.
//
// A CONNECT stream reads as the HTTP/1.1 request `CONNECT host:port` with no
// body framing (mux/h2_request.ts), so the analysers, rules, logs and the
// server see an HTTP/1.1 CONNECT. Its DATA frames are the tunnel's bytes:
// the Stream reads them as an HTTP/1.1 client's bytes after its CONNECT
// head, i.e. held (unread, so the stream's window is not given back) until
// a 2xx opens the tunnel, then forwarded; after a refusal they are never
// forwarded (HAProxy 2.6 holds them the same way).
//
// The answer: a 2xx becomes HEADERS without END_STREAM and without
// content-length or transfer-encoding (RFC 9110 §9.3.6), then every byte
// the server sends becomes DATA (H2Stream's R_TUNNEL state, under the
// client's windows); the server's FIN (the Stream's write shutdown) becomes
// an empty DATA with END_STREAM; the client's END_STREAM becomes the
// Stream's end of stream, a FIN towards the server. Neither half-close ends
// the other direction (no RST_STREAM NO_ERROR after END_STREAM, as a
// response that ends before its upload gets). A server whose connection
// failed (a reset) ends the stream with RST_STREAM CONNECT_ERROR once what
// it sent before is out; a Stream that closes a tunnel still open (a
// timeout, an abort) resets it with CANCEL. Both are stream errors: the
// connection's other streams go on. Any other answer is an ordinary
// response and ends the stream. Extended CONNECT (RFC 8441, `:protocol`)
// is refused: SETTINGS_ENABLE_CONNECT_PROTOCOL is never announced.

import type { ResponseFields } from "./h2_response_head.ts";

/**
 * Leaves content-length and transfer-encoding out of the fields of a 2xx
 * answering a CONNECT: the tunnel's bytes are not a body (RFC 9110 §9.3.6
 * "A server MUST NOT send any Transfer-Encoding or Content-Length header
 * fields in a 2xx (Successful) response to CONNECT"; a client would
 * otherwise count the tunnel against it).
 */
export function tunnelFields(h: ResponseFields): void {
  const names = h.names, values = h.values;
  let k = 0;
  for (let i = 0; i < h.count; i++) {
    const n = names[i]!;
    if (n === "content-length" || n === "transfer-encoding") continue;
    names[k] = n;
    values[k] = values[i]!;
    k++;
  }
  h.count = k;
  h.length = -1;
  h.chunked = false;
}
