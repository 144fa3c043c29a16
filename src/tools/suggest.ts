// "Did you mean" hints for misspelt words: config keys and values, ACL and
// fetch names, rule actions and their arguments, converters (HAProxy keeps the
// same helper in tools.c, under cfgparse.c, sample.c and acl.c alike).
//
// Owns: the one distance, the one closeness rule and the one wording of the
// hint, so that every error a user reads suggests alike. A leaf: it imports
// nothing, and everything that reports a misspelt word may import it (config
// above, acl and http below; config is not its home because config compiles
// acl and http, and they must not import upward). Runs at load time only,
// never per request.

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition,
 * so "defualt" is one edit from "default" and "htpp" one from "http").
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) row.push(i === 0 ? j : 0);
    d.push(row);
  }
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, (d[i - 2]?.[j - 2] as number) + 1);
      }
      row[j] = v;
    }
  }
  return d[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/**
 * The closest candidate to a misspelt word, compared without case, or null
 * when none is close: at most 2 edits (1 for words of up to 4 characters,
 * where 2 edits would match almost anything). Ties go to the earlier
 * candidate.
 */
export function suggest(word: string, candidates: Iterable<string>): string | null {
  const limit = word.length <= 4 ? 1 : 2;
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestDist = limit + 1;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestDist) {
      best = c;
      bestDist = dist;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` for the closest candidate (see suggest()), or "" when none is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s === null ? "" : ` (did you mean "${s}"?)`;
}
