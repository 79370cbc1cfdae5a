/**
 * Starting a student from an existing one (`--init-from DIR`, and the previous interval of online
 * distillation): loading it, checking it fits the task, and moving its input normalization to new
 * data statistics without changing what it computes.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { readPolicyFile } from '../ir/serialize.js';
import type { DenseLayer, ObsNormalization, PolicyModel } from '../ir/types.js';
import type { ReturnSummary } from './evaluate.js';
import type { TrainActivation } from './mlp-train.js';
import type { TeacherOutput } from './teacher.js';

export const INIT_FLAG = '--init-from';

/** The starting student as the report shows it, measured before any gradient step. */
export interface InitReport {
  from: string | null;
  /** Largest |trainer output - the given model's IR output| on the held-out states (0 up to float rounding). */
  maxAbsDiffAtStep0: number;
  agreement: number | null;
  actionError: number | null;
  /** Its return on the (variant) env before adaptation. */
  return: ReturnSummary | null;
  returnRetention: number | null;
  normalizationFolded: boolean;
}

/**
 * Reads a student from a directory `edgedistill distill` (or `train --distill-into`) wrote, or from
 * a policy.json. Errors name the flag and the path.
 */
export async function loadInitStudent(path: string, flag = INIT_FLAG): Promise<PolicyModel> {
  if (!path || !existsSync(path)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${path || '(empty)'} does not exist`, {
      file: path,
      field: flag,
      suggestion: `${flag} takes the directory \`edgedistill distill --out\` wrote (with policy.json)`,
    });
  }
  let file = path;
  if (statSync(path).isDirectory()) {
    file = join(path, 'policy.json');
    if (!existsSync(file)) {
      throw new EdgeDistillError('BAD_ARGUMENT', `no policy.json in ${path}`, {
        file: path,
        field: flag,
        suggestion: `${flag} takes the directory \`edgedistill distill --out\` wrote (student.onnx, policy.json, report.json)`,
      });
    }
  } else if (!file.endsWith('.json')) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${flag} reads a student's policy.json (or its directory), not ${file}`, { file, field: flag });
  }
  const model = await readPolicyFile(file);
  return { ...model, card: { ...model.card, file } };
}

/**
 * Checks that `m` can be trained as the student of this task: observation size, action head and
 * size, dense layers with one hidden activation the trainer has (relu or tanh) and a linear output.
 * Returns its hidden sizes and activation.
 */
export function checkInitStudent(
  m: PolicyModel,
  obsDim: number,
  out: TeacherOutput,
  name: string,
  hidden?: readonly number[],
  activation?: TrainActivation,
): { hidden: number[]; activation: TrainActivation } {
  const file = name;
  const field = INIT_FLAG;
  if (m.obsDim !== obsDim) {
    throw new EdgeDistillError('BAD_ARGUMENT', `the student takes ${m.obsDim} observation values but the task gives ${obsDim}`, {
      file,
      field,
      suggestion: 'start from a student of the same environment (a variant changes constants, not the spaces)',
    });
  }
  const outDim = out.kind === 'discrete' ? out.n : out.dim;
  const headOk = out.kind === 'discrete' ? m.head.kind === 'discrete' && m.head.n === out.n : m.head.kind === 'continuous' && m.head.dim === out.dim;
  if (!headOk) {
    const has = m.head.kind === 'discrete' ? `${m.head.n} discrete actions` : `${m.head.dim} continuous action values`;
    const wants = out.kind === 'discrete' ? `${out.n} discrete actions` : `${out.dim} continuous action values`;
    throw new EdgeDistillError('BAD_ARGUMENT', `the student has ${has} but the task has ${wants}`, { file, field });
  }
  const layers = m.layers;
  const last = layers[layers.length - 1];
  if (layers.length < 2 || last.activation !== 'none' || last.outDim !== outDim) {
    throw new EdgeDistillError('UNSUPPORTED', 'the student must be an MLP with hidden layers and a linear output layer', { file, field: `${field} layers` });
  }
  const acts = new Set(layers.slice(0, -1).map((l) => l.activation));
  const act = [...acts][0];
  if (acts.size !== 1 || (act !== 'relu' && act !== 'tanh')) {
    throw new EdgeDistillError('UNSUPPORTED', `the trainer needs one hidden activation, relu or tanh; the student has ${[...acts].join(', ')}`, { file, field: `${field} layers` });
  }
  for (let l = 1; l < layers.length; l++) {
    if (layers[l].inDim !== layers[l - 1].outDim) throw new EdgeDistillError('BAD_MODEL', `layer ${l} takes ${layers[l].inDim} inputs, layer ${l - 1} gives ${layers[l - 1].outDim}`, { file, field: `layers.${l}` });
  }
  const sizes = layers.slice(0, -1).map((l) => l.outDim);
  if (hidden && hidden.join(',') !== sizes.join(',')) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--student ${hidden.join(',')} differs from the init student's hidden sizes ${sizes.join(',')}`, {
      field: '--student',
      suggestion: 'drop --student: a student started from another keeps its sizes',
    });
  }
  if (activation && activation !== act) {
    throw new EdgeDistillError('BAD_ARGUMENT', `activation ${activation} differs from the init student's ${act}`, { field: 'activation' });
  }
  return { hidden: sizes, activation: act };
}

/**
 * The same function with input normalization `to`: the first layer absorbs the change, since
 * (x - m0) / s0 = ((x - m1) / s1) * (s1 / s0) + (m1 - m0) / s0. A model whose normalization clips
 * is returned unchanged (clipping does not commute with the change).
 */
export function foldNormalization(m: PolicyModel, to: ObsNormalization): PolicyModel {
  const from = m.obsNorm;
  if (from && from.clip !== null) return m;
  const d = m.obsDim;
  const m0 = from?.mean ?? new Float32Array(d);
  const s0 = from?.std ?? new Float32Array(d).fill(1);
  let same = true;
  for (let i = 0; i < d; i++) if (m0[i] !== to.mean[i] || s0[i] !== to.std[i]) same = false;
  if (same) return m;
  const first = m.layers[0];
  const w = new Float32Array(first.weight.length);
  const b = Float64Array.from(first.bias);
  for (let o = 0; o < first.outDim; o++) {
    for (let i = 0; i < d; i++) {
      const wi = first.weight[o * d + i];
      w[o * d + i] = (wi * to.std[i]) / s0[i];
      b[o] += (wi * (to.mean[i] - m0[i])) / s0[i];
    }
  }
  const layer: DenseLayer = { inDim: first.inDim, outDim: first.outDim, weight: w, bias: Float32Array.from(b), activation: first.activation };
  return { ...m, obsNorm: { mean: Float32Array.from(to.mean), std: Float32Array.from(to.std), clip: null }, layers: [layer, ...m.layers.slice(1)] };
}
