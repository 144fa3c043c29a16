// "Did you mean" hints for the keywords of the sample, ACL and rule
// compilers (fetches, converters, matching methods, actions).
//
// Owns: picking the closest keyword to a misspelt one by edit distance.
// It runs at config time only, never per request, and knows no keyword
// itself: callers pass the candidates. (config/validate.ts has its own,
// double-quoted variant for YAML keys.)

/** Levenshtein distance (one row kept). */
function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/**
 * ` (did you mean 'x'?)` for the closest candidate within a small edit
 * distance, "" when none is close.
 */
export function suggest(word: string, candidates: Iterable<string>): string {
  let best = "";
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestD <= limit ? ` (did you mean '${best}'?)` : "";
}
