/**
 * The bad-input corpus (test/fixtures/bad, index.json): every entry is fed to each loader and CLI
 * command it lists. A loader must throw an EdgeDistillError with the listed code whose message
 * names the file / field; a command must exit with the listed code, say the same, and leave no
 * file behind in its output directory (flash: nothing anywhere outside the deploy directory).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeDistillError } from '../../runtime/src/errors.js';
import { loadPolicy, type Policy } from '../../runtime/src/index.js';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { readBundleManifest, readGoldenSet, verifyBundleFiles } from '../../runtime/src/check/bundle.js';
import { loadTeacher } from '../../pipeline/src/onnx/import.js';
import { inspectFile } from '../../pipeline/src/onnx/inspect.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { readTrajectoryFile } from '../../pipeline/src/envs/verify.js';
import { readProfileFile } from '../../pipeline/src/devices/index.js';
import { readBundleArchive } from '../../pipeline/src/bundle/index.js';
import { readSafeTarGz } from '../../pipeline/src/util/safe-tar.js';
import { loadRunConfig } from '../../pipeline/src/run/config.js';
import { generateCorpus, makeZipBomb, type CliCheck, type CorpusEntry, type CorpusIndex, type LoaderCheck } from '../fixtures/bad/make-bad.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = join(ROOT, 'test/fixtures/bad');
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as CorpusIndex;
const tmp = mkdtempSync(join(tmpdir(), 'edgedistill-bad-'));
const opened = new Map<string, Promise<Policy>>();

afterAll(async () => {
  for (const p of opened.values()) await (await p.catch(() => null))?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Where an entry's file is (the zip bomb is written to the temp dir first). */
function entryPath(e: CorpusEntry): string {
  if (!e.path) throw new Error(`${e.id} has no file`);
  if (!e.generatedAtTestTime) return join(DIR, e.path);
  const p = join(tmp, 'generated', e.path);
  if (!existsSync(p)) {
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, makeZipBomb());
  }
  return p;
}

/** "#NaN", "#Infinity", "#-Infinity", "#1e39" -> those numbers (JSON cannot hold them). */
function decodeObs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeObs);
  if (typeof v === 'string' && v.startsWith('#')) return Number(v.slice(1));
  return v;
}

function policyFor(model: string, backend: LoaderCheck['backend']): Promise<Policy> {
  const key = `${model}|${backend}`;
  let p = opened.get(key);
  if (!p) {
    p = loadPolicy(join(DIR, model), { backend });
    opened.set(key, p);
  }
  return p;
}

/** Runs one loader check; returns the error (or null) and, when it succeeds, a text to search. */
async function runLoader(e: CorpusEntry, l: LoaderCheck): Promise<{ error: unknown; text: string; importable?: boolean }> {
  try {
    switch (l.loader) {
      case 'loadTeacher': {
        const t = await loadTeacher(entryPath(e));
        await t.dispose();
        return { error: null, text: t.reason ?? '', importable: t.importable };
      }
      case 'inspectFile': {
        const r = await inspectFile(entryPath(e));
        return { error: null, text: r.reason ?? '', importable: r.importable };
      }
      case 'loadPolicy': {
        const p = await loadPolicy(entryPath(e), l.backend ? { backend: l.backend } : {});
        await p.dispose();
        return { error: null, text: '' };
      }
      case 'loadPolicy+act': {
        const p = await loadPolicy(entryPath(e), l.backend ? { backend: l.backend } : {});
        try {
          await p.act(new Float32Array(p.metadata.obsDim));
        } finally {
          await p.dispose();
        }
        return { error: null, text: '' };
      }
      case 'act':
        await (await policyFor(l.model!, l.backend)).act(decodeObs(e.obs) as number[]);
        return { error: null, text: '' };
      case 'actBatch':
        await (await policyFor(l.model!, l.backend)).actBatch(decodeObs(e.obs) as number[][]);
        return { error: null, text: '' };
      case 'openTfliteModel':
        (await openTfliteModel(entryPath(e))).dispose();
        return { error: null, text: '' };
      case 'readPolicyFile':
        await readPolicyFile(entryPath(e));
        return { error: null, text: '' };
      case 'readTrajectoryFile':
        await readTrajectoryFile(entryPath(e));
        return { error: null, text: '' };
      case 'readProfileFile':
        readProfileFile(entryPath(e));
        return { error: null, text: '' };
      case 'readBundleArchive':
        readBundleArchive(entryPath(e));
        return { error: null, text: '' };
      case 'readSafeTarGz': {
        const path = entryPath(e);
        readSafeTarGz(readFileSync(path), path);
        return { error: null, text: '' };
      }
      case 'loadRunConfig':
        loadRunConfig(entryPath(e), { out: join(tmp, 'run-out') });
        return { error: null, text: '' };
      case 'runtime.verifyBundle': {
        const b = readBundleManifest(join(DIR, l.model!));
        verifyBundleFiles(b);
        readGoldenSet(b, 4);
        return { error: null, text: '' };
      }
    }
  } catch (error) {
    return { error, text: '' };
  }
}

// --- the CLI: every command of every entry, run up front a few at a time --------------------------

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Regular files left in {out} (relative), or in the copied bundle beyond what was copied. */
  leftovers: string[];
  /** mustNotEscape names found outside {out}/deploy. */
  escaped: string[];
}

const cliRuns = new Map<string, Promise<CliRun>>();
const cliKey = (e: CorpusEntry, i: number) => `${e.id}#${i}`;

function filesUnder(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...filesUnder(p, base));
    else out.push(relative(base, p));
  }
  return out.sort();
}

/** Every path (files and directories) under `dir`, except below `skip`. */
function pathsUnder(dir: string, skip: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (p === skip) continue;
    out.push(p);
    if (d.isDirectory() && !lstatSync(p).isSymbolicLink()) out.push(...pathsUnder(p, skip));
  }
  return out;
}

async function runCli(e: CorpusEntry, c: CliCheck, n: number): Promise<CliRun> {
  const root = mkdtempSync(join(tmp, `${e.id}-${n}-`));
  const out = join(root, 'out');
  let copy: { src: string; dst: string } | null = null;
  const argv = c.argv.map((a) => {
    const m = /^\{copy:(.+)\}$/.exec(a);
    if (m) {
      copy = { src: join(DIR, m[1]), dst: join(root, 'bundle') };
      cpSync(copy.src, copy.dst, { recursive: true });
      return copy.dst;
    }
    return a.replaceAll('{file}', e.path ? entryPath(e) : '').replaceAll('{out}', out).replaceAll('{fixtures}', DIR);
  });
  for (const name of c.mustNotEscape ?? []) if (name.startsWith('/')) rmSync(name, { recursive: true, force: true });
  const bin = c.bin === 'edgedistill' ? 'pipeline/bin/edgedistill.js' : 'runtime/bin/edgedistill-device.js';
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [join(ROOT, bin), ...argv], { cwd: root, timeout: c.timeoutMs ?? 180_000, maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
  const deploy = join(out, 'deploy');
  let leftovers = filesUnder(out).filter((f) => !f.startsWith(`deploy${'/'}`));
  if (c.argv.includes('flash') && r.code !== 0) leftovers = filesUnder(out);
  if (copy) {
    const { src, dst } = copy as { src: string; dst: string };
    const before = new Set(filesUnder(src));
    leftovers.push(...filesUnder(dst).filter((f) => !before.has(f)).map((f) => `bundle/${f}`));
  }
  const escaped: string[] = [];
  for (const name of c.mustNotEscape ?? []) {
    if (name.startsWith('/')) {
      if (existsSync(name)) escaped.push(name);
      rmSync(name, { recursive: true, force: true });
    } else {
      escaped.push(...pathsUnder(root, deploy).filter((p) => p.endsWith(`/${name}`)).map((p) => relative(root, p)));
    }
  }
  return { ...r, leftovers, escaped };
}

beforeAll(async () => {
  const jobs: (() => Promise<void>)[] = [];
  for (const e of index.entries) {
    e.cli.forEach((c, i) => {
      let resolveRun!: (r: CliRun) => void;
      cliRuns.set(cliKey(e, i), new Promise<CliRun>((r) => (resolveRun = r)));
      jobs.push(async () => resolveRun(await runCli(e, c, i)));
    });
  }
  // Two cores: three commands at a time (most of their time is Node start-up and module loading).
  let next = 0;
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
}, 900_000);

// --- the tests ----------------------------------------------------------------------------------------

describe('the corpus', () => {
  it('is what make-bad.ts generates, byte for byte (tar.gz: the same tar inside)', () => {
    const { files, index: fresh } = generateCorpus();
    expect(fresh).toEqual(index);
    for (const [p, want] of files) {
      const path = join(DIR, p);
      expect(existsSync(path), `${p} is missing: run node --import tsx test/fixtures/bad/make-bad.ts`).toBe(true);
      const got = readFileSync(path);
      if (p.endsWith('.tar.gz') && want[0] === 0x1f && want[1] === 0x8b && !p.includes('truncated')) {
        expect(gunzipSync(got).equals(gunzipSync(want)), p).toBe(true);
      } else if (p.endsWith('.tar.gz') && p.includes('truncated')) {
        expect(got.length, p).toBe(want.length);
      } else {
        expect(got.equals(Buffer.from(want)), p).toBe(true);
      }
    }
    const onDisk = filesUnder(DIR).filter((f) => f !== 'make-bad.ts');
    expect(onDisk.sort()).toEqual([...files.keys()].sort());
  });

  it('every entry is fed to at least one loader or command, or says why it is pending', () => {
    const ids = new Set<string>();
    for (const e of index.entries) {
      expect(ids.has(e.id), `duplicate id ${e.id}`).toBe(false);
      ids.add(e.id);
      if (e.pending) expect(e.loaders.length + e.cli.length).toBe(0);
      else expect(e.loaders.length + e.cli.length, e.id).toBeGreaterThan(0);
      if (e.path && !e.generatedAtTestTime) expect(existsSync(join(DIR, e.path)), e.path).toBe(true);
    }
    const counts = {
      entries: index.entries.length,
      pending: index.entries.filter((e) => e.pending).length,
      loaderChecks: index.entries.reduce((s, e) => s + e.loaders.length, 0),
      cliChecks: index.entries.reduce((s, e) => s + e.cli.length, 0),
      knownBugs: index.entries.reduce((s, e) => s + [...e.loaders, ...e.cli].filter((c) => c.knownBug).length, 0),
    };
    console.log(`bad-input corpus: ${JSON.stringify(counts)}`);
  });
});

for (const e of index.entries) {
  describe(`${e.id}: ${e.what}`, () => {
    if (e.pending) {
      it.todo(`pending: ${e.pending}`);
      return;
    }
    for (const l of e.loaders) {
      const title = `${l.loader}${l.backend ? ` (${l.backend})` : ''}: ${l.code ?? 'loads'}${l.knownBug ? ` [KNOWN BUG: ${l.knownBug}]` : ''}`;
      (l.knownBug ? it.fails : it)(title, async () => {
        const r = await runLoader(e, l);
        if (l.code === null) {
          if (r.error) throw r.error;
          if (l.importable !== undefined) expect(r.importable).toBe(l.importable);
          for (const m of l.mentions) expect(r.text).toContain(m);
          return;
        }
        expect(r.error, `${l.loader} accepted ${e.path ?? JSON.stringify(e.obs)}`).toBeInstanceOf(EdgeDistillError);
        const err = r.error as EdgeDistillError;
        expect(err.code, err.format()).toBe(l.code);
        const text = `${err.format()}\n${err.details.map((d) => `${d.file ?? ''} ${d.field ?? ''} ${d.text}`).join('\n')}`;
        for (const m of l.mentions) expect(text, `the error must name "${m}"`).toContain(m);
      });
    }
    e.cli.forEach((c, i) => {
      const title = `${c.bin} ${c.argv[0]}: exit ${c.exit}${c.knownBug ? ` [KNOWN BUG: ${c.knownBug}]` : ''}`;
      (c.knownBug ? it.fails : it)(title, async () => {
        const r = await cliRuns.get(cliKey(e, i))!;
        const said = `${r.stderr}\n${r.stdout}`;
        expect(r.code, `exit code; output:\n${said}`).toBe(c.exit);
        for (const m of c.mentions) expect(said, `the output must name "${m}"`).toContain(m);
        expect(said).not.toContain('internal error');
        if (c.exit !== 0) expect(r.leftovers, 'files left behind by a failed command').toEqual([]);
        expect(r.escaped, 'files written outside the deploy directory').toEqual([]);
      });
    });
  });
}

describe('timing of the corpus run', () => {
  it('the directory holds nothing beyond the corpus (no stray outputs from the commands)', () => {
    const files = filesUnder(DIR);
    expect(files.some((f) => f.endsWith('check-report.json'))).toBe(false);
    expect(statSync(DIR).isDirectory()).toBe(true);
  });
});
