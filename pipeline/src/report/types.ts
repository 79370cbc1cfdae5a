/**
 * ReportData: everything the HTML report shows, as one typed, JSON-serializable aggregate (written
 * next to report.html as report.json). Each part is normalized from the file that produced it
 * (distill's report, compress-report.json, artifacts.json, bundle manifests, check-report.json per
 * device); figures are copied, never recomputed from guesses. A missing part is null or [].
 */
import type { DistillReport } from '../distill/distill.js';

export const REPORT_SCHEMA = 'edgedistill.report/1' as const;

/** Mean and spread of episode returns. */
export interface ReturnStats {
  readonly mean: number;
  readonly std: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly episodes: number | null;
}

export interface TeacherInfo {
  /** Short name shown in the report (file name without directory). */
  readonly name: string;
  readonly file: string | null;
  readonly sha256: string | null;
  readonly params: number | null;
  /** Size of the teacher's model file, bytes (from artifacts.json, a bundle, or the file itself). */
  readonly bytes: number | null;
  readonly outputKind: string | null;
  readonly return: ReturnStats | null;
}

/** One exported artifact with its parity figures (artifacts.json, as `edgedistill export` writes it). */
export interface ArtifactRecord {
  /** Shown name: the export format unless the file names it (onnx, onnx-int8, js, ...). */
  readonly name: string;
  readonly role: 'teacher' | 'student' | null;
  readonly format: string;
  /** fp32, fp16 or int8. */
  readonly precision: string | null;
  /** Runtime the parity gate ran it on (onnxruntime-node 1.30.0, LiteRT ...). */
  readonly runtime: string | null;
  readonly file: string | null;
  readonly bytes: number | null;
  readonly sha256: string | null;
  /** Largest |output - IR output| over the golden set. */
  readonly maxAbsError: number | null;
  /** int8 / fp16: largest |output - reference| (forwardInt8, or the IR with float16 weights). */
  readonly maxAbsErrorVsReference: number | null;
  readonly reference: string | null;
  /** Tolerance the export gate compared maxAbsError with, when the file says. */
  readonly tolerance: number | null;
  /** Share of golden observations where it picks the IR's action. */
  readonly agreementVsIr: number | null;
  /** Share where it picks the teacher's action. */
  readonly agreementVsTeacher: number | null;
  /** The export's parity gate verdict; null when not run or not said. */
  readonly passed: boolean | null;
  /** Why the gate failed it (empty when it passed). */
  readonly reasons: readonly string[];
}

/** A step of compress-report.json's table: scalar columns as the compressor wrote them. */
export type CompressRow = Readonly<Record<string, string | number | boolean | null>>;

export interface CompressSummary {
  /** One row per step tried, columns named for people (step, kept, params, bytes, agreement ...). */
  readonly steps: readonly CompressRow[];
  /** Facts about the whole run (result, environment, backend ...), for a small facts list. */
  readonly facts: Readonly<Record<string, string | number | boolean | null>>;
  readonly notes: readonly string[];
}

export interface BundleRecord {
  readonly device: string;
  readonly dir: string;
  readonly envId: string | null;
  readonly artifacts: readonly { readonly name: string; readonly role: string; readonly format: string; readonly backend: string; readonly bytes: number | null }[];
  readonly budgets: Readonly<Record<string, number>> | null;
  readonly files: number;
  readonly bytes: number;
}

export interface LatencyFigures {
  /** Microseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly min: number | null;
  readonly mean: number | null;
  readonly calls: number | null;
}

export interface CheckArtifact {
  readonly name: string;
  readonly role: 'teacher' | 'student' | null;
  readonly format: string | null;
  readonly backend: string | null;
  readonly latencyUs: LatencyFigures | null;
  readonly agreement: number | null;
  readonly actionRmse: number | null;
  readonly maxAbsError: number | null;
  readonly return: ReturnStats | null;
  readonly returnRetention: number | null;
}

export interface BudgetVerdict {
  readonly name: string;
  readonly artifact: string | null;
  readonly op: '<=' | '>=' | null;
  readonly limit: number;
  readonly value: number | null;
  readonly passed: boolean;
  readonly note: string | null;
}

export interface MachineFacts {
  readonly hostname: string | null;
  readonly cpu: string | null;
  readonly board: string | null;
  readonly cores: number | null;
  readonly arch: string | null;
  readonly os: string | null;
  readonly node: string | null;
  readonly memMiB: number | null;
}

/** One device's check-report.json, keyed by `key` (device profile id @ hostname). */
export interface DeviceCheck {
  readonly key: string;
  readonly device: string;
  readonly hostname: string | null;
  readonly file: string | null;
  readonly date: string | null;
  readonly envId: string | null;
  readonly platform: MachineFacts;
  readonly artifacts: readonly CheckArtifact[];
  readonly randomReturn: ReturnStats | null;
  readonly budgets: readonly BudgetVerdict[];
  readonly passed: boolean | null;
  readonly peakRssMiB: number | null;
}

export interface ReportData {
  readonly schema: typeof REPORT_SCHEMA;
  readonly title: string;
  readonly generatedAt: string;
  readonly env: string | null;
  readonly teacher: TeacherInfo | null;
  /** Distillation report as `edgedistill distill` wrote it. */
  readonly distill: DistillReport | null;
  readonly compress: CompressSummary | null;
  readonly artifacts: readonly ArtifactRecord[];
  readonly bundles: readonly BundleRecord[];
  readonly checks: readonly DeviceCheck[];
  /** The machine the report was built on (and, unless it says otherwise, distilled on). */
  readonly machine: MachineFacts & { readonly date: string };
  /** Files the data came from, in the order they were merged. */
  readonly sources: readonly string[];
}
