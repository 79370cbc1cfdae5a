/**
 * The int8 execution plan of a QuantizedPolicy under the float32 requantization rule (XNNPACK /
 * LiteRT, onnxruntime MLAS): every constant an int8 kernel derives from the file's scales, computed
 * once, here. forwardInt8 runs it; the ONNX, JS and C exporters embed it, so all of them compute the
 * same integers.
 */
import { INT8_MAX, INT8_MIN } from './ops/clamp.js';
import { inverseScale } from './ops/quantize.js';
import { requantMultiplier } from './ops/requantize.js';
import { lookupTable } from './ops/lookup-table.js';
import { biasWithZeroPoint } from './ops/accumulate.js';
import { inputBounds, type ActivationParams } from './int8.js';
import type { QuantizedPolicy } from './types.js';

export interface Int8LayerPlan {
  readonly inDim: number;
  readonly outDim: number;
  /** Row-major [outDim][inDim], symmetric (zero point 0). */
  readonly weight: Int8Array;
  readonly bias: Int32Array;
  readonly inZeroPoint: number;
  /** Requantization multiplier per output channel: float32(float32(inS * wS[c]) / outS). */
  readonly multipliers: Float32Array;
  readonly outZeroPoint: number;
  /** Saturation bounds after requantization: a fused ReLU raises the minimum to the zero point. */
  readonly actMin: number;
  readonly actMax: number;
  /** TANH / LOGISTIC table (index q + 128) applied after requantization, else null. */
  readonly lut: Int8Array | null;
  /** Parameters of this layer's final int8 output (the table's output when there is one). */
  readonly output: ActivationParams;
  /** bias[c] - inZeroPoint * sum_k w[c][k]: then acc = foldedBias[c] + sum_k x[k] * w[c][k]. */
  readonly foldedBias: Float64Array;
  /** Largest |acc| any int8 input can give: generated code may skip float32(acc) below 2^24. */
  readonly accBound: number;
}

export interface Int8Plan {
  /** float32(1 / input.scale) and the input zero point: QUANTIZE of the normalized observation. */
  readonly inputInvScale: number;
  readonly input: ActivationParams;
  /** Bits of the quantized observation (8, or wider: see QuantizedPolicy.inputBits). */
  readonly inputBits: number;
  /** Saturation bounds of the quantized observation ([-128, 127] at 8 bits). */
  readonly inputMin: number;
  readonly inputMax: number;
  readonly layers: readonly Int8LayerPlan[];
  /** DEQUANTIZE parameters of the last layer's output. */
  readonly output: ActivationParams;
}

export function planInt8(qp: QuantizedPolicy): Int8Plan {
  const inputBits = qp.inputBits ?? 8;
  const { min: inputMin, max: inputMax } = inputBounds(inputBits);
  const layers = qp.layers.map((l, i): Int8LayerPlan => {
    // Largest |x - zp| of the layer's input: 255 for int8, the symmetric bound of a wide input.
    const span = i === 0 && inputBits !== 8 ? inputMax : 255;
    const multipliers = new Float32Array(l.outDim);
    const foldedBias = new Float64Array(l.outDim);
    let accBound = 0;
    for (let c = 0; c < l.outDim; c++) {
      foldedBias[c] = biasWithZeroPoint(l.bias[c], l.input.zeroPoint, l.weight, c * l.inDim, l.inDim);
      let sumAbs = 0;
      for (let k = 0; k < l.inDim; k++) sumAbs += Math.abs(l.weight[c * l.inDim + k]);
      // The unfolded form bounds the true accumulator.
      accBound = Math.max(accBound, Math.abs(l.bias[c]) + span * sumAbs);
    }
    for (let c = 0; c < l.outDim; c++) multipliers[c] = requantMultiplier(l.input.scale, l.weightScales[c], l.output.scale);
    const lut =
      l.activation === 'tanh' || l.activation === 'sigmoid' ? lookupTable(l.activation, l.output, l.activationOutput!, 'even') : null;
    return {
      inDim: l.inDim,
      outDim: l.outDim,
      weight: l.weight,
      bias: l.bias,
      inZeroPoint: l.input.zeroPoint,
      multipliers,
      outZeroPoint: l.output.zeroPoint,
      actMin: l.activation === 'relu' ? Math.max(INT8_MIN, l.output.zeroPoint) : INT8_MIN,
      actMax: INT8_MAX,
      lut,
      output: l.activationOutput ?? l.output,
      foldedBias,
      accBound,
    };
  });
  return { inputInvScale: inverseScale(qp.input.scale), input: qp.input, inputBits, inputMin, inputMax, layers, output: layers[layers.length - 1].output };
}
