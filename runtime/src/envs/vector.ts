/**
 * Vectorized environments: N copies stepped together with batched, preallocated arrays.
 *
 * Auto-reset is same-step (Gymnasium's AutoresetMode.SAME_STEP, not its 1.x default NEXT_STEP): when a
 * copy ends, its final observation goes to `finalObs`, it is reset in the same call and `obs` holds its
 * new first observation. Rollout code then never sees a "dead" step with an ignored action.
 */
import { EdgeDistillError } from '../errors.js';
import { checkSeed, checkState, type Core } from './core.js';
import { NumpyGenerator, entropySeed } from './prng.js';
import { actionDim } from './spaces.js';
import { makeCore, makeEnv } from './registry.js';
import type { BoxSpace, Env, EnvOptions, ResetOptions, Space, VectorEnv, VectorStepResult } from './types.js';

function checkActionsLength(id: string, actions: ArrayLike<number>, expected: number, n: number): void {
  if (actions === null || typeof actions !== 'object' || typeof actions.length !== 'number' || actions.length !== expected) {
    throw new EdgeDistillError(
      'BAD_ACTION',
      `${id}: a vector step takes ${expected} action values (${n} copies), got ${actions && typeof actions === 'object' ? actions.length : String(actions)}`,
      { field: 'actions' },
    );
  }
}

function notStarted(id: string): EdgeDistillError {
  return new EdgeDistillError('ENV_STATE', `${id}: vector step() called before reset()`, { suggestion: 'call reset() first' });
}

/** The built-in environments, stepped straight on a structure-of-arrays Float64Array state. */
export class ClassicVectorEnv implements VectorEnv {
  readonly id: string;
  readonly singleObservationSpace: BoxSpace;
  readonly singleActionSpace: Space;
  readonly maxEpisodeSteps: number;
  readonly obsDim: number;
  readonly actionDim: number;
  readonly elapsedSteps: Int32Array;
  private readonly state: Float64Array;
  private readonly rngs: (NumpyGenerator | null)[];
  private readonly result: VectorStepResult;
  private readonly acts: Float64Array;
  private started = false;

  constructor(
    private readonly core: Core,
    readonly numEnvs: number,
  ) {
    this.id = core.id;
    this.singleObservationSpace = core.observationSpace;
    this.singleActionSpace = core.actionSpace;
    this.maxEpisodeSteps = core.maxEpisodeSteps;
    this.obsDim = core.obsDim;
    this.actionDim = actionDim(core.actionSpace);
    if (this.actionDim !== 1) throw new Error('built-in cores take one action value');
    this.state = new Float64Array(core.slots * numEnvs);
    this.rngs = new Array<NumpyGenerator | null>(numEnvs).fill(null);
    this.elapsedSteps = new Int32Array(numEnvs);
    this.acts = new Float64Array(numEnvs);
    this.result = {
      obs: new Float32Array(numEnvs * this.obsDim),
      rewards: new Float64Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      finalObs: new Float32Array(numEnvs * this.obsDim),
    };
  }

  reset(opts: ResetOptions = {}): { obs: Float32Array } {
    const seed = opts.seed === undefined ? undefined : checkSeed(opts.seed, this.id);
    const { core, state, numEnvs: n, obsDim } = this;
    for (let i = 0; i < n; i++) {
      let rng = this.rngs[i];
      if (seed !== undefined) rng = new NumpyGenerator(seed + i);
      rng ??= new NumpyGenerator(entropySeed());
      this.rngs[i] = rng;
      core.reset(rng, state, i, n);
      core.obs(state, i, n, this.result.obs, i * obsDim);
      this.elapsedSteps[i] = 0;
    }
    this.result.rewards.fill(0);
    this.result.terminated.fill(0);
    this.result.truncated.fill(0);
    this.started = true;
    return { obs: this.result.obs };
  }

  step(actions: ArrayLike<number>): VectorStepResult {
    if (!this.started) throw notStarted(this.id);
    const { core, state, numEnvs: n, obsDim, acts, rngs, elapsedSteps } = this;
    checkActionsLength(this.id, actions, n, n);
    // Check every action before stepping any copy, so a bad batch changes nothing.
    const space = core.actionSpace;
    if (space.kind === 'discrete') {
      const lo = space.start;
      const hi = space.start + space.n;
      for (let i = 0; i < n; i++) {
        const a = actions[i];
        if (!(a >= lo && a < hi && a === Math.floor(a))) {
          throw new EdgeDistillError('BAD_ACTION', `${this.id}: actions[${i}] = ${a} is not an integer in ${lo}..${hi - 1}`, {
            field: `actions[${i}]`,
          });
        }
        acts[i] = a;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const a = actions[i];
        if (typeof a !== 'number' || !Number.isFinite(a)) {
          throw new EdgeDistillError('BAD_ACTION', `${this.id}: actions[${i}] = ${a} is not a finite number`, {
            field: `actions[${i}]`,
          });
        }
        acts[i] = Math.fround(a);
      }
    }
    const { obs, rewards, terminated, truncated, finalObs } = this.result;
    const maxSteps = this.maxEpisodeSteps;
    for (let i = 0; i < n; i++) {
      const rng = rngs[i] as NumpyGenerator;
      rewards[i] = core.step(state, i, n, acts[i], rng);
      const term = core.terminated;
      const steps = elapsedSteps[i] + 1;
      const trunc = steps >= maxSteps;
      terminated[i] = term ? 1 : 0;
      truncated[i] = trunc ? 1 : 0;
      if (term || trunc) {
        core.obs(state, i, n, finalObs, i * obsDim);
        core.reset(rng, state, i, n);
        elapsedSteps[i] = 0;
      } else {
        elapsedSteps[i] = steps;
      }
      core.obs(state, i, n, obs, i * obsDim);
    }
    return this.result;
  }

  getState(i: number): Float64Array {
    this.checkIndex(i);
    const out = new Float64Array(this.core.stateDim);
    for (let k = 0; k < out.length; k++) out[k] = this.state[k * this.numEnvs + i];
    return out;
  }

  /** Puts copy i in `state` and restarts its step count (see Env.setState). */
  setState(i: number, state: ArrayLike<number>): void {
    this.checkIndex(i);
    checkState(this.id, state, this.core.stateDim);
    this.core.setState(state, this.state, i, this.numEnvs);
    this.elapsedSteps[i] = 0;
    this.core.obs(this.state, i, this.numEnvs, this.result.obs, i * this.obsDim);
  }

  private checkIndex(i: number): void {
    if (!this.started) throw notStarted(this.id);
    if (!Number.isInteger(i) || i < 0 || i >= this.numEnvs) {
      throw new EdgeDistillError('BAD_ARGUMENT', `${this.id}: copy index ${i} is not in 0..${this.numEnvs - 1}`, { field: 'i' });
    }
  }
}

/** Any Env (e.g. a user-registered one) run as N objects, with the same batched interface. */
export class GenericVectorEnv implements VectorEnv {
  readonly id: string;
  readonly singleObservationSpace: BoxSpace;
  readonly singleActionSpace: Space;
  readonly maxEpisodeSteps: number;
  readonly obsDim: number;
  readonly actionDim: number;
  readonly numEnvs: number;
  readonly elapsedSteps: Int32Array;
  private readonly result: VectorStepResult;
  private started = false;

  constructor(readonly envs: readonly Env[]) {
    const first = envs[0];
    this.id = first.id;
    this.numEnvs = envs.length;
    this.singleObservationSpace = first.observationSpace;
    this.singleActionSpace = first.actionSpace;
    this.maxEpisodeSteps = first.maxEpisodeSteps;
    this.obsDim = first.observationSpace.low.length;
    this.actionDim = actionDim(first.actionSpace);
    this.elapsedSteps = new Int32Array(envs.length);
    this.result = {
      obs: new Float32Array(envs.length * this.obsDim),
      rewards: new Float64Array(envs.length),
      terminated: new Uint8Array(envs.length),
      truncated: new Uint8Array(envs.length),
      finalObs: new Float32Array(envs.length * this.obsDim),
    };
  }

  reset(opts: ResetOptions = {}): { obs: Float32Array } {
    const seed = opts.seed === undefined ? undefined : checkSeed(opts.seed, this.id);
    this.envs.forEach((env, i) => {
      this.put(env.reset(seed === undefined ? {} : { seed: seed + i }).obs, this.result.obs, i);
      this.elapsedSteps[i] = 0;
    });
    this.started = true;
    return { obs: this.result.obs };
  }

  step(actions: ArrayLike<number>): VectorStepResult {
    if (!this.started) throw notStarted(this.id);
    const d = this.actionDim;
    checkActionsLength(this.id, actions, this.numEnvs * d, this.numEnvs);
    const { obs, rewards, terminated, truncated, finalObs } = this.result;
    this.envs.forEach((env, i) => {
      const a =
        this.singleActionSpace.kind === 'discrete' ? actions[i] : Float32Array.from({ length: d }, (_, k) => actions[i * d + k]);
      const r = env.step(a);
      rewards[i] = r.reward;
      terminated[i] = r.terminated ? 1 : 0;
      truncated[i] = r.truncated ? 1 : 0;
      if (r.terminated || r.truncated) {
        this.put(r.obs, finalObs, i);
        this.put(env.reset().obs, obs, i);
        this.elapsedSteps[i] = 0;
      } else {
        this.put(r.obs, obs, i);
        this.elapsedSteps[i]++;
      }
    });
    return this.result;
  }

  getState(i: number): Float64Array {
    return this.envs[i].getState();
  }

  setState(i: number, state: ArrayLike<number>): void {
    this.envs[i].setState(state);
    this.elapsedSteps[i] = 0;
  }

  private put(src: Float32Array, dst: Float32Array, i: number): void {
    if (src.length !== this.obsDim) {
      throw new EdgeDistillError('BAD_OBSERVATION', `${this.id}: copy ${i} returned ${src.length} observation values, expected ${this.obsDim}`);
    }
    dst.set(src, i * this.obsDim);
  }
}

/** N copies of environment `id` (built-in: one SoA state; user env: N instances from its factory). */
export function makeVectorEnv(id: string, numEnvs: number, options?: EnvOptions): VectorEnv {
  if (!Number.isInteger(numEnvs) || numEnvs < 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', `makeVectorEnv: numEnvs must be a positive integer, got ${numEnvs}`, {
      field: 'numEnvs',
    });
  }
  const core = makeCore(id, options);
  if (core) return new ClassicVectorEnv(core, numEnvs);
  return new GenericVectorEnv(Array.from({ length: numEnvs }, () => makeEnv(id, options)));
}
