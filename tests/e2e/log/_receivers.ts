// Log receivers for the log target tests: real UDP and unix datagram sockets
// (Deno.listenDatagram) that collect every message, and a waiter that
// resolves once enough have arrived.

import { delay } from "../../_helpers/client.ts";

const dec = new TextDecoder();

/** A datagram socket collecting messages (UTF-8 text, one per datagram). */
export class Receiver {
  readonly messages: string[] = [];
  readonly conn: Deno.DatagramConn;
  readonly #loop: Promise<void>;

  constructor(conn: Deno.DatagramConn) {
    this.conn = conn;
    this.#loop = (async () => {
      try {
        for (;;) {
          const [data] = await conn.receive();
          this.messages.push(dec.decode(data));
        }
      } catch { /* closed */ }
    })();
  }

  /** A UDP receiver on 127.0.0.1, port from the kernel. */
  static udp(): Receiver {
    return new Receiver(Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }));
  }

  /** A unix datagram receiver (the `/dev/log` kind) at a fresh temporary path. */
  static unix(dir: string, name: string): Receiver {
    const path = `${dir}/${name}.sock`;
    return new Receiver(Deno.listenDatagram({ transport: "unixpacket", path }));
  }

  get port(): number {
    return (this.conn.addr as Deno.NetAddr).port;
  }

  get path(): string {
    return (this.conn.addr as Deno.UnixAddr).path;
  }

  /** Waits until `n` messages arrived (deadline `ms`); returns them. */
  async wait(n: number, ms = 10_000): Promise<string[]> {
    const end = Date.now() + ms;
    while (this.messages.length < n) {
      if (Date.now() > end) {
        throw new Error(`expected ${n} messages, got ${this.messages.length}: ${this.messages}`);
      }
      await delay(10);
    }
    return this.messages;
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.#loop;
  }
}

/**
 * The frame of a syslog message with the variable parts named: the tag,
 * pid and dates replaced, and the session line (from the client address on)
 * replaced by LINE, so HAProxy's and Sluice's messages compare.
 */
export function frameShape(msg: string): string {
  return msg
    .replace(/\b(haproxy|sluice)\b/, "TAG")
    .replace(/TAG\[\d+\]/, "TAG[PID]")
    .replace(/TAG \d+ /, "TAG PID ")
    .replace(/[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /, "BSDDATE ")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d/, "ISODATE")
    .replace(/127\.0\.0\.1:\d+ \[[^\n]*/, "LINE");
}
