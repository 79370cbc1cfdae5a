/** Gymnasium-style spaces. Bounds are float32 (as Gymnasium stores them). */
export interface BoxSpace {
  readonly kind: 'box';
  readonly shape: readonly number[];
  readonly low: Float32Array;
  readonly high: Float32Array;
  readonly dtype: 'float32';
}
export interface DiscreteSpace {
  readonly kind: 'discrete';
  readonly n: number;
  readonly start: number;
}
export type Space = BoxSpace | DiscreteSpace;

/** A discrete action is an integer; a continuous one is a Float32Array (or number[]) of the box's size. */
export type Action = number | Float32Array | readonly number[];

export interface StepResult {
  obs: Float32Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
}

export interface ResetOptions {
  seed?: number;
}

/**
 * The environment interface every built-in and user-registered environment implements.
 * Mirrors `gymnasium.Env` wrapped in `TimeLimit` (truncation at `maxEpisodeSteps`).
 */
export interface Env {
  readonly id: string;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space;
  readonly maxEpisodeSteps: number;
  reset(opts?: ResetOptions): { obs: Float32Array };
  step(action: Action): StepResult;
  /** float64 internal state, as Gymnasium's `env.unwrapped.state` (flattened). */
  getState(): Float64Array;
  setState(state: ArrayLike<number>): void;
}

/** What `listEnvs()` reports for a registered environment (as Gymnasium's `EnvSpec` plus the spaces). */
export interface EnvSpec {
  readonly id: string;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space;
  readonly maxEpisodeSteps: number;
  /** Return at which the task counts as solved (Gymnasium's `reward_threshold`); null when none. */
  readonly rewardThreshold: number | null;
}

/**
 * Options for `makeEnv`: Gymnasium's own keyword arguments (`g`, `sutton_barto_reward`, `goal_velocity`, ...),
 * the physical constants under Gymnasium's attribute names (`masspole`, `LINK_LENGTH_1`, `max_torque`, ...),
 * and `maxEpisodeSteps`. Unknown keys are an error.
 */
export type EnvOptions = Readonly<Record<string, number | string | boolean | readonly number[] | undefined>>;

/** Builds a fresh environment. A registered factory is called once per `makeEnv` and once per vector copy. */
export type EnvFactory = (options?: EnvOptions) => Env;

/**
 * Result of one vector step. The arrays are owned by the vector env and overwritten by the next call
 * to `step` or `reset`: copy what you keep.
 *
 * Auto-reset is same-step: when copy `i` terminates or truncates, its final observation is written to
 * `finalObs[i*obsDim ...]`, the copy is reset at once, and `obs[i*obsDim ...]` already holds the first
 * observation of its next episode. `finalObs` rows of copies that did not end are left stale.
 */
export interface VectorStepResult {
  obs: Float32Array;
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  finalObs: Float32Array;
}

/** N copies of one environment stepped together, with batched, preallocated arrays. */
export interface VectorEnv {
  readonly id: string;
  readonly numEnvs: number;
  readonly singleObservationSpace: BoxSpace;
  readonly singleActionSpace: Space;
  readonly maxEpisodeSteps: number;
  readonly obsDim: number;
  /** Floats per action (1 for a discrete action). */
  readonly actionDim: number;
  /** Resets every copy; copy `i` gets seed `seed + i` (as Gymnasium's SyncVectorEnv does). */
  reset(opts?: ResetOptions): { obs: Float32Array };
  /** `actions` holds `numEnvs * actionDim` values (Int32Array or Float32Array, or any array of numbers). */
  step(actions: ArrayLike<number>): VectorStepResult;
  /** Steps taken in each copy's current episode. */
  readonly elapsedSteps: Int32Array;
  getState(i: number): Float64Array;
  setState(i: number, state: ArrayLike<number>): void;
}
