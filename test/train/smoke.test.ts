// Tiny-budget runs of each trainer: they must produce a valid IR, files that load back (policy.json,
// teacher.onnx through onnxruntime with the same outputs as the IR), a card, and be reproducible.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/forward.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { validatePolicy } from '../../pipeline/src/ir/validate.js';
import { createSession, runOnce } from '../../pipeline/src/onnx/ort.js';
import { parseHyperOverrides, trainTeacher } from '../../pipeline/src/train/index.js';
import { outputName } from '../../pipeline/src/ir/types.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'edgedistill-train-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function checkFiles(out: string) {
  const model = await readPolicyFile(join(out, 'policy.json'));
  validatePolicy(model);
  const card = JSON.parse(readFileSync(join(out, 'card.json'), 'utf8'));
  const bytes = readFileSync(join(out, 'teacher.onnx'));
  const session = await createSession(bytes, 'teacher.onnx');
  const batch = 3;
  const obs = Float32Array.from({ length: batch * model.obsDim }, (_, i) => Math.sin(i) * 0.5);
  const onnxOut = await runOnce(session, 'teacher.onnx', 'obs', outputName(model.head), obs, batch, model.obsDim);
  const irOut = forward(model, obs, batch);
  expect(onnxOut.data.length).toBe(irOut.length);
  irOut.forEach((v, i) => expect(onnxOut.data[i]).toBeCloseTo(v, 4));
  return { model, card };
}

describe('trainers on a tiny budget', () => {
  it('ppo (categorical) on CartPole-v1', async () => {
    const out = tmp();
    const res = await trainTeacher({
      envId: 'CartPole-v1',
      algo: 'ppo',
      steps: 256,
      seed: 3,
      hidden: [32, 32],
      outDir: out,
      hp: { numEnvs: 4, numSteps: 32, updateEpochs: 2, minibatchSize: 64, normObs: true },
      evalEpisodes: 3,
      checkpointEvery: 128,
    });
    const { model, card } = await checkFiles(out);
    expect(model.head).toMatchObject({ kind: 'discrete', output: 'logits', n: 2 });
    expect(model.obsNorm).not.toBeNull();
    expect(model.layers.map((l) => [l.inDim, l.outDim, l.activation])).toEqual([[4, 32, 'tanh'], [32, 32, 'tanh'], [32, 2, 'none']]);
    expect(card).toMatchObject({ env: 'CartPole-v1', algorithm: 'ppo', seed: 3, envSteps: 256, parameterCount: 4 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2 });
    expect(card.evaluation.episodes).toBe(3);
    expect(res.evaluation!.min).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toContain('charts/episodic_return');
  });

  it('ppo (Gaussian) on Pendulum-v1 exports clip-to-bounds with its log std', async () => {
    const res = await trainTeacher({
      envId: 'Pendulum-v1',
      algo: 'ppo',
      steps: 128,
      hidden: [16],
      outDir: null,
      hp: { numEnvs: 2, numSteps: 64, updateEpochs: 1, minibatchSize: 64 },
      evalEpisodes: 1,
    });
    validatePolicy(res.model);
    expect(res.model.head).toMatchObject({ kind: 'continuous', dim: 1, squash: 'none' });
    expect(res.model.head.kind === 'continuous' && res.model.head.logStd?.length).toBe(1);
    const a = forward(res.model, new Float32Array([1, 0, 0]), 1);
    expect(Math.abs(a[0])).toBeLessThanOrEqual(2);
  });

  it('dqn on CartPole-v1 exports a q_values head and is reproducible for a seed', async () => {
    const run = () =>
      trainTeacher({
        envId: 'CartPole-v1',
        algo: 'dqn',
        steps: 300,
        seed: 7,
        hidden: [32, 32],
        outDir: null,
        hp: { learningStarts: 100, trainFreq: 4, gradientSteps: 1, batchSize: 32, targetUpdateInterval: 50 },
        evalEpisodes: 2,
      });
    const a = await run();
    const b = await run();
    validatePolicy(a.model);
    expect(a.model.head).toMatchObject({ kind: 'discrete', output: 'q_values', n: 2 });
    expect(Array.from(a.model.layers[2].weight)).toEqual(Array.from(b.model.layers[2].weight));
    const out = tmp();
    await trainTeacher({ envId: 'CartPole-v1', algo: 'dqn', steps: 200, hidden: [16], outDir: out, hp: { learningStarts: 100, batchSize: 16 }, evalEpisodes: 1 });
    await checkFiles(out);
  });

  it('sac on Pendulum-v1 exports a tanh-squashed head within the bounds', async () => {
    const out = tmp();
    const res = await trainTeacher({
      envId: 'Pendulum-v1',
      algo: 'sac',
      steps: 200,
      hidden: [32, 32],
      outDir: out,
      hp: { learningStarts: 150, batchSize: 32, criticHidden: [16, 16] },
      evalEpisodes: 1,
    });
    const { model } = await checkFiles(out);
    expect(model.head).toMatchObject({ kind: 'continuous', dim: 1, squash: 'tanh' });
    expect(model.layers[model.layers.length - 1].outDim).toBe(1); // the log-std rows are not shipped
    expect(res.card.algorithm).toBe('sac');
    const y = forward(model, Float32Array.from({ length: 30 }, (_, i) => (i - 15) * 0.7), 10);
    y.forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(2));
  });

  it('rejects a wrong algorithm for the action space and unknown hyper-parameters', async () => {
    await expect(trainTeacher({ envId: 'Pendulum-v1', algo: 'dqn', steps: 10, outDir: null })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--algo' });
    await expect(trainTeacher({ envId: 'CartPole-v1', algo: 'sac', steps: 10, outDir: null })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(() => parseHyperOverrides('ppo', 'CartPole-v1', ['nope=1'])).toThrow(/unknown hyper-parameter/);
    expect(parseHyperOverrides('ppo', 'CartPole-v1', ['gamma=0.9', 'normObs=true', 'criticHidden=8,8', 'clipVloss=null'])).toEqual({
      gamma: 0.9,
      normObs: true,
      criticHidden: [8, 8],
      clipVloss: null,
    });
  });
});
