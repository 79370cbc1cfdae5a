/**
 * Distillation losses, pure: each takes row-major [batch][n] buffers, returns the loss averaged over
 * the batch and, when `grad` is given, writes dLoss/dStudent into it (same layout). No allocation.
 *
 * Discrete (Rusu et al. 2016, "Policy Distillation"):
 *   KL(softmax(t / tau) || softmax(s))  — a sharp teacher (tau = 0.01) for Q-values, tau = 1 for logits;
 *   NLL of the teacher's argmax action  — the only choice when the teacher outputs actions;
 *   MSE on the raw outputs.
 * Continuous: MSE on the action (through the head's squash), and the KL between diagonal Gaussians
 * when the teacher has a log-std.
 */

/** Row-wise softmax(src / temperature) into dst (may alias src). */
export function softmaxRows(src: Float32Array, batch: number, n: number, temperature: number, dst: Float32Array): void {
  const inv = 1 / temperature;
  for (let b = 0; b < batch; b++) {
    const o = b * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const z = src[o + j] * inv;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(src[o + j] * inv - max);
      dst[o + j] = e;
      sum += e;
    }
    const r = 1 / sum;
    for (let j = 0; j < n; j++) dst[o + j] *= r;
  }
}

/** log-sum-exp of row b of s (numerically stable). */
function logSumExpRow(s: Float32Array, o: number, n: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (s[o + j] > max) max = s[o + j];
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(s[o + j] - max);
  return max + Math.log(sum);
}

/**
 * KL(p || softmax(s)) with the target distribution p given: mean_b sum_j p_j (log p_j - log q_j).
 * Gradient wrt s: (q - p) / batch. (Same gradient as cross-entropy; the value is the KL, which is 0
 * at a perfect match.)
 */
export function klFromProbs(p: Float32Array, s: Float32Array, batch: number, n: number, grad: Float32Array | null): number {
  let loss = 0;
  const invB = 1 / batch;
  // exp(s_j - max) once per value, kept in float64 for q = e / sum: the training step's loss was
  // a fifth of its time when q was recomputed as exp(s_j - lse).
  if (expScratch.length < n) expScratch = new Float64Array(n);
  const e = expScratch;
  for (let b = 0; b < batch; b++) {
    const o = b * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) if (s[o + j] > max) max = s[o + j];
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.exp(s[o + j] - max);
      e[j] = v;
      sum += v;
    }
    const lse = max + Math.log(sum);
    const inv = 1 / sum;
    for (let j = 0; j < n; j++) {
      const pj = p[o + j];
      if (pj > 0) loss += pj * (Math.log(pj) - (s[o + j] - lse));
      if (grad !== null) grad[o + j] = (e[j] * inv - pj) * invB;
    }
  }
  return loss * invB;
}
let expScratch = new Float64Array(8);

/**
 * Rusu et al.'s distillation loss KL(softmax(t / tau) || softmax(s)), averaged over the batch.
 * Gradient wrt s: (softmax(s) - softmax(t / tau)) / batch.
 */
export function klDistillLoss(
  teacher: Float32Array,
  student: Float32Array,
  batch: number,
  n: number,
  tau: number,
  grad: Float32Array | null,
): number {
  let loss = 0;
  const invB = 1 / batch;
  const invTau = 1 / tau;
  for (let b = 0; b < batch; b++) {
    const o = b * n;
    let tmax = -Infinity;
    for (let j = 0; j < n; j++) if (teacher[o + j] * invTau > tmax) tmax = teacher[o + j] * invTau;
    let tsum = 0;
    for (let j = 0; j < n; j++) tsum += Math.exp(teacher[o + j] * invTau - tmax);
    const tlse = tmax + Math.log(tsum);
    const slse = logSumExpRow(student, o, n);
    for (let j = 0; j < n; j++) {
      const logp = teacher[o + j] * invTau - tlse;
      const pj = Math.exp(logp);
      const logq = student[o + j] - slse;
      if (pj > 0) loss += pj * (logp - logq);
      if (grad !== null) grad[o + j] = (Math.exp(logq) - pj) * invB;
    }
  }
  return loss * invB;
}

/** Mean negative log-likelihood of `actions[b]` under softmax(s[b]); gradient (q - onehot) / batch. */
export function nllLoss(
  actions: ArrayLike<number>,
  student: Float32Array,
  batch: number,
  n: number,
  grad: Float32Array | null,
): number {
  let loss = 0;
  const invB = 1 / batch;
  for (let b = 0; b < batch; b++) {
    const o = b * n;
    const a = actions[b];
    const lse = logSumExpRow(student, o, n);
    loss += lse - student[o + a];
    if (grad !== null) {
      for (let j = 0; j < n; j++) grad[o + j] = Math.exp(student[o + j] - lse) * invB;
      grad[o + a] -= invB;
    }
  }
  return loss * invB;
}

/** Mean squared error over all batch*d elements (PyTorch's reduction='mean'); gradient 2 (y - t) / (batch d). */
export function mseLoss(target: Float32Array, pred: Float32Array, batch: number, d: number, grad: Float32Array | null): number {
  const m = batch * d;
  const k = 2 / m;
  let loss = 0;
  for (let i = 0; i < m; i++) {
    const e = pred[i] - target[i];
    loss += e * e;
    if (grad !== null) grad[i] = k * e;
  }
  return loss / m;
}

/**
 * KL(N(muT, exp(logStdT)^2) || N(muS, exp(logStdS)^2)) for diagonal Gaussians, summed over the d
 * dimensions and averaged over the batch. Log-stds are state-independent (one per dimension), as in
 * PPO's and the IR's continuous head. Per dimension:
 *   logStdS - logStdT + (sT^2 + (muT - muS)^2) / (2 sS^2) - 1/2.
 * gradMu (batch*d) gets dLoss/dmuS = (muS - muT) / (sS^2 batch); gradLogStd (d), when given, gets
 * dLoss/dlogStdS = mean_b [1 - (sT^2 + (muT - muS)^2) / sS^2].
 */
export function gaussianKlLoss(
  muT: Float32Array,
  logStdT: Float32Array,
  muS: Float32Array,
  logStdS: Float32Array,
  batch: number,
  d: number,
  gradMu: Float32Array | null,
  gradLogStd: Float32Array | null,
): number {
  let loss = 0;
  const invB = 1 / batch;
  if (gradLogStd !== null) gradLogStd.fill(0, 0, d);
  for (let j = 0; j < d; j++) {
    const varT = Math.exp(2 * logStdT[j]);
    const varS = Math.exp(2 * logStdS[j]);
    const base = logStdS[j] - logStdT[j] - 0.5;
    let gls = 0;
    for (let b = 0; b < batch; b++) {
      const i = b * d + j;
      const diff = muS[i] - muT[i];
      const r = (varT + diff * diff) / varS;
      loss += base + 0.5 * r;
      if (gradMu !== null) gradMu[i] = (diff / varS) * invB;
      gls += 1 - r;
    }
    if (gradLogStd !== null) gradLogStd[j] = gls * invB;
  }
  return loss * invB;
}

// ---- continuous heads: the squash between the last layer's mean m and the action --------------

/**
 * The IR's continuous head: 'tanh': a = low + (tanh(m) + 1) / 2 (high - low); 'none': a = clip(m, low, high).
 * Writes actions for batch rows of d values.
 */
export function squashActions(
  m: Float32Array,
  batch: number,
  d: number,
  squash: 'tanh' | 'none',
  low: ArrayLike<number>,
  high: ArrayLike<number>,
  out: Float32Array,
): void {
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < d; j++) {
      const i = b * d + j;
      let a = squash === 'tanh' ? low[j] + ((Math.tanh(m[i]) + 1) / 2) * (high[j] - low[j]) : m[i];
      if (a < low[j]) a = low[j];
      if (a > high[j]) a = high[j];
      out[i] = a;
    }
  }
}

/**
 * Turns dLoss/da into dLoss/dm in place for the squash. For 'none' the clip is passed straight
 * through (its zero gradient outside the box would freeze a student that starts out of range).
 */
export function squashBackward(
  m: Float32Array,
  batch: number,
  d: number,
  squash: 'tanh' | 'none',
  low: ArrayLike<number>,
  high: ArrayLike<number>,
  grad: Float32Array,
): void {
  if (squash === 'none') return;
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < d; j++) {
      const i = b * d + j;
      const t = Math.tanh(m[i]);
      grad[i] *= ((1 - t * t) * (high[j] - low[j])) / 2;
    }
  }
}

/** Inverse of the squash (pre-squash mean of an action), clamped away from tanh's asymptotes. */
export function unsquashAction(a: number, squash: 'tanh' | 'none', low: number, high: number): number {
  if (squash === 'none') return a;
  let u = (2 * (a - low)) / (high - low) - 1;
  const lim = 1 - 1e-6;
  if (u > lim) u = lim;
  if (u < -lim) u = -lim;
  return Math.atanh(u);
}

/** Index of the largest value in row b (first one on ties, as numpy/ONNX ArgMax). */
export function argmaxRow(x: ArrayLike<number>, b: number, n: number): number {
  const o = b * n;
  let best = 0;
  let bv = x[o];
  for (let j = 1; j < n; j++) {
    if (x[o + j] > bv) {
      bv = x[o + j];
      best = j;
    }
  }
  return best;
}
