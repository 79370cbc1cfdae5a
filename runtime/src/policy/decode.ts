/**
 * The two ends of every policy call, shared by all backends: observations in (checked while copied
 * to float32), actions out (always inside the action space).
 */
import type { BoxSpace, DiscreteSpace } from '../envs/types.js';
import { EdgeDistillError } from '../errors.js';
import type { ObservationBatch, PolicyAction } from './types.js';

function badObservation(text: string, field: string, value?: unknown): never {
  throw new EdgeDistillError('BAD_OBSERVATION', text, {
    field,
    suggestion:
      value === undefined
        ? undefined
        : 'check the sensor or env that produced it; policies are only defined for finite observations',
  });
}

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/**
 * Copies one observation into `dst[offset .. offset+obsDim)` as float32, refusing a wrong length,
 * non-numbers, NaN, ±Inf and values that overflow float32. `label` names it in errors (`obs`,
 * `obs[3]`).
 */
export function writeObservation(
  obs: ArrayLike<number>,
  dst: Float32Array,
  offset: number,
  obsDim: number,
  label = 'obs',
): void {
  if (obs === null || typeof obs !== 'object' || typeof obs.length !== 'number') {
    badObservation(`observation must be an array of ${obsDim} numbers, got ${obs === null ? 'null' : typeof obs}`, label);
  }
  if (obs.length !== obsDim) {
    badObservation(`observation has ${obs.length} values, the policy takes ${obsDim}`, label);
  }
  for (let i = 0; i < obsDim; i++) {
    const v = obs[i];
    dst[offset + i] = v;
    const f = dst[offset + i];
    // Number.isFinite(v) rejects NaN, ±Inf and non-numbers (no coercion); the float32 check
    // catches finite doubles beyond ±3.4e38.
    if (!Number.isFinite(f) || !Number.isFinite(v)) {
      const why = typeof v !== 'number' ? 'is not a number' : Number.isFinite(v) ? 'overflows float32' : 'is not finite';
      badObservation(`${label}[${i}] = ${show(v)} ${why}`, `${label}[${i}]`, v);
    }
  }
}

/** Packs a batch into one row-major Float32Array; returns it and the number of rows. */
export function packBatch(obs: ObservationBatch, obsDim: number, batch?: number): { data: Float32Array; rows: number } {
  if (Array.isArray(obs)) {
    const rows = obs.length;
    if (batch !== undefined && batch !== rows) {
      throw new EdgeDistillError('BAD_ARGUMENT', `batch is ${batch} but ${rows} observations were given`, { field: 'batch' });
    }
    const data = new Float32Array(rows * obsDim);
    for (let r = 0; r < rows; r++) writeObservation(obs[r], data, r * obsDim, obsDim, `obs[${r}]`);
    return { data, rows };
  }
  if (!(obs instanceof Float32Array)) {
    badObservation('a batch must be an array of observations or one flat Float32Array', 'obs');
  }
  const rows = batch ?? obs.length / obsDim;
  if (!Number.isInteger(rows) || rows < 0 || rows * obsDim !== obs.length) {
    badObservation(
      `a flat batch of ${obs.length} values is not ${batch === undefined ? 'a whole number of' : batch} observations of ${obsDim}`,
      'obs',
    );
  }
  const data = new Float32Array(obs.length);
  for (let r = 0; r < rows; r++) {
    writeObservation(obs.subarray(r * obsDim, (r + 1) * obsDim), data, r * obsDim, obsDim, `obs[${r}]`);
  }
  return { data, rows };
}

/** Where outputs come from, for RUNTIME errors. */
export interface OutputSource {
  readonly file: string;
  readonly backend: string;
  readonly outputName: string;
}

function nanOutput(src: OutputSource, index: number): never {
  throw new EdgeDistillError('RUNTIME', `backend ${src.backend} returned NaN in output '${src.outputName}'`, {
    file: src.file,
    field: `${src.outputName}[${index}]`,
    suggestion: 'the artifact is broken or the backend failed; compare it with `edgedistill check`',
  });
}

/** `start + argmax(out[offset .. offset+n))`, first maximum wins (as numpy); NaN is an error. */
export function discreteAction(out: Float32Array, offset: number, space: DiscreteSpace, src: OutputSource): number {
  const n = space.n;
  let best = 0;
  let bestV = out[offset];
  if (Number.isNaN(bestV)) nanOutput(src, 0);
  for (let i = 1; i < n; i++) {
    const v = out[offset + i];
    if (v > bestV) {
      bestV = v;
      best = i;
    } else if (Number.isNaN(v)) nanOutput(src, i);
  }
  return space.start + best;
}

/** `clip(out[offset .. offset+dim), low, high)` as a new Float32Array; NaN is an error. */
export function continuousAction(out: Float32Array, offset: number, space: BoxSpace, src: OutputSource): Float32Array {
  const { low, high } = space;
  const dim = low.length;
  const a = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const v = out[offset + i];
    if (Number.isNaN(v)) nanOutput(src, i);
    a[i] = v < low[i] ? low[i] : v > high[i] ? high[i] : v;
  }
  return a;
}

export function decodeAction(
  out: Float32Array,
  offset: number,
  space: DiscreteSpace | BoxSpace,
  src: OutputSource,
): PolicyAction {
  return space.kind === 'discrete'
    ? discreteAction(out, offset, space, src)
    : continuousAction(out, offset, space, src);
}
