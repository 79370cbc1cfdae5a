import { describe, expect, it } from 'vitest';
import { Adam, adamUpdate } from '../../pipeline/src/distill/adam.js';
import { klDistillLoss, mseLoss } from '../../pipeline/src/distill/losses.js';
import { MlpTrainer, denseForward, mlpParamCount, reluBits, reluMaskBits, type TrainActivation, type TrainerBackend } from '../../pipeline/src/distill/mlp-train.js';
import { Rng } from '../../pipeline/src/distill/rng.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';

const f32 = (a: number[]) => Float32Array.from(a);
/** MlpTrainer's tests run on both backends: the wasm kernels and the JS reference. */
const BACKENDS: TrainerBackend[] = ['wasm-simd-f32', 'js-f32'];

describe('denseForward', () => {
  it('matches a hand-computed 2x3 layer with relu, tanh and none', () => {
    // W = [[1, 2, 3], [-1, 0, 1]] (row-major [out][in]), b = [0.5, -1]
    const w = f32([1, 2, 3, -1, 0, 1]);
    const b = f32([0.5, -1]);
    const x = f32([1, 1, 1, 0, -1, 2]);
    const y = new Float32Array(4);
    denseForward(x, 2, 3, w, b, 2, 'none', y);
    expect(Array.from(y)).toEqual([6.5, -1, 4.5, 1]);
    denseForward(x, 2, 3, w, b, 2, 'relu', y);
    expect(Array.from(y)).toEqual([6.5, 0, 4.5, 1]);
    denseForward(x, 2, 3, w, b, 2, 'tanh', y);
    expect(y[1]).toBeCloseTo(Math.tanh(-1), 6);
    expect(y[2]).toBeCloseTo(Math.tanh(4.5), 6);
  });

  it.each(BACKENDS)('agrees with the IR forward pass for odd sizes (tile remainders, %s)', (backend) => {
    const rng = new Rng(3);
    for (const sizes of [[3, 7, 5, 1], [6, 9, 3], [2, 4, 4, 2], [5, 1, 6]]) {
      const acts: TrainActivation[] = sizes.slice(1).map((_, l) => (l === sizes.length - 2 ? 'none' : l % 2 ? 'tanh' : 'relu'));
      const net = new MlpTrainer({ sizes, activations: acts }, 8, rng, { backend });
      const model: PolicyModel = {
        envId: null,
        obsDim: sizes[0],
        obsNorm: null,
        layers: net.toLayers(),
        head: { kind: 'continuous', dim: sizes[sizes.length - 1], squash: 'none', low: new Float32Array(sizes[sizes.length - 1]).fill(-1e9), high: new Float32Array(sizes[sizes.length - 1]).fill(1e9) },
        card: {},
      };
      for (const batch of [1, 2, 5, 8]) {
        const x = Float32Array.from({ length: batch * sizes[0] }, () => rng.uniform(-2, 2));
        const ours = net.forward(x, batch).slice(0, batch * sizes[sizes.length - 1]);
        const ir = forward(model, x, batch);
        for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - ir[i])).toBeLessThan(1e-5);
      }
    }
  });
});

describe('branch-free relu on float bits', () => {
  it('zeroes negatives (and -0), keeps positives; masks gradients where the output is 0', () => {
    const y = f32([-1.5, 0, -0, 2.25, -1e-30, 3e-38, 7]);
    reluBits(new Int32Array(y.buffer), y.length);
    expect(Array.from(y)).toEqual([0, 0, 0, 2.25, 0, Math.fround(3e-38), 7]);
    expect(Object.is(y[2], 0)).toBe(true);
    const g = f32([1, 2, 3, 4, 5, 6, 7]);
    reluMaskBits(new Int32Array(g.buffer), new Int32Array(y.buffer), y.length);
    expect(Array.from(g)).toEqual([0, 0, 0, 4, 0, 6, 7]);
  });
});

describe('MlpTrainer.backward', () => {
  /** Loss as a float64 function of the parameters, through the trainer's own forward. */
  function checkGradients(sizes: number[], acts: TrainActivation[], batch: number, seed: number): void {
    for (const backend of BACKENDS) checkGradientsOn(backend, sizes, acts, batch, seed);
  }
  function checkGradientsOn(backend: TrainerBackend, sizes: number[], acts: TrainActivation[], batch: number, seed: number): void {
    const rng = new Rng(seed);
    const net = new MlpTrainer({ sizes, activations: acts }, batch, rng, { backend });
    const outDim = sizes[sizes.length - 1];
    const x = Float32Array.from({ length: batch * sizes[0] }, () => rng.uniform(-1, 1));
    const t = Float32Array.from({ length: batch * outDim }, () => rng.uniform(-1, 1));
    const lossAt = (): number => mseLoss(t, net.forward(x, batch), batch, outDim, null);
    const g = new Float32Array(batch * outDim);
    mseLoss(t, net.forward(x, batch), batch, outDim, g);
    net.backward(g);
    const analytic = net.grads.slice();
    const h = 1e-2;
    let checked = 0;
    for (let k = 0; k < net.params.length; k++) {
      const p0 = net.params[k];
      net.params[k] = p0 + h;
      const lp = lossAt();
      net.params[k] = p0 - h;
      const lm = lossAt();
      net.params[k] = p0;
      const numeric = (lp - lm) / (2 * h);
      // Central differences are exact for quadratics; relu kinks inside [p-h, p+h] are rare at these scales.
      expect(Math.abs(numeric - analytic[k]), `${backend} param ${k}: numeric ${numeric}, analytic ${analytic[k]}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      checked++;
    }
    expect(checked).toBe(mlpParamCount(sizes));
  }

  it('matches finite differences: tanh 3-5-4-2, batch 5', () => checkGradients([3, 5, 4, 2], ['tanh', 'tanh', 'none'], 5, 1));
  it('matches finite differences: relu 4-8-8-2, batch 6', () => checkGradients([4, 8, 8, 2], ['relu', 'relu', 'none'], 6, 2));
  it('matches finite differences: mixed 7-9-3-1, batch 3 (odd tiles)', () => checkGradients([7, 9, 3, 1], ['relu', 'tanh', 'none'], 3, 3));

  it.each(BACKENDS)('hand-computed gradient of a 1-1 linear layer (%s)', (backend) => {
    // y = w x + b, loss = mean (y - t)^2 over 2 samples; w=2, b=1; x=[1,3], t=[0,0] -> y=[3,7]
    const net = new MlpTrainer({ sizes: [1, 1], activations: ['none'] }, 2, [
      { inDim: 1, outDim: 1, weight: f32([2]), bias: f32([1]), activation: 'none' },
    ], { backend });
    const y = net.forward(f32([1, 3]), 2);
    const g = new Float32Array(2);
    mseLoss(f32([0, 0]), y, 2, 1, g); // g = [3, 7]
    net.backward(g);
    // dL/dw = (3*1 + 7*3) = 24, dL/db = 3 + 7 = 10
    expect(Array.from(net.grads)).toEqual([24, 10]);
  });
});

describe('Adam', () => {
  it('first step moves each parameter by lr against the gradient sign (bias correction)', () => {
    const p = f32([1, -2, 0.5]);
    const opt = new Adam(3, { lr: 0.1 });
    opt.step(p, f32([0.3, -4, 0]));
    expect(p[0]).toBeCloseTo(0.9, 6);
    expect(p[1]).toBeCloseTo(-1.9, 6);
    expect(p[2]).toBeCloseTo(0.5, 7);
  });
  it('second step matches the formulas by hand', () => {
    const p = f32([0]);
    const m = new Float32Array(1);
    const v = new Float32Array(1);
    adamUpdate(p, f32([1]), m, v, 1, 0.01, 0.9, 0.999, 1e-8);
    adamUpdate(p, f32([-1]), m, v, 2, 0.01, 0.9, 0.999, 1e-8);
    // m2 = 0.9*0.1 - 0.1 = -0.01; v2 = 0.999*0.001 + 0.001 = 0.001999
    const mHat = -0.01 / (1 - 0.81);
    const vHat = 0.001999 / (1 - 0.999 ** 2);
    expect(m[0]).toBeCloseTo(-0.01, 7);
    expect(v[0]).toBeCloseTo(0.001999, 7);
    expect(p[0]).toBeCloseTo(-0.01 - (0.01 * mHat) / (Math.sqrt(vHat) + 1e-8), 6);
  });
});

describe('training', () => {
  it('fits a teacher distribution with KL (loss falls by 100x)', () => {
    const rng = new Rng(0);
    const net = new MlpTrainer({ sizes: [2, 16, 16, 2], activations: ['relu', 'relu', 'none'] }, 64, rng);
    const opt = new Adam(net.params.length, { lr: 3e-3 });
    const x = new Float32Array(64 * 2);
    const t = new Float32Array(64 * 2);
    const g = new Float32Array(64 * 2);
    const batchLoss = (): number => {
      for (let b = 0; b < 64; b++) {
        const a = rng.uniform(-1, 1);
        const c = rng.uniform(-1, 1);
        x[2 * b] = a;
        x[2 * b + 1] = c;
        t[2 * b] = 0;
        t[2 * b + 1] = 4 * (a - c); // teacher logits: prefers action 1 when a > c
      }
      return klDistillLoss(t, net.forward(x, 64), 64, 2, 1, g);
    };
    const first = batchLoss();
    let last = first;
    for (let s = 0; s < 1500; s++) {
      last = batchLoss();
      net.backward(g);
      opt.step(net.params, net.grads);
    }
    expect(last).toBeLessThan(first / 100);
  });

  it('is deterministic for a seed', () => {
    const a = new MlpTrainer({ sizes: [4, 8, 2], activations: ['relu', 'none'] }, 4, new Rng(7));
    const b = new MlpTrainer({ sizes: [4, 8, 2], activations: ['relu', 'none'] }, 4, new Rng(7));
    const c = new MlpTrainer({ sizes: [4, 8, 2], activations: ['relu', 'none'] }, 4, new Rng(8));
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
    expect(Array.from(a.params)).not.toEqual(Array.from(c.params));
  });
});
