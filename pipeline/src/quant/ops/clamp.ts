/** x limited to [lo, hi] (integer saturation of int8 kernels). */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export const INT8_MIN = -128;
export const INT8_MAX = 127;
