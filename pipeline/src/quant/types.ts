import type { Activation, PolicyModel } from '../ir/types.js';
import type { ActivationParams } from './int8.js';

/** One dense layer in int8: what a FULLY_CONNECTED (+ TANH / LOGISTIC) op needs. */
export interface QuantizedLayer {
  readonly inDim: number;
  readonly outDim: number;
  readonly activation: Activation;
  /** Row-major [outDim][inDim] int8, symmetric per output channel (zero point 0). */
  readonly weight: Int8Array;
  readonly weightScales: Float32Array;
  /** int32, scale[c] = float32(input.scale) * float32(weightScales[c]), zero point 0. */
  readonly bias: Int32Array;
  readonly biasScales: Float32Array;
  /** Parameters of the int8 input. */
  readonly input: ActivationParams;
  /**
   * FULLY_CONNECTED output: after the fused ReLU when `activation` is relu (range [0, max]),
   * otherwise the pre-activation value.
   */
  readonly output: ActivationParams;
  /** TANH (1/128, 0) or LOGISTIC (1/256, -128) output for tanh / sigmoid layers, else null. */
  readonly activationOutput: ActivationParams | null;
}

/**
 * A policy quantized to int8 (full integer between QUANTIZE and DEQUANTIZE): the float model it
 * came from (observation normalization and head post-processing stay float32, at the edges), the
 * int8 parameters of the normalized observation, and the int8 layers. Activation parameters come
 * from min/max calibration of the float model.
 */
export interface QuantizedPolicy {
  readonly model: PolicyModel;
  readonly input: ActivationParams;
  readonly layers: readonly QuantizedLayer[];
  /** Number of calibration observations the ranges came from. */
  readonly calibrationSamples: number;
}
