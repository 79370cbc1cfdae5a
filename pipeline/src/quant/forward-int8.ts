/**
 * Integer-semantics reference forward of a QuantizedPolicy: what an int8 runtime computes, so an
 * exported int8 artifact can be checked value for value.
 *
 * Two requantization rules exist in the wild:
 *
 * - `fp32` (XNNPACK, which LiteRT runs on CPU; onnxruntime's MLAS does the same): per output
 *   channel a float32 multiplier m[c] = (inScale * wScale[c]) / outScale evaluated in float32
 *   (left to right, each step rounded), then
 *       y = clamp(nearbyint(float32(float32(acc) * m[c])) + outZp, actMin, 127)
 *   with round-half-to-even (XNNPACK's "magic bias" trick / lrintf). acc is the int32
 *   sum of (x - inZp) * w plus the int32 bias.
 *
 * - `fixedpoint` (TFLite's reference/optimized builtin kernels, gemmlowp): the double
 *   inScale * wScale / outScale is split into a Q31 multiplier and a shift
 *   (QuantizeMultiplier), then MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul
 *   (round half away from zero on the high 32 bits) followed by RoundingDivideByPOT (round half
 *   away from zero), then + outZp and clamp.
 *
 * The edges follow the same split: QUANTIZE is nearbyint(x * float32(1/scale)) + zp under `fp32`,
 * round-half-away(x / scale) + zp under `fixedpoint`; DEQUANTIZE is float32((q - zp) * scale);
 * int8 TANH / LOGISTIC are 256-entry tables built from the float function (XNNPACK evaluates
 * tanhf in float32 and the logistic in double; we use Math.tanh/Math.exp rounded to float32).
 */
import { argmaxRow, squashConstants } from '../ir/forward.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { inputBounds, type ActivationParams } from './int8.js';
import { INT8_MAX, INT8_MIN, clamp } from './ops/clamp.js';
import { roundHalfAway } from './ops/round-half-away.js';
import { inverseScale, quantize } from './ops/quantize.js';
import { dequantize as dequantizeOp } from './ops/dequantize.js';
import { requantize } from './ops/requantize.js';
import { accumulate } from './ops/accumulate.js';
import { lookupTable } from './ops/lookup-table.js';
import { planInt8, type Int8LayerPlan } from './plan.js';
import type { QuantizedLayer, QuantizedPolicy } from './types.js';

const f = Math.fround;
const INT32_MIN = -2147483648;

export type RequantizationRule = 'fp32' | 'fixedpoint';

export interface ForwardInt8Options {
  /** Default `fp32` (XNNPACK / LiteRT on CPU, onnxruntime). */
  readonly rule?: RequantizationRule;
}

export interface Int8Trace {
  /** The quantized (normalized) observation (Int16Array for a wide input). */
  readonly input: Int8Array | Int16Array;
  /** Each layer's int8 output (after TANH / LOGISTIC where present). */
  readonly layers: Int8Array[];
}

/** Float32 obs -> int8 (or a `bits`-wide integer) with the QUANTIZE op's rounding. */
export function quantizeInput(x: number, p: ActivationParams, rule: RequantizationRule, bits = 8): number {
  const { min, max } = inputBounds(bits);
  if (rule === 'fp32') return quantize(x, inverseScale(p.scale), p.zeroPoint, min, max);
  return clamp(roundHalfAway(x / p.scale) + p.zeroPoint, min, max);
}

export function dequantize(q: number, p: ActivationParams): number {
  return dequantizeOp(q, p.scale, p.zeroPoint);
}

// ---- gemmlowp fixed point (TFLite builtin kernels) ----

/** TFLite QuantizeMultiplier: double -> (Q31 multiplier, shift) with m * 2^shift == x. */
export function quantizeMultiplier(x: number): { multiplier: number; shift: number } {
  if (x === 0) return { multiplier: 0, shift: 0 };
  // frexp: x = q * 2^shift, q in [0.5, 1)
  let shift = Math.ceil(Math.log2(x));
  let q = x / 2 ** shift;
  if (q >= 1) {
    q /= 2;
    shift += 1;
  } else if (q < 0.5) {
    q *= 2;
    shift -= 1;
  }
  let qFixed = Math.round(q * 2 ** 31); // std::round: positive, so half up == half away
  if (qFixed === 2 ** 31) {
    qFixed /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: qFixed, shift };
}

function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // Division truncating toward zero, as C++ int64 division.
  return Number((ab + nudge) / (1n << 31n));
}

function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = 2 ** exponent - 1;
  const remainder = Number(BigInt(x) & BigInt(mask));
  const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
  return Math.floor(x / 2 ** exponent) + (remainder > threshold ? 1 : 0);
}

export function multiplyByQuantizedMultiplier(acc: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const shifted = clamp(acc * 2 ** left, INT32_MIN, 2147483647);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), right);
}

// ---- layers ----

/** 256-entry table of an int8 TANH / LOGISTIC: index q + 128. */
export function activationTable(
  kind: 'tanh' | 'sigmoid',
  input: ActivationParams,
  output: ActivationParams,
  rule: RequantizationRule,
): Int8Array {
  return lookupTable(kind, input, output, rule === 'fp32' ? 'even' : 'away');
}

/** gemmlowp rule: Q31 multiplier and shift per channel, table rounded half away. */
interface FixedPointLayer {
  readonly layer: QuantizedLayer;
  readonly fixed: { multiplier: number; shift: number }[];
  readonly actMin: number;
  readonly lut: Int8Array | null;
}

function prepareFixedPoint(layer: QuantizedLayer): FixedPointLayer {
  const fixed: { multiplier: number; shift: number }[] = [];
  for (let c = 0; c < layer.outDim; c++) {
    fixed.push(quantizeMultiplier((layer.input.scale * layer.weightScales[c]) / layer.output.scale));
  }
  const actMin = layer.activation === 'relu' ? Math.max(INT8_MIN, layer.output.zeroPoint) : INT8_MIN;
  const lut =
    layer.activation === 'tanh' || layer.activation === 'sigmoid'
      ? activationTable(layer.activation, layer.output, layer.activationOutput!, 'fixedpoint')
      : null;
  return { layer, fixed, actMin, lut };
}

function runFixedPoint(p: FixedPointLayer, x: ArrayLike<number>): Int8Array {
  const { inDim, outDim, weight, bias, input, output } = p.layer;
  const y = new Int8Array(outDim);
  for (let c = 0; c < outDim; c++) {
    const acc = accumulate(bias[c], x, input.zeroPoint, weight, c * inDim, inDim);
    const r = multiplyByQuantizedMultiplier(acc, p.fixed[c].multiplier, p.fixed[c].shift);
    let q = clamp(r + output.zeroPoint, p.actMin, INT8_MAX);
    if (p.lut) q = p.lut[q + 128];
    y[c] = q;
  }
  return y;
}

/** One int8 layer under the float32 rule: accumulate, requantize, table. */
export function runLayerInt8(p: Int8LayerPlan, x: ArrayLike<number>): Int8Array {
  const y = new Int8Array(p.outDim);
  for (let c = 0; c < p.outDim; c++) {
    const acc = accumulate(p.bias[c], x, p.inZeroPoint, p.weight, c * p.inDim, p.inDim);
    let q = requantize(acc, p.multipliers[c], p.outZeroPoint, p.actMin, p.actMax);
    if (p.lut) q = p.lut[q + 128];
    y[c] = q;
  }
  return y;
}

/**
 * Run the int8 policy on `batch` raw observations (row-major); returns batch * outDim float32
 * values with the same meaning as the float model's output (logits / q_values / action).
 */
export function forwardInt8(
  qp: QuantizedPolicy,
  obs: Float32Array,
  batch = 1,
  opts: ForwardInt8Options = {},
): Float32Array {
  return forwardInt8Traced(qp, obs, batch, opts).output;
}

/** forwardInt8, also returning every int8 tensor of the last observation (for debugging). */
export function forwardInt8Traced(
  qp: QuantizedPolicy,
  obs: Float32Array,
  batch = 1,
  opts: ForwardInt8Options = {},
): { output: Float32Array; trace: Int8Trace } {
  const rule = opts.rule ?? 'fp32';
  const model = qp.model;
  const d = model.obsDim;
  if (obs.length !== batch * d) {
    throw new EdgeDistillError('BAD_OBSERVATION', `expected ${batch} x ${d} observation values, got ${obs.length}`, {
      field: 'obs',
    });
  }
  const plan = rule === 'fp32' ? planInt8(qp) : null;
  const fixed = rule === 'fp32' ? [] : qp.layers.map(prepareFixedPoint);
  const bits = qp.inputBits ?? 8;
  inputBounds(bits); // refuses an unsupported width before any work
  const run = (x0: Int8Array | Int16Array): Int8Array[] => {
    const outs: Int8Array[] = [];
    let x: ArrayLike<number> = x0;
    if (plan) for (const p of plan.layers) outs.push((x = runLayerInt8(p, x)));
    else for (const p of fixed) outs.push((x = runFixedPoint(p, x)));
    return outs;
  };
  const last = qp.layers[qp.layers.length - 1];
  const lastParams = last.activationOutput ?? last.output;
  const outDim = last.outDim;
  const out = new Float32Array(batch * outDim);
  const sq = model.head.kind === 'continuous' && model.head.squash === 'tanh' ? squashConstants(model.head) : null;
  let trace: Int8Trace = { input: new Int8Array(0), layers: [] };

  for (let b = 0; b < batch; b++) {
    const xq = bits === 8 ? new Int8Array(d) : new Int16Array(d);
    for (let i = 0; i < d; i++) {
      let v = obs[b * d + i];
      const norm = model.obsNorm;
      if (norm) {
        v = f(f(v - norm.mean[i]) / norm.std[i]);
        // The artifacts store the clip bound as float32.
        if (norm.clip !== null) v = Math.max(Math.min(v, f(norm.clip)), -f(norm.clip));
      }
      xq[i] = quantizeInput(v, qp.input, rule, bits);
    }
    const layerOuts = run(xq);
    const x = layerOuts[layerOuts.length - 1];
    for (let c = 0; c < outDim; c++) {
      let v = dequantize(x[c], lastParams);
      if (model.head.kind === 'continuous') {
        if (sq) v = f(f(f(Math.tanh(v)) * sq.scale[c]) + sq.offset[c]);
        v = Math.max(Math.min(v, model.head.high[c]), model.head.low[c]);
      }
      out[b * outDim + c] = v;
    }
    trace = { input: xq, layers: layerOuts };
  }
  return { output: out, trace };
}

/** Fraction of rows whose argmax agrees between two [rows][width] outputs. */
export function argmaxAgreement(a: Float32Array, b: Float32Array, width: number): number {
  const rows = a.length / width;
  let same = 0;
  for (let r = 0; r < rows; r++) if (argmaxRow(a, width, r) === argmaxRow(b, width, r)) same++;
  return rows === 0 ? 1 : same / rows;
}
