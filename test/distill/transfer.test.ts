// Transfer to a variant env (`distill --init-from DIR`): the run starts from the given student's
// weights (step-0 predictions are its own), the report compares it with a student trained from
// scratch on the same budget, PPO fine-tuning starts from the student too, and bad input fails
// naming the flag and the file.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill, writeDistillArtifacts } from '../../pipeline/src/distill/index.js';
import { foldNormalization, loadInitStudent } from '../../pipeline/src/distill/init.js';
import { teacherFromPolicy } from '../../pipeline/src/distill/teacher.js';
import { transferStudent } from '../../pipeline/src/distill/transfer.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { trainTeacher } from '../../pipeline/src/train/index.js';
import { cartPoleTeacher, mountainCarContinuousTeacher } from './teachers.js';

const root = mkdtempSync(join(tmpdir(), 'edgedistill-transfer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const small = { numEnvs: 8, stepsPerRound: 128, heldOutStates: 1000, trainStepsPerRound: 100, checkEvery: 50 };

/** A variant teacher: the hand-made controller with another velocity weight, z = theta + theta_dot / 1.5. */
function variantTeacher(): PolicyModel {
  const k = 10;
  return { ...cartPoleTeacher(k, 'logits'), layers: [{ inDim: 4, outDim: 2, weight: Float32Array.from([0, 0, -k, -k / 1.5, 0, 0, k, k / 1.5]), bias: new Float32Array(2), activation: 'none' }] };
}

const probe = Float32Array.from({ length: 64 * 4 }, (_, i) => Math.sin(i * 1.7) * (i % 4 === 1 || i % 4 === 3 ? 1.5 : 0.1));
let sourceDir = '';
let source: PolicyModel;

beforeAll(async () => {
  const { student, report } = await distill({ teacher: teacherFromPolicy(cartPoleTeacher(10, 'logits')), envId: 'CartPole-v1', hidden: [16, 16], seed: 1, maxSamples: 25_600, episodes: 10, ...small });
  sourceDir = join(root, 'source');
  mkdirSync(sourceDir);
  await writeDistillArtifacts(sourceDir, student, report);
  source = await loadInitStudent(sourceDir);
});

describe('distill --init-from', () => {
  it('starts from the given weights: with a zero learning rate the student stays the source student', async () => {
    const { student, report } = await distill({
      teacher: teacherFromPolicy(variantTeacher()),
      envId: 'CartPole-v1',
      envOptions: { gravity: 12 },
      initFrom: source,
      initFromName: sourceDir,
      lr: 0,
      seed: 5,
      maxSamples: 12_800,
      episodes: 5,
      ...small,
    });
    expect(report.init!.maxAbsDiffAtStep0).toBeLessThan(1e-4);
    expect(report.init!.from).toBe(sourceDir);
    expect(report.student.hidden).toEqual([16, 16]);
    const want = forward(source, probe, 64);
    const got = forward(student, probe, 64);
    let maxDiff = 0;
    want.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[i]))));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(student.card.initFrom).toBe(sourceDir);
    expect(report.envOptions).toEqual({ gravity: 12 });
  });

  it('folding a new normalization into the first layer keeps the function', () => {
    const to = { mean: Float32Array.from([0.1, -0.2, 0.01, 0.3]), std: Float32Array.from([0.5, 2, 0.05, 1.5]), clip: null };
    const folded = foldNormalization(source, to);
    expect(folded.obsNorm!.mean).toEqual(to.mean);
    const a = forward(source, probe, 64);
    const b = forward(folded, probe, 64);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 4));
  });

  it('adapts from the variant teacher and compares with a student from scratch on the same budget', async () => {
    const res = await transferStudent({
      initFrom: sourceDir,
      envId: 'CartPole-v1',
      envOptions: { gravity: 12 },
      source: { kind: 'teacher', teacher: teacherFromPolicy(variantTeacher(), 'variant teacher') },
      seed: 2,
      maxSamples: 25_600,
      episodes: 10,
      distillOptions: small,
    });
    const t = res.report.transfer;
    expect(t).toMatchObject({ initFrom: sourceDir, env: 'CartPole-v1', envOptions: { gravity: 12 }, source: 'teacher', teacher: 'variant teacher' });
    expect(t.budget.samples).toBe(25_600);
    for (const side of [t.fromInit, t.fromScratch]) {
      expect(side.samples).toBeGreaterThan(0);
      expect(side.samples).toBeLessThanOrEqual(25_600);
      expect(side.return!.episodes).toBe(10);
      expect(side.agreement).toBeGreaterThan(0.5);
    }
    expect(t.atStart.maxAbsDiffAtStep0).toBeLessThan(1e-4);
    expect(['from-init better', 'from-scratch better', 'no clear difference']).toContain(t.verdict);
    expect(t.reason.length).toBeGreaterThan(10);
    // Same sizes for both; the scratch student is another network.
    expect(res.scratch.layers.map((l) => l.outDim)).toEqual(res.student.layers.map((l) => l.outDim));
    expect(forward(res.scratch, probe, 64)).not.toEqual(forward(res.student, probe, 64));
  });

  it('fine-tunes the student with PPO from its own weights (zero learning rate leaves it unchanged)', async () => {
    const res = await trainTeacher({
      envId: 'CartPole-v1',
      envOptions: { length: 0.7 },
      algo: 'ppo',
      steps: 256,
      seed: 1,
      hidden: [16, 16],
      outDir: null,
      hp: { numEnvs: 4, numSteps: 64, updateEpochs: 1, minibatchSize: 64, learningRate: 0, activation: 'relu' },
      evalEpisodes: 0,
      initActor: source,
    });
    const a = forward(source, probe, 64);
    const b = forward(res.model, probe, 64);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));

    const t = await transferStudent({ initFrom: sourceDir, envId: 'CartPole-v1', envOptions: { length: 0.7 }, source: { kind: 'ppo', steps: 512, hp: { numEnvs: 4, numSteps: 64, updateEpochs: 2, minibatchSize: 64 } }, seed: 1, episodes: 5 });
    expect(t.report.transfer.source).toBe('ppo');
    expect(t.report.transfer.fromInit.envSteps).toBe(512);
    expect(t.report.transfer.fromScratch.envSteps).toBe(512);
    expect(t.report.transfer.atStart.return!.episodes).toBe(5);
    expect(t.student.layers.map((l) => [l.outDim, l.activation])).toEqual([[16, 'relu'], [16, 'relu'], [2, 'none']]);
    expect(t.student.obsNorm!.mean).toEqual(source.obsNorm!.mean);
  });

  it('refuses bad input naming the flag and the file', async () => {
    // Missing DIR, a directory without policy.json.
    await expect(loadInitStudent(join(root, 'nope'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--init-from', file: join(root, 'nope') });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(loadInitStudent(empty)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--init-from', file: empty });
    // A CartPole student into MountainCarContinuous (2 observations, continuous actions).
    await expect(
      transferStudent({ initFrom: sourceDir, envId: 'MountainCarContinuous-v0', source: { kind: 'teacher', teacher: teacherFromPolicy(mountainCarContinuousTeacher()) }, maxSamples: 2560, episodes: 2, distillOptions: small }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--init-from', file: sourceDir, message: expect.stringContaining('takes 4 observation values') });
    await expect(
      transferStudent({ initFrom: sourceDir, envId: 'Acrobot-v1', source: { kind: 'ppo', steps: 256 }, episodes: 2 }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--init-from' });
    // An unknown env option.
    await expect(
      transferStudent({ initFrom: sourceDir, envId: 'CartPole-v1', envOptions: { gravty: 12 }, source: { kind: 'ppo', steps: 256 }, episodes: 2 }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--env-option gravty' });
  });
});
