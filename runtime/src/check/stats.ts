/**
 * The check's arithmetic: pure functions, tested against hand-counted values.
 */

/**
 * Nearest-rank percentile of an ascending-sorted sample: the smallest value such that at least
 * `p` percent of the sample is <= it (index ceil(p/100 * n) - 1). Always a measured value, never an
 * interpolation between two calls. NaN for an empty sample.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (!(p > 0)) return sorted[0];
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

export interface LatencySummary {
  /** Microseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly min: number;
  readonly mean: number;
  /** Timed calls the figures come from. */
  readonly calls: number;
}

/** Rounds to the nanosecond when shown in microseconds (3 decimals). */
const us = (ns: number): number => Math.round(ns) / 1000;

/**
 * Summary of the first `count` per-call durations in nanoseconds (the array is not changed),
 * in microseconds.
 */
export function summarizeLatency(samplesNs: Float64Array, count: number): LatencySummary {
  const sorted = samplesNs.slice(0, count).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    p50: us(percentileSorted(sorted, 50)),
    p90: us(percentileSorted(sorted, 90)),
    p99: us(percentileSorted(sorted, 99)),
    max: us(count > 0 ? sorted[count - 1] : NaN),
    min: us(count > 0 ? sorted[0] : NaN),
    mean: us(count > 0 ? sum / count : NaN),
    calls: count,
  };
}

/** Mean and population standard deviation (NumPy's default, ddof 0). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(sq / n) };
}

/** Share of positions where two discrete action lists agree. */
export function actionAgreement(reference: readonly number[], other: readonly number[]): number {
  if (reference.length !== other.length) throw new RangeError(`actionAgreement: ${reference.length} vs ${other.length} actions`);
  if (reference.length === 0) return NaN;
  let same = 0;
  for (let i = 0; i < reference.length; i++) if (reference[i] === other[i]) same++;
  return same / reference.length;
}

/** Largest |a - b| over rows of equal length (rows given as arrays of numbers). */
export function maxAbsError(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsError: ${a.length} vs ${b.length} rows`);
  let worst = 0;
  for (let r = 0; r < a.length; r++) {
    const x = a[r];
    const y = b[r];
    if (x.length !== y.length) throw new RangeError(`maxAbsError: row ${r} has ${x.length} vs ${y.length} values`);
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i] - y[i]);
      // NaN on either side is the worst possible difference.
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
    }
  }
  return worst;
}

/** Root mean square difference of continuous actions, over all rows and components. */
export function actionRmse(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let sq = 0;
  let n = 0;
  for (let r = 0; r < a.length; r++) {
    for (let i = 0; i < a[r].length; i++) {
      const d = a[r][i] - b[r][i];
      sq += d * d;
      n++;
    }
  }
  return n === 0 ? NaN : Math.sqrt(sq / n);
}

/**
 * Return retention: (student - random) / (teacher - random). Null when the teacher does not beat
 * the random policy (the ratio would say nothing, or flip sign).
 */
export function returnRetention(student: number, teacher: number, random: number): number | null {
  const span = teacher - random;
  if (!(span > 0)) return null;
  return (student - random) / span;
}
