/** Importance scores, structured pruning and magnitude masks against hand-checked values. */
import { describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { allUnitImportance, unitImportance, unitStats } from '../../pipeline/src/compress/importance.js';
import { pruneUnits, selectUnits, shrinkWidths, structuredPrune } from '../../pipeline/src/compress/structured.js';
import { applyMasks, magnitudeMasks, sparsityOf } from '../../pipeline/src/compress/magnitude.js';
import { nextWidths } from '../../pipeline/src/compress/auto-shrink.js';
import { maxAbsDiff, randomMlp, randomObs, redundantCartPoleStudent } from './helpers.js';

/** 2 -> 3 (relu) -> 2: weights chosen so the norms are easy to add by hand. */
function tiny(): PolicyModel {
  return {
    envId: null,
    obsDim: 2,
    obsNorm: null,
    layers: [
      // rows: unit 0 = [1, -2], unit 1 = [0, 0.5], unit 2 = [3, 4]
      { inDim: 2, outDim: 3, weight: Float32Array.of(1, -2, 0, 0.5, 3, 4), bias: Float32Array.of(0, 1, -1), activation: 'relu' },
      // columns: unit 0 -> [2, 0], unit 1 -> [-1, 1], unit 2 -> [0, 0]
      { inDim: 3, outDim: 2, weight: Float32Array.of(2, -1, 0, 0, 1, 0), bias: Float32Array.of(0.5, -0.5), activation: 'none' },
    ],
    head: { kind: 'discrete', output: 'logits', n: 2 },
    card: {},
  };
}

describe('unit importance', () => {
  it('l1 sums |incoming| and |outgoing| weights', () => {
    // unit 0: 1 + 2 + 2 + 0 = 5; unit 1: 0 + 0.5 + 1 + 1 = 2.5; unit 2: 3 + 4 + 0 + 0 = 7
    expect(Array.from(unitImportance(tiny(), 0, 'l1'))).toEqual([5, 2.5, 7]);
  });
  it('l2 is the norm of incoming and outgoing weights together', () => {
    const s = unitImportance(tiny(), 0, 'l2');
    expect(s[0]).toBeCloseTo(Math.sqrt(1 + 4 + 4), 12);
    expect(s[1]).toBeCloseTo(Math.sqrt(0.25 + 1 + 1), 12);
    expect(s[2]).toBeCloseTo(5, 12);
  });
  it('activation importance is std(a_j) x ||W_out[:, j]||', () => {
    // Activations of the 3 units on two states, by hand: a = relu(W x + b).
    const obs = Float32Array.of(1, 0, 0, 1); // states (1, 0) and (0, 1)
    // state 1: [relu(1), relu(1), relu(2)] = [1, 1, 2]; state 2: [relu(-2), relu(1.5), relu(3)] = [0, 1.5, 3]
    const s = allUnitImportance(tiny(), 'activation', { obs, n: 2 })[0];
    expect(s[0]).toBeCloseTo(0.5 * 2, 6); // std(1, 0) = 0.5, ||(2, 0)|| = 2
    expect(s[1]).toBeCloseTo(0.25 * Math.SQRT2, 6); // std(1, 1.5) = 0.25, ||(-1, 1)|| = sqrt 2
    expect(s[2]).toBe(0); // no outgoing weight
  });
  it('unitStats gives population mean and std per column', () => {
    const { mean, std } = unitStats(Float32Array.of(1, 2, 3, 6), 2, 2);
    expect(Array.from(mean)).toEqual([2, 4]);
    expect(Array.from(std)).toEqual([1, 2]);
  });
});

describe('structured pruning', () => {
  it('selects the best units and keeps their order', () => {
    expect(selectUnits([Float64Array.of(5, 2.5, 7)], [2])).toEqual([[0, 2]]);
    expect(selectUnits([Float64Array.of(1, 1, 1)], [2])).toEqual([[0, 1]]); // ties: lower index
  });
  it('shrinks widths by a fraction, never below one unit', () => {
    expect(shrinkWidths([64, 64], 0.5)).toEqual([32, 32]);
    expect(shrinkWidths([3, 1], 0.9)).toEqual([1, 1]);
    expect(nextWidths([2, 2], 0.1)).toEqual([1, 2]); // rounding would keep 2x2: one unit fewer anyway
    expect(() => shrinkWidths([4], 1)).toThrow(/fraction/);
  });
  it('removing units that do not reach the output changes nothing', () => {
    const m = redundantCartPoleStudent();
    const obs = randomObs(200, 4, 1);
    const { model, keep } = structuredPrune(m, { widths: [2, 2], method: 'l2' });
    // The l2 scores of the dead units are smaller? Not necessarily: activation importance finds them for sure.
    const act = structuredPrune(m, { widths: [2, 2], method: 'activation', states: { obs, n: 200 } });
    expect(act.keep).toEqual([[0, 1], [0, 1]]);
    expect(act.model.layers.map((l) => [l.inDim, l.outDim])).toEqual([[4, 2], [2, 2], [2, 2]]);
    expect(maxAbsDiff(forward(act.model, obs, 200), forward(m, obs, 200))).toBeLessThan(1e-5);
    expect(keep.length).toBe(2);
    expect(model.layers[0].outDim).toBe(2);
  });
  it('folds a removed constant unit into the next bias', () => {
    const m = tiny();
    // unit 1 of tiny() is relu(0.5 x2 + 1): constant 1.5 on states with x2 = 1.
    const obs = Float32Array.of(1, 1, -3, 1, 2, 1);
    const means = [Float64Array.of(0, 1.5, 0)];
    const p = pruneUnits(m, [[0, 2]], means);
    expect(Array.from(p.layers[1].bias)).toEqual([0.5 + -1 * 1.5, -0.5 + 1 * 1.5]);
    expect(maxAbsDiff(forward(p, obs, 3), forward(m, obs, 3))).toBeLessThan(1e-6);
  });
});

describe('magnitude pruning', () => {
  it('global masks prune the smallest |w| across layers', () => {
    const m = tiny(); // weights: 1,-2,0,0.5,3,4 | 2,-1,0,0,1,0 -> 12 weights
    const masks = magnitudeMasks(m, 0.5, 'global');
    // 6 smallest: the four zeros, 0.5, then the first of the 1s (layer 0 before layer 1).
    expect(Array.from(masks[0])).toEqual([0, 1, 0, 0, 1, 1]);
    expect(Array.from(masks[1])).toEqual([1, 1, 0, 0, 1, 0]);
  });
  it('per-layer masks prune each layer to the sparsity', () => {
    const masks = magnitudeMasks(tiny(), 0.5, 'layer');
    expect(Array.from(masks[0])).toEqual([0, 1, 0, 0, 1, 1]);
    expect(Array.from(masks[1])).toEqual([1, 1, 0, 0, 1, 0]);
    const r = randomMlp(4, [16, 16]);
    const s = sparsityOf(applyMasks(r, magnitudeMasks(r, 0.8, 'layer')));
    s.perLayer.forEach((v, l) => expect(v).toBeCloseTo(Math.round(0.8 * r.layers[l].weight.length) / r.layers[l].weight.length, 12));
  });
  it('applyMasks zeroes exactly the masked weights and reports sparsity', () => {
    const r = randomMlp(5, [8]);
    const masks = magnitudeMasks(r, 0.75);
    const p = applyMasks(r, masks);
    const s = sparsityOf(p);
    expect(s.zeros).toBe(Math.round(0.75 * s.weights));
    p.layers.forEach((l, k) => l.weight.forEach((w, i) => expect(w === 0).toBe(masks[k][i] === 0)));
    expect(() => magnitudeMasks(r, 1)).toThrow(/sparsity/);
  });
});
