/**
 * Lowers a PolicyModel (float) or a QuantizedPolicy (int8) to a TFLite GraphSpec.
 *
 *   obs [B, obsDim] float32
 *   -> normalization: SUB mean, DIV std, MINIMUM clip, MAXIMUM -clip          (float32)
 *   -> [int8: QUANTIZE]
 *   -> per layer: FULLY_CONNECTED (fused RELU | NONE) [+ TANH | LOGISTIC as separate ops]
 *   -> [int8: DEQUANTIZE]
 *   -> continuous head: [TANH, MUL scale, ADD offset], MINIMUM high, MAXIMUM low   (float32)
 *   -> output named logits / q_values / action
 *
 * TANH and LOGISTIC are never fused into FULLY_CONNECTED: LiteRT accepts a fused TANH and silently
 * returns garbage. fp16 stores FULLY_CONNECTED weights and biases as float16 constants, each
 * expanded by a DEQUANTIZE op (what the TFLite converter emits for float16 quantization).
 */
import { squashConstants } from '../../ir/forward.js';
import { outputName, type PolicyModel } from '../../ir/types.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { QuantizedPolicy } from '../../quant/types.js';
import { FLOAT32_EXACT_INT, wideAccBound, type ActivationParams } from '../../quant/int8.js';
import { planInt8 } from '../../quant/plan.js';
import { GraphBuilder, f16Bytes, i32Bytes, i8Bytes, type GraphSpec, type QuantSpec } from './graph.js';
import { toFloat16Array } from './float16.js';
import { ActivationFunctionType, BuiltinOperator, BuiltinOptionsType, TensorType } from './schema.js';

export type TfliteVariant = 'fp32' | 'int8' | 'fp16';

export interface LowerOptions {
  /**
   * Batch dimension of `obs`: a fixed size (default 1), or `'dynamic'` (shape [1, obsDim] with
   * shape_signature [-1, obsDim]; LiteRT.js 2.5 cannot run those).
   */
  readonly batch?: number | 'dynamic';
  readonly description?: string;
}

const SIGNATURE_KEY = 'serving_default';
const INPUT_NAME = 'obs';

function perTensor(p: ActivationParams): QuantSpec {
  return { scale: [p.scale], zeroPoint: [p.zeroPoint] };
}

function inputTensor(g: GraphBuilder, obsDim: number, batch: number | 'dynamic'): number {
  return g.tensor({
    name: INPUT_NAME,
    type: TensorType.FLOAT32,
    shape: [batch === 'dynamic' ? 1 : batch, obsDim],
    ...(batch === 'dynamic' ? { shapeSignature: [-1, obsDim] } : {}),
  });
}

function normalize(g: GraphBuilder, model: PolicyModel, x: number): number {
  const n = model.obsNorm;
  if (!n) return x;
  x = g.binary('SUB', x, g.constF32('obs_norm.mean', n.mean), 'obs_norm/centered');
  x = g.binary('DIV', x, g.constF32('obs_norm.std', n.std), 'obs_norm/scaled');
  if (n.clip !== null) {
    const hi = new Float32Array(model.obsDim).fill(n.clip);
    const lo = new Float32Array(model.obsDim).fill(-n.clip);
    x = g.binary('MINIMUM', x, g.constF32('obs_norm.clip_high', hi), 'obs_norm/clipped_high');
    x = g.binary('MAXIMUM', x, g.constF32('obs_norm.clip_low', lo), 'obs_norm/clipped');
  }
  return x;
}

function postProcess(g: GraphBuilder, model: PolicyModel, x: number): number {
  const h = model.head;
  if (h.kind !== 'continuous') return x;
  if (h.squash === 'tanh') {
    const t = g.activationLike(x, 'head/tanh', TensorType.FLOAT32);
    g.op({ op: BuiltinOperator.TANH, version: 1, inputs: [x], outputs: [t] });
    const { scale, offset } = squashConstants(h);
    x = g.binary('MUL', t, g.constF32('head.scale', scale), 'head/scaled');
    x = g.binary('ADD', x, g.constF32('head.offset', offset), 'head/shifted');
  }
  x = g.binary('MINIMUM', x, g.constF32('head.high', h.high), 'head/clipped_high');
  x = g.binary('MAXIMUM', x, g.constF32('head.low', h.low), 'head/clipped');
  return x;
}

function fullyConnectedOptions(fused: 'relu' | 'none') {
  return {
    type: BuiltinOptionsType.FullyConnectedOptions,
    fusedActivation: fused === 'relu' ? ActivationFunctionType.RELU : ActivationFunctionType.NONE,
  };
}

function finish(g: GraphBuilder, model: PolicyModel, input: number, output: number, variant: TfliteVariant, opts: LowerOptions): GraphSpec {
  const name = outputName(model.head);
  g.rename(output, name);
  return g.build({
    inputs: [input],
    outputs: [output],
    signatureKey: SIGNATURE_KEY,
    signatureInputs: [{ name: INPUT_NAME, tensor: input }],
    signatureOutputs: [{ name, tensor: output }],
    description: opts.description ?? `edgedistill policy (${variant})`,
  });
}

/** fp32 or fp16 graph of a float model. */
export function lowerFloat(model: PolicyModel, variant: 'fp32' | 'fp16', opts: LowerOptions = {}): GraphSpec {
  const g = new GraphBuilder();
  const input = inputTensor(g, model.obsDim, opts.batch ?? 1);
  let x = normalize(g, model, input);
  model.layers.forEach((layer, i) => {
    const at = `layers.${i}`;
    let w: number;
    let b: number;
    if (variant === 'fp16') {
      const w16 = g.tensor({
        name: `${at}.weight_fp16`,
        type: TensorType.FLOAT16,
        shape: [layer.outDim, layer.inDim],
        data: f16Bytes(toFloat16Array(layer.weight)),
      });
      const b16 = g.tensor({ name: `${at}.bias_fp16`, type: TensorType.FLOAT16, shape: [layer.outDim], data: f16Bytes(toFloat16Array(layer.bias)) });
      w = g.tensor({ name: `${at}.weight`, type: TensorType.FLOAT32, shape: [layer.outDim, layer.inDim] });
      b = g.tensor({ name: `${at}.bias`, type: TensorType.FLOAT32, shape: [layer.outDim] });
      g.op({ op: BuiltinOperator.DEQUANTIZE, version: 3, inputs: [w16], outputs: [w] });
      g.op({ op: BuiltinOperator.DEQUANTIZE, version: 3, inputs: [b16], outputs: [b] });
    } else {
      w = g.constF32(`${at}.weight`, layer.weight, [layer.outDim, layer.inDim]);
      b = g.constF32(`${at}.bias`, layer.bias, [layer.outDim]);
    }
    const y = g.activationLike(x, `${at}/fc`, TensorType.FLOAT32, layer.outDim);
    g.op({
      op: BuiltinOperator.FULLY_CONNECTED,
      version: 1,
      inputs: [x, w, b],
      outputs: [y],
      options: fullyConnectedOptions(layer.activation === 'relu' ? 'relu' : 'none'),
    });
    x = y;
    if (layer.activation === 'tanh' || layer.activation === 'sigmoid') {
      const a = g.activationLike(x, `${at}/${layer.activation}`, TensorType.FLOAT32);
      g.op({ op: layer.activation === 'tanh' ? BuiltinOperator.TANH : BuiltinOperator.LOGISTIC, version: 1, inputs: [x], outputs: [a] });
      x = a;
    }
  });
  x = postProcess(g, model, x);
  return finish(g, model, input, x, variant, opts);
}

/**
 * The quantized wide (e.g. 12-bit) observation and the first layer in float ops over integer
 * values, exact because every partial sum is an integer below 2^24 (checked when quantizing):
 *   MUL float32(1 / s_in) -> ROUND (half to even) -> MINIMUM +max -> MAXIMUM -max
 *   -> FULLY_CONNECTED float (int8 weights and int32 bias as float32 constants)
 *   -> MUL m[c] (fused RELU) -> QUANTIZE (scale 1, zp_out)                       int8
 * The int8 output is labelled scale 1 because the MUL already put it in units of s_out; the next
 * FULLY_CONNECTED takes the real scale through its weight scales. Needs a relu / linear first
 * layer followed by another layer (an int8 TANH / LOGISTIC builds its table from its input scale).
 */
function lowerWideFirstLayer(g: GraphBuilder, qp: QuantizedPolicy, normalized: number): number {
  const plan = planInt8(qp);
  const l = qp.layers[0];
  const p = plan.layers[0];
  const bound = wideAccBound(l.weight, l.bias, l.outDim, l.inDim, plan.inputMax);
  if (bound >= FLOAT32_EXACT_INT || plan.input.zeroPoint !== 0 || qp.layers.length < 2 || (l.activation !== 'relu' && l.activation !== 'none')) {
    throw new EdgeDistillError('UNSUPPORTED', `a ${plan.inputBits}-bit input needs zero point 0, a relu or linear first layer followed by another, and partial sums below 2^24 (bound ${bound})`, {
      field: 'inputBits',
    });
  }
  const d = qp.model.obsDim;
  let x = g.binary('MUL', normalized, g.constF32('obs_q.inv_scale', new Float32Array(d).fill(plan.inputInvScale)), 'obs_q/scaled');
  const r = g.activationLike(x, 'obs_q/rounded', TensorType.FLOAT32);
  g.op({ op: BuiltinOperator.ROUND, version: 1, inputs: [x], outputs: [r] });
  x = g.binary('MINIMUM', r, g.constF32('obs_q.max', new Float32Array(d).fill(plan.inputMax)), 'obs_q/clipped_high');
  x = g.binary('MAXIMUM', x, g.constF32('obs_q.min', new Float32Array(d).fill(plan.inputMin)), 'obs_q');
  const w = g.constF32('layers.0.weight', Float32Array.from(l.weight), [l.outDim, l.inDim]);
  const b = g.constF32('layers.0.bias', Float32Array.from(l.bias), [l.outDim]);
  const acc = g.activationLike(x, 'layers.0/acc', TensorType.FLOAT32, l.outDim);
  g.op({ op: BuiltinOperator.FULLY_CONNECTED, version: 1, inputs: [x, w, b], outputs: [acc], options: fullyConnectedOptions('none') });
  const m = g.constF32('layers.0.multiplier', p.multipliers, [l.outDim]);
  const scaled = g.activationLike(acc, 'layers.0/requantized', TensorType.FLOAT32);
  g.op({
    op: BuiltinOperator.MUL,
    version: 1,
    inputs: [acc, m],
    outputs: [scaled],
    options: { type: BuiltinOptionsType.MulOptions, fusedActivation: l.activation === 'relu' ? ActivationFunctionType.RELU : ActivationFunctionType.NONE },
  });
  const y = g.activationLike(scaled, 'layers.0/fc', TensorType.INT8, undefined, { scale: [1], zeroPoint: [l.output.zeroPoint] });
  g.op({ op: BuiltinOperator.QUANTIZE, version: 1, inputs: [scaled], outputs: [y], options: { type: BuiltinOptionsType.QuantizeOptions } });
  return y;
}

/** Full-integer int8 graph (float32 I/O) of a quantized policy (a wide input: see lowerWideFirstLayer). */
export function lowerInt8(qp: QuantizedPolicy, opts: LowerOptions = {}): GraphSpec {
  const model = qp.model;
  const g = new GraphBuilder();
  const input = inputTensor(g, model.obsDim, opts.batch ?? 1);
  const normalized = normalize(g, model, input);
  const wide = (qp.inputBits ?? 8) !== 8;
  let x: number;
  if (wide) {
    x = lowerWideFirstLayer(g, qp, normalized);
  } else {
    x = g.activationLike(normalized, 'obs/quantized', TensorType.INT8, undefined, perTensor(qp.input));
    g.op({
      op: BuiltinOperator.QUANTIZE,
      version: 1,
      inputs: [normalized],
      outputs: [x],
      options: { type: BuiltinOptionsType.QuantizeOptions },
    });
  }
  qp.layers.forEach((layer, i) => {
    if (wide && i === 0) return;
    const at = `layers.${i}`;
    const zeros = new Array<number>(layer.outDim).fill(0);
    // After a wide first layer the int8 tensor is labelled scale 1 (see lowerWideFirstLayer): the
    // second layer's weight scales carry the real input scale instead, s_w' = float32(s_in * s_w[c]),
    // so its bias scale (s_w') and requantization multiplier float32(float32(1 * s_w') / s_out)
    // are exactly the ones of the int8 reference.
    const weightScales = wide && i === 1 ? layer.biasScales : layer.weightScales;
    const w = g.tensor({
      name: `${at}.weight`,
      type: TensorType.INT8,
      shape: [layer.outDim, layer.inDim],
      data: i8Bytes(layer.weight),
      quant: { scale: weightScales, zeroPoint: zeros, quantizedDimension: 0 },
    });
    const b = g.tensor({
      name: `${at}.bias`,
      type: TensorType.INT32,
      shape: [layer.outDim],
      data: i32Bytes(layer.bias),
      quant: { scale: layer.biasScales, zeroPoint: zeros, quantizedDimension: 0 },
    });
    const y = g.activationLike(x, `${at}/fc`, TensorType.INT8, layer.outDim, perTensor(layer.output));
    g.op({
      op: BuiltinOperator.FULLY_CONNECTED,
      version: 4,
      inputs: [x, w, b],
      outputs: [y],
      options: fullyConnectedOptions(layer.activation === 'relu' ? 'relu' : 'none'),
    });
    x = y;
    if (layer.activationOutput) {
      const a = g.activationLike(x, `${at}/${layer.activation}`, TensorType.INT8, undefined, perTensor(layer.activationOutput));
      g.op({ op: layer.activation === 'tanh' ? BuiltinOperator.TANH : BuiltinOperator.LOGISTIC, version: 2, inputs: [x], outputs: [a] });
      x = a;
    }
  });
  const deq = g.activationLike(x, 'output/dequantized', TensorType.FLOAT32);
  g.op({
    op: BuiltinOperator.DEQUANTIZE,
    version: 2,
    inputs: [x],
    outputs: [deq],
    options: { type: BuiltinOptionsType.DequantizeOptions },
  });
  const out = postProcess(g, model, deq);
  return finish(g, model, input, out, 'int8', opts);
}
