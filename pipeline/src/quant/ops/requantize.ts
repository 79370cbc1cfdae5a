/**
 * Requantization of an int32 accumulator to int8 with a float32 multiplier (XNNPACK, which LiteRT
 * runs on CPU, and onnxruntime's MLAS QGemm):
 *   m = float32(float32(inScale * wScale) / outScale)            (per output channel)
 *   y = clamp(nearbyint(float32(float32(acc) * m)) + outZp, lo, hi)
 * float32(acc) matters only for |acc| >= 2^24, but is what the kernels do.
 */
import { roundHalfEven } from './round-half-even.js';

const f = Math.fround;

export function requantMultiplier(inScale: number, wScale: number, outScale: number): number {
  return f(f(inScale * wScale) / outScale);
}

/** `lo` is the fused activation's minimum (max(-128, outZp) after a ReLU), `hi` is 127. */
export function requantize(acc: number, multiplier: number, outZeroPoint: number, lo: number, hi: number): number {
  const q = roundHalfEven(f(f(acc) * multiplier)) + outZeroPoint;
  return q < lo ? lo : q > hi ? hi : q;
}
