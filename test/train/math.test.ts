// The trainers' maths against hand-computed values (worked out in the comments).
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../pipeline/src/train/backend.js';
import {
  RunningMeanStd,
  categoricalEntropy,
  categoricalLogProb,
  clipByGlobalNorm,
  clippedSurrogateLoss,
  doubleQNext,
  explainedVariance,
  gae,
  gaussianEntropy,
  gaussianLogProb,
  huberLoss,
  linearSchedule,
  normalize,
  normalizeObs,
  sacTarget,
  scaleAction,
  softUpdate,
  softUpdateArray,
  squashedLogProb,
  td3Target,
  tdTarget,
  valueLoss,
} from '../../pipeline/src/train/math.js';
import { orthogonal, transpose } from '../../pipeline/src/train/nn.js';
import { Rng } from '../../pipeline/src/train/rng.js';
import { sampleCategorical } from '../../pipeline/src/train/ppo.js';

const close = (a: ArrayLike<number>, b: number[], digits = 5) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};
const val = (t: tf.Tensor) => {
  const d = Array.from(t.dataSync());
  t.dispose();
  return d;
};

beforeAll(async () => {
  await initBackend();
});

describe('gae', () => {
  it('matches a hand-worked rollout with an episode end and two interleaved envs', () => {
    // env 0: r = 1, V = 0.5, episode ends at t = 2 (so V_last = 10 is ignored); gamma .9, lambda .8
    //   t2: delta = 1 - .5 = .5 -> A = .5;  t1: delta = 1 + .45 - .5 = .95 -> A = .95 + .72 * .5 = 1.31
    //   t0: A = .95 + .72 * 1.31 = 1.8932
    // env 1: r = 0, V = 1, no end, V_last = 2
    //   t2: delta = 1.8 - 1 = .8;  t1: delta = -.1 -> A = -.1 + .72 * .8 = .476;  t0: A = -.1 + .72 * .476 = .24272
    const { advantages, returns } = gae([1, 0, 1, 0, 1, 0], [0.5, 1, 0.5, 1, 0.5, 1], [0, 0, 0, 0, 1, 0], [10, 2], 3, 2, 0.9, 0.8);
    close(advantages, [1.8932, 0.24272, 1.31, 0.476, 0.5, 0.8]);
    close(returns, [2.3932, 1.24272, 1.81, 1.476, 1.0, 1.8]);
  });
  it('lambda = 1 gives discounted returns minus values; lambda = 0 the one-step TD error', () => {
    const mc = gae([1, 1], [0, 0], [0, 0], [0], 2, 1, 0.5, 1);
    close(mc.returns, [1.5, 1]);
    const td = gae([1, 1], [2, 4], [0, 0], [8], 2, 1, 0.5, 0);
    close(td.advantages, [1 + 2 - 2, 1 + 4 - 4]);
  });
});

describe('PPO losses', () => {
  it('clipped surrogate takes the pessimistic term', () => {
    // r .5, A 1: max(-.5, -.8) = -.5;  r 1.5, A 1: max(-1.5, -1.2) = -1.2;  r 1, A -2: 2  -> mean .1
    expect(val(clippedSurrogateLoss(tf.tensor1d([0.5, 1.5, 1]), tf.tensor1d([1, 1, -2]), 0.2))[0]).toBeCloseTo(0.1, 6);
    // r .5, A -1: max(.5, .8) = .8 (the clipped ratio is worse, so it counts)
    expect(val(clippedSurrogateLoss(tf.tensor1d([0.5]), tf.tensor1d([-1]), 0.2))[0]).toBeCloseTo(0.8, 6);
  });
  it('value loss, plain and clipped', () => {
    // .5 * mean((1-0)^2, (2-4)^2) = .5 * 2.5
    expect(val(valueLoss(tf.tensor1d([1, 2]), tf.tensor1d([0, 4]), null, null))[0]).toBeCloseTo(1.25, 6);
    // V 3, V_old 1, R 3, clip .5: unclipped 0, clipped (1.5 - 3)^2 = 2.25 -> .5 * 2.25
    expect(val(valueLoss(tf.tensor1d([3]), tf.tensor1d([3]), tf.tensor1d([1]), 0.5))[0]).toBeCloseTo(1.125, 6);
  });
  it('categorical log prob and entropy', () => {
    close(val(categoricalLogProb(tf.tensor2d([[0, 0], [Math.log(3), 0]]), tf.tensor1d([1, 0]))), [-Math.LN2, Math.log(0.75)]);
    close(val(categoricalEntropy(tf.tensor2d([[0, 0, 0, 0]]))), [Math.log(4)]);
  });
  it('Gaussian log prob and entropy', () => {
    // N(1; 0, 1) = -.5 - .918939;  N(0; 0, e^1) = -1 - .918939
    close(val(gaussianLogProb(tf.tensor2d([[0, 0]]), tf.tensor1d([0, 1]), tf.tensor2d([[1, 0]]))), [-0.5 - 0.9189385 - 1 - 0.9189385]);
    close(val(gaussianEntropy(tf.tensor1d([0, 1]))), [1.4189385 + 2.4189385]);
  });
  it('advantage normalization and explained variance', () => {
    close(normalize([1, 2, 3]), [-1.2247449, 0, 1.2247449]);
    expect(explainedVariance([1, 2, 3], [1, 2, 3])).toBeCloseTo(1, 9);
    expect(explainedVariance([2, 2, 2], [1, 2, 3])).toBeCloseTo(0, 9);
  });
  it('sampling from a categorical returns the log probability of the sample', () => {
    const rng = new Rng(3);
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) {
      const { a, logp } = sampleCategorical([Math.log(3), 0], rng);
      counts[a]++;
      expect(logp).toBeCloseTo(a === 0 ? Math.log(0.75) : Math.log(0.25), 6);
    }
    expect(counts[0] / 4000).toBeGreaterThan(0.72);
    expect(counts[0] / 4000).toBeLessThan(0.78);
  });
});

describe('off-policy targets', () => {
  it('TD target bootstraps unless terminated', () => {
    close(val(tdTarget(tf.tensor1d([1, 2]), tf.tensor1d([0, 1]), tf.tensor1d([10, 10]), 0.9)), [10, 2]);
  });
  it('SAC target: min of the twin critics minus alpha log pi', () => {
    // 1 + .9 * (min(5, 3) - .2 * -1) = 1 + .9 * 3.2 = 3.88
    close(val(sacTarget(tf.tensor1d([1]), tf.tensor1d([0]), tf.tensor1d([5]), tf.tensor1d([3]), tf.tensor1d([-1]), 0.2, 0.9)), [3.88]);
  });
  it('TD3 target: min of the twin critics', () => {
    close(val(td3Target(tf.tensor1d([1, 1]), tf.tensor1d([0, 1]), tf.tensor1d([5, 5]), tf.tensor1d([3, 3]), 0.9)), [3.7, 1]);
  });
  it('double DQN: online argmax, target value', () => {
    close(val(doubleQNext(tf.tensor2d([[1, 2], [3, 0]]), tf.tensor2d([[10, 20], [30, 40]]))), [20, 30]);
  });
  it('Huber loss is quadratic inside 1 and linear outside', () => {
    // .5 * .25 = .125 and 3 - .5 = 2.5 -> mean 1.3125
    expect(val(huberLoss(tf.tensor1d([0, 0]), tf.tensor1d([0.5, 3])))[0]).toBeCloseTo(1.3125, 6);
  });
  it('soft update on arrays and on variables; tau 1 is a copy', () => {
    close(softUpdateArray(new Float32Array([0, 1]), [1, 3], 0.1), [0.1, 1.2]);
    const t = tf.variable(tf.tensor1d([0, 1]));
    const s = tf.variable(tf.tensor1d([1, 3]));
    softUpdate([t], [s], 0.1);
    close(t.dataSync(), [0.1, 1.2]);
    softUpdate([t], [s], 1);
    close(t.dataSync(), [1, 3]);
  });
  it('squashed Gaussian log prob subtracts the tanh Jacobian', () => {
    // u = 0: tanh 0 = 0, Jacobian log(1 * (1 - 0) + 1e-6) ~ 1e-6
    const r0 = squashedLogProb(tf.tensor2d([[0]]), tf.tensor2d([[0]]), tf.tensor2d([[0]]), tf.tensor1d([1]));
    close(val(r0.logProb), [-0.9189385]);
    close(val(r0.squashed), [0]);
    // u = 1, scale 2: log N(1; 0, 1) - log(2 * (1 - tanh(1)^2) + 1e-6)
    const th = Math.tanh(1);
    const r1 = squashedLogProb(tf.tensor2d([[0]]), tf.tensor2d([[0]]), tf.tensor2d([[1]]), tf.tensor1d([2]));
    close(val(r1.logProb), [-1.4189385 - Math.log(2 * (1 - th * th) + 1e-6)]);
    r1.squashed.dispose();
  });
  it('tanh output maps onto the action bounds', () => {
    close(scaleAction([-1, 0, 1], [-2, -2, -2], [2, 2, 2]), [-2, 0, 2]);
    close(scaleAction([0.5], [0], [1]), [0.75]);
  });
});

describe('schedules, statistics and gradients', () => {
  it('linear schedule', () => {
    expect(linearSchedule(1, 0.1, 100, 50)).toBeCloseTo(0.55, 9);
    expect(linearSchedule(1, 0.1, 100, 200)).toBeCloseTo(0.1, 9);
    expect(linearSchedule(1, 0.1, 0, 0)).toBe(0.1);
  });
  it('running mean/std merges batches like one pass over all data', () => {
    const rms = new RunningMeanStd(1);
    rms.update([1, 3], 2);
    expect(rms.mean[0]).toBeCloseTo(2, 3);
    expect(rms.var[0]).toBeCloseTo(1, 3);
    rms.update([5], 1);
    // all of 1, 3, 5: mean 3, var 8/3
    expect(rms.mean[0]).toBeCloseTo(3, 3);
    expect(rms.var[0]).toBeCloseTo(8 / 3, 3);
    close(normalizeObs([3, 13], [1], [2], 4), [1, 4]);
  });
  it('gradients are clipped to the global norm', () => {
    const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }, 1);
    expect(norm).toBeCloseTo(5, 5);
    close(grads.a.dataSync(), [0.6]);
    close(grads.b.dataSync(), [0.8]);
  });
  it('orthogonal init has orthonormal rows (times the gain) and is seeded', () => {
    const w = orthogonal(3, 5, 2, new Rng(1));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let dot = 0;
        for (let k = 0; k < 5; k++) dot += w[i * 5 + k] * w[j * 5 + k];
        expect(dot).toBeCloseTo(i === j ? 4 : 0, 4);
      }
    }
    expect(Array.from(orthogonal(3, 5, 2, new Rng(1)))).toEqual(Array.from(w));
    close(transpose([1, 2, 3, 4, 5, 6], 2, 3), [1, 4, 2, 5, 3, 6]);
  });
  it('the PRNG is reproducible and roughly standard normal', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 20000 }, () => a.normal());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.normal()));
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
  });
});
