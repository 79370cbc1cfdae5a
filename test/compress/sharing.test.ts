/** k-means on hand data, codebooks in the IR and policy.json, centroid gradients. */
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { kmeans1d, kmeansPlusPlusInit } from '../../pipeline/src/compress/kmeans.js';
import { shareWeights } from '../../pipeline/src/compress/share.js';
import { applyMasks, magnitudeMasks, sparsityOf } from '../../pipeline/src/compress/magnitude.js';
import { TunableMlp, type LayerParam } from '../../pipeline/src/compress/net.js';
import { codebookBytes, float32Bytes } from '../../pipeline/src/compress/size.js';
import { clonePolicy, seededRandom } from '../../pipeline/src/ir/build.js';
import { packIndices, unpackIndices, codebookBits } from '../../pipeline/src/ir/codebook.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { policyFromJSON, policyToJSON } from '../../pipeline/src/ir/serialize.js';
import { validatePolicy } from '../../pipeline/src/ir/validate.js';
import { maxAbsDiff, randomMlp, randomObs } from './helpers.js';

describe('k-means (1-D)', () => {
  it('finds the three obvious clusters of hand data, sorted', () => {
    const v = Float32Array.of(1, 1.2, 0.8, 5, 5.5, 4.5, -3, -3.2);
    const r = kmeans1d(v, 3, { seed: 1 });
    expect(Array.from(r.centroids)).toEqual([Math.fround(-3.1), 1, 5].map(Math.fround));
    expect(Array.from(r.indices)).toEqual([1, 1, 1, 2, 2, 2, 0, 0]);
    expect(r.inertia).toBeCloseTo(0.04 + 0.04 + 0.25 + 0.25 + 0.01 + 0.01, 5);
  });
  it('is the same for the same seed and exact when there are at most k distinct values', () => {
    const rnd = seededRandom(9);
    const v = Float32Array.from({ length: 500 }, () => rnd() * 4 - 2);
    expect(kmeans1d(v, 16, { seed: 3 })).toEqual(kmeans1d(v, 16, { seed: 3 }));
    const few = Float32Array.of(0.5, -1, 0.5, 2, -1);
    const r = kmeans1d(few, 8);
    expect(Array.from(r.centroids)).toEqual([-1, 0.5, 2]);
    expect(r.inertia).toBe(0);
  });
  it('k-means++ seeds are data points, spread out (D^2 sampling)', () => {
    const v = [0, 0.01, 0.02, 10, 10.01, 20];
    const c = Array.from(kmeansPlusPlusInit(v, 3, seededRandom(0))).sort((a, b) => a - b);
    c.forEach((x) => expect(v).toContain(x));
    // The three groups are 10 apart: D^2 sampling picks one seed in each (with high probability; fixed seed).
    expect(c[0]).toBeLessThan(1);
    expect(c[1]).toBeGreaterThan(9);
    expect(c[2]).toBe(20);
  });
  it('rejects k outside 1..256', () => {
    expect(() => kmeans1d([1, 2], 0)).toThrow(EdgeDistillError);
    expect(() => kmeans1d([1, 2], 257)).toThrow(/256/);
  });
});

describe('codebooks in the IR', () => {
  it('packs indices LSB first at ceil(log2 k) bits', () => {
    expect(codebookBits(2)).toBe(1);
    expect(codebookBits(16)).toBe(4);
    expect(codebookBits(17)).toBe(5);
    const idx = Uint8Array.of(1, 2, 3, 0, 15);
    const p = packIndices(idx, 4);
    expect(Array.from(p)).toEqual([0x21, 0x03, 0x0f]);
    expect(unpackIndices(p, 5, 4)).toEqual(idx);
    const rnd = seededRandom(1);
    const big = Uint8Array.from({ length: 1001 }, () => Math.floor(rnd() * 23));
    expect(unpackIndices(packIndices(big, 5), 1001, 5)).toEqual(big);
  });
  it('shareWeights keeps k centroids per layer and policy.json stores only the codebook', () => {
    const m = randomMlp(2, [32, 32]);
    const { model } = shareWeights(m, 16, { seed: 0 });
    model.layers.forEach((l) => {
      expect(l.codebook!.centroids.length).toBeLessThanOrEqual(16);
      expect(new Set(l.weight).size).toBe(l.codebook!.centroids.length);
    });
    const json = policyToJSON(model);
    json.layers.forEach((l) => {
      expect(l.weight).toBeUndefined();
      expect(l.codebook!.bits).toBe(4);
    });
    const back = policyFromJSON(JSON.parse(JSON.stringify(json)));
    expect(back).toEqual(model);
    const obs = randomObs(50, 4, 2);
    expect(forward(back, obs, 50)).toEqual(forward(model, obs, 50));
    // 16 float32 centroids + 4-bit indices instead of float32 weights.
    const before = float32Bytes(m).raw;
    const after = codebookBytes(model).raw;
    expect(after).toBe(model.layers.reduce((s, l) => s + 16 * 4 + Math.ceil((l.weight.length * 4) / 8) + l.bias.length * 4, 0));
    expect(after).toBeLessThan(before / 4);
    expect(JSON.stringify(json).length).toBeLessThan(JSON.stringify(policyToJSON(m)).length / 3);
  });
  it('policies without codebooks serialize as before (weight, no codebook key)', () => {
    const j = policyToJSON(randomMlp(1, [4]));
    expect(typeof j.layers[0].weight).toBe('string');
    expect('codebook' in j.layers[0]).toBe(false);
  });
  it('validation catches a weight that no longer matches its codebook, and bad codebooks on disk', () => {
    const { model } = shareWeights(randomMlp(2, [8]), 4);
    const bad = clonePolicy(model);
    (bad.layers[0].weight as Float32Array)[3] += 1;
    expect(() => validatePolicy(bad)).toThrow(/layers\.0\.weight/);
    const json = JSON.parse(JSON.stringify(policyToJSON(model)));
    json.layers[1].codebook.k = 300;
    expect(() => policyFromJSON(json, 'p.json')).toThrow(expect.objectContaining({ field: 'layers.1.codebook.k', file: 'p.json' }));
    const j2 = JSON.parse(JSON.stringify(policyToJSON(model)));
    j2.layers[0].weight = j2.layers[0].codebook.centroids;
    expect(() => policyFromJSON(j2)).toThrow(expect.objectContaining({ field: 'layers.0.weight' }));
    const j3 = JSON.parse(JSON.stringify(policyToJSON(model)));
    j3.layers[0].codebook.indices = Buffer.from([1, 2]).toString('base64');
    expect(() => policyFromJSON(j3)).toThrow(expect.objectContaining({ field: 'layers.0.codebook.indices' }));
  });
  it('keeps pruned zeros on a pinned zero centroid', () => {
    const r = randomMlp(6, [16]);
    const sparse = applyMasks(r, magnitudeMasks(r, 0.7));
    const { model, layers } = shareWeights(sparse, 8);
    expect(sparsityOf(model).zeros).toBe(sparsityOf(sparse).zeros);
    layers.forEach((info, i) => expect(model.layers[i].codebook!.centroids[info.zeroIndex]).toBe(0));
  });
});

describe('centroid fine-tuning', () => {
  it('the gradient of a centroid is the sum of its members\' weight gradients', () => {
    const base = randomMlp(7, [6]);
    const { model, layers } = shareWeights(base, 4);
    const params: LayerParam[] = layers.map((info, i) => ({ kind: 'shared', indices: model.layers[i].codebook!.indices, k: info.k }));
    const shared = new TunableMlp(model, params, 8);
    const dense = new TunableMlp(model, null, 8);
    const x = randomObs(8, 4, 3);
    const g = randomObs(8, 3, 4);
    expect(maxAbsDiff(shared.forward(x, 8), dense.forward(x, 8))).toBe(0);
    shared.backward(g);
    dense.backward(g);
    let off = 0;
    let doff = 0;
    model.layers.forEach((l, li) => {
      const k = layers[li].k;
      for (let c = 0; c < k; c++) {
        let sum = 0;
        l.codebook!.indices.forEach((idx, i) => {
          if (idx === c) sum += dense.grads[doff + i];
        });
        expect(shared.grads[off + c]).toBeCloseTo(sum, 5);
      }
      // Bias gradients are the same.
      for (let o = 0; o < l.outDim; o++) expect(shared.grads[off + k + o]).toBeCloseTo(dense.grads[doff + l.weight.length + o], 6);
      off += k + l.outDim;
      doff += l.weight.length + l.outDim;
    });
  });
  it('masked parameters get no gradient and stay 0', () => {
    const r = randomMlp(8, [6]);
    const masks = magnitudeMasks(r, 0.5);
    const net = new TunableMlp(applyMasks(r, masks), masks.map((mask) => ({ kind: 'dense', mask })), 8);
    net.forward(randomObs(8, 4, 5), 8);
    net.backward(randomObs(8, 3, 6));
    let off = 0;
    r.layers.forEach((l, li) => {
      masks[li].forEach((keep, i) => {
        if (!keep) expect(net.grads[off + i]).toBe(0);
      });
      off += l.weight.length + l.outDim;
    });
    for (let k = 0; k < net.params.length; k++) net.params[k] += 0.1; // a step that would move everything
    net.afterStep();
    const out = net.toModel(r);
    expect(sparsityOf(out).zeros).toBe(masks.reduce((s, m) => s + m.filter((v) => v === 0).length, 0));
  });
});
