/**
 * The built-in environments are written as "cores": pure dynamics over a Float64Array state laid out as
 * structure-of-arrays (slot k of copy i at `s[k * n + i]`), so the same code steps one env (n = 1) or a
 * batch (VectorEnv) without allocating. `ClassicEnv` adds Gymnasium's wrappers around a core:
 * OrderEnforcing (no step before reset), TimeLimit (truncation) and the action checks.
 */
import { EdgeDistillError } from '../errors.js';
import { NumpyGenerator, entropySeed } from './prng.js';
import { formatSpace } from './spaces.js';
import type { Action, BoxSpace, Env, ResetOptions, Space, StepResult } from './types.js';

export interface Core {
  readonly id: string;
  /** Length of the public state (`getState`), Gymnasium's `env.unwrapped.state`. */
  readonly stateDim: number;
  /** Internal slots per copy (>= stateDim; extra slots hold bookkeeping such as a dtype flag). */
  readonly slots: number;
  readonly obsDim: number;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space;
  readonly maxEpisodeSteps: number;
  readonly rewardThreshold: number | null;
  /** Set by `step`: whether that step terminated the episode. */
  terminated: boolean;
  /** Draws the initial state of copy i from rng, as Gymnasium's reset does. */
  reset(rng: NumpyGenerator, s: Float64Array, i: number, n: number): void;
  /** Writes a user-given state (already length-checked and finite) into copy i. */
  setState(src: ArrayLike<number>, s: Float64Array, i: number, n: number): void;
  /**
   * Advances copy i by one step with action `a` (the integer, or the float32 value of a 1-D continuous
   * action, not yet clipped) and returns the reward. `rng` is there for dynamics that draw noise.
   */
  step(s: Float64Array, i: number, n: number, a: number, rng: NumpyGenerator): number;
  /** Writes the float32 observation of copy i at out[off ...]. */
  obs(s: Float64Array, i: number, n: number, out: Float32Array, off: number): void;
}

/** Seeds must be non-negative integers (Gymnasium raises otherwise). */
export function checkSeed(seed: unknown, where: string): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${where}: seed must be a non-negative integer, got ${String(seed)}`, {
      field: 'seed',
    });
  }
  return seed;
}

/** Checks one action against the core's action space; returns the value the core steps with. */
export function coerceAction(core: Core, action: Action): number {
  const space = core.actionSpace;
  if (space.kind === 'discrete') {
    if (typeof action !== 'number' || !Number.isInteger(action) || action < space.start || action >= space.start + space.n) {
      throw new EdgeDistillError(
        'BAD_ACTION',
        `${core.id}: action ${describe(action)} is not in ${formatSpace(space)} (an integer ${space.start}..${space.start + space.n - 1})`,
        { field: 'action' },
      );
    }
    return action;
  }
  const dim = space.low.length;
  let v: number;
  if (typeof action === 'number') {
    if (dim !== 1) throw badLength(core, action, dim);
    v = action;
  } else if (action !== null && typeof action === 'object' && typeof (action as ArrayLike<number>).length === 'number') {
    if (action.length !== dim) throw badLength(core, action, dim);
    v = action[0];
  } else {
    throw new EdgeDistillError('BAD_ACTION', `${core.id}: action must be a Float32Array of length ${dim}, got ${describe(action)}`, {
      field: 'action',
    });
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new EdgeDistillError('BAD_ACTION', `${core.id}: action value ${String(v)} is not a finite number`, { field: 'action[0]' });
  }
  // The action space is float32: the env sees the float32 value. Out-of-range values are clipped
  // inside the dynamics exactly where Gymnasium clips them.
  return Math.fround(v);
}

function badLength(core: Core, action: unknown, dim: number): EdgeDistillError {
  return new EdgeDistillError(
    'BAD_ACTION',
    `${core.id}: action must have ${dim} value(s) for ${formatSpace(core.actionSpace)}, got ${describe(action)}`,
    { field: 'action' },
  );
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v !== null && typeof v === 'object' && 'length' in (v as object)) return `[${Array.from(v as ArrayLike<unknown>).join(', ')}]`;
  return JSON.stringify(v) ?? String(v);
}

/** Checks a state given to setState: right length, finite numbers. */
export function checkState(id: string, state: ArrayLike<number>, dim: number): void {
  if (state === null || typeof state !== 'object' || typeof state.length !== 'number' || state.length !== dim) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${id}: state must have ${dim} numbers`, { field: 'state' });
  }
  for (let k = 0; k < dim; k++) {
    if (typeof state[k] !== 'number' || !Number.isFinite(state[k])) {
      throw new EdgeDistillError('BAD_ARGUMENT', `${id}: state[${k}] is ${String(state[k])}, not a finite number`, {
        field: `state[${k}]`,
      });
    }
  }
}

type Phase = 'new' | 'running' | 'ended';

/** One built-in environment as Gymnasium's `gym.make(id)` gives it (TimeLimit + OrderEnforcing). */
export class ClassicEnv implements Env {
  readonly id: string;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space;
  readonly maxEpisodeSteps: number;
  private readonly s: Float64Array;
  private rng: NumpyGenerator | null = null;
  private phase: Phase = 'new';
  private endedBy = '';
  private elapsed = 0;

  constructor(readonly core: Core) {
    this.id = core.id;
    this.observationSpace = core.observationSpace;
    this.actionSpace = core.actionSpace;
    this.maxEpisodeSteps = core.maxEpisodeSteps;
    this.s = new Float64Array(core.slots);
  }

  /** Steps taken since reset()/setState(). */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  /**
   * With a seed: a fresh NumPy-identical generator, so the initial state equals Gymnasium's
   * `reset(seed=...)`. Without: continues this env's generator (seeded from OS entropy the first time).
   */
  reset(opts: ResetOptions = {}): { obs: Float32Array } {
    if (opts.seed !== undefined) this.rng = new NumpyGenerator(checkSeed(opts.seed, this.id));
    this.rng ??= new NumpyGenerator(entropySeed());
    this.core.reset(this.rng, this.s, 0, 1);
    this.elapsed = 0;
    this.phase = 'running';
    return { obs: this.observe() };
  }

  step(action: Action): StepResult {
    if (this.phase !== 'running') {
      throw new EdgeDistillError(
        'ENV_STATE',
        this.phase === 'new'
          ? `${this.id}: step() called before reset()`
          : `${this.id}: step() called after the episode ${this.endedBy} at step ${this.elapsed}; call reset() first`,
        { suggestion: 'call env.reset() (or env.setState(...)) to start an episode' },
      );
    }
    const a = coerceAction(this.core, action);
    this.rng ??= new NumpyGenerator(entropySeed());
    const reward = this.core.step(this.s, 0, 1, a, this.rng);
    const terminated = this.core.terminated;
    this.elapsed++;
    const truncated = this.elapsed >= this.maxEpisodeSteps;
    if (terminated || truncated) {
      this.phase = 'ended';
      this.endedBy = terminated ? 'terminated' : 'was truncated';
    }
    return { obs: this.observe(), reward, terminated, truncated };
  }

  getState(): Float64Array {
    if (this.phase === 'new') throw new EdgeDistillError('ENV_STATE', `${this.id}: getState() called before reset()`);
    return this.s.slice(0, this.core.stateDim);
  }

  /**
   * Starts an episode from `state` (Gymnasium's `env.unwrapped.state = state` right after a reset):
   * the step count restarts at 0, the random generator is untouched.
   */
  setState(state: ArrayLike<number>): void {
    checkState(this.id, state, this.core.stateDim);
    this.core.setState(state, this.s, 0, 1);
    this.elapsed = 0;
    this.phase = 'running';
  }

  private observe(): Float32Array {
    const out = new Float32Array(this.core.obsDim);
    this.core.obs(this.s, 0, 1, out, 0);
    return out;
  }
}

/** Default Core.setState: copy the public slots. */
export function copyState(src: ArrayLike<number>, dim: number, s: Float64Array, i: number, n: number): void {
  for (let k = 0; k < dim; k++) s[k * n + i] = src[k];
}
