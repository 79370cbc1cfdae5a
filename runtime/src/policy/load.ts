/**
 * `loadPolicy`: read the artifact, choose and initialise a backend, resolve the metadata, wrap the
 * session in a Policy.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EdgeDistillError, type ErrorDetail } from '../errors.js';
import {
  BACKEND_NAMES,
  initBackend,
  type ArtifactFacts,
  type BackendSession,
  type ModelArtifact,
  type SessionBinding,
} from './backend.js';
import { chooseBackends, detectFormat, platformFacts } from './choose.js';
import { metadataFromProps, readSidecar, resolveMetadata } from './metadata.js';
import { readOnnxModelInfo } from './onnx-metadata.js';
import { AsyncPolicy, SyncPolicyImpl } from './policy.js';
import type { ArtifactFormat, BackendName, LoadPolicyOptions, Policy, PolicyMetadata, SyncPolicy } from './types.js';

/**
 * Loads a policy artifact (`.onnx`, `.tflite`, compiled `.mjs`) on the best backend for it here.
 *
 * @example
 * const policy = await loadPolicy('bundle/cartpole.onnx');
 * const action = await policy.act(obs);        // number (discrete) or Float32Array (continuous)
 * const js = await loadPolicy('bundle/cartpole.mjs', { backend: 'js' });
 * const a = js.actSync(obs);                   // SyncPolicy: no promise per step
 *
 * Errors (`EdgeDistillError`): `IO` (cannot read), `BAD_MODEL` (not a model, inconsistent
 * metadata), `BAD_ARGUMENT` (options), `UNSUPPORTED` (the backend cannot run it here; when
 * several were tried, one error listing every `[backend] reason`).
 */
export function loadPolicy(path: string, opts: LoadPolicyOptions & { backend: 'js' }): Promise<SyncPolicy>;
export function loadPolicy(path: string, opts?: LoadPolicyOptions): Promise<Policy>;
export async function loadPolicy(path: string, opts: LoadPolicyOptions = {}): Promise<Policy> {
  checkOptions(opts);
  const file = resolve(path);
  let bytes: Uint8Array;
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    bytes = readFileSync(file);
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read policy: ${(e as Error).message}`, { file, cause: e });
  }
  const format = detectFormat(file, bytes.subarray(0, 16));
  if (!format) {
    throw new EdgeDistillError('BAD_MODEL', 'unknown policy format', {
      file,
      suggestion: 'expected .onnx, .tflite or a compiled .mjs module',
    });
  }
  // A broken ONNX file is a BAD_MODEL here, before any backend is tried.
  const fileFacts = readFacts(format, bytes, file);
  const sidecar = readSidecar(file);
  const platform = platformFacts(opts.platform);
  const choice = chooseBackends(format, platform, opts.backend, file);
  const artifact: ModelArtifact = { path: file, format, bytes: format === 'compiled-js' ? null : bytes };

  const failures: { backend: BackendName; error: unknown }[] = [];
  let opened: { backend: BackendName; session: BackendSession } | null = null;
  for (const name of choice.candidates) {
    try {
      const backend = await initBackend(name);
      const session = await backend.open(artifact, { threads: opts.threads });
      opened = { backend: name, session };
      break;
    } catch (e) {
      failures.push({ backend: name, error: e });
    }
  }
  if (!opened) throw noBackendError(file, choice.skipped, failures);

  const { backend, session } = opened;
  try {
    const facts = session.facts ?? fileFacts;
    if (!facts) throw new Error(`backend ${backend} gave no model facts`);
    const metadata = resolveMetadata({
      path: file,
      format,
      variantHint: facts.variantHint,
      embedded: facts.embedded,
      sidecar,
      io: facts.io,
      actionSpace: opts.actionSpace,
    });
    const binding = bindingFor(metadata, facts, file);
    session.bind(binding);
    return session.runSync
      ? new SyncPolicyImpl(session, metadata, backend, binding.maxBatch)
      : new AsyncPolicy(session, metadata, backend, binding.maxBatch);
  } catch (e) {
    await session.dispose().catch(() => {});
    throw e;
  }
}

function checkOptions(opts: LoadPolicyOptions): void {
  if (opts.backend !== undefined && !BACKEND_NAMES.includes(opts.backend)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `unknown backend ${JSON.stringify(opts.backend)}`, {
      field: 'backend',
      suggestion: `one of ${BACKEND_NAMES.join(', ')}`,
    });
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `threads must be a positive integer, got ${String(opts.threads)}`, {
      field: 'threads',
    });
  }
}

const INT8_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearMatMul', 'QLinearConv', 'MatMulInteger', 'QGemm', 'DynamicQuantizeLinear']);

/**
 * What the loader reads from the file itself: ONNX metadata_props (which onnxruntime does not
 * expose) and graph I/O. TFLite and compiled modules are described by their backend.
 */
function readFacts(format: ArtifactFormat, bytes: Uint8Array, file: string): ArtifactFacts | null {
  if (format === 'onnx') {
    const info = readOnnxModelInfo(bytes, file);
    const input = info.inputs[0];
    if (!input) throw new EdgeDistillError('BAD_MODEL', 'the ONNX graph has no input', { file });
    if (info.inputs.length > 1) {
      throw new EdgeDistillError('UNSUPPORTED', `a policy takes one input; this model has ${info.inputs.length} (${info.inputs.map((i) => i.name).join(', ')})`, { file });
    }
    if (input.elemType !== 1 && input.elemType !== 0) {
      throw new EdgeDistillError('UNSUPPORTED', `input '${input.name}' has ONNX element type ${input.elemType}; policies take float32 (1)`, {
        file,
        field: input.name,
      });
    }
    return {
      io: { input: { name: input.name, shape: input.shape }, outputs: info.outputs.map((o) => ({ name: o.name, shape: o.shape })) },
      embedded: metadataFromProps(info.metadataProps, file),
      variantHint: info.opTypes.some((t) => INT8_OPS.has(t)) ? 'int8' : 'fp32',
    };
  }
  return null;
}

/** How to shape inputs: `[rows, obsDim]` for a free batch dim, one row at a time for a fixed 1. */
function bindingFor(md: PolicyMetadata, facts: ArtifactFacts, file: string): SessionBinding {
  const shape = facts.io.input.shape;
  const base = { inputName: md.inputName, outputName: md.head.outputName, obsDim: md.obsDim, outDim: md.head.outDim };
  if (!shape || shape.length === 0) return { ...base, maxBatch: Infinity, inputShape: (rows) => [rows, md.obsDim] };
  if (shape.length === 1) return { ...base, maxBatch: 1, inputShape: () => [md.obsDim] };
  const rest = shape.slice(1);
  const restFixed = rest.every((d) => typeof d === 'number');
  const restSize = restFixed ? (rest as number[]).reduce((a, b) => a * b, 1) : md.obsDim;
  if (restSize !== md.obsDim) {
    throw new EdgeDistillError('UNSUPPORTED', `input '${md.inputName}' has shape [${shape.join(', ')}], which does not hold ${md.obsDim} observation values per row`, {
      file,
      field: md.inputName,
    });
  }
  const inner = restFixed ? (rest as number[]) : [md.obsDim];
  const b0 = shape[0];
  if (typeof b0 === 'number' && b0 !== 1) {
    throw new EdgeDistillError('UNSUPPORTED', `input '${md.inputName}' has a fixed batch of ${b0}; policies need a free batch dimension or batch 1`, {
      file,
      field: md.inputName,
    });
  }
  return { ...base, maxBatch: b0 === 1 ? 1 : Infinity, inputShape: (rows) => [rows, ...inner] };
}

function reason(e: unknown): string {
  if (e instanceof EdgeDistillError) return e.message;
  return (e as Error)?.message ?? String(e);
}

/** One error listing every `[backend] reason`, as onnxruntime's "no available backend found". */
function noBackendError(
  file: string,
  skipped: { backend: BackendName; reason: string }[],
  failures: { backend: BackendName; error: unknown }[],
): EdgeDistillError {
  // One backend tried, and it located a problem in the model itself: its own error says most.
  const only = failures.length === 1 && skipped.length === 0 ? failures[0].error : null;
  if (only instanceof EdgeDistillError && only.code !== 'UNSUPPORTED') return only;
  const all = [
    ...failures.map((f) => ({ backend: f.backend, text: reason(f.error) })),
    ...skipped.map((s) => ({ backend: s.backend, text: s.reason })),
  ].sort((a, b) => BACKEND_NAMES.indexOf(a.backend) - BACKEND_NAMES.indexOf(b.backend));
  const details: ErrorDetail[] = all.map((a) => ({ field: a.backend, text: a.text }));
  const list = all.map((a) => `[${a.backend}] ${a.text}`).join('; ');
  // When every tried backend failed the same way on the model itself (BAD_MODEL, ...), keep that code.
  const codes = new Set(failures.map((f) => (f.error instanceof EdgeDistillError ? f.error.code : 'UNSUPPORTED')));
  const code = codes.size === 1 ? [...codes][0] : 'UNSUPPORTED';
  const tried = new Set<string>([...failures.map((f) => f.backend), ...skipped.map((s) => s.backend)]);
  const head =
    all.length === 1 ? `backend ${all[0].backend} cannot load the policy` : 'no backend could load the policy';
  return new EdgeDistillError(code, `${head}: ${list}`, {
    file,
    details,
    cause: failures[0]?.error,
    suggestion:
      tried.has('ort-node') && !tried.has('ort-web')
        ? "onnxruntime-web needs no native binary: backend 'ort-web'"
        : undefined,
  });
}
