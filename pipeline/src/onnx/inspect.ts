/**
 * `edgedistill inspect`: what a model file holds (inputs, outputs, layers, parameters, ops, opset,
 * whether it imports into the IR and why not, metadata). Works on .onnx and policy.json files.
 */
import { readFile } from 'node:fs/promises';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { paramCount } from '../ir/forward.js';
import { policyFromJSON } from '../ir/serialize.js';
import { outputName, type PolicyModel } from '../ir/types.js';
import { DataType, decodeOnnx, describeValueInfo, metadataOf, num, realInputs, sha256Hex, sizeOf, type TensorInfo } from './proto.js';
import { loadTeacher, type OutputKind } from './import.js';

export interface LayerInfo {
  inDim: number;
  outDim: number;
  activation: string;
}

export interface InspectReport {
  file: string;
  format: 'onnx' | 'policy.json';
  bytes: number;
  sha256: string;
  producer: string | null;
  irVersion: number | null;
  opset: { domain: string; version: number }[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Op types with their counts, most frequent first. */
  ops: Record<string, number>;
  /** The IR view (null when the model is not importable). */
  layers: LayerInfo[] | null;
  obsNorm: { clip: number | null } | null;
  head: Record<string, unknown> | null;
  /** Trainable parameters of the IR when importable, else all float initializer values. */
  params: number;
  importable: boolean;
  reason: string | null;
  /** Which output the teacher reads and what it means (null when that could not be decided). */
  teacherOutput: { name: string; tensor: string; kind: OutputKind; notes: string[] } | null;
  metadata: Record<string, unknown>;
}

function headInfo(m: PolicyModel): Record<string, unknown> {
  const h = m.head;
  if (h.kind === 'discrete') return { kind: 'discrete', output: h.output, n: h.n };
  const fin = (a: Float32Array) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
  return { kind: 'continuous', dim: h.dim, squash: h.squash, low: fin(h.low), high: fin(h.high), ...(h.logStd ? { logStd: Array.from(h.logStd) } : {}) };
}

const layerInfo = (m: PolicyModel): LayerInfo[] => m.layers.map((l) => ({ inDim: l.inDim, outDim: l.outDim, activation: l.activation }));

/** Metadata values that hold JSON are shown parsed. */
function parsedMetadata(md: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(md)) {
    try {
      out[k] = /^\s*[{[]/.test(v) ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

async function inspectPolicyJson(file: string, bytes: Buffer): Promise<InspectReport> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `not valid JSON: ${(e as Error).message}`, { file });
  }
  const m = policyFromJSON(json, file);
  const outDim = m.head.kind === 'discrete' ? m.head.n : m.head.dim;
  return {
    file,
    format: 'policy.json',
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    producer: 'edgedistill',
    irVersion: null,
    opset: [],
    inputs: [{ name: 'obs', dtype: 'float32', shape: ['batch', m.obsDim] }],
    outputs: [{ name: outputName(m.head), dtype: 'float32', shape: ['batch', outDim] }],
    ops: {},
    layers: layerInfo(m),
    obsNorm: m.obsNorm ? { clip: m.obsNorm.clip } : null,
    head: headInfo(m),
    params: paramCount(m),
    importable: true,
    reason: null,
    teacherOutput: { name: outputName(m.head), tensor: outputName(m.head), kind: m.head.kind === 'discrete' ? m.head.output : 'action', notes: [] },
    metadata: { envId: m.envId, card: m.card },
  };
}

export async function inspectFile(file: string, opts: { teacherOutput?: OutputKind } = {}): Promise<InspectReport> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError(code === 'ENOENT' ? 'BAD_ARGUMENT' : 'IO', code === 'ENOENT' ? 'file not found' : (e as Error).message, { file });
  }
  if (file.toLowerCase().endsWith('.json')) return inspectPolicyJson(file, bytes);
  const proto = decodeOnnx(bytes, file);
  const g = proto.graph!;
  const ops: Record<string, number> = {};
  for (const n of g.node ?? []) {
    const k = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : (n.opType ?? '?');
    ops[k] = (ops[k] ?? 0) + 1;
  }
  const sortedOps = Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  let initParams = 0;
  for (const t of g.initializer ?? []) {
    if (t.dataType === DataType.FLOAT || t.dataType === DataType.DOUBLE || t.dataType === DataType.FLOAT16) initParams += sizeOf((t.dims ?? []).map(num));
  }
  const report: InspectReport = {
    file,
    format: 'onnx',
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    producer: `${proto.producerName ?? ''} ${proto.producerVersion ?? ''}`.trim() || null,
    irVersion: num(proto.irVersion),
    opset: (proto.opsetImport ?? []).map((o) => ({ domain: o.domain || 'ai.onnx', version: num(o.version) })),
    inputs: realInputs(proto).map(describeValueInfo),
    outputs: (g.output ?? []).map(describeValueInfo),
    ops: sortedOps,
    layers: null,
    obsNorm: null,
    head: null,
    params: initParams,
    importable: false,
    reason: null,
    teacherOutput: null,
    metadata: parsedMetadata(metadataOf(proto)),
  };
  // The teacher loader decides importability (and verifies it against onnxruntime). Its errors are
  // reported, not thrown: inspect is where users find out what is wrong with a file.
  try {
    const t = await loadTeacher(file, opts);
    try {
      report.teacherOutput = { name: t.outputName, tensor: t.outputTensor, kind: t.outputKind, notes: t.notes };
      report.importable = t.importable;
      report.reason = t.reason ?? null;
      if (t.model) {
        report.layers = layerInfo(t.model);
        report.obsNorm = t.model.obsNorm ? { clip: t.model.obsNorm.clip } : null;
        report.head = headInfo(t.model);
        report.params = paramCount(t.model);
      }
    } finally {
      await t.dispose();
    }
  } catch (e) {
    if (!(e instanceof EdgeDistillError)) throw e;
    report.reason = `${e.code}: ${e.message}${e.field ? ` (${e.field})` : ''}${e.suggestion ? `; ${e.suggestion}` : ''}`;
  }
  return report;
}

const shapeText = (s: TensorInfo['shape']) => (s === null ? '[?]' : `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]`);

/** Human-readable report (the CLI prints this without --json). */
export function formatInspect(r: InspectReport): string[] {
  const lines: string[] = [];
  lines.push(`${r.file}  (${r.format}, ${r.bytes} bytes, sha256 ${r.sha256.slice(0, 12)})`);
  if (r.format === 'onnx') {
    lines.push(`  producer    ${r.producer ?? '?'}; IR version ${r.irVersion}; opset ${r.opset.map((o) => `${o.domain} ${o.version}`).join(', ')}`);
  }
  for (const i of r.inputs) lines.push(`  input       ${i.name}: ${i.dtype} ${shapeText(i.shape)}`);
  for (const o of r.outputs) lines.push(`  output      ${o.name}: ${o.dtype} ${shapeText(o.shape)}`);
  if (r.teacherOutput) {
    const t = r.teacherOutput;
    lines.push(`  reads       ${t.kind} from ${t.tensor === t.name ? `"${t.name}"` : `"${t.tensor}" (under output "${t.name}")`}`);
    for (const n of t.notes) lines.push(`              ${n}`);
  }
  if (r.layers) {
    const dims = [r.layers[0].inDim, ...r.layers.map((l) => `${l.outDim}${l.activation === 'none' ? '' : ` ${l.activation}`}`)];
    lines.push(`  layers      ${dims.join(' -> ')}`);
  }
  if (r.obsNorm) lines.push(`  obs norm    (obs - mean) / std${r.obsNorm.clip === null ? '' : `, clip ±${r.obsNorm.clip}`}`);
  if (r.head) lines.push(`  head        ${JSON.stringify(r.head)}`);
  lines.push(`  params      ${r.params.toLocaleString('en-US')}`);
  if (r.format === 'onnx') lines.push(`  ops         ${Object.entries(r.ops).map(([k, v]) => `${k} x${v}`).join(', ')}`);
  lines.push(`  importable  ${r.importable ? 'yes (matches onnxruntime on a probe batch)' : `no${r.reason ? `: ${r.reason}` : ''}`}`);
  if (r.importable && r.reason) lines.push(`  note        ${r.reason}`);
  for (const [k, v] of Object.entries(r.metadata)) {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    lines.push(`  meta        ${k} = ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`);
  }
  return lines;
}
