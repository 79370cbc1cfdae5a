/**
 * The CartPole-v1 student every section measures, made once per run and shared:
 *   1. `distill` with the shipped teacher (4-256-256-2 tanh, logits) into a 4-32-32-2 relu student,
 *      recording when held-out agreement first reaches 0.99 (progress callback);
 *   2. `exportPolicy` of every format, behind the export's parity gate. Formats the gate refuses
 *      (today: the int8 ones, whose post-training quantization loses agreement) are exported again
 *      with the agreement gate off into `export-ungated/`, so their speed and size can still be
 *      measured; every row that uses one says so (`gate: 'fail'` with the reason).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress } from '../pipeline/src/compress/index.js';
import { distill, openTeacher, type DistillReport } from '../pipeline/src/distill/index.js';
import { EXPORT_FORMATS, exportPolicy, type ArtifactEntry, type ArtifactsManifest, type ExportFormat } from '../pipeline/src/export/index.js';
import { writePolicyFile } from '../pipeline/src/ir/serialize.js';
import type { PolicyModel } from '../pipeline/src/ir/types.js';
import { REPO_ROOT, type BenchContext } from './util.js';

export const ENV_ID = 'CartPole-v1';
export const TEACHER = join(REPO_ROOT, 'models/cartpole-v1/teacher.onnx');
export const STUDENT_HIDDEN = [32, 32] as const;
export const AGREEMENT_TARGET = 0.99;

export interface ProductDistill {
  model: PolicyModel;
  report: Omit<DistillReport, 'curve'>;
  /** Seconds from the start of `distill` to the first held-out check with agreement >= 0.99. */
  firstAgreementSeconds: number | null;
  firstAgreementSamples: number | null;
  wallSeconds: number;
  policyDir: string;
}

export interface ArtifactRef {
  format: ExportFormat;
  /** Path of the main file, or null when even the ungated export failed. */
  path: string | null;
  files: { name: string; bytes: number }[];
  bytes: number;
  gate: 'pass' | 'fail';
  gateReasons: string[];
  /** From export-ungated/ (gate refused it): measured, but not what `edgedistill export` ships. */
  ungated: boolean;
}

export interface ExportedStudent {
  dir: string;
  manifest: ArtifactsManifest | null;
  artifacts: Record<string, ArtifactRef>;
  exportSeconds: number;
  /** compress --quantize int8 before the export: wall seconds and what it chose. */
  compress: { seconds: number; int8: unknown };
}

/** distill() with the shipped teacher, once per run. */
export function productDistill(ctx: BenchContext): Promise<ProductDistill> {
  const key = 'productDistill';
  if (!ctx.shared.has(key)) ctx.shared.set(key, runProductDistill(ctx));
  return ctx.shared.get(key) as Promise<ProductDistill>;
}

async function runProductDistill(ctx: BenchContext): Promise<ProductDistill> {
  ctx.log(`  distill ${ENV_ID}: shipped teacher -> 4-${STUDENT_HIDDEN.join('-')}-2 student`);
  let first: { seconds: number; samples: number } | null = null;
  const t0 = performance.now();
  const r = await distill({
    teacher: TEACHER,
    envId: ENV_ID,
    hidden: [...STUDENT_HIDDEN],
    seed: 0,
    episodes: ctx.quick ? 10 : 100,
    ...(ctx.quick ? { maxSamples: 600_000 } : {}),
    onProgress: (p) => {
      if (first === null && p.agreement !== null && p.agreement >= AGREEMENT_TARGET) first = { seconds: p.seconds, samples: p.samples };
    },
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const policyDir = join(ctx.workDir, 'student');
  mkdirSync(policyDir, { recursive: true });
  await writePolicyFile(join(policyDir, 'policy.json'), r.student);
  const { curve: _curve, ...report } = r.report;
  const f = first as { seconds: number; samples: number } | null;
  return { model: r.student, report, firstAgreementSeconds: f?.seconds ?? null, firstAgreementSamples: f?.samples ?? null, wallSeconds, policyDir };
}

/** Every export format of the shared student, once per run. */
export function exportedStudent(ctx: BenchContext): Promise<ExportedStudent> {
  const key = 'exportedStudent';
  if (!ctx.shared.has(key)) ctx.shared.set(key, runExport(ctx));
  return ctx.shared.get(key) as Promise<ExportedStudent>;
}

async function runExport(ctx: BenchContext): Promise<ExportedStudent> {
  const student = await productDistill(ctx);
  const dir = join(ctx.workDir, 'export');
  mkdirSync(dir, { recursive: true });
  // int8 the way the product makes it: `compress --quantize int8` (PTQ, then a 12-bit input and QAT
  // when 8-bit PTQ misses the targets); every format is exported from its result, as
  // `compress` + `export` do. The float model is the one the int8 model was quantized from.
  ctx.log('  compress --quantize int8 (the int8 model the export ships)');
  const teacher = await openTeacher(TEACHER);
  const tc = performance.now();
  let compressed;
  try {
    compressed = await compress({ policy: student.model, teacher, quantize: 'int8', randomSeed: student.report.seed + 1 });
  } finally {
    await teacher.dispose?.();
  }
  const compressSeconds = (performance.now() - tc) / 1000;
  const model = compressed.model;
  const quantized = compressed.quantized ?? undefined;
  // The export directory is also a bundle's policy directory: policy.json next to the artifacts.
  await writePolicyFile(join(dir, 'policy.json'), model);
  ctx.log('  export: every format, behind the parity gate');
  const t0 = performance.now();
  let manifest: ArtifactsManifest | null = null;
  try {
    manifest = await exportPolicy({ model, quantized, formats: [...EXPORT_FORMATS], outDir: dir, teacher: TEACHER });
  } catch (e) {
    manifest = (e as { manifest?: ArtifactsManifest }).manifest ?? readManifest(dir);
    if (!manifest) throw e;
  }
  const exportSeconds = (performance.now() - t0) / 1000;
  const artifacts: Record<string, ArtifactRef> = {};
  const failed: ExportFormat[] = [];
  for (const a of manifest.artifacts) {
    if (a.status === 'pass' && a.file) artifacts[a.format] = ref(a, join(dir, a.file), false);
    else failed.push(a.format);
  }
  if (failed.length > 0) {
    ctx.log(`  export: parity gate refused ${failed.join(', ')}; exporting them ungated for timing and size`);
    const ungatedDir = join(ctx.workDir, 'export-ungated');
    let m2: ArtifactsManifest | null = null;
    try {
      m2 = await exportPolicy({
        model,
        quantized,
        formats: failed,
        outDir: ungatedDir,
        teacher: TEACHER,
        golden: join(dir, 'golden.json'),
        tolerances: { minAgreement: 0 },
      });
    } catch (e) {
      m2 = (e as { manifest?: ArtifactsManifest }).manifest ?? readManifest(ungatedDir);
    }
    for (const format of failed) {
      const gated = manifest.artifacts.find((a) => a.format === format) as ArtifactEntry;
      const again = m2?.artifacts.find((a) => a.format === format);
      const ok = again && again.status === 'pass' && again.file;
      artifacts[format] = {
        ...ref(ok ? again : gated, ok ? join(ungatedDir, again.file as string) : null, true),
        gate: 'fail',
        gateReasons: gated.reasons,
      };
    }
  }
  return { dir, manifest, artifacts, exportSeconds, compress: { seconds: compressSeconds, int8: model.card.compress && (model.card.compress as { int8?: unknown }).int8 } };
}

function ref(a: ArtifactEntry, path: string | null, ungated: boolean): ArtifactRef {
  return {
    format: a.format,
    path,
    files: a.files.map((f) => ({ name: f.name, bytes: f.bytes })),
    bytes: a.bytes,
    gate: a.status === 'pass' ? 'pass' : 'fail',
    gateReasons: a.reasons,
    ungated,
  };
}

function readManifest(dir: string): ArtifactsManifest | null {
  const p = join(dir, 'artifacts.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as ArtifactsManifest) : null;
}
