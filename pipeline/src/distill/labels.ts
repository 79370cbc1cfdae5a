/**
 * Teacher outputs -> training targets. Targets are stored ready for the loss, so several teachers
 * (same spaces) are averaged once at labelling time:
 *   discrete kl  : mean over teachers of softmax(out / tau)   (KL to that distribution)
 *   discrete nll : one-hot of the argmax of that mean          (KL to a one-hot = NLL)
 *   discrete mse : mean raw output (logits or q-values)
 *   continuous mse: mean action
 *   continuous kl : mean pre-squash Gaussian mean (the teachers' log-stds are averaged too)
 * The teacher's action (argmax, or the mean action) comes along for DAgger and for agreement.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { argmaxRow, softmaxRows, unsquashAction } from './losses.js';
import type { Labeler } from './rollouts.js';
import type { TeacherLike, TeacherOutput } from './teacher.js';

export type LossName = 'kl' | 'nll' | 'mse';

export interface LabelSpec {
  readonly out: TeacherOutput;
  readonly loss: LossName;
  /** Softmax temperature of the teacher for 'kl' on logits / q-values. */
  readonly tau: number;
  /** Floats per target row. */
  readonly targetDim: number;
  /** Floats per teacher action (1 for discrete). */
  readonly actionDim: number;
  /** Continuous 'kl': the teachers' (mean) log-std. */
  readonly teacherLogStd: Float32Array | null;
  /**
   * The student's continuous squash. MSE on the action uses 'none' (a clip with a straight-through
   * gradient): a tanh head saturates on teachers that sit at the action bounds (Pendulum, bang-bang
   * controllers) and its vanishing gradient then stalls training. Gaussian KL lives in the
   * pre-squash space, so it keeps the teacher's squash.
   */
  readonly studentSquash: 'tanh' | 'none';
}

/** Default tau (Rusu et al. 2016): sharp 0.01 on Q-values, 1 on logits and probabilities. */
export function defaultTau(out: TeacherOutput): number {
  return out.kind === 'discrete' && out.values === 'q_values' ? 0.01 : 1;
}

/** Default loss: KL for discrete distributions/values, NLL for action-only teachers, MSE for continuous. */
export function defaultLoss(out: TeacherOutput): LossName {
  if (out.kind === 'continuous') return 'mse';
  return out.values === 'action' ? 'nll' : 'kl';
}

export function makeLabelSpec(outs: readonly TeacherOutput[], loss?: LossName, tau?: number): LabelSpec {
  const out = outs[0];
  const l = loss ?? defaultLoss(out);
  const t = tau ?? defaultTau(out);
  if (!(t > 0) || !Number.isFinite(t)) throw new EdgeDistillError('BAD_ARGUMENT', `--tau must be a positive number, got ${tau}`, { field: 'tau' });
  if (out.kind === 'discrete') {
    if (out.values === 'action' && l !== 'nll') {
      throw new EdgeDistillError('BAD_ARGUMENT', `the teacher outputs actions only, so the loss must be nll (got ${l})`, {
        field: 'loss',
        suggestion: 'use --loss nll',
      });
    }
    if (out.values === 'probs' && l === 'mse') {
      throw new EdgeDistillError('BAD_ARGUMENT', 'mse needs logits or q-values; this teacher gives probabilities', { field: 'loss' });
    }
    return { out, loss: l, tau: t, targetDim: out.n, actionDim: 1, teacherLogStd: null, studentSquash: 'none' };
  }
  if (l === 'nll') {
    throw new EdgeDistillError('BAD_ARGUMENT', 'nll is for discrete actions; use mse or kl for a continuous teacher', { field: 'loss' });
  }
  let logStd: Float32Array | null = null;
  if (l === 'kl') {
    const all = outs.map((o) => (o.kind === 'continuous' ? o.logStd : null));
    if (all.some((s) => s === null)) {
      throw new EdgeDistillError('BAD_ARGUMENT', 'Gaussian KL needs a teacher with a log-std (head.logStd); this one has none', {
        field: 'loss',
        suggestion: 'use --loss mse',
      });
    }
    logStd = new Float32Array(out.dim);
    for (const s of all) for (let j = 0; j < out.dim; j++) logStd[j] += (s as Float32Array)[j] / all.length;
  }
  return { out, loss: l, tau: t, targetDim: out.dim, actionDim: out.dim, teacherLogStd: logStd, studentSquash: l === 'kl' ? out.squash : 'none' };
}

/**
 * Fills `targets` (batch x targetDim) and `actions` (batch x actionDim) from the teachers' raw
 * outputs `raws[k]` (batch x teacher outDim). `scratch` needs batch x targetDim floats.
 */
export function makeTargets(
  spec: LabelSpec,
  raws: readonly Float32Array[],
  batch: number,
  targets: Float32Array,
  actions: Float32Array,
  scratch: Float32Array,
): void {
  const out = spec.out;
  const T = raws.length;
  const d = spec.targetDim;
  targets.fill(0, 0, batch * d);
  if (out.kind === 'discrete') {
    const n = out.n;
    for (const raw of raws) {
      if (out.values === 'action') {
        for (let b = 0; b < batch; b++) {
          const a = raw[b];
          if (!(a >= 0 && a < n && a === Math.floor(a))) {
            throw new EdgeDistillError('BAD_MODEL', `teacher returned action ${raw[b]}, not an integer in 0..${n - 1}`, {
              field: 'action',
              suggestion: 'is this a continuous-action teacher? pass the --env it was trained on',
            });
          }
          targets[b * n + a] += 1 / T;
        }
      } else if (spec.loss === 'mse') {
        for (let k = 0; k < batch * n; k++) targets[k] += raw[k] / T;
      } else {
        if (out.values === 'probs') {
          for (let k = 0; k < batch * n; k++) scratch[k] = Math.log(Math.max(raw[k], 1e-30));
          softmaxRows(scratch, batch, n, spec.tau, scratch);
        } else {
          softmaxRows(raw, batch, n, spec.tau, scratch);
        }
        for (let k = 0; k < batch * n; k++) targets[k] += scratch[k] / T;
      }
    }
    for (let b = 0; b < batch; b++) {
      const a = argmaxRow(targets, b, n);
      actions[b] = a;
      if (spec.loss === 'nll') {
        for (let j = 0; j < n; j++) targets[b * n + j] = j === a ? 1 : 0;
      }
    }
    return;
  }
  const dim = out.dim;
  actions.fill(0, 0, batch * dim);
  for (const raw of raws) for (let k = 0; k < batch * dim; k++) actions[k] += raw[k] / T;
  if (spec.loss === 'mse') {
    targets.set(actions.subarray(0, batch * dim));
  } else {
    for (const raw of raws) {
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < dim; j++) {
          const k = b * dim + j;
          targets[k] += unsquashAction(raw[k], out.squash, out.low[j], out.high[j]) / T;
        }
      }
    }
  }
}

/** Batched labelling by all teachers; buffers grow to the largest batch seen. */
export function makeLabeler(teachers: readonly TeacherLike[], spec: LabelSpec): Labeler {
  let cap = 0;
  let targets = new Float32Array(0);
  let actions = new Float32Array(0);
  let scratch = new Float32Array(0);
  return async (obs, n) => {
    if (n > cap) {
      cap = n;
      targets = new Float32Array(n * spec.targetDim);
      actions = new Float32Array(n * spec.actionDim);
      scratch = new Float32Array(n * spec.targetDim);
    }
    const x = obs.length === n * teachers[0].obsDim ? obs : obs.subarray(0, n * teachers[0].obsDim);
    const raws = await Promise.all(teachers.map((t) => t.runBatch(x, n)));
    raws.forEach((r, k) => {
      if (r.length < n * teachers[k].outDim || !r.subarray(0, n * teachers[k].outDim).every(Number.isFinite)) {
        throw new EdgeDistillError('RUNTIME', `teacher returned ${r.length} values for ${n} rows (or non-finite values)`, {
          file: teachers[k].file,
        });
      }
    });
    makeTargets(spec, raws, n, targets, actions, scratch);
    return { targets, actions };
  };
}
