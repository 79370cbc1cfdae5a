import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEnv } from '@edgedistill/runtime/envs';
import { act } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { writePolicyFile } from '../../pipeline/src/ir/serialize.js';
import { writeOnnx } from '../../pipeline/src/onnx/write.js';
import { evaluatePolicyFile } from '../../pipeline/src/eval/evaluate.js';
import { tempDir } from '../onnx/helpers.js';

/** CartPole: push towards the side the pole leans to (logit of "right" = theta): mediocre, so returns vary. */
const cartpole: PolicyModel = {
  envId: 'CartPole-v1',
  obsDim: 4,
  obsNorm: null,
  layers: [{ inDim: 4, outDim: 2, weight: Float32Array.of(0, 0, 0, 0, 0, 0, 1, 0), bias: Float32Array.of(0, 0), activation: 'none' }],
  head: { kind: 'discrete', output: 'logits', n: 2 },
  card: {},
};

/** Pendulum: a tanh-squashed linear torque, bounds [-2, 2]. */
const pendulum: PolicyModel = {
  envId: 'Pendulum-v1',
  obsDim: 3,
  obsNorm: null,
  layers: [{ inDim: 3, outDim: 1, weight: Float32Array.of(-1, -0.5, -0.3), bias: Float32Array.of(0), activation: 'none' }],
  head: { kind: 'continuous', dim: 1, squash: 'tanh', low: Float32Array.of(-2), high: Float32Array.of(2) },
  card: {},
};

/** The same evaluation, one env at a time, as the definition of what eval must report. */
function reference(model: PolicyModel, envId: string, episodes: number, seed: number) {
  const returns: number[] = [];
  let steps = 0;
  for (let i = 0; i < episodes; i++) {
    const env = makeEnv(envId);
    let { obs } = env.reset({ seed: seed + i });
    let total = 0;
    for (;;) {
      const r = env.step(act(model, obs));
      total += r.reward;
      steps++;
      obs = r.obs;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
  }
  const mean = returns.reduce((a, b) => a + b, 0) / episodes;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / episodes);
  return { mean, std, min: Math.min(...returns), max: Math.max(...returns), steps };
}

describe('evaluatePolicyFile', () => {
  const dir = tempDir('ed-eval-');

  it('policy.json and its ONNX export give the one-env-at-a-time returns, seeds S + i', async () => {
    const pj = join(dir, 'cartpole.json');
    const ox = join(dir, 'cartpole.onnx');
    await writePolicyFile(pj, cartpole);
    await writeOnnx(ox, cartpole);
    const ref = reference(cartpole, 'CartPole-v1', 6, 10);
    expect(ref.min).toBeLessThan(ref.max); // different seeds give different episodes
    for (const f of [pj, ox]) {
      const r = await evaluatePolicyFile(f, { episodes: 6, seed: 10 });
      expect(r.env).toBe('CartPole-v1'); // from the policy's own env id
      expect(r.return).toEqual({ mean: ref.mean, std: ref.std, min: ref.min, max: ref.max });
      expect(r.steps).toBe(ref.steps);
    }
  });

  it('continuous actions, and a directory holding policy.json', async () => {
    const d = join(dir, 'run');
    mkdirSync(d);
    await writePolicyFile(join(d, 'policy.json'), pendulum);
    const r = await evaluatePolicyFile(d, { episodes: 3, seed: 0, env: 'Pendulum-v1' });
    const ref = reference(pendulum, 'Pendulum-v1', 3, 0);
    expect(r.return.mean).toBeCloseTo(ref.mean, 6);
    expect(r.steps).toBe(600);
    expect(r.policy.format).toBe('policy.json');
  });

  it('an opaque-free student.onnx in a directory is found too', async () => {
    const d = join(dir, 'student-dir');
    await writeOnnx(join(d, 'student.onnx'), cartpole);
    const r = await evaluatePolicyFile(d, { episodes: 2, seed: 3 });
    expect(r.policy.format).toBe('onnx');
    expect(r.episodes).toBe(2);
  });

  it('names the file and both sizes when the policy does not fit the env', async () => {
    const ox = join(dir, 'cartpole-on-pendulum.onnx');
    await writeOnnx(ox, cartpole);
    await expect(evaluatePolicyFile(ox, { episodes: 1, env: 'Pendulum-v1' })).rejects.toMatchObject({
      code: 'BAD_MODEL',
      file: ox,
      message: 'the model takes 4 observation values but Pendulum-v1 gives 3',
    });
  });

  it('needs --env when the policy does not name one, and refuses a missing file', async () => {
    const pj = join(dir, 'anon.json');
    await writePolicyFile(pj, { ...cartpole, envId: null });
    await expect(evaluatePolicyFile(pj, { episodes: 1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--env' });
    await expect(evaluatePolicyFile(join(dir, 'missing.onnx'), { episodes: 1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
