/**
 * Public types of policy loading. The model is onnxruntime's JS API: one `loadPolicy` entry, a
 * small `Policy` object, backends chosen from the artifact and the platform.
 */
import type { BoxSpace, DiscreteSpace } from '../envs/types.js';

/**
 * Where a policy runs.
 * - `js`: a compiled, dependency-free ES module (`.mjs`/`.js`) emitted by the pipeline; synchronous.
 * - `ort-node`: onnxruntime-node (native CPU binaries: linux/darwin/win32 on x64 and arm64).
 * - `ort-web`: onnxruntime-web's WebAssembly build running inside Node (works on 32-bit ARM too).
 * - `litert`: LiteRT.js (`@litertjs/core`, WASM/XNNPACK) for `.tflite` files.
 */
export type BackendName = 'js' | 'ort-node' | 'ort-web' | 'litert';

/** The kinds of artifact the pipeline exports. */
export type ArtifactFormat = 'onnx' | 'tflite' | 'compiled-js';

/** Numeric variant of an artifact; `unknown` for user files that do not say. */
export type ArtifactVariant = 'fp32' | 'fp16' | 'int8' | 'unknown';

/** A discrete action is an integer (`start + argmax`); a continuous one a Float32Array of the box's size. */
export type PolicyAction = number | Float32Array;

/** One observation: any array of numbers of length `obsDim`; copied to float32 and checked. */
export type Observation = ArrayLike<number>;

/** Many observations: an array of rows, or one flat row-major Float32Array of `batch * obsDim`. */
export type ObservationBatch = readonly Observation[] | Float32Array;

/** What the policy's output tensor holds. */
export interface PolicyHeadInfo {
  /** `discrete`: one score per action, the action is `start + argmax`. `continuous`: the action itself. */
  readonly kind: 'discrete' | 'continuous';
  /** Name of the output tensor read (`logits`, `q_values` or `action` in our artifacts). */
  readonly outputName: string;
  /** Number of output values per observation. */
  readonly outDim: number;
}

/** Where the artifact came from and how it was read. */
export interface PolicyArtifactInfo {
  /** Absolute path of the loaded file. */
  readonly path: string;
  readonly format: ArtifactFormat;
  readonly variant: ArtifactVariant;
  /**
   * Where the metadata came from: `embedded` (ONNX metadata_props, TFLite metadata, compiled module
   * export), `sidecar` (`<file>.meta.json`), `inferred` (tensor names and shapes only, plus any
   * `actionSpace` the caller passed).
   */
  readonly metadataSource: 'embedded' | 'sidecar' | 'inferred';
}

export interface PolicyMetadata {
  /** Gymnasium id of the environment the policy was trained for, or null when the artifact does not say. */
  readonly envId: string | null;
  /** Length of one (flattened) observation. */
  readonly obsDim: number;
  /** Observation space; bounds are ±Infinity when unknown. Observations are not clipped to it. */
  readonly observationSpace: BoxSpace;
  /** Action space; every action returned lies inside it. */
  readonly actionSpace: DiscreteSpace | BoxSpace;
  readonly head: PolicyHeadInfo;
  /** Name of the model's input tensor (ONNX/TFLite), `obs` for compiled modules. */
  readonly inputName: string;
  /** Model card: provenance (env, algorithm, teacher hash, data, loss, ...); `{}` when absent. */
  readonly card: Readonly<Record<string, unknown>>;
  readonly artifact: PolicyArtifactInfo;
}

/**
 * A loaded policy. Every backend gives this asynchronous form; the `js` backend gives a
 * {@link SyncPolicy}, which adds synchronous twins (`actSync`, ...).
 *
 * Observations are checked (length, NaN, ±Inf, float32 overflow): `EdgeDistillError('BAD_OBSERVATION')`
 * naming the index and value. Actions always lie in the action space: discrete actions are
 * `start + argmax` of the outputs, continuous ones are clipped to `[low, high]`; a NaN output is an
 * `EdgeDistillError('RUNTIME')`, never a silent action.
 */
export interface Policy {
  readonly metadata: PolicyMetadata;
  /** The backend that runs this policy. */
  readonly backend: BackendName;
  /** What the backend reports about itself, for reports: library, version, threads, wasm file. */
  readonly backendInfo: Readonly<Record<string, unknown>>;
  /** True for {@link SyncPolicy} (the `js` backend). */
  readonly sync: boolean;
  /** Action for one observation. */
  act(obs: Observation): Promise<PolicyAction>;
  /** Actions for many observations, in order; equal to `act` on each row. */
  actBatch(obs: ObservationBatch, batch?: number): Promise<PolicyAction[]>;
  /** Raw output tensor (`head.outDim` values) for one observation: logits, Q-values or the action. */
  forward(obs: Observation): Promise<Float32Array>;
  /** Frees the backend session. Idempotent; later calls throw `EdgeDistillError('RUNTIME')`. */
  dispose(): Promise<void>;
}

/** A policy that can also run synchronously (the `js` backend): no promise per step. */
export interface SyncPolicy extends Policy {
  readonly sync: true;
  actSync(obs: Observation): PolicyAction;
  actBatchSync(obs: ObservationBatch, batch?: number): PolicyAction[];
  forwardSync(obs: Observation): Float32Array;
}

/** An action space given by the caller for artifacts without metadata. */
export type ActionSpaceSpec =
  | { readonly kind: 'discrete'; readonly n: number; readonly start?: number }
  | {
      readonly kind: 'box';
      readonly low: ArrayLike<number> | number;
      readonly high: ArrayLike<number> | number;
      /** Defaults to `[low.length]`. */
      readonly shape?: readonly number[];
    };

/** The platform the backend choice is made for; defaults to the running process. */
export interface PlatformInfo {
  /** `process.arch` values: `x64`, `arm64`, `arm` (32-bit ARM: no onnxruntime-node binary), ... */
  readonly arch?: string;
  /** `process.platform` values: `linux`, `darwin`, `win32`, ... */
  readonly os?: string;
}

export interface LoadPolicyOptions {
  /**
   * Backend to use. Default: chosen from the artifact and platform — `.mjs`/`.js` -> `js`;
   * `.onnx` -> `ort-node`, else `ort-web` (32-bit ARM, or onnxruntime-node fails to load);
   * `.tflite` -> `litert`. A backend that cannot run the artifact here is an
   * `EdgeDistillError('UNSUPPORTED')`; an explicit backend never falls back to another.
   */
  backend?: BackendName;
  /**
   * CPU threads for the backend's kernels. Default 1: small policies run fastest on one thread and
   * leave the other cores to the robot. For `ort-web` this is process-wide and fixed by the first
   * policy loaded on it.
   */
  threads?: number;
  /**
   * Action space, for artifacts without metadata (a plain ONNX file); overrides embedded metadata
   * (e.g. tighter bounds) but must match the model's output size.
   */
  actionSpace?: ActionSpaceSpec;
  /** Platform to choose the backend for; default `process.arch` / `process.platform`. */
  platform?: PlatformInfo;
}
