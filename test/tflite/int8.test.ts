import { describe, expect, it } from 'vitest';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { writeTflite, writeTfliteQuantized } from '../../pipeline/src/export/tflite/index.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import {
  argmaxAgreement,
  biasScale,
  chooseActivationParams,
  forwardInt8,
  multiplyByQuantizedMultiplier,
  quantizeBias,
  quantizeInput,
  quantizeMultiplier,
  quantizePolicy,
  quantizeWeightsPerChannel,
  roundHalfAway,
  roundHalfEven,
  type QuantizedPolicy,
} from '../../pipeline/src/quant/index.js';
import { OP, TYPE, maxAbsErr, readTflite, testModels } from './helpers.js';

const f = Math.fround;

describe('int8 math (hand-checked values)', () => {
  it('rounding rules', () => {
    expect([2.5, -2.5, 3.5, -3.5, 2.4, -2.6].map(roundHalfEven)).toEqual([2, -2, 4, -4, 2, -3]);
    expect([2.5, -2.5, 3.5, -0.5, 0.49].map(roundHalfAway)).toEqual([3, -3, 4, -1, 0]);
  });

  it('chooseActivationParams: asymmetric int8, range widened to include 0', () => {
    // [-1, 1]: scale 2/255, zero point round(-128 + 127.5) = round(-0.5) = -1 (half away from zero).
    expect(chooseActivationParams(-1, 1)).toEqual({ scale: f(2 / 255), zeroPoint: -1 });
    // [0, 6] (ReLU6-like): zero point at the bottom.
    expect(chooseActivationParams(0, 6)).toEqual({ scale: f(6 / 255), zeroPoint: -128 });
    // [2, 5] does not include 0: widened to [0, 5].
    expect(chooseActivationParams(2, 5)).toEqual({ scale: f(5 / 255), zeroPoint: -128 });
    // [-4, -1]: widened to [-4, 0], zero point at the top.
    expect(chooseActivationParams(-4, -1)).toEqual({ scale: f(4 / 255), zeroPoint: 127 });
    // Dead layer: [0, 0] gets a usable scale.
    expect(chooseActivationParams(0, 0)).toEqual({ scale: f(1 / 255), zeroPoint: -128 });
    expect(() => chooseActivationParams(NaN, 1)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => chooseActivationParams(2, 1)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });

  it('quantizeWeightsPerChannel: symmetric per output row, [-127, 127]', () => {
    const w = new Float32Array([1, -0.5, 0.25, /* row 1 */ 0, 0, 0, /* row 2 */ -2, 1, 0.01]);
    const { q, scales } = quantizeWeightsPerChannel(w, 3, 3);
    expect(Array.from(scales)).toEqual([f(1 / 127), 1, f(2 / 127)]);
    // -0.5 * 127 = -63.5 -> -64; 0.25 * 127 = 31.75 -> 32; 0.01 * 63.5 = 0.635 -> 1.
    expect(Array.from(q)).toEqual([127, -64, 32, 0, 0, 0, -127, 64, 1]);
  });

  it('bias scale is float32(in) * float32(w) exactly; bias rounds to it', () => {
    expect(biasScale(0.1, 0.3)).toBe(f(f(0.1) * f(0.3)));
    const { q, scales } = quantizeBias(new Float32Array([0.5, -0.25]), 0.01, new Float32Array([0.5, 0.1]));
    expect(Array.from(scales)).toEqual([f(f(0.01) * 0.5), f(f(0.01) * f(0.1))]);
    expect(Array.from(q)).toEqual([Math.round(0.5 / scales[0]), -Math.round(0.25 / scales[1])]);
  });

  it('QUANTIZE: fp32 rule rounds x * (1/scale) half to even; fixedpoint rounds x / scale half away', () => {
    const p = { scale: 0.5, zeroPoint: 3 };
    expect(quantizeInput(1.25, p, 'fp32')).toBe(2 + 3); // 2.5 -> 2
    expect(quantizeInput(1.25, p, 'fixedpoint')).toBe(3 + 3); // 2.5 -> 3
    expect(quantizeInput(1000, p, 'fp32')).toBe(127);
    expect(quantizeInput(-1000, p, 'fp32')).toBe(-128);
  });

  it('gemmlowp fixed point: QuantizeMultiplier and MultiplyByQuantizedMultiplier', () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(0.25)).toEqual({ multiplier: 2 ** 30, shift: -1 });
    expect(quantizeMultiplier(3)).toEqual({ multiplier: 3 * 2 ** 29, shift: 2 });
    // 0.25 = 2^30 (i.e. 0.5 in Q31) with shift -1: rounding happens twice. 101 * 0.25 = 25.25 gives
    // 26: SaturatingRoundingDoublingHighMul rounds 50.5 up to 51, RoundingDivideByPOT rounds 25.5
    // away to 26. -101: the high mul rounds -50.5 to -50 (its negative nudge is 1 - 2^30), then -25.
    const m = quantizeMultiplier(0.25);
    expect([100, 101, 102, -102, -101].map((a) => multiplyByQuantizedMultiplier(a, m.multiplier, m.shift))).toEqual([25, 26, 26, -26, -25]);
  });
});

/** Rows whose top-2 float outputs differ by at least `gap`. */
function decisiveRows(y: Float32Array, n: number, gap: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < y.length / n; r++) {
    const s = Array.from(y.subarray(r * n, r * n + n)).sort((a, b) => b - a);
    if (s[0] - s[1] >= gap) rows.push(r);
  }
  return rows;
}

/** Discrete models bit-identical; continuous ones differ only by LiteRT's float tanh in the head. */
const N = 1000;
const suites = testModels();

describe('int8 TFLite in LiteRT', () => {
  for (const { name, model, obs } of suites) {
    it(`${name}: matches forwardInt8 on ${N} observations${model.head.kind === 'discrete' ? ' (bit-identical)' : ''}`, async () => {
      const calibration = obs(300, 1);
      const qp = quantizePolicy(model, calibration);
      const m = await openTfliteModel(writeTfliteQuantized(qp), { name: `${name}.int8.tflite` });
      try {
        const x = obs(N, 2);
        const got = await m.run(x, N);
        const want = forwardInt8(qp, x, N);
        if (model.head.kind === 'discrete') {
          let mismatches = 0;
          for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) mismatches++;
          expect(mismatches).toBe(0);
          // Actions agree with the float model. The random sigmoid model's logits are nearly tied
          // (mean top-2 gap 0.03, measured), so there only decisive rows are held to it.
          const float = forward(model, x, N);
          const n = model.head.n;
          if (name !== 'sigmoid hidden') expect(argmaxAgreement(got, float, n)).toBeGreaterThanOrEqual(0.99);
          const decisive = decisiveRows(float, n, 0.05);
          expect(decisive.length).toBeGreaterThan(100);
          const pick = (a: Float32Array) => Float32Array.from(decisive.flatMap((r) => Array.from(a.subarray(r * n, r * n + n))));
          expect(argmaxAgreement(pick(got), pick(float), n)).toBe(1);
        } else {
          // int8 core identical; XNNPACK's float tanh approximation differs from Math.tanh by ~1 ulp.
          expect(maxAbsErr(got, want)).toBeLessThanOrEqual(1e-6);
        }
      } finally {
        m.dispose();
      }
    });
  }

  it('LiteRT requantizes like XNNPACK (float32 multiplier, round half to even), not gemmlowp fixed point', async () => {
    const { model, obs } = suites[0];
    const qp = quantizePolicy(model, obs(300, 1));
    const m = await openTfliteModel(writeTfliteQuantized(qp));
    try {
      const x = obs(N, 3);
      const got = await m.run(x, N);
      const count = (want: Float32Array) => want.reduce((n, v, i) => n + (Object.is(v, got[i]) ? 0 : 1), 0);
      expect(count(forwardInt8(qp, x, N, { rule: 'fp32' }))).toBe(0);
      expect(count(forwardInt8(qp, x, N, { rule: 'fixedpoint' }))).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  });

  it('ties: LiteRT rounds half to even in QUANTIZE and in FULLY_CONNECTED requantization (hand-made scales)', async () => {
    // One 1 -> 1 layer, weight 1, input scale 1: QUANTIZE is round(x); with output scale 2 the
    // requantization multiplier is exactly 0.5, so odd accumulators land on exact ties.
    const tiny = mlp({ obsDim: 1, hidden: [], head: { kind: 'discrete', n: 1 }, init: { seed: 1 } });
    const handMade = (outScale: number): QuantizedPolicy => ({
      model: tiny,
      input: { scale: 1, zeroPoint: 0 },
      calibrationSamples: 0,
      layers: [
        {
          inDim: 1, outDim: 1, activation: 'none',
          weight: new Int8Array([1]), weightScales: new Float32Array([1]),
          bias: new Int32Array([0]), biasScales: new Float32Array([1]),
          input: { scale: 1, zeroPoint: 0 }, output: { scale: outScale, zeroPoint: 0 }, activationOutput: null,
        },
      ],
    });
    const x = new Float32Array([-5, -3, -1, 1, 3, 5, 0.5, 1.5, 2.5, -0.5, -2.5]);
    const expected: Record<number, number[]> = {
      // FC ties: -2.5 -> -2, -1.5 -> -2, -0.5 -> 0, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 (times the output scale 2).
      2: [-4, -4, 0, 0, 4, 4, /* QUANTIZE ties then FC: */ 0, 2, 2, 0, -2],
      // QUANTIZE ties alone: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -2.5 -> -2.
      1: [-5, -3, -1, 1, 3, 5, 0, 2, 2, 0, -2],
    };
    for (const outScale of [2, 1]) {
      const qp = handMade(outScale);
      const m = await openTfliteModel(writeTfliteQuantized(qp), { selfTest: false });
      try {
        const got = Array.from(await m.run(x, x.length));
        expect(got).toEqual(expected[outScale]);
        expect(Array.from(forwardInt8(qp, x, x.length, { rule: 'fp32' }))).toEqual(got);
        expect(Array.from(forwardInt8(qp, x, x.length, { rule: 'fixedpoint' }))).not.toEqual(got);
      } finally {
        m.dispose();
      }
    }
  });

  it('writeTflite(int8) = calibrate + writeTfliteQuantized, deterministic', () => {
    const { model, obs } = suites[2];
    const calibration = obs(200, 5);
    const a = writeTflite(model, { variant: 'int8', calibration });
    const b = writeTfliteQuantized(quantizePolicy(model, calibration));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('file structure: float I/O, QUANTIZE/DEQUANTIZE edges, per-channel int8 weights, exact bias scales, TANH v2', () => {
    const { model, obs } = suites.find((s) => s.name.startsWith('continuous tanh'))!;
    const qp = quantizePolicy(model, obs(300, 1));
    const r = readTflite(writeTfliteQuantized(qp));
    expect(r.tensors[r.inputs[0]]).toMatchObject({ name: 'obs', type: TYPE.FLOAT32 });
    expect(r.tensors[r.outputs[0]]).toMatchObject({ name: 'action', type: TYPE.FLOAT32 });
    expect(r.ops.map((o) => [o.code, o.version])).toEqual([
      [OP.QUANTIZE, 1],
      [OP.FULLY_CONNECTED, 4], [OP.TANH, 2],
      [OP.FULLY_CONNECTED, 4], [OP.TANH, 2],
      [OP.FULLY_CONNECTED, 4],
      [OP.DEQUANTIZE, 2],
      [OP.TANH, 1], [OP.MUL, 1], [OP.ADD, 1], [OP.MINIMUM, 1], [OP.MAXIMUM, 1],
    ]);
    const fcs = r.ops.filter((o) => o.code === OP.FULLY_CONNECTED);
    fcs.forEach((fc, i) => {
      const [x, w, b] = fc.inputs.map((t) => r.tensors[t]);
      const y = r.tensors[fc.outputs[0]];
      expect([x.type, w.type, b.type, y.type]).toEqual([TYPE.INT8, TYPE.INT8, TYPE.INT32, TYPE.INT8]);
      expect(w.quant!.quantizedDimension).toBe(0);
      expect(w.quant!.scale).toHaveLength(w.shape[0]);
      expect(w.quant!.zeroPoint.every((z) => z === 0n)).toBe(true);
      const q = new Int8Array(r.buffers[w.buffer].slice().buffer);
      expect(q.every((v) => v >= -127 && v <= 127)).toBe(true);
      expect(Array.from(q)).toEqual(Array.from(qp.layers[i].weight));
      // bias scale == float32(in_scale) * float32(w_scale), bit for bit, as read back from the file.
      const inScale = x.quant!.scale[0];
      b.quant!.scale.forEach((s, c) => expect(s).toBe(f(f(inScale) * f(w.quant!.scale[c]))));
      expect(typeof y.quant!.zeroPoint[0]).toBe('bigint');
    });
    for (const t of r.ops.filter((o) => o.code === OP.TANH && o.version === 2)) {
      expect(r.tensors[t.outputs[0]].quant).toMatchObject({ scale: [1 / 128], zeroPoint: [0n] });
    }
  });

  it('LOGISTIC int8 output is (1/256, -128)', () => {
    const { model, obs } = suites.find((s) => s.name === 'sigmoid hidden')!;
    const r = readTflite(writeTflite(model, { variant: 'int8', calibration: obs(100, 1) }));
    const logistic = r.ops.filter((o) => o.code === OP.LOGISTIC);
    expect(logistic).toHaveLength(2);
    for (const op of logistic) {
      expect(op.version).toBe(2);
      expect(r.tensors[op.outputs[0]].quant).toMatchObject({ scale: [1 / 256], zeroPoint: [-128n] });
    }
  });

  it('bad calibration data is an EdgeDistillError naming the field', () => {
    const { model } = suites[0];
    expect(() => quantizePolicy(model, new Float32Array(7))).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', field: 'calibration' }));
    const withNaN = new Float32Array(8);
    withNaN[5] = NaN;
    expect(() => quantizePolicy(model, withNaN)).toThrow(expect.objectContaining({ code: 'BAD_OBSERVATION', field: 'calibration' }));
  });
});
