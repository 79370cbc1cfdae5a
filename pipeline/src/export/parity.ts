/**
 * The parity gate: how an artifact's outputs on the golden set are compared with the model it came
 * from, and when it passes. Pure functions; running artifacts is in ./runners.ts.
 *
 * - fp32 artifacts (onnx, tflite, js): max |output - IR| <= 1e-4.
 * - fp16 and int8 artifacts: action agreement with the fp32 IR >= 0.99, and an implementation check
 *   against their own reference (fp16: the IR with float16-rounded weights, max abs <= 1e-4; int8:
 *   forwardInt8, within one output quantization step, times the tanh squash's gain for continuous
 *   heads), so a broken kernel cannot hide behind a forgiving agreement.
 * Discrete agreement: same argmax (first maximum wins). Continuous agreement: every action value
 * within 1% of its action range (for unbounded dimensions, of the IR's spread on the golden set);
 * the max abs action error is reported too.
 */
import { argmaxRow } from '../ir/forward.js';
import type { PolicyHead } from '../ir/types.js';

export interface Tolerances {
  /** fp32 artifacts: max |artifact - IR|. */
  readonly fp32MaxAbs: number;
  /** fp16 / int8 artifacts: share of golden observations whose action agrees with the IR. */
  readonly minAgreement: number;
  /** Continuous agreement: |a - b| <= this share of the action range, per dimension. */
  readonly continuousShare: number;
  /** fp16 artifacts vs the IR with float16 weights. */
  readonly fp16MaxAbs: number;
  /** int8 artifacts vs forwardInt8, in output quantization steps. */
  readonly int8Steps: number;
}

export const DEFAULT_TOLERANCES: Tolerances = {
  fp32MaxAbs: 1e-4,
  minAgreement: 0.99,
  continuousShare: 0.01,
  fp16MaxAbs: 1e-4,
  int8Steps: 1,
};

/** Largest |a[i] - b[i]|; NaN anywhere (or a length mismatch) gives Infinity. */
export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Number of positions where a and b differ as float32 values (bit-level, -0 vs 0 aside). */
export function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) n++;
  return n;
}

/**
 * Per-dimension action ranges for continuous agreement: high - low where both are finite, else the
 * spread of the reference actions (1 when they are constant).
 */
export function actionRanges(head: PolicyHead, reference: Float32Array, rows: number): Float64Array {
  if (head.kind !== 'continuous') return new Float64Array(0);
  const d = head.dim;
  const r = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    const span = head.high[i] - head.low[i];
    if (Number.isFinite(span)) {
      r[i] = span;
      continue;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < rows; k++) {
      lo = Math.min(lo, reference[k * d + i]);
      hi = Math.max(hi, reference[k * d + i]);
    }
    r[i] = hi > lo ? hi - lo : 1;
  }
  return r;
}

export interface ActionComparison {
  /** Share of rows whose actions agree. */
  readonly agreement: number;
  /** Continuous heads: max |action difference| over all rows and dimensions; null for discrete. */
  readonly maxActionError: number | null;
}

/**
 * Agreement of two output sets (rows x outDim, the head's raw output: logits / q_values, or the
 * continuous action).
 */
export function compareActions(head: PolicyHead, a: Float32Array, b: Float32Array, rows: number, ranges: Float64Array, share: number): ActionComparison {
  if (head.kind === 'discrete') {
    let same = 0;
    for (let r = 0; r < rows; r++) if (argmaxRow(a, head.n, r) === argmaxRow(b, head.n, r)) same++;
    return { agreement: rows ? same / rows : 1, maxActionError: null };
  }
  return compareContinuous(a, b, rows, head.dim, ranges, share);
}

/** Continuous actions (rows x dim) vs reference actions. */
export function compareContinuous(a: Float32Array, b: Float32Array, rows: number, dim: number, ranges: Float64Array, share: number): ActionComparison {
  let same = 0;
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let ok = true;
    for (let i = 0; i < dim; i++) {
      const e = Math.abs(a[r * dim + i] - b[r * dim + i]);
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
      if (!(e <= share * ranges[i])) ok = false;
    }
    if (ok) same++;
  }
  return { agreement: rows ? same / rows : 1, maxActionError: worst };
}

/** Share of rows where discrete action indices (one per row) are equal. */
export function indexAgreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let r = 0; r < a.length; r++) if (a[r] === b[r]) same++;
  return a.length ? same / a.length : 1;
}

export type Precision = 'fp32' | 'fp16' | 'int8';

export interface GateInput {
  readonly precision: Precision;
  /** max |artifact - IR|. */
  readonly maxAbsVsIR: number;
  readonly agreementVsIR: number;
  /** fp16: vs the float16-weight IR; int8: vs forwardInt8. */
  readonly maxAbsVsReference: number | null;
  /** int8: largest error allowed vs forwardInt8 (steps x scale x gain). */
  readonly referenceTolerance: number | null;
}

export interface GateResult {
  readonly pass: boolean;
  /** Why it failed (empty when it passed). */
  readonly reasons: string[];
}

export function gate(input: GateInput, tol: Tolerances = DEFAULT_TOLERANCES): GateResult {
  const reasons: string[] = [];
  if (input.precision === 'fp32') {
    if (!(input.maxAbsVsIR <= tol.fp32MaxAbs)) reasons.push(`max |output - IR| = ${input.maxAbsVsIR} > ${tol.fp32MaxAbs}`);
  } else {
    if (!(input.agreementVsIR >= tol.minAgreement)) {
      reasons.push(`action agreement with the fp32 IR ${(input.agreementVsIR * 100).toFixed(2)}% < ${(tol.minAgreement * 100).toFixed(0)}%`);
    }
    const lim = input.referenceTolerance ?? tol.fp16MaxAbs;
    if (input.maxAbsVsReference !== null && !(input.maxAbsVsReference <= lim)) {
      const ref = input.precision === 'int8' ? 'forwardInt8' : 'the IR with float16 weights';
      reasons.push(`max |output - ${ref}| = ${input.maxAbsVsReference} > ${lim}`);
    }
  }
  return { pass: reasons.length === 0, reasons };
}
