/**
 * Fine-tuning data: teacher-labelled states, kept raw (for calibration, int8 and return checks) and
 * normalized with the student's fixed observation normalization (for training). States come from
 * vector-env rollouts of a mixture policy: the teacher with probability beta, else the candidate
 * (DAgger, Ross et al. 2011), so a pruned student also learns the states it drifts into.
 */
import { makeVectorEnv, type EnvOptions } from '@edgedistill/runtime/envs';
import { normalizeObs } from '../ir/forward.js';
import type { ObsNormalization } from '../ir/types.js';
import type { BatchPolicy } from '../distill/index.js';
import type { Labeler } from './labels.js';

/**
 * A FIFO ring of (raw obs, target, teacher action) rows. Training reads the observations normalized
 * with the candidate's own normalization (range equalization changes it), computed once per
 * normalization and contents.
 */
export class StateSet {
  readonly raw: Float32Array;
  readonly targets: Float32Array;
  readonly actions: Float32Array;
  size = 0;
  /** Bumped on every add (invalidates normalized copies). */
  version = 0;
  private head = 0;
  private cache: { norm: ObsNormalization | null; version: number; x: Float32Array } | null = null;

  constructor(
    readonly capacity: number,
    readonly obsDim: number,
    readonly targetDim: number,
    readonly actionDim: number,
  ) {
    this.raw = new Float32Array(capacity * obsDim);
    this.targets = new Float32Array(capacity * targetDim);
    this.actions = new Float32Array(capacity * actionDim);
  }

  add(obs: Float32Array, targets: Float32Array, actions: Float32Array, n: number): void {
    const { obsDim: d, targetDim: t, actionDim: a } = this;
    for (let r = 0; r < n; r++) {
      const h = this.head;
      this.raw.set(obs.subarray(r * d, (r + 1) * d), h * d);
      this.targets.set(targets.subarray(r * t, (r + 1) * t), h * t);
      this.actions.set(actions.subarray(r * a, (r + 1) * a), h * a);
      this.head = (h + 1) % this.capacity;
      if (this.size < this.capacity) this.size++;
    }
    this.version++;
  }

  /** The stored observations (size rows) as the IR normalizes them with `norm`. */
  normalized(norm: ObsNormalization | null): Float32Array {
    const c = this.cache;
    if (c && c.norm === norm && c.version === this.version) return c.x;
    const raw = this.raw.subarray(0, this.size * this.obsDim);
    const x = norm ? normalizeObs(norm, raw, this.size, this.obsDim) : raw.slice();
    this.cache = { norm, version: this.version, x };
    return x;
  }

  /** `batch` rows of x (from {@link normalized}) drawn uniformly with replacement into xb, targets into tb. */
  sample(rnd: () => number, batch: number, x: Float32Array, xb: Float32Array, tb: Float32Array): void {
    const { obsDim: d, targetDim: t } = this;
    const tg = this.targets;
    // Element loops, not set(subarray()): rows are a few floats, and a subarray per row allocates.
    for (let b = 0; b < batch; b++) {
      const k = Math.floor(rnd() * this.size);
      for (let j = 0; j < d; j++) xb[b * d + j] = x[k * d + j];
      for (let j = 0; j < t; j++) tb[b * t + j] = tg[k * t + j];
    }
  }

  /** Like {@link sample}, with the teacher actions (actionDim per row) instead of the targets. */
  sampleActions(rnd: () => number, batch: number, x: Float32Array, xb: Float32Array, ab: Float32Array): void {
    const { obsDim: d, actionDim: a } = this;
    const acts = this.actions;
    for (let b = 0; b < batch; b++) {
      const k = Math.floor(rnd() * this.size);
      for (let j = 0; j < d; j++) xb[b * d + j] = x[k * d + j];
      for (let j = 0; j < a; j++) ab[b * a + j] = acts[k * a + j];
    }
  }

  /** Up to `max` raw observations, evenly spaced over the stored rows. */
  rawSubset(max: number): { obs: Float32Array; n: number } {
    const n = Math.min(max, this.size);
    const d = this.obsDim;
    const obs = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const k = Math.floor((r * this.size) / n);
      obs.set(this.raw.subarray(k * d, (k + 1) * d), r * d);
    }
    return { obs, n };
  }
}

export interface CollectOptions {
  envId: string;
  /** Env constructor options (a variant: gravity, length, ...). */
  envOptions?: EnvOptions;
  numEnvs: number;
  /** Vector steps (numEnvs transitions each). */
  steps: number;
  /** Reset seed: copy i starts with seed + i. */
  seed: number;
  /** Probability that the teacher acts, per copy and step (1: teacher-driven). */
  beta: number;
  rnd: () => number;
  label: Labeler;
  student: BatchPolicy | null;
  /** Keep every k-th step (thins correlated states). Default 1. */
  keepEvery?: number;
  sink: StateSet;
}

/** Runs the mixture policy and adds every kept, teacher-labelled state to `sink`. Returns rows added. */
export async function collectStates(o: CollectOptions): Promise<number> {
  const vec = makeVectorEnv(o.envId, o.numEnvs, o.envOptions);
  const n = o.numEnvs;
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
      o.sink.add(obs, labels.targets, labels.actions, n);
      rows += n;
    }
    const st = o.student && o.beta < 1 ? await o.student(obs, n) : null;
    for (let e = 0; e < n; e++) {
      const src = st === null || o.rnd() < o.beta ? labels.actions : st;
      if (space.kind === 'discrete') acts[e] = src[e] + start;
      else for (let j = 0; j < d; j++) acts[e * d + j] = src[e * d + j];
    }
    obs = vec.step(acts).obs;
  }
  return rows;
}
