/**
 * The one in-memory policy model (IR). Distill, compress and every exporter read and write this.
 * An MLP with observation normalization in front and action post-processing behind, so every
 * exported artifact takes raw observations.
 */
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'none';

export interface DenseLayer {
  readonly inDim: number;
  readonly outDim: number;
  /** Row-major [outDim][inDim] (ONNX Gemm transB=1 and TFLite FULLY_CONNECTED layout). */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly activation: Activation;
  /**
   * Weight sharing (optional): `weight` equals centroids[indices] exactly, and policy.json stores
   * only this codebook (bit-packed indices). Written by compress --share; see ir/codebook.ts.
   */
  readonly codebook?: DenseCodebook;
}

/** A layer's weight codebook: at most 256 float32 centroids and one index per weight (row-major). */
export interface DenseCodebook {
  readonly centroids: Float32Array;
  readonly indices: Uint8Array;
}

/** obs' = clip((obs - mean) / std, -clip, clip); `clip: null` means no clipping. */
export interface ObsNormalization {
  readonly mean: Float32Array;
  readonly std: Float32Array;
  readonly clip: number | null;
}

/** Discrete heads output one value per action; the action is argmax. */
export interface DiscreteHead {
  readonly kind: 'discrete';
  readonly output: 'logits' | 'q_values';
  readonly n: number;
}

/**
 * Continuous heads: the last layer gives the mean `m`; then
 * squash 'tanh': action = low + (tanh(m) + 1) / 2 * (high - low), clipped to [low, high];
 * squash 'none': action = clip(m, low, high).
 */
export interface ContinuousHead {
  readonly kind: 'continuous';
  readonly dim: number;
  readonly squash: 'tanh' | 'none';
  readonly low: Float32Array;
  readonly high: Float32Array;
  /** State-independent log std of a Gaussian policy, when the teacher has one (for Gaussian KL). */
  readonly logStd?: Float32Array;
}

export type PolicyHead = DiscreteHead | ContinuousHead;

/** Free-form provenance: env, algorithm, teacher hash, data, loss, steps, backend, ... */
export type PolicyCard = Record<string, unknown>;

export interface PolicyModel {
  readonly envId: string | null;
  readonly obsDim: number;
  readonly obsNorm: ObsNormalization | null;
  readonly layers: readonly DenseLayer[];
  readonly head: PolicyHead;
  readonly card: PolicyCard;
}

/** Name of the model's output tensor in every exported artifact. */
export function outputName(head: PolicyHead): 'logits' | 'q_values' | 'action' {
  return head.kind === 'discrete' ? head.output : 'action';
}
