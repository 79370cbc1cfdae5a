/**
 * Importance of hidden units (structured pruning: a unit goes with its incoming row and outgoing
 * column). Hidden layer l is the output of model.layers[l] (l < layers.length - 1).
 *
 * - 'l1' / 'l2': norm of the unit's incoming weights and outgoing weights taken together
 *   (sum |w|, or sqrt(sum w^2), over W_l[j, :] and W_{l+1}[:, j]) (Li et al. 2017's filter norms).
 * - 'activation': on teacher-visited states, std(a_j) * ||W_{l+1}[:, j]||_2: how much unit j moves
 *   the next layer's pre-activations once its mean is folded into the next bias (which pruneUnits
 *   does). A dead or constant unit scores 0 whatever its weights.
 * structuredPrune scores the last hidden layer first and counts only outgoing weights into the units
 * kept there (a unit feeding only pruned units is dead weight).
 */
import { denseForward, normalizeObs } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';

export type ImportanceMethod = 'l1' | 'l2' | 'activation';

/** Outputs of every hidden layer (post-activation) for n raw observations. */
export function hiddenActivations(model: PolicyModel, obs: Float32Array, n: number): Float32Array[] {
  let x = model.obsNorm ? normalizeObs(model.obsNorm, obs, n, model.obsDim) : obs;
  const outs: Float32Array[] = [];
  for (let l = 0; l + 1 < model.layers.length; l++) {
    x = denseForward(model.layers[l], x, n);
    outs.push(x);
  }
  return outs;
}

/** Per-unit mean and (population) std of a [n][width] activation matrix. */
export function unitStats(a: Float32Array, n: number, width: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(width);
  const sq = new Float64Array(width);
  for (let b = 0; b < n; b++) for (let j = 0; j < width; j++) mean[j] += a[b * width + j];
  for (let j = 0; j < width; j++) mean[j] /= Math.max(1, n);
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < width; j++) {
      const e = a[b * width + j] - mean[j];
      sq[j] += e * e;
    }
  }
  const std = new Float64Array(width);
  for (let j = 0; j < width; j++) std[j] = Math.sqrt(sq[j] / Math.max(1, n));
  return { mean, std };
}

/**
 * Scores of the units of hidden layer l. 'activation' needs the layer's activations ([n][width])
 * on representative states. `outRows` restricts the outgoing weights to those units of the next
 * layer (the ones kept there), so weights into pruned units do not count.
 */
export function unitImportance(
  model: PolicyModel,
  l: number,
  method: ImportanceMethod,
  acts?: { a: Float32Array; n: number },
  outRows?: readonly number[],
): Float64Array {
  const inL = model.layers[l];
  const outL = model.layers[l + 1];
  const width = inL.outDim;
  const rows = outRows ?? Array.from({ length: outL.outDim }, (_, o) => o);
  const s = new Float64Array(width);
  if (method === 'activation') {
    if (!acts) throw new Error('activation importance needs activations on states');
    const { std } = unitStats(acts.a, acts.n, width);
    for (let j = 0; j < width; j++) {
      let o2 = 0;
      for (const o of rows) o2 += outL.weight[o * width + j] ** 2;
      s[j] = std[j] * Math.sqrt(o2);
    }
    return s;
  }
  for (let j = 0; j < width; j++) {
    let acc = 0;
    for (let i = 0; i < inL.inDim; i++) {
      const w = inL.weight[j * inL.inDim + i];
      acc += method === 'l1' ? Math.abs(w) : w * w;
    }
    for (const o of rows) {
      const w = outL.weight[o * width + j];
      acc += method === 'l1' ? Math.abs(w) : w * w;
    }
    s[j] = method === 'l1' ? acc : Math.sqrt(acc);
  }
  return s;
}

/** Scores of every hidden layer. */
export function allUnitImportance(model: PolicyModel, method: ImportanceMethod, states?: { obs: Float32Array; n: number }): Float64Array[] {
  const acts = method === 'activation' && states ? hiddenActivations(model, states.obs, states.n) : null;
  if (method === 'activation' && !acts) throw new Error('activation importance needs states');
  const out: Float64Array[] = [];
  for (let l = 0; l + 1 < model.layers.length; l++) out.push(unitImportance(model, l, method, acts ? { a: acts[l], n: states!.n } : undefined));
  return out;
}
