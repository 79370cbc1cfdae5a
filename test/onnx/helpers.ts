/** Hand-built ONNX models for importer and bad-input tests (onnx-proto, like the writer). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from '../../pipeline/src/onnx/proto.js';

export type AttrValue = number | number[] | { f: number } | { t: InitSpec };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  name?: string;
}

export interface InitSpec {
  name: string;
  dataType: number;
  dims: number[];
  floatData?: number[];
  int64Data?: number[];
}
export function floatInit(name: string, dims: number[], values: ArrayLike<number>): InitSpec {
  return { name, dataType: 1, dims, floatData: Array.from(values) };
}
export function int64Init(name: string, dims: number[], values: number[]): InitSpec {
  return { name, dataType: 7, dims, int64Data: values };
}

function attribute(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object' && 't' in v) return { name, type: T.TENSOR, t: v.t };
  if (typeof v === 'object') return { name, type: T.FLOAT, f: v.f };
  return { name, type: T.INT, i: v };
}

export interface ModelSpec {
  nodes: NodeSpec[];
  inits?: InitSpec[];
  inputs?: { name: string; dims: (number | string)[]; elemType?: number }[];
  outputs: { name: string; dims: (number | string)[] | null; elemType?: number }[];
  opset?: number;
  producer?: string;
  metadata?: Record<string, string>;
}

/** dims null: shape left out (unknown rank). */
const vi = (v: { name: string; dims: (number | string)[] | null; elemType?: number }) => ({
  name: v.name,
  type: {
    tensorType: {
      elemType: v.elemType ?? 1,
      ...(v.dims ? { shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } : {}),
    },
  },
});

export function buildModel(spec: ModelSpec): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    producerName: spec.producer ?? 'hand-built',
    graph: {
      name: 'g',
      node: spec.nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `n${i}_${n.op}`,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: spec.inits ?? [],
      input: (spec.inputs ?? [{ name: 'obs', dims: ['batch', 2] }]).map(vi),
      output: spec.outputs.map(vi),
    },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(m).finish();
}

export function tempDir(prefix = 'ed-onnx-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeModel(dir: string, name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Seeded pseudo-random observations in [-3, 3]. */
export function randomObs(batch: number, dim: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(batch * dim);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 6 - 3;
  }
  return out;
}
