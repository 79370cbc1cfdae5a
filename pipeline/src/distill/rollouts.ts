/**
 * DAgger data collection over a vector env. At every step the teachers label all N observations in
 * one batched call; each copy then follows the teacher with probability beta, else the student
 * (beta = 1: teacher-driven data; beta -> 0: student-driven data with teacher labels, which
 * Czarnecki et al. 2019 find works better). Every visited state goes to `sink` with its labels.
 */
import type { VectorEnv } from '@edgedistill/runtime/envs';
import type { Rng } from './rng.js';

export interface Labels {
  targets: Float32Array;
  /** Teacher actions: index (discrete) or action vector (continuous), actionDim per row. */
  actions: Float32Array;
}

export type Labeler = (obs: Float32Array, n: number) => Promise<Labels>;
/** Student actions for n raw observations (same layout as Labels.actions). */
export type StudentActor = (obs: Float32Array, n: number) => ArrayLike<number>;

export interface CollectOptions {
  vec: VectorEnv;
  /** Reset seed: copy i starts with seed + i. */
  seed: number;
  /** Vector steps (N transitions each). */
  steps: number;
  /** Probability that the teacher acts, per copy and step. */
  beta: number;
  rng: Rng;
  label: Labeler;
  student: StudentActor | null;
  /** Keep every k-th step (thins correlated states, e.g. for the held-out set). Default 1. */
  keepEvery?: number;
  sink: (obs: Float32Array, labels: Labels, n: number) => void;
}

/** Runs the mixture policy for `steps` vector steps; returns the number of rows sent to `sink`. */
export async function collectRollouts(o: CollectOptions): Promise<number> {
  const { vec, rng } = o;
  const n = vec.numEnvs;
  const d = vec.actionDim;
  const space = vec.singleActionSpace;
  const start = space.kind === 'discrete' ? space.start : 0;
  const acts = space.kind === 'discrete' ? new Int32Array(n) : new Float32Array(n * d);
  const keepEvery = o.keepEvery ?? 1;
  let obs = vec.reset({ seed: o.seed }).obs;
  let rows = 0;
  for (let s = 0; s < o.steps; s++) {
    const labels = await o.label(obs, n);
    if (s % keepEvery === 0) {
      o.sink(obs, labels, n);
      rows += n;
    }
    const studentActs = o.student && o.beta < 1 ? o.student(obs, n) : null;
    for (let e = 0; e < n; e++) {
      const useTeacher = studentActs === null || rng.next() < o.beta;
      const src = useTeacher ? labels.actions : studentActs;
      if (space.kind === 'discrete') acts[e] = src[e] + start;
      else for (let j = 0; j < d; j++) acts[e * d + j] = src[e * d + j];
    }
    obs = vec.step(acts).obs;
  }
  return rows;
}
