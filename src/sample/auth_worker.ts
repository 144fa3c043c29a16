// The worker that checks password hashes off the proxy's thread (see
// auth.ts). It receives `{ id, hash, password }` and answers `{ id, ok }`;
// it keeps no state and never sees anything but one hash and one password
// at a time. SHA-crypt through unixcrypt, bcrypt through bcryptjs, as the
// synchronous path in auth.ts.

import bcrypt from "bcryptjs";
import { verify as shaCryptVerify } from "unixcrypt";

interface Job {
  id: number;
  hash: string;
  password: string;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(m: { id: number; ok: boolean }): void;
};

scope.onmessage = (e: MessageEvent<Job>) => {
  const { id, hash, password } = e.data;
  let ok = false;
  try {
    ok = hash.startsWith("$2")
      ? bcrypt.compareSync(password, hash)
      : shaCryptVerify(password, hash);
  } catch {
    ok = false;
  }
  scope.postMessage({ id, ok });
};
