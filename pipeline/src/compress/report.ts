/**
 * compress-report.json: one row per step tried, each with what it gained (parameters, bytes) and
 * what it cost (agreement, return retention), relative to the previous kept row.
 */
import { paramCount } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';
import type { ReturnSummary } from '../distill/index.js';
import type { FinetuneResult } from './finetune.js';
import type { Evaluation } from './context.js';
import type { ByteCount } from './size.js';

export type StepKind = 'student' | 'fusion' | 'structured' | 'auto-shrink' | 'unstructured' | 'share' | 'int8-ptq' | 'int8-qat' | 'fp16';

export interface StepRow {
  step: StepKind;
  label: string;
  /** What the numbers were computed with: the float IR, fp16-rounded weights, or forwardInt8. */
  semantics: 'float32' | 'float16' | 'int8';
  /** Whether this result was carried forward (false: tried and dropped). */
  kept: boolean;
  hidden: number[];
  params: number;
  nonzeroParams: number;
  paramRatio: number | null;
  /** Weight payload in the step's storage format; gzip is gzip -9 of exactly those bytes. */
  bytes: ByteCount;
  /** The serialized policy file (policy.json, or policy-int8.json for int8 rows). */
  fileBytes: { raw: number; gzip: number };
  agreement: number | null;
  actionError: number | null;
  return: ReturnSummary | null;
  returnRetention: number | null;
  targetsMet: boolean;
  gain: { params: number; bytes: number; gzipBytes: number } | null;
  cost: { agreement: number | null; returnRetention: number | null } | null;
  finetune: { steps: number; bestStep: number; seconds: number; startValidation: number | null; validation: number | null } | null;
  details: Record<string, unknown>;
  seconds: number;
}

export interface CompressReport {
  env: string;
  /** Env constructor options the states and returns came from (null: the default env). */
  envOptions?: Record<string, unknown> | null;
  teacher: { files: string[]; sha256: (string | null)[]; params: number | null; return: ReturnSummary };
  random: { return: ReturnSummary };
  episodes: number;
  evalSeed: number;
  targets: { agreement: number | null; retention: number | null };
  options: Record<string, unknown>;
  steps: StepRow[];
  /** Index of the row describing OUT/policy.json, and of the one describing OUT/policy-int8.json. */
  final: { float: number; int8: number | null };
  result: {
    hidden: number[];
    params: number;
    paramRatio: number | null;
    semantics: 'float32' | 'float16' | 'int8';
    agreement: number | null;
    actionError: number | null;
    returnRetention: number | null;
    targetsMet: boolean;
  };
  notes: string[];
  data: { train: number; validation: number; heldOut: number; teacherStates: number };
  backend: string;
  machine: string;
  wallSeconds: number;
}

export function finetuneSummary(f: FinetuneResult | null): StepRow['finetune'] {
  if (!f) return null;
  const v = (m: { agreement: number | null; actionError: number | null }) => m.agreement ?? m.actionError;
  return { steps: f.steps, bestStep: f.bestStep, seconds: f.seconds, startValidation: v(f.start), validation: v(f.validation) };
}

export function nonzeroParams(model: PolicyModel): number {
  let n = 0;
  for (const l of model.layers) {
    for (const w of l.weight) if (w !== 0) n++;
    n += l.bias.length;
  }
  return n;
}

export interface RowInput {
  step: StepKind;
  label: string;
  semantics: StepRow['semantics'];
  kept: boolean;
  model: PolicyModel;
  bytes: ByteCount;
  fileBytes: { raw: number; gzip: number };
  eval: Evaluation;
  finetune?: FinetuneResult | null;
  details?: Record<string, unknown>;
  seconds: number;
}

/** A row, with gain and cost relative to `prev` (the last kept row), when there is one. */
export function makeRow(r: RowInput, teacherParams: number | null, prev: StepRow | null): StepRow {
  const params = paramCount(r.model);
  const nz = nonzeroParams(r.model);
  const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  return {
    step: r.step,
    label: r.label,
    semantics: r.semantics,
    kept: r.kept,
    hidden: r.model.layers.slice(0, -1).map((l) => l.outDim),
    params,
    nonzeroParams: nz,
    paramRatio: teacherParams ? params / teacherParams : null,
    bytes: r.bytes,
    fileBytes: r.fileBytes,
    agreement: r.eval.agreement,
    actionError: r.eval.actionError,
    return: r.eval.return,
    returnRetention: r.eval.returnRetention,
    targetsMet: r.eval.targetsMet,
    gain: prev ? { params: prev.nonzeroParams - nz, bytes: prev.bytes.raw - r.bytes.raw, gzipBytes: prev.bytes.gzip - r.bytes.gzip } : null,
    cost: prev ? { agreement: sub(prev.agreement, r.eval.agreement), returnRetention: sub(prev.returnRetention, r.eval.returnRetention) } : null,
    finetune: finetuneSummary(r.finetune ?? null),
    details: r.details ?? {},
    seconds: r.seconds,
  };
}

const pct = (v: number | null, digits = 2) => (v === null ? '-' : `${(v * 100).toFixed(digits)}%`);

/** The report's table as text (one line per step). */
export function formatTable(report: CompressReport): string {
  const head = ['step', 'kept', 'hidden', 'params', 'nonzero', 'bytes', 'gzip', 'format', 'agree', 'retention', 'return', 'targets'];
  const rows = report.steps.map((s) => [
    s.label,
    s.kept ? 'yes' : 'no',
    s.hidden.join('x') || '-',
    String(s.params),
    String(s.nonzeroParams),
    String(s.bytes.raw),
    String(s.bytes.gzip),
    s.bytes.format,
    s.agreement !== null ? pct(s.agreement) : s.actionError !== null ? `err ${s.actionError.toFixed(4)}` : '-',
    pct(s.returnRetention, 1),
    s.return ? s.return.mean.toFixed(1) : '-',
    s.targetsMet ? 'met' : 'missed',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
