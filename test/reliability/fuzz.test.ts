/**
 * Fuzzing every loader (fast-check mutations of valid files and configs, see fuzz/): each one must
 * return or throw EdgeDistillError: never another exception type, never hang, never crash the
 * process. Every target runs in child processes (fuzz/worker.ts) watched from here: a process that
 * dies (segfault in onnxruntime, wasm abort) or stops making progress for
 * EDGEDISTILL_FUZZ_CALL_TIMEOUT seconds is a failure, and the input it was on is saved under
 * test-artifacts/fuzz/ with the seed.
 *
 * Bounded for CI: EDGEDISTILL_FUZZ_SECONDS (default 60) of wall time for all targets, two at a time.
 * Reproducible: a fixed seed (EDGEDISTILL_FUZZ_SEED, printed), so a run replays the same cases in
 * the same order; EDGEDISTILL_FUZZ_TARGETS=a,b runs only those; EDGEDISTILL_FUZZ_RUN_KNOWN_BUGS=1 also
 * runs the inputs a target's knownBug matches (to see whether it is fixed).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TARGETS } from './fuzz/targets.js';
import type { FuzzFailure, FuzzResult } from './fuzz/worker.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(import.meta.dirname, 'fuzz/worker.ts');
const ARTIFACTS = join(ROOT, 'test-artifacts/fuzz');
const SECONDS = Number(process.env.EDGEDISTILL_FUZZ_SECONDS ?? 60);
const SEED = Number(process.env.EDGEDISTILL_FUZZ_SEED ?? 20261127);
const CALL_TIMEOUT_S = Number(process.env.EDGEDISTILL_FUZZ_CALL_TIMEOUT ?? 15);
const CONCURRENCY = 2;
const ONLY = process.env.EDGEDISTILL_FUZZ_TARGETS?.split(',').map((s) => s.trim()).filter(Boolean);
/** Start-up of a worker (tsx, imports, seeds, a runtime's init), taken from its time slice. */
const STARTUP_MS = 2500;

const targets = TARGETS.filter((t) => !ONLY || ONLY.includes(t.name));
// tmpfs when there is one: every case writes its input first, and on ext4 that write costs ms.
const scratchRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const scratch = mkdtempSync(join(scratchRoot, 'edgedistill-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stable per-target offset, so targets do not share one random stream. */
function targetSeed(name: string): number {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return (SEED + h) % 2 ** 31;
}

interface TargetRun {
  batches: FuzzResult[];
  failures: FuzzFailure[];
}

/** Runs one batch in a child process; a crash or a hang becomes a failure with the input saved. */
function runBatch(target: string, seed: number, budgetMs: number, maxCases: number | undefined, n: number): Promise<FuzzResult> {
  const workdir = join(scratch, `${target}-${n}`);
  mkdirSync(workdir, { recursive: true });
  return new Promise((done) => {
    const args = ['--import', 'tsx', WORKER, target, String(seed), String(budgetMs), workdir, ARTIFACTS, ...(maxCases ? [String(maxCases)] : [])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const started = Date.now();
    let lastMtime = 0;
    let lastChange = Date.now();
    let hang: string | null = null;
    const timer = setInterval(() => {
      const cur = join(workdir, 'current.json');
      let m = 0;
      try {
        m = statSync(cur).mtimeMs;
      } catch {
        /* not started yet */
      }
      if (m !== lastMtime) {
        lastMtime = m;
        lastChange = Date.now();
      }
      const now = Date.now();
      if (m !== 0 && now - lastChange > CALL_TIMEOUT_S * 1000) hang = `one call ran for more than ${CALL_TIMEOUT_S} s`;
      else if (m === 0 && now - started > 120_000) hang = 'no case started within 120 s';
      else if (now - started > budgetMs + 180_000) hang = `the batch ran ${Math.round((now - started) / 1000)} s (budget ${budgetMs / 1000} s)`;
      if (hang) child.kill('SIGKILL');
    }, 250);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      const resultFile = join(workdir, 'result.json');
      if (!hang && code === 0 && existsSync(resultFile)) {
        done(JSON.parse(readFileSync(resultFile, 'utf8')) as FuzzResult);
        return;
      }
      // Crash or hang: save the input the process was on.
      mkdirSync(ARTIFACTS, { recursive: true });
      const kind = hang ? 'hang' : 'crash';
      const base = join(ARTIFACTS, `${target}-seed${seed}-${kind}`);
      const saved: string[] = [];
      let caseNo: number | null = null;
      try {
        const raw = readFileSync(join(workdir, 'current.bin'));
        const len = raw.readUInt32LE(0);
        writeFileSync(`${base}.bin`, raw.subarray(4, 4 + len));
        saved.push(`${base}.bin`);
        const meta = JSON.parse(readFileSync(join(workdir, 'current.json'), 'utf8')) as { case: number };
        caseNo = meta.case;
        copyFileSync(join(workdir, 'current.json'), `${base}.json`);
        saved.push(`${base}.json`);
      } catch {
        /* died before its first case */
      }
      writeFileSync(`${base}.stderr.txt`, stderr);
      saved.push(`${base}.stderr.txt`);
      const message = hang ?? `worker exited with ${signal ? `signal ${signal}` : `code ${code}`}${caseNo !== null ? ` on case ${caseNo}` : ' before its first case'}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      done({
        target,
        runtime: TARGETS.find((t) => t.name === target)?.runtime ?? '?',
        seed,
        cases: caseNo ?? 0,
        accepted: 0,
        refused: {},
        slowestMs: 0,
        knownBugSkipped: 0,
        ms: Date.now() - started,
        failures: [{ kind, target, seed, message, saved }],
      });
    });
  });
}

const runs = new Map<string, TargetRun>();

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  const sliceMs = Math.max(2000, (SECONDS * 1000 * CONCURRENCY) / Math.max(1, targets.length));
  const queue = [...targets];
  const lane = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const run: TargetRun = { batches: [], failures: [] };
      runs.set(t.name, run);
      const end = Date.now() + sliceMs;
      let n = 0;
      // One process per batch; a target without batchCases gets its whole slice in one.
      do {
        const budget = Math.max(500, end - Date.now() - STARTUP_MS);
        const r = await runBatch(t.name, targetSeed(t.name) + n, budget, t.batchCases, n);
        run.batches.push(r);
        run.failures.push(...r.failures);
        n++;
      } while (t.batchCases && run.failures.length === 0 && end - Date.now() > STARTUP_MS + 500);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));

  const rows = targets.map((t) => {
    const r = runs.get(t.name)!;
    const sum = (f: (b: FuzzResult) => number) => r.batches.reduce((s, b) => s + f(b), 0);
    const refused: Record<string, number> = {};
    for (const b of r.batches) for (const [k, v] of Object.entries(b.refused)) refused[k] = (refused[k] ?? 0) + v;
    return {
      target: t.name,
      runtime: t.runtime,
      processes: r.batches.length,
      cases: sum((b) => b.cases),
      accepted: sum((b) => b.accepted),
      refused: Object.entries(refused)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      knownBugSkipped: sum((b) => b.knownBugSkipped),
      slowestMs: Math.max(...r.batches.map((b) => b.slowestMs)),
      failures: r.failures.length,
    };
  });
  const total = rows.reduce((s, r) => s + r.cases, 0);
  console.log(
    `fuzz: seed ${SEED} (EDGEDISTILL_FUZZ_SEED), ${SECONDS} s budget (EDGEDISTILL_FUZZ_SECONDS), ${((Date.now() - t0) / 1000).toFixed(1)} s wall, ${total} cases over ${rows.length} loaders`,
  );
  console.table(rows);
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'summary.json'), `${JSON.stringify({ seed: SEED, seconds: SECONDS, total, targets: rows }, null, 2)}\n`);
}, SECONDS * 1000 * 3 + 300_000);

describe(`fuzzing (seed ${SEED}, ${SECONDS} s): every loader returns or throws EdgeDistillError`, () => {
  for (const t of targets) {
    it(`${t.name} (${t.runtime})`, () => {
      const r = runs.get(t.name);
      expect(r, `${t.name} did not run`).toBeDefined();
      const described = r!.failures.map((f) => `${f.kind}: ${f.message}\n  replay: EDGEDISTILL_FUZZ_SEED=${SEED} EDGEDISTILL_FUZZ_TARGETS=${t.name} (worker seed ${f.seed})\n  saved: ${f.saved.join(', ')}${f.counterexample ? `\n  mutation: ${JSON.stringify(f.counterexample).slice(0, 600)}` : ''}`);
      expect(described, `${t.name}: failures`).toEqual([]);
      expect(r!.batches.reduce((s, b) => s + b.cases, 0), `${t.name} tried no case`).toBeGreaterThan(0);
    });
  }
});
