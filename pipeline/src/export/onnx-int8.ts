/**
 * QuantizedPolicy -> int8 ONNX in QDQ form (opset 13), which onnxruntime fuses into integer
 * kernels (QGemm) and which computes, value for value, what the int8 TFLite computes in LiteRT and
 * what forwardInt8 computes:
 *
 *   obs -> normalization (float, as the fp32 graph)
 *       -> Mul float32(1 / s_in) -> QuantizeLinear(scale 1, zp_in)              obs_q   uint8
 *   per layer:
 *       DequantizeLinear(x_q, s_in, zp_in)
 *       DequantizeLinear(W int8 [out, in], w_scale [out], zp 0, axis 0)      (Gemm transB = 1)
 *       DequantizeLinear(b int32 [out], s_in * w_scale [out], axis 0)
 *       Gemm -> [Relu] -> QuantizeLinear(s_out, zp_out)                       uint8
 *       [tanh / sigmoid: Cast int32 -> Gather(256-entry uint8 table)]
 *   -> DequantizeLinear(s_last, zp_last) -> head post-processing (float, as the fp32 graph)
 *
 * Two places deliberately differ from the textbook QDQ graph, so no runtime can round differently:
 * - the input is multiplied by float32(1 / scale) and quantized with scale 1 (QuantizeLinear
 *   divides; TFLite/XNNPACK multiply by the float32 reciprocal; both round the product half to even);
 * - tanh / sigmoid are the int8 lookup table every int8 runtime builds (ops/lookup-table.ts), as a
 *   Gather, instead of a float Tanh between DQ and Q whose result depends on the runtime's tanh.
 * Activations are uint8 with zero point zp_int8 + 128 (identical integers shifted by 128; see below).
 *
 * A wide-input policy (QuantizedPolicy.inputBits 12) computes the quantized input and its first
 * layer in float ops over integer values, exact because every partial sum is an integer below 2^24:
 *   Mul float32(1 / s_in) -> Round (half to even) -> Clip(+-2047)               obs_q  float
 *   -> Gemm(Cast(W int8), Cast(b int32), transB 1) -> Mul m[c] -> [Relu]
 *   -> QuantizeLinear(scale 1, zp_out)                                          uint8
 * and continues with the int8 layers above.
 * The Relu before a QuantizeLinear whose zero point is 0 is what onnxruntime folds away.
 */
import type { PolicyModel } from '../ir/types.js';
import { onnx, DataType, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { policyToModelProto, type OnnxExportOptions } from '../onnx/write.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { FLOAT32_EXACT_INT, wideAccBound } from '../quant/int8.js';
import { planInt8 } from '../quant/plan.js';
import type { QuantizedPolicy } from '../quant/types.js';
import { floatTensor, int32Tensor, int8Tensor, intAttr, node, spliceLayers, uint8Tensor } from './onnx-tensors.js';

export interface OnnxInt8Options extends OnnxExportOptions {
  /**
   * How int8 tanh / sigmoid layers are written: `table` (default, exact everywhere) or `float`
   * (DequantizeLinear -> Tanh/Sigmoid -> QuantizeLinear; the result depends on the runtime's float
   * tanh, kept for experiments).
   */
  readonly activation?: 'table' | 'float';
  /**
   * How the input is quantized: `reciprocal` (default: Mul by float32(1/s), QuantizeLinear scale 1,
   * as TFLite) or `divide` (QuantizeLinear with scale s, the textbook form).
   */
  readonly inputQuantize?: 'reciprocal' | 'divide';
}

/** The int8 ModelProto of a quantized policy. */
export function quantizedToModelProto(qp: QuantizedPolicy, opts: OnnxInt8Options = {}) {
  const model: PolicyModel = qp.model;
  const base = policyToModelProto(model, {
    ...opts,
    metadata: { variant: 'int8', calibration_samples: String(qp.calibrationSamples), ...(opts.metadata ?? {}) },
  });
  const plan = planInt8(qp);
  return spliceLayers(base, ({ input, output }) => {
    const nodes: NodeProto[] = [];
    const inits: TensorProto[] = [];
    const scalarF = (name: string, v: number) => (inits.push(floatTensor(name, [], [v])), name);
    // Activations are uint8 (the int8 zero point + 128, same scale: the same real values and the same
    // integers shifted by 128). onnxruntime turns int8 Q/DQ pairs into uint8 ones on x86, and a Gemm
    // whose input and output types then differ is left in float; uint8 throughout avoids that.
    const zpU8 = (name: string, zp: number) => (inits.push(uint8Tensor(name, [], [zp + 128])), name);

    const wide = plan.inputBits !== 8;
    if (wide) {
      // A wide (e.g. 12-bit) input and the first layer in float ops over integer values: every
      // partial sum is an integer below 2^24 (checked when quantizing), so float32 is exact in any
      // order and the result is forwardInt8's accumulator; then the same requantization.
      const l = qp.layers[0];
      const p = plan.layers[0];
      const at = 'layers.0';
      const bound = wideAccBound(l.weight, l.bias, l.outDim, l.inDim, plan.inputMax);
      if (bound >= FLOAT32_EXACT_INT || plan.input.zeroPoint !== 0 || qp.layers.length < 2) {
        throw new EdgeDistillError('UNSUPPORTED', `a ${plan.inputBits}-bit input needs a zero point of 0, a second layer and partial sums below 2^24 (bound ${bound})`, { field: 'inputBits' });
      }
      inits.push(
        int8Tensor(`${at}.weight_q`, [l.outDim, l.inDim], l.weight),
        int32Tensor(`${at}.bias_q`, [l.outDim], l.bias),
        floatTensor(`${at}.multiplier`, [l.outDim], p.multipliers),
        floatTensor('obs_q.min', [], [plan.inputMin]),
        floatTensor('obs_q.max', [], [plan.inputMax]),
      );
      nodes.push(
        node('Mul', 'obs_q.scaled', [input, scalarF('obs_q.inv_scale', plan.inputInvScale)], ['obs_q.scaled']),
        node('Round', 'obs_q.rounded', ['obs_q.scaled'], ['obs_q.rounded']),
        node('Clip', 'obs_q.clip', ['obs_q.rounded', 'obs_q.min', 'obs_q.max'], ['obs_q']),
        node('Cast', `${at}.weight_cast`, [`${at}.weight_q`], [`${at}.weight`], [intAttr('to', DataType.FLOAT)]),
        node('Cast', `${at}.bias_cast`, [`${at}.bias_q`], [`${at}.bias`], [intAttr('to', DataType.FLOAT)]),
        node('Gemm', `${at}.gemm`, ['obs_q', `${at}.weight`, `${at}.bias`], [`${at}.acc`], [intAttr('transB', 1)]),
        node('Mul', `${at}.requantize`, [`${at}.acc`, `${at}.multiplier`], [`${at}.gemm_out`]),
      );
    }

    // Input: float32 -> int8.
    let x = 'obs_q';
    const inZp = wide ? '' : zpU8('obs_q.zero_point', plan.input.zeroPoint);
    if (wide) {
      // The quantized input and the first layer's product are above.
    } else if ((opts.inputQuantize ?? 'reciprocal') === 'reciprocal') {
      nodes.push(node('Mul', 'obs_q.scaled', [input, scalarF('obs_q.inv_scale', plan.inputInvScale)], ['obs_q.scaled']));
      nodes.push(node('QuantizeLinear', 'obs_q.quantize', ['obs_q.scaled', scalarF('obs_q.unit_scale', 1), inZp], [x]));
    } else {
      nodes.push(node('QuantizeLinear', 'obs_q.quantize', [input, scalarF('obs_q.scale', plan.input.scale), inZp], [x]));
    }
    let xScale = plan.input.scale;
    let xZp = plan.input.zeroPoint;

    qp.layers.forEach((l, i) => {
      const p = plan.layers[i];
      const at = `layers.${i}`;
      const dqIn = `${at}.input`;
      // The wide first layer's product is above; its output is requantized below as every layer's.
      const floatFirst = wide && i === 0;
      if (!floatFirst) {
        nodes.push(node('DequantizeLinear', `${at}.input_dq`, [x, scalarF(`${at}.input_scale`, xScale), zpU8(`${at}.input_zero_point`, xZp)], [dqIn]));
        inits.push(
          int8Tensor(`${at}.weight_q`, [l.outDim, l.inDim], l.weight),
          floatTensor(`${at}.weight_scale`, [l.outDim], l.weightScales),
          int8Tensor(`${at}.weight_zero_point`, [l.outDim], new Int8Array(l.outDim)),
          int32Tensor(`${at}.bias_q`, [l.outDim], l.bias),
          floatTensor(`${at}.bias_scale`, [l.outDim], l.biasScales),
        );
        nodes.push(
          node('DequantizeLinear', `${at}.weight_dq`, [`${at}.weight_q`, `${at}.weight_scale`, `${at}.weight_zero_point`], [`${at}.weight`], [intAttr('axis', 0)]),
          node('DequantizeLinear', `${at}.bias_dq`, [`${at}.bias_q`, `${at}.bias_scale`], [`${at}.bias`], [intAttr('axis', 0)]),
          // Tensor names differ from the fp32 graph's (whose last one may be this block's output).
          node('Gemm', `${at}.gemm`, [dqIn, `${at}.weight`, `${at}.bias`], [`${at}.gemm_out`], [intAttr('transB', 1)]),
        );
      }
      let y = `${at}.gemm_out`;
      if (l.activation === 'relu') {
        nodes.push(node('Relu', `${at}.relu`, [y], [`${at}.relu_out`]));
        y = `${at}.relu_out`;
      }
      const yq = `${at}.output_q`;
      // The wide layer's y is already in units of the output scale (acc * multiplier): quantize with scale 1.
      const outScale = floatFirst ? scalarF(`${at}.unit_scale`, 1) : scalarF(`${at}.output_scale`, l.output.scale);
      nodes.push(node('QuantizeLinear', `${at}.output_quantize`, [y, outScale, zpU8(`${at}.output_zero_point`, l.output.zeroPoint)], [yq]));
      if (floatFirst && p.lut && (opts.activation ?? 'table') !== 'table') scalarF(`${at}.output_scale`, l.output.scale);
      x = yq;
      xScale = l.output.scale;
      xZp = l.output.zeroPoint;
      if (p.lut) {
        const kind = l.activation as 'tanh' | 'sigmoid';
        const a = l.activationOutput!;
        if ((opts.activation ?? 'table') === 'table') {
          // uint8 code u = q + 128 is the table index directly.
          inits.push(uint8Tensor(`${at}.${kind}_table`, [256], Array.from(p.lut, (v) => v + 128)));
          nodes.push(
            node('Cast', `${at}.${kind}_index`, [x], [`${at}.${kind}_index`], [intAttr('to', DataType.INT32)]),
            node('Gather', `${at}.${kind}`, [`${at}.${kind}_table`, `${at}.${kind}_index`], [`${at}.${kind}_q`], [intAttr('axis', 0)]),
          );
        } else {
          nodes.push(
            node('DequantizeLinear', `${at}.${kind}_dq`, [x, `${at}.output_scale`, `${at}.output_zero_point`], [`${at}.${kind}_in`]),
            node(kind === 'tanh' ? 'Tanh' : 'Sigmoid', `${at}.${kind}`, [`${at}.${kind}_in`], [`${at}.${kind}_out`]),
            node(
              'QuantizeLinear',
              `${at}.${kind}_quantize`,
              [`${at}.${kind}_out`, scalarF(`${at}.${kind}_scale`, a.scale), zpU8(`${at}.${kind}_zero_point`, a.zeroPoint)],
              [`${at}.${kind}_q`],
            ),
          );
        }
        x = `${at}.${kind}_q`;
        xScale = a.scale;
        xZp = a.zeroPoint;
      }
    });
    nodes.push(node('DequantizeLinear', 'output.dequantize', [x, scalarF('output.scale', xScale), zpU8('output.zero_point', xZp)], [output]));
    return { nodes, inits };
  });
}

/** Serialized int8 ONNX bytes of a quantized policy. */
export function quantizedToOnnx(qp: QuantizedPolicy, opts: OnnxInt8Options = {}): Uint8Array {
  return onnx.ModelProto.encode(quantizedToModelProto(qp, opts)).finish();
}
