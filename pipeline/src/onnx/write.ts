/**
 * IR -> ONNX (opset 13, IR version 7): input `obs` float32 [batch, obsDim] with a symbolic batch,
 * Sub/Div/Clip normalization, one Gemm (transB=1, our row-major [out][in] layout) per layer plus its
 * activation, then continuous post-processing (Tanh, Mul, Add, Clip or Max/Min). The output is named
 * for what it means: logits, q_values or action.
 */
import { createHash } from 'node:crypto';
import type { ContinuousHead, PolicyModel } from '../ir/types.js';
import { outputName } from '../ir/types.js';
import { squashConstants } from '../ir/forward.js';
import { validatePolicy } from '../ir/validate.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { onnx, DataType, type NodeProto, type TensorProto } from './proto.js';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;
export const PRODUCER_NAME = 'edgedistill';
export const PRODUCER_VERSION = '0.1.0';

/** Metadata keys we write (and read back when a teacher is one of our own files). */
export const META = {
  format: 'edgedistill_format',
  envId: 'env_id',
  actionSpace: 'action_space',
  observationSpace: 'observation_space',
  head: 'head',
  card: 'policy_card',
  logStd: 'log_std',
  obsDim: 'obs_dim',
  outputName: 'output_name',
} as const;

/** Spaces as JSON (Gymnasium-like). Infinite bounds become null, since JSON has no Infinity. */
export interface SpaceLike {
  kind: 'box' | 'discrete';
  shape?: readonly number[];
  low?: ArrayLike<number>;
  high?: ArrayLike<number>;
  n?: number;
  start?: number;
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function spaceToJSON(s: SpaceLike): Record<string, unknown> {
  if (s.kind === 'discrete') return { kind: 'discrete', n: s.n, start: s.start ?? 0 };
  return {
    kind: 'box',
    shape: s.shape ?? [s.low?.length ?? 0],
    dtype: 'float32',
    low: Array.from(s.low ?? [], finiteOrNull),
    high: Array.from(s.high ?? [], finiteOrNull),
  };
}

/** The action space a head implies (used when the caller does not pass the env's own). */
export function actionSpaceOfHead(model: PolicyModel): SpaceLike {
  const h = model.head;
  return h.kind === 'discrete' ? { kind: 'discrete', n: h.n, start: 0 } : { kind: 'box', shape: [h.dim], low: h.low, high: h.high };
}

export interface OnnxExportOptions {
  observationSpace?: SpaceLike | null;
  actionSpace?: SpaceLike | null;
  docString?: string;
  /** Extra metadata_props entries (string values). */
  metadata?: Record<string, string>;
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const raw = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) raw.writeFloatLE(values[i], i * 4);
  return { name, dataType: DataType.FLOAT, dims, rawData: raw };
}

function intAttr(name: string, i: number) {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
function floatAttr(name: string, f: number) {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

const allEqual = (a: Float32Array): boolean => a.every((v) => v === a[0]);

/** Builds the ModelProto for a policy (validated first). */
export function policyToModelProto(model: PolicyModel, opts: OnnxExportOptions = {}) {
  validatePolicy(model);
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let cur = 'obs';
  const add = (opType: string, name: string, extra: string[], attribute: NodeProto['attribute'] = []) => {
    const out = name;
    nodes.push({ opType, name, input: [cur, ...extra], output: [out], attribute });
    cur = out;
  };
  const clip = (prefix: string, low: Float32Array, high: Float32Array) => {
    if (low.every((v) => v === -Infinity) && high.every((v) => v === Infinity)) return;
    if (allEqual(low) && allEqual(high)) {
      // opset 13 Clip takes scalar bounds only.
      inits.push(floatTensor(`${prefix}.clip_min`, [], [low[0]]), floatTensor(`${prefix}.clip_max`, [], [high[0]]));
      add('Clip', `${prefix}.clip`, [`${prefix}.clip_min`, `${prefix}.clip_max`]);
    } else {
      inits.push(floatTensor(`${prefix}.low`, [low.length], low), floatTensor(`${prefix}.high`, [high.length], high));
      add('Max', `${prefix}.max_low`, [`${prefix}.low`]);
      add('Min', `${prefix}.min_high`, [`${prefix}.high`]);
    }
  };

  if (model.obsNorm) {
    const n = model.obsNorm;
    inits.push(floatTensor('obs_norm.mean', [model.obsDim], n.mean), floatTensor('obs_norm.std', [model.obsDim], n.std));
    add('Sub', 'obs_norm.centered', ['obs_norm.mean']);
    add('Div', 'obs_norm.scaled', ['obs_norm.std']);
    if (n.clip !== null) {
      inits.push(floatTensor('obs_norm.clip_min', [], [-n.clip]), floatTensor('obs_norm.clip_max', [], [n.clip]));
      add('Clip', 'obs_norm.clipped', ['obs_norm.clip_min', 'obs_norm.clip_max']);
    }
  }
  model.layers.forEach((l, i) => {
    inits.push(floatTensor(`layers.${i}.weight`, [l.outDim, l.inDim], l.weight), floatTensor(`layers.${i}.bias`, [l.outDim], l.bias));
    add('Gemm', `layers.${i}.gemm`, [`layers.${i}.weight`, `layers.${i}.bias`], [floatAttr('alpha', 1), floatAttr('beta', 1), intAttr('transB', 1)]);
    if (l.activation === 'relu') add('Relu', `layers.${i}.relu`, []);
    else if (l.activation === 'tanh') add('Tanh', `layers.${i}.tanh`, []);
    else if (l.activation === 'sigmoid') add('Sigmoid', `layers.${i}.sigmoid`, []);
  });
  const h = model.head;
  if (h.kind === 'continuous') {
    if (h.squash === 'tanh') {
      const { scale, offset } = squashConstants(h as ContinuousHead);
      inits.push(floatTensor('head.scale', [h.dim], scale), floatTensor('head.offset', [h.dim], offset));
      add('Tanh', 'head.tanh', []);
      add('Mul', 'head.scaled', ['head.scale']);
      add('Add', 'head.shifted', ['head.offset']);
    }
    clip('head', h.low, h.high);
  }
  // The last node writes the named output directly.
  const out = outputName(h);
  nodes[nodes.length - 1].output = [out];
  const outDim = h.kind === 'discrete' ? h.n : h.dim;
  const tensorType = (d: number) => ({
    tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: d }] } },
  });

  const meta: Record<string, string> = {
    [META.format]: '1',
    [META.envId]: model.envId ?? '',
    [META.actionSpace]: JSON.stringify(spaceToJSON(opts.actionSpace ?? actionSpaceOfHead(model))),
    [META.head]: JSON.stringify(h.kind === 'discrete' ? { kind: 'discrete', output: h.output, n: h.n } : { kind: 'continuous', dim: h.dim, squash: h.squash }),
    [META.card]: JSON.stringify(model.card),
    [META.obsDim]: String(model.obsDim),
    [META.outputName]: out,
  };
  if (opts.observationSpace) meta[META.observationSpace] = JSON.stringify(spaceToJSON(opts.observationSpace));
  if (h.kind === 'continuous' && h.logStd) meta[META.logStd] = JSON.stringify(Array.from(h.logStd));
  Object.assign(meta, opts.metadata ?? {});

  return onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    docString: opts.docString ?? `edgedistill policy${model.envId ? ` for ${model.envId}` : ''}`,
    graph: {
      name: 'edgedistill_policy',
      node: nodes,
      initializer: inits,
      input: [{ name: 'obs', type: tensorType(model.obsDim) }],
      output: [{ name: out, type: tensorType(outDim) }],
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
}

/** Serialized ONNX bytes of a policy. */
export function policyToOnnx(model: PolicyModel, opts: OnnxExportOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(policyToModelProto(model, opts)).finish();
}

/** Writes the policy as ONNX atomically; returns size and sha256 for manifests. */
export async function writeOnnx(
  path: string,
  model: PolicyModel,
  opts: OnnxExportOptions = {},
): Promise<{ path: string; bytes: number; sha256: string }> {
  const bytes = policyToOnnx(model, opts);
  await writeFileAtomic(path, bytes);
  return { path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
