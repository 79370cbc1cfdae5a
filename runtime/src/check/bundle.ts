/**
 * Reading a bundle on the device: manifest.json checked against the contract
 * (../bundle/manifest.ts), every listed file's size and sha256 checked, the golden set read.
 * A bad bundle is an `EdgeDistillError` (`BAD_CONFIG` for the manifest or golden set, `CHECKSUM`
 * for a file that does not match) listing every problem, not only the first.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { EdgeDistillError, type ErrorDetail } from '../errors.js';
import { BUNDLE_FORMAT, type BundleArtifact, type BundleManifest, type GoldenSet } from '../bundle/manifest.js';

export const MANIFEST_FILE = 'manifest.json';
const BACKENDS = ['js', 'ort-node', 'ort-web', 'litert'];

export interface ReadBundle {
  /** Absolute bundle directory. */
  readonly dir: string;
  readonly manifestPath: string;
  readonly manifest: BundleManifest;
  /** sha256 of manifest.json's bytes: names the exact bundle a report is about. */
  readonly manifestSha256: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A bundle path: relative, forward slashes, no `.`/`..`/empty segments, not manifest.json. */
export function bundlePathProblem(p: string): string | null {
  if (p.length === 0) return 'is empty';
  if (isAbsolute(p) || p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'must be relative to the bundle root';
  if (p.includes('\\')) return 'must use forward slashes';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'must not contain empty, "." or ".." segments';
  if (p === MANIFEST_FILE) return 'manifest.json does not list itself';
  return null;
}

/** Every way `value` breaks the manifest contract, as located details (empty when it is valid). */
export function manifestProblems(value: unknown, file?: string): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const add = (field: string, text: string): void => {
    problems.push({ file, field, text });
  };
  if (!isRecord(value)) {
    add('', 'must be a JSON object');
    return problems;
  }
  const m = value;
  if (m.format !== BUNDLE_FORMAT) add('format', `must be '${BUNDLE_FORMAT}', got ${JSON.stringify(m.format)}`);
  for (const k of ['device', 'envId', 'golden'] as const) {
    if (typeof m[k] !== 'string' || m[k] === '') add(k, 'must be a non-empty string');
  }
  for (const k of ['profile', 'card'] as const) if (!isRecord(m[k])) add(k, 'must be an object');
  if (!Number.isInteger(m.checkEpisodes) || (m.checkEpisodes as number) < 1) {
    add('checkEpisodes', `must be a positive integer, got ${JSON.stringify(m.checkEpisodes)}`);
  }

  const b = m.budgets;
  if (!isRecord(b)) add('budgets', 'must be an object');
  else {
    const num = (k: string, ok: (v: number) => boolean, what: string): void => {
      const v = b[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) add(`budgets.${k}`, `must be ${what}, got ${JSON.stringify(v)}`);
    };
    num('controlPeriodUs', (v) => v > 0, 'a positive number of microseconds');
    num('maxRssMiB', (v) => v > 0, 'a positive number of MiB');
    num('minAgreement', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
    num('minReturnRetention', () => true, 'a finite number');
  }

  const files = m.files;
  if (!isRecord(files)) add('files', 'must be an object of path -> {sha256, bytes}');
  else {
    for (const [p, f] of Object.entries(files)) {
      const bad = bundlePathProblem(p);
      if (bad) add(`files["${p}"]`, `path ${bad}`);
      if (!isRecord(f)) {
        add(`files["${p}"]`, 'must be {sha256, bytes}');
        continue;
      }
      if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) add(`files["${p}"].sha256`, 'must be 64 lowercase hex digits');
      if (!Number.isInteger(f.bytes) || (f.bytes as number) < 0) add(`files["${p}"].bytes`, 'must be a non-negative integer');
    }
  }
  // Optional, written by `edgedistill bundle`: where the device CLI is (flash runs it).
  if (m.runtime !== undefined) {
    const rt = m.runtime;
    if (!isRecord(rt)) add('runtime', 'must be an object {entry, nodeRange, packages}');
    else if (typeof rt.entry !== 'string' || bundlePathProblem(rt.entry) !== null) add('runtime.entry', 'must be a path relative to the bundle root');
  }
  const listed = (p: unknown): boolean => typeof p === 'string' && isRecord(files) && Object.hasOwn(files, p);
  if (typeof m.golden === 'string' && m.golden !== '' && !listed(m.golden)) add('golden', `'${m.golden}' is not listed in files`);

  const arts = m.artifacts;
  if (!Array.isArray(arts) || arts.length === 0) add('artifacts', 'must be a non-empty array');
  else {
    const names = new Set<string>();
    let teachers = 0;
    let students = 0;
    arts.forEach((a: unknown, i) => {
      const at = `artifacts[${i}]`;
      if (!isRecord(a)) {
        add(at, 'must be an object');
        return;
      }
      for (const k of ['name', 'path', 'format', 'goldenKey'] as const) {
        if (typeof a[k] !== 'string' || a[k] === '') add(`${at}.${k}`, 'must be a non-empty string');
      }
      if (typeof a.name === 'string') {
        if (names.has(a.name)) add(`${at}.name`, `'${a.name}' is used by another artifact`);
        names.add(a.name);
      }
      if (a.role === 'teacher') teachers++;
      else if (a.role === 'student') students++;
      else add(`${at}.role`, `must be 'teacher' or 'student', got ${JSON.stringify(a.role)}`);
      if (!BACKENDS.includes(a.backend as string)) add(`${at}.backend`, `must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(a.backend)}`);
      if (typeof a.path === 'string' && a.path !== '' && !listed(a.path)) add(`${at}.path`, `'${a.path}' is not listed in files`);
    });
    if (teachers !== 1) add('artifacts', `must hold exactly one teacher, found ${teachers}`);
    if (students < 1) add('artifacts', 'must hold at least one student');
  }
  return problems;
}

/** Reads and checks `<dir>/manifest.json` (files are not hashed here: see {@link verifyBundleFiles}). */
export function readBundleManifest(bundleDir: string): ReadBundle {
  // The real directory: flash points `current` at a release, and the report should name the release.
  let dir = resolve(bundleDir);
  try {
    dir = realpathSync(dir);
  } catch {
    /* missing: reported below as no manifest */
  }
  const manifestPath = join(dir, MANIFEST_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(manifestPath);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EdgeDistillError('BAD_CONFIG', missing ? `no ${MANIFEST_FILE} in ${dir}: not a bundle directory` : `cannot read ${MANIFEST_FILE}: ${(e as Error).message}`, {
      file: manifestPath,
      cause: e,
      suggestion: missing ? 'pass the release directory that `edgedistill bundle` wrote (it holds manifest.json)' : undefined,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `${MANIFEST_FILE} is not valid JSON: ${(e as Error).message}`, { file: manifestPath, cause: e });
  }
  const problems = manifestProblems(value, manifestPath);
  if (problems.length > 0) {
    const first = problems[0];
    throw new EdgeDistillError(
      'BAD_CONFIG',
      `${MANIFEST_FILE} does not match ${BUNDLE_FORMAT} (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${first.field ? `${first.field} ` : ''}${first.text}`,
      { file: manifestPath, field: first.field || undefined, details: problems, suggestion: 're-create the bundle with `edgedistill bundle`' },
    );
  }
  return { dir, manifestPath, manifest: value as BundleManifest, manifestSha256: sha256Hex(bytes) };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of a file, read in 64 KiB pieces (a large file must not raise the peak RSS we measure). */
export function sha256File(path: string, chunk: Buffer = Buffer.allocUnsafe(64 * 1024)): { sha256: string; bytes: number } {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), bytes: total };
}

/**
 * Checks every file the manifest lists (size, then sha256). Any mismatch or missing file is one
 * `EdgeDistillError('CHECKSUM')` naming the first bad file in `file` and all of them in `details`.
 */
export function verifyBundleFiles(bundle: ReadBundle, onFile?: (done: number, total: number, path: string) => void): void {
  const entries = Object.entries(bundle.manifest.files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const bad: ErrorDetail[] = [];
  const names: string[] = [];
  const chunk = Buffer.allocUnsafe(64 * 1024);
  entries.forEach(([rel, want], i) => {
    onFile?.(i, entries.length, rel);
    const abs = join(bundle.dir, rel);
    let problem: string | null = null;
    try {
      const st = statSync(abs);
      if (!st.isFile()) problem = 'is not a regular file';
      else if (st.size !== want.bytes) problem = `has ${st.size} bytes, the manifest says ${want.bytes}`;
      else {
        const got = sha256File(abs, chunk);
        if (got.sha256 !== want.sha256) problem = `sha256 ${got.sha256} does not match the manifest's ${want.sha256}`;
      }
    } catch (e) {
      problem = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read: ${(e as Error).message}`;
    }
    if (problem) {
      bad.push({ file: abs, field: `files["${rel}"]`, text: `${rel} ${problem}` });
      names.push(rel);
    }
  });
  onFile?.(entries.length, entries.length, '');
  if (bad.length > 0) {
    throw new EdgeDistillError(
      'CHECKSUM',
      `${bad.length} bundle file${bad.length === 1 ? '' : 's'} do${bad.length === 1 ? 'es' : ''} not match ${MANIFEST_FILE}: ${names.join(', ')} (${bad[0].text}); nothing was measured`,
      {
        file: bad[0].file,
        field: bad[0].field,
        details: bad,
        suggestion: 'the bundle was changed or damaged after it was built: flash it again',
      },
    );
  }
}

/**
 * Reads the golden set and checks it against the artifacts that will be compared with it:
 * `obs` rows of `obsDim` finite numbers, and for each artifact's goldenKey one row of outputs
 * per observation.
 */
export function readGoldenSet(bundle: ReadBundle, obsDim: number): GoldenSet {
  const file = join(bundle.dir, bundle.manifest.golden);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `cannot read the golden set: ${(e as Error).message}`, { file, cause: e });
  }
  const problems: ErrorDetail[] = [];
  const add = (field: string, text: string): void => {
    problems.push({ file, field, text });
  };
  const finiteRows = (rows: unknown, field: string, width: number | null): number[][] | null => {
    if (!Array.isArray(rows)) {
      add(field, 'must be an array of rows');
      return null;
    }
    let w = width;
    for (let r = 0; r < rows.length; r++) {
      const row: unknown = rows[r];
      if (!Array.isArray(row) || row.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
        add(`${field}[${r}]`, 'must be an array of finite numbers');
        return null;
      }
      if (w === null) w = row.length;
      if (row.length !== w) {
        add(`${field}[${r}]`, `has ${row.length} values, expected ${w}`);
        return null;
      }
    }
    return rows as number[][];
  };
  if (!isRecord(value)) add('', 'must be a JSON object {obsDim, obs, outputs}');
  else {
    if (value.obsDim !== obsDim) add('obsDim', `is ${JSON.stringify(value.obsDim)}, but ${bundle.manifest.envId} observations have ${obsDim} values`);
    const obs = finiteRows(value.obs, 'obs', obsDim);
    if (obs && obs.length === 0) add('obs', 'holds no observations');
    if (!isRecord(value.outputs)) add('outputs', 'must be an object of goldenKey -> rows');
    else {
      for (const a of bundle.manifest.artifacts) {
        const field = `outputs["${a.goldenKey}"]`;
        if (!Object.hasOwn(value.outputs, a.goldenKey)) {
          add(field, `is missing (artifact '${a.name}' names it as its goldenKey)`);
          continue;
        }
        const rows = finiteRows(value.outputs[a.goldenKey], field, null);
        if (rows && obs && rows.length !== obs.length) add(field, `has ${rows.length} rows for ${obs.length} observations`);
      }
    }
  }
  if (problems.length > 0) {
    throw new EdgeDistillError('BAD_CONFIG', `the golden set is not usable (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems[0].field} ${problems[0].text}`, {
      file,
      field: problems[0].field || undefined,
      details: problems,
    });
  }
  return value as unknown as GoldenSet;
}

/** Absolute path of an artifact. */
export function artifactPath(bundle: ReadBundle, a: BundleArtifact): string {
  return join(bundle.dir, a.path);
}
