import { describe, expect, it } from 'vitest';
import { mlp, clonePolicy } from '../../pipeline/src/ir/build.js';
import { validatePolicy, policyProblems } from '../../pipeline/src/ir/validate.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';

const base = () => mlp({ obsDim: 4, hidden: [8, 6], activation: 'relu', head: { kind: 'discrete', n: 3 }, init: { seed: 7 } });

function expectBad(m: PolicyModel, field: string, text: RegExp) {
  try {
    validatePolicy(m, 'policy.json');
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    const err = e as EdgeDistillError;
    expect(err.code).toBe('BAD_MODEL');
    expect(err.file).toBe('policy.json');
    expect(err.field).toBe(field);
    expect(err.message).toMatch(text);
    return;
  }
  throw new Error(`expected validatePolicy to reject ${field}`);
}

describe('mlp builder', () => {
  it('builds the dims chain with hidden activation and a linear output layer', () => {
    const m = base();
    expect(m.layers.map((l) => [l.inDim, l.outDim, l.activation])).toEqual([
      [4, 8, 'relu'],
      [8, 6, 'relu'],
      [6, 3, 'none'],
    ]);
    expect(m.head).toEqual({ kind: 'discrete', output: 'logits', n: 3 });
  });
  it('is reproducible from the seed and differs across seeds', () => {
    expect(base().layers[1].weight).toEqual(base().layers[1].weight);
    const other = mlp({ obsDim: 4, hidden: [8, 6], activation: 'relu', head: { kind: 'discrete', n: 3 }, init: { seed: 8 } });
    expect(other.layers[1].weight).not.toEqual(base().layers[1].weight);
  });
  it('uses PyTorch default init bounds U(-1/sqrt(in), 1/sqrt(in))', () => {
    const m = mlp({ obsDim: 100, hidden: [50], head: { kind: 'discrete', n: 2 }, init: { seed: 1 } });
    const w = m.layers[0].weight;
    const bound = 1 / Math.sqrt(100);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(bound * 0.9); // spread over the whole range
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
  });
  it('takes normalization and continuous heads from plain arrays', () => {
    const m = mlp({
      obsDim: 2,
      hidden: [4],
      head: { kind: 'continuous', squash: 'tanh', low: [-2, -1], high: [2, 1] },
      obsNorm: { mean: [1, 2], std: [3, 4], clip: 5 },
      init: { seed: 0 },
    });
    expect(m.head.kind === 'continuous' && m.head.dim).toBe(2);
    expect(m.obsNorm?.std).toEqual(Float32Array.of(3, 4));
    expect(m.obsNorm?.clip).toBe(5);
  });
  it('refuses an outDim that disagrees with the head', () => {
    expect(() => mlp({ obsDim: 2, hidden: [], outDim: 4, head: { kind: 'discrete', n: 3 } })).toThrow(/outDim 4 does not match head.n 3/);
  });
  it('clonePolicy copies the arrays', () => {
    const m = base();
    const c = clonePolicy(m);
    c.layers[0].weight[0] = 99;
    expect(m.layers[0].weight[0]).not.toBe(99);
  });
});

describe('validatePolicy', () => {
  it('accepts a good model', () => {
    expect(policyProblems(base())).toEqual([]);
  });
  it('names a NaN weight', () => {
    const m = clonePolicy(base());
    m.layers[1].weight[5] = NaN;
    expectBad(m, 'layers.1.weight', /NaN at index 5/);
  });
  it('names a weight of the wrong length', () => {
    const m = clonePolicy(base());
    (m.layers as PolicyModel['layers'][number][])[1] = { ...m.layers[1], weight: new Float32Array(47) };
    expectBad(m, 'layers.1.weight', /wrong length: expected 48, got 47/);
  });
  it('names a broken dims chain', () => {
    const m = clonePolicy(base());
    (m.layers as PolicyModel['layers'][number][])[1] = { ...m.layers[1], inDim: 7, weight: new Float32Array(42) };
    expectBad(m, 'layers.1.inDim', /is 7 but the layers.0 output has 8/);
  });
  it('names a first layer that does not take the observation size', () => {
    expectBad({ ...base(), obsDim: 5 }, 'layers.0.inDim', /observation has 5/);
  });
  it('names a head that does not match the last layer', () => {
    expectBad({ ...base(), head: { kind: 'discrete', output: 'logits', n: 4 } }, 'head.n', /last layer outputs 3/);
  });
  it('names a zero std and bounds with low above high', () => {
    expectBad({ ...base(), obsNorm: { mean: new Float32Array(4), std: Float32Array.of(1, 0, 1, 1), clip: null } }, 'obsNorm.std', /> 0/);
    const c = mlp({ obsDim: 2, hidden: [], head: { kind: 'continuous', squash: 'none', low: [0], high: [1] } });
    expectBad({ ...c, head: { ...c.head, low: Float32Array.of(2) } as PolicyModel['head'] }, 'head.low', /above high/);
  });
  it('refuses infinite bounds with a tanh squash but allows them without', () => {
    const c = mlp({ obsDim: 2, hidden: [], head: { kind: 'continuous', squash: 'none', low: [-Infinity], high: [Infinity] } });
    expect(policyProblems(c)).toEqual([]);
    expectBad({ ...c, head: { ...c.head, squash: 'tanh' } as PolicyModel['head'] }, 'head.low', /-Infinity/);
  });
  it('lists every problem in details', () => {
    const m = clonePolicy(base());
    m.layers[0].bias[0] = NaN;
    m.layers[2].weight[0] = Infinity;
    try {
      validatePolicy(m);
      throw new Error('not rejected');
    } catch (e) {
      expect((e as EdgeDistillError).details.map((d) => d.field)).toEqual(['layers.0.bias', 'layers.2.weight']);
    }
  });
});
