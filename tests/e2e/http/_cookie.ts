// Set-up shared by the cookie persistence tests: a proxy with a `cookie`
// line in front of two stub servers, and the stubs' last requests.

import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  HTTP_DEFAULTS,
  type HttpStub,
  httpStub,
  type StubReply,
  type StubRequest,
} from "./_http.ts";

export interface Two {
  a: HttpStub;
  b: HttpStub;
}

/** Two stubs a and b (cookies ca and cb) behind `cookie: SRV <mode>`. */
export function cookieProxy(
  s: Two,
  mode: string,
  o: { aExtra?: string; bExtra?: string; be?: string } = {},
): Promise<ProxyProcess> {
  return startProxy(`${HTTP_DEFAULTS}
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    cookie: "SRV ${mode}"
${o.be ?? ""}
    servers:
      - { name: a, address: "127.0.0.1:${s.a.port}", cookie: ca${o.aExtra ?? ""} }
      - { name: b, address: "127.0.0.1:${s.b.port}", cookie: cb${o.bExtra ?? ""} }
`);
}

export function stubs(respond?: (r: StubRequest) => StubReply): Two {
  const o = respond === undefined ? {} : { respond };
  return { a: httpStub("a", o), b: httpStub("b", o) };
}

export async function closeAll(p: ProxyProcess | null, s: Two): Promise<void> {
  await p?.stop();
  await s.a.close();
  await s.b.close();
}

/** The last request a stub received. */
export const last = (s: HttpStub) => s.requests[s.requests.length - 1]!;
