/**
 * Chart scales: pure functions, tested against hand-checked values. Linear axes get "nice" ticks
 * (1, 2, 5 x 10^k steps, Heckbert 1990); log axes get 1-2-5 ticks when they span few decades and
 * powers of ten otherwise.
 */

/** A "nice" number near `x` (> 0): 1, 2, 5 or 10 times a power of ten; rounded, or the next above. */
export function niceNumber(x: number, round: boolean): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/** Removes float noise such as 0.30000000000000004 from a tick computed as i * step. */
function clean(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

export interface Ticks {
  /** Domain after widening to whole ticks. */
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

/**
 * About `count` nice ticks covering [lo, hi]; the domain is widened to the outer ticks. A zero or
 * non-finite span is widened around the value so an axis can still be drawn.
 */
export function niceTicks(lo: number, hi: number, count = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return niceTicks(0, 1, count);
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const range = niceNumber(hi - lo, false);
  const step = niceNumber(range / Math.max(1, count - 1), true);
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  const n = Math.round((max - min) / step);
  for (let i = 0; i <= n; i++) ticks.push(clean(min + i * step, step));
  return { min: clean(min, step), max: clean(max, step), step, ticks };
}

/** The 1-2-5 sequence around a decade: 1e-1, 2e-1, 5e-1, 1, 2, 5, 10 ... */
function oneTwoFive(exp: number): number[] {
  return [1, 2, 5].map((m) => Number((m * 10 ** exp).toPrecision(12)));
}

export interface LogTicks {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
}

/**
 * Ticks for a log axis covering [lo, hi] (both > 0). Up to three decades: the domain runs from the
 * largest 1-2-5 value <= lo to the smallest >= hi, with every 1-2-5 value as a tick. More: whole
 * decades, a tick per power of ten (every other one past eight decades).
 */
export function logTicks(lo: number, hi: number): LogTicks {
  if (!(lo > 0) || !Number.isFinite(lo)) lo = hi > 0 && Number.isFinite(hi) ? hi / 10 : 1;
  if (!(hi > 0) || !Number.isFinite(hi)) hi = lo * 10;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    lo /= 2;
    hi *= 2;
  }
  const e0 = Math.floor(Math.log10(lo) + 1e-12);
  const e1 = Math.ceil(Math.log10(hi) - 1e-12);
  if (e1 - e0 <= 3) {
    const seq: number[] = [];
    for (let e = e0 - 1; e <= e1; e++) seq.push(...oneTwoFive(e));
    const eps = 1e-9;
    const min = Math.max(...seq.filter((v) => v <= lo * (1 + eps)));
    const max = Math.min(...seq.filter((v) => v >= hi * (1 - eps)));
    return { min, max, ticks: seq.filter((v) => v >= min && v <= max) };
  }
  const every = e1 - e0 > 8 ? 2 : 1;
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e += every) ticks.push(Number((10 ** e).toPrecision(12)));
  return { min: Number((10 ** e0).toPrecision(12)), max: Number((10 ** e1).toPrecision(12)), ticks };
}

export type Scale = (v: number) => number;

/** Maps [d0, d1] linearly onto [r0, r1] (d0 === d1 maps everything to the middle). */
export function scaleLinear(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0;
  if (span === 0) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** Maps [d0, d1] (both > 0) onto [r0, r1] by log10; values <= 0 clamp to d0. */
export function scaleLog(d0: number, d1: number, r0: number, r1: number): Scale {
  const l0 = Math.log10(d0);
  const l1 = Math.log10(d1);
  const span = l1 - l0;
  if (!(span !== 0) || !Number.isFinite(span)) return () => (r0 + r1) / 2;
  return (v) => r0 + ((Math.log10(v > 0 ? v : d0) - l0) / span) * (r1 - r0);
}

/** Whether values spread widely enough (max / min > ratio, all > 0) to deserve a log axis. */
export function wantsLog(values: readonly number[], ratio = 20): boolean {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length < 2 || pos.length < values.filter(Number.isFinite).length) return false;
  return Math.max(...pos) / Math.min(...pos) > ratio;
}

/**
 * Ticks for a log axis of sizes in bytes: powers of two (1 KiB, 4 KiB, 16 KiB ...), every
 * `stride`-th power so that at most `maxTicks` remain; the domain starts one stride below the
 * smallest value so the smallest bar keeps some length.
 */
export function binaryTicks(lo: number, hi: number, maxTicks = 8): LogTicks {
  if (!(lo > 0) || !Number.isFinite(lo)) lo = 1;
  if (!(hi > 0) || !Number.isFinite(hi) || hi < lo) hi = lo;
  const e0 = Math.floor(Math.log2(lo) + 1e-12);
  const e1 = Math.ceil(Math.log2(hi) - 1e-12);
  let stride = 1;
  while ((e1 - e0) / stride + 2 > maxTicks) stride *= 2;
  // Align to the stride so ticks land on 1 KiB, 4 KiB, 16 KiB ... rather than 2 KiB, 8 KiB ...
  const start = Math.floor(e0 / stride) * stride - stride;
  const ticks: number[] = [];
  let e = start;
  for (; e < e1; e += stride) ticks.push(2 ** e);
  ticks.push(2 ** e);
  return { min: ticks[0], max: ticks[ticks.length - 1], ticks };
}
