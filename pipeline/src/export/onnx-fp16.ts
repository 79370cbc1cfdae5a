/**
 * PolicyModel -> fp16-weight ONNX: the fp32 writer's graph with every dense layer's weight and bias
 * stored as float16 and expanded by a Cast to float (DequantizeLinear takes no float16 input at
 * opset 13). Inputs, outputs and the arithmetic stay float32, so the artifact runs wherever the fp32
 * one does, at half the weight bytes; it computes the fp32 model with weights rounded to float16
 * (round to nearest even), as the fp16 TFLite does.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { PolicyModel } from '../ir/types.js';
import { onnx, DataType, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { policyToModelProto, type OnnxExportOptions } from '../onnx/write.js';
import { fromFloat16Bits, toFloat16Array, toFloat16Bits } from './tflite/float16.js';
import { float16Tensor, intAttr, node } from './onnx-tensors.js';

export function policyToFp16ModelProto(model: PolicyModel, opts: OnnxExportOptions = {}) {
  const proto = policyToModelProto(model, { ...opts, metadata: { variant: 'fp16', ...(opts.metadata ?? {}) } });
  const g = proto.graph!;
  const casts: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const layerTensors = new Map<string, { dims: number[]; values: Float32Array }>();
  model.layers.forEach((l, i) => {
    layerTensors.set(`layers.${i}.weight`, { dims: [l.outDim, l.inDim], values: l.weight });
    layerTensors.set(`layers.${i}.bias`, { dims: [l.outDim], values: l.bias });
  });
  for (const t of g.initializer ?? []) {
    const spec = layerTensors.get(t.name ?? '');
    if (!spec) {
      inits.push(t);
      continue;
    }
    const big = spec.values.findIndex((v) => Math.abs(v) > 65504);
    if (big >= 0) {
      throw new EdgeDistillError('UNSUPPORTED', `${t.name}[${big}] = ${spec.values[big]} does not fit float16 (max 65504)`, {
        field: t.name ?? undefined,
        suggestion: 'export fp32 or int8 instead',
      });
    }
    const half = `${t.name}_fp16`;
    inits.push(float16Tensor(half, spec.dims, toFloat16Array(spec.values)));
    casts.push(node('Cast', `${t.name}.cast`, [half], [t.name!], [intAttr('to', DataType.FLOAT)]));
  }
  g.initializer = inits;
  g.node = [...casts, ...(g.node ?? [])];
  return proto;
}

export function policyToOnnxFp16(model: PolicyModel, opts: OnnxExportOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(policyToFp16ModelProto(model, opts)).finish();
}

/** The model an fp16 artifact computes: weights and biases rounded to float16 and back. */
export function roundWeightsToFloat16(model: PolicyModel): PolicyModel {
  const r = (a: Float32Array) => a.map((v) => fromFloat16Bits(toFloat16Bits(v)));
  return { ...model, layers: model.layers.map((l) => ({ ...l, weight: r(l.weight), bias: r(l.bias) })) };
}
