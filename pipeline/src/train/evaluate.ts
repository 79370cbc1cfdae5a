/**
 * Deterministic evaluation of an IR policy (argmax, or the squashed mean): episode e is reset with
 * seed seed0 + e, so every teacher is scored on the same start states.
 */
import { makeEnv, type EnvOptions } from '@edgedistill/runtime/envs';
import { act } from '../ir/forward.js';
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
  const env = makeEnv(envId, envOptions);
  const returns: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let obs = env.reset({ seed: seedStart + e }).obs;
    let total = 0;
    for (;;) {
      const a = act(model, obs);
      const r = env.step(typeof a === 'number' ? a + (env.actionSpace.kind === 'discrete' ? env.actionSpace.start : 0) : a);
      total += r.reward;
      obs = r.obs;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
  }
  return { stats: returnStats(returns, seedStart), returns };
}
