/**
 * Teachers: any .onnx policy. It always runs through onnxruntime-node (batched); when its graph is
 * an MLP chain we also import it into the IR (`model`), checked against onnxruntime on a probe batch
 * so `importable: true` is a measured claim, not a guess.
 */
import { basename } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { ObsNormalization, PolicyModel } from '../ir/types.js';
import { forward, normalizeObs } from '../ir/forward.js';
import { seededRandom } from '../ir/build.js';
import { validatePolicy } from '../ir/validate.js';
import {
  assertNoNaNWeights,
  decodeTensor,
  defaultOpset,
  describeValueInfo,
  metadataOf,
  onnx,
  readOnnxFile,
  realInputs,
  type ModelProto,
} from './proto.js';
import { chooseOutput, ImportRefusal, importOnnxPolicy, type OutputChoice, type OutputKind } from './graph-import.js';
import { createSession, runOnce, type OrtSession } from './ort.js';
import { META, PRODUCER_NAME } from './write.js';

export type { OutputKind } from './graph-import.js';

/** SB3 VecNormalize statistics: obs' = clip((obs - mean) / sqrt(var + epsilon), -clip, clip). */
export interface TeacherObsNorm {
  mean: ArrayLike<number>;
  /** Give var (SB3 obs_rms.var; epsilon 1e-8, clip 10 by default) or std (clip none by default). */
  var?: ArrayLike<number>;
  std?: ArrayLike<number>;
  clip?: number | null;
  epsilon?: number;
}

export interface TeacherOptions {
  teacherOutput?: OutputKind;
  obsNorm?: TeacherObsNorm;
  /** Max |IR - onnxruntime| (relative above 1) for the import to count; default 1e-5. */
  tolerance?: number;
}

export interface Teacher {
  file: string;
  sha256: string;
  obsDim: number;
  outDim: number;
  outputKind: OutputKind;
  /** Graph output the teacher's values come from, and the tensor actually fetched. */
  outputName: string;
  outputTensor: string;
  inputName: string;
  /** The IR, when the graph is an MLP chain we can express (includes obsNorm from options). */
  model?: PolicyModel;
  importable: boolean;
  /** Why it is not importable (opaque teachers still run through onnxruntime). */
  reason?: string;
  /** Largest |IR - onnxruntime| on the probe batch, when importable. */
  importMaxDiff?: number;
  /** How the output was chosen and read (peeled Softmax, SB3 first output, ...). */
  notes: string[];
  metadata: Record<string, string>;
  opset: number;
  producer: string;
  /** Teacher values for `batch` raw observations (normalized here if obsNorm was given). */
  runBatch(obs: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

const PROBE_BATCH = 16;
/** Largest observation a teacher may take (a probe batch of it is allocated at load). */
const MAX_OBS_DIM = 1 << 20;

export function obsNormFromStats(s: TeacherObsNorm, obsDim: number): ObsNormalization {
  const vec = (v: ArrayLike<number> | undefined, field: string): Float32Array => {
    if (!v || v.length !== obsDim) {
      throw new EdgeDistillError('BAD_ARGUMENT', `obsNorm.${field} must have ${obsDim} values (the model's observation size), got ${v?.length ?? 0}`, {
        field: `obsNorm.${field}`,
      });
    }
    const a = Float32Array.from(v);
    if (a.some((x) => !Number.isFinite(x))) throw new EdgeDistillError('BAD_ARGUMENT', `obsNorm.${field} has a non-finite value`, { field: `obsNorm.${field}` });
    return a;
  };
  const mean = vec(s.mean, 'mean');
  let std: Float32Array;
  let clip: number | null;
  if (s.var !== undefined) {
    const eps = s.epsilon ?? 1e-8;
    std = Float32Array.from(vec(s.var, 'var'), (v) => Math.sqrt(v + eps));
    clip = s.clip === undefined ? 10 : s.clip;
  } else if (s.std !== undefined) {
    std = vec(s.std, 'std');
    clip = s.clip ?? null;
  } else throw new EdgeDistillError('BAD_ARGUMENT', 'obsNorm needs var or std', { field: 'obsNorm' });
  if (std.some((x) => !(x > 0))) throw new EdgeDistillError('BAD_ARGUMENT', 'obsNorm std (sqrt(var + epsilon)) must be > 0', { field: 'obsNorm.std' });
  return { mean, std, clip };
}

/** Deterministic probe observations: a zero row, then N(0, 1) rows (Box-Muller on a seeded stream). */
export function probeObservations(batch: number, obsDim: number, seed = 12345): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(batch * obsDim);
  for (let i = obsDim; i < out.length; i++) {
    const u = Math.max(rnd(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  }
  return out;
}

/** Adds an internal tensor as a graph output so onnxruntime can fetch it (peeled Softmax/ArgMax). */
function exposeTensor(proto: ModelProto, tensor: string): Uint8Array {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(proto).finish());
  copy.graph!.output!.push(onnx.ValueInfoProto.create({ name: tensor, type: { tensorType: { elemType: 1 } } }));
  return onnx.ModelProto.encode(copy).finish();
}

function ownCard(proto: ModelProto, model: PolicyModel): PolicyModel {
  const md = metadataOf(proto);
  if (proto.producerName !== PRODUCER_NAME) return model;
  let card: Record<string, unknown> = {};
  try {
    const c = JSON.parse(md[META.card] ?? '{}');
    if (c && typeof c === 'object' && !Array.isArray(c)) card = c;
  } catch {
    /* keep empty */
  }
  let head = model.head;
  if (head.kind === 'continuous' && md[META.logStd]) {
    try {
      const ls = JSON.parse(md[META.logStd]) as number[];
      if (Array.isArray(ls) && ls.length === head.dim) head = { ...head, logStd: Float32Array.from(ls) };
    } catch {
      /* ignore */
    }
  }
  return { ...model, envId: md[META.envId] || null, head, card };
}

/**
 * SB3 Gaussian policies keep a state-independent `log_std` parameter; when the graph holds exactly
 * one initializer named like that with one value per action dim, it becomes head.logStd (used for
 * Gaussian KL in distillation). It does not change the deterministic output.
 */
function withSb3LogStd(proto: ModelProto, file: string, m: PolicyModel): PolicyModel {
  const h = m.head;
  if (h.kind !== 'continuous' || h.logStd) return m;
  const cands = (proto.graph?.initializer ?? []).filter((t) => /(^|[._/])log_std$/.test(t.name ?? ''));
  if (cands.length !== 1) return m;
  const v = decodeTensor(cands[0], file).data;
  if (v.length !== h.dim || v.some((x) => !Number.isFinite(x))) return m;
  return { ...m, head: { ...h, logStd: Float32Array.from(v) } };
}

/**
 * Loads a teacher from an ONNX file. Errors: BAD_ARGUMENT (missing file), BAD_MODEL (not ONNX,
 * NaN weights, NaN outputs), UNSUPPORTED (input/output layout, unknown output meaning).
 */
export async function loadTeacher(file: string, opts: TeacherOptions = {}): Promise<Teacher> {
  const { bytes, sha256, proto } = await readOnnxFile(file);
  assertNoNaNWeights(proto, file);
  const inputs = realInputs(proto);
  if (inputs.length !== 1) {
    throw new EdgeDistillError('UNSUPPORTED', `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); a teacher takes one observation tensor`, {
      file,
      field: 'graph.input',
    });
  }
  const inInfo = describeValueInfo(inputs[0]);
  const obsDim = inInfo.shape?.[1];
  if (inInfo.dtype !== 'float32' || inInfo.shape?.length !== 2 || typeof obsDim !== 'number') {
    throw new EdgeDistillError(
      'UNSUPPORTED',
      `input "${inInfo.name}" is ${inInfo.dtype} ${JSON.stringify(inInfo.shape)}; a teacher takes float32 [batch, obs_dim]`,
      { file, field: inInfo.name },
    );
  }
  if (obsDim > MAX_OBS_DIM) {
    // Probing allocates PROBE_BATCH rows of it: a declared [batch, 1e12] must be refused, not attempted.
    throw new EdgeDistillError('UNSUPPORTED', `input "${inInfo.name}" takes ${obsDim} observation values; teachers of up to ${MAX_OBS_DIM} are supported`, {
      file,
      field: inInfo.name,
    });
  }
  const fixedBatch = typeof inInfo.shape[0] === 'number' ? inInfo.shape[0] : null;
  const choice: OutputChoice = chooseOutput(proto, file, opts.teacherOutput);
  const graphOut = (proto.graph?.output ?? []).find((o) => o.name === choice.graphOutput);
  const outInfo = graphOut ? describeValueInfo(graphOut) : null;
  if (outInfo && choice.tensor === choice.graphOutput && outInfo.shape && outInfo.shape.length !== 2) {
    throw new EdgeDistillError(
      'UNSUPPORTED',
      `output "${choice.graphOutput}" has rank ${outInfo.shape.length} (${JSON.stringify(outInfo.shape)}); a teacher must output [batch, n]`,
      { file, field: choice.graphOutput },
    );
  }
  const norm = opts.obsNorm ? obsNormFromStats(opts.obsNorm, obsDim) : null;
  const sessionBytes = choice.tensor === choice.graphOutput ? bytes : exposeTensor(proto, choice.tensor);
  const session: OrtSession = await createSession(sessionBytes, file);

  let outDim = -1;
  const runRaw = async (x: Float32Array, batch: number): Promise<Float32Array> => {
    const chunk = fixedBatch ?? batch;
    const parts: Float32Array[] = [];
    for (let start = 0; start < batch; start += chunk) {
      const n = Math.min(chunk, batch - start);
      let feed = x.subarray(start * obsDim, (start + n) * obsDim);
      if (n < chunk) {
        const padded = new Float32Array(chunk * obsDim);
        padded.set(feed);
        feed = padded;
      }
      const r = await runOnce(session, file, inInfo.name, choice.tensor, feed, chunk, obsDim);
      if (r.dims.length !== 2 || r.dims[0] !== chunk) {
        throw new EdgeDistillError(
          'UNSUPPORTED',
          `output "${choice.tensor}" has shape ${JSON.stringify(r.dims)} for a batch of ${chunk}; a teacher must output [batch, n]`,
          { file, field: choice.tensor },
        );
      }
      if (choice.kind === 'action' && !r.dtype.startsWith('float')) {
        throw new EdgeDistillError('UNSUPPORTED', `output "${choice.tensor}" is ${r.dtype}; continuous actions must be float`, { file, field: choice.tensor });
      }
      if (outDim >= 0 && r.dims[1] !== outDim) {
        throw new EdgeDistillError('RUNTIME', `output width changed from ${outDim} to ${r.dims[1]}`, { file, field: choice.tensor });
      }
      outDim = r.dims[1];
      parts.push(n < chunk ? r.data.subarray(0, n * outDim) : r.data);
    }
    const out = new Float32Array(batch * Math.max(outDim, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    if (choice.transform === 'log') for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.log(out[i]));
    return out;
  };
  const runBatch = async (obs: Float32Array, batch: number): Promise<Float32Array> => {
    if (!Number.isInteger(batch) || batch <= 0 || obs.length !== batch * obsDim) {
      throw new EdgeDistillError('BAD_OBSERVATION', `expected ${batch} x ${obsDim} observation values, got ${obs.length}`, { file, field: 'obs' });
    }
    return runRaw(norm ? normalizeObs(norm, obs, batch, obsDim) : obs, batch);
  };

  try {
    // Probe: learn the output width, refuse NaN outputs, and check the IR import against onnxruntime.
    const probe = probeObservations(PROBE_BATCH, obsDim);
    const y = await runBatch(probe, PROBE_BATCH);
    const bad = y.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new EdgeDistillError(
        'BAD_MODEL',
        `output "${choice.tensor}" is ${y[bad]} for probe observation ${Math.floor(bad / outDim)} (of ${PROBE_BATCH})`,
        { file, field: choice.tensor, suggestion: 'the teacher produces non-finite values; check its weights and normalization' },
      );
    }

    let model: PolicyModel | undefined;
    let reason: string | undefined;
    let importMaxDiff: number | undefined;
    try {
      let m = ownCard(proto, importOnnxPolicy(proto, { file, choice }));
      m = withSb3LogStd(proto, file, m);
      if (norm) {
        if (m.obsNorm) throw new ImportRefusal('the graph normalizes observations and obsNorm was given too');
        m = { ...m, obsNorm: norm };
      }
      if (proto.producerName !== PRODUCER_NAME) {
        m = { ...m, card: { source: 'onnx', teacher: basename(file), teacherSha256: sha256, producer: `${proto.producerName} ${proto.producerVersion}`.trim() } };
      }
      validatePolicy(m, file);
      const z = forward(m, probe, PROBE_BATCH);
      const tol = opts.tolerance ?? 1e-5;
      let worst = 0;
      let fail = false;
      for (let i = 0; i < y.length; i++) {
        const diff = Math.abs(z[i] - y[i]);
        worst = Math.max(worst, diff);
        if (!(diff <= tol * Math.max(1, Math.abs(y[i])))) fail = true;
      }
      if (fail) throw new ImportRefusal(`the imported MLP differs from onnxruntime by up to ${worst.toExponential(2)} on a probe batch`);
      model = m;
      importMaxDiff = worst;
    } catch (e) {
      if (!(e instanceof ImportRefusal)) throw e;
      reason = e.message;
    }

    return {
      file,
      sha256,
      obsDim,
      outDim,
      outputKind: choice.kind,
      outputName: choice.graphOutput,
      outputTensor: choice.tensor,
      inputName: inInfo.name,
      ...(model ? { model } : {}),
      importable: model !== undefined,
      ...(reason ? { reason } : {}),
      ...(importMaxDiff !== undefined ? { importMaxDiff } : {}),
      notes: choice.notes,
      metadata: metadataOf(proto),
      opset: defaultOpset(proto),
      producer: `${proto.producerName ?? ''} ${proto.producerVersion ?? ''}`.trim(),
      runBatch,
      dispose: async () => {
        await session.release();
      },
    };
  } catch (e) {
    await session.release();
    throw e;
  }
}
