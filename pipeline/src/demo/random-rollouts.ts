/**
 * The demo's workload: a seeded uniform-random policy rolled out in every built-in environment.
 * Episode k of each env starts from `reset({seed: seed + k})`; actions come from a NumPy-identical
 * generator seeded with `seed`, so the numbers are reproducible run to run.
 */
import { BUILTIN_ENV_IDS, makeEnv, NumpyGenerator, type Space } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export interface RolloutSummary {
  env: string;
  episodes: number;
  /** Undiscounted episode return over the episodes (std is the population std). */
  return: { mean: number; std: number; min: number; max: number };
  /** Mean episode length in steps. */
  meanLength: number;
}

function sampler(space: Space, rng: NumpyGenerator): () => number | Float32Array {
  if (space.kind === 'discrete') return () => space.start + Math.floor(rng.random() * space.n);
  return () => Float32Array.from(space.low, (lo, k) => rng.uniform(lo, space.high[k]));
}

export function randomRollouts(episodes: number, seed: number): RolloutSummary[] {
  if (!Number.isInteger(episodes) || episodes < 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--episodes must be a positive integer, got ${episodes}`, { field: '--episodes' });
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--seed must be a non-negative integer, got ${seed}`, { field: '--seed' });
  }
  return BUILTIN_ENV_IDS.map((id) => {
    const env = makeEnv(id);
    const act = sampler(env.actionSpace, new NumpyGenerator(seed));
    const returns: number[] = [];
    let steps = 0;
    for (let k = 0; k < episodes; k++) {
      env.reset({ seed: seed + k });
      let ret = 0;
      for (;;) {
        const r = env.step(act());
        ret += r.reward;
        steps++;
        if (r.terminated || r.truncated) break;
      }
      returns.push(ret);
    }
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
    return {
      env: id,
      episodes,
      return: { mean, std, min: Math.min(...returns), max: Math.max(...returns) },
      meanLength: steps / episodes,
    };
  });
}
