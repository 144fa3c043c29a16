// The SNI of a server connection when the server's `sni` is a sample
// expression (HAProxy's connect_server(): `sni req.hdr(host)` evaluated
// against the stream, SMP_OPT_DIR_REQ | SMP_OPT_FINAL, when the connection is
// opened).
//
// The value is also the connection's reuse key (StreamInterface.connKey):
// HAProxy hashes the SNI into the connection's hash, so an idle connection
// opened for one name is only ever taken by a request that evaluates to the
// same name; here a request reuses its own connection or takes a parked one
// only when the keys are equal (stream.ts requestServer(), IdlePool.take()).
// A server without an expression has the key null on every connection: reuse
// is unchanged for it.
//
// An HTTP stream evaluates against its transaction's sample context (the
// request head, its variables, the client's TLS facts); a TCP stream against
// its addresses and the client's TLS facts (`ssl_fc_sni` passes the client's
// name through). An expression that yields nothing or an empty string sends
// no SNI, as in HAProxy; the chain is then verified without a name. A
// trailing `:port` (a Host header's) is dropped.

import type { Server } from "../backend/server.ts";
import type { PeerAddr } from "../listener/protocol.ts";
import { fetchOne, sampleToString } from "../sample/fetch.ts";
import type { SampleCtx, SslFacts } from "../sample/types.ts";
import { L4SampleCtx } from "../tcp/tcp_rules.ts";

/** What of a stream the expression reads. */
export interface SniSource {
  readonly txn: { readonly sample: SampleCtx } | null;
  readonly clientAddr: PeerAddr;
  readonly frontAddr: PeerAddr;
  readonly clientTls: SslFacts | null;
}

/** The layer-4 context plus the client's TLS facts (TCP mode). */
class ConnSampleCtx extends L4SampleCtx {
  facts: SslFacts | null = null;
  ssl(): SslFacts | null {
    return this.facts;
  }
}

/** One context reused by every evaluation (synchronous, never re-entered). */
const CONN_CTX = new ConnSampleCtx();

/**
 * The name to send to `srv` for the stream `s`: null when the server has no
 * `sni` expression (its TlsClientConfig says), "" (NO_SNI) when the
 * expression gives nothing, else the evaluated name.
 */
export function serverSni(srv: Server, s: SniSource): string | null {
  const f = srv.sniExpr;
  if (f === null) return null;
  let v: string;
  if (s.txn !== null) v = sampleToString(fetchOne(s.txn.sample, f));
  else {
    const ctx = CONN_CTX.bind(s.clientAddr, s.frontAddr, null);
    ctx.facts = s.clientTls;
    v = sampleToString(fetchOne(ctx, f));
    ctx.facts = null;
    ctx.unbind();
  }
  // A Host header's port ("a.test:8443") is no part of a server name (RFC
  // 6066); HAProxy would send it as is, and the handshake would fail.
  const colon = v.indexOf(":");
  return colon > 0 && colon === v.lastIndexOf(":") ? v.slice(0, colon) : v;
}

/**
 * Whether the established server connection `si` of `s` (to `s.srv`) may
 * carry the current request: always when the server has no `sni`
 * expression, else when the request evaluates to the name it was opened with.
 */
export function sniMatches(
  si: { readonly connKey: string | null },
  s: SniSource & { readonly srv: Server | null },
): boolean {
  const srv = s.srv;
  return srv === null || srv.sniExpr === null || si.connKey === serverSni(srv, s);
}
