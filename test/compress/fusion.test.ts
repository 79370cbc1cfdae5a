/** Block-diagonal fusion equals the average of the members; vote; ensemble teachers. */
import { describe, expect, it } from 'vitest';
import { ensembleForward, ensembleTeacher, fuseEnsemble } from '../../pipeline/src/compress/fusion.js';
import { teacherFromPolicy } from '../../pipeline/src/distill/index.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { argmaxRow, forward, paramCount } from '../../pipeline/src/ir/forward.js';
import { policyFromJSON, policyToJSON } from '../../pipeline/src/ir/serialize.js';
import { maxAbsDiff, randomMlp, randomObs } from './helpers.js';

describe('fuseEnsemble', () => {
  it('one wider MLP computes the mean of the members\' outputs (different widths)', () => {
    const members = [randomMlp(1, [8, 8]), randomMlp(2, [16, 4]), randomMlp(3, [4, 12])];
    const fused = fuseEnsemble(members);
    expect(fused.layers.map((l) => [l.inDim, l.outDim])).toEqual([[4, 28], [28, 24], [24, 3]]);
    // Same normalization in every member here: kept as is.
    expect(fused.obsNorm).toEqual(members[0].obsNorm);
    const obs = randomObs(300, 4, 9);
    expect(maxAbsDiff(forward(fused, obs, 300), ensembleForward(members, obs, 300, 'mean'))).toBeLessThan(1e-5);
    // Hidden layers are block-diagonal: the off-diagonal blocks are exactly 0.
    const l1 = fused.layers[1];
    for (let o = 0; o < 8; o++) for (let i = 8; i < 28; i++) expect(l1.weight[o * 28 + i]).toBe(0);
    // It is a plain IR model: it serializes and counts parameters like any other.
    expect(forward(policyFromJSON(JSON.parse(JSON.stringify(policyToJSON(fused)))), obs, 300)).toEqual(forward(fused, obs, 300));
    expect(paramCount(fused)).toBeGreaterThan(members.reduce((s, m) => s + paramCount(m), 0) - 1);
  });
  it('folds different observation normalizations into each member\'s first layer', () => {
    const a = randomMlp(4, [8], 'tanh');
    const b = { ...randomMlp(5, [8], 'tanh'), obsNorm: { mean: Float32Array.of(1, -1, 0.5, 2), std: Float32Array.of(2, 0.5, 1, 3), clip: null } };
    const fused = fuseEnsemble([a, b]);
    expect(fused.obsNorm).toBeNull();
    const obs = randomObs(200, 4, 10);
    expect(maxAbsDiff(forward(fused, obs, 200), ensembleForward([a, b], obs, 200))).toBeLessThan(1e-4);
  });
  it('linear members fuse into their mean layer', () => {
    const a = mlp({ obsDim: 3, hidden: [], head: { kind: 'discrete', n: 2 }, init: { seed: 1 } });
    const b = mlp({ obsDim: 3, hidden: [], head: { kind: 'discrete', n: 2 }, init: { seed: 2 } });
    const obs = randomObs(20, 3, 1);
    expect(maxAbsDiff(forward(fuseEnsemble([a, b]), obs, 20), ensembleForward([a, b], obs, 20))).toBeLessThan(1e-6);
  });
  it('continuous heads: averaged pre-squash means (equal to averaged actions without squash)', () => {
    const head = { kind: 'continuous' as const, squash: 'none' as const, low: [-100], high: [100] };
    const ms = [1, 2].map((seed) => mlp({ obsDim: 2, hidden: [6], head, init: { seed } }));
    const obs = randomObs(50, 2, 3);
    expect(maxAbsDiff(forward(fuseEnsemble(ms), obs, 50), ensembleForward(ms, obs, 50, 'mean-action'))).toBeLessThan(1e-5);
  });
  it('refuses members it cannot fuse into one plain MLP', () => {
    expect(() => fuseEnsemble([randomMlp(1, [8]), randomMlp(2, [8, 8])])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(() => fuseEnsemble([randomMlp(1, [8], 'relu'), randomMlp(2, [8], 'tanh')])).toThrow(/activation|uses/);
    expect(() => fuseEnsemble([randomMlp(1, [8]), randomMlp(2, [8], 'relu', 4, 2)])).toThrow(expect.objectContaining({ code: 'BAD_MODEL' }));
  });
});

describe('majority vote and ensemble teachers', () => {
  it('vote returns the fraction of members choosing each action', () => {
    const members = [randomMlp(1, [8]), randomMlp(2, [8]), randomMlp(3, [8])];
    const obs = randomObs(40, 4, 4);
    const v = ensembleForward(members, obs, 40, 'vote');
    const outs = members.map((m) => forward(m, obs, 40));
    for (let r = 0; r < 40; r++) {
      for (let a = 0; a < 3; a++) {
        const votes = outs.filter((y) => argmaxRow(y, 3, r) === a).length;
        expect(v[r * 3 + a]).toBeCloseTo(votes / 3, 6);
      }
    }
  });
  it('an ensemble teacher averages outputs and carries the fused model', async () => {
    const members = [randomMlp(1, [8]), randomMlp(2, [8])];
    const t = ensembleTeacher(members.map((m) => teacherFromPolicy(m)), 'mean');
    expect(t.outputKind).toBe('logits');
    expect(t.params).toBe(paramCount(members[0]) + paramCount(members[1]));
    const obs = randomObs(30, 4, 5);
    expect(maxAbsDiff(await t.runBatch(obs, 30), ensembleForward(members, obs, 30))).toBeLessThan(1e-6);
    expect(maxAbsDiff(forward(t.model!, obs, 30), ensembleForward(members, obs, 30))).toBeLessThan(1e-5);
    const vote = ensembleTeacher(members.map((m) => teacherFromPolicy(m)), 'vote');
    expect(vote.outputKind).toBe('probs');
    expect(Array.from(await vote.runBatch(obs, 30))).toEqual(Array.from(ensembleForward(members, obs, 30, 'vote')));
  });
});
