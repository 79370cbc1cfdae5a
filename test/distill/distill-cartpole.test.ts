/**
 * End-to-end distillation on CartPole with a hand-made teacher exported through the ONNX writer and
 * loaded back through the importer (onnxruntime): DAgger online, offline from recorded states,
 * the CLI, determinism and space checks.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { distill, defaultHidden, encodeNpy, teacherFromPolicy } from '../../pipeline/src/distill/index.js';
import { forward, argmaxRow } from '../../pipeline/src/ir/forward.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { loadTeacher } from '../../pipeline/src/onnx/import.js';
import { writeOnnx } from '../../pipeline/src/onnx/write.js';
import { cartPoleTeacher, mountainCarContinuousTeacher } from './teachers.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'distill-e2e-'));
const teacherFile = join(dir, 'teacher.onnx');
const cli = join(__dirname, '../../pipeline/bin/edgedistill.js');

beforeAll(async () => {
  await writeOnnx(teacherFile, cartPoleTeacher(), { observationSpace: makeEnv('CartPole-v1').observationSpace });
});

/** States the teacher visits (a recording, as a user would bring from the robot). */
function recordStates(episodes: number, seed: number): number[][] {
  const env = makeEnv('CartPole-v1');
  const teacher = cartPoleTeacher();
  const states: number[][] = [];
  for (let e = 0; e < episodes; e++) {
    let obs = env.reset({ seed: seed + e }).obs;
    for (let t = 0; t < 200; t++) {
      states.push(Array.from(obs));
      const r = env.step(argmaxRow(forward(teacher, obs, 1), 2));
      if (r.terminated || r.truncated) break;
      obs = r.obs;
    }
  }
  return states;
}

describe('distill on CartPole (online, DAgger)', () => {
  it('reaches agreement >= 0.99 and return retention >= 0.99 on held-out data', async () => {
    const { student, report } = await distill({ teacher: teacherFile, envId: 'CartPole-v1', hidden: [32, 32], seed: 0 });
    expect(report.targetsMet).toBe(true);
    expect(report.stopReason).toBe('targets');
    expect(report.agreement).toBeGreaterThanOrEqual(0.99);
    expect(report.returnRetention).toBeGreaterThanOrEqual(0.99);
    expect(report.teacher.return?.mean).toBe(500);
    expect(report.teacher.return?.episodes).toBe(100);
    expect(report.random.return?.mean).toBeLessThan(50);
    expect(report.student.return?.mean).toBeGreaterThanOrEqual(0.99 * 500);
    expect(report.returnRetention).toBeCloseTo(
      ((report.student.return?.mean as number) - (report.random.return?.mean as number)) /
        ((report.teacher.return?.mean as number) - (report.random.return?.mean as number)),
      10,
    );
    expect(report.loss).toBe('kl');
    expect(report.tau).toBe(0.01); // Q-value teacher: sharp default (Rusu et al.)
    expect(report.backend).toBe('wasm-simd-f32'); // Node >= 20 runs wasm SIMD: the kernels, not the JS fallback
    expect(report.student.params).toBe(4 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2);
    expect(report.teacher.params).toBe(10);
    expect(report.curve.length).toBeGreaterThan(1);
    expect(report.curve[report.curve.length - 1].agreement).toBe(report.agreement);
    expect(report.curve[0].agreement as number).toBeLessThan(report.agreement as number);
    expect(report.heldOut.states).toBeGreaterThan(1000);
    expect(report.wallSeconds).toBeGreaterThan(0);
    // The student is a valid IR model with the teacher's spaces and a card saying where it came from.
    expect(student.head).toEqual({ kind: 'discrete', output: 'logits', n: 2 });
    expect(student.obsNorm).not.toBeNull();
    expect(student.card.backend).toBe('wasm-simd-f32');
    expect((student.card.teacher as { sha256: string }[])[0].sha256).toBe(report.teacher.sha256[0]);
  });

  it('averages several teachers with the same spaces (ensemble targets)', async () => {
    const a = teacherFromPolicy(cartPoleTeacher(10), 'a');
    const b = teacherFromPolicy(cartPoleTeacher(6), 'b');
    const { report } = await distill({ teacher: [a, b], envId: 'CartPole-v1', hidden: [32, 32], seed: 1 });
    expect(report.teacher.files).toEqual(['a', 'b']);
    expect(report.agreement).toBeGreaterThanOrEqual(0.99);
    expect(report.returnRetention).toBeGreaterThanOrEqual(0.99);
  });

  it('is deterministic for a seed (same weights, same curve)', async () => {
    const opts = { teacher: teacherFromPolicy(cartPoleTeacher()), envId: 'CartPole-v1', hidden: [16, 16], maxSamples: 2 * 25_600, target: { agreement: 2 }, episodes: 10 };
    const r1 = await distill({ ...opts, seed: 5 });
    const r2 = await distill({ ...opts, seed: 5 });
    const r3 = await distill({ ...opts, seed: 6 });
    expect(r1.report.stopReason).toBe('samples');
    expect(Array.from(r1.student.layers[0].weight)).toEqual(Array.from(r2.student.layers[0].weight));
    expect(r1.report.curve.map((c) => c.loss)).toEqual(r2.report.curve.map((c) => c.loss));
    expect(Array.from(r1.student.layers[0].weight)).not.toEqual(Array.from(r3.student.layers[0].weight));
  });
});

describe('distill offline (recorded states, no environment)', () => {
  const states = recordStates(30, 500);
  const files = {
    jsonl: join(dir, 'states.jsonl'),
    csv: join(dir, 'states.csv'),
    npy: join(dir, 'states.npy'),
  };
  beforeAll(() => {
    writeFileSync(files.jsonl, states.map((s, i) => JSON.stringify(i % 2 ? s : { obs: s })).join('\n'));
    writeFileSync(files.csv, `x,x_dot,theta,theta_dot\n${states.map((s) => s.join(',')).join('\n')}\n`);
    writeFileSync(files.npy, encodeNpy({ rows: states.length, cols: 4, data: Float32Array.from(states.flat()) }, 'float64'));
  });

  for (const fmt of ['jsonl', 'csv', 'npy'] as const) {
    it(`labels ${fmt} states with the teacher and reaches held-out agreement >= 0.99`, async () => {
      const { student, report } = await distill({ teacher: teacherFile, observations: files[fmt], hidden: [32, 32], seed: 2 });
      expect(report.mode).toBe('offline');
      expect(report.env).toBeNull();
      expect(report.teacher.return).toBeNull();
      expect(report.returnRetention).toBeNull();
      expect(report.transitions + report.heldOut.states).toBe(states.length);
      expect(report.heldOut.states).toBe(Math.round(states.length * 0.1));
      expect(report.agreement).toBeGreaterThanOrEqual(0.99);
      expect((student.card.data as { mode: string; file: string }).file).toBe(files[fmt]);
    });
  }

  it('rejects states of the wrong size, naming the file', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '[1, 2, 3]\n[4, 5, 6]\n');
    const err = await distill({ teacher: teacherFile, observations: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeDistillError);
    expect((err as EdgeDistillError).code).toBe('BAD_OBSERVATION');
    expect((err as EdgeDistillError).file).toBe(bad);
    expect((err as EdgeDistillError).message).toMatch(/3 values per state but the teacher takes 4/);
  });
});

describe('continuous teacher', () => {
  it('MountainCarContinuous: MSE on the action reaches retention >= 0.99; Gaussian KL runs with a log-std teacher', async () => {
    const { student, report } = await distill({ teacher: teacherFromPolicy(mountainCarContinuousTeacher()), envId: 'MountainCarContinuous-v0', hidden: [32, 32], seed: 0 });
    expect(report.loss).toBe('mse');
    expect(report.agreement).toBeNull();
    expect(report.actionError).toBeLessThanOrEqual(report.targets.actionError as number);
    expect(report.returnRetention).toBeGreaterThanOrEqual(0.99);
    expect(student.head.kind).toBe('continuous');
    const kl = await distill({ teacher: teacherFromPolicy(mountainCarContinuousTeacher()), envId: 'MountainCarContinuous-v0', hidden: [32, 32], seed: 0, loss: 'kl' });
    expect(kl.report.loss).toBe('kl');
    expect(kl.report.returnRetention).toBeGreaterThanOrEqual(0.99);
    const head = kl.student.head;
    expect(head.kind === 'continuous' && head.logStd !== undefined).toBe(true);
  });
});

describe('space checks', () => {
  const expectBad = async (p: Promise<unknown>, code: string, field: string, re: RegExp) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EdgeDistillError);
    expect((err as EdgeDistillError).code).toBe(code);
    expect((err as EdgeDistillError).field).toBe(field);
    expect((err as EdgeDistillError).message).toMatch(re);
    return err as EdgeDistillError;
  };

  it('observation size: a CartPole teacher on Acrobot', async () => {
    const err = await expectBad(distill({ teacher: teacherFile, envId: 'Acrobot-v1' }), 'BAD_MODEL', 'obs', /teacher takes 4 observation values but Acrobot-v1 gives 6/);
    expect(err.file).toBe(teacherFile);
  });
  it('action count: a 3-action teacher on CartPole', async () => {
    const t = cartPoleTeacher();
    const three = { ...t, layers: [{ ...t.layers[0], outDim: 3, weight: new Float32Array(12), bias: new Float32Array(3) }], head: { kind: 'discrete' as const, output: 'q_values' as const, n: 3 } };
    await expectBad(distill({ teacher: teacherFromPolicy(three, 'three.onnx'), envId: 'CartPole-v1' }), 'BAD_MODEL', 'q_values', /teacher outputs 3 q_values but CartPole-v1 has 2 actions/);
  });
  it('a continuous teacher on a discrete env, and bad loss choices', async () => {
    await expectBad(distill({ teacher: teacherFromPolicy(mountainCarContinuousTeacher()), envId: 'MountainCar-v0' }), 'BAD_MODEL', 'action', /continuous action head \(1 values\) but MountainCar-v0 has 3 discrete actions/);
    await expectBad(distill({ teacher: teacherFromPolicy(mountainCarContinuousTeacher()), envId: 'MountainCarContinuous-v0', loss: 'nll' }), 'BAD_ARGUMENT', 'loss', /nll is for discrete/);
  });
});

describe('default student size', () => {
  it('is the env preference, shrunk to stay within 10% of the teacher parameters', () => {
    const cartPole256 = 4 * 256 + 256 + 256 * 256 + 256 + 256 * 2 + 2; // a 256,256 CartPole teacher
    expect(defaultHidden(cartPole256, 4, 2, 'CartPole-v1')).toEqual([32, 32]);
    expect(defaultHidden(3 * 256 + 256 + 256 * 256 + 256 + 256 + 1, 3, 1, 'Pendulum-v1')).toEqual([32, 32]);
    expect(defaultHidden(cartPole256, 4, 2, 'My/Unknown-v0')).toEqual([64, 64]);
    // A 64,64 teacher (4610 parameters) leaves room for 16,16 (386) only.
    expect(defaultHidden(4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2, 4, 2, 'CartPole-v1')).toEqual([16, 16]);
    expect(defaultHidden(null, 4, 2, 'CartPole-v1')).toEqual([32, 32]);
  });
});

describe('edgedistill distill (CLI)', () => {
  it('writes student.onnx, policy.json and report.json; --json prints the report; the ONNX matches the IR', async () => {
    const out = join(dir, 'cli-out');
    const { stdout } = await run(process.execPath, [cli, 'distill', '--teacher', teacherFile, '--env', 'CartPole-v1', '--student', '32,32', '--out', out, '--seed', '3', '--json'], { timeout: 120_000 });
    const report = JSON.parse(stdout);
    expect(report.agreement).toBeGreaterThanOrEqual(0.99);
    expect(report.returnRetention).toBeGreaterThanOrEqual(0.99);
    for (const f of ['student.onnx', 'policy.json', 'report.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(report);
    const model = await readPolicyFile(join(out, 'policy.json'));
    expect(model.card.loss).toBe('kl');
    expect(model.card.backend).toBe('wasm-simd-f32');
    expect((model.card.teacher as { sha256: string }[])[0].sha256).toBe(report.teacher.sha256[0]);
    // onnxruntime on student.onnx agrees with the IR forward pass.
    const ort = await loadTeacher(join(out, 'student.onnx'));
    const obs = Float32Array.from({ length: 64 * 4 }, (_, i) => Math.sin(i * 1.7) * 0.2);
    const y = await ort.runBatch(obs, 64);
    const ir = forward(model, obs, 64);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - ir[i])).toBeLessThan(1e-4);
    await ort.dispose();
  });

  it('exits 2 with a located error when teacher and env disagree', async () => {
    const err = (await run(process.execPath, [cli, 'distill', '--teacher', teacherFile, '--env', 'Acrobot-v1', '--out', join(dir, 'x'), '--json']).catch((e: unknown) => e)) as {
      code: number;
      stdout: string;
    };
    expect(err.code).toBe(2);
    const j = JSON.parse(err.stdout);
    expect(j.error).toBe('BAD_MODEL');
    expect(j.file).toBe(teacherFile);
    expect(j.field).toBe('obs');
    expect(existsSync(join(dir, 'x', 'student.onnx'))).toBe(false);
  });
});
