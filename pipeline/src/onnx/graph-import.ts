/**
 * ONNX graph -> IR. We walk back from the chosen output to the `obs` input; the path must be a chain
 * (each node has exactly one obs-dependent input) of ops we can express:
 *   Gemm (transA=0, any transB/alpha/beta), MatMul, Add/Sub/Mul/Div by constants, Relu/Tanh/Sigmoid,
 *   Clip/Max/Min by constants, Identity/Flatten/Reshape-to-[batch, d], with constants folded
 *   (Constant, initializers, and ops on them).
 * Elementwise ops before the first layer become the observation normalization; after a layer they fold
 * into its weights; after the last layer (continuous heads) they become tanh squash + scaling + clip.
 * Softmax/LogSoftmax/ArgMax at the end are peeled off by the output choice (see chooseOutput): the
 * teacher's values are then the pre-softmax logits, computed identically by onnxruntime and the IR.
 * Anything else raises ImportRefusal, whose message is why; the caller keeps the model as opaque.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { Activation, DenseLayer, ObsNormalization, PolicyHead, PolicyModel } from '../ir/types.js';
import { foldConstants } from './fold.js';
import { attrFloat, attrInt, attrInts, describeValueInfo, metadataOf, realInputs, type ModelProto, type NodeProto, type NumTensor } from './proto.js';
import { META, PRODUCER_NAME } from './write.js';

const f = Math.fround;

export type OutputKind = 'logits' | 'q_values' | 'action';

/** Not importable into the IR (the model is still usable as an opaque teacher). */
export class ImportRefusal extends Error {
  override name = 'ImportRefusal';
}

type Vec = Float64Array;
type Stage =
  | { t: 'affine'; scale: Vec; shift: Vec; exact?: { op: 'sub' | 'div'; c: Vec } }
  | { t: 'dense'; layer: { inDim: number; outDim: number; weight: Float32Array; bias: Float32Array } }
  | { t: 'act'; a: Exclude<Activation, 'none'> }
  | { t: 'clip'; lo: Vec; hi: Vec };

function producers(proto: ModelProto): Map<string, NodeProto> {
  const m = new Map<string, NodeProto>();
  for (const n of proto.graph?.node ?? []) for (const o of n.output ?? []) if (o) m.set(o, n);
  return m;
}

const nodeLabel = (n: NodeProto): string => `${n.opType}${n.name ? ` node "${n.name}"` : ''}`;

// ---------------------------------------------------------------------------------------------
// Output choice

export type NameClass = 'logits' | 'q_values' | 'probs' | 'action' | 'value' | null;

/** What an output's name says it is (SB3, torch and common hand-written names). */
export function classifyOutputName(name: string): NameClass {
  const flat = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
  const toks = flat.split('_');
  const has = (...w: string[]) => w.some((x) => toks.includes(x));
  if (has('logits', 'logit')) return 'logits';
  if (/^(q|qs|q_values?|qvalues?|q_vals?|qvals?|q_net|qnet|q_out|action_values)$/.test(flat) || has('qvalues', 'qvals')) return 'q_values';
  if (toks[0] === 'q' && toks.length <= 3) return 'q_values';
  // SB3's log_prob is the log-probability of the chosen action ([batch]), not a distribution.
  if (/(^|_)log_?probs?($|_)/.test(flat)) return 'value';
  if (has('probs', 'probabilities', 'prob', 'probas', 'softmax', 'pi')) return 'probs';
  if (has('action', 'actions', 'act', 'mu', 'mean', 'means', 'deterministic')) return 'action';
  if (has('value', 'values', 'vf', 'v', 'entropy')) return 'value';
  return null;
}

export interface OutputChoice {
  /** The graph output the choice started from. */
  graphOutput: string;
  /** Tensor holding the teacher's values (an internal tensor when Softmax/ArgMax were peeled off). */
  tensor: string;
  kind: OutputKind;
  /** 'log': the output holds probabilities we could not peel; the teacher returns log(p) as logits. */
  transform: 'none' | 'log';
  notes: string[];
}

/** Edgedistill's own files say what their output is in metadata_props. */
function ownHead(proto: ModelProto): OutputKind | null {
  if (proto.producerName !== PRODUCER_NAME) return null;
  const raw = metadataOf(proto)[META.head];
  if (!raw) return null;
  try {
    const h = JSON.parse(raw) as { kind?: string; output?: string };
    if (h.kind === 'continuous') return 'action';
    if (h.kind === 'discrete' && (h.output === 'logits' || h.output === 'q_values')) return h.output;
  } catch {
    /* fall through to names */
  }
  return null;
}

/**
 * Picks the output the teacher's values come from and what they mean: from `teacherOutput` when
 * given, else our own metadata, else output names. SB3's documented export returns
 * (actions, values, log_prob) with numbered names: pass teacherOutput and the first output is used.
 */
export function chooseOutput(proto: ModelProto, file: string, teacherOutput?: OutputKind): OutputChoice {
  const outs = (proto.graph?.output ?? []).map((o) => o.name ?? '');
  const classes = outs.map(classifyOutputName);
  const notes: string[] = [];
  let graphOutput: string | undefined;
  let kind: OutputKind | undefined;
  let probs = false;
  const prefer = (want: NameClass[]) => {
    for (const w of want) {
      const i = classes.indexOf(w);
      if (i >= 0) return i;
    }
    return -1;
  };
  if (teacherOutput) {
    kind = teacherOutput;
    const want: NameClass[] = teacherOutput === 'action' ? ['action'] : teacherOutput === 'q_values' ? ['q_values', 'logits'] : ['logits', 'probs'];
    let i = outs.length === 1 ? 0 : prefer(want);
    if (i < 0) {
      i = 0;
      notes.push(`output names do not say which is the ${teacherOutput}; using the first output "${outs[0]}" (SB3 exports return actions first)`);
    }
    graphOutput = outs[i];
    probs = classes[i] === 'probs';
  } else {
    const own = ownHead(proto);
    if (own && outs.includes(own === 'action' ? 'action' : own)) {
      kind = own;
      graphOutput = own === 'action' ? 'action' : own;
    } else {
      const i = prefer(['logits', 'q_values', 'probs', 'action']);
      if (i >= 0) {
        graphOutput = outs[i];
        probs = classes[i] === 'probs';
        kind = classes[i] === 'probs' ? 'logits' : (classes[i] as OutputKind);
        notes.push(`output "${graphOutput}" read as ${classes[i]} from its name`);
      } else if (outs.filter((o) => producers(proto).get(o)?.opType === 'ArgMax').length === 1) {
        // SB3's discrete PPO/A2C export: (actions = ArgMax(probs), values, log_prob) with numbered names.
        graphOutput = outs.find((o) => producers(proto).get(o)?.opType === 'ArgMax')!;
        kind = 'logits';
        notes.push(`output "${graphOutput}" is the only ArgMax output: read as discrete actions`);
      } else {
        throw new EdgeDistillError(
          'UNSUPPORTED',
          `cannot tell what the model's output${outs.length > 1 ? 's' : ''} ${outs.map((o) => `"${o}"`).join(', ')} mean${outs.length > 1 ? '' : 's'}`,
          {
            file,
            field: 'graph.output',
            suggestion: 'pass --teacher-output logits|q_values|action (SB3 PPO/A2C exports: action; DQN q_net: q_values)',
          },
        );
      }
    }
  }

  // Peel ArgMax / Softmax / LogSoftmax / x - logsumexp(x): distillation wants the logits under them.
  const prod = producers(proto);
  let tensor = graphOutput;
  for (let guard = 0; guard < 8; guard++) {
    const n = prod.get(tensor);
    if (!n) break;
    const op = n.opType;
    if (op === 'ArgMax') {
      if (kind === 'action') {
        notes.push(`output "${graphOutput}" is an ArgMax (discrete actions); using its input as logits`);
        kind = 'logits';
      }
      tensor = n.input![0];
    } else if ((op === 'Softmax' || op === 'LogSoftmax') && kind !== 'action') {
      notes.push(`${op} at the end: using its input "${n.input![0]}" as logits`);
      tensor = n.input![0];
      probs = false;
    } else if (op === 'Identity' && kind !== 'action') {
      tensor = n.input![0];
    } else if (op === 'Sub' && kind !== 'action' && isLogSumExpOf(prod, n)) {
      notes.push(`x - logsumexp(x) normalization at the end: using "${n.input![0]}" as logits`);
      tensor = n.input![0];
    } else break;
  }
  const transform = probs ? 'log' : 'none';
  if (probs) notes.push(`output "${graphOutput}" holds probabilities: the teacher returns log(p) as logits`);
  return { graphOutput, tensor, kind, transform, notes };
}

/** Sub(x, ReduceLogSumExp(x, axes=[-1|1], keepdims=1)): torch's Categorical(logits=x) normalization. */
function isLogSumExpOf(prod: Map<string, NodeProto>, sub: NodeProto): boolean {
  const [x, r] = sub.input ?? [];
  const rn = r ? prod.get(r) : undefined;
  if (!rn || rn.opType !== 'ReduceLogSumExp' || rn.input?.[0] !== x) return false;
  const axes = attrInts(rn, 'axes') ?? [];
  return attrInt(rn, 'keepdims', 1) === 1 && axes.length === 1 && (axes[0] === -1 || axes[0] === 1);
}

// ---------------------------------------------------------------------------------------------
// Chain tracing

function constVec(c: NumTensor | undefined, d: number, what: string): Vec {
  // Both inputs of an elementwise op varying (or a constant missing) is not an MLP stage.
  if (!c) throw new ImportRefusal(`${what}: the other operand is not a constant`);
  const n = c.data.length;
  const rankOk = c.dims.length <= 2 && c.dims.slice(0, -1).every((x) => x === 1);
  if (n === 1) return new Float64Array(d).fill(c.data[0]);
  if (rankOk && n === d) return Float64Array.from(c.data);
  throw new ImportRefusal(`${what}: constant of shape ${JSON.stringify(c.dims)} does not broadcast along the ${d} features`);
}

/** Stages along the path input -> tensor. */
function traceStages(proto: ModelProto, input: string, obsDim: number, tensor: string, file: string): Stage[] {
  const { consts, dynamic, shapeOnly } = foldConstants(proto, input, file);
  const prod = producers(proto);
  if (!dynamic.has(tensor)) throw new ImportRefusal(`output "${tensor}" does not depend on the input "${input}"`);
  // Walk back to the input.
  const path: { node: NodeProto; at: number }[] = [];
  let t = tensor;
  while (t !== input) {
    const n = prod.get(t);
    if (!n) throw new ImportRefusal(`tensor "${t}" has no producer`);
    const dyn = (n.input ?? []).map((x, i) => (x && dynamic.has(x) && !shapeOnly.has(x) ? i : -1)).filter((i) => i >= 0);
    if (dyn.length !== 1) throw new ImportRefusal(`${nodeLabel(n)} combines ${dyn.length} input-dependent tensors (not a single chain)`);
    for (const [i, x] of (n.input ?? []).entries()) {
      if (!x || i === dyn[0] || consts.has(x)) continue;
      // A computed target shape is fine for Reshape/Expand: the probe check confirms they keep [batch, d].
      if (shapeOnly.has(x) && i === 1 && (n.opType === 'Reshape' || n.opType === 'Expand')) continue;
      throw new ImportRefusal(`${nodeLabel(n)} has a non-constant input "${x}" we cannot fold`);
    }
    path.push({ node: n, at: dyn[0] });
    t = n.input![dyn[0]];
    if (path.length > 10_000) throw new ImportRefusal('graph path too long');
  }
  path.reverse();

  const stages: Stage[] = [];
  let d = obsDim;
  const c = (n: NodeProto, i: number) => consts.get(n.input![i]);
  for (const { node: n, at } of path) {
    const op = n.opType ?? '';
    const label = nodeLabel(n);
    switch (op) {
      case 'Identity':
      case 'Dropout':
        break;
      case 'Flatten':
        if (attrInt(n, 'axis', 1) !== 1) throw new ImportRefusal(`${label} flattens at axis ${attrInt(n, 'axis', 1)}, not 1`);
        break;
      case 'Expand': {
        const s = c(n, 1);
        if (!s) break; // shape computed from the input's own shape: identity (verified by the probe)
        const shape = Array.from(s.data);
        if (shape.length > 2 || (shape.length === 2 && shape[0] !== 1) || (shape.length >= 1 && shape[shape.length - 1] !== d && shape[shape.length - 1] !== 1)) {
          throw new ImportRefusal(`${label} expands to ${JSON.stringify(shape)}`);
        }
        break;
      }
      case 'Reshape': {
        const s = c(n, 1);
        if (!s) break; // shape computed from the input's own shape (x.view(x.size(0), -1)): verified by the probe
        const shape = Array.from(s.data);
        const ok = shape.length === 2 && (shape[0] === -1 || shape[0] === 0 || shape[0] === 1) && (shape[1] === d || shape[1] === -1);
        if (!ok) throw new ImportRefusal(`${label} reshapes to ${JSON.stringify(shape)}, not [batch, ${d}]`);
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        if (at !== 0) throw new ImportRefusal(`${label}: the input must be the first operand`);
        const B = c(n, 1);
        if (!B) throw new ImportRefusal(`${label}: the weight is not a constant`);
        if (B.dims.length !== 2) throw new ImportRefusal(`${label}: weight has rank ${B.dims.length}, not 2`);
        if (op === 'Gemm' && attrInt(n, 'transA', 0) !== 0) throw new ImportRefusal(`${label} has transA=1`);
        const transB = op === 'Gemm' ? attrInt(n, 'transB', 0) === 1 : false;
        const alpha = op === 'Gemm' ? attrFloat(n, 'alpha', 1) : 1;
        const beta = op === 'Gemm' ? attrFloat(n, 'beta', 1) : 1;
        const [K, N] = transB ? [B.dims[1], B.dims[0]] : B.dims;
        if (K !== d) throw new ImportRefusal(`${label}: weight expects ${K} inputs, the previous tensor has ${d}`);
        const weight = new Float32Array(N * K);
        for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) weight[j * K + k] = f(alpha * (transB ? B.data[j * K + k] : B.data[k * N + j]));
        const bias = new Float32Array(N);
        const C = n.input?.[2] ? c(n, 2) : undefined;
        if (C) {
          const cv = constVec(C, N, `${label} bias`);
          for (let j = 0; j < N; j++) bias[j] = f(beta * cv[j]);
        }
        stages.push({ t: 'dense', layer: { inDim: K, outDim: N, weight, bias } });
        d = N;
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const v = constVec(c(n, 1 - at), d, label);
        const one = new Float64Array(d).fill(1);
        const zero = new Float64Array(d);
        if (op === 'Add') stages.push({ t: 'affine', scale: one, shift: v });
        else if (op === 'Sub' && at === 0) stages.push({ t: 'affine', scale: one, shift: v.map((x) => -x), exact: { op: 'sub', c: v } });
        else if (op === 'Sub') stages.push({ t: 'affine', scale: one.map(() => -1), shift: v });
        else if (op === 'Mul') stages.push({ t: 'affine', scale: v, shift: zero });
        else if (at === 0) {
          if (v.some((x) => x === 0)) throw new ImportRefusal(`${label} divides by zero`);
          stages.push({ t: 'affine', scale: v.map((x) => 1 / x), shift: zero, exact: { op: 'div', c: v } });
        } else throw new ImportRefusal(`${label} divides a constant by the input`);
        break;
      }
      case 'Relu':
      case 'Tanh':
      case 'Sigmoid':
        stages.push({ t: 'act', a: op.toLowerCase() as 'relu' | 'tanh' | 'sigmoid' });
        break;
      case 'Clip': {
        const has = (k: number) => Boolean(n.input?.[k]);
        const bound = (k: number): number => {
          const t = c(n, k);
          if (!t || t.data.length !== 1) throw new ImportRefusal(`${label}: clip bound ${k} is not a constant scalar`);
          return t.data[0];
        };
        const lo = has(1) ? bound(1) : attrFloat(n, 'min', -Infinity);
        const hi = has(2) ? bound(2) : attrFloat(n, 'max', Infinity);
        stages.push({ t: 'clip', lo: new Float64Array(d).fill(lo), hi: new Float64Array(d).fill(hi) });
        break;
      }
      case 'Max':
      case 'Min': {
        if ((n.input ?? []).length !== 2) throw new ImportRefusal(`${label} takes ${(n.input ?? []).length} inputs, not 2`);
        const v = constVec(c(n, 1 - at), d, label);
        const inf = new Float64Array(d).fill(op === 'Max' ? Infinity : -Infinity);
        stages.push(op === 'Max' ? { t: 'clip', lo: v, hi: inf } : { t: 'clip', lo: inf, hi: v });
        break;
      }
      default:
        throw new ImportRefusal(`${label} is not an op the IR can express`);
    }
  }
  return stages;
}

// ---------------------------------------------------------------------------------------------
// Stages -> IR

interface MutLayer {
  inDim: number;
  outDim: number;
  weight: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

function composeAffine(stages: Stage[]): { scale: Vec; shift: Vec } {
  const d = (stages[0] as { scale: Vec }).scale.length;
  const scale = new Float64Array(d).fill(1);
  const shift = new Float64Array(d);
  for (const s of stages) {
    if (s.t !== 'affine') continue;
    for (let i = 0; i < d; i++) {
      scale[i] *= s.scale[i];
      shift[i] = shift[i] * s.scale[i] + s.shift[i];
    }
  }
  return { scale, shift };
}

function normFromPrefix(prefix: Stage[], obsDim: number): ObsNormalization | null {
  if (prefix.length === 0) return null;
  const clips = prefix.filter((s) => s.t === 'clip');
  const affines = prefix.filter((s) => s.t === 'affine');
  if (prefix.some((s) => s.t === 'act')) throw new ImportRefusal('an activation comes before the first layer');
  if (clips.length > 1 || (clips.length === 1 && prefix[prefix.length - 1] !== clips[0])) {
    throw new ImportRefusal('observation clipping happens before the normalization ends');
  }
  let clip: number | null = null;
  if (clips.length === 1) {
    const cl = clips[0] as Extract<Stage, { t: 'clip' }>;
    const c = cl.hi[0];
    const sym = cl.lo.every((v) => v === -c) && cl.hi.every((v) => v === c) && c > 0;
    if (!sym) throw new ImportRefusal('observation clip before the first layer is not symmetric [-c, c] with one c');
    clip = Number.isFinite(c) ? c : null;
  }
  let mean: Float32Array;
  let std: Float32Array;
  const ex = affines.map((a) => (a as { exact?: { op: string; c: Vec } }).exact);
  if (affines.length === 2 && ex[0]?.op === 'sub' && ex[1]?.op === 'div') {
    mean = Float32Array.from(ex[0].c);
    std = Float32Array.from(ex[1].c);
  } else if (affines.length === 0) {
    mean = new Float32Array(obsDim);
    std = new Float32Array(obsDim).fill(1);
  } else {
    const { scale, shift } = composeAffine(affines);
    mean = Float32Array.from(shift, (t, i) => -t / scale[i]);
    std = Float32Array.from(scale, (s) => 1 / s);
  }
  if (std.some((s) => !(s > 0) || !Number.isFinite(s))) throw new ImportRefusal('observation scaling is not a positive finite std');
  return { mean, std, clip };
}

/** y = x*S + T folded into the layer's input: W' = W diag(S), b' = b + W T. */
function foldInputAffine(l: MutLayer, a: { scale: Vec; shift: Vec }): void {
  for (let j = 0; j < l.outDim; j++) {
    let add = 0;
    for (let k = 0; k < l.inDim; k++) {
      add += l.weight[j * l.inDim + k] * a.shift[k];
      l.weight[j * l.inDim + k] = f(l.weight[j * l.inDim + k] * a.scale[k]);
    }
    l.bias[j] = f(l.bias[j] + add);
  }
}

/** y = (xW + b)*S + T folded into the layer's output. */
function foldOutputAffine(l: MutLayer, s: Extract<Stage, { t: 'affine' }>): void {
  for (let j = 0; j < l.outDim; j++) {
    if (s.scale[j] !== 1) for (let k = 0; k < l.inDim; k++) l.weight[j * l.inDim + k] = f(l.weight[j * l.inDim + k] * s.scale[j]);
    l.bias[j] = f(l.bias[j] * s.scale[j] + s.shift[j]);
  }
}

function stagesToParts(stages: Stage[], obsDim: number, kind: OutputKind) {
  const first = stages.findIndex((s) => s.t === 'dense');
  if (first < 0) throw new ImportRefusal('no Gemm/MatMul layer between input and output');
  let last = -1;
  stages.forEach((s, i) => {
    if (s.t === 'dense') last = i;
  });
  const obsNorm = normFromPrefix(stages.slice(0, first), obsDim);
  const layers: MutLayer[] = [];
  let pending: Stage[] = [];
  let i = first;
  for (; i <= last; i++) {
    const s = stages[i];
    const cur = layers[layers.length - 1];
    if (s.t === 'dense') {
      const l: MutLayer = { ...s.layer, weight: s.layer.weight.slice(), bias: s.layer.bias.slice(), activation: 'none' };
      if (pending.length) foldInputAffine(l, composeAffine(pending));
      pending = [];
      layers.push(l);
    } else if (s.t === 'affine') {
      if (cur.activation === 'none' && pending.length === 0) foldOutputAffine(cur, s);
      else pending.push(s);
    } else if (s.t === 'act') {
      if (cur.activation !== 'none' || pending.length) throw new ImportRefusal('two activations in a row, or an activation after scaling');
      cur.activation = s.a;
    } else throw new ImportRefusal('clipping between layers is not expressible');
  }
  // After the last layer: scalings fold into it, then its activation; the rest is the tail.
  const lastLayer = layers[layers.length - 1];
  for (; i < stages.length; i++) {
    const s = stages[i];
    if (s.t === 'affine' && lastLayer.activation === 'none') foldOutputAffine(lastLayer, s);
    else if (s.t === 'act' && lastLayer.activation === 'none' && !(kind === 'action' && s.a === 'tanh' && i + 1 < stages.length && stages[i + 1].t !== 'act')) {
      // A tanh followed by scaling/clipping is the action squash (left in the tail), not the layer's.
      lastLayer.activation = s.a;
    } else break;
  }
  return { obsNorm, layers, tail: stages.slice(i) };
}

function continuousHead(lastLayer: MutLayer, tail: Stage[]): PolicyHead {
  const dim = lastLayer.outDim;
  let rest = tail;
  let squash: 'tanh' | 'none' = 'none';
  if (rest[0]?.t === 'act' && rest[0].a === 'tanh') {
    squash = 'tanh';
    rest = rest.slice(1);
  } else if (lastLayer.activation === 'tanh' && (rest.length === 0 || rest[0].t === 'affine')) {
    squash = 'tanh';
    lastLayer.activation = 'none';
  }
  const affines = [];
  while (rest[0]?.t === 'affine') affines.push(rest.shift()!);
  if (affines.length && squash !== 'tanh') throw new ImportRefusal('scaling after a non-tanh output activation');
  let lo = new Float64Array(dim).fill(-Infinity);
  let hi = new Float64Array(dim).fill(Infinity);
  for (const s of rest) {
    if (s.t !== 'clip') throw new ImportRefusal(`${s.t} after the action post-processing is not expressible`);
    lo = lo.map((v, k) => Math.max(v, s.lo[k]));
    hi = hi.map((v, k) => Math.min(v, s.hi[k]));
  }
  if (squash === 'none') {
    if (lo.some((v, k) => v > hi[k])) throw new ImportRefusal('action clip with low above high');
    return { kind: 'continuous', dim, squash, low: Float32Array.from(lo), high: Float32Array.from(hi) };
  }
  const { scale, shift } = affines.length ? composeAffine(affines) : { scale: new Float64Array(dim).fill(1), shift: new Float64Array(dim) };
  if (scale.some((s) => !(s > 0))) throw new ImportRefusal('tanh squash with a non-positive scale');
  const low = Float32Array.from(shift, (t, k) => t - scale[k]);
  const high = Float32Array.from(shift, (t, k) => t + scale[k]);
  const tol = (k: number) => 1e-6 * Math.max(1, Math.abs(low[k]), Math.abs(high[k]));
  for (let k = 0; k < dim; k++) {
    if (lo[k] > low[k] + tol(k) || hi[k] < high[k] - tol(k)) throw new ImportRefusal('action clip is tighter than the tanh range');
  }
  return { kind: 'continuous', dim, squash, low, high };
}

export interface ImportOptions {
  file: string;
  choice: OutputChoice;
}

/** The IR for a model (without card/envId: the caller fills those). Throws ImportRefusal. */
export function importOnnxPolicy(proto: ModelProto, opts: ImportOptions): PolicyModel {
  const { file, choice } = opts;
  if (choice.transform !== 'none') throw new ImportRefusal('the output holds probabilities not produced by a Softmax we can remove');
  const inputs = realInputs(proto);
  if (inputs.length !== 1) throw new ImportRefusal(`the graph has ${inputs.length} inputs, not 1`);
  const info = describeValueInfo(inputs[0]);
  const obsDim = info.shape?.[1];
  if (info.shape?.length !== 2 || typeof obsDim !== 'number') throw new ImportRefusal('the input is not [batch, obs_dim]');
  const stages = traceStages(proto, info.name, obsDim, choice.tensor, file);
  const { obsNorm, layers, tail } = stagesToParts(stages, obsDim, choice.kind);
  const lastLayer = layers[layers.length - 1];
  let head: PolicyHead;
  if (choice.kind === 'action') head = continuousHead(lastLayer, tail);
  else {
    if (tail.length) throw new ImportRefusal(`${tail[0].t} after the last layer of a ${choice.kind} output`);
    head = { kind: 'discrete', output: choice.kind, n: lastLayer.outDim };
  }
  const out: DenseLayer[] = layers.map((l) => ({ ...l }));
  return { envId: null, obsDim, obsNorm, layers: out, head, card: {} };
}
