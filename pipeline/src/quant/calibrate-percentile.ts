/**
 * int8 calibration with a choice of range estimator, and quantization with given ranges.
 *
 * - `minmax`: each tensor's range is its smallest and largest value over the calibration set (what
 *   quantizePolicy does).
 * - `percentile` (e.g. 99.99): the range runs from the (100 - p)th to the pth percentile of the
 *   tensor's values (numpy's linear interpolation), so a few outliers do not stretch the scale of
 *   every other value. Values outside saturate.
 * - The output layer always uses min-max widened by `outputMargin` x its width on both sides, so the
 *   logits / actions the head reads are not clipped (an argmax between two saturated logits is a
 *   coin toss; a clipped action is a different action).
 *
 * Ranges are separate from quantization (quantizeWithRanges) so that quantization-aware training can
 * fix the activation ranges, train through them, and ship exactly those.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { denseForward, normalizeObs } from '../ir/forward.js';
import type { Activation, PolicyModel } from '../ir/types.js';
import { validatePolicy } from '../ir/validate.js';
import {
  FLOAT32_EXACT_INT,
  LOGISTIC_OUTPUT,
  TANH_OUTPUT,
  chooseActivationParams,
  chooseWideInputParams,
  inputBounds,
  wideAccBound,
  quantizeBias,
  quantizeWeightsPerChannel,
  type ActivationParams,
} from './int8.js';
import type { QuantizedLayer, QuantizedPolicy } from './types.js';

export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  /** Default 'percentile'. */
  readonly method?: CalibrationMethod;
  /** For 'percentile': p in (50, 100]; default 99.99. */
  readonly percentile?: number;
  /** Output layer: min-max widened by this fraction of its width on each side; default 0.1. */
  readonly outputMargin?: number;
  /** A fixed range for the normalized observation (e.g. [-1, 1] after input equalization). */
  readonly inputRange?: readonly [number, number];
  /** Bits of the quantized observation (default 8; wider: symmetric, see QuantizedPolicy.inputBits). */
  readonly inputBits?: number;
}

/** The float ranges every int8 tensor is quantized over. */
export interface CalibratedRanges {
  /** Normalized observation. */
  readonly input: readonly [number, number];
  /** Per layer: the FULLY_CONNECTED output (post-ReLU for relu layers, pre-activation otherwise). */
  readonly layers: readonly (readonly [number, number])[];
  readonly method: CalibrationMethod;
  readonly percentile: number | null;
  readonly outputMargin: number;
  readonly samples: number;
  /** Bits of the quantized observation (absent: 8). */
  readonly inputBits?: number;
}

/** Smallest and largest value (NaN-free input). */
export function minMaxRange(a: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** The q-th percentile (0..100) of sorted values, numpy's default linear interpolation. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (q / 100) * (n - 1);
  const i = Math.floor(pos);
  const t = pos - i;
  return i + 1 < n ? sorted[i] + t * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/** [(100 - p)th percentile, pth percentile] of the values: the central p - (100 - p) percent. */
export function percentileRange(values: ArrayLike<number>, p: number): [number, number] {
  if (!(p > 50 && p <= 100)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `percentile must be in (50, 100], got ${p}`, { field: 'percentile' });
  }
  const sorted = Float64Array.from(values).sort();
  return [percentileOfSorted(sorted, 100 - p), percentileOfSorted(sorted, p)];
}

/** [lo, hi] widened by margin x (hi - lo) on both sides. */
export function widenRange([lo, hi]: readonly [number, number], margin: number): [number, number] {
  const w = hi - lo;
  return [lo - margin * w, hi + margin * w];
}

function applyActivation(a: Activation, x: Float32Array): Float32Array {
  if (a === 'none') return x;
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = a === 'relu' ? (v > 0 ? v : 0) : a === 'tanh' ? Math.tanh(v) : 1 / (1 + Math.exp(-v));
  }
  return y;
}

/** Same checks (and errors) as quantizePolicy. */
function checkCalibration(model: PolicyModel, calibration: Float32Array): number {
  const d = model.obsDim;
  if (!(calibration instanceof Float32Array) || calibration.length === 0 || calibration.length % d !== 0) {
    throw new EdgeDistillError(
      'BAD_ARGUMENT',
      `calibration must be a non-empty Float32Array of samples x ${d} observation values, got ${calibration?.length ?? 'none'}`,
      { field: 'calibration' },
    );
  }
  const bad = calibration.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new EdgeDistillError('BAD_OBSERVATION', `calibration observation ${Math.floor(bad / d)} has ${calibration[bad]} at index ${bad % d}`, {
      field: 'calibration',
    });
  }
  return calibration.length / d;
}

/** Runs the float model over raw calibration observations and returns every int8 tensor's range. */
export function calibrateRanges(model: PolicyModel, calibration: Float32Array, opts: CalibrationOptions = {}): CalibratedRanges {
  validatePolicy(model);
  const method = opts.method ?? 'percentile';
  const p = method === 'percentile' ? (opts.percentile ?? 99.99) : null;
  const margin = opts.outputMargin ?? 0.1;
  if (!(margin >= 0) || !Number.isFinite(margin)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `outputMargin must be a number >= 0, got ${margin}`, { field: 'outputMargin' });
  }
  const n = checkCalibration(model, calibration);
  const rangeOf = (a: Float32Array): [number, number] => (p === null ? minMaxRange(a) : percentileRange(a, p));
  let x = model.obsNorm ? normalizeObs(model.obsNorm, calibration, n, model.obsDim) : calibration;
  const input: readonly [number, number] = opts.inputRange ? [opts.inputRange[0], opts.inputRange[1]] : rangeOf(x);
  const layers: [number, number][] = [];
  const last = model.layers.length - 1;
  model.layers.forEach((layer, i) => {
    const pre = denseForward({ ...layer, activation: 'none' }, x, n);
    const post = applyActivation(layer.activation, pre);
    const t = layer.activation === 'relu' ? post : pre;
    let r = i === last ? widenRange(minMaxRange(t), margin) : rangeOf(t);
    if (!Number.isFinite(r[0]) || !Number.isFinite(r[1])) {
      throw new EdgeDistillError('BAD_MODEL', `layer ${i} produces non-finite values on the calibration set`, { field: `layers.${i}` });
    }
    if (layer.activation === 'relu') r = [Math.max(r[0], 0), r[1]];
    layers.push(r);
    x = post;
  });
  const inputBits = opts.inputBits ?? 8;
  inputBounds(inputBits);
  return { input, layers, method, percentile: p, outputMargin: margin, samples: n, inputBits };
}

/**
 * int8 parameters of every activation tensor from ranges: the input (with its saturation bounds,
 * wider than int8 for a wide input) and each layer's FC output.
 */
export function activationParamsOf(ranges: CalibratedRanges): { input: ActivationParams; inputMin: number; inputMax: number; outputs: ActivationParams[] } {
  const bits = ranges.inputBits ?? 8;
  const { min, max } = inputBounds(bits);
  const input = bits === 8 ? chooseActivationParams(...ranges.input) : chooseWideInputParams(ranges.input[0], ranges.input[1], bits);
  return { input, inputMin: min, inputMax: max, outputs: ranges.layers.map((r) => chooseActivationParams(r[0], r[1])) };
}

/** Quantizes `model` (weights per channel from its current values) over the given activation ranges. */
export function quantizeWithRanges(model: PolicyModel, ranges: CalibratedRanges): QuantizedPolicy {
  validatePolicy(model);
  if (ranges.layers.length !== model.layers.length) {
    throw new EdgeDistillError('BAD_ARGUMENT', `ranges cover ${ranges.layers.length} layers, the model has ${model.layers.length}`, { field: 'ranges' });
  }
  const { input, inputMax, outputs } = activationParamsOf(ranges);
  const inputBits = ranges.inputBits ?? 8;
  let inParams: ActivationParams = input;
  const layers: QuantizedLayer[] = model.layers.map((layer, i) => {
    const output = outputs[i];
    const w = quantizeWeightsPerChannel(layer.weight, layer.outDim, layer.inDim);
    const b = quantizeBias(layer.bias, inParams.scale, w.scales);
    if (i === 0 && inputBits !== 8) {
      // The exporters compute the wide layer in float and hand int8 on: they need another layer
      // after it, and no int8 TANH / LOGISTIC on it (TFLite builds that table from the scale).
      if (model.layers.length < 2 || (layer.activation !== 'relu' && layer.activation !== 'none')) {
        throw new EdgeDistillError('UNSUPPORTED', `a ${inputBits}-bit input needs a relu or linear first layer followed by another layer`, {
          field: 'inputBits',
          suggestion: 'use 8-bit input quantization for this model',
        });
      }
      // Exporters compute this layer in float32: every partial sum must be an exact integer there.
      const bound = wideAccBound(w.q, b.q, layer.outDim, layer.inDim, inputMax);
      if (bound >= FLOAT32_EXACT_INT) {
        throw new EdgeDistillError('BAD_MODEL', `a ${inputBits}-bit input needs the first layer's |partial sums| below 2^24 (float32-exact), they reach ${bound}`, {
          field: 'inputBits',
          suggestion: 'use 8-bit input quantization for this model',
        });
      }
    }
    const activationOutput = layer.activation === 'tanh' ? TANH_OUTPUT : layer.activation === 'sigmoid' ? LOGISTIC_OUTPUT : null;
    const q: QuantizedLayer = {
      inDim: layer.inDim,
      outDim: layer.outDim,
      activation: layer.activation,
      weight: w.q,
      weightScales: w.scales,
      bias: b.q,
      biasScales: b.scales,
      input: inParams,
      output,
      activationOutput,
    };
    inParams = activationOutput ?? output;
    return q;
  });
  return { model, input, layers, calibrationSamples: ranges.samples, ...(inputBits !== 8 ? { inputBits } : {}) };
}

/** Post-training quantization with the chosen calibration (percentile 99.99 + 10% output margin by default). */
export function quantizePolicyCalibrated(model: PolicyModel, calibration: Float32Array, opts: CalibrationOptions = {}): QuantizedPolicy {
  return quantizeWithRanges(model, calibrateRanges(model, calibration, opts));
}
