import type { BoxSpace, DiscreteSpace, Space } from './types.js';

/** A float32 Box; bounds are rounded to float32 as NumPy does when Gymnasium builds the space. */
export function box(low: ArrayLike<number>, high: ArrayLike<number>): BoxSpace {
  if (low.length !== high.length) throw new RangeError('box: low and high differ in length');
  return Object.freeze({
    kind: 'box',
    shape: Object.freeze([low.length]),
    low: Float32Array.from(low),
    high: Float32Array.from(high),
    dtype: 'float32',
  }) as BoxSpace;
}

export function discrete(n: number, start = 0): DiscreteSpace {
  return Object.freeze({ kind: 'discrete', n, start });
}

/** Number of floats in one action (1 for a discrete action). */
export function actionDim(space: Space): number {
  return space.kind === 'discrete' ? 1 : space.low.length;
}

function fmt(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  // Shortest decimal that reads back to the same float32 (as NumPy prints float32 scalars).
  for (let p = 1; p <= 9; p++) {
    const n = Number(v.toPrecision(p));
    if (Math.fround(n) === v) {
      const s = String(n);
      return /[.e]/.test(s) ? s : `${s}.0`;
    }
  }
  return String(v);
}

/** Gymnasium-like text: `Discrete(2)`, `Box(-2.0, 2.0, (1,), float32)`, `Box([-1, -1, -8], [1, 1, 8], (3,), float32)`. */
export function formatSpace(space: Space): string {
  if (space.kind === 'discrete') return space.start === 0 ? `Discrete(${space.n})` : `Discrete(${space.n}, start=${space.start})`;
  const shape = `(${space.shape.join(', ')}${space.shape.length === 1 ? ',' : ''})`;
  const uniform = (a: Float32Array) => a.every((v) => v === a[0]);
  if (uniform(space.low) && uniform(space.high)) {
    return `Box(${fmt(space.low[0])}, ${fmt(space.high[0])}, ${shape}, float32)`;
  }
  const list = (a: Float32Array) => `[${Array.from(a, fmt).join(', ')}]`;
  return `Box(${list(space.low)}, ${list(space.high)}, ${shape}, float32)`;
}

/** JSON-friendly form of a space (infinities as strings, since JSON has none). */
export function spaceToJSON(space: Space): Record<string, unknown> {
  if (space.kind === 'discrete') return { kind: 'discrete', n: space.n, start: space.start };
  const nums = (a: Float32Array) => Array.from(a, (v) => (Number.isFinite(v) ? v : v > 0 ? 'inf' : '-inf'));
  return { kind: 'box', shape: [...space.shape], dtype: 'float32', low: nums(space.low), high: nums(space.high) };
}
