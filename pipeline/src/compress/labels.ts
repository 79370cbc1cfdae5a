/**
 * Teacher labels for fine-tuning compressed students, the distillation targets in the form the
 * fine-tuning loss takes:
 *   discrete kl   : mean over teachers of softmax(out / tau) (probabilities: 'probs' teachers are
 *                   re-tempered through their logs), loss KL(target || softmax(student));
 *   discrete nll  : one-hot of the argmax of that mean (and for action-only teachers), same loss;
 *   discrete mse  : mean raw output (logits / q-values), loss MSE on the raw output;
 *   continuous    : mean action, loss MSE on the student's squashed action (also for students
 *                   distilled with the Gaussian KL: compression is judged on actions).
 * The teacher action (argmax or mean action) comes along: agreement is measured against it.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { argmaxRow, softmaxRows, type LabelSpec, type TeacherLike } from '../distill/index.js';

/** 'nll' trains on the teacher's argmax action alone (quantization-aware fine-tuning uses it: agreement is what int8 noise breaks). */
export type FinetuneLoss = 'kl' | 'nll' | 'mse-raw' | 'mse-action';

export interface Labels {
  targets: Float32Array;
  actions: Float32Array;
}

export type Labeler = (obs: Float32Array, n: number) => Promise<Labels>;

export function finetuneLoss(spec: LabelSpec): FinetuneLoss {
  if (spec.out.kind === 'continuous') return 'mse-action';
  return spec.loss === 'mse' ? 'mse-raw' : 'kl';
}

/** Targets and teacher actions for teacher outputs `raws[k]` (n rows each). Pure. */
export function makeCompressTargets(spec: LabelSpec, raws: readonly Float32Array[], n: number): Labels {
  const out = spec.out;
  const T = raws.length;
  if (out.kind === 'continuous') {
    const d = out.dim;
    const a = new Float32Array(n * d);
    for (const r of raws) for (let k = 0; k < n * d; k++) a[k] += r[k] / T;
    return { targets: a, actions: a.slice() };
  }
  const m = out.n;
  const targets = new Float32Array(n * m);
  const actions = new Float32Array(n);
  const scratch = new Float32Array(n * m);
  for (const raw of raws) {
    if (out.values === 'action') {
      for (let b = 0; b < n; b++) {
        const a = raw[b];
        if (!(a >= 0 && a < m && Number.isInteger(a))) {
          throw new EdgeDistillError('BAD_MODEL', `teacher returned action ${a}, not an integer in 0..${m - 1}`, { field: 'action' });
        }
        targets[b * m + a] += 1 / T;
      }
    } else if (spec.loss === 'mse') {
      for (let k = 0; k < n * m; k++) targets[k] += raw[k] / T;
    } else {
      if (out.values === 'probs') {
        for (let k = 0; k < n * m; k++) scratch[k] = Math.log(Math.max(raw[k], 1e-30));
        softmaxRows(scratch, n, m, spec.tau, scratch);
      } else softmaxRows(raw, n, m, spec.tau, scratch);
      for (let k = 0; k < n * m; k++) targets[k] += scratch[k] / T;
    }
  }
  for (let b = 0; b < n; b++) {
    const a = argmaxRow(targets, b, m);
    actions[b] = a;
    if (spec.loss === 'nll' || out.values === 'action') for (let j = 0; j < m; j++) targets[b * m + j] = j === a ? 1 : 0;
  }
  return { targets, actions };
}

/** Batched labelling by all teachers (one runBatch call each). */
export function makeCompressLabeler(teachers: readonly TeacherLike[], spec: LabelSpec): Labeler {
  return async (obs, n) => {
    const x = obs.length === n * teachers[0].obsDim ? obs : obs.subarray(0, n * teachers[0].obsDim);
    const raws = await Promise.all(teachers.map((t) => t.runBatch(x, n)));
    raws.forEach((r, k) => {
      if (r.length < n * teachers[k].outDim || !r.subarray(0, n * teachers[k].outDim).every(Number.isFinite)) {
        throw new EdgeDistillError('RUNTIME', `teacher returned ${r.length} values for ${n} rows (or non-finite values)`, { file: teachers[k].file });
      }
    });
    return makeCompressTargets(spec, raws, n);
  };
}
