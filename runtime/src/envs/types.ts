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
