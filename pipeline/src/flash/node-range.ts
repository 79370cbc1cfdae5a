/**
 * Enough semver for a profile's nodeRange (`>=20.19`, `>=20.19 <24`, `^22`, `a || b`): is the
 * device's `node --version` inside it? Pure functions, tested against hand-checked cases.
 */
type V = [number, number, number];

export function parseVersion(s: string): V | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(s.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : null;
}

function cmp(a: V, b: V): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

function comparator(c: string, v: V): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(\d+(?:\.\d+){0,2})$/.exec(c.trim());
  if (!m) return false;
  const op = m[1] ?? '=';
  const parts = m[2].split('.').length;
  const w = parseVersion(m[2]) as V;
  switch (op) {
    case '>=':
      return cmp(v, w) >= 0;
    case '>':
      return cmp(v, w) > 0;
    case '<=':
      return cmp(v, w) <= 0;
    case '<':
      return cmp(v, w) < 0;
    case '^':
      return cmp(v, w) >= 0 && v[0] === w[0];
    case '~':
      return cmp(v, w) >= 0 && v[0] === w[0] && (parts < 2 || v[1] === w[1]);
    default:
      // `=20` or `20` matches any 20.x.y; `20.19` any 20.19.y
      return v[0] === w[0] && (parts < 2 || v[1] === w[1]) && (parts < 3 || v[2] === w[2]);
  }
}

/** True when `version` (e.g. `v20.20.2`) satisfies `range`. */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return range.split('||').some((alt) => {
    const cs = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return cs.length > 0 && cs.every((c) => comparator(c, v));
  });
}
