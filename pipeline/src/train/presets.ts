/**
 * Per-environment hyper-parameters (RL-Zoo-like where RL Zoo has a recipe), on top of each
 * algorithm's defaults. `--hp key=value` overrides any of them.
 */
import { DQN_DEFAULTS, type DqnHyper } from './dqn.js';
import { PPO_DEFAULTS, type PpoHyper } from './ppo.js';
import { SAC_DEFAULTS, type SacHyper } from './sac.js';

export type Algo = 'ppo' | 'dqn' | 'sac';
export const ALGOS: readonly Algo[] = ['ppo', 'dqn', 'sac'];

export const PPO_PRESETS: Record<string, Partial<PpoHyper>> = {
  'CartPole-v1': {},
  'Acrobot-v1': { totalSteps: 400_000, numEnvs: 16, numSteps: 256, gaeLambda: 0.94, gamma: 0.99, updateEpochs: 4, minibatchSize: 64, normObs: true, normReward: true, learningRate: 3e-4 },
  'MountainCar-v0': { totalSteps: 200_000, numEnvs: 16, numSteps: 16, gaeLambda: 0.98, gamma: 0.99, updateEpochs: 4, normObs: true, normReward: true, entCoef: 0 },
  'MountainCarContinuous-v0': { totalSteps: 50_000, numEnvs: 1, numSteps: 8, gamma: 0.9999, learningRate: 7.77e-5, entCoef: 0.00429, clipCoef: 0.1, updateEpochs: 10, gaeLambda: 0.9, maxGradNorm: 5, vfCoef: 0.19, normObs: true, normReward: true, logStdInit: -3.29 },
  'Pendulum-v1': { totalSteps: 100_000, numEnvs: 4, numSteps: 1024, gaeLambda: 0.95, gamma: 0.9, updateEpochs: 10, minibatchSize: 64, learningRate: 1e-3, clipCoef: 0.2, logStdInit: -1 },
};

export const DQN_PRESETS: Record<string, Partial<DqnHyper>> = {
  'CartPole-v1': { totalSteps: 50_000, learningRate: 2.3e-3, batchSize: 64, bufferSize: 100_000, learningStarts: 1000, gamma: 0.99, targetUpdateInterval: 10, trainFreq: 256, gradientSteps: 128, explorationFraction: 0.16, endEps: 0.04 },
  'Acrobot-v1': { totalSteps: 100_000, learningRate: 6.3e-4, batchSize: 128, bufferSize: 50_000, learningStarts: 0, gamma: 0.99, targetUpdateInterval: 250, trainFreq: 4, gradientSteps: 4, explorationFraction: 0.12, endEps: 0.1 },
  'MountainCar-v0': { totalSteps: 120_000, learningRate: 4e-3, batchSize: 128, bufferSize: 10_000, learningStarts: 1000, gamma: 0.98, targetUpdateInterval: 600, trainFreq: 16, gradientSteps: 8, explorationFraction: 0.2, endEps: 0.07 },
};

export const SAC_PRESETS: Record<string, Partial<SacHyper>> = {
  'Pendulum-v1': { totalSteps: 20_000, learningStarts: 1000, policyLr: 1e-3, qLr: 1e-3, batchSize: 128 },
  'MountainCarContinuous-v0': {
    totalSteps: 25_000,
    learningStarts: 10_000,
    warmup: 'linear',
    bufferSize: 50_000,
    gamma: 0.99,
    tau: 0.01,
    alpha: 0.1,
    autotune: false,
    batchSize: 128,
    policyLr: 1e-3,
    qLr: 1e-3,
  },
};

export function hyperFor(algo: Algo, envId: string): PpoHyper | DqnHyper | SacHyper {
  switch (algo) {
    case 'ppo':
      return { ...PPO_DEFAULTS, ...(PPO_PRESETS[envId] ?? {}) };
    case 'dqn':
      return { ...DQN_DEFAULTS, ...(DQN_PRESETS[envId] ?? {}) };
    case 'sac':
      return { ...SAC_DEFAULTS, ...(SAC_PRESETS[envId] ?? {}) };
  }
}
