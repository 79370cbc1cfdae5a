/**
 * `npm run bench` machinery, quick: the runner as a child process with --quick --only envs,latency
 * into a temp directory; results.json has measured numbers in the expected places and results.md
 * is written. Speeds are not asserted here (they live in the benchmark output), only that the
 * figures exist, are positive, and hang together.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('npm run bench --quick --only envs,latency', () => {
  let out: string;
  let results: Record<string, any>;
  let stdout: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'bench-test-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--only', 'envs,latency', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 280_000,
      // The PyTorch peer is left out here (it is a system package); the bench must say so and go on.
      env: { ...process.env, EDGEDISTILL_PYTHON: join(out, 'no-python-here') },
    });
    expect(r.status, r.stderr).toBe(0);
    stdout = r.stdout;
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes results.json and results.md and prints the table', () => {
    expect(existsSync(join(out, 'results.md'))).toBe(true);
    expect(stdout).toContain('## Targets');
    expect(stdout).toContain('| CartPole-v1 |');
    expect(results.format).toBe('edgedistill-bench');
    expect(results.quick).toBe(true);
    expect(results.only).toEqual(['envs', 'latency']);
    expect(Object.keys(results.sections).sort()).toEqual(['envs', 'latency']);
  });

  it('records machine facts and the load average at start and end', () => {
    expect(positive(results.machine.cores)).toBe(true);
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.loadAverage.start).toHaveLength(3);
    expect(results.machine.loadAverage.end).toHaveLength(3);
  });

  it('measures steps/s for every built-in env, vectorized and single', () => {
    const envs = results.sections.envs.results;
    for (const id of ['CartPole-v1', 'Acrobot-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1']) {
      expect(positive(envs[id].stepsPerSecond), id).toBe(true);
      expect(envs[id].numEnvs).toBe(64);
      expect(positive(envs[`${id}/single`].stepsPerSecond), id).toBe(true);
    }
    const t = results.targets.find((x: any) => x.id === 'envs.cartpole');
    expect(t.value).toBe(envs['CartPole-v1'].stepsPerSecond);
    expect(t.met).toBe(t.value >= 5_000_000);
  });

  it('times the teacher and the student in every format and backend at batch 1 and 32', () => {
    const rows = results.sections.latency.rows as any[];
    expect(rows.map((r) => `${r.model} ${r.format} ${r.backend}`)).toEqual([
      'teacher onnx ort-node',
      'student onnx ort-node',
      'student onnx-int8 ort-node',
      'student onnx ort-web',
      'student onnx-int8 ort-web',
      'student tflite litert',
      'student tflite-int8 litert',
      'student js js',
      'student js-int8 js',
    ]);
    for (const r of rows) {
      for (const b of ['batch1', 'batch32']) {
        expect(r[b].skipped, `${r.id} ${b}`).toBeUndefined();
        expect(positive(r[b].p50), `${r.id} ${b}`).toBe(true);
        expect(r[b].p99).toBeGreaterThanOrEqual(r[b].p50);
        expect(r[b].calls).toBeGreaterThan(0);
      }
      expect(r.batch1.call).toBe(r.backend === 'js' ? 'actSync' : 'await act');
    }
    const js = rows.find((r) => r.format === 'js-int8');
    const teacher = rows.find((r) => r.model === 'teacher');
    const t = results.targets.find((x: any) => x.id === 'latency.js-int8-vs-teacher');
    expect(t.value).toBeCloseTo(teacher.batch1.p50 / js.batch1.p50, 6);
  });

  it('records the missing PyTorch peer as skipped, with the reason, and still computes the rest', () => {
    expect(results.sections.latency.pytorch.skipped).toMatch(/no Python at/);
    const vsTorch = results.targets.find((x: any) => x.id === 'latency.js-int8-vs-pytorch');
    expect(vsTorch.met).toBeNull();
    const distill = results.targets.find((x: any) => x.id === 'distill.vs-pytorch');
    expect(distill.met).toBeNull();
  });
});
