// The runtime API's map and ACL-file commands through the stats socket,
// seen by the traffic: `add map` sends a new host to its backend at once,
// `set map` moves it, `del map` and `clear map` send it back to the
// default; `add acl` / `del acl` change what a `-f` ACL file denies. The
// listings are HAProxy's layout; a user-level socket may show, not change.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { fetchOnce, httpStub } from "../http/_http.ts";
import { cli, tempSocket } from "./_cli.ts";

async function setup(level: string) {
  const a = httpStub("a"), b = httpStub("b");
  const sock = await tempSocket();
  const dir = await Deno.makeTempDir({ prefix: "sluice-maps-" });
  await Deno.writeTextFile(`${dir}/hosts.map`, "# host -> backend\none.test be_a\n");
  await Deno.writeTextFile(`${dir}/blocked.lst`, "/admin\n");
  const p = await startProxy(`
global:
  log: stdout
  stats: { socket: "${sock.path}", mode: 600, level: ${level} }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    acl: ["blocked path_beg -f ${dir}/blocked.lst"]
    http-request: ["deny deny_status 403 if blocked"]
    use_backend: "%[req.hdr(host),lower,map_str(${dir}/hosts.map,be_b)]"
    default_backend: be_b
backends:
  be_a: { servers: [{ name: a, address: "127.0.0.1:${a.port}" }] }
  be_b: { servers: [{ name: b, address: "127.0.0.1:${b.port}" }] }
`);
  const served = async (host: string, path = "/") => {
    const r = await fetchOnce(p.port("fe"), `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    return r.status === 200 ? r.text.split(" ")[0]! : String(r.status);
  };
  const close = async () => {
    await p.stop();
    await a.close();
    await b.close();
    await sock.cleanup();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return { p, dir, sock: sock.path, served, close };
}

Deno.test("runtime API: add/set/del/clear map route the next requests as changed", async () => {
  const t = await setup("admin");
  try {
    const map = `${t.dir}/hosts.map`;
    assert.equal(await t.served("one.test"), "a");
    assert.equal(await t.served("two.test"), "b", "not in the map: the default");

    const list = await cli(t.sock, "show map");
    assert.match(list, /^# id \(file\) description\n/);
    // Ids number the map and ACL files together, as in HAProxy.
    const m = new RegExp(`^(\\d+) \\(${map.replace(/[.]/g, "\\.")}\\) .* entry_cnt=1$`, "m")
      .exec(list);
    assert.ok(m !== null, list);
    const id = m[1]!;
    assert.match(await cli(t.sock, `show map ${map}`), /^0x[0-9a-f]+ one\.test be_a$/m);

    assert.equal(await cli(t.sock, `add map ${map} two.test be_a`), "\n");
    assert.equal(await t.served("two.test"), "a", "added: routed at once");
    assert.equal(await cli(t.sock, `set map #${id} two.test be_b`), "\n");
    assert.equal(await t.served("two.test"), "b", "set: moved");
    assert.equal(await cli(t.sock, `del map ${map} one.test`), "\n");
    assert.equal(await t.served("one.test"), "b", "deleted: the default");
    assert.equal(await cli(t.sock, `del map ${map} one.test`), "Key not found.\n\n");
    assert.equal(await cli(t.sock, `clear map ${map}`), "\n");
    assert.doesNotMatch(await cli(t.sock, `show map ${map}`), /two\.test/);
    assert.equal(
      await cli(t.sock, "add map nosuch.map k v"),
      "Unknown map identifier. Please use #<id> or <file>.\n\n",
    );
  } finally {
    await t.close();
  }
});

Deno.test("runtime API: add/del acl change what a -f ACL file matches; user level may only show", async () => {
  const t = await setup("admin");
  try {
    const lst = `${t.dir}/blocked.lst`;
    assert.equal(await t.served("x", "/admin/x"), "403");
    assert.equal(await t.served("x", "/private"), "b");
    assert.equal(await cli(t.sock, `add acl ${lst} /private`), "\n");
    assert.equal(await t.served("x", "/private"), "403");
    assert.match(await cli(t.sock, `show acl ${lst}`), /^0x[0-9a-f]+ \/private$/m);
    assert.equal(await cli(t.sock, `del acl ${lst} /admin`), "\n");
    assert.equal(await t.served("x", "/admin/x"), "b");
    // A connection lowered to user level shows, and may not change.
    const u = await cli(t.sock, `user; show acl ${lst}; del acl ${lst} /private`);
    assert.match(u, /\/private\n\nPermission denied\n/);
    assert.equal(await t.served("x", "/private"), "403");
  } finally {
    await t.close();
  }
});
