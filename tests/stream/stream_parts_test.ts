import assert from "node:assert/strict";
import { createPools } from "../../src/buf/pool.ts";
import { Channel } from "../../src/channel/channel.ts";
import { CF_SHUTR, CF_SHUTW } from "../../src/channel/types.ts";
import { type SiOwner, StreamInterface } from "../../src/si/stream_interface.ts";
import { SI_ST_CLO } from "../../src/si/types.ts";
import { releaseStreamParts, takeStreamParts } from "../../src/stream/stream_parts.ts";
import type { Conn } from "../../src/listener/protocol.ts";

/** The public fields of an object (what another subsystem can see of it). */
function fields(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o));
}

class Owner implements SiOwner {
  settled = 0;
  onIo(_side: number): void {}
  onSettled(_si: StreamInterface): void {
    this.settled++;
  }
}

const CLOSED_CONN: Conn = {
  read: () => Promise.resolve(0),
  write: (v) => Promise.resolve(v.length),
  closeWrite: () => Promise.resolve(),
  close: () => {},
};

Deno.test("stream parts: an ended stream's channels and interfaces come back as new ones", () => {
  const poolsA = createPools(4096), poolsB = createPools(8192);
  const a = new Owner(), b = new Owner();
  const first = { ...takeStreamParts(poolsA, a) };
  const req = first.req!, res = first.res!, cli = first.cli!, srv = first.srv!;
  // A stream's worth of state on every part.
  req.flags = CF_SHUTR | CF_SHUTW;
  req.analysers = 0xff;
  req.totalIn = 1234;
  req.toForward = 99;
  req.analyseExp = 42;
  req.shrinkAfterBurst = true;
  const buf = res.readRegion()!;
  res.commitRead(buf.length, buf.length);
  res.totalOut = 77;
  cli.attach(CLOSED_CONN, 500, "sni.example");
  cli.txns = 3;
  cli.connRetries = 2;
  cli.exp = 900;
  srv.attach(CLOSED_CONN, 600);
  cli.close();
  srv.close();
  assert.equal(cli.state, SI_ST_CLO);
  req.releaseBuffer();
  res.releaseBuffer();
  releaseStreamParts(req, res, cli, srv);

  const next = takeStreamParts(poolsB, b);
  assert.equal(next.req, req, "the channels are reused");
  assert.equal(next.cli, cli, "the interfaces are reused");
  const freshReq = new Channel(poolsB), freshRes = new Channel(poolsB);
  assert.deepEqual(fields(next.req!), fields(freshReq));
  assert.deepEqual(fields(next.res!), fields(freshRes));
  assert.deepEqual(
    fields(next.cli!),
    fields(new StreamInterface(0, next.req!, next.res!, b)),
  );
  assert.deepEqual(
    fields(next.srv!),
    fields(new StreamInterface(1, next.res!, next.req!, b)),
  );
  // The channel reads from the new process's pools, the interface reports to the new owner.
  next.req!.lastReadFull = true;
  assert.equal(next.req!.readRegion()!.length, 8192);
  next.cli!.close();
  assert.equal(b.settled, 1);
  assert.equal(a.settled, 2, "the first owner hears nothing more");
  next.req!.releaseBuffer();
});
