import { describe, expect, it } from 'vitest';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { fromFloat16Bits, toFloat16Bits, writeTflite } from '../../pipeline/src/export/tflite/index.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { argmaxAgreement } from '../../pipeline/src/quant/index.js';
import { OP, TYPE, maxAbsErr, readTflite, testModels } from './helpers.js';

describe('float16 conversion (hand-checked bit patterns)', () => {
  it('rounds to nearest even and handles the edges', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // largest half
      [65520, 0x7c00], // rounds up to Inf
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie -> even (0)
      [3 * 2 ** -25, 0x0002], // tie 1.5 -> 2
      [2 ** -14, 0x0400], // smallest normal
      [1 / 3, 0x3555],
      [1 + 2 ** -11, 0x3c00], // tie -> even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even mantissa (up)
      [0.1, 0x2e66],
    ];
    for (const [x, bits] of cases) expect([x, toFloat16Bits(x)]).toEqual([x, bits]);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    for (const [x, bits] of cases.filter(([v]) => v === fromFloat16Bits(toFloat16Bits(v)))) expect(fromFloat16Bits(bits)).toBe(x);
    expect(fromFloat16Bits(0x3555)).toBeCloseTo(1 / 3, 3);
  });
});

describe('fp16 TFLite in LiteRT', () => {
  const N = 1000;
  for (const { name, model, obs } of testModels()) {
    it(`${name}: within 1e-2 of the float model${model.head.kind === 'discrete' ? ', same argmax >= 0.99' : ''}`, async () => {
      const m = await openTfliteModel(writeTflite(model, { variant: 'fp16' }), { name: `${name}.fp16.tflite` });
      try {
        const x = obs(N, 3);
        const got = await m.run(x, N);
        const want = forward(model, x, N);
        expect(maxAbsErr(got, want)).toBeLessThanOrEqual(1e-2);
        if (model.head.kind === 'discrete') expect(argmaxAgreement(got, want, model.head.n)).toBeGreaterThanOrEqual(0.99);
      } finally {
        m.dispose();
      }
    });
  }

  it('stores FULLY_CONNECTED weights and biases as float16, expanded by DEQUANTIZE, and is about half the size', () => {
    const { model } = testModels()[0];
    const fp16 = writeTflite(model, { variant: 'fp16' });
    const fp32 = writeTflite(model, { variant: 'fp32' });
    expect(fp16.length).toBeLessThan(0.6 * fp32.length);
    const r = readTflite(fp16);
    const fcs = r.ops.filter((o) => o.code === OP.FULLY_CONNECTED);
    expect(fcs).toHaveLength(3);
    for (const fc of fcs) {
      for (const t of fc.inputs.slice(1)) {
        const producer = r.ops.find((o) => o.outputs.includes(t))!;
        expect([producer.code, producer.version]).toEqual([OP.DEQUANTIZE, 3]);
        const src = r.tensors[producer.inputs[0]];
        expect(src.type).toBe(TYPE.FLOAT16);
        expect(r.buffers[src.buffer].length).toBe(2 * src.shape.reduce((a, b) => a * b, 1));
        expect(r.tensors[t].type).toBe(TYPE.FLOAT32);
        expect(r.tensors[t].buffer).toBe(0);
      }
    }
    const w16 = r.tensors.find((t) => t.name === 'layers.0.weight_fp16')!;
    const bits = new Uint16Array(r.buffers[w16.buffer].slice().buffer);
    expect(Array.from(bits.slice(0, 8))).toEqual(Array.from(model.layers[0].weight.slice(0, 8), toFloat16Bits));
  });
});
