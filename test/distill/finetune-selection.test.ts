// PPO fine-tuning of a student (`distill --init-from DIR --finetune ppo`): the starting student is
// evaluated as a checkpoint and the best one on the selection seeds is kept, so the result is never
// worse than the start on those seeds (checked against an independent evaluation, with a learning
// rate high enough to wreck the student); the critic warm-up leaves the actor's weights untouched.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill, writeDistillArtifacts } from '../../pipeline/src/distill/index.js';
import { loadInitStudent } from '../../pipeline/src/distill/init.js';
import { teacherFromPolicy } from '../../pipeline/src/distill/teacher.js';
import { transferStudent } from '../../pipeline/src/distill/transfer.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { evaluatePolicy } from '../../pipeline/src/train/evaluate.js';
import { trainTeacher } from '../../pipeline/src/train/index.js';
import { SELECT_SEED_START } from '../../pipeline/src/train/run.js';
import { cartPoleTeacher } from './teachers.js';

const root = mkdtempSync(join(tmpdir(), 'edgedistill-finetune-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const small = { numEnvs: 8, stepsPerRound: 128, heldOutStates: 1000, trainStepsPerRound: 100, checkEvery: 50 };
const tiny = { numEnvs: 4, numSteps: 64, updateEpochs: 4, minibatchSize: 64 };
let sourceDir = '';
let source: PolicyModel;

beforeAll(async () => {
  const { student, report } = await distill({ teacher: teacherFromPolicy(cartPoleTeacher(10, 'logits')), envId: 'CartPole-v1', hidden: [16, 16], seed: 1, maxSamples: 25_600, episodes: 10, ...small });
  sourceDir = join(root, 'source');
  mkdirSync(sourceDir);
  await writeDistillArtifacts(sourceDir, student, report);
  source = await loadInitStudent(sourceDir);
});

const weights = (m: PolicyModel) => m.layers.flatMap((l) => [...l.weight, ...l.bias]);

describe('PPO fine-tuning keeps the best checkpoint, the start included', () => {
  it('never returns a student worse than the start on the selection seeds (a wrecking learning rate)', async () => {
    const envOptions = { gravity: 12 };
    const episodes = 5;
    const res = await transferStudent({
      initFrom: sourceDir,
      envId: 'CartPole-v1',
      envOptions,
      source: { kind: 'ppo', steps: 1024, hp: tiny, finetuneLr: 0.05, warmupRollouts: 0, evalEvery: 256, selectEpisodes: episodes },
      seed: 3,
      episodes: 5,
    });
    const sel = res.report.transfer.fromInit.selection!;
    expect(sel.seedStart).toBe(SELECT_SEED_START);
    expect(sel.curve.map((c) => c.steps)).toEqual([0, 256, 512, 768, 1024]);
    // The first checkpoint is the source student, scored independently on the same seeds.
    const start = evaluatePolicy(source, 'CartPole-v1', episodes, SELECT_SEED_START, envOptions).stats.mean;
    expect(sel.curve[0].return).toBe(start);
    // The kept student, scored independently: its selection score, and not below the start.
    const kept = evaluatePolicy(res.student, 'CartPole-v1', episodes, SELECT_SEED_START, envOptions).stats.mean;
    expect(kept).toBe(sel.kept.return);
    expect(kept).toBeGreaterThanOrEqual(start);
    expect(sel.kept.return).toBe(Math.max(...sel.curve.map((c) => c.return)));
    // The kept one is the first best; when that is the start, the student is the source, unchanged.
    const first = sel.curve.find((c) => c.return === sel.kept.return)!;
    expect(sel.kept.steps).toBe(first.steps);
    expect(sel.kept.start).toBe(first.steps === 0);
    if (sel.kept.start) expect(weights(res.student)).toEqual(weights(source));
    // This learning rate does wreck the student at some checkpoint, so selection had work to do.
    expect(Math.min(...sel.curve.slice(1).map((c) => c.return))).toBeLessThan(start);
    // From scratch: the same rule (its random start is a checkpoint too) and budget.
    const scratchSel = res.report.transfer.fromScratch.selection!;
    expect(scratchSel.curve.map((c) => c.steps)).toEqual(sel.curve.map((c) => c.steps));
    expect(res.report.transfer.finetune).toMatchObject({ fromInit: { actorLearningRate: 0.05, warmupRollouts: 0 }, fromScratch: { warmupRollouts: 0 } });
  });

  it('the critic warm-up freezes the actor: unchanged after the warm-up rollouts, changed after one more', async () => {
    const hp = { ...tiny, learningRate: 0.01, activation: 'relu' };
    const runFor = (rollouts: number, warmupRollouts: number) =>
      trainTeacher({ envId: 'CartPole-v1', algo: 'ppo', steps: rollouts * 256, seed: 1, hidden: [16, 16], outDir: null, hp: { ...hp, warmupRollouts }, evalEpisodes: 0, initActor: source });
    const warm = await runFor(2, 2);
    expect(warm.training.envSteps).toBe(512);
    expect(weights(warm.model)).toEqual(weights(source));
    const after = await runFor(3, 2);
    expect(weights(after.model)).not.toEqual(weights(source));
    const none = await runFor(2, 0);
    expect(weights(none.model)).not.toEqual(weights(source));
  });

  it('defaults: a tenth of the preset learning rate for the actor, a warm-up of at most a quarter of the rollouts; bad values name the flag', async () => {
    const res = await transferStudent({ initFrom: sourceDir, envId: 'CartPole-v1', source: { kind: 'ppo', steps: 1024, hp: tiny, selectEpisodes: 2 }, seed: 1, episodes: 2 });
    expect(res.report.transfer.finetune!.fromInit).toMatchObject({ actorLearningRate: 1e-4, criticLearningRate: 1e-3, warmupRollouts: 1 });
    expect(res.report.transfer.finetune!.fromScratch).toMatchObject({ actorLearningRate: 1e-3, warmupRollouts: 0 });
    expect(res.report.transfer.fromInit.selection!.curve[0].steps).toBe(0);
    await expect(transferStudent({ initFrom: sourceDir, envId: 'CartPole-v1', source: { kind: 'ppo', steps: 512, hp: tiny, warmupRollouts: 2 }, episodes: 2 })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      field: '--warmup-rollouts',
    });
    await expect(transferStudent({ initFrom: sourceDir, envId: 'CartPole-v1', source: { kind: 'ppo', steps: 512, hp: tiny, finetuneLr: -1 }, episodes: 2 })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      field: '--finetune-lr',
    });
  });
});
