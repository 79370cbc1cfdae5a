/**
 * What goes into a bundle from a policy/export directory: policy.json (env, card), the exported
 * artifacts (from artifacts.json when the exporter wrote one, else found by file name), the
 * teacher, and which backend of the device runs each. Artifacts no backend of the device can run
 * are left out (and said so).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { BackendId } from '../../../runtime/src/bundle/manifest.js';
import type { DeviceProfile } from '../devices/profile.js';

export type ArtifactKind = 'onnx' | 'tflite' | 'compiled-js';

export interface SourceArtifact {
  /** Report name: `teacher`, `student-onnx`, `student-int8-js`, ... */
  readonly name: string;
  readonly role: 'teacher' | 'student';
  /** Absolute path on the desktop. */
  readonly file: string;
  /** Export format as `edgedistill export --format` names it: onnx, onnx-int8, tflite-int8, js, js-int8, ... */
  readonly format: string;
  readonly kind: ArtifactKind;
}

export interface PlannedArtifact extends SourceArtifact {
  readonly backend: BackendId;
  /** Path inside the bundle. */
  readonly bundlePath: string;
  /** Sidecar metadata (`<file>.meta.json`) shipped next to it, when there is one. */
  readonly sidecar: string | null;
}

export interface SkippedArtifact extends SourceArtifact {
  readonly reason: string;
}

/** Backend -> artifact kind it runs (as runtime/src/policy/choose.ts). */
const BACKEND_KIND: Readonly<Record<BackendId, ArtifactKind>> = { js: 'compiled-js', 'ort-node': 'onnx', 'ort-web': 'onnx', litert: 'tflite' };

/** The artifact kind of an export format name (onnx*, tflite*, js*). */
export function kindOfFormat(format: string): ArtifactKind | null {
  if (format.startsWith('onnx')) return 'onnx';
  if (format.startsWith('tflite')) return 'tflite';
  if (format === 'js' || format.startsWith('js-') || format === 'compiled-js') return 'compiled-js';
  return null;
}

/** Format name from a file name: student-int8.onnx -> onnx-int8, policy.tflite -> tflite, student.mjs -> js. */
export function formatOfFile(file: string): string | null {
  const ext = extname(file).toLowerCase();
  const stem = basename(file, extname(file)).toLowerCase();
  const variant = /(^|[-_.])int8($|[-_.])/.test(stem) ? '-int8' : /(^|[-_.])fp16($|[-_.])/.test(stem) ? '-fp16' : '';
  if (ext === '.onnx') return `onnx${variant}`;
  if (ext === '.tflite') return `tflite${variant}`;
  if (ext === '.mjs') return `js${variant}`;
  return null;
}

/** Name shown in reports and the golden set's key: `teacher`, or `student-<format>` (student-onnx-int8, student-js, ...). */
export function artifactName(_file: string, role: 'teacher' | 'student', format: string): string {
  return role === 'teacher' ? 'teacher' : `student-${format}`;
}

export function sourceArtifact(file: string, role: 'teacher' | 'student', format?: string, name?: string): SourceArtifact {
  const f = format ?? formatOfFile(file);
  const kind = f ? kindOfFormat(f) : null;
  if (!f || !kind) {
    throw new EdgeDistillError('BAD_ARGUMENT', `cannot tell the format of '${basename(file)}'`, {
      file,
      suggestion: 'artifacts are .onnx, .tflite or compiled .mjs files',
    });
  }
  return { name: name ?? artifactName(file, role, f), role, file, format: f, kind };
}

export interface ExportDir {
  readonly dir: string;
  /** policy.json, when present. */
  readonly policyFile: string | null;
  readonly policyJson: Record<string, unknown> | null;
  readonly envId: string | null;
  readonly card: Record<string, unknown>;
  /** artifacts.json, when the exporter wrote one. */
  readonly artifactsJson: string | null;
  readonly artifacts: SourceArtifact[];
  /** A golden set found in the directory (golden.json), or null. */
  readonly goldenFile: string | null;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `cannot read ${basename(file)}: ${(e as Error).message}`, { file, cause: e });
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * artifacts.json as `edgedistill export` writes it (pipeline/src/export: `{ format:
 * 'edgedistill-artifacts', teacher: {file}, golden: {file}, artifacts: [{ format, file, status }] }`),
 * or a plain `{ artifacts: [{ file, format?, role?, name? }] }`. Artifacts that failed the
 * exporter's parity gate, and formats no backend runs (C), are left out.
 */
function artifactsFromJson(dir: string, file: string): { artifacts: SourceArtifact[]; golden: string | null; teacher: string | null } {
  const v = readJson(file);
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.artifacts) ? v.artifacts : null;
  if (!list) throw new EdgeDistillError('BAD_CONFIG', 'artifacts.json must hold an "artifacts" array', { file, field: 'artifacts' });
  const out: SourceArtifact[] = [];
  list.forEach((a: unknown, i: number) => {
    if (!isRecord(a)) throw new EdgeDistillError('BAD_CONFIG', 'each artifact must be an object', { file, field: `artifacts[${i}]` });
    if (a.status === 'fail') return;
    const rel = typeof a.file === 'string' ? a.file : typeof a.path === 'string' ? a.path : null;
    if (!rel) return; // not written (failed or skipped)
    const abs = resolve(dir, rel);
    if (!existsSync(abs)) throw new EdgeDistillError('IO', `artifact listed in artifacts.json is missing: ${rel}`, { file, field: `artifacts[${i}].file` });
    const format = typeof a.format === 'string' ? a.format : undefined;
    if (format !== undefined && !kindOfFormat(format)) return; // a format no backend runs (C source, ...)
    if (format === undefined && !formatOfFile(abs)) return;
    const role = a.role === 'teacher' ? 'teacher' : 'student';
    out.push(sourceArtifact(abs, role, format, typeof a.name === 'string' ? a.name : undefined));
  });
  const pick = (x: unknown): string | null => (typeof x === 'string' ? x : isRecord(x) && typeof x.file === 'string' ? x.file : null);
  const g = isRecord(v) ? pick(v.golden) : null;
  const t = isRecord(v) ? pick(v.teacher) : null;
  // The exporter records the teacher path as it was given (relative to where it ran): look next to
  // the artifacts first, then from here; take it only when its sha256 is the recorded one.
  let teacher: string | null = null;
  if (t) {
    const want = isRecord(v) && isRecord(v.teacher) && typeof v.teacher.sha256 === 'string' ? v.teacher.sha256 : null;
    for (const c of [resolve(dir, t), resolve(t)]) {
      if (existsSync(c) && (!want || createHash('sha256').update(readFileSync(c)).digest('hex') === want)) {
        teacher = c;
        break;
      }
    }
  }
  return { artifacts: out, golden: g ? resolve(dir, g) : null, teacher };
}

/** Reads a policy/export directory. */
export function readExportDir(dirArg: string): ExportDir {
  const dir = resolve(dirArg);
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new EdgeDistillError('IO', `policy directory not found: ${(e as Error).message}`, { file: dir, field: '--policy', cause: e });
  }
  if (!st.isDirectory()) {
    throw new EdgeDistillError('BAD_ARGUMENT', '--policy expects a directory (policy.json and exported artifacts)', { file: dir, field: '--policy' });
  }
  const policyFile = existsSync(join(dir, 'policy.json')) ? join(dir, 'policy.json') : null;
  const policyJson = policyFile ? readJson(policyFile) : null;
  if (policyFile && !isRecord(policyJson)) throw new EdgeDistillError('BAD_CONFIG', 'policy.json must be a JSON object', { file: policyFile });
  const pj = policyJson as Record<string, unknown> | null;
  const envId = pj && typeof pj.envId === 'string' ? pj.envId : null;
  const card = pj && isRecord(pj.card) ? pj.card : {};

  const artifactsJson = existsSync(join(dir, 'artifacts.json')) ? join(dir, 'artifacts.json') : null;
  let artifacts: SourceArtifact[];
  let goldenFile: string | null = null;
  if (artifactsJson) {
    const r = artifactsFromJson(dir, artifactsJson);
    artifacts = r.artifacts;
    goldenFile = r.golden && existsSync(r.golden) ? r.golden : null;
    if (r.teacher && !artifacts.some((a) => a.role === 'teacher') && formatOfFile(r.teacher)) artifacts.unshift(sourceArtifact(r.teacher, 'teacher'));
  } else {
    artifacts = readdirSync(dir)
      .filter((n) => formatOfFile(n) !== null)
      .sort()
      .map((n) => sourceArtifact(join(dir, n), /^teacher([-_.]|$)/.test(n) ? 'teacher' : 'student'));
  }
  if (!goldenFile && existsSync(join(dir, 'golden.json'))) goldenFile = join(dir, 'golden.json');
  return { dir, policyFile, policyJson: pj, envId, card, artifactsJson, artifacts, goldenFile };
}

/** The first of the device's backends that runs this kind of artifact, or null. */
export function backendFor(profile: DeviceProfile, kind: ArtifactKind): BackendId | null {
  return profile.backends.find((b) => BACKEND_KIND[b] === kind) ?? null;
}

/**
 * Assigns backends and bundle paths; artifacts the device cannot run are returned as skipped.
 * Bundle paths are artifacts/<file name> (the teacher as artifacts/teacher.<ext>).
 */
export function planArtifacts(profile: DeviceProfile, list: readonly SourceArtifact[]): { planned: PlannedArtifact[]; skipped: SkippedArtifact[] } {
  const planned: PlannedArtifact[] = [];
  const skipped: SkippedArtifact[] = [];
  const used = new Set<string>();
  const names = new Set<string>();
  for (const a of list) {
    const backend = backendFor(profile, a.kind);
    if (!backend) {
      skipped.push({ ...a, reason: `${profile.id} runs ${profile.backends.join(', ')}: none of them runs ${a.kind}` });
      continue;
    }
    let name = a.name;
    if (names.has(name)) name = `${a.name}-${basename(a.file, extname(a.file)).replace(/[^A-Za-z0-9_-]+/g, '-')}`;
    if (names.has(name)) throw new EdgeDistillError('BAD_ARGUMENT', `two artifacts are both named '${name}'`, { file: a.file });
    names.add(name);
    const ext = extname(a.file);
    let fileName = a.role === 'teacher' ? `teacher${ext}` : basename(a.file);
    if (used.has(fileName)) fileName = `${name}${ext}`;
    used.add(fileName);
    const sidecarSrc = `${a.file}.meta.json`;
    planned.push({ ...a, name, backend, bundlePath: `artifacts/${fileName}`, sidecar: existsSync(sidecarSrc) ? sidecarSrc : null });
  }
  return { planned, skipped };
}
