// The runtime API's map and ACL-file commands (HAProxy's map.c CLI):
// `show map|acl [NAME]`, `add map NAME KEY VALUE`, `add acl NAME PATTERN`,
// `del map|acl NAME KEY`, `set map NAME KEY VALUE`, `clear map|acl NAME`,
// on the pattern references of the running configuration
// (sample/pat_ref.ts keeps every index of a reference in step, so a change
// reaches every converter and ACL that uses the file at once). Answers are
// HAProxy 2.6's; the `show` lists name no configuration line, and entries
// are numbered by their insertion order where HAProxy prints an address.

import { currentPatternStore, type PatRef } from "../sample/pat_ref.ts";

const UNKNOWN_MAP = "Unknown map identifier. Please use #<id> or <file>.\n";
const UNKNOWN_ACL = "Unknown ACL identifier. Please use #<id> or <file>.\n";

function unknown(isMap: boolean): string {
  return isMap ? UNKNOWN_MAP : UNKNOWN_ACL;
}

function find(isMap: boolean, name: string | undefined): PatRef | null {
  if (name === undefined || name === "") return null;
  const ref = currentPatternStore().get(name);
  return ref !== undefined && ref.isMap === isMap ? ref : null;
}

/** `show map` / `show acl`: the list, or one reference's entries. */
export function showPatterns(isMap: boolean, name: string | undefined): string {
  if (name === undefined || name === "") {
    let out = "# id (file) description\n";
    for (const r of currentPatternStore().list(isMap)) {
      out += `${r.id} (${r.name}) pattern loaded from file '${r.path}' used by ` +
        `${isMap ? "map" : "acl"}. curr_ver=0 next_ver=0 entry_cnt=${r.entries.length}\n`;
    }
    return out;
  }
  const ref = find(isMap, name);
  if (ref === null) return unknown(isMap);
  let out = "";
  for (const e of ref.entries) {
    out += isMap
      ? `0x${e.seq.toString(16)} ${e.key} ${e.value}\n`
      : `0x${e.seq.toString(16)} ${e.key}\n`;
  }
  return out;
}

/** `add map NAME KEY VALUE` / `add acl NAME PATTERN`. */
export function addPattern(isMap: boolean, a: readonly string[]): string {
  const [name, key, value] = a;
  if (isMap && (key === undefined || value === undefined)) {
    return "'add map' expects three parameters (map identifier, key and value) or one parameter " +
      "(map identifier) and a payload\n";
  }
  if (!isMap && key === undefined) {
    return "'add acl' expects two parameters: ACL identifier and pattern.\n";
  }
  const ref = find(isMap, name);
  if (ref === null) return unknown(isMap);
  const bad = ref.add(key!, isMap ? value! : "");
  return bad === null ? "" : `${bad}.\n`;
}

/** `del map|acl NAME KEY`: every entry of that key. */
export function delPattern(isMap: boolean, a: readonly string[]): string {
  const [name, key] = a;
  if (key === undefined) {
    return `This command expects two parameters: ${isMap ? "map" : "ACL"} identifier and key.\n`;
  }
  const ref = find(isMap, name);
  if (ref === null) return unknown(isMap);
  return ref.del(key) > 0 ? "" : "Key not found.\n";
}

/** `set map NAME KEY VALUE`: the value of every entry of that key. */
export function setPattern(a: readonly string[]): string {
  const [name, key, value] = a;
  if (key === undefined || value === undefined) {
    return "'set map' expects three parameters: map identifier, key and value.\n";
  }
  const ref = find(true, name);
  if (ref === null) return UNKNOWN_MAP;
  return ref.set(key, value) > 0 ? "" : "entry not found.\n";
}

/** `clear map|acl NAME`. */
export function clearPatterns(isMap: boolean, name: string | undefined): string {
  if (name === undefined) return isMap ? "Missing map identifier.\n" : "Missing ACL identifier.\n";
  const ref = find(isMap, name);
  if (ref === null) return unknown(isMap);
  ref.clear();
  return "";
}
