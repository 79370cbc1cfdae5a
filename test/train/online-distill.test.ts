// Online distillation (`train --distill-into`): a tiny PPO run on CartPole distills one persistent
// student at intervals; the student directory loads in the runtime, the history has one entry per
// interval, each interval starts from the previous student, and the student keeps up with the teacher.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/forward.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { OnlineDistiller } from '../../pipeline/src/distill/online.js';
import { parseEnvOptions, trainTeacher } from '../../pipeline/src/train/index.js';
import { EdgeDistillError, loadPolicy } from '../../runtime/src/index.js';
import { cartPoleTeacher } from '../distill/teachers.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'edgedistill-online-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const thrown = (f: () => unknown): EdgeDistillError => {
  try {
    f();
  } catch (e) {
    return e as EdgeDistillError;
  }
  throw new Error('did not throw');
};

describe('train --distill-into', () => {
  it('distills one student at every interval and writes a loadable student directory', async () => {
    const out = tmp();
    const res = await trainTeacher({
      envId: 'CartPole-v1',
      algo: 'ppo',
      steps: 8192,
      seed: 1,
      hidden: [64, 64],
      outDir: out,
      hp: { numEnvs: 8, numSteps: 32 },
      evalEpisodes: 10,
      distillInto: { hidden: [32, 32], every: 2048, samples: 25_600, episodes: 10 },
    });
    const od = res.card.onlineDistill as { history: { step: number; final: boolean; agreement: number; agreementWithFinalTeacher: number; teacherReturn: number }[]; intervals: number };
    // 8192 steps, an interval every 2048 (the one at the last step distills the shipped teacher: it is the final one).
    expect(od.history.map((h) => h.step)).toEqual([2048, 4096, 6144, 8192]);
    expect(od.intervals).toBe(4);
    expect(od.history.map((h) => h.final)).toEqual([false, false, false, true]);
    for (const h of od.history) expect(h.agreement).toBeGreaterThan(0.5);
    // The student follows the teacher as it improves: against the final teacher, the last interval's
    // student agrees more than the first's (measured with seed 1: 0.599 -> 0.99).
    const first = od.history[0].agreementWithFinalTeacher;
    const last = od.history[od.history.length - 1].agreementWithFinalTeacher;
    expect(last).toBeGreaterThan(first + 0.1);
    expect(last).toBeGreaterThan(0.95);

    // Student directory as `edgedistill distill` writes it.
    const dir = join(out, 'student');
    for (const f of ['student.onnx', 'policy.json', 'report.json']) expect(existsSync(join(dir, f))).toBe(true);
    expect(res.student?.dir).toBe(dir);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.online.history).toHaveLength(4);
    expect(report.student.hidden).toEqual([32, 32]);
    expect(Array.isArray(report.curve)).toBe(true);
    const ir = await readPolicyFile(join(dir, 'policy.json'));
    expect(ir.layers.map((l) => l.outDim)).toEqual([32, 32, 2]);

    // The runtime loads and runs it, with the IR's outputs.
    const policy = await loadPolicy(join(dir, 'student.onnx'));
    try {
      const obs = Float32Array.from([0.01, -0.2, 0.03, 0.25]);
      const raw = await policy.forward(obs);
      const want = forward(ir, obs, 1);
      raw.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
      const a = await policy.act(obs);
      expect(a).toBe(want[1] > want[0] ? 1 : 0);
    } finally {
      await policy.dispose();
    }
  });

  it('warm-starts every interval from the previous student', async () => {
    const online = new OnlineDistiller({ envId: 'CartPole-v1', hidden: [16, 16], seed: 3, samplesPerInterval: 25_600, episodes: 5 });
    await online.update(100, cartPoleTeacher(10, 'logits'));
    expect(online.report?.init).toBeNull();
    const prev = online.student!;
    await online.update(200, cartPoleTeacher(5, 'logits'));
    const init = online.report!.init!;
    expect(init.from).toBe('student of interval 0');
    // Step-0 predictions of interval 1 are interval 0's student's.
    expect(init.maxAbsDiffAtStep0).toBeLessThan(1e-4);
    // And it is interval 0's trained student, not a fresh one: on the same evaluation seeds it scores
    // what interval 0's student scored (measured: 440.4 both), and it agrees with the teacher well
    // above chance (k only scales the values; the teacher's actions do not change).
    expect(init.return!.mean).toBeCloseTo(online.history[0].studentReturn!, 0);
    expect(init.agreement).toBeGreaterThan(0.7);
    expect(online.student).not.toBe(prev);
    expect(online.history).toHaveLength(2);
  });

  it('refuses bad input naming the flag', async () => {
    const e1 = thrown(() => parseEnvOptions('CartPole-v1', ['gravty=12']));
    expect(e1.code).toBe('BAD_ARGUMENT');
    expect(e1.field).toBe('--env-option gravty');
    expect(e1.message).toContain('did you mean "gravity"');
    const e2 = thrown(() => parseEnvOptions('CartPole-v1', ['length=-1']));
    expect(e2.field).toBe('--env-option length');
    const e3 = thrown(() => parseEnvOptions('CartPole-v1', ['gravity']));
    expect(e3.field).toBe('--env-option');
    expect(parseEnvOptions('CartPole-v1', ['gravity=12', 'length=0.7'])).toEqual({ gravity: 12, length: 0.7 });
    await expect(
      trainTeacher({ envId: 'CartPole-v1', algo: 'ppo', steps: 256, outDir: null, evalEpisodes: 0, distillInto: { hidden: [32, 0] } }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--distill-into' });
    await expect(
      trainTeacher({ envId: 'CartPole-v1', algo: 'ppo', steps: 256, outDir: null, evalEpisodes: 0, distillInto: { hidden: [32], every: 0 } }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--distill-every' });
  });
});
