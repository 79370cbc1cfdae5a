/**
 * Small builders for the ONNX variants (int8 QDQ, fp16): initializers, attributes, and the splice
 * that swaps the dense layers of the fp32 writer's graph (pipeline/src/onnx/write.ts) for another
 * implementation. Normalization, head post-processing, I/O and metadata stay the fp32 writer's, so
 * every variant takes and gives the same tensors.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { onnx, DataType, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const raw = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) raw.writeFloatLE(values[i], i * 4);
  return { name, dataType: DataType.FLOAT, dims, rawData: raw };
}

export function int8Tensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const raw = Buffer.alloc(values.length);
  for (let i = 0; i < values.length; i++) raw.writeInt8(values[i], i);
  return { name, dataType: DataType.INT8, dims, rawData: raw };
}

export function uint8Tensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const raw = Buffer.alloc(values.length);
  for (let i = 0; i < values.length; i++) raw.writeUInt8(values[i], i);
  return { name, dataType: DataType.UINT8, dims, rawData: raw };
}

export function int32Tensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const raw = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) raw.writeInt32LE(values[i], i * 4);
  return { name, dataType: DataType.INT32, dims, rawData: raw };
}

/** float16 bits (already converted) as a FLOAT16 initializer. */
export function float16Tensor(name: string, dims: number[], bits: Uint16Array): TensorProto {
  const raw = Buffer.alloc(bits.length * 2);
  for (let i = 0; i < bits.length; i++) raw.writeUInt16LE(bits[i], i * 2);
  return { name, dataType: DataType.FLOAT16, dims, rawData: raw };
}

export const intAttr = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
export const floatAttr = (name: string, f: number) => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });

export const node = (opType: string, name: string, input: string[], output: string[], attribute: NodeProto['attribute'] = []): NodeProto => ({
  opType,
  name,
  input,
  output,
  attribute,
});

/** What a layer block replacement gets: where the layers read from, and the tensor they must write. */
export interface LayerBlock {
  readonly input: string;
  readonly output: string;
}

/**
 * Replaces the fp32 graph's dense layers (nodes and initializers named `layers.*`) with `nodes` and
 * `inits` produced by `build`, keeping everything before (normalization) and after (head).
 */
export function spliceLayers(base: ModelProto, build: (block: LayerBlock) => { nodes: NodeProto[]; inits: TensorProto[] }): ModelProto {
  const g = base.graph!;
  const nodes = g.node ?? [];
  const isLayer = (n: NodeProto) => (n.name ?? '').startsWith('layers.');
  const first = nodes.findIndex(isLayer);
  let last = -1;
  nodes.forEach((n, i) => {
    if (isLayer(n)) last = i;
  });
  if (first < 0 || nodes.slice(first, last + 1).some((n) => !isLayer(n))) {
    throw new EdgeDistillError('UNSUPPORTED', 'the fp32 ONNX graph does not have one contiguous block of layers.* nodes', { field: 'graph.node' });
  }
  const block = { input: nodes[first].input![0], output: nodes[last].output![0] };
  const made = build(block);
  g.node = [...nodes.slice(0, first), ...made.nodes, ...nodes.slice(last + 1)];
  g.initializer = [...(g.initializer ?? []).filter((t) => !(t.name ?? '').startsWith('layers.')), ...made.inits];
  return base;
}
