/**
 * Structural checks of a PolicyModel: every problem is reported with its field path
 * (`layers.1.weight`, `head.low`, ...) so the user can find it in policy.json or the ONNX file.
 */
import { EdgeDistillError, type ErrorDetail } from '@edgedistill/runtime/errors';
import type { PolicyModel } from './types.js';

const ACTIVATIONS = new Set(['relu', 'tanh', 'sigmoid', 'none']);

function isPosInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

/** First non-finite entry, described ("NaN at index 3"), or null. */
function firstBad(a: Float32Array, allowInfinite = false): string | null {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (Number.isNaN(v)) return `NaN at index ${i}`;
    if (!allowInfinite && !Number.isFinite(v)) return `${v} at index ${i}`;
  }
  return null;
}

/** Checks a float vector field: type, length, finiteness. Returns false when unusable. */
function checkVec(
  problems: ErrorDetail[],
  file: string | undefined,
  field: string,
  v: unknown,
  len: number,
  allowInfinite = false,
): v is Float32Array {
  if (!(v instanceof Float32Array)) {
    problems.push({ file, field, text: 'must be a Float32Array' });
    return false;
  }
  if (v.length !== len) {
    problems.push({ file, field, text: `wrong length: expected ${len}, got ${v.length}` });
    return false;
  }
  const bad = firstBad(v, allowInfinite);
  if (bad) {
    problems.push({ file, field, text: `has ${bad}` });
    return false;
  }
  return true;
}

/** A weight codebook: <= 256 finite centroids, one in-range index per weight, and weight == centroids[indices]. */
function checkCodebook(p: ErrorDetail[], file: string | undefined, at: string, cb: unknown, weight: Float32Array | null, n: number): void {
  const field = `${at}.codebook`;
  const c = cb as { centroids?: unknown; indices?: unknown } | null;
  if (c === null || typeof c !== 'object') {
    p.push({ file, field, text: 'must be an object with centroids and indices' });
    return;
  }
  const k = c.centroids instanceof Float32Array ? c.centroids.length : 0;
  if (k < 1 || k > 256) {
    p.push({ file, field: `${field}.centroids`, text: `must be a Float32Array of 1 to 256 centroids, got ${c.centroids instanceof Float32Array ? k : 'none'}` });
    return;
  }
  if (!checkVec(p, file, `${field}.centroids`, c.centroids, k)) return;
  if (!(c.indices instanceof Uint8Array) || c.indices.length !== n) {
    p.push({ file, field: `${field}.indices`, text: `must be a Uint8Array of ${n} indices, got ${c.indices instanceof Uint8Array ? c.indices.length : 'none'}` });
    return;
  }
  const centroids = c.centroids as Float32Array;
  const indices = c.indices;
  for (let i = 0; i < n; i++) {
    if (indices[i] >= k) {
      p.push({ file, field: `${field}.indices`, text: `index ${indices[i]} at ${i} is not below ${k} centroids` });
      return;
    }
    if (weight && weight[i] !== centroids[indices[i]]) {
      p.push({ file, field: `${at}.weight`, text: `weight ${i} (${weight[i]}) differs from its codebook centroid ${centroids[indices[i]]}` });
      return;
    }
  }
}

/** Every problem found (empty when the model is valid). */
export function policyProblems(model: PolicyModel, file?: string): ErrorDetail[] {
  const p: ErrorDetail[] = [];
  const push = (field: string, text: string) => p.push({ file, field, text });
  if (model === null || typeof model !== 'object') {
    push('', 'policy must be an object');
    return p;
  }
  if (!(model.envId === null || typeof model.envId === 'string')) push('envId', 'must be a string or null');
  if (!isPosInt(model.obsDim)) push('obsDim', `must be a positive integer, got ${String(model.obsDim)}`);
  const obsDim = isPosInt(model.obsDim) ? model.obsDim : NaN;

  if (model.obsNorm !== null && model.obsNorm !== undefined) {
    const n = model.obsNorm;
    checkVec(p, file, 'obsNorm.mean', n.mean, obsDim);
    if (checkVec(p, file, 'obsNorm.std', n.std, obsDim)) {
      const i = n.std.findIndex((s) => !(s > 0));
      if (i >= 0) push('obsNorm.std', `must be > 0, got ${n.std[i]} at index ${i}`);
    }
    if (!(n.clip === null || (typeof n.clip === 'number' && n.clip > 0 && Number.isFinite(n.clip)))) {
      push('obsNorm.clip', `must be a positive number or null, got ${String(n.clip)}`);
    }
  } else if (model.obsNorm !== null) {
    push('obsNorm', 'must be an object or null');
  }

  if (!Array.isArray(model.layers) || model.layers.length === 0) {
    push('layers', 'must be a non-empty array of dense layers');
  } else {
    let prev = obsDim;
    model.layers.forEach((l, i) => {
      const at = `layers.${i}`;
      if (!isPosInt(l.inDim)) push(`${at}.inDim`, `must be a positive integer, got ${String(l.inDim)}`);
      else if (Number.isFinite(prev) && l.inDim !== prev) {
        push(`${at}.inDim`, `is ${l.inDim} but the ${i === 0 ? 'observation' : `layers.${i - 1} output`} has ${prev} values`);
      }
      if (!isPosInt(l.outDim)) push(`${at}.outDim`, `must be a positive integer, got ${String(l.outDim)}`);
      if (isPosInt(l.inDim) && isPosInt(l.outDim)) {
        const wOk = checkVec(p, file, `${at}.weight`, l.weight, l.inDim * l.outDim);
        checkVec(p, file, `${at}.bias`, l.bias, l.outDim);
        if (l.codebook !== undefined) checkCodebook(p, file, at, l.codebook, wOk ? l.weight : null, l.inDim * l.outDim);
      }
      if (!ACTIVATIONS.has(l.activation)) push(`${at}.activation`, `must be relu, tanh, sigmoid or none, got ${String(l.activation)}`);
      prev = isPosInt(l.outDim) ? l.outDim : NaN;
    });
  }
  const last = Array.isArray(model.layers) && model.layers.length ? model.layers[model.layers.length - 1].outDim : NaN;

  const h = model.head;
  if (!h || typeof h !== 'object') push('head', 'must be an object');
  else if (h.kind === 'discrete') {
    if (h.output !== 'logits' && h.output !== 'q_values') push('head.output', `must be logits or q_values, got ${String(h.output)}`);
    if (!isPosInt(h.n)) push('head.n', `must be a positive integer, got ${String(h.n)}`);
    else if (h.n !== last && Number.isFinite(last)) push('head.n', `is ${h.n} but the last layer outputs ${last} values`);
  } else if (h.kind === 'continuous') {
    if (!isPosInt(h.dim)) push('head.dim', `must be a positive integer, got ${String(h.dim)}`);
    else {
      if (h.dim !== last && Number.isFinite(last)) push('head.dim', `is ${h.dim} but the last layer outputs ${last} values`);
      if (h.squash !== 'tanh' && h.squash !== 'none') push('head.squash', `must be tanh or none, got ${String(h.squash)}`);
      // Unbounded boxes are allowed without squashing (clip becomes a no-op); tanh needs finite bounds.
      const inf = h.squash !== 'tanh';
      const okLow = checkVec(p, file, 'head.low', h.low, h.dim, inf);
      const okHigh = checkVec(p, file, 'head.high', h.high, h.dim, inf);
      if (okLow && okHigh) {
        const i = h.low.findIndex((lo, k) => !(lo <= h.high[k]));
        if (i >= 0) push('head.low', `low[${i}] = ${h.low[i]} is above high[${i}] = ${h.high[i]}`);
      }
      if (h.logStd !== undefined) checkVec(p, file, 'head.logStd', h.logStd, h.dim);
    }
  } else push('head.kind', `must be discrete or continuous, got ${String((h as { kind?: unknown }).kind)}`);

  if (model.card === null || typeof model.card !== 'object' || Array.isArray(model.card)) push('card', 'must be an object');
  return p;
}

/** Throws EdgeDistillError(BAD_MODEL) naming the first bad field (all problems in `details`). */
export function validatePolicy(model: PolicyModel, file?: string): PolicyModel {
  const problems = policyProblems(model, file);
  if (problems.length > 0) {
    const first = problems[0];
    throw new EdgeDistillError('BAD_MODEL', `invalid policy: ${first.field ? `${first.field} ` : ''}${first.text}`, {
      file,
      field: first.field,
      details: problems.length > 1 ? problems : [],
    });
  }
  return model;
}
