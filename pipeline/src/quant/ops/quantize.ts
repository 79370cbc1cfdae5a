/**
 * QUANTIZE (float32 -> int8) as XNNPACK / LiteRT compute it: q = clamp(nearbyint(float32(x *
 * float32(1 / scale))) + zeroPoint). The reciprocal is taken once in float32 and multiplied, not
 * divided: x / scale and x * (1 / scale) differ in the last bit now and then, which moves a value
 * across a rounding tie. The ONNX exporter writes the same product (a Mul by float32(1 / scale)
 * before a QuantizeLinear of scale 1), so onnxruntime's divide cannot differ.
 */
import { INT8_MAX, INT8_MIN, clamp } from './clamp.js';
import { roundHalfEven } from './round-half-even.js';

const f = Math.fround;

/** float32(1 / scale): the multiplier QUANTIZE uses. */
export function inverseScale(scale: number): number {
  return f(1 / scale);
}

/**
 * One float32 value to int8 with a precomputed `invScale` = {@link inverseScale}(scale); `lo` / `hi`
 * widen the saturation for a wide (e.g. 12-bit) quantized observation.
 */
export function quantize(x: number, invScale: number, zeroPoint: number, lo = INT8_MIN, hi = INT8_MAX): number {
  return clamp(roundHalfEven(f(x * invScale)) + zeroPoint, lo, hi);
}
