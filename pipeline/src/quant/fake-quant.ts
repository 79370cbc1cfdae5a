/**
 * Fake quantization for quantization-aware training: float values rounded onto the int8 grid the
 * integer forward uses (same rounding as forwardInt8: weights per output channel symmetric, round
 * half away as quantizeWeightsPerChannel; activations nearbyint(x * float32(1/scale)) + zp,
 * saturated), then dequantized back to float. Training runs the float net on these values and lets
 * gradients pass straight through (the straight-through estimator, Bengio et al. 2013; Jacob et al.
 * 2018), except where a value saturated: there the int8 output does not move with the input, so the
 * gradient is 0.
 */
import { INT8_MAX, INT8_MIN, clamp } from './ops/clamp.js';
import { roundHalfAway } from './ops/round-half-away.js';
import { roundHalfEven } from './ops/round-half-even.js';
import { inverseScale } from './ops/quantize.js';
import type { ActivationParams } from './int8.js';

const f = Math.fround;

/**
 * w (row-major [outDim][inDim]) -> dequantized int8 weights in `out`: per row s = float32(max|w| / 127)
 * (1 for an all-zero row), q = clamp(round_half_away(w / s), -127, 127), out = float32(q * s).
 */
export function fakeQuantWeights(w: Float32Array, outDim: number, inDim: number, out: Float32Array): Float32Array {
  for (let c = 0; c < outDim; c++) {
    const o = c * inDim;
    let maxAbs = 0;
    for (let k = 0; k < inDim; k++) maxAbs = Math.max(maxAbs, Math.abs(w[o + k]));
    const s = maxAbs > 0 ? f(maxAbs / 127) : 1;
    for (let k = 0; k < inDim; k++) out[o + k] = f(clamp(roundHalfAway(w[o + k] / s), -127, 127) * s);
  }
  return out;
}

/** One activation onto the int8 grid of `p` (saturating at [lo, 127]) and back to float32. */
export function fakeQuantValue(x: number, p: ActivationParams, lo: number = INT8_MIN): number {
  const q = clamp(roundHalfEven(f(x * inverseScale(p.scale))) + p.zeroPoint, lo, INT8_MAX);
  return f((q - p.zeroPoint) * p.scale);
}

/**
 * In place over the first n values of x, saturating at [lo, hi] (wider than int8 for a wide input). `pass[i]` (when given) becomes the straight-through
 * gradient gate: 1 where the value was inside the grid's range, 0 where it saturated.
 */
export function fakeQuantActivations(x: Float32Array, n: number, p: ActivationParams, pass: Uint8Array | null, lo: number = INT8_MIN, hi: number = INT8_MAX): void {
  const inv = inverseScale(p.scale);
  const { zeroPoint: zp, scale } = p;
  for (let i = 0; i < n; i++) {
    const r = roundHalfEven(f(x[i] * inv)) + zp;
    const q = r < lo ? lo : r > hi ? hi : r;
    if (pass) pass[i] = r === q ? 1 : 0;
    x[i] = f((q - zp) * scale);
  }
}

/** Straight-through backward: grad[i] *= pass[i]. */
export function straightThrough(grad: Float32Array, pass: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) if (pass[i] === 0) grad[i] = 0;
}
