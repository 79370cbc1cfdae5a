/**
 * Weight sharing: each layer's weights are replaced by the nearest of k centroids (per-layer 1-D
 * k-means, k <= 256), stored as a codebook (float32 centroids + ceil(log2 k)-bit indices) in the IR.
 * Exact zeros (from magnitude pruning) keep a centroid of their own pinned at 0, so sparsity
 * survives sharing and fine-tuning.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { DenseLayer, PolicyModel } from '../ir/types.js';
import { validatePolicy } from '../ir/validate.js';
import { kmeans1d } from './kmeans.js';

export interface SharedLayerInfo {
  k: number;
  /** Centroid index pinned at 0 (pruned weights), or -1. */
  zeroIndex: number;
  inertia: number;
}

export interface ShareResult {
  model: PolicyModel;
  layers: SharedLayerInfo[];
}

export function shareWeights(model: PolicyModel, k: number, opts: { seed?: number } = {}): ShareResult {
  if (!Number.isInteger(k) || k < 2 || k > 256) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--share takes a number of centroids from 2 to 256, got ${k}`, { field: 'share' });
  }
  const info: SharedLayerInfo[] = [];
  const layers = model.layers.map((l, li): DenseLayer => {
    const hasZero = l.weight.some((w) => w === 0);
    const nz = hasZero ? l.weight.filter((w) => w !== 0) : l.weight;
    let centroids: Float32Array;
    let indices: Uint8Array;
    let zeroIndex = -1;
    let inertia = 0;
    if (nz.length === 0) {
      centroids = Float32Array.of(0);
      indices = new Uint8Array(l.weight.length);
      zeroIndex = 0;
    } else {
      const km = kmeans1d(nz, hasZero ? k - 1 : k, { seed: (opts.seed ?? 0) + li });
      inertia = km.inertia;
      if (!hasZero) {
        centroids = km.centroids;
        indices = km.indices;
      } else {
        // Insert the pinned 0 into the sorted centroids and remap.
        const pos = km.centroids.findIndex((c) => c > 0);
        zeroIndex = pos < 0 ? km.centroids.length : pos;
        centroids = new Float32Array(km.centroids.length + 1);
        centroids.set(km.centroids.subarray(0, zeroIndex), 0);
        centroids[zeroIndex] = 0;
        centroids.set(km.centroids.subarray(zeroIndex), zeroIndex + 1);
        indices = new Uint8Array(l.weight.length);
        let j = 0;
        for (let i = 0; i < l.weight.length; i++) {
          if (l.weight[i] === 0) indices[i] = zeroIndex;
          else {
            const c = km.indices[j++];
            indices[i] = c < zeroIndex ? c : c + 1;
          }
        }
      }
    }
    info.push({ k: centroids.length, zeroIndex, inertia });
    const weight = Float32Array.from(indices, (i) => centroids[i]);
    return { inDim: l.inDim, outDim: l.outDim, activation: l.activation, weight, bias: l.bias.slice(), codebook: { centroids, indices } };
  });
  return { model: validatePolicy({ ...model, layers }), layers: info };
}

/** The model without codebooks (plain dense layers with the same weights). */
export function withoutCodebooks(model: PolicyModel): PolicyModel {
  return { ...model, layers: model.layers.map(({ codebook: _drop, ...l }) => l) };
}
