/**
 * Multi-layer perceptrons as plain lists of tfjs variables (no tf.layers: the trainers need the
 * raw weights for the IR, target copies and Polyak updates), with CleanRL's initializations.
 */
import type { Activation, DenseLayer } from '../ir/types.js';
import { tf } from './backend.js';
import type { Rng } from './rng.js';

export interface MlpLayer {
  /** [in, out] (tfjs matMul layout; the IR wants the transpose). */
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly act: Activation;
}

export interface Mlp {
  readonly layers: MlpLayer[];
}

export type Init = { kind: 'orthogonal'; hiddenGain: number; outGain: number } | { kind: 'uniform' };

/**
 * Orthogonal matrix [rows][cols] (row-major) scaled by gain, as torch.nn.init.orthogonal_ on a
 * torch weight [out][in]: Gram-Schmidt on a Gaussian matrix, in JS so it only depends on the seed.
 */
export function orthogonal(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols; // vector length
  const k = tall ? cols : rows; // number of orthonormal vectors
  const q: Float64Array[] = [];
  for (let c = 0; c < k; c++) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += u[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= dot * u[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (tall ? q[c][r] : q[r][c]);
  }
  return out;
}

/** sizes = [in, h1, ..., out]; hidden layers use `hiddenAct`, the last `outAct`. */
export function makeMlp(sizes: readonly number[], hiddenAct: Activation, init: Init, rng: Rng, outAct: Activation = 'none'): Mlp {
  const layers: MlpLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inDim = sizes[l];
    const outDim = sizes[l + 1];
    const last = l + 2 === sizes.length;
    let wOutIn: Float32Array;
    let bias: Float32Array;
    if (init.kind === 'orthogonal') {
      wOutIn = orthogonal(outDim, inDim, last ? init.outGain : init.hiddenGain, rng);
      bias = new Float32Array(outDim);
    } else {
      // torch.nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
      const bound = 1 / Math.sqrt(inDim);
      wOutIn = Float32Array.from({ length: outDim * inDim }, () => (rng.uniform() * 2 - 1) * bound);
      bias = Float32Array.from({ length: outDim }, () => (rng.uniform() * 2 - 1) * bound);
    }
    const wInOut = transpose(wOutIn, outDim, inDim);
    layers.push({
      w: tf.variable(tf.tensor2d(wInOut, [inDim, outDim])),
      b: tf.variable(tf.tensor1d(bias)),
      act: last ? outAct : hiddenAct,
    });
  }
  return { layers };
}

/** Row-major [rows][cols] -> [cols][rows]. */
export function transpose(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

function activate(x: tf.Tensor2D, act: Activation): tf.Tensor2D {
  switch (act) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    default:
      return x;
  }
}

export function forward(m: Mlp, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x;
    for (const l of m.layers) h = activate(tf.add(tf.matMul(h, l.w), l.b) as tf.Tensor2D, l.act);
    return h;
  });
}

export function variables(m: Mlp): tf.Variable[] {
  return m.layers.flatMap((l) => [l.w, l.b]);
}

export function parameterCount(m: Mlp): number {
  return m.layers.reduce((s, l) => s + l.w.size + l.b.size, 0);
}

/** A deep copy (target networks). */
export function cloneMlp(m: Mlp): Mlp {
  return { layers: m.layers.map((l) => ({ w: tf.variable(l.w.clone()), b: tf.variable(l.b.clone()), act: l.act })) };
}

export function disposeMlp(m: Mlp): void {
  for (const l of m.layers) {
    l.w.dispose();
    l.b.dispose();
  }
}

/**
 * The IR's dense layers (weights transposed to [out][in]). `lastRows` keeps only some outputs of
 * the last layer (SAC's actor emits [mean, log std]; only the mean is the policy).
 */
export function toDenseLayers(m: Mlp, lastRows?: [number, number]): DenseLayer[] {
  return m.layers.map((l, i) => {
    const [inDim, outDim] = l.w.shape as [number, number];
    let weight = transpose(l.w.dataSync(), inDim, outDim);
    let bias = Float32Array.from(l.b.dataSync());
    let out = outDim;
    if (i === m.layers.length - 1 && lastRows) {
      const [a, b] = lastRows;
      weight = weight.slice(a * inDim, b * inDim);
      bias = bias.slice(a, b);
      out = b - a;
    }
    return { inDim, outDim: out, weight, bias, activation: l.act };
  });
}

/** An MLP whose variables start from the IR's dense layers (weights [out][in] transposed to [in][out]). */
export function mlpFromDense(layers: readonly DenseLayer[]): Mlp {
  return {
    layers: layers.map((l) => ({
      w: tf.variable(tf.tensor2d(transpose(l.weight, l.outDim, l.inDim), [l.inDim, l.outDim])),
      b: tf.variable(tf.tensor1d(Float32Array.from(l.bias))),
      act: l.activation,
    })),
  };
}

/** Runs a batch of rows through the network and returns the output rows (no gradient). */
export function predict(m: Mlp, x: Float32Array, rows: number): Float32Array {
  const inDim = m.layers[0].w.shape[0];
  const out = tf.tidy(() => forward(m, tf.tensor2d(x, [rows, inDim])));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}
