/**
 * The maths of the trainers as small pure functions (arrays in, arrays out; or tensors in, tensor
 * out), each unit-tested against hand-computed values in test/train/math.test.ts.
 */
import { tf } from './backend.js';

// ---------------------------------------------------------------------------------------------
// Advantages and returns (PPO)

/**
 * Generalized Advantage Estimation over a rollout of T steps x N envs (index t * N + i).
 * `dones[t*N+i]` = 1 when the episode ended *at* step t (after its action); rewards of truncated
 * steps already include the bootstrap gamma * V(final obs). `lastValues[i]` = V(obs after step T-1).
 *   delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t
 *   A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
 * Returns advantages and returns (= advantages + values, the value-function target).
 */
export function gae(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  dones: ArrayLike<number>,
  lastValues: ArrayLike<number>,
  T: number,
  N: number,
  gamma: number,
  lambda: number,
): { advantages: Float32Array; returns: Float32Array } {
  const adv = new Float32Array(T * N);
  const ret = new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    let next = 0;
    for (let t = T - 1; t >= 0; t--) {
      const k = t * N + i;
      const notDone = 1 - dones[k];
      const nextV = t === T - 1 ? lastValues[i] : values[k + N];
      const delta = rewards[k] + gamma * nextV * notDone - values[k];
      next = delta + gamma * lambda * notDone * next;
      adv[k] = next;
      ret[k] = next + values[k];
    }
  }
  return { advantages: adv, returns: ret };
}

/** (x - mean) / (std + eps), population std (as CleanRL). */
export function normalize(x: ArrayLike<number>, eps = 1e-8): Float32Array {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - m) ** 2;
  const s = Math.sqrt(v / n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - m) / (s + eps);
  return out;
}

/** 1 - Var(y - yhat) / Var(y): how much of the return variance the value function explains. */
export function explainedVariance(yPred: ArrayLike<number>, yTrue: ArrayLike<number>): number {
  const n = yTrue.length;
  const mean = (a: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i];
    return s / n;
  };
  const my = mean(yTrue);
  let vy = 0;
  let md = 0;
  for (let i = 0; i < n; i++) md += yTrue[i] - yPred[i];
  md /= n;
  let vd = 0;
  for (let i = 0; i < n; i++) {
    vy += (yTrue[i] - my) ** 2;
    vd += (yTrue[i] - yPred[i] - md) ** 2;
  }
  return vy === 0 ? NaN : 1 - vd / vy;
}

// ---------------------------------------------------------------------------------------------
// PPO losses (tensors)

/** Clipped surrogate policy loss: mean(max(-A * r, -A * clip(r, 1 - eps, 1 + eps))). */
export function clippedSurrogateLoss(ratio: tf.Tensor1D, adv: tf.Tensor1D, clip: number): tf.Scalar {
  return tf.tidy(() => {
    const a = tf.neg(tf.mul(adv, ratio));
    const b = tf.neg(tf.mul(adv, tf.clipByValue(ratio, 1 - clip, 1 + clip)));
    return tf.mean(tf.maximum(a, b)) as tf.Scalar;
  });
}

/**
 * Value loss 0.5 * mean((V - R)^2); with `clip` (PPO2 value clipping) the max of the unclipped and
 * the clipped (V_old + clip(V - V_old, -c, c)) squared errors.
 */
export function valueLoss(v: tf.Tensor1D, returns: tf.Tensor1D, vOld: tf.Tensor1D | null, clip: number | null): tf.Scalar {
  return tf.tidy(() => {
    const unclipped = tf.square(tf.sub(v, returns));
    if (clip === null || vOld === null) return tf.mul(0.5, tf.mean(unclipped)) as tf.Scalar;
    const vClipped = tf.add(vOld, tf.clipByValue(tf.sub(v, vOld), -clip, clip));
    const clipped = tf.square(tf.sub(vClipped, returns));
    return tf.mul(0.5, tf.mean(tf.maximum(unclipped, clipped))) as tf.Scalar;
  });
}

/** log softmax(logits)[action] per row. */
export function categoricalLogProb(logits: tf.Tensor2D, actions: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(tf.cast(actions, 'int32'), logits.shape[1]);
    return tf.sum(tf.mul(logp, oneHot), 1) as tf.Tensor1D;
  });
}

/** Entropy -sum p log p of each row's categorical distribution. */
export function categoricalEntropy(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D;
  });
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Diagonal Gaussian log density, summed over action dims: sum(-(x-m)^2/(2s^2) - log s - log sqrt(2 pi)). */
export function gaussianLogProb(mean: tf.Tensor2D, logStd: tf.Tensor, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const z = tf.div(tf.sub(x, mean), tf.exp(logStd));
    const per = tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), logStd), HALF_LOG_2PI);
    return tf.sum(per, 1) as tf.Tensor1D;
  });
}

/** Entropy of a diagonal Gaussian: sum(log s + 0.5 + 0.5 log 2 pi). */
export function gaussianEntropy(logStd: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.add(logStd, 0.5 + HALF_LOG_2PI)) as tf.Scalar);
}

/** Scales gradients so their global L2 norm is at most maxNorm (as torch's clip_grad_norm_). */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: number } {
  const names = Object.keys(grads);
  const normT = tf.tidy(() => tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]))))));
  const norm = normT.dataSync()[0];
  normT.dispose();
  if (!(norm > maxNorm)) return { grads, norm };
  const scale = maxNorm / (norm + 1e-6);
  const out: tf.NamedTensorMap = {};
  for (const k of names) {
    out[k] = tf.mul(grads[k], scale);
    grads[k].dispose();
  }
  return { grads: out, norm };
}

/** Applies gradients from tf.variableGrads (typed through the base Optimizer, which takes a NamedTensorMap). */
export function applyGradients(opt: tf.Optimizer, grads: tf.NamedTensorMap): void {
  opt.applyGradients(grads);
}

// ---------------------------------------------------------------------------------------------
// Off-policy targets (DQN, SAC, TD3)

/** One-step TD target r + gamma * (1 - terminated) * nextValue (truncation still bootstraps). */
export function tdTarget(reward: tf.Tensor1D, terminated: tf.Tensor1D, nextValue: tf.Tensor1D, gamma: number): tf.Tensor1D {
  return tf.tidy(() => tf.add(reward, tf.mul(tf.mul(gamma, tf.sub(1, terminated)), nextValue)) as tf.Tensor1D);
}

/** SAC soft target: r + gamma * (1 - terminated) * (min(Q1', Q2') - alpha * log pi(a'|s')). */
export function sacTarget(
  reward: tf.Tensor1D,
  terminated: tf.Tensor1D,
  q1Next: tf.Tensor1D,
  q2Next: tf.Tensor1D,
  nextLogPi: tf.Tensor1D,
  alpha: number,
  gamma: number,
): tf.Tensor1D {
  return tf.tidy(() => tdTarget(reward, terminated, tf.sub(tf.minimum(q1Next, q2Next), tf.mul(alpha, nextLogPi)) as tf.Tensor1D, gamma));
}

/** TD3 target: r + gamma * (1 - terminated) * min(Q1', Q2') (the target action is smoothed by the caller). */
export function td3Target(
  reward: tf.Tensor1D,
  terminated: tf.Tensor1D,
  q1Next: tf.Tensor1D,
  q2Next: tf.Tensor1D,
  gamma: number,
): tf.Tensor1D {
  return tf.tidy(() => tdTarget(reward, terminated, tf.minimum(q1Next, q2Next) as tf.Tensor1D, gamma));
}

/** Double DQN: the online network picks argmax a', the target network evaluates it. */
export function doubleQNext(qOnlineNext: tf.Tensor2D, qTargetNext: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const a = tf.argMax(qOnlineNext, 1);
    return tf.sum(tf.mul(qTargetNext, tf.oneHot(a, qTargetNext.shape[1])), 1) as tf.Tensor1D;
  });
}

/** Huber (smooth L1, delta 1) loss, mean over the batch, as SB3's DQN. */
export function huberLoss(pred: tf.Tensor1D, target: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(pred, target));
    const quad = tf.minimum(d, 1);
    return tf.mean(tf.add(tf.mul(0.5, tf.square(quad)), tf.sub(d, quad))) as tf.Scalar;
  });
}

/** Polyak averaging target <- tau * source + (1 - tau) * target, on plain arrays. */
export function softUpdateArray(target: Float32Array, source: ArrayLike<number>, tau: number): Float32Array {
  for (let i = 0; i < target.length; i++) target[i] = tau * source[i] + (1 - tau) * target[i];
  return target;
}

/** The same on tfjs variables (tau = 1 is a hard copy). */
export function softUpdate(targets: readonly tf.Variable[], sources: readonly tf.Variable[], tau: number): void {
  tf.tidy(() => {
    targets.forEach((t, i) => t.assign(tau === 1 ? sources[i] : tf.add(tf.mul(tau, sources[i]), tf.mul(1 - tau, t))));
  });
}

/**
 * Tanh-squashed Gaussian (SAC): given pre-squash sample u ~ N(m, s), returns tanh(u) and
 * log pi(a) = log N(u; m, s) - sum log(scale * (1 - tanh(u)^2) + 1e-6), scale = (high - low) / 2.
 */
export function squashedLogProb(
  mean: tf.Tensor2D,
  logStd: tf.Tensor2D,
  u: tf.Tensor2D,
  scale: tf.Tensor1D,
): { squashed: tf.Tensor2D; logProb: tf.Tensor1D } {
  return tf.tidy(() => {
    const squashed = tf.tanh(u);
    const base = gaussianLogProb(mean, logStd, u);
    const corr = tf.sum(tf.log(tf.add(tf.mul(scale, tf.sub(1, tf.square(squashed))), 1e-6)), 1);
    return { squashed: tf.keep(squashed) as tf.Tensor2D, logProb: tf.keep(tf.sub(base, corr)) as tf.Tensor1D };
  });
}

/** Maps tanh output in [-1, 1] to [low, high], as the IR's 'tanh' squash. */
export function scaleAction(squashed: ArrayLike<number>, low: ArrayLike<number>, high: ArrayLike<number>): Float32Array {
  const out = new Float32Array(squashed.length);
  for (let i = 0; i < out.length; i++) out[i] = low[i] + ((squashed[i] + 1) / 2) * (high[i] - low[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schedules and running statistics

/** Linear from `start` to `end` over `duration` steps, then `end` (epsilon, learning rate). */
export function linearSchedule(start: number, end: number, duration: number, t: number): number {
  if (duration <= 0) return end;
  const f = Math.min(1, Math.max(0, t / duration));
  return start + f * (end - start);
}

/**
 * Running mean and variance of vectors (parallel-merge form, as SB3's RunningMeanStd), for
 * observation normalization; starts with count epsilon so the first batch dominates.
 */
export class RunningMeanStd {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  count: number;

  constructor(readonly dim: number, epsilon = 1e-4) {
    this.mean = new Float64Array(dim);
    this.var = new Float64Array(dim).fill(1);
    this.count = epsilon;
  }

  /** Adds a batch of rows (row-major, batch x dim). */
  update(batch: ArrayLike<number>, rows: number): void {
    const d = this.dim;
    const bm = new Float64Array(d);
    const bv = new Float64Array(d);
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) bm[j] += batch[r * d + j];
    for (let j = 0; j < d; j++) bm[j] /= rows;
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) bv[j] += (batch[r * d + j] - bm[j]) ** 2;
    for (let j = 0; j < d; j++) bv[j] /= rows;
    const tot = this.count + rows;
    for (let j = 0; j < d; j++) {
      const delta = bm[j] - this.mean[j];
      const m2 = this.var[j] * this.count + bv[j] * rows + (delta * delta * this.count * rows) / tot;
      this.mean[j] += (delta * rows) / tot;
      this.var[j] = m2 / tot;
    }
    this.count = tot;
  }

  /** std as the IR stores it: sqrt(var + eps). */
  std(eps = 1e-8): Float32Array {
    return Float32Array.from(this.var, (v) => Math.sqrt(v + eps));
  }
}

/** clip((x - mean) / std, -clip, clip), row-major rows x dim (the IR's obsNorm). */
export function normalizeObs(x: ArrayLike<number>, mean: ArrayLike<number>, std: ArrayLike<number>, clip: number | null): Float32Array {
  const d = mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    let v = (x[i] - mean[j]) / std[j];
    if (clip !== null) v = Math.min(clip, Math.max(-clip, v));
    out[i] = v;
  }
  return out;
}
