import { describe, expect, it } from 'vitest';
import { act, argmaxRow, forward, paramCount } from '../../pipeline/src/ir/forward.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import type { Activation, PolicyHead, PolicyModel } from '../../pipeline/src/ir/types.js';

/**
 * The 2-2-2 net used throughout, worked on paper:
 *   W1 = [[1, -1], [0.5, 0.5]], b1 = [0, -1]; W2 = [[2, 1], [-1, 3]], b2 = [0.25, 0]
 *   obs [1, 2] -> pre-activation h = [1 - 2 + 0, 0.5 + 1 - 1] = [-1, 0.5]
 */
function net(hidden: Activation, head: PolicyHead = { kind: 'discrete', output: 'logits', n: 2 }, obsNorm: PolicyModel['obsNorm'] = null): PolicyModel {
  return {
    envId: null,
    obsDim: 2,
    obsNorm,
    layers: [
      { inDim: 2, outDim: 2, weight: Float32Array.of(1, -1, 0.5, 0.5), bias: Float32Array.of(0, -1), activation: hidden },
      { inDim: 2, outDim: 2, weight: Float32Array.of(2, 1, -1, 3), bias: Float32Array.of(0.25, 0), activation: 'none' },
    ],
    head,
    card: {},
  };
}

const close = (got: Float32Array, want: number[], tol = 1e-6) => {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]), `index ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(tol));
};

describe('forward on a hand-computed 2-2-2 net', () => {
  it('relu: h = [0, 0.5] -> [0.75, 1.5]', () => {
    close(forward(net('relu'), Float32Array.of(1, 2), 1), [0.75, 1.5]);
  });
  it('tanh: h = [tanh(-1), tanh(0.5)] = [-0.761594, 0.462117] -> [-0.811071, 2.147946]', () => {
    close(forward(net('tanh'), Float32Array.of(1, 2), 1), [-0.81107115, 2.14794563]);
  });
  it('sigmoid: h = [0.268941, 0.622459] -> [1.410342, 1.598437]', () => {
    close(forward(net('sigmoid'), Float32Array.of(1, 2), 1), [1.41034217, 1.59843657]);
  });
  it('none: h = [-1, 0.5] -> [-1.25, 2.5]', () => {
    close(forward(net('none'), Float32Array.of(1, 2), 1), [-1.25, 2.5]);
  });
  it('processes a batch row by row', () => {
    // second row obs [0, 0]: h = [0, -1] -> relu [0, 0] -> [0.25, 0]
    close(forward(net('relu'), Float32Array.of(1, 2, 0, 0), 2), [0.75, 1.5, 0.25, 0]);
  });
  it('normalizes observations with clip: obs [2, 4], mean [1, 0], std [2, 0.5], clip 3 -> [0.5, 3]', () => {
    // h = [0.5 - 3, 0.25 + 1.5 - 1] = [-2.5, 0.75] -> relu [0, 0.75] -> [0.75 + 0.25, 2.25]
    const m = net('relu', undefined, { mean: Float32Array.of(1, 0), std: Float32Array.of(2, 0.5), clip: 3 });
    close(forward(m, Float32Array.of(2, 4), 1), [1.0, 2.25]);
    // without clip the second feature stays 8: h = [0.5 - 8, 0.25 + 4 - 1] = [-7.5, 3.25] -> [3.5, 9.75]
    const n = net('relu', undefined, { mean: Float32Array.of(1, 0), std: Float32Array.of(2, 0.5), clip: null });
    close(forward(n, Float32Array.of(2, 4), 1), [3.5, 9.75]);
  });
  it('rejects an observation of the wrong length', () => {
    expect(() => forward(net('relu'), Float32Array.of(1, 2, 3), 1)).toThrow(/expected 1 x 2/);
  });
});

describe('continuous heads', () => {
  const identity = (head: PolicyHead): PolicyModel => ({
    envId: null,
    obsDim: 2,
    obsNorm: null,
    layers: [{ inDim: 2, outDim: 2, weight: Float32Array.of(1, 0, 0, 1), bias: Float32Array.of(0, 0), activation: 'none' }],
    head,
    card: {},
  });
  it('tanh squash scales to the bounds: low + (tanh(m) + 1) / 2 * (high - low)', () => {
    const m = identity({ kind: 'continuous', dim: 2, squash: 'tanh', low: Float32Array.of(-2, 0), high: Float32Array.of(2, 1) });
    // m = [0.5, -100]: -2 + (0.462117 + 1) / 2 * 4 = 0.924234; tanh(-100) = -1 -> low = 0
    close(forward(m, Float32Array.of(0.5, -100), 1), [0.92423431, 0]);
    // m = [0, 0] -> midpoints [0, 0.5]; m = [100, 100] -> highs
    close(forward(m, Float32Array.of(0, 0, 100, 100), 2), [0, 0.5, 2, 1]);
  });
  it('clips without squash to per-dimension bounds', () => {
    const m = identity({ kind: 'continuous', dim: 2, squash: 'none', low: Float32Array.of(-1, -1), high: Float32Array.of(1, 0.5) });
    close(forward(m, Float32Array.of(3, 0.2, -3, 0.7), 2), [1, 0.2, -1, 0.5]);
  });
  it('unbounded boxes pass the mean through', () => {
    const m = identity({ kind: 'continuous', dim: 2, squash: 'none', low: Float32Array.of(-Infinity, -Infinity), high: Float32Array.of(Infinity, Infinity) });
    close(forward(m, Float32Array.of(-1e6, 42), 1), [-1e6, 42]);
  });
});

describe('act and argmax', () => {
  it('returns the argmax for discrete heads', () => {
    expect(act(net('relu'), Float32Array.of(1, 2))).toBe(1); // [0.75, 1.5]
    expect(act(net('none'), Float32Array.of(0, 0))).toBe(0); // h = [0, -1] -> [-1 + 0.25, -3] = [-0.75, -3]
  });
  it('takes the first index on ties, like numpy', () => {
    expect(argmaxRow(Float32Array.of(1, 1), 2)).toBe(0);
    expect(argmaxRow(Float32Array.of(0, 2, 2), 3)).toBe(1);
    expect(argmaxRow(Float32Array.of(5, 0, 1, 2, 3, 3), 3, 1)).toBe(1);
    expect(argmaxRow(Float32Array.of(1, NaN, 3), 3)).toBe(1); // numpy: first NaN wins
  });
  it('returns the action vector for continuous heads', () => {
    const m = mlp({ obsDim: 3, hidden: [4], head: { kind: 'continuous', low: [-1], high: [1] }, init: { seed: 3 } });
    const a = act(m, Float32Array.of(0.1, 0.2, 0.3));
    expect(a).toBeInstanceOf(Float32Array);
    expect((a as Float32Array).length).toBe(1);
  });
});

describe('paramCount', () => {
  it('counts weights and biases: 4-64-64-2 has 4610', () => {
    const m = mlp({ obsDim: 4, hidden: [64, 64], head: { kind: 'discrete', n: 2 }, init: { seed: 0 } });
    expect(paramCount(m)).toBe(4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2);
    expect(paramCount(net('relu'))).toBe(12);
  });
});
