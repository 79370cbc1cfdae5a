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

export async function evaluateReturns(
  envId: string,
  policy: BatchPolicy,
  episodes = 100,
  seedStart = 0,
  envOptions?: EnvOptions,
): Promise<ReturnSummary> {
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
    const a = await policy(packed.subarray(0, m * obsDim), m);
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
  return summarize(Array.from(totals), seedStart);
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
