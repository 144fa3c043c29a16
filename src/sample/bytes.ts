// Byte strings: the one string representation shared by the wire and the
// configuration (HAProxy works on bytes; JavaScript strings are UTF-16).
//
// Owns: converting configuration text to a byte string. A byte string has
// one UTF-16 code unit per byte (latin1, 0x00-0xFF): the HTTP layer decodes
// the wire that way, and every literal coming from the UTF-8 configuration
// (ACL patterns, header names and values of rules, `%[...]` literals) goes
// through toByteString() once at config time so both sides compare byte for
// byte. It is a leaf: it imports nothing and never runs per request.

/**
 * Converts configuration text (UTF-16, maybe non-ASCII) to a byte string: its
 * UTF-8 bytes, one code unit each. ASCII text is returned unchanged.
 */
export function toByteString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      const b = new TextEncoder().encode(s);
      let out = "";
      for (let k = 0; k < b.length; k++) out += String.fromCharCode(b[k] as number);
      return out;
    }
  }
  return s;
}
