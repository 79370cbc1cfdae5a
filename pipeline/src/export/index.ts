/**
 * `exportPolicy`: IR -> the requested artifacts, each behind the parity gate. Every artifact is
 * written under a temp name in a staging directory inside `outDir`, run in its real runtime on the
 * golden set (./runners.ts), compared with the model (./parity.ts), and renamed to its final name
 * only if it passes. A failing artifact leaves nothing under its final name (a stale file from an
 * earlier export is removed too), `artifacts.json` says why, and the call throws PARITY.
 *
 * Outputs in `outDir`: policy.onnx, policy.int8.onnx, policy.fp16.onnx, policy.tflite,
 * policy.int8.tflite, policy.fp16.tflite, policy.mjs, policy.int8.mjs, policy.c + policy.h,
 * golden.json (observations + fp32 IR outputs) and artifacts.json (the parity table).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { makeEnv, type BoxSpace, type Space } from '@edgedistill/runtime/envs';
import { EdgeDistillError, type ErrorDetail } from '@edgedistill/runtime/errors';
import { forward, outDimOf } from '../ir/forward.js';
import { policyToJSON, readPolicyFile } from '../ir/serialize.js';
import { outputName, type PolicyModel } from '../ir/types.js';
import { validatePolicy } from '../ir/validate.js';
import { policyToOnnx, type OnnxExportOptions } from '../onnx/write.js';
import { quantizePolicy } from '../quant/calibrate.js';
import { forwardInt8 } from '../quant/forward-int8.js';
import type { QuantizedPolicy } from '../quant/types.js';
import { readQuantizedFile } from '../quant/serialize-int8.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { teacherFromPolicy, type TeacherLike } from '../distill/teacher.js';
import { writeTflite, writeTfliteQuantized } from './tflite/write.js';
import { quantizedToOnnx } from './onnx-int8.js';
import { policyToOnnxFp16, roundWeightsToFloat16 } from './onnx-fp16.js';
import { emitFp32Module } from './js/emit-fp32.js';
import { emitInt8Module } from './js/emit-int8.js';
import { emitC } from './c/emit.js';
import { GOLDEN_FILE, actionsOf, goldenToJson, loadOrMakeGolden, readGoldenObservations, rolloutObservations, policyActor, type BatchActor, type GoldenSet } from './golden.js';
import {
  DEFAULT_TOLERANCES,
  actionRanges,
  compareActions,
  compareContinuous,
  gate,
  indexAgreement,
  maxAbsError,
  mismatches,
  type Precision,
  type Tolerances,
} from './parity.js';
import { runCSources, runJsFile, runOnnxFile, runTfliteFile, type RunOutput } from './runners.js';

export const EXPORT_FORMATS = ['onnx', 'onnx-int8', 'onnx-fp16', 'tflite', 'tflite-int8', 'tflite-fp16', 'js', 'js-int8', 'c-int8'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Final file names, per format (the first is the one whose sha256 is the artifact's). */
export const ARTIFACT_FILES: Record<ExportFormat, readonly string[]> = {
  onnx: ['policy.onnx'],
  'onnx-int8': ['policy.int8.onnx'],
  'onnx-fp16': ['policy.fp16.onnx'],
  tflite: ['policy.tflite'],
  'tflite-int8': ['policy.int8.tflite'],
  'tflite-fp16': ['policy.fp16.tflite'],
  js: ['policy.mjs'],
  'js-int8': ['policy.int8.mjs'],
  'c-int8': ['policy.c', 'policy.h'],
};

const PRECISION: Record<ExportFormat, Precision> = {
  onnx: 'fp32',
  'onnx-int8': 'int8',
  'onnx-fp16': 'fp16',
  tflite: 'fp32',
  'tflite-int8': 'int8',
  'tflite-fp16': 'fp16',
  js: 'fp32',
  'js-int8': 'int8',
  'c-int8': 'int8',
};

export const ARTIFACTS_FILE = 'artifacts.json';
export const ARTIFACTS_FORMAT = 'edgedistill-artifacts';

export interface ExportOptions {
  /** Directory holding policy.json (and maybe golden.json / golden.npy) as the distiller writes it. */
  readonly policyDir?: string;
  /** Or the model itself. */
  readonly model?: PolicyModel;
  readonly formats: readonly string[];
  readonly outDir: string;
  /** Golden observations (row-major) or a file of them; default: the policy dir's, else rollouts. */
  readonly golden?: Float32Array | string;
  /** Rows of a generated golden set (default 1000). */
  readonly goldenRows?: number;
  /** Reset seed of generated rollouts (golden: seed; calibration: seed + 1000). Default 0. */
  readonly seed?: number;
  /** Teacher (.onnx or policy.json file, or loaded): rollouts follow it; agreement is reported. */
  readonly teacher?: string | TeacherLike;
  /**
   * The int8 model: a QuantizedPolicy or a policy-int8.json file (`edgedistill compress --quantize
   * int8` writes one, possibly from quantization-aware fine-tuning). Default: the policy
   * directory's policy-int8.json when there is one and no `calibration` is given, else calibration.
   */
  readonly quantized?: QuantizedPolicy | string;
  /** int8 calibration observations or a file (.npy/.jsonl/.csv/golden.json); default rollouts. */
  readonly calibration?: Float32Array | string;
  readonly tolerances?: Partial<Tolerances>;
  /**
   * Test hook: replaces an artifact's bytes after it is written under its temp name and before it
   * runs (proves the gate catches a broken artifact). `file` is the final name.
   */
  readonly corrupt?: (format: ExportFormat, file: string, bytes: Uint8Array) => Uint8Array;
  readonly onProgress?: (text: string) => void;
}

export interface ArtifactFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ArtifactEntry {
  readonly format: ExportFormat;
  readonly precision: Precision;
  /** Final name of the main file (relative to outDir); null when the artifact failed. */
  readonly file: string | null;
  readonly files: ArtifactFile[];
  /** Total bytes (all files). */
  readonly bytes: number;
  /** sha256 of the main file. */
  readonly sha256: string;
  readonly runtime: string | null;
  readonly status: 'pass' | 'fail' | 'not run';
  readonly reasons: string[];
  readonly maxAbsErrorVsIR: number | null;
  /** int8: vs forwardInt8; fp16: vs the IR with float16 weights; else null. */
  readonly reference: 'forwardInt8' | 'ir-fp16-weights' | null;
  readonly maxAbsErrorVsReference: number | null;
  /** Outputs that are not bit-identical to the reference (int8, fp16), or null. */
  readonly mismatchesVsReference: number | null;
  readonly actionAgreementVsIR: number | null;
  /** Continuous heads: max |action - IR action|. */
  readonly maxActionErrorVsIR: number | null;
  readonly actionAgreementVsTeacher: number | null;
  /** onnx-int8: the op types of onnxruntime's optimized graph (integer kernels expected). */
  readonly optimizedOps?: string[];
}

export interface ArtifactsManifest {
  readonly format: typeof ARTIFACTS_FORMAT;
  readonly version: 1;
  readonly policy: { readonly source: string; readonly sha256: string; readonly envId: string | null; readonly obsDim: number; readonly outDim: number; readonly outputName: string };
  readonly golden: { readonly file: string; readonly rows: number; readonly sha256: string; readonly source: GoldenSet['source'] };
  readonly calibration: { readonly rows: number; readonly source: string } | null;
  readonly teacher: { readonly file: string | null; readonly sha256: string | null; readonly agreementWithIR: number } | null;
  readonly tolerances: Tolerances;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string; readonly platform: string };
  readonly passed: boolean;
  readonly artifacts: ArtifactEntry[];
}

/** PARITY failure; `manifest` is what artifacts.json holds (for the CLI's table). */
export class ExportParityError extends EdgeDistillError {
  constructor(
    message: string,
    readonly manifest: ArtifactsManifest,
    details: ErrorDetail[],
  ) {
    super('PARITY', message, { details, suggestion: 'see artifacts.json; export the failing formats again after fixing the model or calibration' });
  }
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export function parseFormats(formats: readonly string[]): ExportFormat[] {
  const list = formats.flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
  if (list.length === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'no export format given', { field: 'formats', suggestion: `one or more of ${EXPORT_FORMATS.join(', ')}` });
  for (const f of list) {
    if (!(EXPORT_FORMATS as readonly string[]).includes(f)) {
      throw new EdgeDistillError('BAD_ARGUMENT', `unknown export format "${f}"`, { field: 'formats', suggestion: `one of ${EXPORT_FORMATS.join(', ')}` });
    }
  }
  return [...new Set(list)] as ExportFormat[];
}

/** The env's spaces when the policy names a registered env (for metadata), else nulls. */
function envSpaces(model: PolicyModel): { observationSpace: BoxSpace | null; actionSpace: Space | null } {
  if (!model.envId) return { observationSpace: null, actionSpace: null };
  try {
    const env = makeEnv(model.envId);
    return { observationSpace: env.observationSpace, actionSpace: env.actionSpace };
  } catch {
    return { observationSpace: null, actionSpace: null };
  }
}

async function openTeacherArg(t: string | TeacherLike | undefined): Promise<(TeacherLike & { dispose?: () => Promise<void> }) | null> {
  if (t === undefined) return null;
  if (typeof t !== 'string') return t;
  if (t.endsWith('.json')) return teacherFromPolicy(await readPolicyFile(t), t);
  const { openTeacher } = await import('../distill/teacher.js');
  return openTeacher(t);
}

function teacherActor(t: TeacherLike): BatchActor {
  return { outputKind: t.outputKind, outDim: t.outDim, run: (obs, rows) => t.runBatch(obs, rows) };
}

interface Built {
  readonly files: { name: string; data: Uint8Array }[];
}

function buildArtifact(format: ExportFormat, model: PolicyModel, qp: QuantizedPolicy | null, onnxOpts: OnnxExportOptions, spaces: ReturnType<typeof envSpaces>): Built {
  const text = (s: string) => new TextEncoder().encode(s);
  const [name] = ARTIFACT_FILES[format];
  const one = (data: Uint8Array): Built => ({ files: [{ name, data }] });
  switch (format) {
    case 'onnx':
      return one(policyToOnnx(model, onnxOpts));
    case 'onnx-fp16':
      return one(policyToOnnxFp16(model, onnxOpts));
    case 'onnx-int8':
      return one(quantizedToOnnx(qp!, onnxOpts));
    case 'tflite':
      return one(writeTflite(model, { variant: 'fp32' }));
    case 'tflite-fp16':
      return one(writeTflite(model, { variant: 'fp16' }));
    case 'tflite-int8':
      return one(writeTfliteQuantized(qp!));
    case 'js':
      return one(text(emitFp32Module(model, spaces)));
    case 'js-int8':
      return one(text(emitInt8Module(qp!, spaces)));
    case 'c-int8': {
      const start = spaces.actionSpace?.kind === 'discrete' ? spaces.actionSpace.start : 0;
      const c = emitC(qp!, { actionStart: start });
      return { files: [{ name: 'policy.c', data: text(c.source) }, { name: 'policy.h', data: text(c.header) }] };
    }
  }
}

/** The gain of the head on the last layer's output (tanh squash scales a step by (high-low)/2). */
function headGain(model: PolicyModel): number {
  const h = model.head;
  if (h.kind !== 'continuous' || h.squash !== 'tanh') return 1;
  let g = 1;
  for (let i = 0; i < h.dim; i++) g = Math.max(g, (h.high[i] - h.low[i]) / 2);
  return g;
}

export async function exportPolicy(opts: ExportOptions): Promise<ArtifactsManifest> {
  const formats = parseFormats(opts.formats);
  const tol: Tolerances = { ...DEFAULT_TOLERANCES, ...(opts.tolerances ?? {}) };
  const progress = opts.onProgress ?? (() => undefined);
  let model: PolicyModel;
  let policySource: string;
  if (opts.model) {
    model = validatePolicy(opts.model);
    policySource = '<memory>';
  } else if (opts.policyDir) {
    policySource = join(opts.policyDir, 'policy.json');
    model = await readPolicyFile(policySource);
  } else {
    throw new EdgeDistillError('BAD_ARGUMENT', 'give a policy directory (policy.json) or a model', { field: 'policy' });
  }
  const outDir = resolve(opts.outDir);
  const spaces = envSpaces(model);
  const onnxOpts: OnnxExportOptions = { observationSpace: spaces.observationSpace, actionSpace: spaces.actionSpace };
  const seed = opts.seed ?? 0;
  const outDim = outDimOf(model);
  const discrete = model.head.kind === 'discrete';
  const teacher = await openTeacherArg(opts.teacher);
  try {
    if (teacher && teacher.obsDim !== model.obsDim) {
      throw new EdgeDistillError('BAD_ARGUMENT', `the teacher takes ${teacher.obsDim} observation values but the policy takes ${model.obsDim}`, {
        file: teacher.file,
        field: 'teacher',
      });
    }
    progress('golden set');
    const golden = await loadOrMakeGolden(model, {
      policyDir: opts.policyDir,
      golden: opts.golden,
      teacher: teacher ? teacherActor(teacher) : null,
      rows: opts.goldenRows,
      seed,
    });
    const { obs, rows } = golden;
    const ranges = actionRanges(model.head, golden.output, rows);

    // Teacher actions on the golden set (discrete: indices; continuous: clipped vectors).
    let teacherActions: Float32Array | null = null;
    let teacherAgreementWithIR = 0;
    if (teacher) {
      const y = await teacher.runBatch(obs, rows);
      if (discrete) teacherActions = actionsOf(y, rows, teacher.outDim, true, teacher.outputKind);
      else {
        const h = model.head as Extract<PolicyModel['head'], { kind: 'continuous' }>;
        teacherActions = y.map((v, i) => Math.min(Math.max(v, h.low[i % h.dim]), h.high[i % h.dim]));
      }
      teacherAgreementWithIR = agreementWithTeacher(model, golden.output, teacherActions, rows, ranges, tol);
    }

    // One quantization shared by every int8 artifact.
    let qp: QuantizedPolicy | null = null;
    let calibration: ArtifactsManifest['calibration'] = null;
    if (formats.some((f) => PRECISION[f] === 'int8')) {
      progress('calibration');
      let calib: Float32Array | null = null;
      let source: string;
      const int8File = typeof opts.quantized === 'string' ? opts.quantized : opts.policyDir && opts.calibration === undefined ? join(opts.policyDir, INT8_POLICY_FILE) : null;
      if (opts.quantized !== undefined && typeof opts.quantized !== 'string') {
        qp = opts.quantized;
        source = 'given QuantizedPolicy';
      } else if (int8File && (typeof opts.quantized === 'string' || existsSync(int8File))) {
        qp = await readQuantizedFile(int8File);
        source = int8File;
      } else if (opts.calibration instanceof Float32Array) {
        calib = opts.calibration;
        source = 'given';
      } else if (typeof opts.calibration === 'string') {
        calib = await readGoldenObservations(opts.calibration, model.obsDim);
        source = opts.calibration;
      } else if (model.envId) {
        const n = Math.max(golden.rows, 1000);
        calib = await rolloutObservations(model.envId, teacher ? teacherActor(teacher) : policyActor(model), n, seed + 1000);
        source = `rollouts of the ${teacher ? 'teacher' : 'policy'} in ${model.envId} (seed ${seed + 1000})`;
      } else {
        calib = obs;
        source = 'golden set';
      }
      if (!qp) qp = quantizePolicy(model, calib!);
      else checkQuantizedFits(qp, model, source);
      calibration = { rows: calib ? calib.length / model.obsDim : qp.calibrationSamples, source };
    }
    const int8Ref = qp ? forwardInt8(qp, obs, rows) : null;
    const int8Tol = qp ? tol.int8Steps * (qp.layers[qp.layers.length - 1].activationOutput ?? qp.layers[qp.layers.length - 1].output).scale * headGain(model) + 1e-6 : null;
    const fp16Ref = formats.some((f) => PRECISION[f] === 'fp16') ? forward(roundWeightsToFloat16(model), obs, rows) : null;

    await mkdir(outDir, { recursive: true });
    const staging = await mkdtemp(join(outDir, '.edgedistill-export-'));
    const entries: ArtifactEntry[] = [];
    const staged = new Map<ExportFormat, string[]>();
    try {
      for (const format of formats) {
        progress(`${format}: build and run`);
        const entry = await exportOne(format);
        entries.push(entry);
      }
      // Gate passed (or could not run: C without gcc): move into place. Failed: nothing there.
      for (const e of entries) {
        const names = ARTIFACT_FILES[e.format];
        if (e.status === 'fail') {
          for (const n of names) await rm(join(outDir, n), { force: true });
        } else {
          const tmp = staged.get(e.format)!;
          for (let i = 0; i < names.length; i++) await rename(tmp[i], join(outDir, names[i]));
        }
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }

    const goldenText = `${JSON.stringify(goldenToJson(golden, model))}\n`;
    await writeFileAtomic(join(outDir, GOLDEN_FILE), goldenText);
    const manifest: ArtifactsManifest = {
      format: ARTIFACTS_FORMAT,
      version: 1,
      policy: {
        source: policySource,
        sha256: opts.policyDir && existsSync(policySource) ? sha256(readFileSync(policySource)) : sha256(JSON.stringify(policyToJSON(model))),
        envId: model.envId,
        obsDim: model.obsDim,
        outDim,
        outputName: outputName(model.head),
      },
      golden: { file: GOLDEN_FILE, rows, sha256: sha256(goldenText), source: golden.source },
      calibration,
      teacher: teacher ? { file: teacher.file ?? null, sha256: teacher.sha256 ?? null, agreementWithIR: teacherAgreementWithIR } : null,
      tolerances: tol,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
      passed: entries.every((e) => e.status !== 'fail'),
      artifacts: entries,
    };
    await writeFileAtomic(join(outDir, ARTIFACTS_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const failed = entries.filter((e) => e.status === 'fail');
    if (failed.length > 0) {
      throw new ExportParityError(
        `${failed.length} artifact${failed.length === 1 ? '' : 's'} failed the parity gate: ${failed.map((e) => e.format).join(', ')}`,
        manifest,
        failed.flatMap((e) => e.reasons.map((text) => ({ file: ARTIFACT_FILES[e.format][0], field: e.format, text }))),
      );
    }
    return manifest;

    async function exportOne(format: ExportFormat): Promise<ArtifactEntry> {
      const precision = PRECISION[format];
      const names = ARTIFACT_FILES[format];
      const built = buildArtifact(format, model, qp, onnxOpts, spaces);
      // Temp names keep the extension (Node decides ESM by it) and live in the staging directory.
      const tmpPaths: string[] = [];
      const files: ArtifactFile[] = [];
      for (const f of built.files) {
        let data = f.data;
        if (opts.corrupt) data = opts.corrupt(format, f.name, data);
        const p = join(staging, `${format}.${f.name}`);
        await writeFile(p, data);
        tmpPaths.push(p);
        files.push({ name: f.name, bytes: data.length, sha256: sha256(data) });
      }
      staged.set(format, tmpPaths);
      const base = {
        format,
        precision,
        files,
        bytes: files.reduce((s, f) => s + f.bytes, 0),
        sha256: files[0].sha256,
        reference: precision === 'int8' ? ('forwardInt8' as const) : precision === 'fp16' ? ('ir-fp16-weights' as const) : null,
      };
      const empty = {
        maxAbsErrorVsIR: null,
        maxAbsErrorVsReference: null,
        mismatchesVsReference: null,
        actionAgreementVsIR: null,
        maxActionErrorVsIR: null,
        actionAgreementVsTeacher: null,
      };
      let run: RunOutput;
      let extra: string[] = [];
      let optimizedOps: string[] | undefined;
      try {
        run = await runArtifact(format, tmpPaths);
        if (format === 'c-int8' && 'actConsistent' in run && !run.actConsistent) extra = ['policy_act disagrees with the argmax of policy_forward'];
        if (format === 'onnx-int8') optimizedOps = await ortOptimizedOps(await readFile(tmpPaths[0]), staging);
      } catch (e) {
        if (e instanceof NotRun) {
          return { ...base, ...empty, file: names[0], runtime: null, status: 'not run', reasons: [e.message] };
        }
        const why = e instanceof EdgeDistillError ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e);
        return { ...base, ...empty, file: null, runtime: null, status: 'fail', reasons: [`could not run: ${why}`] };
      }
      const y = run.output;
      const maxAbsVsIR = maxAbsError(y, golden.output);
      const cmp = compareActions(model.head, y, golden.output, rows, ranges, tol.continuousShare);
      const ref = precision === 'int8' ? int8Ref : precision === 'fp16' ? fp16Ref : null;
      const maxAbsVsRef = ref ? maxAbsError(y, ref) : null;
      const g = gate(
        { precision, maxAbsVsIR, agreementVsIR: cmp.agreement, maxAbsVsReference: maxAbsVsRef, referenceTolerance: precision === 'int8' ? int8Tol : null },
        tol,
      );
      const reasons = [...g.reasons, ...extra];
      return {
        ...base,
        file: reasons.length ? null : names[0],
        runtime: run.runtime,
        status: reasons.length ? 'fail' : 'pass',
        reasons,
        maxAbsErrorVsIR: maxAbsVsIR,
        maxAbsErrorVsReference: maxAbsVsRef,
        mismatchesVsReference: ref ? mismatches(y, ref) : null,
        actionAgreementVsIR: cmp.agreement,
        maxActionErrorVsIR: cmp.maxActionError,
        actionAgreementVsTeacher: teacherActions ? agreementWithTeacher(model, y, teacherActions, rows, ranges, tol) : null,
        ...(optimizedOps ? { optimizedOps } : {}),
      };
    }

    async function runArtifact(format: ExportFormat, paths: string[]): Promise<RunOutput> {
      const name = outputName(model.head);
      switch (format) {
        case 'onnx':
        case 'onnx-int8':
        case 'onnx-fp16':
          return runOnnxFile(paths[0], obs, rows, model.obsDim, name);
        case 'tflite':
        case 'tflite-int8':
        case 'tflite-fp16':
          return runTfliteFile(paths[0], obs, rows);
        case 'js':
        case 'js-int8':
          return runJsFile(paths[0], obs, rows, model.obsDim);
        case 'c-int8': {
          const start = spaces.actionSpace?.kind === 'discrete' ? spaces.actionSpace.start : 0;
          const r = runCSources(await readFile(paths[1], 'utf8'), await readFile(paths[0], 'utf8'), obs, rows, outDim, discrete, start, basename(paths[0]));
          if (!r) throw new NotRun('gcc not found: the C artifact was written but not compiled or checked');
          return r;
        }
      }
    }
  } finally {
    await teacher?.dispose?.().catch(() => undefined);
  }
}

class NotRun extends Error {}

/** policy-int8.json next to policy.json (as `edgedistill compress` writes them). */
export const INT8_POLICY_FILE = 'policy-int8.json';

/** A quantized policy must take the same observations and give the same outputs as the float one. */
function checkQuantizedFits(qp: QuantizedPolicy, model: PolicyModel, file: string): void {
  const a = qp.model;
  const same =
    a.obsDim === model.obsDim &&
    a.head.kind === model.head.kind &&
    outDimOf(a) === outDimOf(model) &&
    outputName(a.head) === outputName(model.head) &&
    a.envId === model.envId;
  if (!same) {
    throw new EdgeDistillError('BAD_MODEL', `the int8 policy (${a.obsDim} -> ${outDimOf(a)} ${outputName(a.head)}, env ${a.envId}) does not match policy.json (${model.obsDim} -> ${outDimOf(model)} ${outputName(model.head)}, env ${model.envId})`, {
      file,
      suggestion: 'export the policy directory compress wrote, or drop the stale policy-int8.json',
    });
  }
}

function agreementWithTeacher(model: PolicyModel, y: Float32Array, teacherActions: Float32Array, rows: number, ranges: Float64Array, tol: Tolerances): number {
  if (model.head.kind === 'discrete') return indexAgreement(actionsOf(y, rows, model.head.n, true), teacherActions);
  return compareContinuous(y, teacherActions, rows, model.head.dim, ranges, tol.continuousShare).agreement;
}

/** The op types onnxruntime-node's fully optimized graph holds (domain-qualified when not ai.onnx). */
export async function ortOptimizedOps(bytes: Uint8Array, scratchDir: string): Promise<string[]> {
  const { loadOrt } = await import('../onnx/ort.js');
  const { onnx } = await import('../onnx/proto.js');
  const ort = await loadOrt();
  const file = join(scratchDir, `optimized-${process.pid}-${Date.now()}.onnx`);
  const s = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: file,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  await s.release();
  try {
    const m = onnx.ModelProto.decode(await readFile(file));
    return [...new Set((m.graph?.node ?? []).map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : (n.opType ?? ''))))];
  } finally {
    await rm(file, { force: true });
  }
}

export { quantizedToOnnx, quantizedToModelProto, type OnnxInt8Options } from './onnx-int8.js';
export { policyToOnnxFp16, policyToFp16ModelProto, roundWeightsToFloat16 } from './onnx-fp16.js';
export { emitFp32Module, emitInt8Module, importModuleFile, benchAct, compiledMetadata, type ActLatency } from './js/index.js';
export { emitC, cFloat, type CSources } from './c/emit.js';
export { compileAndRunC, findGcc, GCC_FLAGS, HARNESS_SOURCE } from './c/run.js';
export { DEFAULT_TOLERANCES, gate, compareActions, actionRanges, maxAbsError, mismatches, type Tolerances } from './parity.js';
export { loadOrMakeGolden, rolloutObservations, goldenToJson, GOLDEN_FILE, type GoldenSet } from './golden.js';
export { runOnnxFile, runTfliteFile, runJsFile } from './runners.js';
