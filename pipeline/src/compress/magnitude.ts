/**
 * Unstructured magnitude pruning (Han et al. 2015; Zhu & Gupta 2017): the smallest |w| become 0,
 * over all weight matrices together ('global') or within each ('layer'). Biases are kept (few, and
 * a zero bias saves nothing). Masks are 1 = kept, 0 = pruned; fine-tuning keeps pruned weights at 0.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { PolicyModel } from '../ir/types.js';

export type SparsityScope = 'global' | 'layer';

/** Masks pruning round(sparsity x count) weights, smallest |w| first (ties: lower layer, lower index). */
export function magnitudeMasks(model: PolicyModel, sparsity: number, scope: SparsityScope = 'global'): Uint8Array[] {
  if (!(sparsity >= 0 && sparsity < 1)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `sparsity must be in [0, 1), got ${sparsity}`, { field: 'prune' });
  }
  const masks = model.layers.map((l) => new Uint8Array(l.weight.length).fill(1));
  const prune = (entries: { l: number; i: number; a: number }[]) => {
    const k = Math.round(sparsity * entries.length);
    entries.sort((x, y) => x.a - y.a || x.l - y.l || x.i - y.i);
    for (let e = 0; e < k; e++) masks[entries[e].l][entries[e].i] = 0;
  };
  const entriesOf = (l: number) => Array.from(model.layers[l].weight, (w, i) => ({ l, i, a: Math.abs(w) }));
  if (scope === 'global') prune(model.layers.flatMap((_, l) => entriesOf(l)));
  else model.layers.forEach((_, l) => prune(entriesOf(l)));
  return masks;
}

/** The model with masked weights set to 0 (and without codebooks, which the zeros would invalidate). */
export function applyMasks(model: PolicyModel, masks: readonly Uint8Array[]): PolicyModel {
  return {
    ...model,
    layers: model.layers.map((l, k) => ({
      inDim: l.inDim,
      outDim: l.outDim,
      activation: l.activation,
      bias: l.bias.slice(),
      weight: l.weight.map((w, i) => (masks[k][i] ? w : 0)),
    })),
  };
}

/** Masks of the weights that are exactly 0 now (to keep them 0 through later fine-tuning). */
export function zeroMasks(model: PolicyModel): Uint8Array[] {
  return model.layers.map((l) => Uint8Array.from(l.weight, (w) => (w === 0 ? 0 : 1)));
}

export interface Sparsity {
  zeros: number;
  weights: number;
  sparsity: number;
  perLayer: number[];
}

/** Fraction of weights (not biases) that are exactly 0, overall and per layer. */
export function sparsityOf(model: PolicyModel): Sparsity {
  let zeros = 0;
  let weights = 0;
  const perLayer = model.layers.map((l) => {
    let z = 0;
    for (const w of l.weight) if (w === 0) z++;
    zeros += z;
    weights += l.weight.length;
    return z / l.weight.length;
  });
  return { zeros, weights, sparsity: weights ? zeros / weights : 0, perLayer };
}
