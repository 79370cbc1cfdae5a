/**
 * Round half to even: C's nearbyint / lrintf in the default rounding mode, SSE's cvtps2dq, NEON's
 * vcvtnq, and XNNPACK's / MLAS's "magic bias" trick. Every int8 kernel we target rounds this way.
 * Exact for any double (the subtraction r - x is exact for |x| < 2^52; larger values are integers).
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up (toward +Infinity)
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * 1.5 * 2^52: adding and subtracting it rounds a double half to even (the FPU's default mode) for
 * |x| < 2^51. The code generators emit this form (cheaper than the branchy one); it equals
 * {@link roundHalfEven} on that range, which a unit test checks on the ties.
 */
export const ROUND_MAGIC = 6755399441055744;

export function roundHalfEvenMagic(x: number): number {
  return x + ROUND_MAGIC - ROUND_MAGIC;
}
