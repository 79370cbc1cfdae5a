/** The int8 ops (pipeline/src/quant/ops), against hand-checked values. */
import { describe, expect, it } from 'vitest';
import {
  ROUND_MAGIC,
  accumulate,
  biasWithZeroPoint,
  dequantize,
  inverseScale,
  lookupTable,
  quantize,
  requantMultiplier,
  requantize,
  roundHalfAway,
  roundHalfEven,
  roundHalfEvenMagic,
} from '../../pipeline/src/quant/ops/index.js';
import { planInt8 } from '../../pipeline/src/quant/plan.js';
import { quantizePolicy } from '../../pipeline/src/quant/calibrate.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { randomObs } from './helpers.js';

const f = Math.fround;

describe('rounding', () => {
  it('half to even: ties go to the even neighbour, on both signs', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999999, 2.5000001, -126.5, 127.5].map(roundHalfEven)).toEqual([
      0, 2, 2, 4, -0, -2, -2, 2, 3, -126, 128,
    ]);
    expect([0.5, 1.5, 2.5, -0.5, -2.5].map(roundHalfAway)).toEqual([1, 2, 3, -1, -3]);
  });

  it('the magic-constant form the generators emit equals roundHalfEven', () => {
    const xs = [];
    for (let k = -300; k <= 300; k++) xs.push(k + 0.5, k, k + 0.25, k - 0.25, k + 0.5000001, k + 0.4999999);
    for (const x of xs) expect(roundHalfEvenMagic(x) === roundHalfEven(x)).toBe(true);
    expect(ROUND_MAGIC).toBe(1.5 * 2 ** 52);
  });
});

describe('quantize / dequantize', () => {
  it('multiplies by float32(1 / scale), not divides: the two round apart near ties', () => {
    // scale 0.1: float32(1/0.1) = 10 exactly in float32 rounding; x = 0.25 -> 2.5 -> 2 (even) + zp.
    expect(inverseScale(0.1)).toBe(f(1 / 0.1));
    expect(quantize(0.25, inverseScale(f(0.1)), 3)).toBe(roundHalfEven(f(0.25 * f(1 / f(0.1)))) + 3);
    // x / s and x * float32(1/s) on either side of a tie (found by search, checked by hand):
    // float32(x / s) = 2.5 exactly -> 2; float32(x * float32(1/s)) = 2.5000002 -> 3.
    const s = f(0.3);
    const x = f(0.7500000596046448);
    expect(f(x / s)).toBe(2.5);
    expect(f(x * f(1 / s))).toBe(f(2.500000238418579));
    expect(quantize(x, inverseScale(s), 0)).toBe(3);
  });

  it('saturates to int8 and dequantizes with one float32 rounding', () => {
    expect(quantize(1e9, 1, 0)).toBe(127);
    expect(quantize(-1e9, 1, 5)).toBe(-128);
    expect(dequantize(-7, f(0.1), 3)).toBe(f(-10 * f(0.1)));
  });
});

describe('requantize', () => {
  it('multiplier is float32(float32(inS * wS) / outS)', () => {
    expect(requantMultiplier(0.1, 0.3, 0.7)).toBe(f(f(0.1 * 0.3) / 0.7));
  });

  it('rounds float32(acc * m) half to even, adds the zero point, saturates to [lo, 127]', () => {
    // m = 0.5: odd accumulators land on ties.
    expect([-5, -3, -1, 1, 3, 5, 7].map((a) => requantize(a, 0.5, 0, -128, 127))).toEqual([-2, -2, 0, 0, 2, 2, 4]);
    expect(requantize(3, 0.5, 10, -128, 127)).toBe(12);
    expect(requantize(-1000, 1, 0, -128, 127)).toBe(-128);
    // A fused ReLU (output zero point -128): the minimum is the zero point.
    expect(requantize(-40, 0.5, -128, -128, 127)).toBe(-128);
    // float32(acc) for |acc| >= 2^24: 2^24 + 1 is not a float32.
    expect(requantize(2 ** 24 + 1, 2 ** -24, 0, -128, 127)).toBe(1);
  });

  it('accumulate and the folded bias agree: bias + sum (x - zp) w = (bias - zp sum w) + sum x w', () => {
    const w = new Int8Array([3, -7, 127, -127, 0, 5]);
    const x = new Int8Array([-128, 127, 5]);
    const zp = -3;
    const a = accumulate(1000, x, zp, w, 3, 3);
    expect(a).toBe(1000 + (-128 + 3) * -127 + (127 + 3) * 0 + (5 + 3) * 5);
    const folded = biasWithZeroPoint(1000, zp, w, 3, 3);
    expect(folded + (-128 * -127 + 127 * 0 + 5 * 5)).toBe(a);
  });
});

describe('lookup tables', () => {
  it('tanh table: input (1/16, 0) -> output (1/128, 0), hand-checked entries', () => {
    const t = lookupTable('tanh', { scale: 1 / 16, zeroPoint: 0 }, { scale: 1 / 128, zeroPoint: 0 });
    expect(t[0 + 128]).toBe(0);
    // tanh(1) = 0.76159 -> 97.48 -> 97; tanh(-1) -> -97; tanh(8) -> 127.99 -> saturates at 127.
    expect(t[16 + 128]).toBe(97);
    expect(t[-16 + 128]).toBe(-97);
    expect(t[127 + 128]).toBe(127);
    expect(t[-128 + 128]).toBe(-128);
  });

  it('sigmoid table: output (1/256, -128): sigmoid(0) = 0.5 -> 128 - 128 = 0', () => {
    const t = lookupTable('sigmoid', { scale: 1 / 16, zeroPoint: 0 }, { scale: 1 / 256, zeroPoint: -128 });
    expect(t[128]).toBe(0);
    expect(t[127 + 128]).toBe(127); // sigmoid(7.94) * 256 - 128 = 127.9 -> saturates
    expect(t[-128 + 128]).toBe(-128);
  });
});

describe('planInt8', () => {
  it('folded biases and accumulator bounds hold for every int8 input', () => {
    const model = mlp({ obsDim: 4, hidden: [8], activation: 'relu', head: { kind: 'discrete', n: 2 }, init: { seed: 3 } });
    const qp = quantizePolicy(model, randomObs(200, 4, 1));
    const plan = planInt8(qp);
    const p = plan.layers[0];
    const x = new Int8Array([-128, 127, 0, 55]);
    for (let c = 0; c < p.outDim; c++) {
      const direct = accumulate(p.bias[c], x, p.inZeroPoint, p.weight, c * p.inDim, p.inDim);
      let folded = p.foldedBias[c];
      for (let k = 0; k < p.inDim; k++) folded += x[k] * p.weight[c * p.inDim + k];
      expect(folded).toBe(direct);
      expect(Math.abs(direct)).toBeLessThanOrEqual(p.accBound);
    }
    expect(plan.inputInvScale).toBe(f(1 / qp.input.scale));
    expect(p.actMin).toBe(qp.layers[0].output.zeroPoint); // ReLU: the zero point is the minimum
  });
});
