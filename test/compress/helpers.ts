/** Hand-made models for the compression tests. */
import { mlp, seededRandom } from '../../pipeline/src/ir/build.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';

/**
 * A CartPole student that computes the hand-made teacher's q-values exactly with redundant units:
 * hidden 1 units 0, 1 carry relu(z), relu(-z) for z = theta + theta_dot / 2; units 2..7 have random
 * incoming weights and no outgoing weight (dead weight for pruning to find). Hidden 2 copies units
 * 0, 1 into its units 0, 1 (identity), others random with no outgoing weight.
 * Output: q = k * [-(h0 - h1), h0 - h1] = k * [-z, z].
 */
export function redundantCartPoleStudent(k = 10, width = 8, seed = 3): PolicyModel {
  const rnd = seededRandom(seed);
  const r = () => (rnd() * 2 - 1) * 0.5;
  const w1 = new Float32Array(width * 4).map(r);
  w1.set([0, 0, 1, 0.5], 0);
  w1.set([0, 0, -1, -0.5], 4);
  const b1 = new Float32Array(width).map(r);
  b1[0] = 0;
  b1[1] = 0;
  const w2 = new Float32Array(width * width).map(r);
  for (let j = 0; j < width; j++) {
    w2[0 * width + j] = j === 0 ? 1 : 0;
    w2[1 * width + j] = j === 1 ? 1 : 0;
    w2[j * width + 0] = j === 0 ? 1 : 0;
    w2[j * width + 1] = j === 1 ? 1 : 0;
  }
  const b2 = new Float32Array(width).map(r);
  b2[0] = 0;
  b2[1] = 0;
  const w3 = new Float32Array(2 * width);
  w3.set([-k, k], 0);
  w3.set([k, -k], width);
  return {
    envId: 'CartPole-v1',
    obsDim: 4,
    obsNorm: null,
    layers: [
      { inDim: 4, outDim: width, weight: w1, bias: b1, activation: 'relu' },
      { inDim: width, outDim: width, weight: w2, bias: b2, activation: 'relu' },
      { inDim: width, outDim: 2, weight: w3, bias: new Float32Array(2), activation: 'none' },
    ],
    head: { kind: 'discrete', output: 'q_values', n: 2 },
    card: { source: 'test', env: 'CartPole-v1', loss: 'mse' },
  };
}

/** Seeded random MLPs. */
export function randomMlp(seed: number, hidden: number[], activation: 'relu' | 'tanh' = 'relu', obsDim = 4, n = 3): PolicyModel {
  return mlp({
    obsDim,
    hidden,
    activation,
    head: { kind: 'discrete', n },
    obsNorm: { mean: Array.from({ length: obsDim }, (_, i) => 0.1 * i), std: Array.from({ length: obsDim }, (_, i) => 1 + 0.5 * i) },
    init: { seed },
  });
}

/** Seeded observations, rows x dim, uniform in [-a, a]. */
export function randomObs(rows: number, dim: number, seed: number, a = 2): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: rows * dim }, () => (rnd() * 2 - 1) * a);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
