/** Builders for IR models, with seeded (reproducible) initialization. */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { Activation, DenseLayer, ObsNormalization, PolicyCard, PolicyHead, PolicyModel } from './types.js';
import { validatePolicy } from './validate.js';

/** mulberry32: tiny, fast, good enough for weight init; same seed -> same weights everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type VecLike = Float32Array | readonly number[];
const vec = (v: VecLike): Float32Array => (v instanceof Float32Array ? v.slice() : Float32Array.from(v));

/**
 * Head shorthand: the IR heads, with plain arrays allowed for bounds. `n`/`dim` may be left out and
 * are then taken from `outDim`.
 */
export type HeadSpec =
  | { kind: 'discrete'; output?: 'logits' | 'q_values'; n?: number }
  | { kind: 'continuous'; dim?: number; squash?: 'tanh' | 'none'; low: VecLike; high: VecLike; logStd?: VecLike };

export interface MlpOptions {
  obsDim: number;
  hidden: readonly number[];
  /** Output width; may be left out when the head says it (n or dim). */
  outDim?: number;
  /** Activation of hidden layers (the output layer has none). Default tanh (SB3's MlpPolicy). */
  activation?: Activation;
  head: HeadSpec;
  obsNorm?: { mean: VecLike; std: VecLike; clip?: number | null } | null;
  /**
   * Seeded init. 'torch' (default) is PyTorch's nn.Linear default, U(-1/sqrt(in), 1/sqrt(in)) for
   * weights and biases; 'xavier' is Glorot-uniform weights and zero biases.
   */
  init?: { seed: number; scheme?: 'torch' | 'xavier'; outputScale?: number };
  envId?: string | null;
  card?: PolicyCard;
}

export function denseLayer(inDim: number, outDim: number, activation: Activation, rnd: () => number, scheme: 'torch' | 'xavier', scale = 1): DenseLayer {
  const weight = new Float32Array(inDim * outDim);
  const bias = new Float32Array(outDim);
  const wBound = scheme === 'xavier' ? Math.sqrt(6 / (inDim + outDim)) : 1 / Math.sqrt(inDim);
  for (let i = 0; i < weight.length; i++) weight[i] = (rnd() * 2 - 1) * wBound * scale;
  if (scheme === 'torch') for (let i = 0; i < outDim; i++) bias[i] = (rnd() * 2 - 1) * (1 / Math.sqrt(inDim)) * scale;
  return { inDim, outDim, weight, bias, activation };
}

function buildHead(spec: HeadSpec, outDim: number | undefined): PolicyHead {
  if (spec.kind === 'discrete') {
    const n = spec.n ?? outDim;
    if (n === undefined) throw new EdgeDistillError('BAD_ARGUMENT', 'mlp: give outDim or head.n', { field: 'head.n' });
    if (outDim !== undefined && outDim !== n) {
      throw new EdgeDistillError('BAD_ARGUMENT', `mlp: outDim ${outDim} does not match head.n ${n}`, { field: 'outDim' });
    }
    return { kind: 'discrete', output: spec.output ?? 'logits', n };
  }
  const dim = spec.dim ?? outDim ?? spec.low.length;
  if (outDim !== undefined && outDim !== dim) {
    throw new EdgeDistillError('BAD_ARGUMENT', `mlp: outDim ${outDim} does not match head.dim ${dim}`, { field: 'outDim' });
  }
  const head: PolicyHead = {
    kind: 'continuous',
    dim,
    squash: spec.squash ?? 'tanh',
    low: vec(spec.low),
    high: vec(spec.high),
    ...(spec.logStd !== undefined ? { logStd: vec(spec.logStd) } : {}),
  };
  return head;
}

/** A seeded MLP policy: obs -> [norm] -> hidden layers (activation) -> linear output -> head. */
export function mlp(opts: MlpOptions): PolicyModel {
  const head = buildHead(opts.head, opts.outDim);
  const outDim = head.kind === 'discrete' ? head.n : head.dim;
  const rnd = seededRandom(opts.init?.seed ?? 0);
  const scheme = opts.init?.scheme ?? 'torch';
  const dims = [opts.obsDim, ...opts.hidden, outDim];
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const isOut = i + 2 === dims.length;
    layers.push(denseLayer(dims[i], dims[i + 1], isOut ? 'none' : (opts.activation ?? 'tanh'), rnd, scheme, isOut ? (opts.init?.outputScale ?? 1) : 1));
  }
  const obsNorm: ObsNormalization | null = opts.obsNorm
    ? { mean: vec(opts.obsNorm.mean), std: vec(opts.obsNorm.std), clip: opts.obsNorm.clip ?? null }
    : null;
  return validatePolicy({ envId: opts.envId ?? null, obsDim: opts.obsDim, obsNorm, layers, head, card: { ...(opts.card ?? {}) } });
}

/** Deep copy (typed arrays included), so stages can edit a model without touching the original. */
export function clonePolicy(m: PolicyModel): PolicyModel {
  const h = m.head;
  return {
    envId: m.envId,
    obsDim: m.obsDim,
    obsNorm: m.obsNorm ? { mean: m.obsNorm.mean.slice(), std: m.obsNorm.std.slice(), clip: m.obsNorm.clip } : null,
    layers: m.layers.map((l) => ({
      ...l,
      weight: l.weight.slice(),
      bias: l.bias.slice(),
      ...(l.codebook ? { codebook: { centroids: l.codebook.centroids.slice(), indices: l.codebook.indices.slice() } } : {}),
    })),
    head:
      h.kind === 'discrete'
        ? { ...h }
        : { ...h, low: h.low.slice(), high: h.high.slice(), ...(h.logStd ? { logStd: h.logStd.slice() } : {}) },
    card: structuredClone(m.card),
  };
}
