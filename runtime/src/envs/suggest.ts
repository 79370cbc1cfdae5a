/** "Did you mean" for ids and option names: case-insensitive edit distance. */

/** The candidate closest to `id` when it is plausibly a typo (or the same name at another version). */
export function closest(id: string, candidates: readonly string[]): string | undefined {
  const a = id.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(a, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  // Also accept a candidate that shares the name before the version ("CartPole-v0" -> "CartPole-v1").
  const stem = (s: string) => s.toLowerCase().replace(/-v\d+$/, '');
  if (best && (bestD <= Math.max(2, Math.floor(a.length / 3)) || stem(best) === stem(id))) return best;
  const sameStem = candidates.find((c) => stem(c) === stem(id));
  return sameStem;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
