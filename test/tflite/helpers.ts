/**
 * Test helpers: an independent .tflite reader (flatbuffers' ByteBuffer, slots written out from
 * schema.fbs here rather than imported from the exporter), seeded models and observations.
 */
import { ByteBuffer } from 'flatbuffers';
import { mlp, seededRandom, type MlpOptions } from '../../pipeline/src/ir/build.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';

export interface ReadQuant {
  scale: number[];
  zeroPoint: bigint[];
  quantizedDimension: number;
}
export interface ReadTensor {
  name: string;
  type: number;
  shape: number[];
  buffer: number;
  quant: ReadQuant | null;
}
export interface ReadOp {
  code: number;
  version: number;
  inputs: number[];
  outputs: number[];
  optionsType: number;
  fusedActivation: number | null;
}
export interface ReadModel {
  identifier: string;
  version: number;
  buffers: Uint8Array[];
  tensors: ReadTensor[];
  ops: ReadOp[];
  inputs: number[];
  outputs: number[];
  signatures: { key: string; inputs: { name: string; tensor: number }[]; outputs: { name: string; tensor: number }[] }[];
  metadata: Record<string, string>;
}

/** Reads the fields our tests look at. Slot -> vtable offset is 4 + 2 * slot. */
export function readTflite(bytes: Uint8Array): ReadModel {
  const bb = new ByteBuffer(bytes);
  const vt = (slot: number) => 4 + 2 * slot;
  const field = (table: number, slot: number): number => {
    const o = bb.__offset(table, vt(slot));
    return o ? table + o : 0;
  };
  const table = (pos: number) => bb.__indirect(pos);
  const vec = (table_: number, slot: number): { start: number; len: number } => {
    const p = field(table_, slot);
    return p ? { start: bb.__vector(p), len: bb.__vector_len(p) } : { start: 0, len: 0 };
  };
  const ints = (t: number, slot: number) => {
    const v = vec(t, slot);
    return Array.from({ length: v.len }, (_, i) => bb.readInt32(v.start + 4 * i));
  };
  const str = (t: number, slot: number) => {
    const p = field(t, slot);
    return p ? (bb.__string(p) as string) : '';
  };
  const tables = (t: number, slot: number) => {
    const v = vec(t, slot);
    return Array.from({ length: v.len }, (_, i) => table(v.start + 4 * i));
  };

  const root = bb.readInt32(0);
  const identifier = String.fromCharCode(...bytes.subarray(4, 8));
  const model = root;
  const vPos = field(model, 0);
  const version = vPos ? bb.readUint32(vPos) : 0;

  const buffers = tables(model, 4).map((b) => {
    const v = vec(b, 0);
    return bytes.subarray(v.start, v.start + v.len);
  });
  const opcodes = tables(model, 1).map((oc) => {
    const dep = field(oc, 0) ? bb.readInt8(field(oc, 0)) : 0;
    const ext = field(oc, 3) ? bb.readInt32(field(oc, 3)) : 0;
    const ver = field(oc, 2) ? bb.readInt32(field(oc, 2)) : 1;
    return { code: Math.max(dep, ext), version: ver };
  });
  const [sg] = tables(model, 2);
  const tensors = tables(sg, 0).map((t) => {
    const q = field(t, 4) ? table(field(t, 4)) : 0;
    let quant: ReadQuant | null = null;
    if (q) {
      const s = vec(q, 2);
      const z = vec(q, 3);
      quant = {
        scale: Array.from({ length: s.len }, (_, i) => bb.readFloat32(s.start + 4 * i)),
        zeroPoint: Array.from({ length: z.len }, (_, i) => bb.readInt64(z.start + 8 * i)),
        quantizedDimension: field(q, 6) ? bb.readInt32(field(q, 6)) : 0,
      };
    }
    return {
      name: str(t, 3),
      type: field(t, 1) ? bb.readInt8(field(t, 1)) : 0,
      shape: ints(t, 0),
      buffer: field(t, 2) ? bb.readUint32(field(t, 2)) : 0,
      quant,
    };
  });
  const ops = tables(sg, 3).map((o) => {
    const idx = field(o, 0) ? bb.readUint32(field(o, 0)) : 0;
    const optionsType = field(o, 3) ? bb.readUint8(field(o, 3)) : 0;
    const opt = field(o, 4) ? table(field(o, 4)) : 0;
    const fusedActivation = opt ? (field(opt, 0) ? bb.readInt8(field(opt, 0)) : 0) : null;
    return { ...opcodes[idx], inputs: ints(o, 1), outputs: ints(o, 2), optionsType, fusedActivation };
  });
  const tensorMaps = (t: number, slot: number) =>
    tables(t, slot).map((m) => ({ name: str(m, 0), tensor: field(m, 1) ? bb.readUint32(field(m, 1)) : 0 }));
  const signatures = tables(model, 7).map((s) => ({ key: str(s, 2), inputs: tensorMaps(s, 0), outputs: tensorMaps(s, 1) }));
  const metadata: Record<string, string> = {};
  for (const m of tables(model, 6)) {
    const b = buffers[bb.readUint32(field(m, 1))];
    metadata[str(m, 0)] = new TextDecoder().decode(b);
  }
  return { identifier, version, buffers, tensors, ops, inputs: ints(sg, 1), outputs: ints(sg, 2), signatures, metadata };
}

/** BuiltinOperator codes, from schema.fbs (written out independently of the exporter). */
export const OP = {
  ADD: 0,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MUL: 18,
  TANH: 28,
  SUB: 41,
  DIV: 42,
  MAXIMUM: 55,
  MINIMUM: 57,
  QUANTIZE: 114,
} as const;
export const TYPE = { FLOAT32: 0, FLOAT16: 1, INT32: 2, INT8: 9 } as const;

/** Uniform observations in [lo, hi), seeded. */
export function randomObs(n: number, obsDim: number, seed: number, lo = -3, hi = 3): Float32Array {
  const rnd = seededRandom(seed);
  return new Float32Array(n * obsDim).map(() => lo + (hi - lo) * rnd());
}

/** The five model shapes of the fp32 suite (plus a sigmoid one), all seeded. */
export function testModels(): { name: string; model: PolicyModel; obs: (n: number, seed: number) => Float32Array }[] {
  const make = (o: MlpOptions) => mlp(o);
  const plain = (d: number) => (n: number, seed: number) => randomObs(n, d, seed);
  const normMean = [10, -5, 0.5, 100, 0, 2];
  const normStd = [2, 0.5, 0.1, 30, 1, 4];
  return [
    {
      name: 'discrete 4-64-64-2 relu',
      model: make({ obsDim: 4, hidden: [64, 64], activation: 'relu', head: { kind: 'discrete', n: 2 }, init: { seed: 11 } }),
      obs: plain(4),
    },
    {
      name: 'discrete tanh hidden (q_values)',
      model: make({ obsDim: 6, hidden: [32, 32], activation: 'tanh', head: { kind: 'discrete', output: 'q_values', n: 3 }, init: { seed: 12 } }),
      obs: plain(6),
    },
    {
      name: 'normalized obs (mean/std/clip)',
      model: make({
        obsDim: 6,
        hidden: [64, 64],
        activation: 'relu',
        head: { kind: 'discrete', n: 4 },
        obsNorm: { mean: normMean, std: normStd, clip: 2.5 },
        init: { seed: 13 },
      }),
      // Wide enough that some values hit the clip.
      obs: (n, seed) => {
        const rnd = seededRandom(seed);
        return new Float32Array(n * 6).map((_, k) => normMean[k % 6] + normStd[k % 6] * 4 * (rnd() * 2 - 1));
      },
    },
    {
      name: 'continuous tanh squash to bounds',
      model: make({
        obsDim: 5,
        hidden: [64, 64],
        activation: 'tanh',
        head: { kind: 'continuous', squash: 'tanh', low: [-2, 0, -1], high: [2, 1, 3] },
        init: { seed: 14, outputScale: 2 },
      }),
      obs: plain(5),
    },
    {
      name: 'continuous clip only (one unbounded dim)',
      model: make({
        obsDim: 4,
        hidden: [32],
        activation: 'relu',
        head: { kind: 'continuous', squash: 'none', low: [-0.5, -Infinity], high: [0.5, Infinity] },
        init: { seed: 15, outputScale: 3 },
      }),
      obs: plain(4),
    },
    {
      name: 'sigmoid hidden',
      model: make({ obsDim: 4, hidden: [16, 16], activation: 'sigmoid', head: { kind: 'discrete', n: 3 }, init: { seed: 16 } }),
      obs: plain(4),
    },
  ];
}

/** Largest |a - b| relative to max(1, |b|). */
export function maxRelErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

export function maxAbsErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
