/**
 * The bundle manifest: the contract between `edgedistill bundle` (pipeline, writes it), `flash`
 * (verifies it on the device) and `edgedistill-device check` (reads it). A bundle directory holds
 * `manifest.json` at its root; every other file in the bundle is listed in `files` with its sha256.
 */
export const BUNDLE_FORMAT = 'edgedistill.bundle/1' as const;

export type BackendId = 'js' | 'ort-node' | 'ort-web' | 'litert';

export interface BundleFile {
  /** sha256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
  readonly bytes: number;
}

export interface BundleArtifact {
  /** Short name shown in reports, e.g. "teacher", "student-int8-js". */
  readonly name: string;
  readonly role: 'teacher' | 'student';
  /** Path relative to the bundle root. */
  readonly path: string;
  /** Export format, as `edgedistill export --format` names it (onnx, onnx-int8, tflite-int8, js-int8, ...). */
  readonly format: string;
  /** Backend the check runs it on (first of the device's preferences that fits the artifact). */
  readonly backend: BackendId;
  /** Key in the golden set's `outputs` holding what this artifact gave on the desktop. */
  readonly goldenKey: string;
}

/** Budgets from the device profile; the check compares each measured figure with these. */
export interface Budgets {
  /** Control period in microseconds: the student's p99 latency at batch 1 must be within it. */
  readonly controlPeriodUs: number;
  /** Peak resident memory of the check process, MiB. */
  readonly maxRssMiB: number;
  /** Discrete: share of golden observations where the student picks the teacher's action. */
  readonly minAgreement: number;
  /** (student - random) / (teacher - random) return over the check's episodes. */
  readonly minReturnRetention: number;
}

/**
 * How the bundle runs on the device (written by `edgedistill bundle`; optional, so hand-made
 * bundles stay valid). Flash runs `node <entry> check <release dir>`.
 */
export interface BundleRuntime {
  /** The device CLI, relative to the bundle root (runtime/edgedistill-device.mjs). */
  readonly entry: string;
  /** Node versions it runs on (the profile's nodeRange). */
  readonly nodeRange: string;
  /** Backend packages shipped under runtime/node_modules, with their versions. */
  readonly packages: readonly { readonly name: string; readonly version: string }[];
}

export interface BundleManifest {
  readonly format: typeof BUNDLE_FORMAT;
  /** Device profile id (devices/<id>.json) and the profile itself, so the device needs nothing else. */
  readonly device: string;
  readonly profile: Record<string, unknown>;
  readonly budgets: Budgets;
  readonly envId: string;
  /** The student's policy card (distill/compress provenance). */
  readonly card: Record<string, unknown>;
  readonly artifacts: readonly BundleArtifact[];
  /** Golden set file (JSON: {obs: number[][], outputs: {[goldenKey]: number[][]}}), relative path. */
  readonly golden: string;
  /** Every file in the bundle except manifest.json, keyed by relative path (sorted). */
  readonly files: Readonly<Record<string, BundleFile>>;
  /** Episodes the on-device check rolls out per artifact (default from the profile). */
  readonly checkEpisodes: number;
  /** Optional: the bundled device runtime (see BundleRuntime). */
  readonly runtime?: BundleRuntime;
  /** Optional: name of the policy (export directory) the bundle was built from. */
  readonly policyName?: string;
}

/** Golden set shipped in a bundle: teacher-visited observations and desktop-recorded outputs. */
export interface GoldenSet {
  readonly obsDim: number;
  readonly obs: number[][];
  /** Raw outputs (logits / q_values / action) per artifact goldenKey, recorded on the desktop. */
  readonly outputs: Record<string, number[][]>;
}
