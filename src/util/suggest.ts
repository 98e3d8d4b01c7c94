// "Did you mean" for a mistyped key: the known key that differs only in case and
// separators, else the nearest by edit distance when it is close enough to be a typo.

const norm = (s: string): string => s.replace(/[-_\s]/g, '').toLowerCase();

/** Edits from a to b: insertions, deletions, substitutions and swaps of two neighbours (a typo's "reprot"). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key `word` most likely meant, or undefined when none is close. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  const w = norm(word);
  const same = known.find((k) => norm(k) === w);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(w, norm(k));
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(w.length / 4)) ? best : undefined;
}

/** ` (did you mean "x"?)` or '' */
export function didYouMean(word: string, known: readonly string[]): string {
  const s = suggest(word, known);
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
}
