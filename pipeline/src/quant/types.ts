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
  /**
   * Parameters of the quantized normalized observation (the first layer's input). With
   * `inputBits` 8 (the default) an asymmetric int8 tensor; wider (9..16) a symmetric integer in
   * [-(2^(bits-1) - 1), 2^(bits-1) - 1] with zero point 0 (see `inputBits`).
   */
  readonly input: ActivationParams;
  /**
   * Bits of the quantized observation, default 8 (absent: 8). Wider inputs (12) keep int8
   * weights in the first layer: |q| <= 2047, |w| <= 127, so while 2047 * sum|w[c]| + |bias[c]|
   * < 2^24 (checked when quantizing) every partial sum of that layer is an integer float32
   * represents exactly, and exporters compute it with float ops (a float MatMul / FULLY_CONNECTED
   * over integer-valued tensors) to the same integers, in any summation order. The rest of the
   * network is unchanged int8.
   */
  readonly inputBits?: number;
  readonly layers: readonly QuantizedLayer[];
  /** Number of calibration observations the ranges came from. */
  readonly calibrationSamples: number;
}
