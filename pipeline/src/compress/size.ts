/**
 * What a model costs in bytes. `raw` is the weight payload in the given storage format (dense
 * layers' weights and biases only: the observation normalization and head constants are the same
 * for every variant), `gzip` is gzip -9 of exactly those raw bytes, so gzip shows what sparsity and
 * sharing leave to an entropy coder. File sizes (policy.json text) are reported separately.
 */
import { gzipSync } from 'node:zlib';
import { codebookBits, packIndices } from '../ir/codebook.js';
import type { PolicyModel } from '../ir/types.js';
import type { QuantizedPolicy } from '../quant/types.js';
import { toFloat16Bits } from '../export/tflite/float16.js';

export type StorageFormat = 'float32' | 'float16' | 'codebook' | 'int8' | 'sparse-float32';

export interface ByteCount {
  format: StorageFormat;
  raw: number;
  gzip: number;
}

export const gzipSize = (b: Uint8Array): number => gzipSync(b, { level: 9 }).length;

function f32Bytes(arrays: readonly Float32Array[]): Buffer {
  const n = arrays.reduce((s, a) => s + a.length, 0);
  const buf = Buffer.alloc(n * 4);
  let o = 0;
  for (const a of arrays) for (const v of a) o = buf.writeFloatLE(v, o);
  return buf;
}

const count = (bytes: Uint8Array, format: StorageFormat): ByteCount => ({ format, raw: bytes.length, gzip: gzipSize(bytes) });

/** Little-endian float32 weights and biases, layer by layer. */
export function float32Payload(model: PolicyModel): Buffer {
  return f32Bytes(model.layers.flatMap((l) => [l.weight, l.bias]));
}

export function float32Bytes(model: PolicyModel): ByteCount {
  return count(float32Payload(model), 'float32');
}

function f16Bytes(vals: ArrayLike<number>): Buffer {
  const buf = Buffer.alloc(vals.length * 2);
  for (let i = 0; i < vals.length; i++) buf.writeUInt16LE(toFloat16Bits(vals[i]), i * 2);
  return buf;
}

/** binary16 weights and biases (layers with a codebook: binary16 centroids + packed indices). */
export function float16Bytes(model: PolicyModel): ByteCount {
  const parts: Uint8Array[] = [];
  for (const l of model.layers) {
    if (l.codebook) parts.push(f16Bytes(l.codebook.centroids), packIndices(l.codebook.indices, codebookBits(l.codebook.centroids.length)));
    else parts.push(f16Bytes(l.weight));
    parts.push(f16Bytes(l.bias));
  }
  return count(Buffer.concat(parts), 'float16');
}

/** Layers with a codebook: float32 centroids + bit-packed indices + float32 biases; others float32. */
export function codebookPayload(model: PolicyModel): Buffer {
  const parts: Uint8Array[] = [];
  for (const l of model.layers) {
    if (l.codebook) {
      parts.push(f32Bytes([l.codebook.centroids]), packIndices(l.codebook.indices, codebookBits(l.codebook.centroids.length)), f32Bytes([l.bias]));
    } else parts.push(f32Bytes([l.weight, l.bias]));
  }
  return Buffer.concat(parts);
}

export function codebookBytes(model: PolicyModel): ByteCount {
  return count(codebookPayload(model), 'codebook');
}

/** Sparse float32: a 1-bit-per-weight occupancy bitmap, the nonzero weights, and the biases. */
export function sparseBytes(model: PolicyModel): ByteCount {
  const parts: Uint8Array[] = [];
  for (const l of model.layers) {
    const bitmap = new Uint8Array(Math.ceil(l.weight.length / 8));
    const nz: number[] = [];
    l.weight.forEach((w, i) => {
      if (w !== 0) {
        bitmap[i >> 3] |= 1 << (i & 7);
        nz.push(w);
      }
    });
    parts.push(bitmap, f32Bytes([Float32Array.from(nz), l.bias]));
  }
  return count(Buffer.concat(parts), 'sparse-float32');
}

/**
 * int8 payload: int8 weights, int32 biases, float32 per-channel weight scales, and each activation
 * tensor's float32 scale + int8 zero point (input and every layer output).
 */
export function int8Payload(qp: QuantizedPolicy): Buffer {
  const parts: Buffer[] = [];
  const act = (p: { scale: number; zeroPoint: number }) => {
    const b = Buffer.alloc(5);
    b.writeFloatLE(p.scale, 0);
    b.writeInt8(p.zeroPoint, 4);
    return b;
  };
  parts.push(act(qp.input));
  for (const l of qp.layers) {
    parts.push(Buffer.from(l.weight.buffer, l.weight.byteOffset, l.weight.byteLength));
    const bias = Buffer.alloc(l.bias.length * 4);
    l.bias.forEach((v, i) => bias.writeInt32LE(v, i * 4));
    parts.push(bias, f32Bytes([l.weightScales]), act(l.output));
  }
  return Buffer.concat(parts);
}

export function int8Bytes(qp: QuantizedPolicy): ByteCount {
  return count(int8Payload(qp), 'int8');
}

/** Size of a file's text, raw and gzipped. */
export function textBytes(text: string): { raw: number; gzip: number } {
  const b = Buffer.from(text, 'utf8');
  return { raw: b.length, gzip: gzipSize(b) };
}
