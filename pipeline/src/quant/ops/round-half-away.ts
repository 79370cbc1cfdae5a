/** Round half away from zero (C's round / lround), as TFLite's converter and gemmlowp round. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}
