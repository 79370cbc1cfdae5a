/**
 * Ensembles of K students.
 *
 * - fuseEnsemble: averaged outputs as ONE plain MLP, so it exports as a single graph: the first
 *   layers stacked (every member reads the same input), hidden layers block-diagonal (members do not
 *   see each other), the output layers side by side with weights scaled by 1/K (and biases averaged),
 *   which sums to the mean of the members' last-layer outputs. Discrete: averaged logits / q-values.
 *   Continuous: the average of the pre-squash means, which equals the averaged action when the head
 *   does not squash and no member's action is clipped; ensembleForward(..., 'mean-action') is the
 *   exact average of actions.
 * - Majority vote is not a plain MLP (it needs an argmax per member and a count): it exists only as
 *   ensembleForward(..., 'vote') and as a vote teacher (ensembleTeacher), not as an exportable graph.
 * - ensembleTeacher: K teachers as one TeacherLike (averaged outputs, or vote fractions as 'probs'),
 *   for distill.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { argmaxRow, forward, paramCount } from '../ir/forward.js';
import type { DenseLayer, ObsNormalization, PolicyHead, PolicyModel } from '../ir/types.js';
import { validatePolicy } from '../ir/validate.js';
import type { TeacherLike } from '../distill/index.js';

const f = Math.fround;

function sameVec(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

function sameNorm(a: ObsNormalization | null, b: ObsNormalization | null): boolean {
  if (a === null || b === null) return a === b;
  return a.clip === b.clip && sameVec(a.mean, b.mean) && sameVec(a.std, b.std);
}

function sameHead(a: PolicyHead, b: PolicyHead): boolean {
  if (a.kind === 'discrete' && b.kind === 'discrete') return a.output === b.output && a.n === b.n;
  if (a.kind === 'continuous' && b.kind === 'continuous') return a.dim === b.dim && a.squash === b.squash && sameVec(a.low, b.low) && sameVec(a.high, b.high);
  return false;
}

/** First layer with the observation normalization folded in: W' = W / std, b' = b - W (mean / std). */
function foldNorm(layer: DenseLayer, norm: ObsNormalization): DenseLayer {
  const { inDim, outDim } = layer;
  const weight = new Float32Array(inDim * outDim);
  const bias = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let b = layer.bias[o];
    for (let i = 0; i < inDim; i++) {
      const w = layer.weight[o * inDim + i];
      weight[o * inDim + i] = w / norm.std[i];
      b -= (w * norm.mean[i]) / norm.std[i];
    }
    bias[o] = b;
  }
  return { inDim, outDim, weight, bias, activation: layer.activation };
}

/**
 * One MLP computing the mean of the members' outputs (before any squash). Members need the same
 * observation size, head, depth and activation per layer; different widths are fine. Different
 * observation normalizations are folded into each member's first layer (only without clipping).
 */
export function fuseEnsemble(models: readonly PolicyModel[]): PolicyModel {
  const K = models.length;
  if (K === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'fusion needs at least one model', { field: 'models' });
  const m0 = models[0];
  const L = m0.layers.length;
  models.forEach((m, k) => {
    const at = `models.${k}`;
    if (m.obsDim !== m0.obsDim) throw new EdgeDistillError('BAD_MODEL', `member ${k + 1} takes ${m.obsDim} observation values, member 1 takes ${m0.obsDim}`, { field: `${at}.obsDim` });
    if (!sameHead(m.head, m0.head)) throw new EdgeDistillError('BAD_MODEL', `member ${k + 1} has another head than member 1`, { field: `${at}.head` });
    if (m.layers.length !== L) {
      throw new EdgeDistillError('UNSUPPORTED', `member ${k + 1} has ${m.layers.length} layers, member 1 has ${L}: block-diagonal fusion needs equal depth`, {
        field: `${at}.layers`,
        suggestion: 'fuse students of the same depth, or use ensembleForward / ensembleTeacher',
      });
    }
    m.layers.forEach((l, i) => {
      if (l.activation !== m0.layers[i].activation) {
        throw new EdgeDistillError('UNSUPPORTED', `member ${k + 1} layer ${i} uses ${l.activation}, member 1 uses ${m0.layers[i].activation}`, {
          field: `${at}.layers.${i}.activation`,
        });
      }
    });
  });
  let obsNorm = m0.obsNorm;
  let firsts = models.map((m) => m.layers[0]);
  if (!models.every((m) => sameNorm(m.obsNorm, m0.obsNorm))) {
    const clipped = models.findIndex((m) => m.obsNorm !== null && m.obsNorm.clip !== null);
    if (clipped >= 0) {
      throw new EdgeDistillError('UNSUPPORTED', `members normalize observations differently and member ${clipped + 1} clips them: cannot fold into one graph`, {
        field: `models.${clipped}.obsNorm`,
      });
    }
    obsNorm = null;
    firsts = models.map((m) => (m.obsNorm ? foldNorm(m.layers[0], m.obsNorm) : m.layers[0]));
  }
  const layerOf = (k: number, i: number) => (i === 0 ? firsts[k] : models[k].layers[i]);
  const layers: DenseLayer[] = [];
  for (let i = 0; i < L; i++) {
    const parts = models.map((_, k) => layerOf(k, i));
    const act = parts[0].activation;
    const isLast = i === L - 1;
    if (isLast && i === 0) {
      // Linear members: the mean of the weights.
      const { inDim, outDim } = parts[0];
      const weight = new Float32Array(inDim * outDim);
      const bias = new Float32Array(outDim);
      for (const p of parts) {
        for (let q = 0; q < weight.length; q++) weight[q] += p.weight[q] / K;
        for (let o = 0; o < outDim; o++) bias[o] += p.bias[o] / K;
      }
      layers.push({ inDim, outDim, weight, bias, activation: act });
      continue;
    }
    const inDim = i === 0 ? parts[0].inDim : parts.reduce((s, p) => s + p.inDim, 0);
    const outDim = isLast ? parts[0].outDim : parts.reduce((s, p) => s + p.outDim, 0);
    const weight = new Float32Array(inDim * outDim);
    const bias = new Float32Array(outDim);
    let rowOff = 0;
    let colOff = 0;
    for (const p of parts) {
      const r0 = isLast ? 0 : rowOff;
      const c0 = i === 0 ? 0 : colOff;
      const scale = isLast ? 1 / K : 1;
      for (let o = 0; o < p.outDim; o++) {
        for (let c = 0; c < p.inDim; c++) weight[(r0 + o) * inDim + c0 + c] = f(p.weight[o * p.inDim + c] * scale);
        if (isLast) bias[o] += p.bias[o] / K;
        else bias[r0 + o] = p.bias[o];
      }
      rowOff += p.outDim;
      colOff += p.inDim;
    }
    layers.push({ inDim, outDim, weight, bias, activation: act });
  }
  const h = m0.head;
  let head: PolicyHead = h;
  if (h.kind === 'continuous' && models.some((m) => m.head.kind === 'continuous' && m.head.logStd)) {
    const logStd = new Float32Array(h.dim);
    for (const m of models) {
      const s = (m.head as { logStd?: Float32Array }).logStd;
      for (let j = 0; j < h.dim; j++) logStd[j] += (s ? s[j] : 0) / K;
    }
    head = { ...h, logStd };
  }
  return validatePolicy({
    envId: m0.envId,
    obsDim: m0.obsDim,
    obsNorm,
    layers,
    head,
    card: { source: 'fusion', fusion: 'mean', members: K, memberParams: models.map(paramCount), memberCards: models.map((m) => m.card) },
  });
}

export type EnsembleMode = 'mean' | 'vote' | 'mean-action';

/**
 * The ensemble's output for `batch` raw observations, member by member (not fused):
 * 'mean': mean of raw outputs (logits / q-values, or actions for continuous heads);
 * 'mean-action': same as 'mean' (named for continuous heads: the exact average of the actions);
 * 'vote' (discrete): fraction of members whose argmax is each action; the action is the argmax of
 * that, so ties go to the lowest action index.
 */
export function ensembleForward(models: readonly PolicyModel[], obs: Float32Array, batch: number, mode: EnsembleMode = 'mean'): Float32Array {
  const K = models.length;
  const h = models[0].head;
  const d = h.kind === 'discrete' ? h.n : h.dim;
  const out = new Float32Array(batch * d);
  if (mode === 'vote') {
    if (h.kind !== 'discrete') throw new EdgeDistillError('UNSUPPORTED', 'majority vote needs discrete actions', { field: 'mode', suggestion: "use 'mean-action'" });
    for (const m of models) {
      const y = forward(m, obs, batch);
      for (let b = 0; b < batch; b++) out[b * d + argmaxRow(y, d, b)] += 1 / K;
    }
    return out;
  }
  for (const m of models) {
    const y = forward(m, obs, batch);
    for (let q = 0; q < out.length; q++) out[q] += y[q] / K;
  }
  return out;
}

/**
 * K teachers as one: 'mean' averages their outputs (same output kind required); 'vote' (discrete)
 * returns vote fractions as probabilities. When the members are IR models and 'mean' on a discrete
 * head, `model` is their fused MLP (so parameter counts and exports see one model).
 */
export function ensembleTeacher(members: readonly TeacherLike[], mode: 'mean' | 'vote' = 'mean'): TeacherLike & { params: number | null } {
  if (members.length === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'an ensemble teacher needs at least one member', { field: 'teacher' });
  const t0 = members[0];
  members.forEach((t, k) => {
    if (t.obsDim !== t0.obsDim || t.outDim !== t0.outDim || (mode === 'mean' && t.outputKind !== t0.outputKind)) {
      throw new EdgeDistillError('BAD_MODEL', `teacher ${k + 1} (${t.outputKind}, ${t.obsDim} -> ${t.outDim}) does not match teacher 1 (${t0.outputKind}, ${t0.obsDim} -> ${t0.outDim})`, {
        file: t.file,
      });
    }
  });
  const K = members.length;
  const discrete = t0.outputKind !== 'action';
  if (mode === 'vote' && !discrete) {
    throw new EdgeDistillError('UNSUPPORTED', 'majority vote needs one output per discrete action (logits, q_values or probs)', { field: 'mode', file: t0.file });
  }
  const params = members.reduce<number | null>((s, t) => {
    const p = t.model ? paramCount(t.model) : ((t as { params?: number }).params ?? null);
    return s === null || p === null ? null : s + p;
  }, 0);
  let model: PolicyModel | null = null;
  if (mode === 'mean' && discrete && members.every((t) => t.model)) {
    try {
      model = fuseEnsemble(members.map((t) => t.model as PolicyModel));
    } catch {
      model = null;
    }
  }
  return {
    obsDim: t0.obsDim,
    outDim: t0.outDim,
    outputKind: mode === 'vote' ? 'probs' : t0.outputKind,
    model,
    params,
    file: `ensemble(${mode}: ${members.map((t) => t.file ?? 'in-memory').join(', ')})`,
    async runBatch(obs: Float32Array, batch: number): Promise<Float32Array> {
      const outs = await Promise.all(members.map((t) => t.runBatch(obs, batch)));
      const d = t0.outDim;
      const y = new Float32Array(batch * d);
      if (mode === 'vote') {
        for (const o of outs) for (let b = 0; b < batch; b++) y[b * d + argmaxRow(o, d, b)] += 1 / K;
        return y;
      }
      for (const o of outs) for (let q = 0; q < y.length; q++) y[q] += o[q] / K;
      return y;
    },
  };
}
