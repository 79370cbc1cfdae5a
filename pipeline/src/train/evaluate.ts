/**
 * Deterministic evaluation of an IR policy (argmax, or the squashed mean): episode e is reset with
 * seed seed0 + e, so every teacher is scored on the same start states. The episodes run through
 * distill's batched evaluator (one loop for both; all episodes step together over a vector env).
 */
import type { EnvOptions } from '@edgedistill/runtime/envs';
import { episodeReturnsSync } from '../distill/evaluate.js';
import { argmaxRow, forward } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';

export interface ReturnStats {
  episodes: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Reset seeds used: seedStart .. seedStart + episodes - 1. */
  seedStart: number;
  seedScheme: string;
  /** Every episode's return, in seed order. */
  returns: number[];
}

/** Population statistics of a list of returns. */
export function returnStats(returns: readonly number[], seedStart: number): ReturnStats {
  const n = returns.length;
  const mean = returns.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return {
    episodes: n,
    mean,
    std,
    min: Math.min(...returns),
    max: Math.max(...returns),
    seedStart,
    seedScheme: `episode e is reset with seed ${seedStart} + e (Gymnasium env.reset(seed=...)); deterministic actions`,
    returns: [...returns],
  };
}

export function evaluatePolicy(
  model: PolicyModel,
  envId: string,
  episodes = 100,
  seedStart = 0,
  envOptions?: EnvOptions,
): { stats: ReturnStats; returns: number[] } {
  const h = model.head;
  const returns = episodeReturnsSync(
    envId,
    (obs, n) => {
      const y = forward(model, obs, n);
      return h.kind === 'discrete' ? Int32Array.from({ length: n }, (_, r) => argmaxRow(y, h.n, r)) : y;
    },
    episodes,
    seedStart,
    envOptions,
  );
  return { stats: returnStats(returns, seedStart), returns };
}
