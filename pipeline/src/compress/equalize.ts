/**
 * Range equalization before int8 (exact in float, up to rounding), so per-tensor int8 ranges
 * are spent where the values are:
 *
 * - Inputs: int8 quantizes the normalized observation with ONE scale, so a dimension that spans
 *   [-0.5, 0.5] gets as coarse a grid as one spanning [-5, 5]. Folding a per-dimension affine map
 *   into the (float) observation normalization, x' = (x - c_i) / s_i with the dimension's
 *   calibration range [lo_i, hi_i] mapped onto [-1, 1], and the inverse into the first layer
 *   (W'[:, i] = W[:, i] s_i, b' = b + W c), gives every dimension the whole int8 grid: per-channel
 *   input quantization within the per-tensor format. With a percentile range, the rare values
 *   outside it saturate.
 * - ReLU hidden units (Nagel et al. 2019, cross-layer equalization, applied to activation ranges):
 *   relu(z / s) = relu(z) / s, so unit j's incoming row and bias divided by s_j and its outgoing
 *   column multiplied by s_j compute the same function; s_j = r_j / r (r_j the unit's calibration
 *   range, r the layer's largest) gives every unit the layer's whole int8 range.
 */
import { normalizeObs } from '../ir/forward.js';
import type { DenseLayer, PolicyModel } from '../ir/types.js';
import { percentileOfSorted } from '../quant/calibrate-percentile.js';
import { hiddenActivations } from './importance.js';

const f = Math.fround;

function columnRange(x: Float32Array, n: number, d: number, i: number, p: number): [number, number] {
  const col = new Float64Array(n);
  for (let r = 0; r < n; r++) col[r] = x[r * d + i];
  col.sort();
  return [percentileOfSorted(col, 100 - p), percentileOfSorted(col, p)];
}

/**
 * The model with each normalized input dimension's p-percentile range mapped onto [-1, 1]. Models
 * whose normalization clips are returned unchanged (the clip would move).
 */
export function equalizeInputs(model: PolicyModel, calibration: Float32Array, n: number, p = 99.9): PolicyModel {
  const norm = model.obsNorm;
  if (norm && norm.clip !== null) return model;
  const d = model.obsDim;
  const x = norm ? normalizeObs(norm, calibration, n, d) : calibration;
  const mean = new Float32Array(d);
  const std = new Float32Array(d);
  const c = new Float64Array(d);
  const s = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    const [lo, hi] = columnRange(x, n, d, i, p);
    c[i] = (lo + hi) / 2;
    s[i] = hi - lo > 1e-6 ? (hi - lo) / 2 : 1;
    const m0 = norm ? norm.mean[i] : 0;
    const s0 = norm ? norm.std[i] : 1;
    mean[i] = f(m0 + s0 * c[i]);
    std[i] = f(s0 * s[i]);
  }
  const l0 = model.layers[0];
  const weight = new Float32Array(l0.weight.length);
  const bias = new Float32Array(l0.outDim);
  for (let o = 0; o < l0.outDim; o++) {
    let b = l0.bias[o];
    for (let i = 0; i < d; i++) {
      weight[o * d + i] = l0.weight[o * d + i] * s[i];
      b += l0.weight[o * d + i] * c[i];
    }
    bias[o] = b;
  }
  const first: DenseLayer = { inDim: l0.inDim, outDim: l0.outDim, activation: l0.activation, weight, bias };
  return { ...model, obsNorm: { mean, std, clip: null }, layers: [first, ...model.layers.slice(1)] };
}

/** The model with every ReLU hidden layer's units scaled to the layer's largest (p-percentile) range. */
export function equalizeReluUnits(model: PolicyModel, calibration: Float32Array, n: number, p = 99.99): PolicyModel {
  const layers = model.layers.map((l) => ({ ...l, weight: l.weight.slice(), bias: l.bias.slice(), codebook: undefined }));
  const acts = hiddenActivations(model, calibration, n);
  for (let l = 0; l + 1 < layers.length; l++) {
    const L = layers[l];
    if (L.activation !== 'relu') continue;
    const w = L.outDim;
    const r = Array.from({ length: w }, (_, j) => columnRange(acts[l], n, w, j, p)[1]);
    const rMax = Math.max(...r);
    if (!(rMax > 0)) continue;
    const next = layers[l + 1];
    for (let j = 0; j < w; j++) {
      if (!(r[j] > 0)) continue;
      const sj = r[j] / rMax;
      for (let i = 0; i < L.inDim; i++) L.weight[j * L.inDim + i] /= sj;
      L.bias[j] /= sj;
      for (let o = 0; o < next.outDim; o++) next.weight[o * next.inDim + j] *= sj;
    }
  }
  return { ...model, layers: layers.map(({ codebook: _c, ...l }) => l) };
}
