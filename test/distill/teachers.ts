/** Hand-made teachers for the distillation tests (real IR policies, exported through the ONNX writer). */
import type { PolicyModel } from '../../pipeline/src/ir/types.js';

/**
 * CartPole: push right when theta + theta_dot / 2 > 0, as Q-values q = [-k z, k z] with
 * z = theta + theta_dot / 2. Balances every episode to 500 on seeds 0..99.
 */
export function cartPoleTeacher(k = 10, output: 'q_values' | 'logits' = 'q_values'): PolicyModel {
  return {
    envId: 'CartPole-v1',
    obsDim: 4,
    obsNorm: null,
    layers: [{ inDim: 4, outDim: 2, weight: Float32Array.from([0, 0, -k, -k / 2, 0, 0, k, k / 2]), bias: new Float32Array(2), activation: 'none' }],
    head: { kind: 'discrete', output, n: 2 },
    card: { algorithm: 'hand-made linear controller' },
  };
}

/** MountainCarContinuous: full throttle in the direction of the velocity (bang-bang through the clip). */
export function mountainCarContinuousTeacher(k = 100): PolicyModel {
  return {
    envId: 'MountainCarContinuous-v0',
    obsDim: 2,
    obsNorm: null,
    layers: [{ inDim: 2, outDim: 1, weight: Float32Array.from([0, k]), bias: new Float32Array(1), activation: 'none' }],
    head: { kind: 'continuous', dim: 1, squash: 'none', low: Float32Array.from([-1]), high: Float32Array.from([1]), logStd: Float32Array.from([-1]) },
    card: { algorithm: 'hand-made bang-bang controller' },
  };
}
