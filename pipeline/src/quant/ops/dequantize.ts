/** DEQUANTIZE (int8 -> float32): float32((q - zeroPoint) * scale), one rounding (the product of a
 * small integer and a float32 is exact in double). */
export function dequantize(q: number, scale: number, zeroPoint: number): number {
  return Math.fround((q - zeroPoint) * scale);
}
