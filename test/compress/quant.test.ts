/** Percentile calibration, output margin, fake quantization (STE), equalization, policy-int8.json. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/forward.js';
import { quantizePolicy } from '../../pipeline/src/quant/calibrate.js';
import {
  calibrateRanges,
  percentileOfSorted,
  percentileRange,
  quantizePolicyCalibrated,
  quantizeWithRanges,
  widenRange,
  activationParamsOf,
} from '../../pipeline/src/quant/calibrate-percentile.js';
import { fakeQuantActivations, fakeQuantValue, fakeQuantWeights, straightThrough } from '../../pipeline/src/quant/fake-quant.js';
import { forwardInt8 } from '../../pipeline/src/quant/forward-int8.js';
import { chooseActivationParams, quantizeWeightsPerChannel } from '../../pipeline/src/quant/int8.js';
import { quantizedFromJSON, quantizedToJSON, readQuantizedFile, writeQuantizedFile } from '../../pipeline/src/quant/serialize-int8.js';
import { equalizeInputs, equalizeReluUnits } from '../../pipeline/src/compress/equalize.js';
import { TunableMlp } from '../../pipeline/src/compress/net.js';
import { normalizeObs } from '../../pipeline/src/ir/forward.js';
import { maxAbsDiff, randomMlp, randomObs } from './helpers.js';

describe('percentile calibration', () => {
  it('uses numpy\'s linear interpolation', () => {
    const v = Array.from({ length: 101 }, (_, i) => i); // 0..100
    expect(percentileRange(v, 99)).toEqual([1, 99]);
    expect(percentileRange(v, 100)).toEqual([0, 100]);
    expect(percentileOfSorted([0, 10], 25)).toBe(2.5);
    expect(percentileRange([5, 1, 3, 2, 4], 87.5)).toEqual([1.5, 4.5]); // positions 0.5 and 3.5
    expect(() => percentileRange(v, 40)).toThrow(/percentile/);
  });
  it('clips outliers: one huge value does not stretch the scale', () => {
    const v = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
    v[5] = 1000;
    const [lo, hi] = percentileRange(v, 99.99);
    expect(hi).toBeLessThan(1.01);
    expect(lo).toBeGreaterThan(-1.01);
  });
  it('widens the output range by the margin on both sides', () => {
    expect(widenRange([-2, 8], 0.1)).toEqual([-3, 9]);
  });
  it('min-max without margin is exactly quantizePolicy', () => {
    const m = randomMlp(3, [16, 16], 'tanh');
    const calib = randomObs(300, 4, 1);
    expect(quantizePolicyCalibrated(m, calib, { method: 'minmax', outputMargin: 0 })).toEqual(quantizePolicy(m, calib));
    const m2 = randomMlp(4, [8], 'relu');
    expect(quantizePolicyCalibrated(m2, calib, { method: 'minmax', outputMargin: 0 })).toEqual(quantizePolicy(m2, calib));
  });
  it('the output layer keeps min-max (+ margin), so no calibration output is clipped', () => {
    const m = randomMlp(5, [16], 'relu');
    const calib = randomObs(500, 4, 2, 3);
    const r = calibrateRanges(m, calib, { method: 'percentile', percentile: 99, outputMargin: 0.1 });
    const y = forward({ ...m, head: m.head }, calib, 500);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of y) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const [olo, ohi] = r.layers[r.layers.length - 1];
    expect(olo).toBeCloseTo(lo - 0.1 * (hi - lo), 5);
    expect(ohi).toBeCloseTo(hi + 0.1 * (hi - lo), 5);
    // Hidden ranges are percentile ranges: inside min-max.
    const mm = calibrateRanges(m, calib, { method: 'minmax' });
    expect(r.layers[0][1]).toBeLessThan(mm.layers[0][1]);
    expect(r.input[1]).toBeLessThan(mm.input[1]);
    expect(calibrateRanges(m, calib, { inputRange: [-1, 1] }).input).toEqual([-1, 1]);
  });
});

describe('fake quantization', () => {
  it('rounds onto the int8 grid and back, saturating', () => {
    const p = { scale: 0.5, zeroPoint: -10 };
    expect(fakeQuantValue(1.2, p)).toBe(1); // 1.2 / 0.5 = 2.4 -> 2 -> 1.0
    expect(fakeQuantValue(1.25, p)).toBe(1); // 2.5 -> 2 (half to even)
    expect(fakeQuantValue(1.75, p)).toBe(2); // 3.5 -> 4
    expect(fakeQuantValue(1000, p)).toBe((127 + 10) * 0.5);
    expect(fakeQuantValue(-1000, p)).toBe((-128 + 10) * 0.5);
  });
  it('straight-through: gradient 1 inside the grid, 0 where saturated', () => {
    const p = chooseActivationParams(-1, 1);
    const x = Float32Array.of(-5, -0.5, 0, 0.3, 0.99, 7);
    const pass = new Uint8Array(6);
    fakeQuantActivations(x, 6, p, pass);
    expect(Array.from(pass)).toEqual([0, 1, 1, 1, 1, 0]);
    const g = Float32Array.of(1, 2, 3, 4, 5, 6);
    straightThrough(g, pass, 6);
    expect(Array.from(g)).toEqual([0, 2, 3, 4, 5, 0]);
    x.forEach((v) => expect(fakeQuantValue(v, p)).toBe(v)); // on the grid: idempotent
  });
  it('fake-quantized weights are the dequantized per-channel int8 weights', () => {
    const w = randomObs(12, 5, 7);
    const { q, scales } = quantizeWeightsPerChannel(w, 12, 5);
    const fq = fakeQuantWeights(w, 12, 5, new Float32Array(60));
    fq.forEach((v, i) => expect(v).toBe(Math.fround(q[i] * scales[Math.floor(i / 5)])));
  });
  it('the fake-quant forward of the trainer tracks forwardInt8 to within a few output steps', () => {
    for (const act of ['relu', 'tanh'] as const) {
      const m = randomMlp(11, [16, 16], act);
      const calib = randomObs(400, 4, 3);
      const ranges = calibrateRanges(m, calib, { method: 'percentile', percentile: 99.9 });
      const qp = quantizeWithRanges(m, ranges);
      const net = new TunableMlp(m, null, 64);
      net.fakeQuant = activationParamsOf(ranges);
      const obs = randomObs(64, 4, 4);
      const yq = forwardInt8(qp, obs, 64);
      const yf = net.forward(normalizeObs(m.obsNorm!, obs, 64, 4), 64);
      const step = qp.layers[qp.layers.length - 1].output.scale;
      expect(maxAbsDiff(yq, yf)).toBeLessThanOrEqual(4 * step);
      // Without fake quantization the trainer is the float model.
      net.fakeQuant = null;
      expect(maxAbsDiff(net.forward(normalizeObs(m.obsNorm!, obs, 64, 4), 64), forward(m, obs, 64))).toBeLessThan(1e-5);
    }
  });
});

describe('range equalization', () => {
  it('input equalization and ReLU unit scaling leave the float function unchanged', () => {
    const m = randomMlp(12, [16, 16], 'relu');
    const calib = randomObs(500, 4, 5, 3);
    const e = equalizeReluUnits(equalizeInputs(m, calib, 500, 99), calib, 500);
    expect(maxAbsDiff(forward(e, calib, 500), forward(m, calib, 500))).toBeLessThan(1e-4);
    // Each normalized input dimension's 99th-percentile range now spans about [-1, 1].
    const x = normalizeObs(e.obsNorm!, calib, 500, 4);
    for (let i = 0; i < 4; i++) {
      const col = Array.from({ length: 500 }, (_, r) => x[r * 4 + i]);
      expect(percentileRange(col, 99)[1]).toBeCloseTo(1, 4);
      expect(percentileRange(col, 99)[0]).toBeCloseTo(-1, 4);
    }
  });
});

describe('policy-int8.json', () => {
  it('round-trips: same integers, same forwardInt8 outputs', async () => {
    const m = randomMlp(13, [16, 8], 'tanh');
    const qp = quantizePolicyCalibrated(m, randomObs(300, 4, 6));
    const back = quantizedFromJSON(JSON.parse(JSON.stringify(quantizedToJSON(qp))));
    expect(back.layers).toEqual(qp.layers);
    expect(back.input).toEqual(qp.input);
    const obs = randomObs(100, 4, 8);
    expect(forwardInt8(back, obs, 100)).toEqual(forwardInt8(qp, obs, 100));
    expect(forwardInt8(back, obs, 100, { rule: 'fixedpoint' })).toEqual(forwardInt8(qp, obs, 100, { rule: 'fixedpoint' }));
    const dir = mkdtempSync(join(tmpdir(), 'int8-'));
    await writeQuantizedFile(join(dir, 'policy-int8.json'), qp);
    const read = await readQuantizedFile(join(dir, 'policy-int8.json'));
    expect(forwardInt8(read, obs, 100)).toEqual(forwardInt8(qp, obs, 100));
    // Integers are stored, not floats: the int8 file is far smaller than the float one.
    const text = readFileSync(join(dir, 'policy-int8.json'), 'utf8');
    expect(JSON.parse(text).format).toBe('edgedistill-policy-int8');
  });
  it('names the file and field of a bad value', () => {
    const qp = quantizePolicyCalibrated(randomMlp(14, [8], 'relu'), randomObs(100, 4, 9));
    const j = JSON.parse(JSON.stringify(quantizedToJSON(qp)));
    j.layers[1].input.scale = 0.123456789; // not float32, and not the previous output's scale
    expect(() => quantizedFromJSON(j, 'x.json')).toThrow(expect.objectContaining({ code: 'BAD_MODEL', file: 'x.json', field: 'layers.1.input.scale' }));
    const j2 = JSON.parse(JSON.stringify(quantizedToJSON(qp)));
    j2.layers[0].bias = 'AAAA';
    expect(() => quantizedFromJSON(j2, 'x.json')).toThrow(expect.objectContaining({ field: 'layers.0.bias' }));
    const j3 = JSON.parse(JSON.stringify(quantizedToJSON(qp)));
    j3.layers[0].activationOutput = { scale: 0.0078125, zeroPoint: 0 };
    expect(() => quantizedFromJSON(j3)).toThrow(expect.objectContaining({ field: 'layers.0.activationOutput' }));
    expect(() => quantizedFromJSON({ format: 'edgedistill-policy' })).toThrow(/edgedistill-policy-int8/);
  });
});
