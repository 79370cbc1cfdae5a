/**
 * Environment registry: the five Gymnasium classic-control environments are built in; users add their
 * own with `registerEnv`. `makeEnv` / `makeVectorEnv` look ids up here.
 */
import { EdgeDistillError } from '../errors.js';
import { ClassicEnv, type Core } from './core.js';
import { CartPoleCore } from './cartpole.js';
import { AcrobotCore } from './acrobot.js';
import { MountainCarCore } from './mountain-car.js';
import { MountainCarContinuousCore } from './mountain-car-continuous.js';
import { PendulumCore } from './pendulum.js';
import { closest } from './suggest.js';
import type { Env, EnvFactory, EnvOptions, EnvSpec } from './types.js';

interface Entry {
  factory: EnvFactory;
  /** Built-ins expose their core so the vector env can step it without per-copy objects. */
  core?: (options?: EnvOptions) => Core;
  rewardThreshold: number | null;
  spec?: EnvSpec;
}

const registry = new Map<string, Entry>();

function builtin(id: string, makeCore: (options: EnvOptions | undefined, id: string) => Core): void {
  const core = (options?: EnvOptions) => makeCore(options, id);
  registry.set(id, { core, factory: (options) => new ClassicEnv(core(options)), rewardThreshold: core().rewardThreshold });
}

builtin('CartPole-v1', (o, id) => new CartPoleCore(o, id));
builtin('Acrobot-v1', (o, id) => new AcrobotCore(o, id));
builtin('MountainCar-v0', (o, id) => new MountainCarCore(o, id));
builtin('MountainCarContinuous-v0', (o, id) => new MountainCarContinuousCore(o, id));
builtin('Pendulum-v1', (o, id) => new PendulumCore(o, id));

/** Ids of the built-in environments, in listing order. */
export const BUILTIN_ENV_IDS: readonly string[] = Object.freeze([...registry.keys()]);

export interface RegisterOptions {
  /** Return at which the task counts as solved (shown by `listEnvs`). */
  rewardThreshold?: number | null;
  /** Replace an existing registration with the same id (built-ins cannot be replaced). */
  overwrite?: boolean;
}

/**
 * Registers a user environment. `factory(options)` must return a new object implementing `Env` each
 * time it is called (makeVectorEnv calls it once per copy).
 */
export function registerEnv(id: string, factory: EnvFactory, opts: RegisterOptions = {}): void {
  if (typeof id !== 'string' || id.trim() === '') {
    throw new EdgeDistillError('BAD_ARGUMENT', 'registerEnv: id must be a non-empty string', { field: 'id' });
  }
  if (typeof factory !== 'function') {
    throw new EdgeDistillError('BAD_ARGUMENT', `registerEnv(${id}): factory must be a function returning an Env`, {
      field: 'factory',
    });
  }
  if (BUILTIN_ENV_IDS.includes(id)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `registerEnv: ${id} is a built-in environment and cannot be replaced`, {
      field: 'id',
      suggestion: 'register your variant under a new id, e.g. "My/CartPole-v1"',
    });
  }
  if (registry.has(id) && !opts.overwrite) {
    throw new EdgeDistillError('BAD_ARGUMENT', `registerEnv: ${id} is already registered`, {
      field: 'id',
      suggestion: 'pass { overwrite: true } to replace it',
    });
  }
  registry.set(id, { factory, rewardThreshold: opts.rewardThreshold ?? null });
}

/** Removes a user registration (built-ins stay). Returns whether something was removed. */
export function unregisterEnv(id: string): boolean {
  if (BUILTIN_ENV_IDS.includes(id)) return false;
  return registry.delete(id);
}

function lookup(id: string): Entry {
  const entry = typeof id === 'string' ? registry.get(id) : undefined;
  if (entry) return entry;
  const known = [...registry.keys()];
  const guess = typeof id === 'string' ? closest(id, known) : undefined;
  throw new EdgeDistillError('UNKNOWN_ENV', `unknown environment "${String(id)}"${guess ? `; did you mean "${guess}"?` : ''}`, {
    field: 'id',
    suggestion: `known environments: ${known.join(', ')}`,
  });
}

/** Creates an environment by id, with Gymnasium keyword arguments / physical constants as options. */
export function makeEnv(id: string, options?: EnvOptions): Env {
  const entry = lookup(id);
  const env = entry.factory(options);
  if (!entry.core) checkUserEnv(id, env);
  return env;
}

/** The core of a built-in environment (for the vector env); undefined for user environments. */
export function makeCore(id: string, options?: EnvOptions): Core | undefined {
  return lookup(id).core?.(options);
}

/** Looks an id up, throwing UNKNOWN_ENV (with a suggestion) when it is not registered. */
export function assertKnownEnv(id: string): void {
  lookup(id);
}

/** Every registered environment with its default spaces, time limit and reward threshold. */
export function listEnvs(): EnvSpec[] {
  const specs: EnvSpec[] = [];
  for (const [id, entry] of registry) {
    if (!entry.spec) {
      const env = entry.core ? entry.core() : entry.factory();
      if (!entry.core) checkUserEnv(id, env as Env);
      entry.spec = Object.freeze({
        id,
        observationSpace: env.observationSpace,
        actionSpace: env.actionSpace,
        maxEpisodeSteps: env.maxEpisodeSteps,
        rewardThreshold: entry.rewardThreshold,
      });
    }
    specs.push(entry.spec);
  }
  return specs;
}

/** A user factory must give something shaped like an Env; say what is missing, by name. */
function checkUserEnv(id: string, env: Env): void {
  const missing: string[] = [];
  if (env === null || typeof env !== 'object') {
    throw new EdgeDistillError('BAD_ARGUMENT', `the factory registered for ${id} did not return an object`, { field: id });
  }
  for (const m of ['reset', 'step', 'getState', 'setState'] as const) if (typeof env[m] !== 'function') missing.push(`${m}()`);
  const obs = env.observationSpace;
  if (!obs || obs.kind !== 'box' || !(obs.low instanceof Float32Array) || !(obs.high instanceof Float32Array)) {
    missing.push('observationSpace (a box with Float32Array low/high)');
  }
  const act = env.actionSpace;
  if (!act || (act.kind !== 'box' && act.kind !== 'discrete')) missing.push('actionSpace (box or discrete)');
  if (!Number.isInteger(env.maxEpisodeSteps) || env.maxEpisodeSteps < 1) missing.push('maxEpisodeSteps (a positive integer)');
  if (missing.length) {
    throw new EdgeDistillError('BAD_ARGUMENT', `the environment registered as ${id} does not implement Env: missing ${missing.join(', ')}`, {
      field: id,
    });
  }
}
