/**
 * Weight-sharing codebooks of dense layers (IR extension, optional): the layer's weights are
 * centroids[indices[i]]. In memory the layer keeps its decoded `weight` too, so every forward pass
 * and exporter works unchanged; policy.json stores only the codebook, with the indices bit-packed
 * (ceil(log2 k) bits each, least significant bit first), which is where the bytes are saved.
 */
import type { DenseCodebook } from './types.js';

/** Bits per index for a codebook of k centroids (at least 1). */
export function codebookBits(k: number): number {
  return Math.max(1, Math.ceil(Math.log2(k)));
}

/** weight[i] = centroids[indices[i]]. */
export function decodeCodebook(cb: DenseCodebook): Float32Array {
  const w = new Float32Array(cb.indices.length);
  for (let i = 0; i < w.length; i++) w[i] = cb.centroids[cb.indices[i]];
  return w;
}

/** Packs indices (each < 2^bits) into a little-endian bit stream, LSB first. */
export function packIndices(indices: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((indices.length * bits) / 8));
  let bit = 0;
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    for (let b = 0; b < bits; b++, bit++) if ((v >> b) & 1) out[bit >> 3] |= 1 << (bit & 7);
  }
  return out;
}

/** Inverse of {@link packIndices} for `count` indices. */
export function unpackIndices(packed: Uint8Array, count: number, bits: number): Uint8Array {
  const out = new Uint8Array(count);
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++, bit++) if ((packed[bit >> 3] >> (bit & 7)) & 1) v |= 1 << b;
    out[i] = v;
  }
  return out;
}

/** Bytes of a layer's codebook on disk: float32 centroids plus the packed indices. */
export function codebookBytes(cb: DenseCodebook): number {
  return cb.centroids.length * 4 + Math.ceil((cb.indices.length * codebookBits(cb.centroids.length)) / 8);
}
