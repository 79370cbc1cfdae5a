/**
 * Batched return evaluation over a vector env: episode e runs in copy e, reset with seed
 * seedStart + e (the same scheme as pipeline/src/train/evaluate.ts, so teacher, student and random
 * policies are scored on the same start states). Only copies still in their first episode are
 * passed to the policy, so a slow teacher (onnxruntime) sees one batched call per step.
 */
import { makeVectorEnv, type EnvOptions, type Space } from '@edgedistill/runtime/envs';
import { Rng } from './rng.js';

/** Deterministic batched policy: n observations -> n actions (index for discrete, dim floats each for continuous). */
export type BatchPolicy = (obs: Float32Array, n: number) => ArrayLike<number> | Promise<ArrayLike<number>>;

export interface ReturnSummary {
  episodes: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  seedStart: number;
}

export function summarize(returns: readonly number[], seedStart: number): ReturnSummary {
  const n = returns.length;
  const mean = returns.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { episodes: n, mean, std, min: Math.min(...returns), max: Math.max(...returns), seedStart };
}

/** Synchronous batched policy (the trainers' in-loop evaluation). */
export type SyncBatchPolicy = (obs: Float32Array, n: number) => ArrayLike<number>;

export async function evaluateReturns(
  envId: string,
  policy: BatchPolicy,
  episodes = 100,
  seedStart = 0,
  envOptions?: EnvOptions,
): Promise<ReturnSummary> {
  return summarize(await episodeReturnsAsync(envId, policy, episodes, seedStart, envOptions), seedStart);
}

/** Every episode's return (in seed order) under an async batched policy. */
export async function episodeReturnsAsync(envId: string, policy: BatchPolicy, episodes = 100, seedStart = 0, envOptions?: EnvOptions): Promise<number[]> {
  const loop = episodeLoop(envId, episodes, seedStart, envOptions);
  let step = loop.next(new Int32Array(0));
  while (!step.done) step = loop.next(await policy(step.value.obs, step.value.n));
  return step.value;
}

/** The same episodes under a synchronous policy (train/evaluate.ts's evaluatePolicy). */
export function episodeReturnsSync(envId: string, policy: SyncBatchPolicy, episodes = 100, seedStart = 0, envOptions?: EnvOptions): number[] {
  const loop = episodeLoop(envId, episodes, seedStart, envOptions);
  let step = loop.next(new Int32Array(0));
  while (!step.done) step = loop.next(policy(step.value.obs, step.value.n));
  return step.value;
}

/**
 * The evaluation loop, one implementation for the async and the sync driver: yields the packed
 * observations of the copies still in their first episode, takes their actions back, and returns
 * every episode's return once all have ended.
 */
function* episodeLoop(envId: string, episodes: number, seedStart: number, envOptions?: EnvOptions): Generator<{ obs: Float32Array; n: number }, number[], ArrayLike<number>> {
  const vec = makeVectorEnv(envId, episodes, envOptions);
  const space = vec.singleActionSpace;
  const d = vec.actionDim;
  const obsDim = vec.obsDim;
  const start = space.kind === 'discrete' ? space.start : 0;
  let obs = vec.reset({ seed: seedStart }).obs;
  const totals = new Float64Array(episodes);
  const active = new Uint8Array(episodes).fill(1);
  const idx = new Int32Array(episodes);
  const packed = new Float32Array(episodes * obsDim);
  const acts = space.kind === 'discrete' ? new Int32Array(episodes).fill(start) : Float32Array.from({ length: episodes * d }, (_, k) => (space as { low: Float32Array }).low[k % d]);
  let nActive = episodes;
  while (nActive > 0) {
    let m = 0;
    for (let e = 0; e < episodes; e++) {
      if (!active[e]) continue;
      idx[m] = e;
      for (let i = 0; i < obsDim; i++) packed[m * obsDim + i] = obs[e * obsDim + i];
      m++;
    }
    const a = yield { obs: packed.subarray(0, m * obsDim), n: m };
    for (let k = 0; k < m; k++) {
      const e = idx[k];
      if (space.kind === 'discrete') acts[e] = a[k] + start;
      else for (let j = 0; j < d; j++) acts[e * d + j] = a[k * d + j];
    }
    const r = vec.step(acts);
    obs = r.obs;
    for (let k = 0; k < m; k++) {
      const e = idx[k];
      totals[e] += r.rewards[e];
      if (r.terminated[e] || r.truncated[e]) {
        active[e] = 0;
        nActive--;
      }
    }
  }
  return Array.from(totals);
}

/** Uniform random actions (seeded), the baseline of returnRetention. */
export function randomPolicy(space: Space, seed: number): BatchPolicy {
  const rng = new Rng(seed);
  return (_obs, n) => {
    if (space.kind === 'discrete') return Int32Array.from({ length: n }, () => rng.int(space.n));
    const d = space.low.length;
    const out = new Float32Array(n * d);
    for (let k = 0; k < n * d; k++) out[k] = rng.uniform(space.low[k % d], space.high[k % d]);
    return out;
  };
}
