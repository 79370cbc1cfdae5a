/**
 * Serializes a GraphSpec into a .tflite flatbuffer with the `flatbuffers` Builder. The table
 * writers are our own, from the schema slots in `schema.ts` (no generated code).
 *
 * Layout choices: buffer 0 is the empty sentinel; every constant tensor gets its own buffer;
 * activation tensors point at buffer 0; one subgraph, one signature def.
 */
import { Builder } from 'flatbuffers';
import type { Offset } from 'flatbuffers';
import type { GraphSpec, OpSpec, QuantSpec, TensorSpec } from './graph.js';
import {
  BUFFER_ALIGNMENT,
  FILE_IDENTIFIER,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  SCHEMA_VERSION,
  Slot,
} from './schema.js';

function int32Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function float32Vector(b: Builder, values: ArrayLike<number>): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

function int64Vector(b: Builder, values: ArrayLike<number>): Offset {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

/** [ubyte] with (force_align: 16): the data start is 16-aligned from the file start. */
function alignedBytes(b: Builder, data: Uint8Array): Offset {
  b.startVector(1, data.length, BUFFER_ALIGNMENT);
  for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
  return b.endVector();
}

function writeBuffer(b: Builder, data: Uint8Array | null): Offset {
  const dataOff = data && data.length > 0 ? alignedBytes(b, data) : 0;
  b.startObject(Slot.Buffer.numFields);
  if (dataOff) b.addFieldOffset(Slot.Buffer.data, dataOff, 0);
  return b.endObject();
}

function writeQuant(b: Builder, q: QuantSpec): Offset {
  const S = Slot.QuantizationParameters;
  const scale = float32Vector(b, q.scale);
  const zp = int64Vector(b, q.zeroPoint);
  b.startObject(S.numFields);
  b.addFieldOffset(S.scale, scale, 0);
  b.addFieldOffset(S.zero_point, zp, 0);
  b.addFieldInt32(S.quantized_dimension, q.quantizedDimension ?? 0, 0);
  return b.endObject();
}

function writeTensor(b: Builder, t: TensorSpec, bufferIndex: number): Offset {
  const S = Slot.Tensor;
  const shape = int32Vector(b, t.shape);
  const sig = t.shapeSignature ? int32Vector(b, t.shapeSignature) : 0;
  const name = b.createString(t.name);
  const quant = t.quant ? writeQuant(b, t.quant) : 0;
  b.startObject(S.numFields);
  b.addFieldOffset(S.shape, shape, 0);
  b.addFieldInt8(S.type, t.type, 0);
  b.addFieldInt32(S.buffer, bufferIndex, 0);
  b.addFieldOffset(S.name, name, 0);
  if (quant) b.addFieldOffset(S.quantization, quant, 0);
  if (sig) b.addFieldOffset(S.shape_signature, sig, 0);
  b.addFieldInt8(S.has_rank, 1, 0);
  return b.endObject();
}

function writeOperatorCode(b: Builder, op: number, version: number): Offset {
  const S = Slot.OperatorCode;
  b.startObject(S.numFields);
  // Old readers only look at the byte field; new ones take the max of both.
  b.addFieldInt8(S.deprecated_builtin_code, Math.min(op, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
  b.addFieldInt32(S.version, version, 1);
  b.addFieldInt32(S.builtin_code, op, 0);
  return b.endObject();
}

function writeOptions(b: Builder, op: OpSpec): Offset {
  const o = op.options;
  if (!o) return 0;
  b.startObject(1);
  if (o.fusedActivation !== undefined) b.addFieldInt8(0, o.fusedActivation, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: OpSpec, opcodeIndex: number): Offset {
  const S = Slot.Operator;
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = writeOptions(b, op);
  b.startObject(S.numFields);
  b.addFieldInt32(S.opcode_index, opcodeIndex, 0);
  b.addFieldOffset(S.inputs, inputs, 0);
  b.addFieldOffset(S.outputs, outputs, 0);
  if (options && op.options) {
    b.addFieldInt8(S.builtin_options_type, op.options.type, 0);
    b.addFieldOffset(S.builtin_options, options, 0);
  }
  return b.endObject();
}

function writeTensorMap(b: Builder, name: string, tensor: number): Offset {
  const S = Slot.TensorMap;
  const n = b.createString(name);
  b.startObject(S.numFields);
  b.addFieldOffset(S.name, n, 0);
  b.addFieldInt32(S.tensor_index, tensor, 0);
  return b.endObject();
}

/** Serialize one graph to .tflite bytes (identifier TFL3, schema version 3). */
export function serializeGraph(g: GraphSpec): Uint8Array {
  const totalConst = g.tensors.reduce((n, t) => n + (t.data?.length ?? 0), 0);
  const b = new Builder(Math.max(1024, totalConst * 2 + 4096));

  // Buffers: 0 = empty sentinel, then one per constant tensor.
  const bufferOfTensor: number[] = [];
  const bufferData: (Uint8Array | null)[] = [null];
  for (const t of g.tensors) {
    if (t.data) {
      bufferOfTensor.push(bufferData.length);
      bufferData.push(t.data);
    } else bufferOfTensor.push(0);
  }
  const metadataBuffer: number[] = [];
  for (const m of g.metadata ?? []) {
    metadataBuffer.push(bufferData.length);
    bufferData.push(m.data);
  }
  // Write big data first (deepest in the file) so the alignment padding stays small.
  const bufferOffsets = bufferData.map((d) => writeBuffer(b, d));
  const buffers = offsetVector(b, bufferOffsets);

  const tensors = offsetVector(b, g.tensors.map((t, i) => writeTensor(b, t, bufferOfTensor[i])));

  const codeKeys: string[] = [];
  const codeIndex = new Map<string, number>();
  for (const op of g.ops) {
    const key = `${op.op}/${op.version}`;
    if (!codeIndex.has(key)) {
      codeIndex.set(key, codeKeys.length);
      codeKeys.push(key);
    }
  }
  const opcodes = offsetVector(
    b,
    codeKeys.map((k) => {
      const [op, version] = k.split('/').map(Number);
      return writeOperatorCode(b, op, version);
    }),
  );
  const operators = offsetVector(
    b,
    g.ops.map((op) => writeOperator(b, op, codeIndex.get(`${op.op}/${op.version}`)!)),
  );

  const sgInputs = int32Vector(b, g.inputs);
  const sgOutputs = int32Vector(b, g.outputs);
  const sgName = b.createString('main');
  const SG = Slot.SubGraph;
  b.startObject(SG.numFields);
  b.addFieldOffset(SG.tensors, tensors, 0);
  b.addFieldOffset(SG.inputs, sgInputs, 0);
  b.addFieldOffset(SG.outputs, sgOutputs, 0);
  b.addFieldOffset(SG.operators, operators, 0);
  b.addFieldOffset(SG.name, sgName, 0);
  const subgraph = b.endObject();
  const subgraphs = offsetVector(b, [subgraph]);

  const sigIn = offsetVector(b, g.signatureInputs.map((m) => writeTensorMap(b, m.name, m.tensor)));
  const sigOut = offsetVector(b, g.signatureOutputs.map((m) => writeTensorMap(b, m.name, m.tensor)));
  const sigKey = b.createString(g.signatureKey);
  const SD = Slot.SignatureDef;
  b.startObject(SD.numFields);
  b.addFieldOffset(SD.inputs, sigIn, 0);
  b.addFieldOffset(SD.outputs, sigOut, 0);
  b.addFieldOffset(SD.signature_key, sigKey, 0);
  b.addFieldInt32(SD.subgraph_index, 0, 0);
  const signature = b.endObject();
  const signatures = offsetVector(b, [signature]);

  const metadata = g.metadata?.length
    ? offsetVector(
        b,
        g.metadata.map((m, i) => {
          const name = b.createString(m.name);
          b.startObject(Slot.Metadata.numFields);
          b.addFieldOffset(Slot.Metadata.name, name, 0);
          b.addFieldInt32(Slot.Metadata.buffer, metadataBuffer[i], 0);
          return b.endObject();
        }),
      )
    : 0;
  const description = b.createString(g.description);
  const M = Slot.Model;
  b.startObject(M.numFields);
  b.addFieldInt32(M.version, SCHEMA_VERSION, 0);
  b.addFieldOffset(M.operator_codes, opcodes, 0);
  b.addFieldOffset(M.subgraphs, subgraphs, 0);
  b.addFieldOffset(M.description, description, 0);
  b.addFieldOffset(M.buffers, buffers, 0);
  if (metadata) b.addFieldOffset(M.metadata, metadata, 0);
  b.addFieldOffset(M.signature_defs, signatures, 0);
  const model = b.endObject();
  b.finish(model, FILE_IDENTIFIER);
  // Copy out of the builder's (larger) backing store.
  return b.asUint8Array().slice();
}
