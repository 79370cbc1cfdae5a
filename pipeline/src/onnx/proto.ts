/**
 * Tiny ONNX reader on top of onnx-proto (protobufjs): decode a file, describe its inputs and
 * outputs, and turn tensors into numbers. Every failure is an EdgeDistillError naming the file.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export const onnx = onnxProto.onnx;
export type ModelProto = OnnxTypes.ModelProto;
export type GraphProto = OnnxTypes.IGraphProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;
export type AttributeProto = OnnxTypes.IAttributeProto;

export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

const DTYPE_NAMES: Record<number, string> = {
  0: 'undefined',
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};
export const dtypeName = (t: number | null | undefined): string => DTYPE_NAMES[t ?? 0] ?? `type${t}`;

/** int64 fields decode as Long objects (the `long` package is installed) or numbers. */
export function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export interface TensorInfo {
  name: string;
  dtype: string;
  /** null: unknown rank; entries: a size, a symbolic name ("batch"), or null (unknown). */
  shape: (number | string | null)[] | null;
}

export function describeValueInfo(vi: ValueInfoProto): TensorInfo {
  const tt = vi.type?.tensorType;
  const dims = tt?.shape?.dim;
  return {
    name: vi.name ?? '',
    dtype: dtypeName(tt?.elemType),
    shape: tt?.shape ? (dims ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined && num(d.dimValue) > 0 ? num(d.dimValue) : null)) : null,
  };
}

export interface LoadedOnnx {
  file: string;
  bytes: Uint8Array;
  sha256: string;
  proto: ModelProto;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Decodes ONNX bytes; garbage, empty or truncated input gives BAD_MODEL naming `file`. */
export function decodeOnnx(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0) throw new EdgeDistillError('BAD_MODEL', 'file is empty, not an ONNX model', { file });
  let proto: ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `not a valid ONNX model (truncated or not protobuf: ${(e as Error).message})`, {
      file,
      cause: e,
      suggestion: 'export the model again; check the copy is complete (compare sizes or sha256)',
    });
  }
  const g = proto.graph;
  // Random bytes sometimes decode as protobuf by chance; a real model has all of these.
  if (!g || num(proto.irVersion) <= 0) {
    throw new EdgeDistillError('BAD_MODEL', 'not a valid ONNX model (no graph or no ir_version)', { file, field: 'graph' });
  }
  if (!proto.opsetImport?.some((o) => !o.domain || o.domain === 'ai.onnx')) {
    throw new EdgeDistillError('BAD_MODEL', 'not a valid ONNX model (no ai.onnx opset import)', { file, field: 'opset_import' });
  }
  if (!g.output?.length) throw new EdgeDistillError('BAD_MODEL', 'the graph has no outputs', { file, field: 'graph.output' });
  if (realInputs(proto).length === 0) throw new EdgeDistillError('BAD_MODEL', 'the graph has no inputs', { file, field: 'graph.input' });
  return proto;
}

export async function readOnnxFile(file: string): Promise<LoadedOnnx> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError(code === 'ENOENT' ? 'BAD_ARGUMENT' : 'IO', code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`, {
      file,
      cause: e,
    });
  }
  return { file, bytes, sha256: sha256Hex(bytes), proto: decodeOnnx(bytes, file) };
}

/** Graph inputs that are not initializers (IR < 4 lists initializers as inputs too). */
export function realInputs(proto: ModelProto): ValueInfoProto[] {
  const inits = new Set((proto.graph?.initializer ?? []).map((t) => t.name));
  return (proto.graph?.input ?? []).filter((i) => !inits.has(i.name));
}

export function defaultOpset(proto: ModelProto): number {
  const o = proto.opsetImport.find((x) => !x.domain || x.domain === 'ai.onnx');
  return num(o?.version);
}

export function metadataOf(proto: ModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of proto.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}

/** A decoded tensor. Values are held as float64 numbers; `dtype` says how ONNX stores them. */
export interface NumTensor {
  dtype: string;
  dims: number[];
  data: Float64Array;
}

export const sizeOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Decodes an initializer or Constant tensor. Unknown dtypes and external data are UNSUPPORTED. */
export function decodeTensor(t: TensorProto, file: string, field = t.name ?? ''): NumTensor {
  const dims = (t.dims ?? []).map(num);
  const n = sizeOf(dims);
  const dt = t.dataType ?? 0;
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0) || !Number.isSafeInteger(n)) {
    throw new EdgeDistillError('BAD_MODEL', `tensor ${field} has invalid dims ${JSON.stringify(dims)}`, { file, field });
  }
  if (t.dataLocation === 1) {
    throw new EdgeDistillError('UNSUPPORTED', `tensor ${field} keeps its data in an external file, which is not supported`, { file, field });
  }
  const raw = t.rawData && t.rawData.length > 0 ? Buffer.from(t.rawData.buffer, t.rawData.byteOffset, t.rawData.length) : null;
  // Allocated once the stored values are known to match the dims (dims alone can claim any size).
  let data = new Float64Array(0);
  const fail = (got: number) =>
    new EdgeDistillError('BAD_MODEL', `tensor ${field} holds ${got} values but its dims ${JSON.stringify(dims)} need ${n}`, { file, field });
  const fromRaw = (width: number, read: (i: number) => number) => {
    if (raw!.length !== n * width) throw fail(Math.floor(raw!.length / width));
    data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = read(i * width);
  };
  const fromList = (list: ArrayLike<number | { toNumber(): number }> | null | undefined) => {
    const l = list ?? [];
    if (l.length !== n) throw fail(l.length);
    data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = num(l[i] as number);
  };
  switch (dt) {
    case DataType.FLOAT:
      if (raw) fromRaw(4, (o) => raw.readFloatLE(o));
      else fromList(t.floatData);
      break;
    case DataType.DOUBLE:
      if (raw) fromRaw(8, (o) => raw.readDoubleLE(o));
      else fromList(t.doubleData);
      break;
    case DataType.INT64:
      if (raw) fromRaw(8, (o) => Number(raw.readBigInt64LE(o)));
      else fromList(t.int64Data as (number | { toNumber(): number })[]);
      break;
    case DataType.INT32:
      if (raw) fromRaw(4, (o) => raw.readInt32LE(o));
      else fromList(t.int32Data);
      break;
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.BOOL:
      if (raw) fromRaw(1, (o) => (dt === DataType.INT8 ? raw.readInt8(o) : raw.readUInt8(o)));
      else fromList(t.int32Data);
      break;
    case DataType.FLOAT16:
      if (raw) fromRaw(2, (o) => halfToFloat(raw.readUInt16LE(o)));
      else fromList((t.int32Data ?? []).map(halfToFloat));
      break;
    default:
      throw new EdgeDistillError('UNSUPPORTED', `tensor ${field} has data type ${dtypeName(dt)}, which is not supported`, { file, field });
  }
  return { dtype: dtypeName(dt), dims, data };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Named attribute of a node, decoded to a plain value. */
export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}
export function attrInt(node: NodeProto, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? num(a.i) : dflt;
}
export function attrFloat(node: NodeProto, name: string, dflt: number): number {
  const a = attr(node, name);
  return a && a.f !== null && a.f !== undefined ? a.f : dflt;
}
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? (a.ints ?? []).map(num) : undefined;
}

/**
 * Every float initializer and Constant value is scanned for NaN up front: a NaN weight makes every
 * output NaN, and the name of the tensor is what the user needs to find it.
 */
export function assertNoNaNWeights(proto: ModelProto, file: string): void {
  const check = (t: TensorProto, field: string) => {
    const dt = t.dataType ?? 0;
    if (dt !== DataType.FLOAT && dt !== DataType.DOUBLE && dt !== DataType.FLOAT16) return;
    if (t.dataLocation === 1) return;
    const v = decodeTensor(t, file, field).data;
    const i = v.findIndex((x) => Number.isNaN(x));
    if (i >= 0) {
      throw new EdgeDistillError('BAD_MODEL', `weight tensor ${field} has NaN at index ${i} (of ${v.length})`, {
        file,
        field,
        suggestion: 'the teacher diverged or was saved mid-update; export a good checkpoint',
      });
    }
  };
  for (const t of proto.graph?.initializer ?? []) check(t, t.name ?? '');
  for (const n of proto.graph?.node ?? []) {
    if (n.opType !== 'Constant') continue;
    const a = attr(n, 'value');
    if (a?.t) check(a.t, n.output?.[0] ?? n.name ?? 'Constant');
  }
}
