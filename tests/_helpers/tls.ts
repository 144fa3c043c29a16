// Test certificates, made per run with the `openssl` command into a
// temporary directory (no private key is ever committed): a test CA, and
// leaf certificates it signs for given names. `makePki()` returns the
// directory and paths; `pki.leaf("a.test", ["a.test", "*.w.test"])` writes
// `a.test.pem` (certificate + key, what a bind's `crt` takes) plus
// `.crt`/`.key` apart (what curl and nginx take). `remove()` in `finally`.
// `captureClientHello()` and `opensslClientHello()` give the bytes of a
// client's first TLS record, for the payload fetches' tests.
//
// ECDSA P-256 keys: quick to generate on a shared machine.

/** Runs openssl; throws with its stderr on failure. */
export async function openssl(args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(cwd === undefined ? {} : { cwd }),
  }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Paths of one leaf certificate. */
export interface Leaf {
  /** Certificate then key, one PEM file. */
  pem: string;
  crt: string;
  key: string;
}

export class Pki {
  readonly dir: string;
  readonly caCrt: string;
  readonly caKey: string;
  #serial = 1;

  constructor(dir: string, name: string) {
    this.dir = dir;
    this.caCrt = `${dir}/${name}.crt`;
    this.caKey = `${dir}/${name}.key`;
  }

  /**
   * A certificate signed by this CA for `cn`, with `names` as DNS SANs
   * (default [cn]); `days` 0 makes it expired at once. `file` (relative to
   * the directory) names the PEM (certificate + key); the other files stay
   * beside the CA, so that a crt directory holds only PEMs.
   */
  async leaf(
    cn: string,
    names: string[] = [cn],
    opts: { days?: number; file?: string } = {},
  ): Promise<Leaf> {
    const serial = this.#serial++;
    const base = `${this.dir}/${cn.replace(/[^A-Za-z0-9.-]/g, "_")}-${serial}`;
    const key = `${base}.key`, crt = `${base}.crt`;
    const pem = opts.file === undefined ? `${base}.pem` : `${this.dir}/${opts.file}`;
    await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
    await openssl(["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", `${base}.csr`]);
    const ext = `${base}.ext`;
    await Deno.writeTextFile(
      ext,
      names.length > 0 ? `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n` : "\n",
    );
    const days = opts.days ?? 2;
    const args = [
      "x509",
      "-req",
      "-in",
      `${base}.csr`,
      "-CA",
      this.caCrt,
      "-CAkey",
      this.caKey,
      "-set_serial",
      String(serial),
      "-extfile",
      ext,
      "-out",
      crt,
    ];
    // 0 days: valid until the moment it was made, so expired from then on.
    args.push("-days", String(Math.max(days, 0)));
    await openssl(args);
    await Deno.writeTextFile(pem, (await Deno.readTextFile(crt)) + (await Deno.readTextFile(key)));
    return { pem, crt, key };
  }
}

/** A fresh CA named `name` in `dir` (a new temporary directory when absent). */
export async function makePki(name = "ca", dir?: string): Promise<Pki> {
  dir ??= await Deno.makeTempDir({ prefix: "sluice-tls-" });
  const p = new Pki(dir, name);
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p.caKey]);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    p.caKey,
    "-subj",
    `/CN=Sluice test ${name}`,
    "-days",
    "2",
    "-out",
    p.caCrt,
  ]);
  return p;
}

/** `openssl s_client` against 127.0.0.1:port; returns its stdout+stderr text. */
export async function sClient(port: number, args: string[] = [], input = ""): Promise<string> {
  const child = new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(timer);
  const td = new TextDecoder();
  return td.decode(out.stdout) + td.decode(out.stderr);
}

/** The subject CN of the certificate s_client printed ("subject=CN = a.test"). */
export function servedCn(out: string): string | null {
  return /subject=.*?CN\s*=\s*([^,\n/]+)/.exec(out)?.[1]?.trim() ?? null;
}

/**
 * The first bytes a client sends to a raw 127.0.0.1 listener: `client(port)`
 * connects there; a ClientHello is one record, read until its announced
 * length is there or the client stops. Empty when the client never came.
 */
export async function captureClientHello(
  client: (port: number) => Promise<unknown>,
): Promise<Uint8Array> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const done = client(port).catch(() => {});
  const c = await l.accept();
  const buf = new Uint8Array(16384);
  let n = 0;
  while (n < 5 || n < 5 + ((buf[3]! << 8) | buf[4]!)) {
    const r = await c.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  c.close();
  l.close();
  await done;
  return buf.slice(0, n);
}

/** The ClientHello `openssl s_client -connect 127.0.0.1:PORT ARGS` sends. */
export function opensslClientHello(args: string[]): Promise<Uint8Array> {
  return captureClientHello(async (port) => {
    const p = new Deno.Command("openssl", {
      args: ["s_client", "-connect", `127.0.0.1:${port}`, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await p.status;
  });
}
