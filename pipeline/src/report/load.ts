/**
 * The report's side effects: find what each stage wrote in an output directory (and files added
 * with --add), read the machine's facts, and write report.html and report.json atomically.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as os from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { writeFileAtomic } from '../util/atomic-write.js';
import { buildReport, isBundleManifest, isCheckReport, isDistillReport, type ReportInputs, type Sourced } from './build.js';
import { renderReportHtml } from './html.js';
import { REPORT_SCHEMA, type MachineFacts, type ReportData } from './types.js';

export const REPORT_JSON = 'report.json';
export const REPORT_HTML = 'report.html';
/**
 * Where the aggregate goes when OUT/report.json is distill's own report (OUT is a distill output
 * directory): compress reads that file for the evaluation seeds, so it is never overwritten.
 */
export const REPORT_DATA_JSON = 'report-data.json';

/** JSON has no Infinity; an infinite error (a NaN output) is written as the string "Infinity". */
export function reportToJson(d: ReportData): string {
  return `${JSON.stringify(d, (_k, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2)}\n`;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read: ${(e as Error).message}`, { file, cause: e });
  }
  try {
    return JSON.parse(text, (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v));
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
}

export function machineFacts(): MachineFacts {
  return {
    hostname: os.hostname(),
    cpu: os.cpus()[0]?.model?.trim() || null,
    board: null,
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    arch: process.arch,
    os: `${process.platform} ${os.release()}`,
    node: process.version,
    memMiB: Math.round(os.totalmem() / 1048576),
  };
}

const isReportData = (v: unknown): v is ReportData => typeof v === 'object' && v !== null && (v as { schema?: unknown }).schema === REPORT_SCHEMA;
const looksLikeArtifacts = (v: unknown) => {
  const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? (v as { artifacts?: unknown }).artifacts : null;
  return Array.isArray(list) && list.every((a) => typeof a === 'object' && a !== null && 'format' in a);
};
const looksLikeCompress = (v: unknown) => typeof v === 'object' && v !== null && Array.isArray((v as { steps?: unknown }).steps ?? (v as { table?: unknown }).table);

/** Files under `dir` (up to `depth` levels), skipping dot directories and node_modules. */
function walk(dir: string, depth: number, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory() && depth > 0) walk(p, depth - 1, out);
    else if (e.isFile() && e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

export interface CollectedInputs {
  inputs: Omit<ReportInputs, 'machine'>;
  /** True when OUT/report.json is distill's report: the aggregate then goes to report-data.json. */
  distillAtReportJson: boolean;
}

/**
 * What is in `dir`: report.json (an earlier aggregate, or distill's report), a distill report,
 * compress-report.json, artifacts.json, bundle manifests and check reports (three levels deep),
 * then the `add` files, classified by content. Later files replace earlier ones; check reports
 * are keyed by device and host, so one per device accumulates across runs.
 */
export function collectInputs(dir: string, add: readonly string[] = []): CollectedInputs {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new EdgeDistillError('BAD_ARGUMENT', 'not a directory', { file: dir, field: '--dir' });
  }
  const label = (f: string) => {
    const r = relative(dir, f);
    return r.startsWith('..') || isAbsolute(r) ? f : r;
  };
  let previous: ReportData | null = null;
  let distill: Sourced | null = null;
  let compress: Sourced | null = null;
  let artifacts: Sourced | null = null;
  const bundles: Sourced[] = [];
  const checks: Sourced[] = [];
  let distillAtReportJson = false;
  const root = join(dir, REPORT_JSON);
  const rootData = join(dir, REPORT_DATA_JSON);

  for (const f of walk(dir, 3)) {
    const name = f.slice(f.lastIndexOf('/') + 1);
    const known = [REPORT_JSON, REPORT_DATA_JSON, 'distill-report.json', 'compress-report.json', 'artifacts.json', 'manifest.json', 'check-report.json'];
    if (!known.includes(name)) continue;
    const data = readJson(f);
    const s = { data, file: label(f) };
    if ((f === root || f === rootData) && isReportData(data)) previous = data;
    else if (isDistillReport(data)) {
      // The root's own distill report wins over ones in subdirectories.
      if (!distill || f === root) distill = s;
      if (f === root) distillAtReportJson = true;
    } else if (name === 'compress-report.json') compress = s;
    else if (name === 'artifacts.json') artifacts = s;
    else if (name === 'manifest.json' && isBundleManifest(data)) bundles.push(s);
    else if (name === 'check-report.json' && isCheckReport(data)) checks.push(s);
  }
  for (const f of add) {
    const data = readJson(f);
    const s = { data, file: label(resolve(f)) };
    if (isCheckReport(data)) checks.push(s);
    else if (isDistillReport(data)) distill = s;
    else if (isBundleManifest(data)) bundles.push(s);
    else if (isReportData(data)) throw new EdgeDistillError('BAD_ARGUMENT', 'this is a report.json; --add takes the files a report is built from', { file: f, field: '--add', suggestion: 'add check-report.json, artifacts.json, compress-report.json, a distill report or a bundle manifest.json' });
    else if (looksLikeCompress(data)) compress = s;
    else if (looksLikeArtifacts(data)) artifacts = s;
    else {
      throw new EdgeDistillError('BAD_ARGUMENT', 'not a file the report knows', {
        file: f,
        field: '--add',
        suggestion: 'add check-report.json, artifacts.json, compress-report.json, a distill report or a bundle manifest.json',
      });
    }
  }
  // The teacher's file size, when the distill report names a file we can see.
  const teacherFile =
    (distill?.data as { teacher?: { files?: string[] } } | undefined)?.teacher?.files?.[0] ??
    (artifacts?.data as { teacher?: { file?: string } } | undefined)?.teacher?.file;
  let teacher: ReportInputs['teacher'] = null;
  if (teacherFile) {
    for (const p of [teacherFile, join(dir, teacherFile)]) {
      try {
        const st = statSync(p);
        if (st.isFile()) {
          teacher = { bytes: st.size };
          break;
        }
      } catch {
        /* not here */
      }
    }
  }
  return { inputs: { previous, distill, compress, artifacts, bundles, checks, teacher }, distillAtReportJson };
}

export interface WrittenReport {
  html: string;
  /** OUT/report.json, or OUT/report-data.json when OUT/report.json is distill's report. */
  json: string;
  data: ReportData;
}

/**
 * Builds the report from `dir` (+ `add`) and writes OUT/report.html and OUT/report.json (or
 * OUT/report-data.json, when report.json is distill's report and must stay as it is).
 */
export async function writeReport(dir: string, add: readonly string[] = [], opts: { machine?: MachineFacts; generatedAt?: string } = {}): Promise<WrittenReport> {
  const { inputs, distillAtReportJson } = collectInputs(dir, add);
  const data = buildReport({ ...inputs, machine: opts.machine ?? machineFacts(), generatedAt: opts.generatedAt });
  const html = join(dir, REPORT_HTML);
  const json = join(dir, distillAtReportJson ? REPORT_DATA_JSON : REPORT_JSON);
  await writeFileAtomic(json, reportToJson(data));
  await writeFileAtomic(html, renderReportHtml(data));
  return { html, json, data };
}
