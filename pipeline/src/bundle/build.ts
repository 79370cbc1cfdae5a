/**
 * `createBundle`: one reproducible .tar.gz per (policy, device): the bundled device runtime, the
 * backend package files that device uses, the artifacts it can run, the golden set and
 * manifest.json (runtime/src/bundle/manifest.ts). Its id is the sha256 of manifest.json (which
 * lists every other file's sha256); the file is OUT/<policy>-<device>-<id16>.tar.gz.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { BUNDLE_FORMAT, type BackendId, type BundleArtifact, type BundleFile, type BundleManifest, type Budgets } from '../../../runtime/src/bundle/manifest.js';
import type { DeviceProfile } from '../devices/profile.js';
import { loadProfile } from '../devices/load.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { planArtifacts, readExportDir, sourceArtifact, type PlannedArtifact, type SkippedArtifact, type SourceArtifact } from './artifacts.js';
import { bundleRuntimeEntry, DEFAULT_RUNTIME_ENTRY, nodeTargetOf, RUNTIME_ENTRY_PATH } from './entry.js';
import { buildGoldenSet } from './golden.js';
import { runtimeFiles, type PackageUse } from './runtime-files.js';
import { writeTarGz, type TarEntry } from './tar.js';

export const MANIFEST_FILE = 'manifest.json';
export const GOLDEN_FILE = 'golden.json';
/** Hex digits of the manifest sha256 used as the bundle id (file name, releases/<id> on the device). */
export const BUNDLE_ID_LENGTH = 16;

export type BundleStep = 'profile' | 'artifacts' | 'export' | 'golden' | 'runtime' | 'archive' | 'write';

export interface BundleOptions {
  /** Device profile id (devices/<id>.json) or a path to a profile file. */
  readonly device: string;
  /** Policy/export directory: policy.json and the exported artifacts (artifacts.json when present). */
  readonly policyDir: string;
  /** Teacher artifact (.onnx, .tflite, .mjs); default: the export directory's teacher. */
  readonly teacher?: string;
  /** Output directory for the .tar.gz. */
  readonly out: string;
  /** Policy name in the file name; default: the export directory's name. */
  readonly name?: string;
  /** Replaces budget values of the profile (tests, and devices that differ from their profile). */
  readonly budgetOverride?: Partial<Budgets>;
  readonly checkEpisodes?: number;
  /** The device CLI source to bundle (default runtime/bin/edgedistill-device.ts). */
  readonly runtimeEntry?: string;
  /** Golden observations (default 256). */
  readonly goldenCount?: number;
  readonly onStep?: (step: BundleStep, detail: string) => void;
}

export interface BundleResult {
  /** Absolute path of the .tar.gz. */
  readonly path: string;
  readonly bytes: number;
  /** sha256 of the .tar.gz. */
  readonly sha256: string;
  /** sha256 of manifest.json: the bundle's identity. */
  readonly manifestSha256: string;
  /** First 16 hex digits of manifestSha256: names the release on the device. */
  readonly id: string;
  readonly device: string;
  readonly arch: DeviceProfile['arch'];
  readonly artifacts: readonly (BundleArtifact & { readonly bytes: number })[];
  readonly skipped: readonly { readonly name: string; readonly format: string; readonly reason: string }[];
  /** Formats exported on the fly because the directory had no student artifacts. */
  readonly exported: readonly string[];
  readonly packages: readonly PackageUse[];
  readonly files: number;
  readonly uncompressedBytes: number;
  readonly budgets: Budgets;
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** File name part: letters, digits, dot, dash, underscore. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'policy';
}

function checkBudgets(b: Budgets): Budgets {
  for (const [k, v] of Object.entries(b)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new EdgeDistillError('BAD_ARGUMENT', `budget ${k} must be a finite number, got ${String(v)}`, { field: `budgets.${k}` });
  }
  if (b.controlPeriodUs <= 0 || b.maxRssMiB <= 0) throw new EdgeDistillError('BAD_ARGUMENT', 'controlPeriodUs and maxRssMiB must be positive', { field: 'budgets' });
  if (b.minAgreement < 0 || b.minAgreement > 1) throw new EdgeDistillError('BAD_ARGUMENT', 'minAgreement must be in [0, 1]', { field: 'budgets.minAgreement' });
  return b;
}

/** Export formats for a device: fp32 and int8 of each artifact kind its backends run. */
export function exportFormatsFor(profile: DeviceProfile): string[] {
  const f: string[] = [];
  if (profile.backends.includes('js')) f.push('js', 'js-int8');
  if (profile.backends.some((b) => b === 'ort-node' || b === 'ort-web')) f.push('onnx', 'onnx-int8');
  if (profile.backends.includes('litert')) f.push('tflite', 'tflite-int8');
  return f;
}

/**
 * Artifacts for a directory that has only policy.json: `exportPolicy` (pipeline/src/export, every
 * artifact behind its parity gate; formats that fail the gate are left out) for the formats the
 * device runs, into a temp directory.
 */
async function exportOnTheFly(
  policyFile: string,
  profile: DeviceProfile,
  tmp: string,
  teacherFile: string | null,
): Promise<{ artifacts: SourceArtifact[]; formats: string[]; golden: string | null }> {
  const { exportPolicy } = await import('../export/index.js');
  try {
    await exportPolicy({
      policyDir: dirname(policyFile),
      formats: exportFormatsFor(profile),
      outDir: tmp,
      ...(teacherFile && /\.(onnx|json)$/.test(teacherFile) ? { teacher: teacherFile } : {}),
    });
  } catch (e) {
    // PARITY: the failing formats were removed and artifacts.json says why; the rest are usable.
    if (!(e instanceof EdgeDistillError && e.code === 'PARITY')) throw e;
  }
  const r = readExportDir(tmp);
  const students = r.artifacts.filter((a) => a.role === 'student');
  if (students.length === 0) throw new EdgeDistillError('PARITY', `no artifact for ${profile.id} passed the exporter's parity gate`, { file: join(tmp, 'artifacts.json') });
  return { artifacts: students, formats: students.map((a) => a.format), golden: r.goldenFile };
}

/** Builds the bundle; see the module comment. */
export async function createBundle(o: BundleOptions): Promise<BundleResult> {
  const step = (s: BundleStep, d: string) => o.onStep?.(s, d);
  step('profile', o.device);
  const profile = loadProfile(o.device);
  const budgets = checkBudgets({ ...profile.budgets, ...(o.budgetOverride ?? {}) });
  const checkEpisodes = o.checkEpisodes ?? profile.deploy.checkEpisodes;
  if (!Number.isInteger(checkEpisodes) || checkEpisodes < 1) throw new EdgeDistillError('BAD_ARGUMENT', 'checkEpisodes must be a positive integer', { field: '--episodes' });

  step('artifacts', o.policyDir);
  const dir = readExportDir(o.policyDir);
  const tmp = mkdtempSync(join(tmpdir(), 'edgedistill-bundle-'));
  try {
    let teacher: SourceArtifact | undefined;
    if (o.teacher) teacher = sourceArtifact(resolve(o.teacher), 'teacher');
    else teacher = dir.artifacts.find((a) => a.role === 'teacher');
    if (!teacher) {
      throw new EdgeDistillError('BAD_ARGUMENT', 'the bundle needs the teacher: the on-device check measures the students against it', {
        file: dir.dir,
        field: '--teacher',
        suggestion: 'pass --teacher FILE (the teacher .onnx the student was distilled from)',
      });
    }
    let sources = dir.artifacts.filter((a) => a.role === 'student');
    let exported: string[] = [];
    let goldenFile = dir.goldenFile;
    if (sources.length === 0) {
      if (!dir.policyFile) {
        throw new EdgeDistillError('BAD_ARGUMENT', 'the policy directory has no policy.json and no artifacts', {
          file: dir.dir,
          field: '--policy',
          suggestion: 'pass the directory `edgedistill distill` or `edgedistill export` wrote',
        });
      }
      step('export', exportFormatsFor(profile).join(', '));
      const r = await exportOnTheFly(dir.policyFile, profile, tmp, teacher.file);
      sources = r.artifacts;
      exported = r.formats;
      goldenFile = goldenFile ?? r.golden;
    }
    const { planned: plannedAll, skipped } = planArtifacts(profile, [teacher, ...sources]);
    const plannedTeacher = plannedAll.find((a) => a.role === 'teacher');
    const students = plannedAll.filter((a) => a.role === 'student');
    if (!plannedTeacher) {
      throw new EdgeDistillError('UNSUPPORTED', `${profile.id} cannot run the teacher (${teacher.format}): ${skipped.find((s) => s.role === 'teacher')?.reason}`, {
        file: teacher.file,
        field: '--teacher',
      });
    }
    if (students.length === 0) {
      throw new EdgeDistillError('UNSUPPORTED', `${profile.id} can run none of the student artifacts (${sources.map((s) => s.format).join(', ')})`, {
        file: dir.dir,
        details: skipped.map((s) => ({ file: s.file, text: s.reason })),
        suggestion: `export a format for ${profile.backends.join(' / ')}`,
      });
    }
    const planned: PlannedArtifact[] = [plannedTeacher, ...students];
    const envId = dir.envId ?? (typeof dir.card.env === 'string' ? dir.card.env : null);
    if (!envId) throw new EdgeDistillError('BAD_CONFIG', 'cannot tell the environment: policy.json has no envId', { file: dir.policyFile ?? dir.dir, field: 'envId' });

    step('golden', `${o.goldenCount ?? 256} observations`);
    const golden = await buildGoldenSet(planned, { envId, count: o.goldenCount }, goldenFile);

    step('runtime', `esbuild ${basename(o.runtimeEntry ?? DEFAULT_RUNTIME_ENTRY)}`);
    const entryJs = await bundleRuntimeEntry(o.runtimeEntry ?? DEFAULT_RUNTIME_ENTRY, nodeTargetOf(profile.nodeRange));
    const backendsUsed = new Set<BackendId>(planned.map((a) => a.backend));
    const rt = runtimeFiles(backendsUsed, profile.arch);

    step('archive', `${rt.files.length + planned.length + 2} files`);
    const contents = new Map<string, Uint8Array>();
    contents.set(RUNTIME_ENTRY_PATH, entryJs);
    for (const f of rt.files) contents.set(f.bundlePath, readFileSync(f.source));
    const artifactBytes = new Map<string, number>();
    for (const a of planned) {
      const bytes = readFileSync(a.file);
      contents.set(a.bundlePath, bytes);
      artifactBytes.set(a.name, bytes.length);
      if (a.sidecar) contents.set(`${a.bundlePath}.meta.json`, readFileSync(a.sidecar));
    }
    contents.set(GOLDEN_FILE, Buffer.from(`${JSON.stringify(golden)}\n`));

    const files: Record<string, BundleFile> = {};
    for (const p of [...contents.keys()].sort()) {
      const b = contents.get(p) as Uint8Array;
      files[p] = { sha256: sha256Hex(b), bytes: b.length };
    }
    const artifacts: BundleArtifact[] = planned.map((a) => ({ name: a.name, role: a.role, path: a.bundlePath, format: a.format, backend: a.backend, goldenKey: a.name }));
    const policyName = slug(o.name ?? basename(dir.dir));
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      device: profile.id,
      profile: profile as unknown as Record<string, unknown>,
      budgets,
      envId,
      card: dir.card,
      artifacts,
      golden: GOLDEN_FILE,
      files,
      checkEpisodes,
      runtime: { entry: RUNTIME_ENTRY_PATH, nodeRange: profile.nodeRange, packages: rt.packages.map((p) => ({ name: p.name, version: p.version })) },
      policyName,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    const manifestSha256 = sha256Hex(manifestBytes);
    const id = manifestSha256.slice(0, BUNDLE_ID_LENGTH);

    const entries: TarEntry[] = [{ path: MANIFEST_FILE, type: 'file', data: manifestBytes }];
    for (const [p, b] of contents) entries.push({ path: p, type: 'file', data: b });
    const gz = writeTarGz(entries);
    const uncompressedBytes = manifestBytes.length + [...contents.values()].reduce((s, b) => s + b.length, 0);

    const out = resolve(o.out, `${policyName}-${profile.id}-${id}.tar.gz`);
    step('write', out);
    await writeFileAtomic(out, gz);
    return {
      path: out,
      bytes: gz.length,
      sha256: sha256Hex(gz),
      manifestSha256,
      id,
      device: profile.id,
      arch: profile.arch,
      artifacts: artifacts.map((a) => ({ ...a, bytes: artifactBytes.get(a.name) ?? 0 })),
      skipped: skipped.map((s: SkippedArtifact) => ({ name: s.name, format: s.format, reason: s.reason })),
      exported,
      packages: rt.packages,
      files: entries.length,
      uncompressedBytes,
      budgets,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Parses `key=value` budget overrides (`controlPeriodUs=20000`); unknown keys are refused by name. */
export function parseBudgetOverrides(items: readonly string[]): Partial<Budgets> {
  const keys: (keyof Budgets)[] = ['controlPeriodUs', 'maxRssMiB', 'minAgreement', 'minReturnRetention'];
  const out: Partial<Record<keyof Budgets, number>> = {};
  for (const it of items) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(it.trim());
    if (!m) throw new EdgeDistillError('BAD_ARGUMENT', `--budget-override expects key=value, got "${it}"`, { field: '--budget-override' });
    const key = m[1] as keyof Budgets;
    if (!keys.includes(key)) {
      throw new EdgeDistillError('BAD_ARGUMENT', `unknown budget '${m[1]}'`, { field: '--budget-override', suggestion: `one of ${keys.join(', ')}` });
    }
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw new EdgeDistillError('BAD_ARGUMENT', `budget ${key} expects a number, got "${m[2]}"`, { field: '--budget-override' });
    out[key] = v;
  }
  return out;
}
