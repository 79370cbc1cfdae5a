/**
 * Returns over seeded episodes: episode i resets the environment with seed i, so every artifact
 * (and the random baseline) faces the same starting states, and a deterministic policy gives the
 * same figure on every run and every device with the same float behaviour.
 */
import type { Action, Env, Space } from '../envs/types.js';
import { NumpyGenerator } from '../envs/prng.js';
import type { Policy, SyncPolicy } from '../policy/types.js';
import { meanStd } from './stats.js';

export interface ReturnStats {
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly episodes: number;
  /** Environment steps taken over all episodes. */
  readonly steps: number;
}

type StepFn = (obs: Float32Array) => Action | Promise<Action>;

async function rollout(env: Env, episodes: number, choose: (episode: number) => StepFn, onEpisode?: (done: number, total: number) => void): Promise<ReturnStats> {
  const returns: number[] = [];
  let steps = 0;
  for (let ep = 0; ep < episodes; ep++) {
    const act = choose(ep);
    let { obs } = env.reset({ seed: ep });
    let total = 0;
    for (;;) {
      const a = act(obs);
      const r = env.step(a instanceof Promise ? await a : a);
      total += r.reward;
      steps++;
      if (r.terminated || r.truncated) break;
      obs = r.obs;
    }
    returns.push(total);
    onEpisode?.(ep + 1, episodes);
  }
  const { mean, std } = meanStd(returns);
  return { mean, std, min: Math.min(...returns), max: Math.max(...returns), episodes, steps };
}

/** The policy's return over `episodes` seeded episodes (sync path for the js backend). */
export function policyReturns(env: Env, policy: Policy, episodes: number, onEpisode?: (done: number, total: number) => void): Promise<ReturnStats> {
  const step: StepFn = policy.sync ? (obs) => (policy as SyncPolicy).actSync(obs) : (obs) => policy.act(obs);
  return rollout(env, episodes, () => step, onEpisode);
}

/**
 * A uniformly random policy's return: episode i draws its actions from a PCG64 stream seeded
 * with i (independent of the environment's own stream). Discrete: start + floor(u * n); box:
 * uniform in [low, high] per component (0 where a bound is infinite).
 */
export function randomReturns(env: Env, episodes: number): Promise<ReturnStats> {
  return rollout(env, episodes, (ep) => randomActor(env.actionSpace, new NumpyGenerator(ep)));
}

function randomActor(space: Space, rng: NumpyGenerator): StepFn {
  if (space.kind === 'discrete') return () => space.start + Math.floor(rng.random() * space.n);
  const a = new Float32Array(space.low.length);
  return () => {
    for (let i = 0; i < a.length; i++) {
      const lo = space.low[i];
      const hi = space.high[i];
      a[i] = Number.isFinite(lo) && Number.isFinite(hi) ? rng.uniform(lo, hi) : 0;
    }
    return a;
  };
}
