/** The student: its default size, its head, and its IR model built from the trainer's weights. */
import type { ObsNormalization, PolicyCard, PolicyHead, PolicyModel } from '../ir/types.js';
import type { LabelSpec } from './labels.js';
import { mlpParamCount, type MlpTrainer } from './mlp-train.js';

/** Student sizes, largest first. */
export const STUDENT_SIZES: readonly (readonly number[])[] = [[64, 64], [32, 32], [16, 16], [8, 8]];

/**
 * Preferred student per environment. Measured with the shipped teachers: 32,32 meets the targets
 * on each in fewer seconds than 64,64 (3x the MACs per sample), e.g. Pendulum over seeds 0-4:
 * retention 0.998-1.000 with either, 0.9-1.6 s vs 1.8-8.5 s. Unknown environments get 64,64.
 */
export const PREFERRED_STUDENT: Readonly<Record<string, readonly number[]>> = {
  'CartPole-v1': [32, 32],
  'Acrobot-v1': [32, 32],
  'MountainCar-v0': [32, 32],
  'MountainCarContinuous-v0': [32, 32],
  'Pendulum-v1': [32, 32],
};

/**
 * Default hidden sizes: the env's preferred size (64,64 for unknown envs), or the next smaller
 * one in STUDENT_SIZES, so the student has at most maxFraction of the teacher's parameters.
 * Without a teacher parameter count, the preferred size.
 */
export function defaultHidden(teacherParams: number | null, obsDim: number, outDim: number, envId: string | null = null, maxFraction = 0.1): number[] {
  const preferred = (envId && PREFERRED_STUDENT[envId]) || STUDENT_SIZES[0];
  if (teacherParams === null) return [...preferred];
  const start = Math.max(0, STUDENT_SIZES.findIndex((h) => h[0] <= preferred[0]));
  for (const h of STUDENT_SIZES.slice(start)) {
    if (mlpParamCount([obsDim, ...h, outDim]) <= maxFraction * teacherParams) return [...h];
  }
  return [...STUDENT_SIZES[STUDENT_SIZES.length - 1]];
}

/** The student's head: logits for KL/NLL, the teacher's value kind for MSE; for continuous actions the spec's squash. */
export function studentHead(spec: LabelSpec, logStd: Float32Array | null): PolicyHead {
  const out = spec.out;
  if (out.kind === 'discrete') {
    const output = spec.loss === 'mse' && out.values === 'q_values' ? 'q_values' : 'logits';
    return { kind: 'discrete', output, n: out.n };
  }
  return {
    kind: 'continuous',
    dim: out.dim,
    squash: spec.studentSquash,
    low: Float32Array.from(out.low),
    high: Float32Array.from(out.high),
    ...(logStd ? { logStd: Float32Array.from(logStd) } : {}),
  };
}

/** Mean and std of the first `rows` observations (std floored so constant inputs pass through). */
export function observationStats(obs: Float32Array, rows: number, dim: number): ObsNormalization {
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let i = 0; i < dim; i++) mean[i] += obs[r * dim + i];
  for (let i = 0; i < dim; i++) mean[i] /= Math.max(rows, 1);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dim; i++) {
      const e = obs[r * dim + i] - mean[i];
      sq[i] += e * e;
    }
  }
  const std = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const s = Math.sqrt(sq[i] / Math.max(rows, 1));
    std[i] = s > 1e-6 ? s : 1;
  }
  return { mean: Float32Array.from(mean), std, clip: null };
}

export function studentModel(
  trainer: MlpTrainer,
  obsNorm: ObsNormalization,
  head: PolicyHead,
  envId: string | null,
  card: PolicyCard,
): PolicyModel {
  return {
    envId,
    obsDim: trainer.inDim,
    obsNorm: { mean: obsNorm.mean.slice(), std: obsNorm.std.slice(), clip: obsNorm.clip },
    layers: trainer.toLayers(),
    head,
    card,
  };
}
