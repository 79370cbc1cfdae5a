/**
 * Compression targets on the shipped teachers (slow: each teacher is distilled first).
 * - Every shipped teacher: distill (defaults) + int8 keeps returnRetention >= 0.99, and agreement
 *   >= 0.99 on discrete actions, both computed with forwardInt8 (integer semantics).
 *   CartPole-v1 needs a 12-bit quantized observation (QuantizedPolicy.inputBits, chosen by compress
 *   when 8-bit PTQ misses): the shipped PPO teacher balances on its decision boundary, so many visited
 *   states are within one int8 input step of it, and even the best possible function of an 8-bit
 *   input agrees on only 0.964-0.988 of them. Measured (linux x64, 2 cores): 8-bit PTQ 0.90-0.92,
 *   8-bit QAT 0.94; 12-bit PTQ 0.97, 12-bit QAT 0.991-0.992 over distill seeds 0-2 (retention 1.0;
 *   0.9924 for seed 0, the one tested here; before QAT restarts and the larger validation set
 *   0.988-0.989: the margin is still small). Other teachers get a 12-bit
 *   input only where their 8-bit PTQ misses the targets.
 * - CartPole-v1 and Acrobot-v1: --auto-shrink with int8 reaches <= 2% of the teacher's parameters
 *   with returnRetention >= 0.99 (the target the search is judged on here is retention: int8
 *   agreement is reported, see the compress report's rows).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnv } from '@edgedistill/runtime/envs';
import { compress, formatTable, writeCompressArtifacts, type CompressResult } from '../../pipeline/src/compress/index.js';
import { exportPolicy } from '../../pipeline/src/export/index.js';
import { distill, openTeacher, writeDistillArtifacts, type DistillResult, type TeacherLike } from '../../pipeline/src/distill/index.js';

const root = join(import.meta.dirname, '..', '..', 'models');
const shipped = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'teacher.onnx'))).sort() : [];
const envOf = (dir: string): string => JSON.parse(readFileSync(join(root, dir, 'card.json'), 'utf8')).env as string;
const out = mkdtempSync(join(tmpdir(), 'compress-targets-'));
const bin = join(import.meta.dirname, '..', '..', 'pipeline', 'bin', 'edgedistill.js');
const cli = async (...args: string[]): Promise<string> => (await promisify(execFile)(process.execPath, [bin, ...args], { timeout: 600_000 })).stdout;

/** One distilled student per shipped teacher, shared by the tests below. */
const students = new Map<string, { teacher: TeacherLike & { dispose?: () => Promise<void> }; distilled: DistillResult }>();

async function studentFor(dir: string) {
  let s = students.get(dir);
  if (!s) {
    const file = join(root, dir, 'teacher.onnx');
    const distilled = await distill({ teacher: file, envId: envOf(dir), seed: 0 });
    await writeDistillArtifacts(join(out, dir), distilled.student, distilled.report);
    s = { teacher: await openTeacher(file), distilled };
    students.set(dir, s);
  }
  return s;
}

function log(dir: string, r: CompressResult) {
  console.log(`${dir}\n${formatTable(r.report)}\n`);
}

afterAll(async () => {
  for (const s of students.values()) await s.teacher.dispose?.();
});

beforeAll(() => {
  expect(shipped).toContain('cartpole-v1');
});

describe.each(shipped)('%s: distill + int8', (dir) => {
  it('keeps returnRetention >= 0.99 (and agreement >= 0.99 on discrete actions), judged with forwardInt8', async () => {
    const { teacher, distilled } = await studentFor(dir);
    const rep = distilled.report;
    const r = await compress({
      policy: distilled.student,
      teacher,
      quantize: 'int8',
      episodes: rep.teacher.return?.episodes,
      evalSeed: rep.teacher.return?.seedStart,
      randomSeed: rep.seed + 1,
    });
    log(dir, r);
    const row = r.report.steps[r.report.final.int8!];
    expect(row.semantics).toBe('int8');
    expect(r.quantized).not.toBeNull();
    expect(row.returnRetention).toBeGreaterThanOrEqual(0.99);
    // The report's int8 return is what an independent `edgedistill eval` measures on the exported
    // int8 ONNX (onnxruntime) with the report's seeds and episode count.
    const cdir = join(out, `${dir}-compressed`);
    await writeCompressArtifacts(cdir, r);
    const edir = join(out, `${dir}-export`);
    // Discrete: the export's parity gate (99% action agreement with the fp32 policy) must pass too.
    // Continuous: not asserted. The gate's 1%-of-range agreement is finer than one int8 step of a
    // wide pre-tanh output (Pendulum: 18% of golden rows within 1% of the range, though the return
    // is kept): a known gap between the gate and compress's return target, noted in the README.
    const discrete = makeEnv(envOf(dir)).actionSpace.kind === 'discrete';
    await exportPolicy({ policyDir: cdir, formats: ['onnx-int8'], outDir: edir, teacher: join(root, dir, 'teacher.onnx'), ...(discrete ? {} : { tolerances: { minAgreement: 0 } }) });
    const ev = await cli('eval', '--policy', join(edir, 'policy.int8.onnx'), '--episodes', String(r.report.episodes), '--seed', String(r.report.evalSeed), '--json');
    expect((JSON.parse(ev) as { return: { mean: number } }).return.mean).toBeCloseTo(row.return!.mean, 6);
    if (makeEnv(envOf(dir)).actionSpace.kind !== 'discrete') return;
    expect(row.agreement).toBeGreaterThanOrEqual(0.99);
    expect(row.targetsMet).toBe(true);
    // The scheme is visible in the report, the int8 IR and the card.
    const bits = r.quantized!.inputBits ?? 8;
    expect(row.details.inputBits).toBe(bits);
    expect((r.model.card.compress as { int8: { inputBits: number } }).int8.inputBits).toBe(bits);
    if (dir === 'cartpole-v1') expect(bits).toBe(12);
  });
});

describe.each(['cartpole-v1', 'acrobot-v1'])('%s: --auto-shrink with int8', (dir) => {
  it('reaches <= 2% of the teacher parameters with returnRetention >= 0.99', async () => {
    expect(existsSync(join(root, dir, 'teacher.onnx'))).toBe(true);
    const { teacher, distilled } = await studentFor(dir);
    const rep = distilled.report;
    const r = await compress({
      policy: distilled.student,
      teacher,
      autoShrink: true,
      quantize: 'int8',
      targets: { agreement: 0, retention: 0.99 },
      episodes: rep.teacher.return?.episodes,
      evalSeed: rep.teacher.return?.seedStart,
      randomSeed: rep.seed + 1,
    });
    log(dir, r);
    const res = r.report.result;
    expect(res.semantics).toBe('int8');
    expect(r.report.teacher.params).toBeGreaterThan(0);
    expect(res.params).toBeLessThanOrEqual(0.02 * (r.report.teacher.params as number));
    expect(res.returnRetention).toBeGreaterThanOrEqual(0.99);
    expect(r.report.steps.filter((s) => s.step === 'auto-shrink').length).toBeGreaterThan(0);
  });
});
