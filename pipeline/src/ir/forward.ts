/**
 * Pure forward pass of the IR with float32 semantics (every op's result is rounded to float32, as
 * onnxruntime stores it; dot products accumulate in float64 and round once, which stays within
 * float32 rounding of onnxruntime's own summation order).
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { Activation, ContinuousHead, DenseLayer, ObsNormalization, PolicyModel } from './types.js';

const f = Math.fround;

/** Output width of the model's head (actions for discrete heads, action dims for continuous). */
export function outDimOf(model: PolicyModel): number {
  return model.head.kind === 'discrete' ? model.head.n : model.head.dim;
}

export function normalizeObs(norm: ObsNormalization, obs: Float32Array, batch: number, obsDim: number): Float32Array {
  const out = new Float32Array(batch * obsDim);
  const c = norm.clip;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < obsDim; i++) {
      const k = b * obsDim + i;
      let v = f(f(obs[k] - norm.mean[i]) / norm.std[i]);
      if (c !== null) v = v < -c ? -c : v > c ? c : v;
      out[k] = v;
    }
  }
  return out;
}

function activate(a: Activation, v: number): number {
  switch (a) {
    case 'relu':
      return v > 0 ? v : 0;
    case 'tanh':
      return f(Math.tanh(v));
    case 'sigmoid':
      return f(1 / (1 + Math.exp(-v)));
    case 'none':
      return v;
  }
}

/** y = act(x W^T + b) for a batch; W is row-major [outDim][inDim]. */
export function denseForward(layer: DenseLayer, x: Float32Array, batch: number): Float32Array {
  const { inDim, outDim, weight, bias, activation } = layer;
  const y = new Float32Array(batch * outDim);
  for (let b = 0; b < batch; b++) {
    const xo = b * inDim;
    for (let j = 0; j < outDim; j++) {
      const wo = j * inDim;
      let s = 0;
      for (let k = 0; k < inDim; k++) s += x[xo + k] * weight[wo + k];
      y[b * outDim + j] = activate(activation, f(f(s) + bias[j]));
    }
  }
  return y;
}

/** tanh squash: low + (tanh(m)+1)/2*(high-low), computed as tanh(m)*scale + offset (same math). */
export function squashConstants(head: ContinuousHead): { scale: Float32Array; offset: Float32Array } {
  const scale = new Float32Array(head.dim);
  const offset = new Float32Array(head.dim);
  for (let i = 0; i < head.dim; i++) {
    scale[i] = (head.high[i] - head.low[i]) / 2;
    offset[i] = (head.high[i] + head.low[i]) / 2;
  }
  return { scale, offset };
}

function postProcess(head: ContinuousHead, m: Float32Array, batch: number): Float32Array {
  const d = head.dim;
  const out = new Float32Array(batch * d);
  const sq = head.squash === 'tanh' ? squashConstants(head) : null;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < d; i++) {
      const k = b * d + i;
      let v = m[k];
      if (sq) v = f(f(f(Math.tanh(v)) * sq.scale[i]) + sq.offset[i]);
      const lo = head.low[i];
      const hi = head.high[i];
      out[k] = v < lo ? lo : v > hi ? hi : v;
    }
  }
  return out;
}

/**
 * Raw head output for `batch` observations laid out row-major in `obs`: logits or q_values for
 * discrete heads, the post-processed action for continuous heads. Returns batch * outDim floats.
 */
export function forward(model: PolicyModel, obs: Float32Array, batch: number): Float32Array {
  if (!Number.isInteger(batch) || batch < 0) {
    throw new EdgeDistillError('BAD_ARGUMENT', `batch must be a non-negative integer, got ${batch}`, { field: 'batch' });
  }
  if (obs.length !== batch * model.obsDim) {
    throw new EdgeDistillError(
      'BAD_OBSERVATION',
      `expected ${batch} x ${model.obsDim} = ${batch * model.obsDim} observation values, got ${obs.length}`,
      { field: 'obs' },
    );
  }
  let x = model.obsNorm ? normalizeObs(model.obsNorm, obs, batch, model.obsDim) : obs;
  for (const layer of model.layers) x = denseForward(layer, x, batch);
  if (model.head.kind === 'continuous') return postProcess(model.head, x, batch);
  return x === obs ? obs.slice() : x;
}

/** Index of the largest value in row `row` of a [rows][width] array: first index on ties, and
 * the first NaN if there is one, exactly as numpy.argmax. */
export function argmaxRow(values: ArrayLike<number>, width: number, row = 0): number {
  const o = row * width;
  let best = 0;
  let bestV = values[o];
  if (Number.isNaN(bestV)) return 0;
  for (let i = 1; i < width; i++) {
    const v = values[o + i];
    if (Number.isNaN(v)) return i;
    if (v > bestV) {
      best = i;
      bestV = v;
    }
  }
  return best;
}

/** Deterministic action for one observation: argmax index (discrete) or the action vector (continuous). */
export function act(model: PolicyModel, obs: Float32Array): number | Float32Array {
  const y = forward(model, obs, 1);
  return model.head.kind === 'discrete' ? argmaxRow(y, model.head.n) : y;
}

/** Trainable parameters: weights and biases of the dense layers (normalization constants excluded). */
export function paramCount(model: PolicyModel): number {
  let n = 0;
  for (const l of model.layers) n += l.weight.length + l.bias.length;
  return n;
}
