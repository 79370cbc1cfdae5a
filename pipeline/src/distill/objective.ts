/**
 * What the student is trained and judged on, for one label spec: the loss (with its gradient), the
 * student's actions from its raw outputs, and the held-out metrics (agreement for discrete
 * actions, mean absolute action error for continuous ones). Shared by single- and multi-task runs.
 */
import type { LabelSpec } from './labels.js';
import { argmaxRow, gaussianKlLoss, klFromProbs, mseLoss, squashActions, squashBackward } from './losses.js';

export interface HeldOutMetrics {
  agreement: number | null;
  actionError: number | null;
  loss: number;
}

export class Objective {
  readonly outDim: number;
  /** Continuous Gaussian KL: the student learns its own (state-independent) log-std. */
  readonly gaussian: boolean;
  readonly studentLogStd: Float32Array;
  readonly gradLogStd: Float32Array;
  private readonly teacherLogStd: Float32Array;
  private readonly low: Float32Array;
  private readonly high: Float32Array;
  private readonly squash: 'tanh' | 'none';
  private actBuf: Float32Array;

  constructor(readonly spec: LabelSpec) {
    const out = spec.out;
    this.outDim = out.kind === 'discrete' ? out.n : out.dim;
    this.gaussian = out.kind === 'continuous' && spec.loss === 'kl';
    this.teacherLogStd = spec.teacherLogStd ?? new Float32Array(0);
    this.studentLogStd = this.gaussian ? this.teacherLogStd.slice() : new Float32Array(0);
    this.gradLogStd = new Float32Array(this.studentLogStd.length);
    this.low = out.kind === 'continuous' ? out.low : new Float32Array(0);
    this.high = out.kind === 'continuous' ? out.high : new Float32Array(0);
    this.squash = spec.studentSquash;
    this.actBuf = new Float32Array(0);
  }

  private actionBuffer(n: number): Float32Array {
    if (this.actBuf.length < n * this.outDim) this.actBuf = new Float32Array(n * this.outDim);
    return this.actBuf;
  }

  /**
   * Loss of student outputs y (n rows) against targets t; writes dLoss/dy into g when given (and,
   * for Gaussian KL with stdGrad, dLoss/dlogStd into gradLogStd).
   */
  loss(t: Float32Array, y: Float32Array, n: number, g: Float32Array | null, stdGrad = false): number {
    const { spec, outDim } = this;
    if (spec.out.kind === 'discrete') return spec.loss === 'mse' ? mseLoss(t, y, n, outDim, g) : klFromProbs(t, y, n, outDim, g);
    if (this.gaussian) return gaussianKlLoss(t, this.teacherLogStd, y, this.studentLogStd, n, outDim, g, stdGrad ? this.gradLogStd : null);
    const a = this.actionBuffer(n);
    squashActions(y, n, outDim, this.squash, this.low, this.high, a);
    const l = mseLoss(t, a, n, outDim, g);
    if (g) squashBackward(y, n, outDim, this.squash, this.low, this.high, g);
    return l;
  }

  /** Student actions from raw outputs: argmax index, or the squashed and clipped mean. */
  actions(y: Float32Array, n: number): Int32Array | Float32Array {
    if (this.spec.out.kind === 'discrete') return Int32Array.from({ length: n }, (_, r) => argmaxRow(y, r, this.outDim));
    const a = new Float32Array(n * this.outDim);
    squashActions(y, n, this.outDim, this.squash, this.low, this.high, a);
    return a;
  }

  /** Agreement with the teacher's actions (discrete) or mean |action difference| (continuous), plus the loss. */
  heldOut(y: Float32Array, targets: Float32Array, teacherActions: Float32Array, n: number): HeldOutMetrics {
    const loss = this.loss(targets, y, n, null);
    const d = this.outDim;
    if (this.spec.out.kind === 'discrete') {
      let agree = 0;
      for (let r = 0; r < n; r++) if (argmaxRow(y, r, d) === teacherActions[r]) agree++;
      return { agreement: agree / n, actionError: null, loss };
    }
    const a = this.actionBuffer(n);
    squashActions(y, n, d, this.squash, this.low, this.high, a);
    let err = 0;
    for (let k = 0; k < n * d; k++) err += Math.abs(a[k] - teacherActions[k]);
    return { agreement: null, actionError: err / (n * d), loss };
  }
}

/** fround((obs - mean) / std) row by row, as the IR's normalization computes it. */
export function normalizeRows(obs: Float32Array, n: number, dim: number, mean: Float32Array, std: Float32Array, out: Float32Array, outStride = dim): void {
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < dim; i++) out[r * outStride + i] = Math.fround(obs[r * dim + i] - mean[i]) / std[i];
  }
}
