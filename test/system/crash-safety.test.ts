// Crash safety of the artifact-writing commands. The real CLI processes (`distill`, `compress`,
// `export`, `bundle`) are killed with SIGKILL at seeded random moments spread over their run time
// (measured first, on this machine). After every kill, every file under the output directory that
// carries a final name must be complete and valid: policy files parse and validate, ONNX files load
// in onnxruntime, bundles gunzip, list and match their checksums, JSON reports parse. Temp files
// (`.NAME.PID.RAND.tmp` from util/atomic-write.ts, export's `.edgedistill-export-*` staging) may be
// left behind, but never under a final name, and a rerun in the same directory ignores them.
// `distill --checkpoint-every 1` is then resumed (`--resume`) from what a kill left and must finish
// with the targets met, reporting where it resumed.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { readQuantizedFile } from '../../pipeline/src/quant/serialize-int8.js';
import { readBundleArchive } from '../../pipeline/src/bundle/read.js';
import { readDistillCheckpoint } from '../../pipeline/src/distill/index.js';
import { createSession } from '../../pipeline/src/onnx/ort.js';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'pipeline/bin/edgedistill.js');
// MountainCar takes several DAgger rounds (about 30 s here), so a kill lands between checkpoints.
const distillTeacher = join(repo, 'models/mountaincar-v0/teacher.onnx');
const cartTeacher = join(repo, 'models/cartpole-v1/teacher.onnx');
const SEED = 20261127;
const MOMENTS = 3;

/** mulberry32: the kill moments are a pure function of SEED. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(SEED);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI; with killAfterMs, SIGKILLs it then (unless it finished first). */
function edgedistill(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const child = spawn('node', [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A temp name: never a result. */
const isTemp = (rel: string) => rel.split('/').some((part) => /^\..*\.tmp$/.test(part) || part.startsWith('.edgedistill-export-') || part.startsWith('.incoming'));

function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
  });
}

/** Validates one file under a final name by what its name says it is; throws if it is not whole. */
async function validate(file: string): Promise<string> {
  const name = basename(file);
  const bytes = readFileSync(file);
  if (bytes.length === 0) throw new Error(`${file}: empty`);
  if (name === 'policy.json') {
    await readPolicyFile(file);
    return 'policy';
  }
  if (name === 'policy-int8.json') {
    await readQuantizedFile(file);
    return 'policy-int8';
  }
  if (name === 'checkpoint.json') {
    const c = await readDistillCheckpoint(file);
    if (c.params.length === 0 || c.train.size === 0) throw new Error(`${file}: empty checkpoint`);
    return 'checkpoint';
  }
  if (name.endsWith('.json')) {
    JSON.parse(bytes.toString('utf8'));
    return 'json';
  }
  if (name.endsWith('.onnx')) {
    await createSession(bytes, file);
    return 'onnx';
  }
  if (name.endsWith('.tar.gz')) {
    const tar = gunzipSync(bytes);
    if (tar.length % 512 !== 0) throw new Error(`${file}: tar is not whole 512-byte blocks`);
    const listed = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
    if (listed.status !== 0 || !listed.stdout.includes('manifest.json')) throw new Error(`${file}: tar -t failed: ${listed.stderr}`);
    readBundleArchive(file); // every file present with its sha256
    return 'bundle';
  }
  if (name.endsWith('.tflite')) {
    if (bytes.subarray(4, 8).toString('latin1') !== 'TFL3') throw new Error(`${file}: no TFL3 identifier`);
    return 'tflite';
  }
  if (name.endsWith('.mjs') || name.endsWith('.js')) {
    const r = spawnSync('node', ['--check', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${file}: does not parse: ${r.stderr}`);
    return 'js';
  }
  return 'other';
}

interface KillOutcome {
  command: string;
  atMs: number;
  killed: boolean;
  finals: Record<string, string>;
  temps: string[];
}
const outcomes: KillOutcome[] = [];

/** Every final-named file under dir is valid; returns them (kind by path) and the temp files. */
async function checkDir(dir: string): Promise<{ finals: Record<string, string>; temps: string[] }> {
  const finals: Record<string, string> = {};
  const temps: string[] = [];
  for (const rel of walk(dir)) {
    if (isTemp(rel)) {
      temps.push(rel);
      continue;
    }
    try {
      finals[rel] = await validate(join(dir, rel));
    } catch (e) {
      throw new Error(`half-written or invalid file under a final name after SIGKILL: ${join(dir, rel)}: ${(e as Error).message}`);
    }
  }
  return { finals, temps };
}

/** Seeded fractions of the run time, spread over (5%, 95%): one per equal slice. */
function fractions(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 0.05 + (0.9 * (i + random())) / n);
}

let work: string;
let distilled: string; // a complete distill output (CartPole, for compress and bundle)

/**
 * Kills `command` at each seeded fraction of its run time. The load on a shared host changes run
 * times, so the estimate follows the last run that finished, and a moment that came after the end
 * is tried again (at the same fraction of the new estimate), up to 3 times.
 */
async function killRounds(command: string, durationMs: number, n: number, argsFor: (out: string) => string[], prepare: (out: string, i: number) => void): Promise<KillOutcome[]> {
  const mine: KillOutcome[] = [];
  let estimate = durationMs;
  const fs = fractions(n);
  for (let i = 0; i < fs.length; i++) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const out = join(work, `${command}-kill-${i}`);
      rmSync(out, { recursive: true, force: true });
      prepare(out, i);
      const atMs = Math.round(fs[i] * estimate);
      const r = await edgedistill(argsFor(out), atMs);
      const killed = r.signal === 'SIGKILL';
      if (!killed) expect(r.code, r.stderr).toBe(0); // finished before the moment: still a valid run
      const { finals, temps } = await checkDir(out);
      const o = { command, atMs, killed, finals, temps };
      outcomes.push(o);
      console.log(`[crash-safety] ${command} SIGKILL at ${atMs} ms (${(fs[i] * 100).toFixed(0)}% of ~${estimate} ms): ${killed ? 'killed' : 'had finished'}; ${Object.keys(finals).length} final files valid, ${temps.length} temp files left`);
      if (killed) {
        mine.push(o);
        break;
      }
      estimate = r.ms;
    }
  }
  expect(mine.length, `${command}: every moment must land while it runs`).toBe(n);
  return mine;
}

describe('SIGKILL at random moments never leaves a half-written file under a final name', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'crash-safety-'));
    distilled = join(work, 'cartpole-student');
    const r = await edgedistill(['distill', '--teacher', cartTeacher, '--env', 'CartPole-v1', '--out', distilled, '--json']);
    expect(r.code, r.stderr).toBe(0);
  }, 600_000);

  afterAll(() => {
    const kills = outcomes.filter((o) => o.killed).length;
    console.log(`[crash-safety] ${kills} SIGKILLs landed mid-run (${outcomes.length} attempted, seed ${SEED}); files checked: ${outcomes.reduce((s, o) => s + Object.keys(o.finals).length, 0)}; stale temp files seen: ${outcomes.reduce((s, o) => s + o.temps.length, 0)}`);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('distill: killed mid-run, then resumed from its last checkpoint to the targets', async () => {
    const args = (out: string) => ['distill', '--teacher', distillTeacher, '--env', 'MountainCar-v0', '--out', out, '--checkpoint-every', '1', '--json'];
    const full = join(work, 'distill-full');
    const base = await edgedistill(args(full));
    expect(base.code, base.stderr).toBe(0);
    const baseline = JSON.parse(base.stdout) as { rounds: number; samples: number; agreement: number; targetsMet: boolean };
    expect(baseline.targetsMet).toBe(true);
    expect(baseline.rounds).toBeGreaterThan(2);
    await checkDir(full);

    const kills = await killRounds('distill', base.ms, MOMENTS, args, () => undefined);
    // Resume the latest kill that left a checkpoint (the round-0 one is written seconds in).
    const resumable = kills.filter((k) => k.killed && k.finals['checkpoint.json']);
    expect(resumable.length).toBeGreaterThan(0);
    const k = resumable[resumable.length - 1];
    const out = join(work, `distill-kill-${kills.indexOf(k)}`);
    const ckpt = await readDistillCheckpoint(join(out, 'checkpoint.json'));
    const r = await edgedistill([...args(out), '--resume']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { targetsMet: boolean; resumedFrom: { round: number; samples: number } | null; samples: number; rounds: number; agreement: number };
    expect(report.targetsMet).toBe(true);
    expect(report.resumedFrom).toEqual({ round: ckpt.round, samples: ckpt.samples });
    // The checkpoint holds the whole state (weights, Adam, buffers, RNG): the resumed run ends
    // exactly where the uninterrupted one did.
    expect(report.samples).toBe(baseline.samples);
    expect(report.rounds).toBe(baseline.rounds);
    expect(report.agreement).toBe(baseline.agreement);
    const after = await checkDir(out);
    expect(Object.keys(after.finals).sort()).toEqual(['checkpoint.json', 'policy.json', 'report.json', 'student.onnx']);
    console.log(`[crash-safety] distill resumed from round ${ckpt.round} (${ckpt.samples} samples) and met the targets at ${report.samples} samples, as the uninterrupted run`);

    // A resume with another seed is refused, naming what differs.
    const wrong = await edgedistill([...args(out), '--resume', '--seed', '1']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr + wrong.stdout).toMatch(/checkpoint is of another run \(differs in seed\)/);
  }, 1_800_000);

  it('compress (int8): killed mid-run, old or new files only', async () => {
    const args = (out: string) => ['compress', '--policy', distilled, '--teacher', cartTeacher, '--quantize', 'int8', '--out', out, '--json'];
    const full = join(work, 'compress-full');
    const base = await edgedistill(args(full));
    expect(base.code, base.stderr).toBe(0);
    expect(Object.values((await checkDir(full)).finals).sort()).toEqual(['json', 'policy', 'policy-int8']);
    // Odd moments kill a rerun over complete results (old files must survive whole), even ones a first run.
    await killRounds('compress', base.ms, 2, args, (out, i) => {
      if (i % 2 === 1) cpSync(full, out, { recursive: true });
    });
  }, 1_800_000);

  it('export: killed mid-run, old or new files only; a rerun ignores the stale staging', async () => {
    const args = (out: string) => ['export', '--policy', distilled, '--teacher', cartTeacher, '--format', 'onnx,onnx-fp16,tflite,tflite-fp16,js', '--out', out, '--json'];
    const full = join(work, 'export-full');
    const base = await edgedistill(args(full));
    expect(base.code, base.stderr).toBe(0);
    const kinds = Object.values((await checkDir(full)).finals);
    expect(kinds.filter((k) => k === 'onnx').length).toBe(2);
    const kills = await killRounds('export', base.ms, MOMENTS, args, (out, i) => {
      if (i % 2 === 1) cpSync(full, out, { recursive: true });
    });
    // Rerun where a kill left the most behind: it succeeds and its results are whole.
    const k = kills.reduce((a, b) => (b.temps.length > a.temps.length ? b : a));
    const out = join(work, `export-kill-${kills.indexOf(k)}`);
    const again = await edgedistill(args(out));
    expect(again.code, again.stderr).toBe(0);
    const after = await checkDir(out);
    expect(Object.keys(after.finals)).toEqual(expect.arrayContaining(['artifacts.json', 'golden.json', 'policy.onnx', 'policy.fp16.onnx', 'policy.tflite', 'policy.fp16.tflite', 'policy.mjs']));
  }, 1_800_000);

  it('bundle: killed mid-run, never a partial .tar.gz', async () => {
    const args = (out: string) => ['bundle', '--device', 'rpi4-arm64', '--policy', distilled, '--teacher', cartTeacher, '--out', out, '--json'];
    const full = join(work, 'bundle-full');
    const base = await edgedistill(args(full));
    expect(base.code, base.stderr).toBe(0);
    const b = JSON.parse(base.stdout) as { path: string; bytes: number };
    expect(statSync(b.path).size).toBe(b.bytes);
    expect(Object.values((await checkDir(full)).finals)).toEqual(['bundle']);
    await killRounds('bundle', base.ms, MOMENTS, args, (out, i) => {
      if (i % 2 === 1) cpSync(full, out, { recursive: true });
    });
    // The stale temp files of a killed bundle are not bundles: nothing final-named besides the real one.
    for (const o of outcomes.filter((x) => x.command === 'bundle')) {
      for (const [rel, kind] of Object.entries(o.finals)) expect(kind, rel).toBe('bundle');
    }
  }, 1_800_000);
});
