/**
 * `@edgedistill/runtime/envs`: Gymnasium 1.x classic-control environments (CartPole-v1, Acrobot-v1,
 * MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1) with identical dynamics, spaces, time limits
 * and seeded resets (NumPy's PCG64 reproduced bit for bit), a vectorized form, and a registry for
 * user environments.
 */
export type {
  Action,
  BoxSpace,
  DiscreteSpace,
  Env,
  EnvFactory,
  EnvOptions,
  EnvSpec,
  ResetOptions,
  Space,
  StepResult,
  VectorEnv,
  VectorStepResult,
} from './types.js';
export { makeEnv, listEnvs, registerEnv, unregisterEnv, BUILTIN_ENV_IDS, type RegisterOptions } from './registry.js';
export { makeVectorEnv, ClassicVectorEnv, GenericVectorEnv } from './vector.js';
export { ClassicEnv } from './core.js';
export { box, discrete, formatSpace, spaceToJSON, actionDim } from './spaces.js';
export { NumpyGenerator, PCG64, SeedSequence } from './prng.js';
