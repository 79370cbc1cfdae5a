/**
 * TunableMlp on the wasm-simd-f32 backend against the js-f32 reference, and the elementwise kernels
 * it adds to mlp.wat (relu_out, gate_positive, gate_mask, fake_quant) against hand values and
 * quant/fake-quant.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TunableMlp, type LayerParam } from '../../pipeline/src/compress/net.js';
import { instantiateKernels, kernelModule, KernelLayout, type MlpKernels } from '../../pipeline/src/distill/kernels/mlp-wasm.js';
import { activationParamsOf, calibrateRanges } from '../../pipeline/src/quant/calibrate-percentile.js';
import { fakeQuantActivations } from '../../pipeline/src/quant/fake-quant.js';
import type { ActivationParams } from '../../pipeline/src/quant/int8.js';
import { inverseScale } from '../../pipeline/src/quant/ops/quantize.js';
import { normalizeObs } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { magnitudeMasks } from '../../pipeline/src/compress/magnitude.js';
import { shareWeights } from '../../pipeline/src/compress/share.js';
import { randomMlp, randomObs } from './helpers.js';

const f32 = (a: number[]) => Float32Array.from(a);

/** The kernels on a small memory, with float and int views. */
function kernels(floats = 256): { k: MlpKernels; f: Float32Array; i: Int32Array; at: (slot: number) => number } {
  const lay = new KernelLayout();
  lay.alloc(floats);
  const { kernels: k, f32: f } = instantiateKernels(kernelModule()!, lay.top);
  // Slots of 64 floats from byte 16.
  return { k, f, i: new Int32Array(f.buffer), at: (slot) => 16 + slot * 256 };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>, n = b.length): number {
  let d = 0;
  let s = 0;
  for (let k = 0; k < n; k++) {
    d = Math.max(d, Math.abs(a[k] - b[k]));
    s = Math.max(s, Math.abs(b[k]));
  }
  return s === 0 ? d : d / s;
}

describe('elementwise kernels', () => {
  it('relu_out is v > 0 ? v : 0 (NaN and -0 give +0)', () => {
    const { k, f, at } = kernels();
    f.set(f32([1.5, -2, 0, -0, NaN, 3, -1e-30, 7]), at(0) / 4);
    k.relu_out(at(0), at(1), 8);
    const y = Array.from(f.subarray(at(1) / 4, at(1) / 4 + 8));
    expect(y).toEqual([1.5, 0, 0, 0, 0, 3, 0, 7]);
    expect(Object.is(y[3], 0)).toBe(true);
  });

  it('gate_positive keeps d where z > 0; gate_mask keeps d where the mask is set', () => {
    const { k, f, i, at } = kernels();
    f.set(f32([1, 2, 3, 4, 5, 6, 7, 8]), at(0) / 4);
    f.set(f32([0.5, -1, 0, NaN, 2, -0, 1e-30, -3]), at(1) / 4);
    k.gate_positive(at(0), at(1), 8);
    expect(Array.from(f.subarray(at(0) / 4, at(0) / 4 + 8))).toEqual([1, 0, 0, 0, 5, 0, 7, 0]);
    i.set([-1, 0, -1, 0], at(2) / 4);
    f.set(f32([1, 2, 3, 4]), at(3) / 4);
    k.gate_mask(at(3), at(2), 4);
    expect(Array.from(f.subarray(at(3) / 4, at(3) / 4 + 4))).toEqual([1, 0, 3, 0]);
  });

  it('fake_quant on hand values: scale 0.5, zero point 10 (ties to even, saturation, the gate)', () => {
    const { k, f, i, at } = kernels();
    const p: ActivationParams = { scale: 0.5, zeroPoint: 10 };
    // 1.2 -> 2.4 -> 2 -> 1.0; 1.25 -> 2.5 -> 2; 1.75 -> 3.5 -> 4 -> 2.0; 1000 saturates at 127; -1000 at -128.
    f.set(f32([1.2, 1.25, 1.75, 1000, -1000, 0, -0.25, 58.5]), at(0) / 4);
    k.fake_quant(at(0), 8, inverseScale(p.scale), p.scale, p.zeroPoint, -128, 127, at(1));
    expect(Array.from(f.subarray(at(0) / 4, at(0) / 4 + 8))).toEqual([1, 1, 2, (127 - 10) * 0.5, (-128 - 10) * 0.5, 0, 0, 58.5]);
    expect(Array.from(i.subarray(at(1) / 4, at(1) / 4 + 8))).toEqual([-1, -1, -1, 0, 0, -1, -1, -1]);
  });

  it('fake_quant equals fakeQuantActivations bit for bit (int8 and 12-bit bounds, relu floor)', () => {
    const { k, f, i, at } = kernels(64 * 8);
    const vals = randomObs(64, 1, 21, 40);
    // Ties on the grid and values at the edges.
    vals.set([0.25, 0.75, -0.25, -0.75, 31.75, 32.25, -32.25, 0], 0);
    for (const [p, lo, hi] of [
      [{ scale: 0.25, zeroPoint: 0 }, -128, 127],
      [{ scale: Math.fround(0.1373), zeroPoint: -37 }, -128, 127],
      [{ scale: Math.fround(0.1373), zeroPoint: -37 }, -37, 127],
      [{ scale: Math.fround(0.0191), zeroPoint: 3 }, -2048, 2047],
    ] as [ActivationParams, number, number][]) {
      const ref = vals.slice();
      const pass = new Uint8Array(64);
      fakeQuantActivations(ref, 64, p, pass, lo, hi);
      f.set(vals, at(0) / 4);
      k.fake_quant(at(0), 64, inverseScale(p.scale), p.scale, p.zeroPoint, lo, hi, at(1));
      expect(Array.from(f.subarray(at(0) / 4, at(0) / 4 + 64))).toEqual(Array.from(ref));
      expect(Array.from(i.subarray(at(1) / 4, at(1) / 4 + 64), (v) => (v === -1 ? 1 : v))).toEqual(Array.from(pass));
      expect(pass.includes(0) || lo < -128).toBe(true); // some values saturate in the int8 cases
    }
  });
});

/** Same model, parametrization and data on both backends: outputs and gradients. */
function compare(model: PolicyModel, params: LayerParam[] | null, batch: number, fq: boolean, seed: number) {
  const nets = (['js-f32', 'wasm-simd-f32'] as const).map((backend) => new TunableMlp(model, params, batch, { backend }));
  expect(nets.map((n) => n.backend)).toEqual(['js-f32', 'wasm-simd-f32']);
  expect(Array.from(nets[1].params)).toEqual(Array.from(nets[0].params));
  const obs = randomObs(Math.max(batch, 64), model.obsDim, seed);
  if (fq) {
    const ranges = calibrateRanges(model, obs, { method: 'minmax' });
    nets.forEach((n) => (n.fakeQuant = activationParamsOf(ranges)));
  }
  const x = normalizeObs(model.obsNorm!, obs, batch, model.obsDim);
  const o = nets[0].outDim;
  const ys = nets.map((n) => n.forward(x, batch).slice(0, batch * o));
  const g = randomObs(batch, o, seed + 1, 1);
  const grads = nets.map((n) => {
    n.forward(x, batch);
    n.backward(g);
    return n.grads.slice();
  });
  return { ys, grads, nets, x };
}

describe('TunableMlp: wasm-simd-f32 matches the js-f32 reference', () => {
  afterEach(() => {
    delete process.env.EDGEDISTILL_TRAINER;
  });

  // Widths 5, 7, 33 and outputs 3 are not multiples of 4; batches 1 and 7 exercise the single-row tails.
  const cases: [string, number[], 'relu' | 'tanh', number, number][] = [
    ['4-32-32-2 relu, batch 256', [32, 32], 'relu', 256, 2],
    ['5-7-33-3 relu, batch 7', [7, 33], 'relu', 7, 3],
    ['5-7-33-3 tanh, batch 1', [7, 33], 'tanh', 1, 3],
    ['5-33-3 relu, batch 13', [33], 'relu', 13, 3],
  ];
  for (const [name, hidden, act, batch, n] of cases) {
    it(`float: ${name}`, () => {
      const m = randomMlp(batch + hidden.length, hidden, act, hidden[0] === 32 ? 4 : 5, n);
      const { ys, grads } = compare(m, null, batch, false, 3);
      expect(relErr(ys[1], ys[0])).toBeLessThan(1e-5);
      expect(relErr(grads[1], grads[0])).toBeLessThan(1e-5);
    });

    it(`fake-quantized: ${name}`, () => {
      const m = randomMlp(batch + hidden.length, hidden, act, hidden[0] === 32 ? 4 : 5, n);
      const { ys, grads, nets } = compare(m, null, batch, true, 5);
      // Products differ in summation order only; a rounding near a grid tie may move one output one
      // step of the output grid, nothing more, and almost all outputs are identical.
      const step = nets[0].fakeQuant!.outputs[m.layers.length - 1].scale;
      let same = 0;
      for (let k = 0; k < ys[0].length; k++) {
        expect(Math.abs(ys[1][k] - ys[0][k])).toBeLessThanOrEqual(step * 1.0001);
        if (ys[1][k] === ys[0][k]) same++;
      }
      expect(same / ys[0].length).toBeGreaterThan(0.95);
      expect(relErr(grads[1], grads[0])).toBeLessThan(batch >= 64 ? 2e-2 : 1e-5);
    });
  }

  it('masks and shared centroids get the same gradients (pruned weights stay 0)', () => {
    const m = randomMlp(4, [9, 6], 'relu', 5, 3);
    const masks = magnitudeMasks(m, 0.6, 'global');
    const masked = compare(m, masks.map((mask) => ({ kind: 'dense', mask })), 9, false, 7);
    expect(relErr(masked.grads[1], masked.grads[0])).toBeLessThan(1e-5);
    masks.forEach((mask, l) => mask.forEach((keep, k) => keep || expect(masked.grads[1][masked.nets[1]['L'][l].wOff + k]).toBe(0)));
    const sh = shareWeights(m, 4, { seed: 0 });
    const params: LayerParam[] = sh.layers.map((info, i) => ({ kind: 'shared', indices: sh.model.layers[i].codebook!.indices, k: info.k, pinned: info.zeroIndex }));
    const shared = compare(sh.model, params, 9, true, 8);
    expect(relErr(shared.ys[1], shared.ys[0])).toBeLessThan(1e-5);
    expect(relErr(shared.grads[1], shared.grads[0])).toBeLessThan(1e-4);
  });

  it('predict over several maxBatch chunks equals the JS reference; toModel reads the same weights', () => {
    const m = randomMlp(6, [7, 5], 'relu', 5, 3);
    const n = 29;
    const x = normalizeObs(m.obsNorm!, randomObs(n, 5, 9), n, 5);
    const ref = new TunableMlp(m, null, 8, { backend: 'js-f32' }).predict(x, n, new Float32Array(n * 3));
    const net = new TunableMlp(m, null, 8, { backend: 'wasm-simd-f32' });
    expect(relErr(net.predict(x, n, new Float32Array(n * 3)), ref)).toBeLessThan(1e-6);
    expect(() => net.backward(new Float32Array(24))).toThrow(/before forward/);
    expect(Array.from(net.toModel(m).layers[1].weight)).toEqual(Array.from(m.layers[1].weight));
  });

  it('backend choice: wasm by default here, EDGEDISTILL_TRAINER and the fallback pick js-f32', () => {
    const m = randomMlp(1, [4], 'relu');
    expect(new TunableMlp(m, null, 4).backend).toBe('wasm-simd-f32');
    expect(new TunableMlp(m, null, 4, { wasmSimd: false }).backend).toBe('js-f32');
    process.env.EDGEDISTILL_TRAINER = 'js-f32';
    expect(new TunableMlp(m, null, 4).backend).toBe('js-f32');
  });

  it('is deterministic on each backend: a repeated forward/backward gives identical bits', () => {
    const m = randomMlp(2, [32, 32], 'relu', 4, 2);
    const a = compare(m, null, 64, true, 4);
    const b = compare(m, null, 64, true, 4);
    expect(Array.from(b.grads[1])).toEqual(Array.from(a.grads[1]));
    expect(Array.from(b.ys[1])).toEqual(Array.from(a.ys[1]));
  });
});
