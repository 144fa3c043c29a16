// Set-up shared by the HTTP conformance tests: a proxy in front of one stub
// server, the check that a request head is refused with 400 and a close, and
// the request bytes they send.

import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { type HttpStub, httpStub, type StubReply } from "../../_helpers/http_stub.ts";
import { httpConfig } from "./_common.ts";

export const H = "Host: a\r\n";

export const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

export async function withProxy(
  fn: (proxy: ProxyProcess, stub: HttpStub) => Promise<void>,
  respond?: (req: import("../../_helpers/http_stub.ts").StubRequest) => StubReply,
): Promise<void> {
  const stub = httpStub(respond ? { respond } : {});
  const proxy = await startProxy(httpConfig({ serverPort: stub.port }));
  try {
    await fn(proxy, stub);
  } finally {
    await proxy.stop();
    await stub.close();
  }
}

export const CHUNK_HEAD = `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
