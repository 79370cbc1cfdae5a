/**
 * Shared int8 quantization math (TFLite / ONNX QDQ conventions):
 * - weights: symmetric per output channel, int8 in [-127, 127], zero point 0;
 * - activations: asymmetric per tensor, int8 in [-128, 127], real = scale * (q - zeroPoint);
 * - bias: int32 with scale = float32(inScale) * float32(weightScale[c]) exactly, zero point 0.
 * Scales are float32 values (what the files store), returned as JS numbers that are exactly
 * representable in float32.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { INT8_MAX, INT8_MIN, clamp } from './ops/clamp.js';
import { roundHalfAway } from './ops/round-half-away.js';

// The rounding and saturation ops live in ./ops (one per file); re-exported for existing callers.
export { INT8_MAX, INT8_MIN, clamp } from './ops/clamp.js';
export { roundHalfAway } from './ops/round-half-away.js';
export { roundHalfEven } from './ops/round-half-even.js';

const f = Math.fround;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export interface ActivationParams {
  /** float32 scale, > 0. */
  readonly scale: number;
  /** int8 zero point. */
  readonly zeroPoint: number;
}

/**
 * Symmetric per-output-channel int8 weights for a row-major [outDim][inDim] matrix:
 * scale[c] = max|W[c,:]| / 127, q = round(W / scale) in [-127, 127]. An all-zero row gets scale 1
 * (any positive scale represents it; 1 keeps the bias scale equal to the input scale).
 */
export function quantizeWeightsPerChannel(
  weight: Float32Array,
  outDim: number,
  inDim: number,
): { q: Int8Array; scales: Float32Array } {
  if (weight.length !== outDim * inDim) {
    throw new EdgeDistillError('BAD_ARGUMENT', `weight has ${weight.length} values, expected ${outDim} x ${inDim}`, {
      field: 'weight',
    });
  }
  const q = new Int8Array(weight.length);
  const scales = new Float32Array(outDim);
  for (let c = 0; c < outDim; c++) {
    let maxAbs = 0;
    for (let k = 0; k < inDim; k++) maxAbs = Math.max(maxAbs, Math.abs(weight[c * inDim + k]));
    if (!Number.isFinite(maxAbs)) {
      throw new EdgeDistillError('BAD_MODEL', `weight row ${c} has a non-finite value`, { field: 'weight' });
    }
    const s = maxAbs > 0 ? f(maxAbs / 127) : 1;
    scales[c] = s;
    for (let k = 0; k < inDim; k++) {
      q[c * inDim + k] = clamp(roundHalfAway(weight[c * inDim + k] / s), -127, 127);
    }
  }
  return { q, scales };
}

/**
 * Asymmetric int8 parameters covering [min, max] widened to include 0 (so 0 is exact: padding,
 * ReLU). TFLite's nudging: scale = (max - min) / 255, zeroPoint = round(-128 - min / scale)
 * clamped to int8. A zero-width range (e.g. a dead ReLU layer) gets scale 1/255 over [0, 1].
 */
export function chooseActivationParams(min: number, max: number): ActivationParams {
  if (Number.isNaN(min) || Number.isNaN(max) || !Number.isFinite(min) || !Number.isFinite(max)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `activation range must be finite, got [${min}, ${max}]`, {
      field: 'calibration',
      suggestion: 'check the calibration observations for NaN/Inf, or the model for overflow',
    });
  }
  if (min > max) {
    throw new EdgeDistillError('BAD_ARGUMENT', `activation range is empty: [${min}, ${max}]`, { field: 'calibration' });
  }
  const lo = Math.min(min, 0);
  let hi = Math.max(max, 0);
  if (hi - lo === 0) hi = 1;
  const scale = f((hi - lo) / 255);
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `activation range [${min}, ${max}] has no usable int8 scale`, {
      field: 'calibration',
    });
  }
  const zeroPoint = clamp(roundHalfAway(INT8_MIN - lo / scale), INT8_MIN, INT8_MAX);
  return { scale, zeroPoint };
}

/** Bias scale of a per-channel FULLY_CONNECTED: float32(inScale) * float32(wScale), in float32. */
export function biasScale(inScale: number, wScale: number): number {
  return f(f(inScale) * f(wScale));
}

/** int32 bias: round(b / (inScale * wScale[c])). */
export function quantizeBias(bias: Float32Array, inScale: number, wScales: Float32Array): { q: Int32Array; scales: Float32Array } {
  const q = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = biasScale(inScale, wScales[c]);
    scales[c] = s;
    const v = roundHalfAway(bias[c] / s);
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      throw new EdgeDistillError('BAD_MODEL', `bias ${c} (${bias[c]}) does not fit int32 at scale ${s}`, {
        field: 'bias',
        suggestion: 'the input activation range is too narrow for this bias; calibrate on more varied observations',
      });
    }
    q[c] = v;
  }
  return { q, scales };
}

/** Fixed output parameters TFLite requires for int8 TANH and LOGISTIC. */
export const TANH_OUTPUT: ActivationParams = { scale: 1 / 128, zeroPoint: 0 };
export const LOGISTIC_OUTPUT: ActivationParams = { scale: 1 / 256, zeroPoint: -128 };

/** Input widths a QuantizedPolicy can declare (8: asymmetric int8; wider: symmetric, zero point 0). */
export const MIN_INPUT_BITS = 8;
export const MAX_INPUT_BITS = 16;

/** Largest magnitude of the exactness budget of the wide first layer: float32 integers are exact below 2^24. */
export const FLOAT32_EXACT_INT = 2 ** 24;

/** Saturation bounds of the quantized observation: [-128, 127] at 8 bits, +-(2^(bits-1) - 1) wider. */
export function inputBounds(bits = 8): { min: number; max: number } {
  if (!Number.isInteger(bits) || bits < MIN_INPUT_BITS || bits > MAX_INPUT_BITS) {
    throw new EdgeDistillError('BAD_ARGUMENT', `input bits must be an integer in [${MIN_INPUT_BITS}, ${MAX_INPUT_BITS}], got ${bits}`, { field: 'inputBits' });
  }
  if (bits === 8) return { min: INT8_MIN, max: INT8_MAX };
  const max = 2 ** (bits - 1) - 1;
  return { min: -max, max };
}

/**
 * Symmetric parameters of a wide (bits > 8) quantized observation covering [min, max]: zero point 0,
 * scale = float32(max(|min|, |max|) / (2^(bits-1) - 1)); a zero range gets the scale of [-1, 1].
 */
export function chooseWideInputParams(min: number, max: number, bits: number): ActivationParams {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `activation range must be finite, got [${min}, ${max}]`, { field: 'calibration' });
  }
  if (min > max) throw new EdgeDistillError('BAD_ARGUMENT', `activation range is empty: [${min}, ${max}]`, { field: 'calibration' });
  const q = inputBounds(bits).max;
  const a = Math.max(Math.abs(min), Math.abs(max)) || 1;
  const scale = f(a / q);
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `activation range [${min}, ${max}] has no usable ${bits}-bit scale`, { field: 'calibration' });
  }
  return { scale, zeroPoint: 0 };
}

/**
 * Largest |partial sum| of a wide-input layer's row c in any summation order: qMax * sum|w| + |b|.
 * Below 2^24 float32 holds every such sum exactly.
 */
export function wideAccBound(weight: ArrayLike<number>, bias: ArrayLike<number>, outDim: number, inDim: number, qMax: number): number {
  let bound = 0;
  for (let c = 0; c < outDim; c++) {
    let s = 0;
    for (let k = 0; k < inDim; k++) s += Math.abs(weight[c * inDim + k]);
    bound = Math.max(bound, qMax * s + Math.abs(bias[c]));
  }
  return bound;
}
