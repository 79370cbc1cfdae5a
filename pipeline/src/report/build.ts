/**
 * buildReport: normalizes what each stage wrote (distill report, compress-report.json,
 * artifacts.json, bundle manifests, check-report.json per device) into one ReportData. Pure: the
 * caller reads the files (./load.ts) and passes their parsed JSON with the file name, which every
 * error names. Unknown extra fields are ignored; a field of the wrong type is an error.
 */
import { basename } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { DistillReport } from '../distill/distill.js';
import {
  REPORT_SCHEMA,
  type ArtifactRecord,
  type BudgetVerdict,
  type BundleRecord,
  type CheckArtifact,
  type CompressRow,
  type CompressSummary,
  type DeviceCheck,
  type LatencyFigures,
  type MachineFacts,
  type ReportData,
  type ReturnStats,
  type TeacherInfo,
} from './types.js';

/** Parsed JSON and the file it came from. */
export interface Sourced {
  readonly data: unknown;
  readonly file?: string;
}

export interface ReportInputs {
  /** A report.json written earlier: its parts are kept unless newer inputs replace them. */
  readonly previous?: ReportData | null;
  readonly distill?: Sourced | null;
  readonly compress?: Sourced | null;
  readonly artifacts?: Sourced | null;
  /** Bundle manifests; `file` is the manifest's path. */
  readonly bundles?: readonly Sourced[];
  /** Check reports; a device already in `previous` is replaced, others are added. */
  readonly checks?: readonly Sourced[];
  /** Teacher facts the files do not hold (e.g. the teacher file's size, when the caller can stat it). */
  readonly teacher?: Partial<TeacherInfo> | null;
  readonly machine: MachineFacts;
  readonly generatedAt?: string;
  readonly title?: string;
}

// ---- small readers ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(file: string | undefined, field: string, text: string): EdgeDistillError {
  return new EdgeDistillError('BAD_CONFIG', text, { file, field });
}

/** Reads a value at a dotted path. */
function at(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) {
    if (!isObj(v)) return undefined;
    v = v[k];
  }
  return v;
}

/** First of several paths that is present (not undefined/null). */
function first(o: unknown, ...paths: string[]): { value: unknown; path: string } {
  for (const p of paths) {
    const v = at(o, p);
    if (v !== undefined && v !== null) return { value: v, path: p };
  }
  return { value: null, path: paths[0] };
}

function numAt(o: unknown, file: string | undefined, prefix: string, ...paths: string[]): number | null {
  const { value, path } = first(o, ...paths);
  if (value === null) return null;
  if (typeof value !== 'number') throw bad(file, `${prefix}${path}`, `expected a number, got ${JSON.stringify(value)}`);
  return Number.isFinite(value) ? value : null;
}

/** Infinity is kept for errors (a NaN output is the worst error there is); JSON writes it as null, so "Infinity" strings are read back too. */
function errAt(o: unknown, file: string | undefined, prefix: string, ...paths: string[]): number | null {
  const { value, path } = first(o, ...paths);
  if (value === null) return null;
  if (value === 'Infinity') return Infinity;
  if (typeof value !== 'number') throw bad(file, `${prefix}${path}`, `expected a number, got ${JSON.stringify(value)}`);
  return value;
}

function strAt(o: unknown, file: string | undefined, prefix: string, ...paths: string[]): string | null {
  const { value, path } = first(o, ...paths);
  if (value === null) return null;
  if (typeof value !== 'string' && typeof value !== 'number') throw bad(file, `${prefix}${path}`, `expected a string, got ${JSON.stringify(value)}`);
  return String(value);
}

function boolAt(o: unknown, file: string | undefined, prefix: string, ...paths: string[]): boolean | null {
  const { value, path } = first(o, ...paths);
  if (value === null) return null;
  if (typeof value !== 'boolean') throw bad(file, `${prefix}${path}`, `expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

function role(v: string | null): 'teacher' | 'student' | null {
  return v === 'teacher' || v === 'student' ? v : null;
}

function returnStats(v: unknown, file: string | undefined, field: string): ReturnStats | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? { mean: v, std: 0, min: null, max: null, episodes: null } : null;
  if (Array.isArray(v)) {
    // Per-episode returns.
    const xs = v.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    if (xs.length === 0) return null;
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    return { mean, std, min: Math.min(...xs), max: Math.max(...xs), episodes: xs.length };
  }
  if (!isObj(v)) throw bad(file, field, 'expected return statistics {mean, std}');
  const mean = numAt(v, file, `${field}.`, 'mean');
  if (mean === null) return null;
  return {
    mean,
    std: numAt(v, file, `${field}.`, 'std') ?? 0,
    min: numAt(v, file, `${field}.`, 'min'),
    max: numAt(v, file, `${field}.`, 'max'),
    episodes: numAt(v, file, `${field}.`, 'episodes'),
  };
}

// ---- parts ----

/** A distill report (`edgedistill distill` -> report.json). */
export function isDistillReport(v: unknown): boolean {
  return isObj(v) && Array.isArray(v.curve) && isObj(v.student) && isObj(v.teacher);
}

export function normalizeDistill(s: Sourced): DistillReport {
  const d = s.data;
  if (!isObj(d)) throw bad(s.file, '', 'a distill report must be a JSON object');
  if (!Array.isArray(d.curve)) throw bad(s.file, 'curve', 'a distill report needs its learning curve (an array)');
  if (!isObj(d.student)) throw bad(s.file, 'student', 'a distill report needs its student section');
  if (!isObj(d.teacher)) throw bad(s.file, 'teacher', 'a distill report needs its teacher section');
  d.curve.forEach((p, i) => {
    if (!isObj(p) || typeof p.samples !== 'number') throw bad(s.file, `curve.${i}.samples`, 'each curve point needs a number of samples');
  });
  return d as unknown as DistillReport;
}

/** artifacts.json: `{format: 'edgedistill-artifacts', artifacts: [...]}` (every entry is a student export), or a bare list. */
export function normalizeArtifacts(s: Sourced): ArtifactRecord[] {
  const d = s.data;
  const list = Array.isArray(d) ? d : isObj(d) && Array.isArray(d.artifacts) ? d.artifacts : null;
  if (!list) throw bad(s.file, 'artifacts', 'expected an array of artifacts (or {artifacts: [...]})');
  const exported = isObj(d) && d.format === 'edgedistill-artifacts';
  return list.map((a, i): ArtifactRecord => {
    const p = `${Array.isArray(d) ? '' : 'artifacts.'}${i}.`;
    if (!isObj(a)) throw bad(s.file, p.slice(0, -1), 'each artifact must be an object');
    const file = strAt(a, s.file, p, 'file', 'path');
    const format = strAt(a, s.file, p, 'format') ?? 'unknown';
    const status = strAt(a, s.file, p, 'status');
    const reasons = Array.isArray(a.reasons) ? a.reasons.filter((r): r is string => typeof r === 'string') : [];
    return {
      name: strAt(a, s.file, p, 'name') ?? format,
      role: role(strAt(a, s.file, p, 'role')) ?? (exported ? 'student' : null),
      format,
      precision: strAt(a, s.file, p, 'precision'),
      runtime: strAt(a, s.file, p, 'runtime'),
      file,
      bytes: numAt(a, s.file, p, 'bytes', 'size'),
      sha256: strAt(a, s.file, p, 'sha256'),
      maxAbsError: errAt(a, s.file, p, 'maxAbsErrorVsIR', 'maxAbsError', 'parity.maxAbsError'),
      maxAbsErrorVsReference: errAt(a, s.file, p, 'maxAbsErrorVsReference'),
      reference: strAt(a, s.file, p, 'reference'),
      tolerance: numAt(a, s.file, p, 'tolerance', 'parity.tolerance'),
      agreementVsIr: numAt(a, s.file, p, 'actionAgreementVsIR', 'agreementVsIr', 'parity.agreementVsIr'),
      agreementVsTeacher: numAt(a, s.file, p, 'actionAgreementVsTeacher', 'agreementVsTeacher', 'parity.agreementVsTeacher'),
      passed: status === 'pass' ? true : status === 'fail' ? false : status === 'not run' ? null : boolAt(a, s.file, p, 'passed', 'parity.passed'),
      reasons,
    };
  });
}

const scalar = (v: unknown): v is string | number | boolean | null =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Scalars of an object, nested objects flattened one level (`int8.scale`); arrays are left out. */
function flatRow(o: Obj): CompressRow {
  const row: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(o)) {
    if (scalar(v)) row[k] = v;
    else if (isObj(v)) for (const [k2, v2] of Object.entries(v)) if (scalar(v2)) row[`${k}.${k2}`] = v2;
  }
  return row;
}

/** A row of compress-report.json as `edgedistill compress` writes it (pipeline/src/compress/report.ts). */
function compressStepRow(r: Obj, file: string | undefined, p: string): CompressRow {
  const agreement = numAt(r, file, p, 'agreement');
  const hidden = Array.isArray(r.hidden) ? r.hidden.join('×') : null;
  return {
    step: strAt(r, file, p, 'label', 'step'),
    kept: boolAt(r, file, p, 'kept'),
    hidden: hidden || null,
    params: numAt(r, file, p, 'params'),
    nonzero: numAt(r, file, p, 'nonzeroParams'),
    bytes: numAt(r, file, p, 'bytes.raw'),
    'gzip bytes': numAt(r, file, p, 'bytes.gzip'),
    storage: strAt(r, file, p, 'bytes.format', 'semantics'),
    ...(agreement !== null || r.actionError === null || r.actionError === undefined ? { agreement } : { 'action error': numAt(r, file, p, 'actionError') }),
    retention: numAt(r, file, p, 'returnRetention'),
    return: numAt(r, file, p, 'return.mean'),
    targets: r.targetsMet === true ? 'met' : r.targetsMet === false ? 'missed' : null,
    seconds: numAt(r, file, p, 'seconds'),
  };
}

export function normalizeCompress(s: Sourced): CompressSummary {
  const d = s.data;
  const steps = Array.isArray(d) ? d : isObj(d) ? (d.steps ?? d.table ?? null) : null;
  if (!Array.isArray(steps)) throw bad(s.file, 'steps', 'expected the compression steps as an array (or {steps: [...]})');
  const rows = steps.map((r, i) => {
    if (!isObj(r)) throw bad(s.file, `steps.${i}`, 'each step must be an object');
    return isObj(r.bytes) && 'label' in r ? compressStepRow(r, s.file, `steps.${i}.`) : flatRow(r);
  });
  const facts: Record<string, string | number | boolean | null> = {};
  if (isObj(d)) {
    const res = d.result;
    if (isObj(res)) {
      const hidden = Array.isArray(res.hidden) ? res.hidden.join('×') : '';
      facts.result = `${hidden ? `${hidden}, ` : ''}${typeof res.params === 'number' ? `${res.params.toLocaleString('en-US')} params` : ''}${typeof res.semantics === 'string' ? `, ${res.semantics}` : ''}`;
      for (const [k, label] of [['agreement', 'agreement'], ['actionError', 'action error'], ['returnRetention', 'retention']] as const) {
        if (typeof res[k] === 'number') facts[label] = res[k] as number;
      }
      if (typeof res.targetsMet === 'boolean') facts['targets met'] = res.targetsMet;
    }
    for (const [k, v] of Object.entries(d)) if (scalar(v) && k !== 'format' && k !== 'version' && k !== 'machine') facts[k] = v;
  }
  const notes = isObj(d) && Array.isArray(d.notes) ? d.notes.filter((n): n is string => typeof n === 'string') : [];
  return { steps: rows, facts, notes };
}

export function isBundleManifest(v: unknown): boolean {
  return isObj(v) && typeof v.format === 'string' && v.format.startsWith('edgedistill.bundle/');
}

export function normalizeBundle(s: Sourced): BundleRecord {
  const m = s.data;
  if (!isBundleManifest(m)) throw bad(s.file, 'format', 'not a bundle manifest (format edgedistill.bundle/1)');
  const o = m as Obj;
  const files = isObj(o.files) ? o.files : {};
  const list = Array.isArray(o.artifacts) ? o.artifacts : [];
  const budgets: Record<string, number> = {};
  if (isObj(o.budgets)) for (const [k, v] of Object.entries(o.budgets)) if (typeof v === 'number') budgets[k] = v;
  let bytes = 0;
  for (const f of Object.values(files)) if (isObj(f) && typeof f.bytes === 'number') bytes += f.bytes;
  return {
    device: strAt(o, s.file, '', 'device') ?? 'unknown',
    dir: s.file ? s.file.replace(/[\\/]?manifest\.json$/, '') || '.' : '.',
    envId: strAt(o, s.file, '', 'envId'),
    artifacts: list.map((a, i) => {
      const p = `artifacts.${i}.`;
      const path = strAt(a, s.file, p, 'path');
      const f = path ? files[path] : undefined;
      return {
        name: strAt(a, s.file, p, 'name') ?? path ?? `#${i}`,
        role: strAt(a, s.file, p, 'role') ?? '',
        format: strAt(a, s.file, p, 'format') ?? '',
        backend: strAt(a, s.file, p, 'backend') ?? '',
        bytes: isObj(f) && typeof f.bytes === 'number' ? f.bytes : null,
      };
    }),
    budgets: Object.keys(budgets).length ? budgets : null,
    files: Object.keys(files).length,
    bytes,
  };
}

export function isCheckReport(v: unknown): boolean {
  return isObj(v) && Array.isArray(v.artifacts) && Array.isArray(v.budgets) && (typeof v.device === 'string' || isObj(v.platform));
}

function platform(o: unknown, file: string | undefined, prefix: string): MachineFacts {
  return {
    hostname: strAt(o, file, prefix, 'hostname'),
    cpu: strAt(o, file, prefix, 'cpuModel', 'cpu'),
    board: strAt(o, file, prefix, 'board'),
    cores: numAt(o, file, prefix, 'cores'),
    arch: strAt(o, file, prefix, 'arch'),
    os: [strAt(o, file, prefix, 'os'), strAt(o, file, prefix, 'osRelease')].filter(Boolean).join(' ') || null,
    node: strAt(o, file, prefix, 'nodeVersion', 'node'),
    memMiB: numAt(o, file, prefix, 'totalMemMiB', 'memMiB'),
  };
}

function latency(v: unknown, file: string | undefined, field: string): LatencyFigures | null {
  if (v === null || v === undefined) return null;
  if (!isObj(v)) throw bad(file, field, 'expected latency figures {p50, p90, p99, max, calls}');
  const p = `${field}.`;
  const p50 = numAt(v, file, p, 'p50');
  const p90 = numAt(v, file, p, 'p90');
  const p99 = numAt(v, file, p, 'p99');
  const max = numAt(v, file, p, 'max');
  if (p50 === null || p99 === null) throw bad(file, `${field}.p50`, 'latency needs at least p50 and p99');
  return { p50, p90: p90 ?? p50, p99, max: max ?? p99, min: numAt(v, file, p, 'min'), mean: numAt(v, file, p, 'mean'), calls: numAt(v, file, p, 'calls') };
}

export function normalizeCheck(s: Sourced): DeviceCheck {
  const d = s.data;
  if (!isCheckReport(d)) throw bad(s.file, 'artifacts', 'not a check report (needs device, platform, artifacts and budgets)');
  const o = d as Obj;
  const f = s.file;
  const plat = platform(o.platform, f, 'platform.');
  const device = strAt(o, f, '', 'device') ?? plat.hostname ?? 'device';
  const artifacts = (o.artifacts as unknown[]).map((a, i): CheckArtifact => {
    const p = `artifacts.${i}.`;
    if (!isObj(a)) throw bad(f, p.slice(0, -1), 'each artifact must be an object');
    return {
      name: strAt(a, f, p, 'name') ?? `#${i}`,
      role: role(strAt(a, f, p, 'role')),
      format: strAt(a, f, p, 'format'),
      backend: strAt(a, f, p, 'backend'),
      latencyUs: latency(a.latencyUs, f, `${p}latencyUs`),
      agreement: numAt(a, f, p, 'agreement'),
      actionRmse: numAt(a, f, p, 'actionRmseVsTeacher', 'actionRmse'),
      maxAbsError: errAt(a, f, p, 'maxAbsErrorVsDesktop', 'maxAbsError'),
      return: returnStats(first(a, 'return', 'returns').value, f, `${p}return`),
      returnRetention: numAt(a, f, p, 'returnRetention'),
    };
  });
  const budgets = (o.budgets as unknown[]).map((b, i): BudgetVerdict => {
    const p = `budgets.${i}.`;
    if (!isObj(b)) throw bad(f, p.slice(0, -1), 'each budget must be an object');
    const limit = numAt(b, f, p, 'limit');
    const passed = boolAt(b, f, p, 'passed');
    if (limit === null) throw bad(f, `${p}limit`, 'a budget needs its limit');
    if (passed === null) throw bad(f, `${p}passed`, 'a budget needs its verdict');
    const op = strAt(b, f, p, 'op');
    return {
      name: strAt(b, f, p, 'name') ?? `budget ${i}`,
      artifact: strAt(b, f, p, 'artifact'),
      op: op === '<=' || op === '>=' ? op : null,
      limit,
      value: numAt(b, f, p, 'value'),
      passed,
      note: strAt(b, f, p, 'note'),
    };
  });
  return {
    key: `${device}@${plat.hostname ?? '?'}`,
    device,
    hostname: plat.hostname,
    file: f ?? null,
    date: strAt(o, f, '', 'startedAt', 'date'),
    envId: strAt(o, f, '', 'bundle.envId', 'envId'),
    platform: plat,
    artifacts,
    randomReturn: returnStats(first(o, 'random.return', 'random').value, f, 'random.return'),
    budgets,
    passed: boolAt(o, f, '', 'passed') ?? (budgets.length ? budgets.every((b) => b.passed) : null),
    peakRssMiB: numAt(o, f, '', 'memory.peakRssMiBStudents', 'memory.peakRssMiB'),
  };
}

function teacherFrom(distill: DistillReport | null, artifacts: readonly ArtifactRecord[], bundles: readonly BundleRecord[], extra: Partial<TeacherInfo> | null | undefined, previous: TeacherInfo | null): TeacherInfo | null {
  const t = distill?.teacher;
  const art = artifacts.find((a) => a.role === 'teacher');
  const bundled = bundles.flatMap((b) => b.artifacts).find((a) => a.role === 'teacher' && a.bytes !== null);
  const file = extra?.file ?? t?.files?.[0] ?? art?.file ?? previous?.file ?? null;
  if (!t && !art && !bundled && !extra && !previous) return null;
  return {
    name: extra?.name ?? (file ? basename(file) : (art?.name ?? previous?.name ?? 'teacher')),
    file,
    sha256: extra?.sha256 ?? t?.sha256?.[0] ?? art?.sha256 ?? previous?.sha256 ?? null,
    params: extra?.params ?? t?.params ?? previous?.params ?? null,
    bytes: extra?.bytes ?? art?.bytes ?? bundled?.bytes ?? previous?.bytes ?? null,
    outputKind: extra?.outputKind ?? t?.outputKind ?? previous?.outputKind ?? null,
    return: extra?.return ?? (t?.return ? returnStats(t.return, undefined, 'teacher.return') : null) ?? previous?.return ?? null,
  };
}

/** Merges keyed records: later ones replace earlier ones with the same key, order of first appearance kept. */
function mergeBy<T>(key: (t: T) => string, ...lists: (readonly T[])[]): T[] {
  const m = new Map<string, T>();
  for (const l of lists) for (const x of l) m.set(key(x), x);
  return [...m.values()];
}

export function buildReport(inputs: ReportInputs): ReportData {
  const prev = inputs.previous ?? null;
  if (prev && prev.schema !== REPORT_SCHEMA) {
    throw bad(undefined, 'schema', `report.json has schema ${JSON.stringify(prev.schema)}, this version reads ${REPORT_SCHEMA}`);
  }
  const distill = inputs.distill ? normalizeDistill(inputs.distill) : (prev?.distill ?? null);
  const compress = inputs.compress ? normalizeCompress(inputs.compress) : (prev?.compress ?? null);
  const artifacts = inputs.artifacts ? normalizeArtifacts(inputs.artifacts) : [...(prev?.artifacts ?? [])];
  const bundles = mergeBy((b: BundleRecord) => b.dir, prev?.bundles ?? [], (inputs.bundles ?? []).map(normalizeBundle));
  const checks = mergeBy((c: DeviceCheck) => c.key, prev?.checks ?? [], (inputs.checks ?? []).map(normalizeCheck));
  const sources = [
    ...(prev?.sources ?? []),
    ...[inputs.distill, inputs.compress, inputs.artifacts, ...(inputs.bundles ?? []), ...(inputs.checks ?? [])]
      .map((s) => s?.file)
      .filter((f): f is string => Boolean(f)),
  ];
  const env = distill?.env ?? checks.find((c) => c.envId)?.envId ?? bundles.find((b) => b.envId)?.envId ?? prev?.env ?? null;
  const generatedAt = inputs.generatedAt ?? new Date().toISOString();
  return {
    schema: REPORT_SCHEMA,
    title: inputs.title ?? prev?.title ?? `edgedistill report${env ? `: ${env}` : ''}`,
    generatedAt,
    env,
    teacher: teacherFrom(distill, artifacts, bundles, inputs.teacher, prev?.teacher ?? null),
    distill,
    compress,
    artifacts,
    bundles,
    checks,
    machine: { ...inputs.machine, date: generatedAt },
    sources: [...new Set(sources)],
  };
}
