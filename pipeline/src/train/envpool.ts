/**
 * N copies of one environment stepped in lock-step with auto-reset, as the trainers need them:
 * each step reports, per env, the reward, whether the episode terminated or was truncated, the
 * final observation of a truncated episode (to bootstrap from) and finished episodes' returns.
 * Env i is first reset with seed + i; later resets continue each env's own random stream.
 */
import { makeEnv } from '@edgedistill/runtime/envs';
import type { Env, EnvOptions } from '@edgedistill/runtime/envs';

export interface PoolStep {
  /** Observations to act on next (after auto-reset), N x obsDim. */
  obs: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** Last observation of the episode for envs that ended this step (row i valid when ended). */
  finalObs: Float32Array;
  /** Returns and lengths of the episodes that ended this step. */
  episodes: { ret: number; len: number }[];
}

export class EnvPool {
  readonly envs: Env[];
  readonly n: number;
  readonly obsDim: number;
  private obs: Float32Array;
  private epRet: Float64Array;
  private epLen: Int32Array;

  constructor(readonly envId: string, n: number, seed: number, envOptions?: EnvOptions) {
    this.envs = Array.from({ length: n }, () => makeEnv(envId, envOptions));
    this.n = n;
    this.obsDim = this.envs[0].observationSpace.shape.reduce((a, b) => a * b, 1);
    this.obs = new Float32Array(n * this.obsDim);
    this.epRet = new Float64Array(n);
    this.epLen = new Int32Array(n);
    this.envs.forEach((e, i) => this.obs.set(e.reset({ seed: seed + i }).obs, i * this.obsDim));
  }

  get env(): Env {
    return this.envs[0];
  }

  current(): Float32Array {
    return this.obs.slice();
  }

  /** `actions[i]` is an integer (discrete) or a Float32Array (continuous, already inside the box). */
  step(actions: readonly (number | Float32Array)[]): PoolStep {
    const d = this.obsDim;
    const out: PoolStep = {
      obs: new Float32Array(this.n * d),
      rewards: new Float32Array(this.n),
      terminated: new Uint8Array(this.n),
      truncated: new Uint8Array(this.n),
      finalObs: new Float32Array(this.n * d),
      episodes: [],
    };
    for (let i = 0; i < this.n; i++) {
      const env = this.envs[i];
      const r = env.step(actions[i]);
      out.rewards[i] = r.reward;
      this.epRet[i] += r.reward;
      this.epLen[i] += 1;
      if (r.terminated || r.truncated) {
        out.terminated[i] = r.terminated ? 1 : 0;
        out.truncated[i] = r.terminated ? 0 : 1;
        out.finalObs.set(r.obs, i * d);
        out.episodes.push({ ret: this.epRet[i], len: this.epLen[i] });
        this.epRet[i] = 0;
        this.epLen[i] = 0;
        out.obs.set(env.reset().obs, i * d);
      } else {
        out.obs.set(r.obs, i * d);
      }
    }
    this.obs = out.obs.slice();
    return out;
  }
}
