// "Did you mean" for a mistyped key: the known key that differs only in case and
// separators, else the nearest by edit distance when it is close enough to be a typo.

const norm = (s: string): string => s.replace(/[-_\s]/g, '').toLowerCase();

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
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
